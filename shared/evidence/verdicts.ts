/**
 * Pure verdicts of the audit-log evidence phase: which earlier runs are due for a look, what the watermark keeps,
 * and the outcome of each `audit-trail` (an earlier run's changes) and `audit-activity` (mailbox audit records of
 * the last 24 hours) target. No I/O, no clock: `now` is an argument.
 */
import { z } from "zod";
import type { OutcomeError, RunSummary, TargetOutcome } from "../domain/outcome";
import { AUDIT_SEARCH_PERMISSION, MAILBOX_ACTIVITY_RECORD_TYPES } from "./audit-search";
import type { ExpectedChange } from "./trail";

export interface AuditEvidenceSettings {
  /** An earlier run's changes are looked for once it finished at least this long ago (the documented latency). */
  readonly ingestionDelayInMs: number;
  /** A change still missing this long after its run finished fails (`AuditTrailMissing`); before, it is pending. */
  readonly missingAfterInMs: number;
  /** How long the run waits, after its own work, for its audit searches to finish. */
  readonly pollBudgetInMs: number;
  /** Earlier runs started within this period are checked; settled runs are remembered for as long. */
  readonly lookbackInMs: number;
  /** Earlier runs checked per run (oldest first); the rest wait for a later run. */
  readonly maxRunsPerCheck: number;
  /** Changes of one earlier run that are looked for; beyond, the outcome says how many were not. */
  readonly maxChangesPerRun: number;
  /** Records pages read per audit search. */
  readonly maxRecordPages: number;
  /** App ids this product acts as (records naming another app are not ours); empty: none known. */
  readonly ownAppIds: readonly string[];
}

export const DEFAULT_EVIDENCE_LIMITS = Object.freeze({
  lookbackInMs: 7 * 24 * 3_600_000,
  maxRunsPerCheck: 4,
  maxChangesPerRun: 500,
  maxRecordPages: 50,
});

/** Missing changes listed in an outcome, at most. */
export const MISSING_LISTED = 20;
/** Records before and after a run's start and finish that still count as its own (clock skew, batching). */
export const WINDOW_MARGIN_IN_MS = 15 * 60_000;
export const ACTIVITY_WINDOW_IN_MS = 24 * 3_600_000;
export const ACTIVITY_TARGET_ID = "mailbox-activity";

// ---- the watermark -------------------------------------------------------------------------------------------

/** What the phase remembers between runs (watermark `audit-evidence`). */
export interface EvidenceMemory {
  /** Earlier runs whose trail is settled (all found, or failed), by run id: their start time. */
  readonly settled: Readonly<Record<string, string>>;
  /** Mailboxes the last full sweep recorded (the tenant has mailboxes: zero activity is a failure). */
  readonly mailboxes?: number;
}

const memorySchema = z.object({
  settled: z.record(z.string(), z.string()).default({}),
  mailboxes: z.number().int().nonnegative().optional(),
});

/** The stored memory; an empty one when there is none or it does not parse (the runs are then looked at again). */
export function parseEvidenceMemory(value: string | undefined): EvidenceMemory {
  if (value === undefined || value.trim() === "") return { settled: {} };
  try {
    const parsed = memorySchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : { settled: {} };
  } catch {
    return { settled: {} };
  }
}

/** Adds newly settled runs and forgets those started before the lookback (they are never due again anyway). */
export function nextEvidenceMemory(
  memory: EvidenceMemory,
  update: { readonly settled: Readonly<Record<string, string>>; readonly mailboxes?: number },
  now: Date,
  lookbackInMs: number,
): EvidenceMemory {
  const oldest = now.getTime() - lookbackInMs;
  const settled = Object.fromEntries(
    Object.entries({ ...memory.settled, ...update.settled }).filter(([, startedAt]) => Date.parse(startedAt) >= oldest),
  );
  const mailboxes = update.mailboxes ?? memory.mailboxes;
  return { settled, ...(mailboxes !== undefined ? { mailboxes } : {}) };
}

