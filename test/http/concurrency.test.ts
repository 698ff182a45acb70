import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ConcurrencyLimiter, sharedConcurrencyLimiter } from "../../shared/http/concurrency";

test("ConcurrencyLimiter never runs more than its limit and serves waiters in order", async () => {
  const limiter = new ConcurrencyLimiter(3);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 12 }, (_, index) =>
      limiter.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(index);
        await nextTurn(); // yields, so the limiter could start another task if it let one through
        running -= 1;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  assert.equal(limiter.active, 0);
});

test("ConcurrencyLimiter releases the slot when the task throws", async () => {
  const limiter = new ConcurrencyLimiter(1);
  await assert.rejects(
    limiter.run(() => Promise.reject(new Error("boom"))),
    /boom/,
  );
  assert.equal(limiter.active, 0);
  assert.equal(await limiter.run(() => Promise.resolve(7)), 7);
});

test("ConcurrencyLimiter: an aborted waiter leaves the queue", async () => {
  const limiter = new ConcurrencyLimiter(1);
  const release = await limiter.acquire();
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal);
  assert.equal(limiter.waiting, 1);
  controller.abort();
  await assert.rejects(waiting, { name: "AbortError" });
  assert.equal(limiter.waiting, 0);
  release();
  release();
  assert.equal(limiter.active, 0, "release is idempotent");
});

test("ConcurrencyLimiter: raising the limit admits waiters", async () => {
  const limiter = new ConcurrencyLimiter(1);
  await limiter.acquire();
  const second = limiter.acquire();
  limiter.maxConcurrency = 2;
  await second;
  assert.equal(limiter.active, 2);
  assert.throws(() => new ConcurrencyLimiter(0), RangeError);
});

test("sharedConcurrencyLimiter: one limiter per tenant and service, whatever the tenant's case", () => {
  const a = sharedConcurrencyLimiter("Contoso.onmicrosoft.com", "exchange", 3);
  const b = sharedConcurrencyLimiter("contoso.onmicrosoft.com", "exchange", 3);
  const graph = sharedConcurrencyLimiter("contoso.onmicrosoft.com", "graph", 3);
  assert.equal(a, b);
  assert.notEqual(a, graph);
  sharedConcurrencyLimiter("contoso.onmicrosoft.com", "exchange", 5);
  assert.equal(a.maxConcurrency, 5);
});
