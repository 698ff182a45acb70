/**
 * An `OutcomeStore` held in memory, for the CLI when no Table Storage is configured: an administrator can `plan`
 * (or `apply`) against a real tenant before deploying anything. Nothing outlives the process, so every such run
 * is a full sweep and its evidence is what the command prints (`--out FILE` for every outcome).
 *
 * `retain: "run"` (the CLI's): runs and watermarks only — not every target's latest state, history or changes, which
 * a 100,000-mailbox run would hold all at once (its outcomes are what the command prints and `--out` writes; the
 * audit-log evidence lists the changes of earlier runs, and a one-run process has none), and no recorded-state
 * digest (there is no later run in the process for it to spare writes to). `"all"` (default) keeps
 * everything and answers as the Table store does.
 */
import type { RunSummary, TargetOutcome } from "../domain/outcome";
import { WatermarkConflictError } from "./errors";
import { lastVerifiedAt, type DigestBucketWrite, type RecordedDigestSnapshot } from "./recorded-digest";
import { FULL_SWEEP_WATERMARK } from "./watermark-names";
import type { ListHistoryOptions, ListRunChangesOptions, ListRunsOptions, OutcomeStore, RecordedOutcome, Watermark } from "./outcome-store";

const DEFAULT_LIMIT = 50;
const DEFAULT_CHANGES_LIMIT = 500;

export class MemoryOutcomeStore implements OutcomeStore {
  private readonly runs = new Map<string, RunSummary>();
  private readonly latest = new Map<string, RecordedOutcome>();
  /** History by tenant and target, then by run and kind: recording an outcome costs the same however many are held. */
  private readonly history = new Map<string, Map<string, RecordedOutcome>>();
  private readonly watermarks = new Map<string, Watermark>();
  /** Remediated outcomes by tenant and run, then by kind and target (the changes each run made). */
  private readonly changes = new Map<string, Map<string, RecordedOutcome>>();
  private version = 0;
  /** The recorded-state digest by tenant: its buckets and the run that holds it open. */
  private readonly digests = new Map<string, { buckets: Map<number, { packed: string; etag: string }>; openedBy: string; etag: string }>();
  private readonly retainAll: boolean;

  constructor(options: { readonly retain?: "all" | "run" } = {}) {
    this.retainAll = (options.retain ?? "all") === "all";
  }

  recordRun(summary: RunSummary): Promise<void> {
    this.runs.set(`${summary.tenantId}|${summary.runId}`, summary);
    return Promise.resolve();
  }

  recordOutcomes(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    if (!this.retainAll) return Promise.resolve();
    for (const outcome of outcomes) {
      const recorded: RecordedOutcome = { ...outcome, tenantId, runId, runStartedAt, truncated: [] };
      this.keepLatest(tenantId, runId, recorded);
      if (outcome.status === "remediated") {
        const runKey = `${tenantId}|${runId}`;
        const changes = this.changes.get(runKey) ?? new Map<string, RecordedOutcome>();
        changes.set(`${outcome.kind}|${outcome.targetId}`, recorded);
        this.changes.set(runKey, changes);
      }
    }
    return Promise.resolve();
  }

  /** The outcome as its target's latest state and an entry of its history. */
  private keepLatest(tenantId: string, runId: string, recorded: RecordedOutcome): void {
    this.latest.set(`${tenantId}|${recorded.kind}|${recorded.targetId}`, recorded);
    const targetKey = `${tenantId}|${recorded.targetId}`;
    const entries = this.history.get(targetKey) ?? new Map<string, RecordedOutcome>();
    entries.set(`${runId}|${recorded.kind}`, recorded);
    this.history.set(targetKey, entries);
  }

  async *listLatest(tenantId: string): AsyncIterable<RecordedOutcome> {
    const digest = await this.loadRecordedDigest(tenantId);
    const fullSweep = this.watermarks.get(`${tenantId}|${FULL_SWEEP_WATERMARK}`)?.value || undefined;
    for (const outcome of [...this.latest.values()]) {
      if (outcome.tenantId === tenantId) yield await Promise.resolve({ ...outcome, lastVerifiedAt: lastVerifiedAt(digest, fullSweep, outcome) });
    }
  }

