/**
 * The end of the record phase: the only place a run summary is written and the only place watermarks move. Called
 * once per run — by `runEnforcement` when the run did all its work itself, by the orchestrator's finaliser when the
 * run handed work items over and the last of them is done.
 */
import type { RunSummary } from "../domain/outcome";
import type { AuditLogger, AuditStore } from "../audit/ports";
import { ensureError } from "../exchange/errors";
import { RunDigest } from "../storage/recorded-digest";

import { FULL_SWEEP_WATERMARK, INCREMENTAL_WATERMARK } from "../storage/watermark-names";

export { FULL_SWEEP_WATERMARK, INCREMENTAL_WATERMARK };

/**
 * The watermarks as the run read them (their etags guard against a concurrent run moving them), and whether the audit
 * baseline's part of the run lets them advance (`watermarksMayAdvance` on the audit counts alone: a capture failure
 * must not hold back the mailbox watermark).
 */
export interface WatermarkState {
  readonly incrementalEtag?: string;
  readonly fullSweepEtag?: string;
  readonly mayAdvance: boolean;
}

export interface FinishedRun {
  readonly summary: RunSummary;
  /** False when the summary could not be recorded (the summary then carries a `RecordFailed` error). */
  readonly recorded: boolean;
}

/**
 * Records the summary, then (when the audit part allows it) moves the watermarks to the run's start.
 * Never throws for storage: a summary that cannot be recorded comes back with `recorded: false` and the error.
 */
export async function finishRun(
  store: Pick<AuditStore, "recordRun" | "setWatermark">,
  summary: RunSummary,
  watermarks: WatermarkState,
  logger?: AuditLogger,
): Promise<FinishedRun> {
  try {
    await store.recordRun(summary);
  } catch (error) {
    logger?.error({ tenantId: summary.tenantId, runId: summary.runId, err: ensureError(error) }, "run summary not recorded");
    return { summary: { ...summary, error: summary.error ?? { code: "RecordFailed", message: `The run could not be recorded: ${ensureError(error).message}` } }, recorded: false };
  }
  if (watermarks.mayAdvance) {
    try {
      await store.setWatermark(summary.tenantId, INCREMENTAL_WATERMARK, summary.startedAt, watermarks.incrementalEtag);
      if (summary.scope === "full") await store.setWatermark(summary.tenantId, FULL_SWEEP_WATERMARK, summary.startedAt, watermarks.fullSweepEtag);
    } catch (error) {
      // A concurrent run moved it; the next run starts from whichever watermark won, which is safe.
      logger?.warn({ tenantId: summary.tenantId, runId: summary.runId, err: ensureError(error) }, "watermark not advanced");
    }
  }
  return { summary, recorded: true };
}

/**
 * A fanned-out run's finaliser: the recorded-state digest entries its workers handed in (`MailboxTargetsResult
 * .digestEntries`), adopted into the tenant's digest — the run deleted those targets' entries when it handed them
 * out — so the night after records none of them again. Only into a closed digest (an open one is rebuilt by the
 * next run anyway), opened and closed around the write like any run's. Never throws: entries not adopted cost the
 * next run a re-record of those targets, nothing more.
 */
export async function adoptWorkerDigest(
  store: Pick<AuditStore, "loadRecordedDigest" | "openRecordedDigest" | "commitRecordedDigest">,
  run: { readonly tenantId: string; readonly runId: string; readonly runStartedAt: string },
  entries: readonly string[],
  logger?: AuditLogger,
): Promise<void> {
  const packed = entries.join("");
  if (packed === "" || !store.loadRecordedDigest || !store.openRecordedDigest || !store.commitRecordedDigest) return;
  const { tenantId, runId } = run;
  try {
    const snapshot = await store.loadRecordedDigest(tenantId);
    if (snapshot.kept === false || snapshot.openedBy !== undefined) return;
    const digest = new RunDigest(snapshot, run.runStartedAt);
    digest.adopt(packed);
    const writes = digest.bucketWrites({ fullSweep: false });
    if (writes.length === 0) return;
    const etag = await store.openRecordedDigest(tenantId, runId, snapshot.headerEtag);
    await store.commitRecordedDigest(tenantId, writes, etag);
  } catch (error) {
    logger?.warn({ tenantId, runId, err: ensureError(error) }, "workers' recorded-state digest entries not adopted: the next run records those targets again");
  }
}
