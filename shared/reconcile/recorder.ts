/**
 * Record: every outcome of a run goes through one recorder, which tallies it (the run's counts), keeps a bounded
 * sample (non-compliant first, the organisation always) and hands outcomes to the store in chunks, one chunk set in
 * flight while the run goes on (Table writes stay off the Exchange critical path, memory stays bounded).
 *
 * A failure to record halts the run: `halted` turns true, and the apply phase (which checkpoints before each round of
 * changes) sends no further change — a change without a record is a change nobody can prove — while the run still
 * ends with its summary.
 */
import { emptyCounts, tallyOutcome, type FindingKind, type OutcomeError, type OutcomeStatus, type TargetOutcome } from "../domain/outcome";
import { ensureError } from "../exchange/errors";
import type { AuditLogger, AuditStore } from "../audit/ports";

/** Outcomes recorded per store call: big enough that history rows share Table transactions. */
const OUTCOME_CHUNK_SIZE = 500;
const DEFAULT_SAMPLE_SIZE = 100;
/** Checkpoints in a row without a store answer before one proves the store still answers (probe). */
export const CHECKPOINTS_PER_PROBE = 5;

export interface RecorderOptions {
  readonly store: Pick<AuditStore, "recordOutcomes">;
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
  readonly sample: TargetOutcome[] = [];
  private produced = 0;
  private readonly buffer: TargetOutcome[] = [];
  private recording: Promise<void> = Promise.resolve();
  private failure: OutcomeError | undefined;
  /** Checkpoints since the store last answered. */
  private unanswered = 0;

  constructor(private readonly options: RecorderOptions) {}

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

  emit(outcome: TargetOutcome): void {
    tallyOutcome(this.counts, this.findingCounts, outcome);
    this.produced += 1;
    this.keepSample(outcome);
    this.buffer.push(outcome);
  }

  /** Hands the buffered outcomes to the store without waiting for them (after waiting for the previous hand-over). */
  async flush(): Promise<void> {
    await this.recording;
    const outcomes = this.buffer.splice(0);
    this.recording = this.record(outcomes);
  }

  /**
   * Everything emitted so far recorded (or the failure noted): the apply phase calls this before each round of
   * changes, so no change is sent while an earlier outcome has no record. When rounds produce nothing to record,
   * every `CHECKPOINTS_PER_PROBE`-th checkpoint probes the store, so a store that is gone stops the run within a
   * few rounds.
   */
  async checkpoint(): Promise<OutcomeError | undefined> {
    await this.drain();
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

  private async record(outcomes: readonly TargetOutcome[]): Promise<void> {
    const { store, tenantId, runId, runStartedAt } = this.options;
    // After a failure nothing more is tried: the run is ending, and each attempt would wait out the SDK's retries.
    for (let index = 0; index < outcomes.length && !this.failure; index += OUTCOME_CHUNK_SIZE) {
      try {
        await store.recordOutcomes(tenantId, runId, runStartedAt, outcomes.slice(index, index + OUTCOME_CHUNK_SIZE));
        this.unanswered = 0;
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
