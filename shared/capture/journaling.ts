/**
 * Pure diff and plan for hybrid mode: one managed Exchange journal rule sending journal reports to an external
 * or on-premises journaling mailbox, and `JournalingReportNdrTo` pointing at a mailbox that receives the
 * reports Exchange could not deliver (without it, undeliverable journal reports are lost).
 */
import type { Finding, OutcomeError } from "../domain/outcome";
import type { CapturePolicy, CaptureSettings } from "./settings";
import { asFlag, asText, normaliseText, withWritesRefused, type CaptureAction, type TargetPlan } from "./target-plan";

/** Microsoft's journaling rules for Exchange Online, quoted in the refusal below. */
export const CONFIGURE_JOURNALING_URL = "https://learn.microsoft.com/exchange/security-and-compliance/journaling/configure-journaling";

export interface JournalPlanInput {
  readonly policy: CapturePolicy;
  readonly settings: CaptureSettings;
  /** `Get-JournalRule` output. */
  readonly journalRules: readonly Readonly<Record<string, unknown>>[];
  /** `Get-TransportConfig` output. */
  readonly transportConfig: Readonly<Record<string, unknown>>;
  /** `RecipientTypeDetails` of the NDR address when it is a recipient of the tenant (`Get-Recipient`); undefined when it is not. */
  readonly ndrRecipientType?: string;
}

type JournalingSettings = NonNullable<CaptureSettings["journaling"]>;

/** Exchange Online mailboxes (UserMailbox, SharedMailbox, ...). `Remote*Mailbox` values name on-premises mailboxes. */
function isExchangeOnlineMailbox(recipientTypeDetails: string | undefined): boolean {
  return recipientTypeDetails !== undefined && /mailbox$/i.test(recipientTypeDetails) && !/^remote/i.test(recipientTypeDetails);
}

/**
 * Why journaling must not be written with this NDR address, if it must not: Microsoft's rule is that "like the
 * journaling mailbox, the alternate journaling mailbox can't be an Exchange Online mailbox". A mail user, a mail
 * contact or an address outside the tenant is fine.
 */
export function journalNdrRefusal(ndrMailbox: string, ndrRecipientType: string | undefined): OutcomeError | undefined {
  if (!isExchangeOnlineMailbox(ndrRecipientType)) return undefined;
  return {
    code: "JournalNdrMailboxInvalid",
    message:
      `JOURNAL_NDR_MAILBOX ${ndrMailbox} is an Exchange Online ${String(ndrRecipientType)}. Microsoft: "Like the journaling mailbox, ` +
      `the alternate journaling mailbox can't be an Exchange Online mailbox." (${CONFIGURE_JOURNALING_URL}). Configure a mail user or ` +
      "mail contact (e.g. an on-premises mailbox) or an external address; nothing is written until then.",
  };
}

/**
 * Plans the transport config's journaling NDR mailbox and the managed journal rule, in that order (the order they
 * are applied): Exchange Online refuses New-JournalRule until JournalingReportNdrTo is set. Both are refused when
 * the NDR address is an Exchange Online mailbox.
 */
export function planJournaling(input: JournalPlanInput): TargetPlan[] {
  const journaling = input.settings.journaling;
  if (!journaling) throw new Error("planJournaling needs settings.journaling (journaling mode)");
  const plans = [planNdrMailbox(input, journaling), planJournalRule(input, journaling)];
  const refusal = journalNdrRefusal(journaling.ndrMailbox, input.ndrRecipientType);
  return refusal ? plans.map((plan) => withWritesRefused(plan, refusal)) : plans;
}

function planNdrMailbox(input: JournalPlanInput, journaling: JournalingSettings): TargetPlan {
  const ndrTo = input.transportConfig["JournalingReportNdrTo"] ?? null;
  const ndrDrift = normaliseText(ndrTo) !== normaliseText(journaling.ndrMailbox);
  return {
    kind: "organization",
    targetId: "transport-config",
    displayName: "Transport config (JournalingReportNdrTo)",
    findings: ndrDrift
      ? [{ kind: "drift", setting: "JournalingReportNdrTo", current: ndrTo, desired: journaling.ndrMailbox, message: "undeliverable journal reports go to the wrong mailbox (or nowhere)" }]
      : [],
    actions: ndrDrift
      ? [{ kind: "exchange", request: { cmdlet: "Set-TransportConfig", parameters: { JournalingReportNdrTo: journaling.ndrMailbox } }, description: `set JournalingReportNdrTo to ${journaling.ndrMailbox}` }]
      : [],
    before: { JournalingReportNdrTo: ndrTo },
  };
}

function planJournalRule(input: JournalPlanInput, journaling: JournalingSettings): TargetPlan {
  const { policy } = input;
  const name = policy.journalRule.name;
  const desired = { JournalEmailAddress: journaling.journalEmailAddress, Scope: journaling.scope ?? policy.journalRule.scope, Recipient: null, Enabled: true };
  const current = input.journalRules.find((rule) => normaliseText(rule["Name"]) === name.toLowerCase());
  const target = { kind: "journal-rule" as const, targetId: name, displayName: name };

  if (!current) {
    return {
      ...target,
      findings: [{ kind: "drift", setting: "Present", current: false, desired: true, message: "the journal rule is missing" }],
      actions: [
        {
          kind: "exchange",
          request: { cmdlet: "New-JournalRule", parameters: { Name: name, JournalEmailAddress: desired.JournalEmailAddress, Scope: desired.Scope, Enabled: true } },
          description: `create journal rule "${name}"`,
        },
      ],
      before: { Present: false },
    };
  }

  const identity = asText(current["Guid"] ?? current["Identity"] ?? name);
  const findings: Finding[] = [];
  const setParameters: Record<string, unknown> = {};
  for (const field of ["JournalEmailAddress", "Scope", "Recipient"] as const) {
    if (normaliseText(current[field]) === normaliseText(desired[field])) continue;
    findings.push({ kind: "drift", setting: field, current: current[field] ?? null, desired: desired[field], message: `${field} differs from the capture policy` });
    setParameters[field] = desired[field];
  }
  const actions: CaptureAction[] = [];
  if (Object.keys(setParameters).length > 0) {
    actions.push({ kind: "exchange", request: { cmdlet: "Set-JournalRule", parameters: { Identity: identity, ...setParameters } }, description: `set ${Object.keys(setParameters).join(", ")} on "${name}"` });
  }
  if (!asFlag(current["Enabled"])) {
    findings.push({ kind: "drift", setting: "Enabled", current: false, desired: true, message: "the journal rule is disabled" });
    actions.push({ kind: "exchange", request: { cmdlet: "Enable-JournalRule", parameters: { Identity: identity } }, description: `enable "${name}"` });
  }
  return { ...target, findings, actions, before: { JournalEmailAddress: current["JournalEmailAddress"], Scope: current["Scope"], Recipient: current["Recipient"] ?? null, Enabled: current["Enabled"] } };
}
