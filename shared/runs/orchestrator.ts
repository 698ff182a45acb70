/**
 * Run orchestration (docs/operations.md): start a run (lease + state row + queue message), run it (observe and plan
 * in one stream; mailbox changes applied inline up to a threshold, else fanned out as work items), apply work
 * items, record poisoned items as failures, and finalise exactly once when every item is accounted for (summary,
 * watermarks, alerts, lease release, the log events the infra alert rules read).
 */
import { randomUUID } from "node:crypto";
import { applyMailboxChanges, FULL_SWEEP_WATERMARK, INCREMENTAL_WATERMARK } from "../audit";
import { alertTargetKey, isAlertable } from "../alerts/alert-decision";
import { deliverRunAlerts } from "../alerts/deliver-run-alerts";
import type { DeferredMailboxChange, MailboxChangeSink } from "../audit/ports";
import { tallyOutcome, type FindingKind, type OutcomeError, type OutcomeStatus, type RunSummary, type TargetOutcome } from "../domain/outcome";
import { runEnforcement } from "../enforcement";
import { ensureError } from "../exchange/errors";
import type { Logger } from "../logging";
import type { Runtime } from "../runtime";
import { LeaseHeldError } from "../storage/errors";
import { buildAlertChannels } from "./alert-channels";
import type { RunRecord } from "./run-state-store";
import type { RunsApp } from "./runs-app";
import { packChanges, type ChangesMessage, type RunMessage } from "./work-messages";

/** Another run of the tenant holds the lease. */
export class RunInProgressError extends Error {
  override readonly name = "RunInProgressError";
  constructor(readonly tenantId: string, readonly runningRunId: string) {
    super(`A run of tenant ${tenantId} is in progress: ${runningRunId}`);
  }
}

export interface StartRunRequest {
  readonly tenantId: string;
  readonly mode: RunRecord["mode"];
  readonly full: boolean;
  readonly mailboxes?: readonly string[];
  readonly trigger: RunRecord["trigger"];
}

/** Errors that a target's read, rather than a change, produced: not remediation failures. */
const READ_FAILURE_CODES = new Set(["MailboxNotFound", "InvalidResponse"]);

