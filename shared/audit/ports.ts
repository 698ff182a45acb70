/**
 * The ports the audit baseline reconciler depends on. Implementations: the Table Storage store
 * (shared/storage/…) satisfies `AuditStore` structurally; the REST transport implements `ExchangeTransport`.
 */
import type { RunSummary, TargetOutcome } from "../domain/outcome";
import type { RecordedDigestStore } from "../storage/recorded-digest";

/** Watermarks, outcomes and run summaries, per tenant. */
export interface AuditStore {
  /** The named watermark and its etag (for optimistic concurrency), or undefined when never set. */
  getWatermark(tenantId: string, name: string): Promise<{ value: string; etag: string } | undefined>;
  /** Sets a watermark; with `etag`, fails if it changed since read (a concurrent run). */
  setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<unknown>;
  /** Appends a chunk of a run's outcomes; called several times per run. */
  recordOutcomes(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void>;
  recordRun(summary: RunSummary): Promise<void>;
  /**
   * The recorded-state digest (both outcome stores): with it, a run records only outcomes whose state differs from
   * the one last recorded. A store without it records every outcome.
   */
  readonly loadRecordedDigest?: RecordedDigestStore["loadRecordedDigest"];
  readonly openRecordedDigest?: RecordedDigestStore["openRecordedDigest"];
  readonly commitRecordedDigest?: RecordedDigestStore["commitRecordedDigest"];
  /** Outcomes verified but not recorded again (unchanged): for decorators that must see every outcome (`--out`, counts). */
  readonly noteUnchanged?: (tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]) => Promise<void>;
}

/**
 * Audit (Premium) licence knowledge by mailbox account object id (ExternalDirectoryObjectId): a map, or a function
 * asked once per page of mailboxes. Ids absent from the answer are treated as not licensed.
 */
export type LicenceSource =
  | ReadonlyMap<string, boolean>
  | ((objectIds: readonly string[]) => Promise<ReadonlyMap<string, boolean>>);

export interface Clock {
  now(): Date;
}

/** The subset of pino's logger the reconciler uses. */
export interface AuditLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface AuditProgress {
  readonly phase: "observe" | "apply" | "verify" | "record";
  readonly targetsSeen: number;
  readonly changesSent: number;
}
