/**
 * Run orchestration (docs/operations.md): start a run (lease + state row + queue message), run it (observe and plan
 * in one stream; mailbox changes applied by the run itself up to a threshold, else handed out as work items that
 * name their targets only), reconcile work items (re-read, plan, apply, verify, record), record poisoned and
 * rejected items, and finalise exactly once when every dispatched item is done (summary, watermarks, alerts, lease
 * release, the log events the infra alert rules read).
 */
import { alertTargetKey, isAlertable } from "../alerts/alert-decision";
import { renderAlertReport } from "../alerts/alert-report";
import { deliverRunAlerts } from "../alerts/deliver-run-alerts";
import { emptyCounts, mergeCounts, tallyOutcome, watermarksMayAdvance, type FindingKind, type OutcomeError, type RunSummary, type TargetOutcome } from "../domain/outcome";
import { runEnforcement } from "../enforcement";
import { ensureError } from "../exchange/errors";
import type { Logger } from "../logging";
import { adoptWorkerDigest, finishRun } from "../reconcile/finish";
import { reconcileMailboxTargets } from "../reconcile/reconcile";
import type { Runtime } from "../runtime";
import { LeaseHeldError } from "../storage/errors";
import { buildAlertChannels } from "./alert-channels";
import { changeLimitOutcomes } from "./change-limit-alert";
import { FanOutSink } from "./fan-out";
import { keepLease, newRunId, releaseLease, renewLease } from "./lease";
import type { RunRecord } from "./run-state-store";
import type { RunsApp } from "./runs-app";
import { parseWorkMessage, policyFingerprint, WorkMessageRejected, type ChangesMessage, type RunMessage, type WorkMessage } from "./work-messages";

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
  /** Most targets the run may change; undefined = unlimited. */
  readonly changeLimit?: number;
  readonly trigger: RunRecord["trigger"];
  /** Who asked for an on-demand run. */
  readonly requestedBy?: string;
}

/** Errors that a target's read, rather than a change, produced: not remediation failures. */
const READ_FAILURE_CODES = new Set(["MailboxNotFound", "InvalidResponse"]);


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
      ...(request.requestedBy !== undefined ? { requestedBy: request.requestedBy } : {}),
      mode: request.mode,
      full: request.full,
      ...(request.mailboxes ? { mailboxes: request.mailboxes } : {}),
      ...(request.changeLimit !== undefined ? { changeLimit: request.changeLimit } : {}),
      requestedAt: now.toISOString(),
    };
    await app.runState.create(record);
    await app.queue.send({ kind: "run", tenantId, runId });
    logger.info({ event: "run.queued", runId, tenantId, mode: request.mode, changeLimit: request.changeLimit, trigger: request.trigger }, "run queued");
    return record;
  } catch (error) {
    await runtime.leases.release(lease).catch(() => undefined);
    throw error;
  }
}

/**
 * Handles a `run` message: observe, plan, apply or hand out; finalises when nothing is left outstanding. A
 * redelivered run message (the worker died) starts again from its first attempt's start: items it had registered
 * are sent again (a worker ignores what is already done), and its own items get the same ids.
 */
