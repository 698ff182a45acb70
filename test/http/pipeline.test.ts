import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  createServicePipeline,
  jsonRequest,
  responseRequestId,
  type HttpAttempt,
  type ServicePipelineOptions,
} from "../../shared/http/pipeline";
import { sendJson, startLocalHttpsServer, staticCredential, type LocalHttpsServer } from "./local-https-server";

let server: LocalHttpsServer;
before(async () => {
  server = await startLocalHttpsServer();
});
after(() => server.close());

function pipeline(overrides: Partial<ServicePipelineOptions> = {}) {
  return createServicePipeline({
    credential: staticCredential(),
    scopes: "https://outlook.office365.com/.default",
    tenantId: `tenant-${randomUUID()}`,
    service: "exchange",
    extraCaPem: server.caPem,
    retryBudget: { baseDelayInMs: 10, maxDelayInMs: 40 },
    ...overrides,
  });
}

test("sends the bearer token, a client-request-id, and returns the request-id", async () => {
  server.handle((_request, response) => sendJson(response, 200, { ok: true }, { "request-id": "srv-1" }));
  const response = await pipeline().sendRequest(
    jsonRequest({ method: "POST", url: `${server.baseUrl}/x`, body: { a: 1 } }),
  );
  assert.equal(response.status, 200);
  assert.equal(responseRequestId(response), "srv-1");
  const received = server.received.at(-1);
  assert.equal(received?.headers.authorization, "Bearer test-token");
  assert.match(String(received?.headers["client-request-id"]), /^[0-9a-f-]{36}$/);
  assert.equal(received?.headers["content-type"], "application/json");
  assert.equal(received?.body, '{"a":1}');
});

test("without the extra CA the self-signed server is refused", async () => {
  server.handle((_request, response) => sendJson(response, 200, {}));
  await assert.rejects(
    pipeline({ extraCaPem: "" }).sendRequest(jsonRequest({ method: "GET", url: `${server.baseUrl}/x` })),
    (error: Error) => /certificate/i.test(error.message),
  );
});

test("honours Retry-After on 429 and keeps the same client-request-id across retries", async () => {
  let calls = 0;
  server.handle((_request, response) => {
    calls += 1;
    if (calls === 1) sendJson(response, 429, { error: { message: "throttled" } }, { "Retry-After": "1" });
    else sendJson(response, 200, { ok: true });
  });
  const attempts: HttpAttempt[] = [];
  // The wait the retry policy decided, observed instead of slept: the budget's backoff (10-40 ms) would be far less.
  const delays: number[] = [];
  const response = await pipeline({
    onAttempt: (attempt) => attempts.push(attempt),
    retryDelay: (decided) => {
      delays.push(decided);
      return 0;
    },
  }).sendRequest(jsonRequest({ method: "GET", url: `${server.baseUrl}/retry-after` }));
  assert.equal(response.status, 200);
  assert.deepEqual(delays, [1_000]);
  assert.deepEqual(
    attempts.map((attempt) => attempt.status),
    [429, 200],
  );
  const ids = server.received.slice(-2).map((request) => request.headers["client-request-id"]);
  assert.equal(ids[0], ids[1]);
});

test("retries 5xx with backoff and gives up after the attempt budget with the last response", async () => {
  server.handle((_request, response) => sendJson(response, 503, { error: { message: "down" } }));
  const before = server.received.length;
  const response = await pipeline({ retryBudget: { maxRetries: 2, baseDelayInMs: 5, maxDelayInMs: 10 } }).sendRequest(
    jsonRequest({ method: "GET", url: `${server.baseUrl}/down` }),
  );
  assert.equal(response.status, 503);
  assert.equal(server.received.length - before, 3);
});

test("does not retry a 400", async () => {
  server.handle((_request, response) => sendJson(response, 400, { error: { message: "bad" } }));
  const before = server.received.length;
  const response = await pipeline().sendRequest(jsonRequest({ method: "GET", url: `${server.baseUrl}/bad` }));
  assert.equal(response.status, 400);
  assert.equal(server.received.length - before, 1);
});

/** A promise the server's handler waits on (so the client's own timer is the only clock), released by the test. */
function gate(): { held: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  return { held, release };
}

test("a slow attempt times out and is retried", async () => {
  let calls = 0;
  const first = gate();
  server.handle(async (_request, response) => {
    calls += 1;
    const attempt = calls;
    if (attempt === 1) await first.held; // never answered before the client gives up
    sendJson(response, 200, { attempt });
  });
  try {
    const response = await pipeline({ timeoutInMs: 100 }).sendRequest(
      jsonRequest({ method: "GET", url: `${server.baseUrl}/slow` }),
    );
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.bodyAsText ?? "{}").attempt, 2);
  } finally {
    first.release();
  }
});

test("a timeout that never recovers fails with REQUEST_TIMEOUT", async () => {
  const never = gate();
  server.handle(async (_request, response) => {
    await never.held;
    sendJson(response, 200, {});
  });
  try {
    await assert.rejects(
      pipeline({ timeoutInMs: 50, retryBudget: { maxRetries: 1, baseDelayInMs: 1, maxDelayInMs: 1 } }).sendRequest(
        jsonRequest({ method: "GET", url: `${server.baseUrl}/never` }),
      ),
      { code: "REQUEST_TIMEOUT" },
    );
  } finally {
    never.release();
  }
});

test("the caller's abort is not retried", async () => {
  const controller = new AbortController();
  const unanswered = gate();
  let calls = 0;
  server.handle(async (_request, response) => {
    calls += 1;
    controller.abort(); // the caller gives up while its request is at the server
    await unanswered.held;
    sendJson(response, 200, {});
  });
  try {
    await assert.rejects(
      pipeline().sendRequest(
        jsonRequest({ method: "GET", url: `${server.baseUrl}/abort`, abortSignal: controller.signal }),
      ),
      { name: "AbortError" },
    );
    assert.equal(calls, 1, "not retried");
  } finally {
    unanswered.release();
  }
});

test("all pipelines of one tenant share the concurrency limit", async () => {
  let running = 0;
  let peak = 0;
  server.handle(async (_request, response) => {
    running += 1;
    peak = Math.max(peak, running);
    await sleep(20);
    running -= 1;
    sendJson(response, 200, {});
  });
  const tenantId = `tenant-${randomUUID()}`;
  const first = pipeline({ tenantId, maxConcurrency: 2 });
  const second = pipeline({ tenantId, maxConcurrency: 2 });
  await Promise.all(
    Array.from({ length: 10 }, (_, index) =>
      (index % 2 ? first : second).sendRequest(jsonRequest({ method: "GET", url: `${server.baseUrl}/c${index}` })),
    ),
  );
  assert.equal(peak, 2);
});
