/**
 * The recorded-state digest: per tenant, target → a short hash of the state its latest recorded outcome holds
 * (`recordedStateOf`) and when that outcome's run started. A run compares each outcome with it and writes to Table
 * Storage only the outcomes whose state differs (the rest are counted, sampled and printed as before), and writes
 * back only the buckets that changed.
 *
 * Format: 256 buckets (the first byte of SHA-256 of kind and target id); a bucket is one string of fixed-width
 * entries sorted by key — 16 characters of key (base64url of the same hash), 12 of state hash, 9 of the run's
 * start (base-36 milliseconds) — so a 100,000-target tenant's digest is ~3.7 M characters, ~14,500 per bucket,
 * looked up by binary search without being unpacked.
 *
 * Safety rules (a missing entry costs a re-record; a wrong one would hide a change):
 * - An outcome without a recorded state (failed, drift) deletes its target's entry.
 * - Before a run writes any outcome (or hands a change to a worker) it marks the digest open (the header); it
 *   closes it when its buckets are written, after every outcome was recorded. A digest found open is not trusted:
 *   the run records everything it sees and rebuilds the digest from that alone.
 * - A full sweep that completes without a run error keeps only the entries of the targets it saw; so an entry whose
 *   run start equals its target's latest outcome, older than the last full sweep, was seen unchanged by it (the
 *   report's "last verified").
 */
import { createHash } from "node:crypto";
import { recordedStateOf, type ReadBackState } from "../domain/recorded-state";
import type { TargetKind, TargetOutcome } from "../domain/outcome";

export const DIGEST_BUCKETS = 256;
const KEY_CHARS = 16;
const STATE_CHARS = 12;
const TIME_CHARS = 9;
export const DIGEST_ENTRY_CHARS = KEY_CHARS + STATE_CHARS + TIME_CHARS;

/** One bucket as stored, with the etag to write it back only if unchanged since. */
export interface DigestBucketSnapshot {
  readonly packed: string;
  readonly etag?: string;
}

/** The digest as a run (or the report) loaded it. */
export interface RecordedDigestSnapshot {
  readonly buckets: ReadonlyMap<number, DigestBucketSnapshot>;
  /** The run that opened the digest and has not closed it: its entries may be stale. */
  readonly openedBy?: string;
  readonly headerEtag?: string;
  /** The store keeps no digest (the CLI's in-memory store): nothing to compare with or write back; everything is recorded. */
  readonly kept?: false;
}

export interface DigestBucketWrite {
  readonly index: number;
  readonly packed: string;
  /** Write only if unchanged since loaded; absent: the bucket did not exist. */
  readonly etag?: string;
}

/** The store's part of the digest (both outcome stores implement it). */
export interface RecordedDigestStore {
  /** The whole digest of a tenant (one partition query). */
  loadRecordedDigest(tenantId: string): Promise<RecordedDigestSnapshot>;
  /** Marks the digest open by `runId` (only if the header is unchanged since `headerEtag`); returns the new etag. */
  openRecordedDigest(tenantId: string, runId: string, headerEtag: string | undefined): Promise<string>;
  /** Writes the buckets (each only if unchanged since loaded), then closes the header (only if still `headerEtag`). */
  commitRecordedDigest(tenantId: string, buckets: readonly DigestBucketWrite[], headerEtag: string | undefined): Promise<void>;
}

export const EMPTY_DIGEST: RecordedDigestSnapshot = { buckets: new Map() };

/** The key and bucket of a target. */
export function digestKeyOf(kind: TargetKind, targetId: string): { readonly key: string; readonly bucket: number } {
  const hash = createHash("sha256").update(`${kind}\n${targetId}`, "utf8").digest();
  return { key: hash.toString("base64url").slice(0, KEY_CHARS), bucket: hash[0] ?? 0 };
}

/** The bucket of a key: the first byte of the hash the key is the base64url of. */
function bucketOfKey(key: string): number {
  return Buffer.from(key.slice(0, 4), "base64url")[0] ?? 0;
}

