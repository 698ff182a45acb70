/**
 * The change limit's alert: a run whose change limit held changes back asks an operator to review and approve them
 * with an on-demand apply. It travels in the run's ordinary alert as a pseudo-target (organisation kind, id
 * `change-limit`), so the alert state treats it like any target: raised when a run first holds changes back,
 * reminded while runs keep doing so, recovered when an apply over the tenant holds nothing back. Pure.
 */
import type { RunSummary, TargetOutcome } from "../domain/outcome";

export const CHANGE_LIMIT_TARGET_ID = "change-limit";

const APPROVE = 'POST /api/runs {"mode":"apply","scope":"tenant"} (add "changeLimit": n to approve n at a time)';

function heldBackMessage(heldBack: number, changeLimit: number | undefined): string {
  const limit = changeLimit === undefined ? "The change limit" : `The change limit of ${changeLimit}`;
  return `${limit} held back ${heldBack} targets: they are left as they are and read again by the next run. Review them in the report (or an on-demand plan), then approve with an on-demand apply: ${APPROVE}.`;
}

/**
 * The pseudo-target's outcome for an apply: failed (alerted) when it held changes back; compliant (a recovery, when
 * it had been alerted) when it covered the tenant, held nothing back and did not fail; otherwise (plans) none.
 */
export function changeLimitOutcomes(summary: RunSummary, changeLimit: number | undefined): TargetOutcome[] {
  const target = { kind: "organization", targetId: CHANGE_LIMIT_TARGET_ID, displayName: "Change limit", findings: [] } as const;
  if (summary.mode !== "apply") return [];
  const heldBack = summary.changesHeldBack ?? 0;
  if (heldBack > 0) {
    return [{ ...target, status: "failed", error: { code: "ChangeLimitReached", message: heldBackMessage(heldBack, changeLimit) } }];
  }
  return summary.scope !== "mailboxes" && summary.error === undefined ? [{ ...target, status: "compliant" }] : [];
}