/** Sortable, readable and unique: `2026-11-25T02:00:00Z-5f3a9c1e`. */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/\.\d{3}Z$/, "Z")}-${randomUUID().slice(0, 8)}`;
}

/**
 * Takes the tenant's lease for a new run, records it as queued and queues its run message. Throws
 * `RunInProgressError` when another run holds the lease. Runs left active by a dead holder are marked abandoned.
 */
export async function startRun(app: RunsApp, request: StartRunRequest, logger: Logger): Promise<RunRecord> {
  const runtime = await app.runtimeFor(request.tenantId);
  const tenantId = runtime.config.tenantId;
  const now = app.now();
  const runId = newRunId(now);
  let lease;
  try {
    lease = await runtime.leases.acquireLease(tenantId, runId, app.config.runs.leaseTtlInMs);
  } catch (error) {
    if (error instanceof LeaseHeldError) throw new RunInProgressError(tenantId, error.holder);
    throw error;
  }
  try {
    for (const stale of await app.runState.listActive(tenantId)) {
      await app.runState.update(tenantId, stale.runId, { status: "abandoned", error: { code: "LeaseExpired", message: `Superseded by ${runId}` } }, stale.etag).catch(() => undefined);
      logger.warn({ event: "run.failed", runId: stale.runId, tenantId, errorCode: "LeaseExpired" }, "run abandoned: its lease expired");
    }
    const record: RunRecord = {
      tenantId,
      runId,
      status: "queued",
      trigger: request.trigger,
      mode: request.mode,
      full: request.full,
      ...(request.mailboxes ? { mailboxes: request.mailboxes } : {}),
      requestedAt: now.toISOString(),
    };
    await app.runState.create(record);
    await app.queue.send({ kind: "run", tenantId, runId });
    logger.info({ event: "run.queued", runId, tenantId, mode: request.mode, trigger: request.trigger }, "run queued");
    return record;
  } catch (error) {
    await runtime.leases.release(lease).catch(() => undefined);
    throw error;
  }
}

/** Renews the run's lease every third of its TTL; `lost` tells whether another run took it over. */
function keepLease(app: RunsApp, runtime: Runtime, runId: string) {
  const ttlInMs = app.config.runs.leaseTtlInMs;
  let lost = false;
  const timer = setInterval(() => {
    runtime.leases.acquireLease(runtime.config.tenantId, runId, ttlInMs).catch((error: unknown) => {
      if (error instanceof LeaseHeldError) lost = true;
    });
  }, Math.max(1_000, ttlInMs / 3));
  timer.unref();
  return { stop: () => clearInterval(timer), lost: () => lost };
}

/** Renews (or takes back) the run's lease; false when another run holds it. */
async function holdLease(app: RunsApp, runtime: Runtime, runId: string): Promise<boolean> {
  try {
    await runtime.leases.acquireLease(runtime.config.tenantId, runId, app.config.runs.leaseTtlInMs);
    return true;
  } catch (error) {
    if (error instanceof LeaseHeldError) return false;
    throw error;
  }
}

/**
 * The sink of one run: keeps changes in memory up to the fan-out threshold; past it, sends everything as work
 * items (and every later page directly). `drainInline` applies what was kept when the threshold was never passed.
 */
class RunChangeSink implements MailboxChangeSink {
  private buffered: DeferredMailboxChange[] = [];
  private fannedOut = false;
  itemCount = 0;

  constructor(
    private readonly app: RunsApp,
    private readonly run: { tenantId: string; runId: string; runStartedAt: string },
  ) {}

  async accept(changes: readonly DeferredMailboxChange[]): Promise<void> {
    this.buffered.push(...changes);
    if (!this.fannedOut && this.buffered.length <= this.app.config.runs.fanOutThreshold) return;
    this.fannedOut = true;
    const items = packChanges(this.buffered);
    this.buffered = [];
    for (const changesOfItem of items) {
      this.itemCount += 1;
      const message: ChangesMessage = { kind: "changes", ...this.run, itemId: String(this.itemCount).padStart(6, "0"), changes: changesOfItem };
      await this.app.queue.send(message);
    }
  }

  /** Applies the changes kept below the threshold, one item at a time, recording each as an item. */
  async drainInline(runtime: Runtime, logger: Logger): Promise<void> {
    const items = packChanges(this.buffered);
    this.buffered = [];
    for (const changes of items) {
      this.itemCount += 1;
      await applyItem(this.app, runtime, { kind: "changes", ...this.run, itemId: `inline-${String(this.itemCount).padStart(6, "0")}`, changes }, logger);
    }
  }
}

/** Handles a `run` message: observe, plan, apply or fan out; finalises when nothing is left outstanding. */
export async function processRunMessage(app: RunsApp, message: RunMessage, logger: Logger): Promise<void> {
  const record = await app.runState.get(message.tenantId, message.runId);
  if (!record || (record.status !== "queued" && record.status !== "running")) {
    logger.info({ runId: message.runId, status: record?.status }, "run message ignored: the run is not waiting to run");
    return;
  }
  const runtime = await app.runtimeFor(record.tenantId);
  if (!(await holdLease(app, runtime, record.runId))) {
    await abandon(app, record, logger);
    return;
  }
  const startedAt = app.now();
  await app.runState.update(record.tenantId, record.runId, { status: "running", startedAt: startedAt.toISOString() });
  const sink = new RunChangeSink(app, { tenantId: record.tenantId, runId: record.runId, runStartedAt: startedAt.toISOString() });
  const lease = keepLease(app, runtime, record.runId);
  try {
    const services = runtime.enforcementServices(logger);
    const result = await runEnforcement(
      { ...services, clock: { now: () => startedAt } },
      {
        runId: record.runId,
        mode: record.mode,
        full: record.full,
        ...(record.mailboxes ? { mailboxes: record.mailboxes } : {}),
        mailboxSink: sink,
      },
    );
    await sink.drainInline(runtime, logger);
    if (lease.lost()) {
      await abandon(app, record, logger);
      return;
    }
    await app.runState.update(record.tenantId, record.runId, {
      status: "dispatched",
      itemCount: sink.itemCount,
      deferredChanges: result.deferredChanges,
      summary: { ...result.summary, startedAt: startedAt.toISOString() },
    });
  } catch (error) {
    await failRun(app, runtime, record, { code: "RunFailed", message: ensureError(error).message }, logger);
    return;
  } finally {
    lease.stop();
  }
  await finaliseIfComplete(app, record.tenantId, record.runId, logger);
}

/** Handles a `changes` work item: applies, verifies and records its changes once, then tries to finalise. */
export async function processChangesMessage(app: RunsApp, message: ChangesMessage, logger: Logger): Promise<void> {
  const record = await app.runState.get(message.tenantId, message.runId);
  if (!record || (record.status !== "running" && record.status !== "dispatched")) {
    logger.warn({ runId: message.runId, itemId: message.itemId, status: record?.status }, "work item ignored: its run is not active");
    return;
  }
  if (await app.runState.hasItem(message.tenantId, message.runId, message.itemId)) return;
  const runtime = await app.runtimeFor(message.tenantId);
  if (!(await holdLease(app, runtime, message.runId))) {
    await abandon(app, record, logger);
    return;
  }
  await applyItem(app, runtime, message, logger);
  await finaliseIfComplete(app, message.tenantId, message.runId, logger);
}

async function applyItem(app: RunsApp, runtime: Runtime, message: ChangesMessage, logger: Logger): Promise<void> {
  const services = runtime.enforcementServices(logger);
  const result = await applyMailboxChanges(
    { transport: services.transport, store: services.store, policy: services.auditPolicy, licences: services.licences, clock: services.clock, logger },
    { tenantId: message.tenantId, runId: message.runId, runStartedAt: message.runStartedAt },
    message.changes,
  );
  await app.runState.recordItem(message.tenantId, message.runId, message.itemId, result);
}

/**
 * Handles a message the queue gave up on (moved to the poison queue after maxDequeueCount): a work item's
 * mailboxes are recorded as failed and the item as done; a run message fails its run. Nothing is dropped.
 */
export async function processPoisonMessage(app: RunsApp, message: RunMessage | ChangesMessage, logger: Logger): Promise<void> {
  const record = await app.runState.get(message.tenantId, message.runId);
  if (!record) {
    logger.error({ runId: message.runId }, "poison message of an unknown run");
    return;
  }
  const runtime = await app.runtimeFor(message.tenantId);
  const error: OutcomeError = { code: "WorkItemPoisoned", message: "The work item failed repeatedly and was moved to the poison queue" };
  if (message.kind === "run") {
    if (record.status === "queued" || record.status === "running") await failRun(app, runtime, record, error, logger);
    return;
  }
  if (await app.runState.hasItem(message.tenantId, message.runId, message.itemId)) return;
  const outcomes = message.changes.map((change): TargetOutcome => ({ ...change.outcome, status: "failed", error }));
  await runtime.store.recordOutcomes(message.tenantId, message.runId, message.runStartedAt, outcomes);
  const counts: Record<OutcomeStatus, number> = { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 };
  const findingCounts: Partial<Record<FindingKind, number>> = {};
  for (const outcome of outcomes) tallyOutcome(counts, findingCounts, outcome);
  await app.runState.recordItem(message.tenantId, message.runId, message.itemId, { counts, findingCounts });
  await finaliseIfComplete(app, message.tenantId, message.runId, logger);
}

async function abandon(app: RunsApp, record: RunRecord, logger: Logger): Promise<void> {
  await app.runState.update(record.tenantId, record.runId, { status: "abandoned", error: { code: "LeaseLost", message: "Another run of the tenant holds the lease" } });
  logger.warn({ event: "run.failed", runId: record.runId, tenantId: record.tenantId, errorCode: "LeaseLost" }, "run abandoned: lease lost");
}

async function failRun(app: RunsApp, runtime: Runtime, record: RunRecord, error: OutcomeError, logger: Logger): Promise<void> {
  await app.runState.update(record.tenantId, record.runId, { status: "failed", error });
  logger.error({ event: "run.failed", runId: record.runId, tenantId: record.tenantId, errorCode: error.code, message: error.message }, "run failed");
  await releaseLease(app, runtime, record.runId);
}

async function releaseLease(app: RunsApp, runtime: Runtime, runId: string): Promise<void> {
  // Acquiring as the same holder returns the lease with its etag, which proves ownership to release.
  try {
    const lease = await runtime.leases.acquireLease(runtime.config.tenantId, runId, app.config.runs.leaseTtlInMs);
    await runtime.leases.release(lease);
  } catch (error) {
    if (!(error instanceof LeaseHeldError)) throw error;
  }
}

/**
 * Finalises the run once it is dispatched and every work item has its completion row; of concurrent callers,
 * the one whose `finalised` claim succeeds does it.
 */
export async function finaliseIfComplete(app: RunsApp, tenantId: string, runId: string, logger: Logger): Promise<void> {
  const record = await app.runState.get(tenantId, runId);
  if (!record || record.status !== "dispatched" || !record.summary) return;
  const items = await app.runState.listItems(tenantId, runId);
  if (items.length < (record.itemCount ?? 0)) return;
  if (!(await app.runState.claimFinalise(tenantId, runId))) return;

  const runtime = await app.runtimeFor(tenantId);
  const base = record.summary;
  const counts = { ...base.counts };
  const findingCounts = { ...base.findingCounts };
  for (const item of items) {
    for (const [status, count] of Object.entries(item.counts)) counts[status as OutcomeStatus] += count;
    for (const [kind, count] of Object.entries(item.findingCounts)) findingCounts[kind as FindingKind] = (findingCounts[kind as FindingKind] ?? 0) + (count ?? 0);
  }
  const finishedAt = app.now();
  let summary: RunSummary = {
    ...base,
    counts,
    findingCounts,
    finishedAt: finishedAt.toISOString(),
    durationInMs: finishedAt.getTime() - Date.parse(base.startedAt),
  };

  // A run that fanned out left the watermarks to this step; they advance only if nothing failed.
  if ((record.deferredChanges ?? 0) > 0 && !summary.error && counts.failed === 0 && summary.mode === "apply" && summary.scope !== "mailboxes") {
    await runtime.store.setWatermark(tenantId, INCREMENTAL_WATERMARK, summary.startedAt);
    if (summary.scope === "full") await runtime.store.setWatermark(tenantId, FULL_SWEEP_WATERMARK, summary.startedAt);
  }

  const outcomes = await alertRelevantOutcomes(app, runtime, tenantId, runId);
  let remediationFailed = 0;
  for (const outcome of outcomes) {
    if (outcome.status !== "failed" || READ_FAILURE_CODES.has(outcome.error?.code ?? "")) continue;
    remediationFailed += 1;
    logger.warn({ event: "remediation.failed", runId, tenantId, target: outcome.targetId, code: outcome.error?.code, message: outcome.error?.message, requestId: outcome.error?.requestId }, "remediation failed");
  }

  const channels = buildAlertChannels(app, runtime);
  if (channels.length > 0) {
    const alerting = await deliverRunAlerts(
      {
        store: app.alertState,
        channels,
        logger,
        ...(app.config.runs.alerts.reportBaseUrl ? { settings: { reportBaseUrl: app.config.runs.alerts.reportBaseUrl } } : {}),
      },
      { summary, outcomes, now: finishedAt.toISOString() },
    );
    if (alerting.alertingFailed && !summary.error) {
      summary = { ...summary, error: { code: "AlertingFailed", message: "An alert could not be delivered or its state stored" } };
    }
  }

  await runtime.store.recordRun(summary);
  const failedRun = summary.error !== undefined;
  await app.runState.update(tenantId, runId, { status: failedRun ? "failed" : "completed", summary, ...(summary.error ? { error: summary.error } : {}) });
  const fields = {
    runId,
    tenantId,
    mode: summary.mode,
    sweep: summary.scope,
    failed: counts.failed,
    remediationFailed,
    targets: Object.values(counts).reduce((sum, count) => sum + count, 0),
    compliant: counts.compliant,
    remediated: counts.remediated,
    drift: counts.drift,
    durationInMs: summary.durationInMs,
  };
  logger.info({ event: "run.completed", ...fields }, "run completed");
  if (summary.error) logger.error({ event: "run.failed", runId, tenantId, errorCode: summary.error.code, message: summary.error.message }, "run failed");
  await releaseLease(app, runtime, runId);
}

/**
 * The run's outcomes that can change an alert: failures and hazards, and targets the alert state knows (they may
 * have recovered). Read back from the store, so a fanned-out run is seen whole without holding every outcome.
 */
async function alertRelevantOutcomes(app: RunsApp, runtime: Runtime, tenantId: string, runId: string): Promise<TargetOutcome[]> {
  const known = new Set<string>();
  for await (const state of app.alertState.list(tenantId)) known.add(state.key);
  const outcomes: TargetOutcome[] = [];
  for await (const outcome of runtime.store.listLatest(tenantId)) {
    if (outcome.runId !== runId) continue;
    if (isAlertable(outcome) || known.has(alertTargetKey(outcome.kind, outcome.targetId))) outcomes.push(outcome);
  }
  return outcomes;
}
