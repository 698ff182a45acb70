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
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await assert.rejects(async () => {
      for await (const page of readAhead(source(3, log, 2))) {
        await tick();
        await tick();
        log.push(`use ${page}`);
      }
    }, /page 2 failed/);
    await tick();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.deepEqual(log, ["read 1", "read 2", "closed", "use 1"]);
  assert.deepEqual(unhandled, []);
});

test("readAhead: a caller that stops early closes the source once the read ahead settled; nothing is left unhandled", async () => {
  const log: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    for await (const page of readAhead(source(5, log))) {
      log.push(`use ${page}`);
      if (page === 2) break;
    }
    // The read ahead of page 2 failing while the caller stops at page 1 is not an unhandled rejection either.
    for await (const page of readAhead(source(5, [], 2))) {
      assert.equal(page, 1);
      break;
    }
    await tick();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.deepEqual(log, ["read 1", "read 2", "use 1", "read 3", "use 2", "closed"]);
  assert.deepEqual(unhandled, []);
});
