import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import { CONCURRENCY_LIMIT_TEXT } from "../../emulator/exchange-api";
import type { RunningEmulator } from "../../emulator/server";
import { createEmptyTenant, rawRequest, withEmulator, type RawResponse } from "../support/emulator";
import { NO_CHANGE_WARNING, testCmdlets } from "../support/emulator-test-cmdlets";
import { assertEvery } from "../support/assertions";

const exchangeToken = (): string => issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "test-client" }).token;

interface InvokeOptions {
  readonly select?: string;
  readonly pageSize?: number;
  readonly url?: string;
  readonly headers?: Record<string, string>;
  readonly tenantSegment?: string;
}

function invokeUrl(emulator: RunningEmulator, options: InvokeOptions = {}): string {
  const select = options.select ? `?$select=${options.select}` : "";
  return `${emulator.exchangeBaseUrl}/adminapi/beta/${options.tenantSegment ?? emulator.tenantId}/InvokeCommand${select}`;
}

function invoke(
  emulator: RunningEmulator,
  cmdlet: string,
  parameters: Record<string, unknown> = {},
  options: InvokeOptions = {},
): Promise<RawResponse> {
  return rawRequest(emulator, {
    url: options.url ?? invokeUrl(emulator, options),
    headers: {
      authorization: `Bearer ${exchangeToken()}`,
      ...(options.pageSize ? { prefer: `odata.maxpagesize=${options.pageSize}` } : {}),
      ...options.headers,
    },
    body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
  });
}

interface ExchangeErrorBody {
  error: {
    code: string;
    message: string;
    details: { code: string; target: string; message: string }[];
    innererror: { internalexception: { message: string; type: string } };
  };
}

function errorParts(response: RawResponse): { errorId: string; exceptionType: string; text: string } {
  const body = response.json as ExchangeErrorBody;
  const [errorId = "", exceptionType = "", ...text] = (body.error.details[0]?.message ?? "").split("|");
  return { errorId, exceptionType, text: text.join("|") };
}

interface PageBody {
  value?: Record<string, unknown>[];
  "@odata.nextLink"?: string;
  "@adminapi.warnings"?: string[];
}

describe("emulator HTTPS and authentication", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });

  it("serves HTTPS with a generated certificate for 127.0.0.1 and localhost that clients must trust explicitly", async () => {
    const certificate = new X509Certificate(emulator.caCertificatePem);
    assert.match(certificate.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    assert.match(certificate.subjectAltName ?? "", /DNS:localhost/);
    assert.ok(certificate.checkIP("127.0.0.1"));
    assert.match(emulator.exchangeBaseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);

    const untrusted = new Promise((resolve, reject) => {
      httpsRequest(invokeUrl(emulator), { method: "POST" }, resolve).on("error", reject).end();
    });
    await assert.rejects(untrusted, (error: NodeJS.ErrnoException) => /SELF_SIGNED|self.signed|CERT/i.test(`${error.code} ${error.message}`));

    const trusted = await invoke(emulator, "Get-TestItem", { Count: 1 });
    assert.equal(trusted.status, 200);
  });

  it("rejects a missing, forged, expired or wrong-audience token with Exchange's non-JSON 401", async () => {
    const valid = exchangeToken();
    const [header, payload] = valid.split(".");
    const candidates: Record<string, string | undefined> = {
      missing: undefined,
      forged: `${header}.${payload}.${"A".repeat(43)}`,
      expired: issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "c", lifetimeInSeconds: -60 }).token,
      graphAudience: issueAccessToken({ resource: GRAPH_AUDIENCE, clientId: "c" }).token,
      notAJwt: "opaque-token",
    };
    for (const [name, token] of Object.entries(candidates)) {
      const response = await rawRequest(emulator, {
        url: invokeUrl(emulator),
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        body: { CmdletInput: { CmdletName: "Get-TestItem", Parameters: { Count: 1 } } },
      });
      assert.equal(response.status, 401, name);
      assert.equal(response.json, undefined, `${name}: body must not be JSON`);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer /, name);
      assert.ok(response.headers["request-id"], `${name}: request-id on a 401 too`);
    }
  });

  it("accepts the tenant GUID or initial domain in the path and fails any other tenant", async () => {
    assert.equal((await invoke(emulator, "Get-TestItem", { Count: 1 })).status, 200);
    assert.equal((await invoke(emulator, "Get-TestItem", { Count: 1 }, { tenantSegment: "CONTOSO.onmicrosoft.com" })).status, 200);
    const other = await invoke(emulator, "Get-TestItem", { Count: 1 }, { tenantSegment: "fabrikam.onmicrosoft.com" });
    assert.equal(other.status, 404);
    assert.match(errorParts(other).text, /fabrikam/);
  });
});

