/**
 * `--out FILE`: every outcome of a run as JSON lines, written as the run records them. A decorator of the run's
 * outcome store: each chunk the recorder hands over (at most a few hundred outcomes) is written to the file, then
 * recorded by the store it wraps, so memory stays bounded whatever the tenant's size, with or without Table Storage.
 * A write that fails fails the recording, which stops the run from sending further changes, as a store failure does.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { RunSummary, TargetOutcome } from "../shared/domain/outcome";
import type { EnforcementServices } from "../shared/enforcement";
import type { DigestBucketWrite, RecordedDigestSnapshot } from "../shared/storage/recorded-digest";
import type { ListHistoryOptions, ListRunChangesOptions, ListRunsOptions, OutcomeStore, RecordedOutcome, Watermark } from "../shared/storage/outcome-store";

/** Where the lines go: one `write` per chunk, awaited (the file's own backpressure). */
export interface LineSink {
  write(text: string): Promise<unknown>;
}

/** One line per outcome: the outcome with its tenant and run, so each line stands on its own. */
export function outcomeLines(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): string {
  return outcomes.map((outcome) => `${JSON.stringify({ tenantId, runId, runStartedAt, ...outcome })}\n`).join("");
}

export class OutcomeLinesStore implements OutcomeStore {
  private written = 0;

  constructor(
    private readonly store: OutcomeStore,
    private readonly sink: LineSink,
  ) {}

  /** Outcomes written so far. */
  get lineCount(): number {
    return this.written;
  }

  async recordOutcomes(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    if (outcomes.length > 0) await this.sink.write(outcomeLines(tenantId, runId, runStartedAt, outcomes));
    this.written += outcomes.length;
    await this.store.recordOutcomes(tenantId, runId, runStartedAt, outcomes);
  }

  /** Outcomes the run verified but did not record again (unchanged since recorded): every outcome has its line. */
  async noteUnchanged(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    if (outcomes.length > 0) await this.sink.write(outcomeLines(tenantId, runId, runStartedAt, outcomes));
    this.written += outcomes.length;
  }

  recordRun(summary: RunSummary): Promise<void> {
    return this.store.recordRun(summary);
  }

  loadRecordedDigest(tenantId: string): Promise<RecordedDigestSnapshot> {
    return this.store.loadRecordedDigest(tenantId);
  }

  openRecordedDigest(tenantId: string, runId: string, headerEtag: string | undefined): Promise<string> {
    return this.store.openRecordedDigest(tenantId, runId, headerEtag);
  }

  commitRecordedDigest(tenantId: string, buckets: readonly DigestBucketWrite[], headerEtag: string | undefined): Promise<void> {
    return this.store.commitRecordedDigest(tenantId, buckets, headerEtag);
  }

  listLatest(tenantId: string): AsyncIterable<RecordedOutcome> {
    return this.store.listLatest(tenantId);
  }

  listHistory(tenantId: string, targetId: string, options?: ListHistoryOptions): Promise<RecordedOutcome[]> {
    return this.store.listHistory(tenantId, targetId, options);
  }

  listRunChanges(tenantId: string, runId: string, options?: ListRunChangesOptions): Promise<RecordedOutcome[]> {
    return this.store.listRunChanges(tenantId, runId, options);
  }

  getRun(tenantId: string, runId: string): Promise<RunSummary | undefined> {
    return this.store.getRun(tenantId, runId);
  }

  listRuns(tenantId: string, options?: ListRunsOptions): Promise<RunSummary[]> {
    return this.store.listRuns(tenantId, options);
  }

  getWatermark(tenantId: string, name: string): Promise<Watermark | undefined> {
    return this.store.getWatermark(tenantId, name);
  }

  setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<string> {
    return this.store.setWatermark(tenantId, name, value, etag);
  }
}

/** A run's services with `--out` wired in: the lines store (when asked), and `close` for after the run. */
export interface OutFileServices {
  readonly services: EnforcementServices;
  readonly lines?: OutcomeLinesStore;
  close(): Promise<void>;
}

/**
 * Opens (creating or truncating) the `--out` file before the run, so a path that cannot be written stops the run
 * before it reads or changes anything; without a path the services are returned as they are.
 */
export async function withOutFile(services: EnforcementServices, path: string | undefined): Promise<OutFileServices> {
  if (path === undefined) return { services, close: () => Promise.resolve() };
  let file: FileHandle;
  try {
    file = await open(path, "w");
  } catch (error) {
    throw new Error(`--out ${path}: cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  const lines = new OutcomeLinesStore(services.store, file);
  return { services: { ...services, store: lines }, lines, close: () => file.close() };
}
