import type {
  OutcomeError,
  OutcomeStatus,
  RunMode,
  RunScope,
  RunSummary,
  TargetKind,
  TargetOutcome,
} from "../domain/outcome";

/**
 * Pure alert decisions: what to tell each channel about a run, and what to remember afterwards.
 *
 * Alerts are raised on a change of state, per channel:
 * - `new`: an alertable target (failed, or carrying a `hazard` finding) the channel has not been told about;
 * - `still-failing`: the channel was last told at least `stillFailingReminderDays` ago and it still fails;
 * - `recovered`: the channel was told about a failure and this run saw the target compliant (or otherwise
 *   not failing: remediated, exempt, not applicable).
 * A target that keeps failing within the reminder period raises nothing. A run that could not run
 * (`RunSummary.error`) is a pseudo-target of kind `run`. A target this run did not look at keeps its state:
 * nothing is known about it now. A `drift` outcome (plan mode, change limit) neither fails nor recovers.
 *
 * Each channel's memory is independent (`notifiedAt` per channel) and is advanced only for the channels
 * that accepted their alert (`settleAlertState`), so a failed delivery is decided again by the next run.
 */

export type AlertChannelName = "webhook" | "email";

export type AlertChange = "new" | "still-failing" | "recovered";

/** Kind of an alert subject: a target, or the run itself (run-level failure). */
export type AlertSubjectKind = TargetKind | "run";

/** Key of the run-level pseudo-target; target keys always contain `|`, so it never collides. */
export const RUN_ALERT_KEY = "run";

/** What is remembered per target between runs (one row per target and tenant). */
export interface AlertTargetState {
  /** `alertTargetKey(kind, targetId)`, or `RUN_ALERT_KEY`. */
  readonly key: string;
  readonly kind: AlertSubjectKind;
  readonly targetId: string;
  readonly displayName: string;
  /** When a run first saw it failing (ISO); absent once it recovered. */
  readonly failingSince?: string;
  /** Per channel: when that channel last accepted a failure notice (ISO). Cleared when it accepted the recovery. */
  readonly notifiedAt: Readonly<Partial<Record<AlertChannelName, string>>>;
}

export interface AlertHazard {
  readonly setting: string;
  readonly message: string;
}

/** A change of an audited run whose Exchange admin audit record the unified audit log did not hold. */
export interface AlertMissingChange {
  readonly kind: string;
  readonly targetId: string;
  readonly displayName: string;
  readonly operations: readonly string[];
}

/**
 * What the unified audit log showed, for a failing `audit-trail` or `audit-activity` target: the audited run and how
 * many of its changes were found (with the first missing ones), or the mailbox audit records counted; the window
 * and query searched. Only what the outcome carried, bounded.
 */
export interface AlertAuditEvidence {
  readonly auditedRunId?: string;
  readonly expected?: number;
  readonly found?: number;
  /** The first missing changes (at most `MAX_ALERT_MISSING_CHANGES`). */
  readonly missing?: readonly AlertMissingChange[];
  /** Missing changes not listed. */
  readonly moreMissing?: number;
  readonly records?: number;
  readonly windowStart?: string;
  readonly windowEnd?: string;
  readonly queryId?: string;
}

/** Missing changes an alert names; the report lists more. */
export const MAX_ALERT_MISSING_CHANGES = 5;

/** One alertable change of one target. */
export interface AlertEvent {
  readonly change: AlertChange;
  readonly kind: AlertSubjectKind;
  readonly targetId: string;
  readonly displayName: string;
  /** This run's status of the target (absent for the run pseudo-target). */
  readonly status?: OutcomeStatus;
  /** The error Exchange (or the run) gave, for failures. */
  readonly error?: OutcomeError;
  /** `hazard` findings, for failures. */
  readonly hazards: readonly AlertHazard[];
  /** When it was first seen failing (ISO), for failures. */
  readonly failingSince?: string;
  /** The audit log's evidence, for failing `audit-trail` and `audit-activity` targets. */
  readonly evidence?: AlertAuditEvidence;
}

/** Everything one channel is told about one run: one message. */
export interface Alert {
  readonly runId: string;
  readonly tenantId: string;
  readonly mode: RunMode;
  readonly scope: RunScope;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly counts: RunSummary["counts"];
  /** Run-level failure, if the run had one. */
  readonly runError?: OutcomeError;
  /** Link to the tenant's HTML report (`GET /api/report?format=html`), when a report base URL is configured. */
  readonly reportUrl?: string;
  /** Ordered: run first, then new, still failing, recovered; by kind and name within each. */
  readonly events: readonly AlertEvent[];
}