describe("emulator InvokeCommand", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });

  it("pages at the requested size and returns the next page when the nextLink is posted with the same body", async () => {
    emulator.calls.reset();
    const seen: unknown[] = [];
    const pageLengths: number[] = [];
    let url: string | undefined;
    do {
      const response = await invoke(emulator, "Get-TestItem", { Count: 25 }, { pageSize: 10, ...(url ? { url } : {}) });
      assert.equal(response.status, 200);
      const body = response.json as PageBody;
      pageLengths.push(body.value?.length ?? -1);
      seen.push(...(body.value ?? []).map((item) => item["Index"]));
      url = body["@odata.nextLink"];
      if (url) assert.ok(url.startsWith(`${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/InvokeCommand?`), url);
    } while (url);
    assert.deepEqual(pageLengths, [10, 10, 5]);
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, index) => index));
    assert.deepEqual(emulator.calls.countsByCmdlet(), { "Get-TestItem": 1 });
    assert.deepEqual(
      emulator.calls.records.map((call) => call.continuation),
      [false, true, true],
    );
    assert.equal(emulator.calls.httpRequests, 3);
  });

  it("lets a page request be retried with the same nextLink", async () => {
    const first = (await invoke(emulator, "Get-TestItem", { Count: 3 }, { pageSize: 1 })).json as PageBody;
    const next = first["@odata.nextLink"];
    assert.ok(next);
    const once = (await invoke(emulator, "Get-TestItem", { Count: 3 }, { url: next })).json as PageBody;
    const again = (await invoke(emulator, "Get-TestItem", { Count: 3 }, { url: next })).json as PageBody;
    assert.deepEqual(once.value, again.value);
    assert.equal(once.value?.[0]?.["Index"], 1);
  });

  it("defaults to 1000 per page and caps a larger preference at 1000", async () => {
    for (const pageSize of [undefined, 5000]) {
      const response = await invoke(emulator, "Get-TestItem", { Count: 1500 }, pageSize ? { pageSize } : {});
      const body = response.json as PageBody;
      assert.equal(body.value?.length, 1000);
      assert.ok(body["@odata.nextLink"]);
    }
  });

  it("fails an unknown or foreign skip token", async () => {
    const bogus = `${invokeUrl(emulator)}?$skiptoken=nope`;
    assert.equal((await invoke(emulator, "Get-TestItem", { Count: 3 }, { url: bogus })).status, 400);
    const first = (await invoke(emulator, "Get-TestItem", { Count: 3 }, { pageSize: 1 })).json as PageBody;
    const foreign = await invoke(emulator, "Get-TestEcho", {}, { url: first["@odata.nextLink"] ?? "" });
    assert.equal(foreign.status, 400);
  });

  it("projects $select case-insensitively, keeping the object's spelling", async () => {
    const response = await invoke(emulator, "Get-TestItem", { Count: 2 }, { select: "name,INDEX" });
    assert.deepEqual((response.json as PageBody).value, [
      { Name: "Item 0", Index: 0 },
      { Name: "Item 1", Index: 1 },
    ]);
  });

  it("returns @adminapi.warnings and no value for a Set that changed nothing", async () => {
    const response = await invoke(emulator, "Set-TestItem", { Identity: "alpha", Enabled: true });
    assert.equal(response.status, 200);
    const body = response.json as PageBody;
    assert.equal(body.value, undefined);
    assert.deepEqual(body["@adminapi.warnings"], [NO_CHANGE_WARNING("alpha")]);
  });

  it("renders a cmdlet failure in Exchange's error shape", async () => {
    const response = await invoke(emulator, "Set-TestItem", { Identity: "missing" });
    assert.equal(response.status, 404);
    const body = response.json as ExchangeErrorBody;
    assert.equal(body.error.message, "Error executing cmdlet");
    assert.equal(body.error.details[0]?.code, "Client");
    const parts = errorParts(response);
    assert.equal(parts.errorId, "ManagementObjectNotFound");
    assert.equal(parts.exceptionType, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException");
    assert.match(parts.text, /'missing' couldn't be found/);
    assert.equal(body.error.innererror.internalexception.message, parts.text);
    assert.equal(body.error.innererror.internalexception.type, parts.exceptionType);
  });

  it("fails an unknown cmdlet and an unknown parameter as Exchange does", async () => {
    const unknownCmdlet = await invoke(emulator, "Get-Nothing");
    assert.equal(unknownCmdlet.status, 400);
    assert.match(errorParts(unknownCmdlet).text, /^The term 'Get-Nothing' is not recognized as the name of a cmdlet/);
    assert.equal(errorParts(unknownCmdlet).exceptionType, "System.Management.Automation.CommandNotFoundException");

    const unknownParameter = await invoke(emulator, "Get-TestItem", { Count: 1, Bogus: 1 });
    assert.equal(unknownParameter.status, 400);
    assert.match(errorParts(unknownParameter).text, /Invalid cmdlet parameters specified\. Bogus$/);
  });

  it("matches cmdlet and parameter names case-insensitively and hands the definition's spelling to the handler", async () => {
    const response = await invoke(emulator, "get-testecho", { identity: "a", AUDITOWNER: ["MailboxLogin"] });
    assert.equal(response.status, 200);
    assert.deepEqual((response.json as PageBody).value, [{ Identity: "a", AuditOwner: ["MailboxLogin"] }]);
  });

  it("answers malformed JSON with 400 and a missing CmdletInput with 400", async () => {
    const headers = { authorization: `Bearer ${exchangeToken()}` };
    const malformed = await rawRequest(emulator, { url: invokeUrl(emulator), headers, body: "{not json" });
    assert.equal(malformed.status, 400);
    const empty = await rawRequest(emulator, { url: invokeUrl(emulator), headers, body: { Something: 1 } });
    assert.equal(empty.status, 400);
    assert.ok(errorParts(empty).text.includes("CmdletInput"));
  });

  it("sends a request-id on every response and echoes client-request-id, also in the call log", async () => {
    emulator.calls.reset();
    const response = await invoke(emulator, "Get-TestItem", { Count: 1 }, { headers: { "client-request-id": "corr-1" } });
    assert.match(String(response.headers["request-id"]), /^[0-9a-f-]{36}$/);
    assert.equal(response.headers["client-request-id"], "corr-1");
    assert.equal(emulator.calls.records[0]?.clientRequestId, "corr-1");
    assert.deepEqual(emulator.calls.records[0]?.parameters, { Count: 1 });
    assert.equal(emulator.calls.records[0]?.status, 200);
  });
});

