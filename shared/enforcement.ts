/**
 * One enforcement run for one tenant: the journaling-equivalent capture (when configured, and not for a named-mailbox
 * run), then the audit baseline, then the audit-log evidence (whose searches are created before the capture, so they
 * run while the run works). All record their outcomes in the same run; the run's summary is written once, at the
 * end (`finishRun`), with the counts and Exchange calls of all — here when the run did all its work itself, by the
 * orchestrator's finaliser when it handed work items out. This is the single entry point the CLI and every trigger call.
 */
import type { AuditPolicy } from "./audit/policy";
import type { AuditLogger, AuditProgress, Clock, LicenceSource } from "./audit/ports";
import type { AuditSearchPort } from "./evidence/audit-search";
import { startAuditEvidence, type AuditEvidencePhase, type EvidenceTimer } from "./evidence/run-evidence";
import type { AuditEvidenceSettings } from "./evidence/verdicts";
import { callsSince, emptyCounts, tallyOutcome, type FindingKind, type OutcomeError, type RunMode, type RunSummary, type RunTrigger, type TargetOutcome } from "./domain/outcome";
import { finishRun, type WatermarkState } from "./reconcile/finish";
import { runAuditBaseline } from "./reconcile/reconcile";
import type { ChangeSink } from "./reconcile/sink";
import { runCapture, type CaptureGraphPort } from "./capture/run-capture";
import type { CaptureSettings } from "./capture/settings";
import type { CaptureStatisticsSample } from "./capture/capture-mailbox";
import { ensureError } from "./exchange/errors";
import type { ExchangeTransport } from "./exchange/transport";
import type { OutcomeStore } from "./storage/outcome-store";

/** Watermark name under which the capture keeps its last mailbox-statistics sample (for volume estimates). */
export const CAPTURE_SAMPLE_WATERMARK = "capture-statistics";

export interface EnforcementServices {
  readonly tenantId: string;
  /** The Exchange transport, with its cumulative per-cmdlet call counts. */
  readonly transport: ExchangeTransport & { callCounts(): Readonly<Record<string, number>> };
  readonly store: OutcomeStore;
  readonly auditPolicy: AuditPolicy;
  readonly licences: LicenceSource;
  /** Capture settings, or undefined when capture is not configured for this tenant. */
  readonly capture?: { readonly settings: CaptureSettings; readonly graph: CaptureGraphPort };
  readonly clock: Clock;
  readonly logger?: AuditLogger;
  /** The audit-log evidence phase, or undefined when it is off (`AUDIT_EVIDENCE=off`). */
  readonly evidence?: {
    readonly search: AuditSearchPort;
    readonly settings: AuditEvidenceSettings;
    /** Real time for its poll budget (default: the process's). */
    readonly timer?: EvidenceTimer;
  };
}

export interface EnforcementRequest {
  readonly runId: string;
  readonly mode: RunMode;
  readonly full?: boolean;
  readonly mailboxes?: readonly string[];
  readonly changeLimit?: number;
  /** Run the capture reconciler too (default true when configured). */
  readonly capture?: boolean;
  /** Run the audit-log evidence phase too (default true when configured; never for a named-mailbox run). */
  readonly evidence?: boolean;
  readonly sampleSize?: number;
  readonly onProgress?: (progress: AuditProgress) => void;
  /** Where mailbox changes go (default: applied by the run itself). */
  readonly sink?: ChangeSink;
  /** What started the run (recorded with its summary). */
  readonly trigger?: RunTrigger;
  /**
   * Write the summary and move the watermarks when the run did all its work itself (default true). The orchestrator
   * passes false: it finishes the run itself, after its alerts, so the summary is still written once.
   */
  readonly finish?: boolean;
}

export interface EnforcementResult {
  readonly summary: RunSummary;
  /** A bounded sample of the run's outcomes (capture outcomes first, then the audit sample); all are in the store. */
  readonly outcomes: readonly TargetOutcome[];
  readonly outcomesTruncated: boolean;
  /** Mailbox changes handed out by the sink, still to be applied and recorded by their workers. */
  readonly deferredChanges: number;
  /** For whoever finishes the run: the watermarks as read, and whether the audit part lets them advance. */
  readonly watermarks: WatermarkState;
  /** Whether the summary was written (false: not finished here, or storage refused it; see `summary.error`). */
  readonly recorded: boolean;
}

function parseSample(value: string | undefined): CaptureStatisticsSample | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as CaptureStatisticsSample;
  } catch {
    return undefined;
  }
}

/**
 * Runs the capture, then the audit baseline, for one tenant. The capture goes first so that a capture mailbox it
 * creates is audited by the same run. A capture whose outcomes cannot be recorded stops the run before the audit
 * sends anything (a change without a record is one nobody can prove).
 */
