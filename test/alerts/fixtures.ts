import type { OutcomeStatus, RunSummary, TargetOutcome } from "../../shared/domain/outcome";
import type { AlertChannelName, AlertTargetState } from "../../shared/alerts/alert-decision";
import { alertTargetKey } from "../../shared/alerts/alert-decision";

export const TENANT = "6f1c2a3b-0000-4000-8000-000000000001";
export const NOW = "2026-03-10T12:00:00.000Z";

/** `NOW` minus whole days, as ISO. */
export function daysAgo(days: number, from: string = NOW): string {
  return new Date(Date.parse(from) - days * 24 * 60 * 60 * 1000).toISOString();
}

export function counts(overrides: Partial<Record<OutcomeStatus, number>> = {}): Record<OutcomeStatus, number> {
  return { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0, ...overrides };
}

export function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: "run-1",
    tenantId: TENANT,
    mode: "apply",
    scope: "full",
    startedAt: NOW,
    finishedAt: NOW,
    counts: counts({ compliant: 5, failed: 1 }),
    exchangeCalls: {},
    durationInMs: 1000,
    ...overrides,
  };
}

export function mailbox(
  targetId: string,
  status: OutcomeStatus,
  overrides: Partial<TargetOutcome> = {},
): TargetOutcome {
  return { kind: "mailbox", targetId, displayName: `${targetId}@contoso.com`, status, findings: [], ...overrides };
}

export function failed(targetId: string, overrides: Partial<TargetOutcome> = {}): TargetOutcome {
  return mailbox(targetId, "failed", {
    error: {
      code: "AccessDenied",
      message: `Access to ${targetId} is denied.`,
      requestId: `req-${targetId}`,
      status: 403,
    },
    ...overrides,
  });
}

/** Stored state of a mailbox that failed, notified on the given channels at the given times. */
export function failingState(
  targetId: string,
  notifiedAt: Partial<Record<AlertChannelName, string>>,
  failingSince: string | undefined = daysAgo(10),
): AlertTargetState {
  return {
    key: alertTargetKey("mailbox", targetId),
    kind: "mailbox",
    targetId,
    displayName: `${targetId}@contoso.com`,
    ...(failingSince !== undefined ? { failingSince } : {}),
    notifiedAt,
  };
}