describe("emulator $batch", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets });
  const batchUrl = (): string => `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/$batch`;
  const subRequest = (id: string, cmdlet: string, parameters: Record<string, unknown> = {}, url = invokeUrl(emulator)) => ({
    id,
    method: "POST",
    url,
    headers: { "content-type": "application/json", "client-request-id": `client-${id}` },
    body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
  });
  const postBatch = (requests: unknown[]): Promise<RawResponse> =>
    rawRequest(emulator, {
      url: batchUrl(),
      headers: { authorization: `Bearer ${exchangeToken()}`, prefer: "odata.continue-on-error" },
      body: { requests },
    });
  interface BatchBody {
    responses: { id: string; status: number; headers: Record<string, string>; body: PageBody & Partial<ExchangeErrorBody> }[];
  }

  it("refuses more than 10 sub-requests", async () => {
    const requests = Array.from({ length: 11 }, (_, index) => subRequest(String(index), "Get-TestItem", { Count: 1 }));
    assert.equal((await postBatch(requests)).status, 400);
    assert.equal((await postBatch(requests.slice(0, 10))).status, 200);
  });

  it("answers mixed sub-responses in a 200 envelope, each with its own status, headers and body", async () => {
    emulator.calls.reset();
    const response = await postBatch([
      subRequest("1", "Set-TestItem", { Identity: "alpha" }),
      subRequest("2", "Get-Nothing"),
      subRequest("3", "Set-TestItem", { Identity: "missing" }),
      subRequest("4", "Get-TestItem", { Count: 2 }, "InvokeCommand?$select=Name"),
    ]);
    assert.equal(response.status, 200);
    const body = response.json as BatchBody;
    assert.deepEqual(
      body.responses.map((sub) => [sub.id, sub.status]),
      [["1", 200], ["2", 400], ["3", 404], ["4", 200]],
    );
    assert.deepEqual(body.responses[0]?.body["@adminapi.warnings"], [NO_CHANGE_WARNING("alpha")]);
    assert.match(body.responses[2]?.body.error?.details[0]?.message ?? "", /ManagementObjectNotFoundException/);
    assert.deepEqual(body.responses[3]?.body.value, [{ Name: "Item 0" }, { Name: "Item 1" }]);
    for (const sub of body.responses) {
      assert.ok(sub.headers["request-id"]);
      assert.equal(sub.headers["client-request-id"], `client-${sub.id}`);
    }
    assertEvery(emulator.calls.records, (call) => call.viaBatch, "calls of the batch");
    assert.equal(emulator.calls.records.length, 4);
    assert.equal(emulator.calls.httpRequests, 1);
  });

  it("runs sub-requests one after another and counts the batch as one in-flight request", async () => {
    // (That each sub-request pays the latency is measured by the benchmark: npm run bench:emulator.)
    emulator.faults.setLatency(5);
    try {
      const response = await postBatch([1, 2, 3].map((id) => subRequest(String(id), "Get-TestItem", { Count: 1 })));
      assert.equal(response.status, 200);
      assert.equal(emulator.maxObservedConcurrency, 1);
    } finally {
      emulator.faults.setLatency(0);
    }
  });

  it("can throttle a single sub-request with its own Retry-After (partial batch failure)", async () => {
    emulator.faults.add({ cmdlet: "Set-TestItem", status: 429, retryAfterInSeconds: 7, times: 1, inBatch: true });
    const response = await postBatch([
      subRequest("a", "Get-TestItem", { Count: 1 }),
      subRequest("b", "Set-TestItem", { Identity: "x" }),
      subRequest("c", "Set-TestItem", { Identity: "y" }),
    ]);
    assert.equal(response.status, 200);
    const body = response.json as BatchBody;
    assert.deepEqual(body.responses.map((sub) => sub.status), [200, 429, 200]);
    assert.equal(body.responses[1]?.headers["Retry-After"], "7");
    assert.match(body.responses[1]?.body.error?.details[0]?.message ?? "", /maximum number of concurrent requests per tenant/);
  });
});

