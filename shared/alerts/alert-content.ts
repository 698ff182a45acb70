import type { Alert, AlertChange, AlertEvent } from "./alert-decision";

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

/** Who the event is about, e.g. `mailbox Alice Smith (0c1d...)`. */
export function subjectOf(event: AlertEvent): string {
  if (event.kind === "run") return "The run";
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
  if (event.failingSince) parts.push(`failing since ${event.failingSince}`);
  return parts.join("; ");
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