// ---- which earlier runs -----------------------------------------------------------------------------------------

export interface DueRuns {
  /** Oldest first, at most `maxRunsPerCheck`. */
  readonly due: readonly RunSummary[];
  /** Due runs left for a later run by the cap. */
  readonly deferred: number;
}

/**
 * Earlier apply runs that remediated something, finished at least the ingestion delay ago, started within the
 * lookback and not settled yet; oldest first (so a backlog drains before its runs leave the lookback).
 */
export function dueRuns(
  runs: readonly RunSummary[],
  memory: EvidenceMemory,
  now: Date,
  settings: Pick<AuditEvidenceSettings, "ingestionDelayInMs" | "lookbackInMs" | "maxRunsPerCheck">,
  currentRunId: string,
): DueRuns {
  const nowInMs = now.getTime();
  const candidates = runs
    .filter((run) => run.runId !== currentRunId && run.mode === "apply" && run.counts.remediated > 0)
    .filter((run) => !Object.hasOwn(memory.settled, run.runId))
    .filter((run) => Date.parse(run.startedAt) >= nowInMs - settings.lookbackInMs)
    .filter((run) => Date.parse(run.finishedAt) <= nowInMs - settings.ingestionDelayInMs)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  const cap = Math.max(0, settings.maxRunsPerCheck);
  return { due: candidates.slice(0, cap), deferred: Math.max(0, candidates.length - cap) };
}

/** The time window of a run's records: its start and finish, widened by the margin, never past `now`. */
export function runWindow(run: Pick<RunSummary, "startedAt" | "finishedAt">, now: Date): { start: string; end: string } {
  const start = Date.parse(run.startedAt) - WINDOW_MARGIN_IN_MS;
  const end = Math.min(Date.parse(run.finishedAt) + WINDOW_MARGIN_IN_MS, now.getTime());
  return { start: new Date(start).toISOString(), end: new Date(Math.max(start, end)).toISOString() };
}

export function activityWindow(now: Date): { start: string; end: string } {
  return { start: new Date(now.getTime() - ACTIVITY_WINDOW_IN_MS).toISOString(), end: now.toISOString() };
}

// ---- what a search came to ----------------------------------------------------------------------------------

/** How an audit search ended, as the verdicts see it. */
export type SearchResult =
  /** Graph answered 403: the permission is not granted. */
  | { readonly kind: "denied" }
  /** The search (or a call for it) failed. */
  | { readonly kind: "failed"; readonly error: OutcomeError; readonly queryId?: string }
  /** Not finished within the poll budget. */
  | { readonly kind: "unfinished"; readonly queryId: string; readonly status: string }
  /**
   * Succeeded and read: `complete` is false when the records were not all read (page cap), so an absence proves
   * nothing.
   */
  | { readonly kind: "read"; readonly queryId: string; readonly complete: boolean };

function hours(ms: number): string {
  const value = ms / 3_600_000;
  return Number.isInteger(value) ? `${value}` : value.toFixed(1);
}

function pendingFinding(message: string) {
  return { kind: "pending" as const, setting: "AuditTrail", message };
}

function queryFailed(error: OutcomeError, what: string): OutcomeError {
  return { ...error, code: "AuditQueryFailed", message: `The audit search for ${what} failed: ${error.message}` };
}

// ---- audit-trail --------------------------------------------------------------------------------------------

export interface TrailVerdictInput {
  readonly run: Pick<RunSummary, "runId" | "startedAt" | "finishedAt">;
  /** The changes looked for (at most the cap). */
  readonly changes: readonly ExpectedChange[];
  /** The run's changes beyond the cap, not looked for. */
  readonly changesNotChecked: number;
  /** Remediated outcomes that leave no Exchange admin record (changed through Graph). */
  readonly outsideExchange: number;
  readonly window: { readonly start: string; readonly end: string };
  /** Undefined when nothing was searched (no change to look for). */
  readonly result?: SearchResult;
  /** Keys (`changeKey`) of the changes found. */
  readonly found: ReadonlySet<string>;
  readonly missing: readonly ExpectedChange[];
  readonly now: Date;
  readonly missingAfterInMs: number;
}