export function stateHashOf(state: string): string {
  return createHash("sha256").update(state, "utf8").digest("base64url").slice(0, STATE_CHARS);
}

export function timeCodeOf(isoTime: string): string {
  return Date.parse(isoTime).toString(36).padStart(TIME_CHARS, "0");
}

function timeOfCode(code: string): string {
  return new Date(Number.parseInt(code, 36)).toISOString();
}

/** The entry (state hash + time code) of `key` in a packed bucket, and its index. */
export function findEntry(packed: string, key: string): { readonly index: number; readonly value: string } | undefined {
  let low = 0;
  let high = Math.floor(packed.length / DIGEST_ENTRY_CHARS) - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = middle * DIGEST_ENTRY_CHARS;
    const candidate = packed.slice(at, at + KEY_CHARS);
    if (candidate === key) return { index: middle, value: packed.slice(at + KEY_CHARS, at + DIGEST_ENTRY_CHARS) };
    if (candidate < key) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/**
 * A bucket after a run: its entries (only those marked `kept` when given), with `changes` applied (a null change
 * deletes), sorted by key.
 */
export function mergeBucket(packed: string, changes: ReadonlyMap<string, string | null>, kept?: Uint8Array): string {
  const entries = new Map<string, string>();
  const count = Math.floor(packed.length / DIGEST_ENTRY_CHARS);
  for (let index = 0; index < count; index += 1) {
    if (kept && !kept[index]) continue;
    const at = index * DIGEST_ENTRY_CHARS;
    entries.set(packed.slice(at, at + KEY_CHARS), packed.slice(at + KEY_CHARS, at + DIGEST_ENTRY_CHARS));
  }
  for (const [key, value] of changes) {
    if (value === null) entries.delete(key);
    else entries.set(key, value);
  }
  return [...entries.keys()].sort().map((key) => `${key}${entries.get(key) ?? ""}`).join("");
}

/**
 * When the target of a latest outcome was last verified: the outcome's run, or the last completed full sweep when
 * the digest shows that sweep saw the same state (its entry is the one this outcome recorded, and survived the sweep).
 */
export function lastVerifiedAt(
  snapshot: RecordedDigestSnapshot,
  fullSweepAt: string | undefined,
  outcome: Pick<TargetOutcome, "kind" | "targetId" | "status"> & { readonly runStartedAt: string },
): string {
  if (fullSweepAt === undefined || !(fullSweepAt > outcome.runStartedAt) || outcome.status === "failed" || outcome.status === "drift") return outcome.runStartedAt;
  const { key, bucket } = digestKeyOf(outcome.kind, outcome.targetId);
  const entry = findEntry(snapshot.buckets.get(bucket)?.packed ?? "", key);
  if (!entry || timeOfCode(entry.value.slice(STATE_CHARS)) !== outcome.runStartedAt) return outcome.runStartedAt;
  return fullSweepAt;
}

/**
 * One run's view of the digest: decides which outcomes to record and collects the changes to write back.
 * Memory: the packed buckets, one bit-per-entry "seen" map per bucket during a full sweep, and the changed entries.
 */
export class RunDigest {
  private readonly changes = new Map<number, Map<string, string | null>>();
  private readonly seen = new Map<number, Uint8Array>();
  private skippedCount = 0;

  constructor(
    private readonly snapshot: RecordedDigestSnapshot,
    private readonly runStartedAt: string,
  ) {}

  /** Whether the loaded digest can be compared with (false: found open, so it is rebuilt from this run). */
  get trusted(): boolean {
    return this.snapshot.openedBy === undefined;
  }

  get headerEtag(): string | undefined {
    return this.snapshot.headerEtag;
  }

  /** Outcomes found unchanged (not recorded) so far. */
  get skipped(): number {
    return this.skippedCount;
  }

  /**
   * Whether the outcome must be recorded: always, unless the digest holds exactly its state (then it is noted as
   * seen and not recorded). A recorded outcome's entry is replaced (or deleted when it has no recorded state).
   */
  mustRecord(outcome: TargetOutcome, readBack?: ReadBackState): boolean {
    const { key, bucket } = digestKeyOf(outcome.kind, outcome.targetId);
    const state = recordedStateOf(outcome, readBack);
    const changes = this.changesOf(bucket);
    if (state === undefined) {
      changes.set(key, null);
      return true;
    }
    const hash = stateHashOf(state);
    // This run's own earlier entry for the target wins over the loaded one (a target emitted twice).
    const own = changes.get(key);
    if (own !== undefined) {
      if (own !== null && own.slice(0, STATE_CHARS) === hash) {
        this.skippedCount += 1;
        return false;
      }
    } else if (this.trusted) {
      const packed = this.snapshot.buckets.get(bucket)?.packed ?? "";
      const entry = findEntry(packed, key);
      if (entry && entry.value.slice(0, STATE_CHARS) === hash) {
        this.seenOf(bucket, packed)[entry.index] = 1;
        this.skippedCount += 1;
        if (changes.size === 0) this.changes.delete(bucket);
        return false;
      }
    }
    changes.set(key, `${hash}${timeCodeOf(this.runStartedAt)}`);
    return true;
  }

  /** The target's change went elsewhere (a worker records it): its entry is deleted, so its next state is recorded. */
  forget(kind: TargetKind, targetId: string): void {
    const { key, bucket } = digestKeyOf(kind, targetId);
    this.changesOf(bucket).set(key, null);
  }

  /**
   * The entries this run set (targets it recorded with a recorded state), packed and sorted: what a work item's
   * worker hands to its run's finaliser, which `adopt`s them into the tenant's digest.
   */
  entries(): string {
    const entries: string[] = [];
    for (const changes of this.changes.values()) for (const [key, value] of changes) if (value !== null) entries.push(`${key}${value}`);
    return entries.sort().join("");
  }

  /** Sets packed entries (`entries()` of the run's workers) as this run's own, replacing what the digest held for them. */
  adopt(packed: string): void {
    for (let at = 0; at + DIGEST_ENTRY_CHARS <= packed.length; at += DIGEST_ENTRY_CHARS) {
      const key = packed.slice(at, at + KEY_CHARS);
      this.changesOf(bucketOfKey(key)).set(key, packed.slice(at + KEY_CHARS, at + DIGEST_ENTRY_CHARS));
    }
  }

  /** Whether anything must be written back (changes, a rebuild, or a full sweep dropping entries it did not see). */
  bucketWrites(options: { readonly fullSweep: boolean }): DigestBucketWrite[] {
    const writes: DigestBucketWrite[] = [];
    const keepSeenOnly = options.fullSweep || !this.trusted;
    for (let index = 0; index < DIGEST_BUCKETS; index += 1) {
      const stored = this.snapshot.buckets.get(index);
      const changes = this.changes.get(index);
      if (!keepSeenOnly && !changes) continue;
      const packed = stored?.packed ?? "";
      if (!stored && !changes) continue;
      const kept = keepSeenOnly ? (this.seen.get(index) ?? new Uint8Array(0)) : undefined;
      const merged = mergeBucket(this.trusted ? packed : "", changes ?? new Map(), this.trusted ? kept : undefined);
      if (stored && merged === stored.packed) continue;
      if (!stored && merged === "") continue;
      writes.push({ index, packed: merged, ...(stored?.etag !== undefined ? { etag: stored.etag } : {}) });
    }
    return writes;
  }

  private changesOf(bucket: number): Map<string, string | null> {
    let changes = this.changes.get(bucket);
    if (!changes) {
      changes = new Map();
      this.changes.set(bucket, changes);
    }
    return changes;
  }

  private seenOf(bucket: number, packed: string): Uint8Array {
    let seen = this.seen.get(bucket);
    if (!seen) {
      seen = new Uint8Array(Math.floor(packed.length / DIGEST_ENTRY_CHARS));
      this.seen.set(bucket, seen);
    }
    return seen;
  }
}
