/**
 * Pure planning: observed state (or one slice of it: the reconciler plans page by page) -> the writes to make and
 * the outcome each target is expected to end with. No awaits, no logging, no clock reads.
 */
import type { CmdletRequest } from "../exchange/transport";
import type { RunMode, TargetKind, TargetOutcome } from "../domain/outcome";
import type { AuditPolicy } from "./policy";
import { diffBypass, diffMailbox, diffOrganization } from "./diff";
import { mailboxTargetId, type ObservedBypass, type ObservedMailbox, type ObservedOrganization } from "./observed";

export const ORGANIZATION_TARGET_ID = "organization";
/** The organisation target's name when Exchange did not give the tenant's DisplayName. */
export const ORGANIZATION_DISPLAY_NAME = "Organization";

/** The writes for one target. All `requests` must succeed for the target to be changed. */
export interface PlannedAction {
  readonly targetKind: TargetKind;
  readonly targetId: string;
  readonly requests: readonly CmdletRequest[];
  /** Mailboxes: the single retry to send if Exchange rejects a licence-gated action (`null`: nothing left to send). */
  readonly licenceFallback?: CmdletRequest | null;
}

export interface PlannedTarget {
  /**
   * The outcome expected for the target: final for targets without an action; for targets with an action,
   * `drift` in plan mode and `remediated` in apply mode — to be confirmed by the reconciler's read-back.
   */
  readonly outcome: TargetOutcome;
  readonly action?: PlannedAction;
}

/** Observed state to plan against. Any part may be absent (a page of mailboxes carries only `mailboxes`). */
export interface ObservedSlice {
  readonly organization?: ObservedOrganization;
  readonly bypassAssociations?: readonly ObservedBypass[];
  readonly mailboxes?: readonly ObservedMailbox[];
  /** Audit (Premium) by ExternalDirectoryObjectId; a mailbox missing here is treated as not licensed. */
  readonly licences?: ReadonlyMap<string, boolean>;
}

export interface PlanOptions {
  readonly now: Date;
  /** Targets that may still be changed (across the run: pass what earlier slices left); undefined = unlimited. */
  readonly changeLimit?: number;
  readonly mode: RunMode;
}

export interface RunPlan {
  /** One per observed target, in order: organization, bypass associations, mailboxes. */
  readonly targets: readonly PlannedTarget[];
  /** The actions of `targets`, in the same order. */
  readonly actions: readonly PlannedAction[];
  /** Targets that needed a change the change limit held back. */
  readonly heldBack: number;
}

interface TargetDraft {
  readonly outcome: TargetOutcome;
  readonly requests?: readonly CmdletRequest[];
  readonly licenceFallback?: CmdletRequest | null;
}

function draftsFor(policy: AuditPolicy, observed: ObservedSlice, now: Date): TargetDraft[] {
  const drafts: TargetDraft[] = [];
  if (observed.organization) {
    const diff = diffOrganization(policy, observed.organization);
    drafts.push({
      outcome: {
        kind: "organization",
        targetId: ORGANIZATION_TARGET_ID,
        displayName: observed.organization.DisplayName || ORGANIZATION_DISPLAY_NAME,
        status: diff.changes.length > 0 ? "drift" : "compliant",
        findings: diff.findings,
        before: diff.before,
      },
      ...(diff.changes.length > 0 ? { requests: diff.changes } : {}),
    });
  }
  for (const association of observed.bypassAssociations ?? []) {
    const diff = diffBypass(policy, association, now);
    drafts.push({
      outcome: {
        kind: "bypass-association",
        targetId: diff.targetId,
        displayName: diff.displayName,
        status: diff.status,
        findings: diff.findings,
        before: diff.before,
      },
      ...(diff.change ? { requests: [diff.change] } : {}),
    });
  }
  for (const mailbox of observed.mailboxes ?? []) {
    const diff = diffMailbox(policy, mailbox, { licensed: observed.licences?.get(mailboxTargetId(mailbox)) });
    drafts.push({
      outcome: {
        kind: "mailbox",
        targetId: diff.targetId,
        displayName: diff.displayName,
        recipientType: diff.recipientType,
        status: diff.change || diff.reportOnlyDrift ? "drift" : "compliant",
        findings: diff.findings,
        before: diff.before,
      },
      ...(diff.change ? { requests: [diff.change] } : {}),
      ...(diff.licenceFallback !== undefined ? { licenceFallback: diff.licenceFallback } : {}),
    });
  }
  return drafts;
}

/** Plans a run (or a slice of one): which targets to change, within the change limit, and their expected outcomes. */
export function planRun(policy: AuditPolicy, observed: ObservedSlice, options: PlanOptions): RunPlan {
  let changesLeft = options.changeLimit ?? Number.POSITIVE_INFINITY;
  const targets: PlannedTarget[] = [];
  const actions: PlannedAction[] = [];
  let heldBack = 0;
  for (const draft of draftsFor(policy, observed, options.now)) {
    if (!draft.requests) {
      targets.push({ outcome: draft.outcome });
      continue;
    }
    if (changesLeft <= 0) {
      heldBack += 1;
      targets.push({
        outcome: {
          ...draft.outcome,
          status: "drift",
          error: { code: "ChangeLimitReached", message: "The run's change limit was reached; left unchanged" },
        },
      });
      continue;
    }
    changesLeft -= 1;
    const action: PlannedAction = {
      targetKind: draft.outcome.kind,
      targetId: draft.outcome.targetId,
      requests: draft.requests,
      ...(draft.licenceFallback !== undefined ? { licenceFallback: draft.licenceFallback } : {}),
    };
    actions.push(action);
    targets.push({ outcome: { ...draft.outcome, status: options.mode === "apply" ? "remediated" : "drift" }, action });
  }
  return { targets, actions, heldBack };
}
