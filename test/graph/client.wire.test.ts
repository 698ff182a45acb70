import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { GraphClient, odataString, parseGraphError } from "../../shared/graph/client";
import { GraphError, GraphSyncStateNotFoundError } from "../../shared/graph/errors";
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