export async function processRunMessage(app: RunsApp, message: RunMessage, logger: Logger): Promise<void> {
  const record = await app.runState.get(message.tenantId, message.runId);
  if (!record || (record.status !== "queued" && record.status !== "running")) {
    await reject(app, message, record ? `the run is ${record.status}, not waiting to run` : "unknown run", logger);
    return;
  }
  const runtime = await app.runtimeFor(record.tenantId);
  const leases = runtime.leases;
  const ttl = app.config.runs.leaseTtlInMs;
  if (!(await renewLease(leases, runtime.config.tenantId, record.runId, ttl))) {
    await abandon(app, record, logger);
    return;
  }
  const startedAt = record.startedAt ? new Date(record.startedAt) : app.now();
  await app.runState.update(record.tenantId, record.runId, { status: "running", startedAt: startedAt.toISOString() });
  const services = runtime.enforcementServices(logger);
  const policy = policyFingerprint(services.auditPolicy);
  for (const item of await app.runState.pendingItems(record.tenantId, record.runId)) {
    await app.queue.send({ kind: "changes", tenantId: record.tenantId, runId: record.runId, itemId: item.itemId, targetIds: item.targetIds, policy });
  }
  const sink = new FanOutSink({ runState: app.runState, queue: app.queue, tenantId: record.tenantId, runId: record.runId, policy, threshold: app.config.runs.fanOutThreshold });
  const lease = keepLease(leases, runtime.config.tenantId, record.runId, ttl);
  try {
    const result = await runEnforcement(
      { ...services, clock: { now: () => startedAt } },
      {
        runId: record.runId,
        mode: record.mode,
        full: record.full,
        ...(record.mailboxes ? { mailboxes: record.mailboxes } : {}),
        ...(record.changeLimit !== undefined ? { changeLimit: record.changeLimit } : {}),
        trigger: { kind: record.trigger, ...(record.requestedBy !== undefined ? { by: record.requestedBy } : {}) },
        sink,
        finish: false,
      },
    );
    if (lease.lost()) {
      await abandon(app, record, logger);
      return;
    }
    await app.runState.update(record.tenantId, record.runId, {
      status: "dispatched",
      deferredChanges: result.deferredChanges,
      summary: { ...result.summary, startedAt: startedAt.toISOString() },
      watermarks: result.watermarks,
    });
  } catch (error) {
    await failRun(app, runtime, record, { code: "RunFailed", message: ensureError(error).message }, logger);
    return;
  } finally {
    lease.stop();
  }
  await finaliseIfComplete(app, record.tenantId, record.runId, logger);
}

/**
 * Handles a `changes` work item. It is acted on only when its run is active, the run dispatched exactly this item
 * (same id, same targets) and it is not done yet; then its targets are re-read and reconciled by the same pipeline as
 * the run's own, with this worker's policy. Anything else is recorded as rejected and changes nothing.
 */
export async function processChangesMessage(app: RunsApp, message: ChangesMessage, logger: Logger): Promise<void> {
  const record = await app.runState.get(message.tenantId, message.runId);
  if (!record || (record.status !== "running" && record.status !== "dispatched")) {
    await reject(app, message, record ? `its run is ${record.status}` : "unknown run", logger);
    return;
  }
  const registered = await app.runState.registeredItem(message.tenantId, message.runId, message.itemId);
  if (!registered || !sameTargets(registered, message.targetIds)) {
    await reject(app, message, "the run did not dispatch this item", logger);
    return;
  }
  if (await app.runState.hasItem(message.tenantId, message.runId, message.itemId)) return;
  const runtime = await app.runtimeFor(message.tenantId);
  const services = runtime.enforcementServices(logger);
  const runStartedAt = record.startedAt ?? record.requestedAt;
  if (message.policy !== policyFingerprint(services.auditPolicy)) {
    // Planned under another policy (a deployment changed it mid-run): its targets fail and are retried next run.
    await completeAsFailed(app, runtime, message, runStartedAt, { code: "PolicyChanged", message: "The policy changed while the run was in progress; retried next run" });
    await finaliseIfComplete(app, message.tenantId, message.runId, logger);
    return;
  }
  if (!(await renewLease(runtime.leases, runtime.config.tenantId, message.runId, app.config.runs.leaseTtlInMs))) {
    await abandon(app, record, logger);
    return;
  }
  const result = await reconcileMailboxTargets(
    { transport: services.transport, store: services.store, policy: services.auditPolicy, licences: services.licences, clock: services.clock, logger },
    { tenantId: message.tenantId, runId: message.runId, runStartedAt },
    registered,
  );
  // Outcomes that could not be recorded: the item is not done; the queue delivers it again.
  if (result.recordFailure) throw new Error(result.recordFailure.message);
  await app.runState.recordItem(message.tenantId, message.runId, message.itemId, result);
  await finaliseIfComplete(app, message.tenantId, message.runId, logger);
}

