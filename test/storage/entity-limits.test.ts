import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertEntityWithinLimits,
  clipJson,
  clipString,
  entitySizeInBytes,
  MAX_STRING_LENGTH,
} from "../../shared/storage/entity-limits";
import { EntityTooLargeError } from "../../shared/storage/errors";

describe("clipString", () => {
  it("leaves short strings alone", () => {
    assert.deepEqual(clipString("abc", 10), { value: "abc", truncated: false });
  });

  it("cuts long strings to the limit with a marker, never splitting a surrogate pair", () => {
    const clipped = clipString("😀".repeat(100), 50);
    assert.equal(clipped.truncated, true);
    assert.ok(clipped.value.length <= 50);
    assert.match(clipped.value, /…\[truncated 200 chars\]$/);
    assert.doesNotMatch(clipped.value, /[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe("clipJson", () => {
  it("returns small values unchanged", () => {
    assert.deepEqual(clipJson({ a: [1, 2] }), { value: '{"a":[1,2]}', truncated: false });
  });

  it("shrinks a 2 MiB array of findings to valid JSON of whole findings", () => {
    const findings = Array.from({ length: 10_000 }, (_, i) => ({
      kind: "drift",
      setting: `AuditOwner${i}`,
      current: "x".repeat(200),
      desired: ["MailItemsAccessed", "Send"],
      message: "differs",
    }));
    assert.ok(JSON.stringify(findings).length > 2 * 1024 * 1024);
    const clipped = clipJson(findings);
    assert.equal(clipped.truncated, true);
    assert.ok(clipped.value.length <= MAX_STRING_LENGTH);
    const parsed = JSON.parse(clipped.value) as typeof findings;
    assert.ok(Array.isArray(parsed) && parsed.length > 0);
    for (const finding of parsed)
      assert.deepEqual(Object.keys(finding), ["kind", "setting", "current", "desired", "message"]);
    assert.equal(parsed[0]?.setting, "AuditOwner0");
  });

  it("keeps an object an object, saying how many keys were dropped", () => {
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
    const parsed = JSON.parse(clipJson(wide).value) as Record<string, unknown>;
    assert.equal(typeof parsed, "object");
    assert.match(String(parsed["…"]), /more keys/);
  });

  it("falls back to an empty array for an array that cannot fit", () => {
    assert.deepEqual(clipJson(["a".repeat(100)], 5), { value: "[]", truncated: true });
  });
});

describe("assertEntityWithinLimits", () => {
  const keys = { partitionKey: "p", rowKey: "r" };

  it("accepts an ordinary entity", () => {
    assert.doesNotThrow(() => assertEntityWithinLimits({ ...keys, a: "x", b: 1, c: true, d: new Date() }));
    assert.equal(entitySizeInBytes({ ...keys, a: "xy" }), 4 + 2 + 2 + (8 + 2 + 4 + 4));
  });

  it("rejects too many properties, long strings and oversized entities", () => {
    const many = Object.fromEntries(Array.from({ length: 253 }, (_, i) => [`p${i}`, i]));
    assert.throws(() => assertEntityWithinLimits({ ...keys, ...many }), EntityTooLargeError);
    assert.throws(
      () => assertEntityWithinLimits({ ...keys, a: "x".repeat(MAX_STRING_LENGTH + 1) }),
      EntityTooLargeError,
    );
    const big = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, "x".repeat(MAX_STRING_LENGTH)]));
    assert.throws(() => assertEntityWithinLimits({ ...keys, ...big }), EntityTooLargeError);
  });
});