export interface ChannelAlert {
  readonly channel: AlertChannelName;
  readonly alert: Alert;
}

export interface AlertSettings {
  /** A target still failing is raised again when the channel's last notice is at least this old; default 3. */
  readonly stillFailingReminderDays: number;
  /** Base URL of the app (e.g. `https://<app>.azurewebsites.net`); the report link is `<base>/api/report?format=html&tenant=`. */
  readonly reportBaseUrl?: string;
  /** Links sign the reader in (App Service Authentication) and open the key-less view (`CALLER_AUTH=entra`). */
  readonly signedInLinks?: boolean;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = Object.freeze({ stillFailingReminderDays: 3 });

export interface AlertDecisionInput {
  /** The tenant's alert state as stored (any order). */
  readonly previous: Iterable<AlertTargetState>;
  /** This run's outcomes (all of them; only alertable changes are raised). */
  readonly outcomes: readonly TargetOutcome[];
  readonly summary: RunSummary;
  /** The decision time (ISO). */
  readonly now: string;
  /** Channels configured for this tenant. */
  readonly channels: readonly AlertChannelName[];
  readonly settings?: Partial<AlertSettings>;
}

/** A target observed by this run: its state before delivery and the events raised per channel. */
export interface ObservedAlertTarget {
  readonly previous?: AlertTargetState;
  /** `failingSince` and `displayName` brought up to date; `notifiedAt` as before delivery. */
  readonly observed: AlertTargetState;
  readonly events: Readonly<Partial<Record<AlertChannelName, AlertEvent>>>;
}

export interface AlertDecision {
  readonly now: string;
  /** At most one alert per channel, only for channels with something to say. */
  readonly alerts: readonly ChannelAlert[];
  readonly targets: readonly ObservedAlertTarget[];
}

/** Rows to write after delivery; empty when nothing changed. */
export interface AlertStateChanges {
  readonly put: readonly AlertTargetState[];
  /** Keys of rows to delete. */
  readonly remove: readonly string[];
}

const DAY_IN_MS = 24 * 60 * 60 * 1000;
const CHANGE_ORDER: Record<AlertChange, number> = { new: 0, "still-failing": 1, recovered: 2 };
/** Statuses that prove the target no longer fails. */
const RECOVERED_STATUSES: ReadonlySet<OutcomeStatus> = new Set(["compliant", "remediated", "exempt", "not-applicable"]);

export function alertTargetKey(kind: TargetKind, targetId: string): string {
  return `${kind}|${targetId}`;
}

/** True for an outcome that must be alerted: a failure, or a hazard that defeats the policy. */
export function isAlertable(outcome: TargetOutcome): boolean {
  return outcome.status === "failed" || outcome.findings.some((finding) => finding.kind === "hazard");
}

/**
 * The tenant's HTML report: the same document the alert mail attaches, as it stands when opened. With Entra callers
 * (`signedIn`) the link signs the reader in through App Service Authentication and lands on the key-less view;
 * otherwise it is the function-key endpoint (the key goes in the `x-functions-key` header, never in the link).
 */
export function reportUrlOf(reportBaseUrl: string, tenantId: string, signedIn = false): string {
  const base = reportBaseUrl.replace(/\/+$/, "");
  const tenant = encodeURIComponent(tenantId);
  if (!signedIn) return `${base}/api/report?format=html&tenant=${tenant}`;
  return `${base}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(`/api/report/view?tenant=${tenant}`)}`;
}

/** What this run says about one subject: failing, recovered, or nothing known either way. */
interface Observation {
  readonly key: string;
  readonly kind: AlertSubjectKind;
  readonly targetId: string;
  readonly displayName: string;
  readonly condition: "failing" | "recovered" | "unknown";
  readonly status?: OutcomeStatus;
  readonly error?: OutcomeError;
  readonly hazards: readonly AlertHazard[];
  readonly evidence?: AlertAuditEvidence;
}

const stringOf = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const countOf = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;

function missingChangesOf(value: unknown): AlertMissingChange[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const change = entry as Record<string, unknown>;
    const kind = stringOf(change["kind"]);
    const targetId = stringOf(change["targetId"]);
    if (kind === undefined || targetId === undefined) return [];
    const operations = Array.isArray(change["operations"])
      ? change["operations"].filter((operation): operation is string => typeof operation === "string")
      : [];
    return [{ kind, targetId, displayName: stringOf(change["displayName"]) ?? targetId, operations }];
  });
}

