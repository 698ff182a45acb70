/** Wire details of RestExchangeTransport that the emulator cannot provoke, against a tiny local HTTPS server. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ExchangeError } from "../../shared/exchange/errors";
import { isProxyNotAvailable, parseExchangeError, RestExchangeTransport } from "../../shared/exchange/rest-transport";
import { sendJson, startLocalHttpsServer, staticCredential, type LocalHttpsServer } from "../http/local-https-server";

let server: LocalHttpsServer;
before(async () => {
  server = await startLocalHttpsServer();
});
after(() => server.close());

function transport(tenantId = `${randomUUID()}`): RestExchangeTransport {
  return new RestExchangeTransport({
    tenantId,
    baseUrl: server.baseUrl,
    credential: staticCredential(),
    extraCaPem: server.caPem,
    retryBudget: { baseDelayInMs: 5, maxDelayInMs: 10 },
  });
}

test("InvokeCommand request: URL, $select, headers and CmdletInput body", async () => {
  server.handle((_request, response) => sendJson(response, 200, { value: [{ Identity: "a" }] }));
  const tenantId = "contoso.onmicrosoft.com";
  await transport(tenantId).invoke({
    cmdlet: "Get-Mailbox",
    parameters: { ResultSize: "Unlimited" },
    select: ["Identity", "AuditEnabled"],
  });
  const request = server.received.at(-1);
  assert.equal(request?.method, "POST");
  assert.equal(request?.url, "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?$select=Identity,AuditEnabled");
  assert.equal(
    request?.headers["x-anchormailbox"],
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com",
  );
  assert.equal(request?.headers["prefer"], "odata.maxpagesize=1000");
  assert.equal(request?.headers["authorization"], "Bearer test-token");
  assert.deepEqual(JSON.parse(request?.body ?? ""), {
    CmdletInput: { CmdletName: "Get-Mailbox", Parameters: { ResultSize: "Unlimited" } },
  });
});

test("refuses a $select property that could smuggle query syntax", async () => {
  await assert.rejects(transport().invoke({ cmdlet: "Get-Mailbox", select: ["Identity&$filter=x"] }), TypeError);
});

test("follows a nextLink on the Exchange host, and refuses one to a foreign host", async () => {
  server.handle((request, response) => {
    if (request.url.includes("page=2"))
      sendJson(response, 200, {
        value: [{ n: 2 }],
        "@odata.nextLink": "https://evil.example.com/adminapi/beta/t/InvokeCommand?page=3",
      });
    else
      sendJson(response, 200, {
        value: [{ n: 1 }],
        "@odata.nextLink": `${server.baseUrl}/adminapi/beta/t/InvokeCommand?page=2`,
      });
  });
  const seen: unknown[] = [];
  const error = await (async () => {
    for await (const page of transport().pages({ cmdlet: "Get-Mailbox" })) seen.push(...page);
  })().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.deepEqual(seen, [{ n: 1 }, { n: 2 }]);
  assert.ok(error instanceof ExchangeError);
  assert.equal(error.errorId, "ForeignNextLink");
  assert.ok(!server.received.some((request) => request.url.includes("page=3")));
  const second = server.received.at(-1);
  assert.equal(
    JSON.parse(second?.body ?? "").CmdletInput.CmdletName,
    "Get-Mailbox",
    "the same body is POSTed to the nextLink",
  );
});

test("an empty 204 from a Set-* cmdlet is success with no output", async () => {
  server.handle((_request, response) => {
    response.writeHead(204);
    response.end();
  });
  assert.deepEqual((await transport().invoke({ cmdlet: "Set-Mailbox", parameters: { Identity: "a" } })).value, []);
});

test("a response that is not the InvokeCommand shape fails validation", async () => {
  server.handle((_request, response) => sendJson(response, 200, { value: "not an array" }, { "request-id": "r-9" }));
  await assert.rejects(transport().invoke({ cmdlet: "Get-Mailbox" }), {
    name: "ExchangeError",
    errorId: "InvalidResponse",
    requestId: "r-9",
  });
});

test("parseExchangeError: each error shape", () => {
  const detailed = parseExchangeError({
    status: 400,
    requestId: "r-1",
    cmdlet: "Set-Mailbox",
    bodyText: JSON.stringify({
      error: {
        code: "BadRequest",
        message: "Error executing cmdlet",
        details: [
          {
            code: "Client",
            target: "",
            message:
              "Ex6F9304|Microsoft.Exchange.Management.Tasks.ValidationException|Invalid audit operation | with a pipe",
          },
        ],
      },
    }),
  });
  assert.deepEqual(
    {
      errorId: detailed.errorId,
      exceptionType: detailed.exceptionType,
      text: detailed.text,
      status: detailed.status,
      requestId: detailed.requestId,
      cmdlet: detailed.cmdlet,
    },
    {
      errorId: "Ex6F9304",
      exceptionType: "Microsoft.Exchange.Management.Tasks.ValidationException",
      text: "Invalid audit operation | with a pipe",
      status: 400,
      requestId: "r-1",
      cmdlet: "Set-Mailbox",
    },
  );
  assert.equal(detailed.message, "Set-Mailbox failed: Invalid audit operation | with a pipe");

  const inner = parseExchangeError({
    status: 500,
    bodyText: JSON.stringify({
      error: {
        code: "InternalServerError",
        message: "Error executing cmdlet",
        innererror: { internalexception: { message: "Deep failure", type: "System.InvalidOperationException" } },
      },
    }),
  });
  assert.equal(inner.text, "Deep failure");
  assert.equal(inner.exceptionType, "System.InvalidOperationException");
  assert.equal(inner.errorId, "InternalServerError");

  const plain = parseExchangeError({
    status: 400,
    bodyText: JSON.stringify({ error: { code: "BadRequest", message: "Bad thing" } }),
  });
  assert.equal(plain.text, "Bad thing");

  const forbidden = parseExchangeError({ status: 403, bodyText: "<html>Forbidden</html>" });
  assert.equal(forbidden.errorId, "Http403");
  assert.match(forbidden.text, /Exchange\.ManageAsApp.*<html>Forbidden<\/html>/);

  const empty = parseExchangeError({ status: 502, bodyText: "" });
  assert.equal(empty.text, "HTTP 502 with an empty body");
});

test("every call and sub-request carries X-CmdletName and its cmdlet's anchor; a batch envelope holds one anchor", async () => {
  const tenantId = "contoso.onmicrosoft.com";
  server.handle((request, response) => {
    if (!request.url.includes("$batch")) return sendJson(response, 200, { value: [] });
    const { requests } = JSON.parse(request.body) as { requests: { id: string }[] };
    sendJson(response, 200, { responses: requests.map(({ id }) => ({ id, status: 200, body: { value: [] } })) });
  });
  const client = transport(tenantId);
  const sent = server.received.length;
  await client.invoke({ cmdlet: "Set-AdminAuditLogConfig", parameters: { UnifiedAuditLogIngestionEnabled: true } });
  await client.invoke({ cmdlet: "Get-AdminAuditLogConfig" });
  await client.batch([
    { cmdlet: "Set-OrganizationConfig", parameters: { AuditDisabled: false } },
    { cmdlet: "Set-AdminAuditLogConfig", parameters: { UnifiedAuditLogIngestionEnabled: true } },
    { cmdlet: "Set-Mailbox", parameters: { Identity: "a" } },
  ]);
  const auditLogAnchor = `APP:SystemMailbox{8cc370d3-822a-4ab8-a926-bb94bd0641a9}@${tenantId}`;
  const defaultAnchor = `APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@${tenantId}`;
  const [setCall, getCall, ...envelopes] = server.received.slice(sent);
  assert.deepEqual([setCall?.headers["x-anchormailbox"], setCall?.headers["x-cmdletname"]], [auditLogAnchor, "Set-AdminAuditLogConfig"]);
  assert.deepEqual([getCall?.headers["x-anchormailbox"], getCall?.headers["x-cmdletname"]], [defaultAnchor, "Get-AdminAuditLogConfig"]);
  assert.equal(envelopes.length, 2, "one envelope per anchor");
  for (const envelope of envelopes) {
    const { requests } = JSON.parse(envelope.body) as { requests: { headers: Record<string, string>; body: { CmdletInput: { CmdletName: string } } }[] };
    for (const sub of requests) {
      assert.equal(sub.headers["X-CmdletName"], sub.body.CmdletInput.CmdletName);
      assert.equal(sub.headers["X-AnchorMailbox"], envelope.headers["x-anchormailbox"]);
      assert.equal(sub.headers["X-AnchorMailbox"], sub.body.CmdletInput.CmdletName === "Set-AdminAuditLogConfig" ? auditLogAnchor : defaultAnchor);
    }
  }
});

test("a cmdlet that answers 'Cmdlet needs proxy' at the default anchor is sent once more to the audit log mailbox", async () => {
  const proxyError = {
    error: {
      code: "BadRequest",
      message: "Error executing cmdlet",
      details: [{ code: "Client", target: "", message: "|Microsoft.Exchange.Configuration.Tasks.CmdletProxyNotAvailableException|Cmdlet needs proxy. Current Server FQDN : A.PROD.OUTLOOK.COM, Required Server FQDN : B.PROD.OUTLOOK.COM" }],
    },
  };
  const needsAuditAnchor = (anchor: unknown) => String(anchor).includes("8cc370d3");
  server.handle((request, response) => {
    if (!request.url.includes("$batch"))
      return needsAuditAnchor(request.headers["x-anchormailbox"]) ? sendJson(response, 200, { value: [{ ok: 1 }] }) : sendJson(response, 400, proxyError);
    const { requests } = JSON.parse(request.body) as { requests: { id: string; headers: Record<string, string> }[] };
    sendJson(response, 200, {
      responses: requests.map(({ id, headers }) =>
        needsAuditAnchor(headers["X-AnchorMailbox"]) ? { id, status: 200, body: { value: [] } } : { id, status: 400, body: proxyError },
      ),
    });
  });
  const client = transport();
  assert.deepEqual((await client.invoke({ cmdlet: "Enable-OrganizationCustomization" })).value, [{ ok: 1 }]);
  const [result] = await client.batch([{ cmdlet: "Get-OrganizationConfig" }]);
  assert.equal(result?.ok, true);
  // A cmdlet already routed to the audit log mailbox is not retried again: the error stands.
  server.handle((_request, response) => sendJson(response, 400, proxyError));
  await assert.rejects(client.invoke({ cmdlet: "Set-AdminAuditLogConfig" }), (error: unknown) => error instanceof ExchangeError && /needs proxy/.test(error.text));
});

test("a 200 carrying @adminapi.errors is a failure of that cmdlet, in a call and in a batch", async () => {
  const body = { value: [], "@adminapi.errors": [{ message: "Couldn't find object \"x\"." }], "@adminapi.warnings": [] };
  server.handle((request, response) => {
    if (!request.url.includes("$batch")) return sendJson(response, 200, body, { "request-id": "r-e" });
    const { requests } = JSON.parse(request.body) as { requests: { id: string }[] };
    sendJson(response, 200, { responses: requests.map(({ id }) => ({ id, status: 200, body })) });
  });
  await assert.rejects(transport().invoke({ cmdlet: "Set-Mailbox", parameters: { Identity: "x" } }), {
    name: "ExchangeError",
    errorId: "NonTerminatingError",
    text: "Couldn't find object \"x\".",
    requestId: "r-e",
  });
  const [result] = await transport().batch([{ cmdlet: "Set-Mailbox", parameters: { Identity: "x" } }]);
  assert.ok(result && !result.ok && result.error.errorId === "NonTerminatingError");
});

test("odata.nextLink is followed like @odata.nextLink; any other continuation annotation is an error, never a silent end", async () => {
  server.handle((request, response) =>
    request.url.includes("page=2")
      ? sendJson(response, 200, { value: [{ n: 2 }] })
      : sendJson(response, 200, { value: [{ n: 1 }], "odata.nextLink": `${server.baseUrl}/adminapi/beta/t/InvokeCommand?page=2` }),
  );
  assert.deepEqual((await transport().invoke({ cmdlet: "Get-Mailbox" })).value, [{ n: 1 }, { n: 2 }]);
  for (const annotation of ["@odata.nextlink", "nextLink", "@odata.deltaLink", "$skiptoken", "__next"]) {
    server.handle((_request, response) => sendJson(response, 200, { value: [{ n: 1 }], [annotation]: `${server.baseUrl}/next` }));
    await assert.rejects(transport().invoke({ cmdlet: "Get-Mailbox" }), { name: "ExchangeError", errorId: "UnsupportedContinuation" }, annotation);
  }
});

test("parseExchangeError: a specific top-level message wins over a generic innererror (the proxy error seen there)", () => {
  const error = parseExchangeError({
    status: 400,
    bodyText: JSON.stringify({
      error: {
        code: "BadRequest",
        message: "Cmdlet needs proxy. Current Server FQDN : A.PROD.OUTLOOK.COM, Required Server FQDN : B.PROD.OUTLOOK.COM",
        innererror: { message: "Error executing cmdlet", type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException" },
      },
    }),
  });
  assert.match(error.text, /^Cmdlet needs proxy\./);
  assert.ok(isProxyNotAvailable(error));
  const generic = parseExchangeError({ status: 500, bodyText: JSON.stringify({ error: { message: "Error executing cmdlet", innererror: { message: "Deep failure" } } }) });
  assert.equal(generic.text, "Deep failure", "a specific innererror still wins over the generic message");
});
