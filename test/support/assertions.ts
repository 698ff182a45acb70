/**
 * Assertions that cannot pass vacuously: `Array.prototype.every` is true of an empty list, so a guard over a list
 * that came out empty (a filter that matched nothing, a run that produced nothing) would pass without checking.
 */
import assert from "node:assert/strict";

/** Fails unless `items` is non-empty and every item satisfies `predicate`; names the first item that does not. */
export function assertEvery<T>(items: readonly T[], predicate: (item: T) => boolean, message = "every item"): void {
  assert.ok(items.length > 0, `${message}: the list is empty, so nothing was checked`);
  const failing = items.find((item) => !predicate(item));
  assert.equal(failing, undefined, `${message}: fails for ${JSON.stringify(failing)}`);
}
