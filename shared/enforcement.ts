/**
 * One enforcement run for one tenant: the audit baseline, then (when configured, and not for a named-mailbox run)
 * the journaling-equivalent capture. Both record their outcomes in the same run; the run summary is written last
 * with the counts and Exchange calls of both. This is the single entry point the CLI and every trigger call.
 */
import { runAuditBaseline, type AuditPolicy, type AuditProgress, type LicenceSource } from "./audit";
import { callsSince, tallyOutcome, type OutcomeError, type RunMode, type RunSummary, type TargetOutcome } from "./domain/outcome";
import type { AuditLogger, Clock, MailboxChangeSink } from "./audit/ports";
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
}

export interface EnforcementRequest {
  readonly runId: string;
  readonly mode: RunMode;
  readonly full?: boolean;
  readonly mailboxes?: readonly string[];
  readonly changeLimit?: number;
  /** Run the capture reconciler too (default true when configured). */
  readonly capture?: boolean;
  readonly sampleSize?: number;
  readonly onProgress?: (progress: AuditProgress) => void;
  /** Apply mode: fan mailbox changes out through this sink instead of sending them inline. */
  readonly mailboxSink?: MailboxChangeSink;
}

export interface EnforcementResult {
  readonly summary: RunSummary;
  /** A bounded sample of the run's outcomes (capture outcomes first, then the audit sample); all are in the store. */
  readonly outcomes: readonly TargetOutcome[];
  readonly outcomesTruncated: boolean;
  /** Mailbox changes handed to `mailboxSink`, still to be applied and recorded by whoever drains it. */
  readonly deferredChanges: number;
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
 * Runs the capture, then the audit baseline, for one tenant and records one run. The capture goes first so that a
 * capture mailbox it creates is audited by the same run.
 */
export async function runEnforcement(services: EnforcementServices, request: EnforcementRequest): Promise<EnforcementResult> {
  const { tenantId, transport, store, clock, logger } = services;
  const startedAt = clock.now();
  const callsAtStart = { ...transport.callCounts() };
  const capture = services.capture;
  const wantCapture = capture !== undefined && request.capture !== false && (request.mailboxes?.length ?? 0) === 0;
  let captureOutcomes: TargetOutcome[] = [];
  let captureError: OutcomeError | undefined;
  if (wantCapture) {
    try {
      const previous = await store.getWatermark(tenantId, CAPTURE_SAMPLE_WATERMARK);
      const previousSample = parseSample(previous?.value);
      const result = await runCapture(
        { transport, graph: capture.graph, settings: capture.settings, clock },
        { tenantId, mode: request.mode, ...(previousSample ? { previousSample } : {}) },
      );
      captureOutcomes = result.outcomes;
      await store.recordOutcomes(tenantId, request.runId, startedAt.toISOString(), captureOutcomes);
      if (result.sample) await store.setWatermark(tenantId, CAPTURE_SAMPLE_WATERMARK, JSON.stringify(result.sample));
    } catch (error) {
      const failure = ensureError(error);
      captureError = { code: failure.name === "CaptureConfigurationError" ? "CaptureConfiguration" : "CaptureFailed", message: failure.message };
      logger?.error({ tenantId, runId: request.runId, err: failure }, "capture run failed");
    }
  }

  const audit = await runAuditBaseline(
    {
      transport,
      store,
      policy: services.auditPolicy,
      licences: services.licences,
      clock,
      exchangeCalls: () => transport.callCounts(),
      ...(logger ? { logger } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.mailboxSink ? { mailboxSink: request.mailboxSink } : {}),
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
  if (!wantCapture) return audit;

  const counts = { ...audit.summary.counts };
  const findingCounts = { ...audit.summary.findingCounts };
  for (const outcome of captureOutcomes) tallyOutcome(counts, findingCounts, outcome);
  const finishedAt = clock.now();
  const error = captureError ?? audit.summary.error;
  const summary: RunSummary = {
    ...audit.summary,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationInMs: finishedAt.getTime() - startedAt.getTime(),
    counts,
    findingCounts,
    exchangeCalls: callsSince(callsAtStart, transport.callCounts()),
    ...(error ? { error } : {}),
  };
  await store.recordRun(summary);
  return {
    summary,
    outcomes: [...captureOutcomes, ...audit.outcomes],
    outcomesTruncated: audit.outcomesTruncated,
    deferredChanges: audit.deferredChanges,
  };
}
