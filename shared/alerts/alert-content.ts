import type { Alert, AlertAuditEvidence, AlertChange, AlertEvent } from "./alert-decision";

/**
 * The words of an alert, shared by every channel format, and the bound on its size: a channel lists at
 * most `maxListedEvents` events and says how many more there are; long texts from Exchange are cut.
 */

export const DEFAULT_MAX_LISTED_EVENTS = 50;
/** Exchange error texts can be long (stack-like details); one line of an alert stays readable. */
export const MAX_TEXT_LENGTH = 500;

export interface AlertCounts {
  readonly new: number;
  readonly stillFailing: number;
  readonly recovered: number;
}

export interface ListedEvents {
  readonly listed: readonly AlertEvent[];
  /** Events left out of the listing. */
  readonly omitted: number;
}

const CHANGE_LABEL: Record<AlertChange, string> = {
  new: "New failure",
  "still-failing": "Still failing",
  recovered: "Recovered",
};

export function changeLabel(change: AlertChange): string {
  return CHANGE_LABEL[change];
}

export function countChanges(alert: Alert): AlertCounts {
  const count = (change: AlertChange): number => alert.events.filter((event) => event.change === change).length;
  return { new: count("new"), stillFailing: count("still-failing"), recovered: count("recovered") };
}

export function listEvents(alert: Alert, maxListedEvents: number = DEFAULT_MAX_LISTED_EVENTS): ListedEvents {
  const listed = alert.events.slice(0, Math.max(0, maxListedEvents));
  return { listed, omitted: alert.events.length - listed.length };
}

