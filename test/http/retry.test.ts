import { test } from "node:test";
import assert from "node:assert/strict";
import {
  backoffDelayInMs,
  DEFAULT_RETRY_BUDGET,
  decideRetry,
  isConcurrencyThrottle,
  parseRetryAfterInMs,
  type AttemptOutcome,
  type RetryBudget,
} from "../../shared/http/retry";

const budget: RetryBudget = { maxRetries: 3, maxElapsedInMs: 60_000, baseDelayInMs: 1_000, maxDelayInMs: 8_000 };
const now = Date.parse("2026-11-25T10:00:00Z");
const concurrencyBody = JSON.stringify({
  error: { message: "You have reached the maximum number of concurrent requests per tenant. Please wait." },
});

function outcome(partial: Partial<AttemptOutcome>): AttemptOutcome {
  return { retryCount: 0, elapsedInMs: 0, nowInMs: now, ...partial };
}

test("decideRetry: table of attempts", () => {
  const cases: { name: string; outcome: AttemptOutcome; expected: ReturnType<typeof decideRetry> }[] = [
    { name: "200 is success", outcome: outcome({ status: 200 }), expected: { retry: false, reason: "success" } },
    {
      name: "success body mentioning the concurrency text is still success",
      outcome: outcome({ status: 200, bodyText: concurrencyBody }),
      expected: { retry: false, reason: "success" },
    },
    {
      name: "400 is permanent",
      outcome: outcome({ status: 400, bodyText: "{}" }),
      expected: { retry: false, reason: "permanent" },
    },
    { name: "403 is permanent", outcome: outcome({ status: 403 }), expected: { retry: false, reason: "permanent" } },
    { name: "501 is permanent", outcome: outcome({ status: 501 }), expected: { retry: false, reason: "permanent" } },
    {
      name: "429 honours Retry-After seconds",
      outcome: outcome({ status: 429, headers: { "retry-after": "7" } }),
      expected: { retry: true, delayInMs: 7_000, reason: "throttled" },
    },
    {
      name: "429 honours Retry-After HTTP-date",
      outcome: outcome({ status: 429, headers: { "retry-after": new Date(now + 12_000).toUTCString() } }),
      expected: { retry: true, delayInMs: 12_000, reason: "throttled" },
    },
    {
      name: "503 honours retry-after-ms",
      outcome: outcome({ status: 503, headers: { "retry-after-ms": "250", "retry-after": "9" } }),
      expected: { retry: true, delayInMs: 250, reason: "throttled" },
    },
    {
      name: "429 without Retry-After backs off",
      outcome: outcome({ status: 429, retryCount: 1 }),
      expected: { retry: true, delayInMs: 1_500, reason: "throttled" },
    },
    {
      name: "concurrency text on a 400 is throttling",
      outcome: outcome({ status: 400, bodyText: concurrencyBody, headers: { "retry-after": "2" } }),
      expected: { retry: true, delayInMs: 2_000, reason: "throttled" },
    },
    {
      name: "500 backs off",
      outcome: outcome({ status: 500 }),
      expected: { retry: true, delayInMs: 750, reason: "transient" },
    },
    {
      name: "504 backs off exponentially",
      outcome: outcome({ status: 504, retryCount: 2 }),
      expected: { retry: true, delayInMs: 3_000, reason: "transient" },
    },
    {
      name: "408 backs off",
      outcome: outcome({ status: 408 }),
      expected: { retry: true, delayInMs: 750, reason: "transient" },
    },
    {
      name: "socket reset backs off",
      outcome: outcome({ errorCode: "ECONNRESET" }),
      expected: { retry: true, delayInMs: 750, reason: "transient" },
    },
    {
      name: "timeout backs off",
      outcome: outcome({ errorCode: "REQUEST_TIMEOUT" }),
      expected: { retry: true, delayInMs: 750, reason: "transient" },
    },
    {
      name: "unknown error is permanent",
      outcome: outcome({ errorCode: "ERR_TLS_CERT_ALTNAME_INVALID" }),
      expected: { retry: false, reason: "permanent" },
    },
    {
      name: "attempt budget",
      outcome: outcome({ status: 503, retryCount: 3, headers: { "retry-after": "1" } }),
      expected: { retry: false, reason: "budget-exhausted" },
    },
    {
      name: "time budget: wait would overrun",
      outcome: outcome({ status: 429, elapsedInMs: 55_000, headers: { "retry-after": "10" } }),
      expected: { retry: false, reason: "budget-exhausted" },
    },
    {
      name: "time budget: wait fits",
      outcome: outcome({ status: 429, elapsedInMs: 49_000, headers: { "retry-after": "10" } }),
      expected: { retry: true, delayInMs: 10_000, reason: "throttled" },
    },
  ];
  for (const { name, outcome: attempt, expected } of cases) {
    assert.deepEqual(
      decideRetry(attempt, budget, () => 0.5),
      expected,
      name,
    );
  }
});