export async function runEnforcement(services: EnforcementServices, request: EnforcementRequest): Promise<EnforcementResult> {
  const { tenantId, transport, store, clock, logger } = services;
  const startedAt = clock.now();
  const callsAtStart = { ...transport.callCounts() };
  const capture = services.capture;
  const wholeTenant = (request.mailboxes?.length ?? 0) === 0;
  const wantCapture = capture !== undefined && request.capture !== false && wholeTenant;
  const evidence = services.evidence && request.evidence !== false && wholeTenant
    ? await startAuditEvidence(
        { search: services.evidence.search, store, clock, ...(services.evidence.timer ? { timer: services.evidence.timer } : {}), ...(logger ? { logger } : {}) },
        services.evidence.settings,
        { tenantId, runId: request.runId, runStartedAt: startedAt.toISOString() },
      )
    : undefined;
  let captureOutcomes: TargetOutcome[] = [];
  let captureError: OutcomeError | undefined;
  if (wantCapture) {
    let captured: Awaited<ReturnType<typeof runCapture>> | undefined;
    try {
      const previous = await store.getWatermark(tenantId, CAPTURE_SAMPLE_WATERMARK);
      const previousSample = parseSample(previous?.value);
      captured = await runCapture(
        { transport, graph: capture.graph, settings: capture.settings, clock },
        { tenantId, mode: request.mode, ...(previousSample ? { previousSample } : {}) },
      );
    } catch (error) {
      const failure = ensureError(error);
      captureError = { code: failure.name === "CaptureConfigurationError" ? "CaptureConfiguration" : "CaptureFailed", message: failure.message };
      logger?.error({ tenantId, runId: request.runId, err: failure }, "capture run failed");
    }
    if (captured) {
      captureOutcomes = captured.outcomes;
      try {
        await store.recordOutcomes(tenantId, request.runId, startedAt.toISOString(), captureOutcomes);
        if (captured.sample) await store.setWatermark(tenantId, CAPTURE_SAMPLE_WATERMARK, JSON.stringify(captured.sample));
      } catch (error) {
        captureError = { code: "RecordFailed", message: `Outcomes could not be recorded: ${ensureError(error).message}` };
        logger?.error({ tenantId, runId: request.runId, err: ensureError(error) }, "capture outcomes not recorded: the run stops");
      }
    }
  }

  const audit = captureError?.code === "RecordFailed" ? undefined : await runAuditBaseline(
    {
      transport,
      store,
      policy: services.auditPolicy,
      licences: services.licences,
      clock,
      exchangeCalls: () => transport.callCounts(),
      ...(logger ? { logger } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.sink ? { sink: request.sink } : {}),
    },
    {
      tenantId,
      runId: request.runId,
      mode: request.mode,
      ...(request.full !== undefined ? { full: request.full } : {}),
      ...(request.mailboxes ? { mailboxes: request.mailboxes } : {}),
      ...(request.changeLimit !== undefined ? { changeLimit: request.changeLimit } : {}),
      ...(request.sampleSize !== undefined ? { sampleSize: request.sampleSize } : {}),
    },
  );

  const evidenceResult = evidence ? await finishEvidence(evidence, { mailboxesSeen: (audit?.mailboxesSeen ?? 0) + (audit?.deferredChanges ?? 0), fullSweep: audit?.summary.scope === "full", auditingWasOff: auditingOff(audit?.organization) }, logger) : undefined;
  const evidenceOutcomes = evidenceResult?.outcomes ?? [];
  const counts = { ...(audit?.summary.counts ?? emptyCounts()) };
  const findingCounts: Partial<Record<FindingKind, number>> = { ...audit?.summary.findingCounts };
  for (const outcome of [...captureOutcomes, ...evidenceOutcomes]) tallyOutcome(counts, findingCounts, outcome);
  const graphCalls = evidenceResult?.graphCalls ?? {};
  const finishedAt = clock.now();
  const error = captureError ?? audit?.summary.error;
  const summary: RunSummary = {
    runId: request.runId,
    tenantId,
    mode: request.mode,
    scope: audit?.summary.scope ?? (request.mailboxes ? "mailboxes" : "full"),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationInMs: finishedAt.getTime() - startedAt.getTime(),
    counts,
    findingCounts,
    exchangeCalls: callsSince(callsAtStart, transport.callCounts()),
    ...(Object.keys(graphCalls).length > 0 ? { graphCalls } : {}),
    ...(request.trigger ? { trigger: request.trigger } : {}),
    ...(audit?.summary.changesHeldBack ? { changesHeldBack: audit.summary.changesHeldBack } : {}),
    ...(error ? { error } : {}),
  };
  const watermarks = audit?.watermarks ?? { mayAdvance: false };
  const deferredChanges = audit?.deferredChanges ?? 0;
  const result = {
    outcomes: [...captureOutcomes, ...evidenceOutcomes, ...(audit?.outcomes ?? [])],
    outcomesTruncated: audit?.outcomesTruncated ?? false,
    deferredChanges,
    watermarks,
  };
  if (request.finish === false || deferredChanges > 0) return { ...result, summary, recorded: false };
  const finished = await finishRun(store, summary, watermarks, logger);
  return { ...result, summary: finished.summary, recorded: finished.recorded };
}

/** Tenant-wide auditing switches as the organisation's outcome read them before any change. */
function auditingOff(outcome: TargetOutcome | undefined): boolean {
  return outcome?.before?.["AuditDisabled"] === true || outcome?.before?.["UnifiedAuditLogIngestionEnabled"] === false;
}

/** The evidence phase's outcomes; whatever goes wrong in it is logged and never fails the enforcement. */
async function finishEvidence(
  evidence: AuditEvidencePhase,
  input: Parameters<AuditEvidencePhase["finish"]>[0],
  logger: AuditLogger | undefined,
): Promise<Awaited<ReturnType<AuditEvidencePhase["finish"]>> | undefined> {
  try {
    return await evidence.finish(input);
  } catch (error) {
    logger?.error({ err: ensureError(error) }, "audit evidence failed");
    return undefined;
  }
}
