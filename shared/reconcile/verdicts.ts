/**
 * Pure verdicts of the apply and verify phases: how a write's answer and a read-back turn an expected outcome into
 * the final one. Nothing here reads Exchange; everything is decided on what was read.
 */
import { ALREADY_AUDITED_TEXT, LICENCE_REJECTION_TEXT } from "../audit/audit-actions";
import { diffMailbox } from "../audit/diff";
import type { ObservedMailbox } from "../audit/observed";
import type { MailboxIdentity } from "../audit/opath";
import type { AuditPolicy } from "../audit/policy";
import type { Finding, OutcomeError, OutcomeStatus, TargetOutcome } from "../domain/outcome";

/** `setting` of the licence-gap finding added when Exchange rejected gated actions the licence input allowed. */
export const LICENCE_REJECTION_SETTING = "AuditAdmin,AuditDelegate,AuditOwner";

/** A dehydrated tenant's refusal: the change needs Enable-OrganizationCustomization first. */
export function needsOrganizationCustomization(error: OutcomeError): boolean {
  return error.message.includes("Enable-OrganizationCustomization");
}

/** "Already being audited": a write whose earlier attempt landed; the read-back decides. */
export function isAlreadyAudited(error: OutcomeError): boolean {
  return error.message.toLowerCase().includes(ALREADY_AUDITED_TEXT);
}

export function isLicenceRejection(error: OutcomeError): boolean {
  return error.message.toLowerCase().includes(LICENCE_REJECTION_TEXT);
}

export function withLicenceRejection(outcome: TargetOutcome, error: OutcomeError): TargetOutcome {
  const finding: Finding = {
    kind: "licence-gap",
    setting: LICENCE_REJECTION_SETTING,
    message: `Exchange rejected licence-gated actions (${error.message}); retried without them`,
  };
  return { ...outcome, findings: [...outcome.findings, finding] };
}

export function failed(outcome: TargetOutcome, error: OutcomeError): TargetOutcome {
  return { ...outcome, status: "failed", error };
}

export function mismatch(expected: TargetOutcome, after: Readonly<Record<string, unknown>>, remaining: readonly Finding[]): TargetOutcome {
  const settings = remaining.map((finding) => finding.setting).join(", ");
  return {
    ...expected,
    status: "failed",
    after,
    error: { code: "VerifyMismatch", message: `Read back still drifted${settings ? `: ${settings}` : ""}` },
  };
}

export function missingFromReadBack(expected: TargetOutcome): TargetOutcome {
  return { ...expected, status: "failed", error: { code: "VerifyMismatch", message: "The change was not found in the read-back" } };
}

/**
 * A mailbox's outcome from state read after the run's writes: remediated (written) or compliant (nothing was left
 * to write after a licence rejection) when no writable drift remains; drift when only report-only drift remains.
 */
export function verifiedOutcome(
  policy: AuditPolicy,
  expected: TargetOutcome,
  readBack: ObservedMailbox,
  licensed: boolean | undefined,
  written: boolean,
): TargetOutcome {
  const diff = diffMailbox(policy, readBack, licensed === undefined ? {} : { licensed });
  if (diff.change) return mismatch(expected, diff.before, diff.findings.filter((finding) => finding.kind === "drift"));
  const status: OutcomeStatus = diff.reportOnlyDrift ? "drift" : written ? "remediated" : "compliant";
  if (written) return { ...expected, status, after: diff.before };
  const rejections = expected.findings.filter((finding) => finding.setting === LICENCE_REJECTION_SETTING);
  return { ...expected, status, findings: [...diff.findings, ...rejections] };
}

/** The findings a diff of a read-back gives: what the next run reading the same state will find (the digest's view). */
export function readBackFindings(policy: AuditPolicy, readBack: ObservedMailbox, licensed: boolean | undefined): { readonly findings: readonly Finding[] } {
  return { findings: diffMailbox(policy, readBack, licensed === undefined ? {} : { licensed }).findings };
}

export function notFoundOutcome(identity: MailboxIdentity): TargetOutcome {
  return {
    kind: "mailbox",
    targetId: identity.value,
    displayName: identity.value,
    status: "failed",
    findings: [],
    error: { code: "MailboxNotFound", message: `No mailbox matched '${identity.value}'` },
  };
}

export function invalidRowOutcome(row: Record<string, unknown>, message: string): TargetOutcome {
  const id = [row["ExternalDirectoryObjectId"], row["Guid"], row["PrimarySmtpAddress"]].find((value) => typeof value === "string" && value);
  return {
    kind: "mailbox",
    targetId: typeof id === "string" ? id : "unknown",
    displayName: typeof row["PrimarySmtpAddress"] === "string" ? row["PrimarySmtpAddress"] : "unknown",
    status: "failed",
    findings: [],
    error: { code: "InvalidResponse", message },
  };
}
