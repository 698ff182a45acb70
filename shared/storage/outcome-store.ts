import type { RunSummary, TargetKind, TargetOutcome } from "../domain/outcome";
import type { RecordedDigestStore } from "./recorded-digest";

/**
 * Port: where runs and per-target outcomes are recorded. The reconciler depends on this interface only;
 * `TableOutcomeStore` implements it over Azure Table Storage.
 */

/** Fields that may have been cut to fit storage limits (see `RecordedOutcome.truncated`). */
export type TruncatableField = "targetId" | "displayName" | "recipientType" | "findings" | "before" | "after" | "error";

/** An outcome as recorded, with the run that produced it. */
export interface RecordedOutcome extends TargetOutcome {
  readonly tenantId: string;
  readonly runId: string;
  readonly runStartedAt: string;
  /**
   * Fields shortened to fit Table Storage limits; empty when the outcome was stored whole. A truncated JSON
   * field still parses: strings end in `…[truncated N chars]`, arrays keep their first items, objects
   * their first keys.
   */
  readonly truncated: readonly TruncatableField[];
  /**
   * Latest state only (`listLatest`): when the target was last verified — the recording run's start, or a later
   * completed full sweep that saw this same state and, unchanged, did not record it again (recorded-digest.ts).
   */
  readonly lastVerifiedAt?: string;
}

export interface Watermark {
  readonly value: string;
  /** Pass back to `setWatermark` to update only if nobody changed it since. */
  readonly etag: string;
}

export interface ListHistoryOptions {
  /** At most this many outcomes, newest first; default 50. */
  readonly limit?: number;
  /** Only outcomes of this kind (a mailbox id can also be a capture mailbox). */
  readonly kind?: TargetKind;
}

export interface ListRunsOptions {
  /** At most this many runs, newest first; default 50. */
  readonly limit?: number;
}

export interface ListRunChangesOptions {
  /** At most this many changes; default 500. */
  readonly limit?: number;
}

export interface OutcomeStore extends RecordedDigestStore {
  /** Records (or re-records, replacing) the summary of a run. */
  recordRun(summary: RunSummary): Promise<void>;
  /**
   * Records the outcomes of one run: each becomes the target's latest state and an entry of its history.
   * Idempotent: recording the same run again replaces the same rows. When `outcomes` holds the same
   * target (kind + id) twice, the last one wins. The latest state is that of the last recorded run.
   */
  recordOutcomes(
    tenantId: string,
    runId: string,
    runStartedAt: string,
    outcomes: readonly TargetOutcome[],
  ): Promise<void>;
  /** Latest recorded state of every target of the tenant. */
  listLatest(tenantId: string): AsyncIterable<RecordedOutcome>;
  /** History of one target, newest run first. */
  listHistory(tenantId: string, targetId: string, options?: ListHistoryOptions): Promise<RecordedOutcome[]>;
  /**
   * The changes one run made: its `remediated` outcomes (a later re-recording of the same target in that run with
   * another status does not remove the change: it was made), by kind, in a stable order (the store's key
   * order), so a bounded listing returns the same changes each time.
   */
  listRunChanges(tenantId: string, runId: string, options?: ListRunChangesOptions): Promise<RecordedOutcome[]>;
  getRun(tenantId: string, runId: string): Promise<RunSummary | undefined>;
  /** Runs newest first (by `startedAt`). */
  listRuns(tenantId: string, options?: ListRunsOptions): Promise<RunSummary[]>;
  getWatermark(tenantId: string, name: string): Promise<Watermark | undefined>;
  /**
   * Sets a watermark and returns its new etag. With `etag`, only if it is unchanged since read; otherwise
   * throws `WatermarkConflictError`. Without `etag`, unconditionally.
   */
  setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<string>;
}
