import { createHash } from "node:crypto";

/**
 * Table Storage key encoding. Keys may not contain `/ \ # ?` or control characters and are limited to 1 KiB,
 * so natural ids are encoded; the readable value is always kept as a property beside the key.
 *
 * - Ids made only of unreserved characters (letters, digits, `. _ - @ + = :`), starting with a letter or digit,
 *   are used as they are (GUIDs, SMTP addresses, managed rule names stay readable in Storage Explorer).
 * - Anything else becomes `~` + base64url(UTF-8).
 * - Anything whose encoding would exceed `MAX_KEY_COMPONENT_LENGTH` becomes `~~` + base64url(SHA-256).
 * The three forms cannot collide: plain ids never contain `~`, and base64url never starts with `~`.
 * `|` never occurs in an encoded component, so it separates components of composite keys.
 */

export const KEY_SEPARATOR = "|";
/** Keeps a composite of a few components well under the 1 KiB key limit. */
export const MAX_KEY_COMPONENT_LENGTH = 256;

const PLAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._@+=:-]*$/;

export function encodeKeyComponent(value: string): string {
  if (value.length <= MAX_KEY_COMPONENT_LENGTH && PLAIN_ID.test(value)) return value;
  const encoded = `~${Buffer.from(value, "utf8").toString("base64url")}`;
  if (encoded.length <= MAX_KEY_COMPONENT_LENGTH) return encoded;
  return `~~${createHash("sha256").update(value, "utf8").digest("base64url")}`;
}

/** Joins encoded components; each part is encoded here, so callers pass natural values. */
export function compositeKey(...parts: readonly string[]): string {
  return parts.map(encodeKeyComponent).join(KEY_SEPARATOR);
}

/** Largest millisecond timestamp a JavaScript Date can hold. */
const MAX_TIME_IN_MS = 8_640_000_000_000_000;
const INVERTED_TIME_DIGITS = String(MAX_TIME_IN_MS).length;

/**
 * A fixed-width key segment that sorts newest first: Table returns rows in ascending key order,
 * so a partition read with `top` returns the latest rows without scanning the rest.
 */
export function invertedTimeKey(isoTime: string): string {
  const timeInMs = Date.parse(isoTime);
  if (Number.isNaN(timeInMs)) throw new TypeError(`Not an ISO timestamp: ${JSON.stringify(isoTime)}`);
  return String(MAX_TIME_IN_MS - timeInMs).padStart(INVERTED_TIME_DIGITS, "0");
}