export interface TrailVerdict {
  readonly outcome: TargetOutcome;
  /** The run needs no further look: all found, or failed past the deadline. */
  readonly settled: boolean;
}

/** The `audit-trail` outcome of one earlier run. */
export function auditTrailVerdict(input: TrailVerdictInput): TrailVerdict {
  const { run, changes, result } = input;
  const expected = changes.length;
  const found = expected - input.missing.length;
  const queryId = result && result.kind !== "denied" ? result.queryId : undefined;
  const after = {
    auditedRunId: run.runId,
    auditedRunFinishedAt: run.finishedAt,
    expected,
    found: result?.kind === "read" ? found : 0,
    missing: (result?.kind === "read" ? input.missing : changes).slice(0, MISSING_LISTED).map((change) => ({
      kind: change.kind,
      targetId: change.targetId,
      displayName: change.displayName,
      operations: change.operations,
    })),
    ...((result?.kind === "read" ? input.missing : changes).length > MISSING_LISTED ? { missingTruncated: true } : {}),
    ...(queryId !== undefined ? { queryId } : {}),
    windowStart: input.window.start,
    windowEnd: input.window.end,
    ...(input.changesNotChecked > 0 ? { notChecked: input.changesNotChecked } : {}),
  };
  const base = { kind: "audit-trail" as const, targetId: run.runId, displayName: `Changes of run ${run.runId}` };
  const notes = [
    input.changesNotChecked > 0 ? ` Only the first ${expected} of its changes were looked for (${input.changesNotChecked} more were not).` : "",
    input.outsideExchange > 0 ? ` ${input.outsideExchange} change(s) made through Microsoft Graph leave no Exchange admin record and are not looked for.` : "",
  ].join("");

  if (expected === 0 || result === undefined) {
    return { outcome: { ...base, status: "not-applicable", findings: [], after: { ...after, missing: [] } }, settled: true };
  }
  if (result.kind === "denied") {
    return {
      outcome: { ...base, status: "not-applicable", findings: [], after: { ...after, missing: [], permissionMissing: AUDIT_SEARCH_PERMISSION } },
      settled: false,
    };
  }
  if (result.kind === "failed") {
    return { outcome: { ...base, status: "failed", findings: [], after: { ...after, missing: [] }, error: queryFailed(result.error, `the changes of run ${run.runId}`) }, settled: false };
  }
  if (result.kind === "unfinished") {
    return {
      outcome: {
        ...base,
        status: "drift",
        findings: [pendingFinding(`The audit search for the ${expected} change(s) of run ${run.runId} had not finished (status ${result.status}) when this run stopped waiting; it is searched again by the next run.${notes}`)],
        after: { ...after, missing: [] },
      },
      settled: false,
    };
  }
  const summary = `${found} of ${expected} changes found in the audit log`;
  if (input.missing.length === 0) {
    return { outcome: { ...base, status: "compliant", findings: [], after }, settled: true };
  }
  const ageInMs = input.now.getTime() - Date.parse(run.finishedAt);
  const names = input.missing.slice(0, 5).map((change) => `${change.kind} ${change.displayName}`).join(", ");
  const more = input.missing.length > 5 ? ` and ${input.missing.length - 5} more` : "";
  if (!result.complete) {
    return {
      outcome: {
        ...base,
        status: "drift",
        findings: [pendingFinding(`${summary} so far: the search returned more records than one run reads, so the absence of ${names}${more} proves nothing yet; searched again by the next run.${notes}`)],
        after,
      },
      settled: false,
    };
  }
  if (ageInMs >= input.missingAfterInMs) {
    return {
      outcome: {
        ...base,
        status: "failed",
        findings: [],
        after,
        error: {
          code: "AuditTrailMissing",
          message: `${summary}: ${input.missing.length} change(s) of run ${run.runId} are not in the unified audit log ${hours(ageInMs)} hours after the run (${names}${more}). Mailbox auditing is on, but the records do not reach the log the security team searches.${notes}`,
        },
      },
      settled: true,
    };
  }
  return {
    outcome: {
      ...base,
      status: "drift",
      findings: [pendingFinding(`${summary} so far; records can take up to ${hours(input.missingAfterInMs)} hours to arrive, so ${names}${more} is looked for again by the next run.${notes}`)],
      after,
    },
    settled: false,
  };
}

