import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { GraphClient, odataString, parseGraphError } from "../../shared/graph/client";
import { GraphError, GraphSyncStateNotFoundError } from "../../shared/graph/errors";
import { AuditSearchDeniedError } from "../../shared/evidence/audit-search";
import { graphAuditSearch } from "../../shared/evidence/graph-audit-search";
import { sendJson, startLocalHttpsServer, staticCredential, type LocalHttpsServer } from "../http/local-https-server";

let server: LocalHttpsServer;
before(async () => {
  server = await startLocalHttpsServer();
});
after(() => server.close());

function client(): GraphClient {
  return new GraphClient({
    tenantId: randomUUID(),
    baseUrl: server.baseUrl,
    credential: staticCredential(),
    extraCaPem: server.caPem,
  });
}

test("odataString doubles single quotes", () => {
  assert.equal(odataString("O'Brien"), "'O''Brien'");
  assert.equal(odataString("x' or 1 eq 1 or 'a"), "'x'' or 1 eq 1 or ''a'");
});

test("the group filter is escaped and URL-encoded, never interpolated raw", async () => {
  server.handle((_request, response) => sendJson(response, 200, { value: [] }));
  await client().findGroup({ displayName: "a' or mail eq 'b&$top=1" });
  const url = new URL(server.received.at(-1)?.url ?? "", server.baseUrl);
  assert.equal(url.searchParams.get("$filter"), "displayName eq 'a'' or mail eq ''b&$top=1'");
  assert.equal(url.searchParams.get("$top"), null);
});

test("two groups with one display name is an error, not a guess", async () => {
  server.handle((_request, response) =>
    sendJson(response, 200, { value: [{ id: randomUUID() }, { id: randomUUID() }] }),
  );
  await assert.rejects(client().findGroup({ displayName: "Dup" }), { name: "GraphError", code: "AmbiguousGroup" });
});

test("a nextLink to another host is refused before any request is sent there", async () => {
  server.handle((_request, response) =>
    sendJson(response, 200, {
      value: [{ skuId: "a", skuPartNumber: "A", servicePlans: [] }],
      "@odata.nextLink": "https://graph.evil.example/v1.0/subscribedSkus?page=2",
    }),
  );
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const sku of client().listSubscribedSkus()) seen.push(sku.skuId);
    })(),
    { name: "GraphError", code: "ForeignNextLink" },
  );
  assert.deepEqual(seen, ["a"]);
});

test("a response that is not the expected shape fails validation", async () => {
  server.handle((_request, response) =>
    sendJson(response, 200, { value: [{ notAnId: true }] }, { "request-id": "g-1" }),
  );
  await assert.rejects(client().findGroup({ mail: "a@b.com" }), {
    name: "GraphError",
    code: "InvalidResponse",
    requestId: "g-1",
  });
});

test("parseGraphError: error body, sync state, non-JSON", () => {
  const error = parseGraphError(
    403,
    JSON.stringify({
      error: {
        code: "Authorization_RequestDenied",
        message: "Insufficient privileges",
        innerError: { "request-id": "inner-1" },
      },
    }),
    undefined,
  );
  assert.ok(error instanceof GraphError);
  assert.deepEqual(
    [error.code, error.message, error.status, error.requestId],
    ["Authorization_RequestDenied", "Insufficient privileges", 403, "inner-1"],
  );
  assert.ok(
    parseGraphError(410, JSON.stringify({ error: { code: "resyncRequired", message: "x" } }), "h-1") instanceof
      GraphSyncStateNotFoundError,
  );
  const html = parseGraphError(502, "<html>Bad gateway</html>", "h-2");
  assert.deepEqual([html.code, html.message, html.requestId], ["Http502", "<html>Bad gateway</html>", "h-2"]);
});

