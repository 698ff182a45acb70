/**
 * Pure diff and plan for hybrid mode: one managed Exchange journal rule sending journal reports to an external
 * or on-premises journaling mailbox, and `JournalingReportNdrTo` pointing at a mailbox that receives the
 * reports Exchange could not deliver (without it, undeliverable journal reports are lost).
 */
import type { Finding } from "../audit/outcome";
import type { CapturePolicy, CaptureSettings } from "./settings";
import { asFlag, asText, normaliseText, type CaptureAction, type TargetPlan } from "./target-plan";

export interface JournalPlanInput {
  readonly policy: CapturePolicy;
  readonly settings: CaptureSettings;
  /** `Get-JournalRule` output. */
  readonly journalRules: readonly Readonly<Record<string, unknown>>[];
  /** `Get-TransportConfig` output. */
  readonly transportConfig: Readonly<Record<string, unknown>>;
}

/** Plans the managed journal rule and the transport config's journaling NDR mailbox. */
export function planJournaling(input: JournalPlanInput): TargetPlan[] {
  const { policy, settings } = input;
  const journaling = settings.journaling;
  if (!journaling) throw new Error("planJournaling needs settings.journaling (journaling mode)");
  const name = policy.journalRule.name;
  const desired = { JournalEmailAddress: journaling.journalEmailAddress, Scope: journaling.scope ?? policy.journalRule.scope, Recipient: null, Enabled: true };
  const current = input.journalRules.find((rule) => normaliseText(rule["Name"]) === name.toLowerCase());
  const target = { kind: "journal-rule" as const, targetId: name, displayName: name };
  const plans: TargetPlan[] = [];

  if (!current) {
    plans.push({
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
    });
  } else {
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
    plans.push({ ...target, findings, actions, before: { JournalEmailAddress: current["JournalEmailAddress"], Scope: current["Scope"], Recipient: current["Recipient"] ?? null, Enabled: current["Enabled"] } });
  }

  const ndrTo = input.transportConfig["JournalingReportNdrTo"] ?? null;
  const ndrDrift = normaliseText(ndrTo) !== normaliseText(journaling.ndrMailbox);
  plans.push({
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
  });
  return plans;
}