describe("emulator throttling and faults", async () => {
  const emulator = await withEmulator(createEmptyTenant(), { cmdlets: testCmdlets, maxConcurrentRequestsPerTenant: 3 });

  it("answers requests over the per-tenant concurrency limit with 429, Retry-After and Exchange's text", async () => {
    emulator.faults.setLatency({ min: 150, max: 200 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => invoke(emulator, "Get-TestItem", { Count: 1 })),
      );
      const throttled = responses.filter((response) => response.status === 429);
      const succeeded = responses.filter((response) => response.status === 200);
      assert.ok(throttled.length >= 1, "some requests are throttled");
      assert.ok(succeeded.length >= 3, "the first three are served");
      assert.equal(throttled.length + succeeded.length, 8);
      for (const response of throttled) {
        assert.ok(Number(response.headers["retry-after"]) >= 1);
        assert.equal(errorParts(response).text, CONCURRENCY_LIMIT_TEXT);
      }
      assert.equal(emulator.maxObservedConcurrency, 3);
    } finally {
      emulator.faults.setLatency(0);
    }
  });

  it("injects transient failures a given number of times for a given cmdlet", async () => {
    emulator.faults.add({ cmdlet: "get-testitem", status: 503, times: 2 });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await invoke(emulator, "Get-TestItem", { Count: 1 })).status);
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.equal((await invoke(emulator, "Set-TestItem", { Identity: "a" })).status, 200);

    emulator.faults.add({ status: 429, retryAfterInSeconds: 4, text: "Too many requests", times: 1, when: (call) => call.parameters["Identity"] === "b" });
    const other = await invoke(emulator, "Set-TestItem", { Identity: "a" });
    const targeted = await invoke(emulator, "Set-TestItem", { Identity: "b" });
    assert.equal(other.status, 200);
    assert.equal(targeted.status, 429);
    assert.equal(targeted.headers["retry-after"], "4");
    assert.equal(errorParts(targeted).text, "Too many requests");
  });

  it("holds a request on a timeout fault until the client gives up, then frees its slot", async () => {
    emulator.faults.add({ kind: "timeout", cmdlet: "Get-TestItem", times: 3 });
    const held = [1, 2, 3].map(() => {
      const controller = new AbortController();
      const response = rawRequest(emulator, {
        url: invokeUrl(emulator),
        headers: { authorization: `Bearer ${exchangeToken()}` },
        body: { CmdletInput: { CmdletName: "Get-TestItem", Parameters: { Count: 1 } } },
        signal: controller.signal,
      });
      return { controller, response };
    });
    let answered = 0;
    for (const request of held) void request.response.then(() => (answered += 1), () => undefined);
    await emulator.faults.spent(); // every request has met its timeout fault
    assert.equal(emulator.inFlight, 3, "all three are held, each in its slot");
    assert.equal(answered, 0, "none was answered");
    // All three slots are taken by held requests.
    assert.equal((await invoke(emulator, "Set-TestItem", { Identity: "a" })).status, 429);
    for (const request of held) request.controller.abort();
    await Promise.allSettled(held.map((request) => request.response));
    await emulator.idle(); // the server has seen every client go
    assert.equal(answered, 0, "a held request is never answered");
    assert.equal((await invoke(emulator, "Set-TestItem", { Identity: "a" })).status, 200);
  });

  it("changes latency at run time: the delay of the next execution follows the setting", () => {
    // (The wall-clock effect is measured by the benchmark, npm run bench:emulator, not asserted here.)
    emulator.faults.setLatency(400);
    assert.equal(emulator.faults.nextDelayInMs(), 400);
    emulator.faults.setLatency({ min: 10, max: 20 });
    for (let index = 0; index < 50; index += 1) {
      const delay = emulator.faults.nextDelayInMs();
      assert.ok(delay >= 10 && delay <= 20, String(delay));
    }
    emulator.faults.setLatency(0);
    assert.equal(emulator.faults.nextDelayInMs(), 0);
    assert.equal(emulator.faults.latency, 0);
  });
});