test("audit search: the query is created with the documented body and validated; status and records are read by id", async () => {
  const id = "1c9a43d5-0a1e-4f77-b0e5-6e1a1d8f2c10";
  server.handle((request, response) => {
    const path = new URL(request.url, server.baseUrl).pathname;
    if (request.method === "POST") return sendJson(response, 201, { id, displayName: "x", status: "notStarted" });
    if (path.endsWith("/records")) {
      return sendJson(response, 200, {
        value: [{ id: "r-1", createdDateTime: "2026-03-01T02:00:00Z", auditLogRecordType: "exchangeAdmin", operation: "Set-Mailbox", objectId: "o", auditData: { Parameters: [] } }],
      });
    }
    return sendJson(response, 200, { id, status: "succeeded", approximateReturnedRecordCount: 1 });
  });
  const graph = client();
  const created = await graph.createAuditLogQuery({
    displayName: "mailbox-audit-enforcer: changes of run r",
    filterStartDateTime: "2026-03-01T00:00:00.000Z",
    filterEndDateTime: "2026-03-01T03:00:00.000Z",
    recordTypeFilters: ["exchangeAdmin"],
    operationFilters: ["Set-Mailbox"],
  });
  assert.deepEqual([created.id, created.status], [id, "notStarted"]);
  const post = server.received.at(-1)!;
  assert.equal(new URL(post.url, server.baseUrl).pathname, "/v1.0/security/auditLog/queries");
  assert.deepEqual(JSON.parse(post.body), {
    "@odata.type": "#microsoft.graph.security.auditLogQuery",
    displayName: "mailbox-audit-enforcer: changes of run r",
    filterStartDateTime: "2026-03-01T00:00:00.000Z",
    filterEndDateTime: "2026-03-01T03:00:00.000Z",
    recordTypeFilters: ["exchangeAdmin"],
    operationFilters: ["Set-Mailbox"],
  });
  const state = await graph.getAuditLogQuery(id);
  assert.deepEqual([state.status, state.approximateReturnedRecordCount], ["succeeded", 1]);
  assert.equal(new URL(server.received.at(-1)!.url, server.baseUrl).pathname, `/v1.0/security/auditLog/queries/${id}`);
  const pages: string[][] = [];
  for await (const page of graph.listAuditLogRecordPages(id)) pages.push(page.map((record) => record.id));
  assert.deepEqual(pages, [["r-1"]]);
  assert.equal(new URL(server.received.at(-1)!.url, server.baseUrl).pathname, `/v1.0/security/auditLog/queries/${id}/records`);
});

test("audit search: an id that is not a plain segment is refused before anything is sent", async () => {
  const before = server.received.length;
  await assert.rejects(client().getAuditLogQuery("../../users"), TypeError);
  await assert.rejects(client().createAuditLogQuery({ displayName: "x", filterStartDateTime: "yesterday", filterEndDateTime: "2026-03-01T00:00:00Z", recordTypeFilters: ["exchangeItem"] }), TypeError);
  await assert.rejects(client().createAuditLogQuery({ displayName: "x", filterStartDateTime: "2026-03-01T00:00:00Z", filterEndDateTime: "2026-03-01T00:00:00Z", recordTypeFilters: [] }), TypeError);
  assert.equal(server.received.length, before);
});

test("audit search: a query without status, a record without a valid time, fail validation; a foreign nextLink is refused", async () => {
  server.handle((_request, response) => sendJson(response, 201, { id: "q" }));
  await assert.rejects(client().getAuditLogQuery("q"), { name: "GraphError", code: "InvalidResponse" });
  server.handle((_request, response) => sendJson(response, 200, { value: [{ id: "r", createdDateTime: "not a time" }] }));
  await assert.rejects(
    (async () => {
      for await (const page of client().listAuditLogRecordPages("q")) void page;
    })(),
    { name: "GraphError", code: "InvalidResponse" },
  );
  server.handle((_request, response) =>
    sendJson(response, 200, { value: [], "@odata.nextLink": "https://graph.evil.example/v1.0/security/auditLog/queries/q/records?skip=1" }),
  );
  const requests = server.received.length;
  await assert.rejects(
    (async () => {
      for await (const page of client().listAuditLogRecordPages("q")) void page;
    })(),
    { name: "GraphError", code: "ForeignNextLink" },
  );
  assert.equal(server.received.length, requests + 1);
});

test("audit search port: a 403 is the missing AuditLogsQuery-Exchange.Read.All grant; other failures pass through", async () => {
  server.handle((_request, response) => sendJson(response, 403, { error: { code: "Forbidden", message: "Missing role" } }, { "request-id": "d-1" }));
  const port = graphAuditSearch(client());
  const spec = { displayName: "x", start: "2026-03-01T00:00:00Z", end: "2026-03-01T01:00:00Z", recordTypes: ["exchangeItem"] };
  const denied = await port.createQuery(spec).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(denied instanceof AuditSearchDeniedError);
  assert.equal(denied.requestId, "d-1");
  assert.match(denied.message, /AuditLogsQuery-Exchange\.Read\.All/);
  server.handle((_request, response) => sendJson(response, 400, { error: { code: "BadRequest", message: "bad filter" } }));
  await assert.rejects(port.createQuery(spec), { name: "GraphError", code: "BadRequest", status: 400 });
  server.handle((_request, response) => sendJson(response, 201, { id: "q-9", status: "succeeded", approximateReturnedRecordCount: 42 }));
  assert.deepEqual(await port.createQuery(spec), { id: "q-9", status: "succeeded", approximateRecordCount: 42 });
});