test("backoffDelayInMs: grows, caps and jitters within [step/2, step]", () => {
  assert.equal(
    backoffDelayInMs(0, budget, () => 0),
    500,
  );
  assert.equal(
    backoffDelayInMs(0, budget, () => 1),
    1_000,
  );
  assert.equal(
    backoffDelayInMs(3, budget, () => 1),
    8_000,
  );
  assert.equal(
    backoffDelayInMs(10, budget, () => 0),
    4_000,
    "capped at maxDelayInMs",
  );
});

test("parseRetryAfterInMs: ignores junk and past dates", () => {
  assert.equal(parseRetryAfterInMs({ "retry-after": "soon" }, now), undefined);
  assert.equal(parseRetryAfterInMs({}, now), undefined);
  assert.equal(parseRetryAfterInMs(undefined, now), undefined);
  assert.equal(parseRetryAfterInMs({ "retry-after": new Date(now - 5_000).toUTCString() }, now), 0);
  assert.equal(parseRetryAfterInMs({ "x-ms-retry-after-ms": "40" }, now), 40);
});

test("isConcurrencyThrottle: matches Exchange's text case-insensitively", () => {
  assert.equal(isConcurrencyThrottle("You have reached the Maximum Number of Concurrent Requests per Tenant."), true);
  assert.equal(isConcurrencyThrottle("Some other failure"), false);
  assert.equal(isConcurrencyThrottle(undefined), false);
});

test("parseRetryAfterInMs: exact forms only (mutation testing found these unpinned)", () => {
  const cases: { headers: Record<string, string>; expected: number | undefined }[] = [
    { headers: { "retry-after-ms": " 250 " }, expected: 250 },
    { headers: { "retry-after-ms": "250x" }, expected: undefined },
    { headers: { "retry-after-ms": "250 x" }, expected: undefined },
    { headers: { "retry-after": " 7 " }, expected: 7_000 },
    { headers: { "retry-after": "1.25" }, expected: 1_250 },
    { headers: { "retry-after": "1.x" }, expected: undefined },
    { headers: { "retry-after": "x7" }, expected: undefined },
    { headers: { "retry-after": "7x" }, expected: undefined },
  ];
  for (const { headers, expected } of cases) assert.equal(parseRetryAfterInMs(headers, now), expected, JSON.stringify(headers));
});

test("decideRetry: boundaries of the transient statuses, the concurrency text and the elapsed budget", () => {
  assert.deepEqual(decideRetry(outcome({ status: 505 }), budget, () => 0), { retry: false, reason: "permanent" });
  assert.equal(decideRetry(outcome({ status: 502 }), budget, () => 0).reason, "transient");
  // Without a status (no answer), the concurrency text in a body is not a throttle: the error code decides.
  assert.deepEqual(decideRetry(outcome({ bodyText: concurrencyBody, errorCode: "EPERM" }), budget, () => 0), { retry: false, reason: "permanent" });
  assert.deepEqual(decideRetry(outcome({}), budget, () => 0), { retry: false, reason: "permanent" });
  // A wait that ends exactly at the elapsed budget is still allowed.
  const exact = outcome({ status: 429, headers: { "retry-after": "10" }, elapsedInMs: 50_000 });
  assert.deepEqual(decideRetry(exact, budget), { retry: true, delayInMs: 10_000, reason: "throttled" });
});

test("parseRetryAfterInMs: the milliseconds headers take exact forms only (second mutation run)", () => {
  const cases: { headers: Record<string, string>; expected: number | undefined }[] = [
    { headers: { "retry-after-ms": "x250" }, expected: undefined },
    { headers: { "retry-after-ms": "1.25" }, expected: 1 },
    { headers: { "retry-after-ms": "1.x" }, expected: undefined },
    { headers: { "x-ms-retry-after-ms": "12.5" }, expected: 13 },
  ];
  for (const { headers, expected } of cases) assert.equal(parseRetryAfterInMs(headers, now), expected, JSON.stringify(headers));
});

test("decideRetry: the default budget allows waits for five minutes in all", () => {
  const late = outcome({ status: 429, headers: { "retry-after": "10" }, elapsedInMs: 4 * 60_000 });
  assert.deepEqual(decideRetry(late, DEFAULT_RETRY_BUDGET), { retry: true, delayInMs: 10_000, reason: "throttled" });
  const over = outcome({ status: 429, headers: { "retry-after": "10" }, elapsedInMs: 5 * 60_000 - 9_999 });
  assert.equal(decideRetry(over, DEFAULT_RETRY_BUDGET).retry, false);
});
