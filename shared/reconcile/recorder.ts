/**
 * Record: every outcome of a run goes through one recorder, which tallies it (the run's counts), keeps a bounded
 * sample (non-compliant first, the organisation always) and hands outcomes to the store in chunks, one chunk set in
 * flight while the run goes on (Table writes stay off the Exchange critical path, memory stays bounded).
 *
 * A failure to record halts the run: `halted` turns true, and the apply phase (which checkpoints before each round of
 * changes, two hand-overs behind the recording) sends no further change — a change without a record is a change nobody
 * can prove — while the run still ends with its summary.
 *
 * With a recorded-state digest (shared/storage/recorded-digest.ts) an outcome whose state is exactly the one last
 * recorded for its target is counted and sampled as any other, but not written again (the store's `noteUnchanged`
 * sees it). Before the first write the digest is marked open; `commitDigest`, after every outcome is recorded,
 * writes back the changed buckets and closes it. A run that fails to record never commits: the digest stays open,
 * and the next run trusts none of it.
 */
import { emptyCounts, tallyOutcome, type FindingKind, type OutcomeError, type OutcomeStatus, type TargetKind, type TargetOutcome } from "../domain/outcome";
import { ensureError } from "../exchange/errors";
import type { AuditLogger, AuditStore } from "../audit/ports";
import { ORGANIZATION_TARGET_ID } from "../audit/plan";
import type { ReadBackState } from "../domain/recorded-state";
import type { RunDigest } from "../storage/recorded-digest";

/** Outcomes recorded per store call: big enough that history rows share Table transactions. */
const OUTCOME_CHUNK_SIZE = 500;
const DEFAULT_SAMPLE_SIZE = 100;
/** Checkpoints in a row without a store answer before one proves the store still answers (probe). */
export const CHECKPOINTS_PER_PROBE = 5;

export interface RecorderOptions {
  readonly store: Pick<AuditStore, "recordOutcomes" | "noteUnchanged" | "openRecordedDigest" | "commitRecordedDigest">;
  /** The run's view of the recorded-state digest; without it every outcome is recorded. */
  readonly digest?: RunDigest;
  readonly tenantId: string;
  readonly runId: string;
  /** Keys the outcomes with the run's other outcomes (a work item records under its run's start). */
  readonly runStartedAt: string;
  readonly sampleSize?: number;
  readonly logger?: AuditLogger;
  /** A cheap call that fails when the store is gone (a checkpoint with nothing to record makes it). */
  readonly probe?: () => Promise<unknown>;
}

export class RunRecorder {
  readonly counts: Record<OutcomeStatus, number> = emptyCounts();
  readonly findingCounts: Partial<Record<FindingKind, number>> = {};
  /** Outcomes emitted per target kind (recorded or unchanged alike). */
  readonly kindCounts: Partial<Record<TargetKind, number>> = {};
  /** The organisation's outcome, once emitted. */
  organization: TargetOutcome | undefined;
  readonly sample: TargetOutcome[] = [];
  private produced = 0;
  private readonly buffer: TargetOutcome[] = [];
  /** Outcomes found unchanged since recorded, awaiting `noteUnchanged`. */
  private readonly unchanged: TargetOutcome[] = [];
  /** The digest header's etag once this run opened it. */
  private openedEtag: string | undefined;
  private opened = false;
  private opening: Promise<void> | undefined;
  /** The last hand-over's recording (chained after every earlier one), and the one before it. */
  private recording: Promise<void> = Promise.resolve();
  private previous: Promise<void> = Promise.resolve();
  private failure: OutcomeError | undefined;
  /** Checkpoints since the store last answered. */
  private unanswered = 0;

  private digest: RunDigest | undefined;
  /** A work item's digest: it collects entries for the run's finaliser and never opens or commits the tenant's. */
  private collectOnly = false;

  constructor(private readonly options: RecorderOptions) {
    this.digest = options.digest;
  }

