import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compositeKey,
  encodeKeyComponent,
  invertedTimeKey,
  KEY_SEPARATOR,
  MAX_KEY_COMPONENT_LENGTH,
} from "../../shared/storage/table-keys";

/** Characters Table Storage forbids in keys: `/ \ # ?` and control characters. */
function hasForbiddenCharacter(key: string): boolean {
  return [...key].some((character) => {
    const code = character.charCodeAt(0);
    return "/\\#?".includes(character) || code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });
}

describe("encodeKeyComponent", () => {
  it("keeps GUIDs, addresses and managed names readable", () => {
    for (const id of [
      "0b9e8c1a-3f7d-4a5e-9c2b-1d2e3f4a5b6c",
      "adele.vance@contoso.com",
      "MAE-Capture_Rule.1",
      "organization",
    ]) {
      assert.equal(encodeKeyComponent(id), id);
    }
  });

  it("encodes hostile ids into allowed, distinct, separator-free keys", () => {
    const hostile = [
      "a/b",
      "a\\b",
      "a#b",
      "a?b",
      "it's",
      'say "hi"',
      "tab\tand\nnewline",
      "Zoë",
      "日本語",
      "😀",
      "~x",
      "a|b",
      "",
      " ",
    ];
    const keys = hostile.map(encodeKeyComponent);
    for (const key of keys) {
      assert.equal(hasForbiddenCharacter(key), false, key);
      assert.ok(!key.includes(KEY_SEPARATOR), key);
      assert.ok(key.length > 0);
    }
    assert.equal(new Set(keys).size, hostile.length);
    assert.equal(Buffer.from(encodeKeyComponent("a/b").slice(1), "base64url").toString("utf8"), "a/b");
  });

  it("hashes ids too long for a key, still distinctly", () => {
    const a = encodeKeyComponent("x/".repeat(2000));
    const b = encodeKeyComponent("x/".repeat(2001));
    assert.ok(a.startsWith("~~") && a.length <= MAX_KEY_COMPONENT_LENGTH);
    assert.notEqual(a, b);
    assert.ok(encodeKeyComponent("a".repeat(MAX_KEY_COMPONENT_LENGTH + 1)).startsWith("~"));
  });

  it("joins components with the separator", () => {
    assert.equal(compositeKey("mailbox", "a/b"), `mailbox|${encodeKeyComponent("a/b")}`);
  });
});

describe("invertedTimeKey", () => {
  it("sorts newer times first with fixed width", () => {
    const older = invertedTimeKey("2024-01-01T00:00:00.000Z");
    const newer = invertedTimeKey("2024-01-01T00:00:00.001Z");
    assert.equal(older.length, newer.length);
    assert.ok(newer < older);
    assert.ok(invertedTimeKey("2099-12-31T00:00:00Z") < invertedTimeKey("1999-12-31T00:00:00Z"));
  });

  it("rejects what is not a timestamp", () => {
    assert.throws(() => invertedTimeKey("yesterday"), TypeError);
  });
});