/**
 * Handles whatever the queue delivered: a work message is dispatched to its handler; anything that is not one of
 * ours is recorded as rejected and dropped (a throw would only make the queue deliver it again).
 */
export async function handleWorkMessage(app: RunsApp, value: unknown, logger: Logger): Promise<void> {
  const message = await parseOrReject(app, value, "", logger);
  if (!message) return;
  if (!app.tenant(message.tenantId)) {
    await reject(app, message, "the tenant is not configured", logger);
    return;
  }
  if (message.kind === "run") await processRunMessage(app, message, logger);
  else await processChangesMessage(app, message, logger);
}

/** The message, validated; undefined (and recorded as rejected) when it is not one of ours. */
async function parseOrReject(app: RunsApp, value: unknown, reasonPrefix: string, logger: Logger): Promise<WorkMessage | undefined> {
  try {
    return parseWorkMessage(value);
  } catch (error) {
    if (!(error instanceof WorkMessageRejected)) throw error;
    await reject(app, undefined, `${reasonPrefix}${error.message}`, logger);
    return undefined;
  }
}

async function reject(app: RunsApp, message: WorkMessage | undefined, reason: string, logger: Logger): Promise<void> {
  const fields = { tenantId: message?.tenantId, runId: message?.runId, itemId: message?.kind === "changes" ? message.itemId : undefined };
  logger.warn({ event: "workitem.rejected", ...fields, reason }, "work item rejected: nothing was done");
  await app.runState.recordRejected({ ...fields, reason, at: app.now().toISOString() });
}

function sameTargets(registered: readonly string[], sent: readonly string[]): boolean {
  const normalise = (ids: readonly string[]) => [...ids].map((id) => id.toLowerCase()).sort().join(",");
  return normalise(registered) === normalise(sent);
}

/** Records every target of an item as failed and the item as done (poisoned items, a changed policy). */
async function completeAsFailed(app: RunsApp, runtime: Runtime, message: ChangesMessage, runStartedAt: string, error: OutcomeError): Promise<void> {
  const outcomes = message.targetIds.map((targetId): TargetOutcome => ({ kind: "mailbox", targetId, displayName: targetId, status: "failed", findings: [], error }));
  await runtime.store.recordOutcomes(message.tenantId, message.runId, runStartedAt, outcomes);
  const counts = emptyCounts();
  const findingCounts: Partial<Record<FindingKind, number>> = {};
  for (const outcome of outcomes) tallyOutcome(counts, findingCounts, outcome);
  await app.runState.recordItem(message.tenantId, message.runId, message.itemId, { counts, findingCounts });
}

/**
 * Handles a message the queue gave up on (moved to the poison queue after maxDequeueCount): a dispatched work item's
 * mailboxes are recorded as failed and the item as done; a run message fails its run. Nothing is dropped; anything
 * the run did not dispatch is rejected.
 */
export async function processPoisonMessage(app: RunsApp, value: unknown, logger: Logger): Promise<void> {
  const message = await parseOrReject(app, value, "poison: ", logger);
  if (!message) return;
  const record = app.tenant(message.tenantId) ? await app.runState.get(message.tenantId, message.runId) : undefined;
  if (!record) {
    await reject(app, message, "poison message of an unknown run", logger);
    return;
  }
  const runtime = await app.runtimeFor(message.tenantId);
  const error: OutcomeError = { code: "WorkItemPoisoned", message: "The work item failed repeatedly and was moved to the poison queue" };
  if (message.kind === "run") {
    if (record.status === "queued" || record.status === "running") await failRun(app, runtime, record, error, logger);
    return;
  }
  const registered = await app.runState.registeredItem(message.tenantId, message.runId, message.itemId);
  if (!registered || !sameTargets(registered, message.targetIds)) {
    await reject(app, message, "poison message the run did not dispatch", logger);
    return;
  }
  if (await app.runState.hasItem(message.tenantId, message.runId, message.itemId)) return;
  await completeAsFailed(app, runtime, { ...message, targetIds: registered }, record.startedAt ?? record.requestedAt, error);
  await finaliseIfComplete(app, message.tenantId, message.runId, logger);
}

