import { EntityTooLargeError } from "./errors";

/**
 * Table Storage entity limits, enforced here because Azurite does not enforce them and Azure rejects the write.
 * Sizes follow Microsoft's entity size formula (UTF-16 strings, 8 bytes per property name overhead).
 */
export const MAX_ENTITY_SIZE_IN_BYTES = 1024 * 1024;
/** 255 including PartitionKey, RowKey and Timestamp. */
export const MAX_USER_PROPERTIES = 252;
/** 64 KiB of UTF-16; a little below 32 768 to leave room for the truncation marker. */
export const MAX_STRING_LENGTH = 32_000;
/** A transaction's body is limited to 4 MiB; keep a margin for the multipart envelope. */
export const MAX_TRANSACTION_SIZE_IN_BYTES = 3.5 * 1024 * 1024;

export type EntityValue = string | number | boolean | Date | undefined;
export interface EntityShape {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly [property: string]: EntityValue;
}

export function entitySizeInBytes(entity: EntityShape): number {
  let size = 4;
  for (const [name, value] of Object.entries(entity)) {
    if (value === undefined) continue;
    if (name === "partitionKey" || name === "rowKey") {
      size += String(value).length * 2;
      continue;
    }
    size += 8 + name.length * 2 + valueSizeInBytes(value);
  }
  return size;
}

function valueSizeInBytes(value: Exclude<EntityValue, undefined>): number {
  if (typeof value === "string") return 4 + value.length * 2;
  if (typeof value === "boolean") return 1;
  return 8;
}

/** Throws `EntityTooLargeError` for an entity Azure would reject; call before every write. */
export function assertEntityWithinLimits(entity: EntityShape): void {
  const properties = Object.entries(entity).filter(
    ([name, value]) => value !== undefined && name !== "partitionKey" && name !== "rowKey",
  );
  if (properties.length > MAX_USER_PROPERTIES) {
    throw new EntityTooLargeError(`${properties.length} properties (at most ${MAX_USER_PROPERTIES})`);
  }
  const long = properties.find(([, value]) => typeof value === "string" && value.length > MAX_STRING_LENGTH);
  if (long) throw new EntityTooLargeError(`property ${long[0]} is ${String(long[1]).length} characters`);
  const size = entitySizeInBytes(entity);
  if (size > MAX_ENTITY_SIZE_IN_BYTES)
    throw new EntityTooLargeError(`${size} bytes (at most ${MAX_ENTITY_SIZE_IN_BYTES})`);
}

export interface Clipped<T> {
  readonly value: T;
  readonly truncated: boolean;
}

export function clipString(value: string, maxLength = MAX_STRING_LENGTH): Clipped<string> {
  if (value.length <= maxLength) return { value, truncated: false };
  const marker = `…[truncated ${value.length} chars]`;
  // Never cut a surrogate pair in half: a lone surrogate is not valid UTF-16 on the wire.
  let end = Math.max(0, maxLength - marker.length);
  if (end > 0 && isHighSurrogate(value.charCodeAt(end - 1))) end -= 1;
  return { value: value.slice(0, end) + marker, truncated: true };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Successively harsher limits; each keeps the JSON valid and the shape of objects and arrays. */
const SHRINK_STAGES = [
  { stringLength: 4096, items: 1000, depth: 12 },
  { stringLength: 1024, items: 200, depth: 8 },
  { stringLength: 256, items: 50, depth: 6 },
  { stringLength: 64, items: 10, depth: 4 },
  { stringLength: 16, items: 3, depth: 3 },
] as const;
type ShrinkStage = (typeof SHRINK_STAGES)[number];
/** Objects keep at least this many keys so small records (a Finding) keep every field. */
const MIN_OBJECT_KEYS = 8;
const MORE_KEYS_MARKER = "…";

/**
 * Serialises `value` as JSON of at most `maxLength` characters. When it is too long, long strings are cut,
 * arrays keep their first items, large objects their first keys (plus a `"…"` key saying how many were
 * dropped) and deep nesting becomes a marker string, harsher at each stage, so the result always parses and
 * keeps the top-level type (array stays array, object stays object).
 */
export function clipJson(value: unknown, maxLength = MAX_STRING_LENGTH): Clipped<string> {
  const json = JSON.stringify(value) ?? "null";
  if (json.length <= maxLength) return { value: json, truncated: false };
  for (const stage of SHRINK_STAGES) {
    const shrunk = JSON.stringify(shrink(value, stage, 0)) ?? "null";
    if (shrunk.length <= maxLength) return { value: shrunk, truncated: true };
  }
  const fallback = Array.isArray(value)
    ? "[]"
    : isPlainObject(value)
      ? `{"${MORE_KEYS_MARKER}":"truncated"}`
      : '"[truncated]"';
  return { value: fallback, truncated: true };
}

function shrink(value: unknown, stage: ShrinkStage, depth: number): unknown {
  if (typeof value === "string") return clipString(value, stage.stringLength).value;
  if (value === null || typeof value !== "object") return value;
  if (depth >= stage.depth) return "[truncated: nested]";
  if (Array.isArray(value)) return value.slice(0, stage.items).map((item) => shrink(item, stage, depth + 1));
  const entries = Object.entries(value);
  const kept = entries.slice(0, Math.max(stage.items, MIN_OBJECT_KEYS));
  const result: Record<string, unknown> = {};
  for (const [key, item] of kept) result[key] = shrink(item, stage, depth + 1);
  if (kept.length < entries.length) result[MORE_KEYS_MARKER] = `${entries.length - kept.length} more keys`;
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
