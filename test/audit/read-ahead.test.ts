import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import { readAhead } from "../../shared/reconcile/observe";

/** A paged source that logs when each page is asked for, and fails at `failAt` if given. */
function source(pages: number, log: string[], failAt?: number): AsyncIterable<number> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let page = 1; page <= pages; page += 1) {
          log.push(`read ${page}`);
          await tick();
          if (page === failAt) throw new Error(`page ${page} failed`);
          yield page;
        }
      } finally {
        log.push("closed");
      }
    },
  };
}

/** Runs `work`, then lets pending callbacks run; returns the rejections nobody handled meanwhile. */
async function unhandledDuring(work: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await work();
    await tick();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return unhandled;
}

test("readAhead: the next page is being read while the caller works on this one; every page once, in order", async () => {
  const log: string[] = [];
  for await (const page of readAhead(source(3, log))) {
    await tick();
    log.push(`use ${page}`);
  }
  assert.deepEqual(log, ["read 1", "read 2", "use 1", "read 3", "use 2", "closed", "use 3"]);
});

test("readAhead: a failed read ahead surfaces where its page is taken, after the page before it was used", async () => {
  const log: string[] = [];
  const unhandled = await unhandledDuring(() =>
    assert.rejects(async () => {
      for await (const page of readAhead(source(3, log, 2))) {
        await tick();
        await tick();
        log.push(`use ${page}`);
      }
    }, /page 2 failed/),
  );
  assert.deepEqual(log, ["read 1", "read 2", "closed", "use 1"]);
  assert.deepEqual(unhandled, []);
});

test("readAhead: a caller that stops early closes the source once the read ahead settled; nothing is left unhandled", async () => {
  const log: string[] = [];
  const unhandled = await unhandledDuring(async () => {
    for await (const page of readAhead(source(5, log))) {
      log.push(`use ${page}`);
      if (page === 2) break;
    }
    // The read ahead of page 2 failing while the caller stops at page 1 is not an unhandled rejection either.
    for await (const page of readAhead(source(5, [], 2))) {
      assert.equal(page, 1);
      break;
    }
  });
  assert.deepEqual(log, ["read 1", "read 2", "use 1", "read 3", "use 2", "closed"]);
  assert.deepEqual(unhandled, []);
});