async function abandon(app: RunsApp, record: RunRecord, logger: Logger): Promise<void> {
  await app.runState.update(record.tenantId, record.runId, { status: "abandoned", error: { code: "LeaseLost", message: "Another run of the tenant holds the lease" } });
  logger.warn({ event: "run.failed", runId: record.runId, tenantId: record.tenantId, errorCode: "LeaseLost" }, "run abandoned: lease lost");
}

async function failRun(app: RunsApp, runtime: Runtime, record: RunRecord, error: OutcomeError, logger: Logger): Promise<void> {
  await app.runState.update(record.tenantId, record.runId, { status: "failed", error });
  logger.error({ event: "run.failed", runId: record.runId, tenantId: record.tenantId, errorCode: error.code, message: error.message }, "run failed");
  await releaseRunLease(app, runtime, record.runId);
}

async function releaseRunLease(app: RunsApp, runtime: Runtime, runId: string): Promise<void> {
  await releaseLease(runtime.leases, runtime.config.tenantId, runId, app.config.runs.leaseTtlInMs);
}

/**
 * Finalises the run once it is dispatched and every item it registered has its completion row; of concurrent
 * callers, the one whose `finalised` claim succeeds does it. The summary is written here, once, by `finishRun`.
 */
export async function finaliseIfComplete(app: RunsApp, tenantId: string, runId: string, logger: Logger): Promise<void> {
  const record = await app.runState.get(tenantId, runId);
  if (!record || record.status !== "dispatched" || !record.summary) return;
  if ((await app.runState.pendingItems(tenantId, runId)).length > 0) return;
  if (!(await app.runState.claimFinalise(tenantId, runId))) return;

  const runtime = await app.runtimeFor(tenantId);
  const base = record.summary;
  const tally = { counts: { ...base.counts }, findingCounts: { ...base.findingCounts } };
  const items = { counts: emptyCounts(), findingCounts: {} as Partial<Record<FindingKind, number>> };
  const itemResults = await app.runState.listItems(tenantId, runId);
  for (const item of itemResults) mergeCounts(items, item);
  mergeCounts(tally, items);
  const { counts } = tally;
  const finishedAt = app.now();
  let summary: RunSummary = {
    ...base,
    ...tally,
    finishedAt: finishedAt.toISOString(),
    durationInMs: finishedAt.getTime() - Date.parse(base.startedAt),
  };
  // The audit part's verdict from observation, and its work items' own.
  const mayAdvance = (record.watermarks?.mayAdvance ?? false) && watermarksMayAdvance({ ...summary, counts: { ...items.counts }, error: undefined });

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
        ...(app.config.runs.alerts.reportBaseUrl
          ? { settings: { reportBaseUrl: app.config.runs.alerts.reportBaseUrl, signedInLinks: app.config.runs.callers.mode === "entra" } }
          : {}),
        report: () => renderAlertReport(runtime.store, tenantId, finishedAt),
      },
      { summary, outcomes: [...outcomes, ...changeLimitOutcomes(summary, record.changeLimit)], now: finishedAt.toISOString() },
    );
    if (alerting.alertingFailed && !summary.error) {
      summary = { ...summary, error: { code: "AlertingFailed", message: "An alert could not be delivered or its state stored" } };
    }
  }

  await adoptWorkerDigest(runtime.store, { tenantId, runId, runStartedAt: base.startedAt }, itemResults.flatMap((item) => (item.digestEntries ? [item.digestEntries] : [])), logger);
  summary = (await finishRun(runtime.store, summary, { ...record.watermarks, mayAdvance }, logger)).summary;
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
    changesHeldBack: summary.changesHeldBack ?? 0,
    durationInMs: summary.durationInMs,
  };
  logger.info({ event: "run.completed", ...fields }, "run completed");
  if (summary.error) logger.error({ event: "run.failed", runId, tenantId, errorCode: summary.error.code, message: summary.error.message }, "run failed");
  await releaseRunLease(app, runtime, runId);
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