export function clipText(text: string, maxLength: number = MAX_TEXT_LENGTH): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`;
}

/** E.g. `Mailbox audit alert for tenant contoso: 2 new failures, 1 recovered`. */
export function alertTitle(alert: Alert): string {
  const counts = countChanges(alert);
  const parts = [
    alert.runError ? "run failed" : undefined,
    counts.new ? `${counts.new} new ${counts.new === 1 ? "failure" : "failures"}` : undefined,
    counts.stillFailing ? `${counts.stillFailing} still failing` : undefined,
    counts.recovered ? `${counts.recovered} recovered` : undefined,
  ].filter((part): part is string => part !== undefined);
  return `Mailbox audit alert for tenant ${alert.tenantId}: ${parts.join(", ") || "no changes"}`;
}

/** Who the event is about, e.g. `mailbox Alice Smith (0c1d...)`, `Audit log: changes of run r-1`. */
export function subjectOf(event: AlertEvent): string {
  if (event.kind === "run") return "The run";
  if (event.kind === "audit-trail") return `Audit log: changes of run ${clipText(event.evidence?.auditedRunId ?? event.targetId, 200)}`;
  if (event.kind === "audit-activity") return "Audit log: mailbox audit records (last 24 hours)";
  return `${event.kind} ${clipText(event.displayName, 200)} (${clipText(event.targetId, 200)})`;
}

/** What went wrong, e.g. `AccessDenied: Access is denied. (request id 9f...)`; empty for recoveries. */
export function problemOf(event: AlertEvent): string {
  if (event.change === "recovered") return event.status ? `now ${event.status}` : "now succeeding";
  const parts: string[] = [];
  if (event.error) {
    const status = event.error.status !== undefined ? ` HTTP ${event.error.status}` : "";
    const requestId = event.error.requestId ? ` (request id ${event.error.requestId})` : "";
    parts.push(`${event.error.code}${status}: ${clipText(event.error.message)}${requestId}`);
  }
  for (const hazard of event.hazards) parts.push(`hazard on ${hazard.setting}: ${clipText(hazard.message)}`);
  if (event.evidence) parts.push(...evidenceParts(event.kind, event.evidence, event.error?.code));
  if (event.failingSince) parts.push(`failing since ${event.failingSince}`);
  const advice = adviceFor(event.error?.code);
  if (advice) parts.push(advice);
  return parts.join("; ");
}

/** `1 of 3 changes found in the audit log`, `missing: Set-Mailbox on mailbox adele@... (0c1d...), ...`, the window. */
function evidenceParts(kind: AlertEvent["kind"], evidence: AlertAuditEvidence, code: string | undefined): string[] {
  const parts: string[] = [];
  // A search that failed read nothing: its zero counts are no finding.
  const read = code === "AuditTrailMissing" || code === "AuditActivityMissing";
  if (read && kind === "audit-trail" && evidence.expected !== undefined && evidence.found !== undefined)
    parts.push(`${evidence.found} of ${evidence.expected} ${evidence.expected === 1 ? "change" : "changes"} found in the audit log`);
  if (read && kind === "audit-activity" && evidence.records !== undefined)
    parts.push(`${evidence.records} mailbox audit ${evidence.records === 1 ? "record" : "records"} in the last 24 hours`);
  if (evidence.missing && evidence.missing.length > 0) {
    const changes = evidence.missing.map((change) => {
      const operations = change.operations.length > 0 ? change.operations.join(", ") : "a change";
      const name = clipText(change.displayName, 200);
      const id = clipText(change.targetId, 200);
      return `${operations} on ${change.kind} ${name === id ? id : `${name} (${id})`}`;
    });
    const more = evidence.moreMissing ? ` and ${evidence.moreMissing} more` : "";
    parts.push(`missing: ${changes.join(", ")}${more}`);
  }
  if (evidence.windowStart && evidence.windowEnd) parts.push(`searched ${evidence.windowStart} to ${evidence.windowEnd}`);
  if (evidence.queryId) parts.push(`audit log query ${clipText(evidence.queryId, 200)}`);
  return parts;
}

/**
 * What to check, for the audit log's failures: every switch can be on while records still do not arrive, and the
 * alert has to say where to look.
 */
const ADVICE: Readonly<Record<string, string>> = {
  AuditTrailMissing:
    "the audit pipeline is broken even though every switch is on: Exchange made and read back these changes, yet the unified audit log holds no admin record of them after 24 hours. Check Microsoft 365 service health (Purview Audit), that Get-AdminAuditLogConfig still shows UnifiedAuditLogIngestionEnabled True, and search Purview Audit for the window; if the records are not there, open a Microsoft support case quoting the query id",
  AuditActivityMissing:
    "the audit pipeline is broken even though every switch is on: the tenant has mailboxes but no mailbox audit record reached the unified audit log in 24 hours. Check Microsoft 365 service health (Purview Audit), Get-OrganizationConfig AuditDisabled False, the mailboxes' AuditEnabled and bypass associations (the report), and search Purview Audit for mailbox activity in the window; if there is none, open a Microsoft support case quoting the query id",
  AuditQueryFailed:
    "the unified audit log could not be searched, so nothing is proven either way: the Graph error says why (throttling, service health, the AuditLogsQuery-Exchange.Read.All permission); the next run searches again",
};

export function adviceFor(code: string | undefined): string | undefined {
  return code !== undefined && Object.hasOwn(ADVICE, code) ? ADVICE[code] : undefined;
}

/** One plain-text line per event. */
export function eventLine(event: AlertEvent): string {
  return `[${changeLabel(event.change)}] ${subjectOf(event)}: ${problemOf(event)}`;
}

export function omittedLine(omitted: number): string {
  return `…and ${omitted} more`;
}

/** `compliant 10, remediated 2, failed 1` (zero counts left out). */
export function countsLine(alert: Alert): string {
  return (
    Object.entries(alert.counts)
      .filter(([, count]) => count > 0)
      .map(([status, count]) => `${status} ${count}`)
      .join(", ") || "no targets"
  );
}

/** Run identity and totals, e.g. `Run r-1 (apply, full), finished 2025-...: compliant 10, failed 1`. */
export function runLine(alert: Alert): string {
  return `Run ${alert.runId} (${alert.mode}, ${alert.scope}), finished ${alert.finishedAt}: ${countsLine(alert)}`;
}