// ---- audit-activity -------------------------------------------------------------------------------------------

export interface ActivityVerdictInput {
  readonly window: { readonly start: string; readonly end: string };
  readonly result: SearchResult;
  /** Records counted: Graph's approximate count, or the records read (then `atLeast` when pages were left). */
  readonly records: number;
  readonly atLeast: boolean;
  /** Mailboxes the tenant is known to have; undefined when not known yet. */
  readonly mailboxes: number | undefined;
  /**
   * This run found tenant-wide auditing off (the organisation drifted on `AuditDisabled` or the unified audit log):
   * no mailbox audit records are expected yet, and the organisation's own outcome already says why.
   */
  readonly auditingWasOff?: boolean;
}

/** The `audit-activity` outcome: mailbox audit records of the last 24 hours. */
export function auditActivityOutcome(input: ActivityVerdictInput): TargetOutcome {
  const { result } = input;
  const queryId = result.kind !== "denied" ? result.queryId : undefined;
  const searched = {
    windowStart: input.window.start,
    windowEnd: input.window.end,
    recordTypes: [...MAILBOX_ACTIVITY_RECORD_TYPES],
    ...(queryId !== undefined ? { queryId } : {}),
  };
  const after = { records: input.records, atLeast: input.atLeast, ...searched };
  const base = { kind: "audit-activity" as const, targetId: ACTIVITY_TARGET_ID, displayName: "Mailbox audit records (last 24 hours)" };
  if (result.kind === "denied") return { ...base, status: "not-applicable", findings: [], after: { ...after, permissionMissing: AUDIT_SEARCH_PERMISSION } };
  if (result.kind === "failed") return { ...base, status: "failed", findings: [], after, error: queryFailed(result.error, "mailbox audit records") };
  if (result.kind === "unfinished") {
    return {
      ...base,
      status: "drift",
      findings: [{ kind: "pending", setting: "AuditActivity", message: `The audit search for mailbox audit records had not finished (status ${result.status}) when this run stopped waiting; the next run searches again.` }],
      // It counted nothing: no `records`, so no report reads a zero into it.
      after: searched,
    };
  }
  if (input.records > 0) return { ...base, status: "compliant", findings: [], after };
  if (input.mailboxes === undefined || input.mailboxes === 0) return { ...base, status: "not-applicable", findings: [], after };
  if (input.auditingWasOff) {
    return {
      ...base,
      status: "drift",
      findings: [{ kind: "pending", setting: "AuditActivity", message: "No mailbox audit record in the last 24 hours, but this run found auditing off for the whole organisation (see the organisation's outcome): records are expected only once it is on; counted again by the next run." }],
      after,
    };
  }
  return {
    ...base,
    status: "failed",
    findings: [],
    after,
    error: {
      code: "AuditActivityMissing",
      message: `No mailbox audit record (${MAILBOX_ACTIVITY_RECORD_TYPES.join(", ")}) reached the unified audit log between ${input.window.start} and ${input.window.end}, although the tenant has ${input.mailboxes} mailbox(es): mailbox auditing is not reaching the log.`,
    },
  };
}