  /**
   * Compares outcomes with the recorded-state digest from now on (call before the first `emit`). `collectOnly`: a
   * work item's worker, whose entries (`digestEntries`) its run's finaliser adopts; the tenant's digest is neither
   * opened nor committed by it.
   */
  useDigest(digest: RunDigest, options: { readonly collectOnly?: boolean } = {}): void {
    this.digest = digest;
    this.collectOnly = options.collectOnly ?? false;
  }

  /** The digest entries of what this recorder recorded (for a collect-only digest: the worker's hand-in). */
  get digestEntries(): string | undefined {
    return this.digest?.entries();
  }

  /** The first failure to record, if any: from then on nothing more should be changed. */
  get recordFailure(): OutcomeError | undefined {
    return this.failure;
  }

  get halted(): boolean {
    return this.failure !== undefined;
  }

  /** Whether the run produced more outcomes than the sample holds. */
  get truncated(): boolean {
    return this.produced > this.sample.length;
  }

  /** Outcomes not recorded again because the digest held their state. */
  get unchangedCount(): number {
    return this.digest?.skipped ?? 0;
  }

  /**
   * One outcome of the run. `readBack`: for an outcome decided by a read-back after a change, the findings that read
   * gives (the state the next run will see), so the digest matches it. Returns false when the digest held exactly
   * this state (the target is unchanged since recorded, and is not written again).
   */
  emit(outcome: TargetOutcome, readBack?: ReadBackState): boolean {
    tallyOutcome(this.counts, this.findingCounts, outcome);
    this.kindCounts[outcome.kind] = (this.kindCounts[outcome.kind] ?? 0) + 1;
    if (outcome.kind === "organization" && outcome.targetId === ORGANIZATION_TARGET_ID) this.organization = outcome;
    this.produced += 1;
    this.keepSample(outcome);
    if (this.digest && !this.digest.mustRecord(outcome, readBack)) {
      this.unchanged.push(outcome);
      return false;
    }
    this.buffer.push(outcome);
    return true;
  }

  /**
   * Targets whose changes are handed to workers, which record them under the run: their digest entries are
   * deleted (their next state is recorded), and the digest is opened first. False when it could not be opened (the
   * run is halted: nothing may be handed over).
   */
  async handOver(targets: readonly { readonly kind: TargetKind; readonly targetId: string }[]): Promise<boolean> {
    const digest = this.digest;
    if (!digest || targets.length === 0) return !this.failure;
    for (const target of targets) digest.forget(target.kind, target.targetId);
    await this.ensureOpen();
    return !this.failure;
  }

  /**
   * Hands the buffered outcomes to the store without waiting for them: they are recorded after the hand-over in
   * flight (in order, so a target's later outcome is never overwritten by an earlier one), and the call waits only
   * for the one before that. Two hand-overs in flight keep recording off the run's critical path while memory stays
   * bounded (at most two hand-overs of outcomes held).
   */
  async flush(): Promise<void> {
    await this.previous;
    const outcomes = this.buffer.splice(0);
    const unchanged = this.unchanged.splice(0);
    this.previous = this.recording;
    this.recording = this.recording.then(() => this.record(outcomes, unchanged));
  }

  /**
   * After the run's last outcome is recorded: writes back the digest's changed buckets and closes it. `fullSweep`:
   * the run saw every target (a full sweep without a run error), so entries it did not see are dropped. Nothing is
   * written after a recording failure. Never throws: a digest not committed stays open (the next run rebuilds it).
   * Returns whether the digest is now closed and current.
   */
  async commitDigest(options: { readonly fullSweep: boolean }): Promise<boolean> {
    const { store, tenantId, runId, logger } = this.options;
    const digest = this.digest;
    if (!digest || this.collectOnly || !store.commitRecordedDigest) return false;
    await this.drain();
    if (this.failure) return false;
    const writes = digest.bucketWrites(options);
    if (writes.length === 0 && !this.opened && digest.trusted) return true;
    try {
      if (!this.opened) {
        this.opening ??= this.open();
        await this.opening;
      }
      await store.commitRecordedDigest(tenantId, writes, this.openedEtag);
      return true;
    } catch (error) {
      logger?.warn({ tenantId, runId, err: ensureError(error) }, "recorded-state digest not written: the next run records everything it sees");
      return false;
    }
  }