  loadRecordedDigest(tenantId: string): Promise<RecordedDigestSnapshot> {
    if (!this.retainAll) return Promise.resolve({ buckets: new Map(), kept: false });
    const digest = this.digests.get(tenantId);
    if (!digest) return Promise.resolve({ buckets: new Map() });
    return Promise.resolve({
      buckets: new Map(digest.buckets),
      ...(digest.openedBy !== "" ? { openedBy: digest.openedBy } : {}),
      headerEtag: digest.etag,
    });
  }

  openRecordedDigest(tenantId: string, runId: string, headerEtag: string | undefined): Promise<string> {
    const digest = this.digests.get(tenantId);
    // Without an etag (no header yet, or a digest that could not be read) unconditionally: the lease keeps runs apart.
    if (headerEtag !== undefined && digest?.etag !== headerEtag) return Promise.reject(new WatermarkConflictError(tenantId, "recorded-digest"));
    const etag = this.nextEtag();
    this.digests.set(tenantId, { buckets: digest?.buckets ?? new Map<number, { packed: string; etag: string }>(), openedBy: runId, etag });
    return Promise.resolve(etag);
  }

  commitRecordedDigest(tenantId: string, buckets: readonly DigestBucketWrite[], headerEtag: string | undefined): Promise<void> {
    const digest = this.digests.get(tenantId) ?? { buckets: new Map<number, { packed: string; etag: string }>(), openedBy: "", etag: "" };
    // All or nothing, as one transaction would be.
    const conflict = digest.etag !== (headerEtag ?? digest.etag) || buckets.some((bucket) => digest.buckets.get(bucket.index)?.etag !== bucket.etag);
    if (conflict) return Promise.reject(new WatermarkConflictError(tenantId, "recorded-digest"));
    for (const bucket of buckets) digest.buckets.set(bucket.index, { packed: bucket.packed, etag: this.nextEtag() });
    this.digests.set(tenantId, { buckets: digest.buckets, openedBy: "", etag: this.nextEtag() });
    return Promise.resolve();
  }

  private nextEtag(): string {
    this.version += 1;
    return String(this.version);
  }

  listHistory(tenantId: string, targetId: string, options: ListHistoryOptions = {}): Promise<RecordedOutcome[]> {
    const entries = [...(this.history.get(`${tenantId}|${targetId}`)?.values() ?? [])]
      .filter((entry) => options.kind === undefined || entry.kind === options.kind)
      .sort((a, b) => b.runStartedAt.localeCompare(a.runStartedAt));
    return Promise.resolve(entries.slice(0, options.limit ?? DEFAULT_LIMIT));
  }

  listRunChanges(tenantId: string, runId: string, options: ListRunChangesOptions = {}): Promise<RecordedOutcome[]> {
    const changes = [...(this.changes.get(`${tenantId}|${runId}`)?.entries() ?? [])]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, outcome]) => outcome);
    return Promise.resolve(changes.slice(0, options.limit ?? DEFAULT_CHANGES_LIMIT));
  }

  getRun(tenantId: string, runId: string): Promise<RunSummary | undefined> {
    return Promise.resolve(this.runs.get(`${tenantId}|${runId}`));
  }

  listRuns(tenantId: string, options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const runs = [...this.runs.values()].filter((run) => run.tenantId === tenantId).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return Promise.resolve(runs.slice(0, options.limit ?? DEFAULT_LIMIT));
  }

  getWatermark(tenantId: string, name: string): Promise<Watermark | undefined> {
    return Promise.resolve(this.watermarks.get(`${tenantId}|${name}`));
  }

  setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<string> {
    const key = `${tenantId}|${name}`;
    if (etag !== undefined && this.watermarks.get(key)?.etag !== etag) {
      return Promise.reject(new WatermarkConflictError(tenantId, name));
    }
    this.version += 1;
    const next = { value, etag: String(this.version) };
    this.watermarks.set(key, next);
    return Promise.resolve(next.etag);
  }
}