/** The evidence an audit-log outcome carries in `after` (shapes of shared/evidence), read defensively. */
export function auditEvidenceOf(outcome: Pick<TargetOutcome, "kind" | "after">): AlertAuditEvidence | undefined {
  if (outcome.kind !== "audit-trail" && outcome.kind !== "audit-activity") return undefined;
  const after = outcome.after ?? {};
  const fields: Record<string, unknown> = {
    windowStart: stringOf(after["windowStart"]),
    windowEnd: stringOf(after["windowEnd"]),
    queryId: stringOf(after["queryId"]),
  };
  if (outcome.kind === "audit-activity") fields["records"] = countOf(after["records"]);
  else {
    const missing = missingChangesOf(after["missing"]);
    const expected = countOf(after["expected"]);
    const found = countOf(after["found"]);
    const notFound = expected !== undefined && found !== undefined ? expected - found : missing.length;
    const listed = missing.slice(0, MAX_ALERT_MISSING_CHANGES);
    const moreMissing = Math.max(notFound, missing.length) - listed.length;
    Object.assign(fields, {
      auditedRunId: stringOf(after["auditedRunId"]),
      expected,
      found,
      ...(listed.length > 0 && { missing: listed }),
      ...(moreMissing > 0 && { moreMissing }),
    });
  }
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function observeOutcome(outcome: TargetOutcome): Observation {
  const condition = isAlertable(outcome) ? "failing" : RECOVERED_STATUSES.has(outcome.status) ? "recovered" : "unknown";
  return {
    key: alertTargetKey(outcome.kind, outcome.targetId),
    kind: outcome.kind,
    targetId: outcome.targetId,
    displayName: outcome.displayName,
    condition,
    status: outcome.status,
    ...(outcome.error && condition === "failing" ? { error: outcome.error } : {}),
    ...(condition === "failing" && { evidence: auditEvidenceOf(outcome) }),
    hazards:
      condition === "failing"
        ? outcome.findings
            .filter((finding) => finding.kind === "hazard")
            .map(({ setting, message }) => ({ setting, message }))
        : [],
  };
}

function observeRun(summary: RunSummary): Observation {
  return {
    key: RUN_ALERT_KEY,
    kind: "run",
    targetId: summary.tenantId,
    displayName: "Run",
    condition: summary.error ? "failing" : "recovered",
    ...(summary.error ? { error: summary.error } : {}),
    hazards: [],
  };
}

/** One observation per key; a failing one wins over the rest (the same target reported twice). */
function observationsOf(outcomes: readonly TargetOutcome[], summary: RunSummary): Observation[] {
  const byKey = new Map<string, Observation>([[RUN_ALERT_KEY, observeRun(summary)]]);
  for (const outcome of outcomes) {
    const observation = observeOutcome(outcome);
    if (byKey.get(observation.key)?.condition !== "failing") byKey.set(observation.key, observation);
  }
  return [...byKey.values()];
}

function changeFor(
  condition: Observation["condition"],
  notifiedAt: string | undefined,
  nowInMs: number,
  reminderInMs: number,
): AlertChange | undefined {
  if (condition === "failing") {
    if (notifiedAt === undefined) return "new";
    return nowInMs - Date.parse(notifiedAt) >= reminderInMs ? "still-failing" : undefined;
  }
  return condition === "recovered" && notifiedAt !== undefined ? "recovered" : undefined;
}

function compareEvents(a: AlertEvent, b: AlertEvent): number {
  const rank = (event: AlertEvent): number => (event.kind === "run" ? -1 : CHANGE_ORDER[event.change]);
  return (
    rank(a) - rank(b) ||
    a.kind.localeCompare(b.kind) ||
    a.displayName.localeCompare(b.displayName) ||
    a.targetId.localeCompare(b.targetId)
  );
}

/** Decides the alerts of one run for each channel. Pure: no clock, no I/O. */
export function decideAlerts(input: AlertDecisionInput): AlertDecision {
  const settings: AlertSettings = { ...DEFAULT_ALERT_SETTINGS, ...input.settings };
  const nowInMs = Date.parse(input.now);
  if (Number.isNaN(nowInMs)) throw new TypeError(`Not an ISO timestamp: ${JSON.stringify(input.now)}`);
  const reminderInMs = settings.stillFailingReminderDays * DAY_IN_MS;
  const previousByKey = new Map([...input.previous].map((state) => [state.key, state]));
  const eventsByChannel = new Map<AlertChannelName, AlertEvent[]>(input.channels.map((channel) => [channel, []]));
  const targets: ObservedAlertTarget[] = [];

  for (const observation of observationsOf(input.outcomes, input.summary)) {
    const previous = previousByKey.get(observation.key);
    if (!previous && observation.condition !== "failing") continue;
    const failingSince =
      observation.condition === "failing"
        ? (previous?.failingSince ?? input.now)
        : observation.condition === "recovered"
          ? undefined
          : previous?.failingSince;
    const observed: AlertTargetState = {
      key: observation.key,
      kind: observation.kind,
      targetId: observation.targetId,
      displayName: observation.displayName,
      ...(failingSince !== undefined ? { failingSince } : {}),
      notifiedAt: previous?.notifiedAt ?? {},
    };
    const events: Partial<Record<AlertChannelName, AlertEvent>> = {};
    for (const [channel, channelEvents] of eventsByChannel) {
      const change = changeFor(observation.condition, observed.notifiedAt[channel], nowInMs, reminderInMs);
      if (!change) continue;
      const event: AlertEvent = {
        change,
        kind: observation.kind,
        targetId: observation.targetId,
        displayName: observation.displayName,
        ...(observation.status !== undefined ? { status: observation.status } : {}),
        ...(observation.error ? { error: observation.error } : {}),
        hazards: observation.hazards,
        ...(failingSince !== undefined ? { failingSince } : {}),
        ...(observation.evidence ? { evidence: observation.evidence } : {}),
      };
      events[channel] = event;
      channelEvents.push(event);
    }
    targets.push({ ...(previous ? { previous } : {}), observed, events });
  }

  const { summary } = input;
  const alerts: ChannelAlert[] = [];
  for (const [channel, events] of eventsByChannel) {
    if (events.length === 0) continue;
    alerts.push({
      channel,
      alert: {
        runId: summary.runId,
        tenantId: summary.tenantId,
        mode: summary.mode,
        scope: summary.scope,
        startedAt: summary.startedAt,
        finishedAt: summary.finishedAt,
        counts: summary.counts,
        ...(summary.error ? { runError: summary.error } : {}),
        ...(settings.reportBaseUrl ? { reportUrl: reportUrlOf(settings.reportBaseUrl, summary.tenantId, settings.signedInLinks) } : {}),
        events: events.sort(compareEvents),
      },
    });
  }
  return { now: input.now, alerts, targets };
}

/**
 * The state to store once delivery is over: each channel that accepted its alert has its notice recorded
 * (a failure stamps `notifiedAt`, a recovery clears it); the others keep theirs, so the next run raises
 * the same change again. A row nobody needs any more (recovered, no channel owed a recovery) is removed.
 */
export function settleAlertState(decision: AlertDecision, accepted: ReadonlySet<AlertChannelName>): AlertStateChanges {
  const put: AlertTargetState[] = [];
  const remove: string[] = [];
  for (const { previous, observed, events } of decision.targets) {
    const notifiedAt: Partial<Record<AlertChannelName, string>> = { ...observed.notifiedAt };
    for (const [channel, event] of Object.entries(events) as [AlertChannelName, AlertEvent][]) {
      if (!accepted.has(channel)) continue;
      if (event.change === "recovered") delete notifiedAt[channel];
      else notifiedAt[channel] = decision.now;
    }
    const next: AlertTargetState = { ...observed, notifiedAt };
    if (next.failingSince === undefined && Object.keys(notifiedAt).length === 0) {
      if (previous) remove.push(next.key);
    } else if (!previous || !sameState(previous, next)) {
      put.push(next);
    }
  }
  return { put, remove };
}

function sameState(a: AlertTargetState, b: AlertTargetState): boolean {
  const channels = new Set([...Object.keys(a.notifiedAt), ...Object.keys(b.notifiedAt)]) as Set<AlertChannelName>;
  return (
    a.kind === b.kind &&
    a.targetId === b.targetId &&
    a.displayName === b.displayName &&
    a.failingSince === b.failingSince &&
    [...channels].every((channel) => a.notifiedAt[channel] === b.notifiedAt[channel])
  );
}