  /**
   * The apply phase calls this before each round of changes: what was emitted since the last hand-over goes to the
   * store while this round's changes go out, and everything handed over before the last one is recorded (or the
   * failure noted). So recording overlaps Exchange's time, and no change is sent while an outcome older than the
   * last two hand-overs (rounds or pages) has no record. When rounds produce nothing to record, every
   * `CHECKPOINTS_PER_PROBE`-th checkpoint probes the store, so a store that is gone stops the run within a few rounds.
   */
  async checkpoint(): Promise<OutcomeError | undefined> {
    await this.flush();
    this.unanswered += 1;
    if (!this.failure && this.options.probe && this.unanswered >= CHECKPOINTS_PER_PROBE) {
      try {
        await this.options.probe();
        this.unanswered = 0;
      } catch (error) {
        this.fail(error);
      }
    }
    return this.failure;
  }

  /** Every outcome recorded, or the failure noted. */
  async drain(): Promise<void> {
    await this.flush();
    await this.recording;
  }

  private keepSample(outcome: TargetOutcome): void {
    if (this.sample.length < (this.options.sampleSize ?? DEFAULT_SAMPLE_SIZE)) {
      this.sample.push(outcome);
      return;
    }
    if (outcome.status === "compliant") return;
    // The organisation stays: it names the tenant in what the run prints.
    const compliantIndex = this.sample.findIndex((kept) => kept.status === "compliant" && kept.kind !== "organization");
    if (compliantIndex >= 0) this.sample.splice(compliantIndex, 1, outcome);
  }

  private async open(): Promise<void> {
    const { store, tenantId, runId } = this.options;
    const digest = this.digest;
    if (!digest || !store.openRecordedDigest) return;
    this.openedEtag = await store.openRecordedDigest(tenantId, runId, digest.headerEtag);
    this.opened = true;
  }

  /** The digest open before anything it may contradict is written (a failure halts the run). */
  private async ensureOpen(): Promise<void> {
    if (!this.digest || this.collectOnly) return;
    this.opening ??= this.open().catch((error: unknown) => this.fail(error));
    await this.opening;
  }

  private async record(outcomes: readonly TargetOutcome[], unchanged: readonly TargetOutcome[] = []): Promise<void> {
    const { store, tenantId, runId, runStartedAt } = this.options;
    if (outcomes.length > 0) await this.ensureOpen();
    // After a failure nothing more is tried: the run is ending, and each attempt would wait out the SDK's retries.
    for (let index = 0; index < outcomes.length && !this.failure; index += OUTCOME_CHUNK_SIZE) {
      try {
        await store.recordOutcomes(tenantId, runId, runStartedAt, outcomes.slice(index, index + OUTCOME_CHUNK_SIZE));
        this.unanswered = 0;
      } catch (error) {
        this.fail(error);
      }
    }
    if (unchanged.length > 0 && store.noteUnchanged && !this.failure) {
      try {
        await store.noteUnchanged(tenantId, runId, runStartedAt, unchanged);
      } catch (error) {
        this.fail(error);
      }
    }
  }

  private fail(error: unknown): void {
    const { tenantId, runId, logger } = this.options;
    this.failure ??= { code: "RecordFailed", message: `Outcomes could not be recorded: ${ensureError(error).message}` };
    logger?.error({ tenantId, runId, err: ensureError(error) }, "outcomes not recorded: no further change is sent");
  }
}
