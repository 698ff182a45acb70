/**
 * Per-target results of a run, as data. Every target the run looked at gets exactly one outcome;
 * nothing is reported compliant or remediated without state read from Exchange to prove it.
 */

export type OutcomeStatus =
  /** Read, and matches the policy. */
  | "compliant"
  /** Was drifted; changed in this run and read back matching the policy. */
  | "remediated"
  /** Drifted; `plan` mode (or a change limit) left it as it is. */
  | "drift"
  /** On the policy's allow-list: reported, not changed. */
  | "exempt"
  /** The policy does not apply to this target (e.g. out of scope). */
  | "not-applicable"
  /** Could not be read, changed or verified. */
  | "failed";

/** Every kind of target, for validating what storage and policy files hold (one list, so none falls behind). */
export const TARGET_KINDS = [
  "organization",
  "mailbox",
  "bypass-association",
  "capture-mailbox",
  "transport-rule",
  "journal-rule",
  /** The unified audit log holds the records of an earlier run's changes (target id: that run's id). */
  "audit-trail",
  /** The unified audit log receives mailbox audit records (target id: `mailbox-activity`). */
  "audit-activity",
] as const;

export type TargetKind = (typeof TARGET_KINDS)[number];

export type FindingKind =
  /** A setting differs from the policy. */
  | "drift"
  /** A policy action Exchange no longer accepts was replaced by its successor (e.g. MessageBind -> MailItemsAccessed). */
  | "substitution"
  /** A policy action needs a licence the mailbox does not hold; not a failure, not compliant for that action. */
  | "licence-gap"
  /** The target is exempt from part of the policy (allow-list). */
  | "exemption"
  /** Informational: the mailbox no longer follows Microsoft's default audit set for these logon types. */
  | "custom-audit-set"
  /** Something outside the product's control defeats the policy (e.g. a shadowing transport rule). */
  | "hazard"
  /** A change Exchange accepted but has not put into effect yet (e.g. organisation customization); retried next run. */
  | "pending";

export interface Finding {
  readonly kind: FindingKind;
  /** The setting, e.g. `AuditOwner`, `AuditEnabled`, `State`. */
  readonly setting: string;
  readonly current?: unknown;
  readonly desired?: unknown;
  readonly message: string;
}

export interface OutcomeError {
  /** Exchange error id or a product code such as `VerifyMismatch`, `ChangeLimitReached`. */
  readonly code: string;
  readonly message: string;
  readonly requestId?: string;
  readonly status?: number;
}

export interface TargetOutcome {
  readonly kind: TargetKind;
  /** Stable id: Entra object id for mailboxes, the rule GUID or managed name for rules, `organization` for the org. */
  readonly targetId: string;
  /** Readable name (address, rule name). */
  readonly displayName: string;
  readonly status: OutcomeStatus;
  readonly findings: readonly Finding[];
  /** Relevant settings as read before any change. */
  readonly before?: Readonly<Record<string, unknown>>;
  /** Relevant settings as read back after the change (apply mode, remediated or failed verify). */
  readonly after?: Readonly<Record<string, unknown>>;
  readonly error?: OutcomeError;
  /** Mailboxes: recipient type, e.g. `UserMailbox`. */
  readonly recipientType?: string;
}

export type RunMode = "plan" | "apply";
export type RunScope = "incremental" | "full" | "mailboxes";

/** What started a run: the nightly timer, an HTTP caller (Entra object id, or "function key"), or the CLI (its OS user). */
export interface RunTrigger {
  readonly kind: "timer" | "http" | "cli";
  readonly by?: string;
}

export interface RunSummary {
  readonly runId: string;
  readonly tenantId: string;
  readonly mode: RunMode;
  readonly scope: RunScope;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly counts: Readonly<Record<OutcomeStatus, number>>;
  /**
   * Targets with at least one finding of each kind. Licence gaps and substitutions are counted here, beside the
   * status counts, so a mailbox whose only gap is licensing is never reported as plainly compliant.
   */
  readonly findingCounts?: Readonly<Partial<Record<FindingKind, number>>>;
  /** Exchange HTTP calls made by this run, by cmdlet (`$batch` counted once per batch as `$batch`). */
  readonly exchangeCalls: Readonly<Record<string, number>>;
  /** Microsoft Graph calls made by this run's audit-log evidence phase, by route (absent when none). */
  readonly graphCalls?: Readonly<Record<string, number>>;
  readonly durationInMs: number;
  /**
   * Targets the run's change limit left unchanged (`drift`, `ChangeLimitReached`); absent when none. Such a run keeps
   * its watermarks, so the next run reads those targets again.
   */
  readonly changesHeldBack?: number;
  readonly trigger?: RunTrigger;
  /** Run-level failure (could not observe, etc.), if any. */
  readonly error?: OutcomeError;
}

/** Zero of every status. */
export function emptyCounts(): Record<OutcomeStatus, number> {
  return { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 };
}

/** Adds one tally (status and finding counts) into another. */
export function mergeCounts(
  into: { counts: Record<OutcomeStatus, number>; findingCounts: Partial<Record<FindingKind, number>> },
  from: { readonly counts: Readonly<Record<OutcomeStatus, number>>; readonly findingCounts?: Readonly<Partial<Record<FindingKind, number>>> },
): void {
  for (const [status, count] of Object.entries(from.counts)) into.counts[status as OutcomeStatus] += count;
  for (const [kind, count] of Object.entries(from.findingCounts ?? {})) {
    into.findingCounts[kind as FindingKind] = (into.findingCounts[kind as FindingKind] ?? 0) + (count ?? 0);
  }
}

/**
 * Whether a finished run may move the watermarks: an apply over the tenant (not named mailboxes) with no run error
 * and no failed target. A failed target keeps the watermark, so the next incremental run reads it again.
 */
export function watermarksMayAdvance(summary: Pick<RunSummary, "mode" | "scope" | "error" | "counts">): boolean {
  return summary.mode === "apply" && summary.scope !== "mailboxes" && summary.error === undefined && summary.counts.failed === 0;
}

/** Adds one outcome to a run's status and finding tallies. */
export function tallyOutcome(
  counts: Record<OutcomeStatus, number>,
  findingCounts: Partial<Record<FindingKind, number>>,
  outcome: TargetOutcome,
): void {
  counts[outcome.status] += 1;
  for (const kind of new Set(outcome.findings.map((finding) => finding.kind))) findingCounts[kind] = (findingCounts[kind] ?? 0) + 1;
}

/** Calls made between two cumulative per-cmdlet snapshots (cmdlets with none left out). */
export function callsSince(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [cmdlet, count] of Object.entries(after)) {
    const made = count - (before[cmdlet] ?? 0);
    if (made > 0) calls[cmdlet] = made;
  }
  return calls;
}
