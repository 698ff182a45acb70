/**
 * The control view of the report: every outcome mapped to the published controls it evidences, by the mapping in
 * the policy files (`controls`). Pure: the same outcome and mapping always give the same evidence.
 */
import type { ControlEvidence, ControlMapping } from "../domain/controls";
import type { Finding, OutcomeStatus, TargetOutcome } from "../domain/outcome";

export type ControlVerdict = "met" | "not-met" | "no-evidence";

/** One control with the evidence of the targets that bear on it. */
export interface ControlRow {
  readonly framework: string;
  readonly id: string;
  readonly title: string;
  /** Targets evidencing the control, by what they show of it (a target drifted elsewhere still meets it). */
  readonly counts: Readonly<Record<OutcomeStatus, number>>;
  /** Evidencing targets with a licence gap on the control's settings. */
  readonly licenceGaps: number;
  readonly verdict: ControlVerdict;
}

type EvidencedOutcome = Pick<TargetOutcome, "kind" | "recipientType" | "status" | "findings">;

/** `framework id`, the label rows carry. */
export function controlLabel(control: Pick<ControlMapping, "framework" | "id">): string {
  return `${control.framework} ${control.id}`;
}

function evidenceFor(control: ControlMapping, outcome: EvidencedOutcome): ControlEvidence[] {
  return control.evidence.filter(
    (evidence) =>
      evidence.kind === outcome.kind &&
      (evidence.recipientTypes === undefined ||
        (outcome.recipientType !== undefined && evidence.recipientTypes.includes(outcome.recipientType))),
  );
}

/** A finding's setting may name several (`AuditAdmin,AuditDelegate,AuditOwner`). */
function bearsOn(evidence: readonly ControlEvidence[], finding: Finding): boolean {
  const settings = finding.setting.split(",").map((setting) => setting.trim());
  return evidence.some(
    (each) => each.settings === undefined || settings.some((setting) => each.settings?.includes(setting)),
  );
}

/**
 * What the outcome shows of the control: undefined when it does not evidence it; its failure or exemption as
 * such; drift or remediated only when a finding on the control's settings says so; otherwise compliant.
 */
export function controlEvidence(control: ControlMapping, outcome: EvidencedOutcome): OutcomeStatus | undefined {
  const evidence = evidenceFor(control, outcome);
  if (evidence.length === 0) return undefined;
  if (outcome.status === "failed" || outcome.status === "not-applicable" || outcome.status === "exempt")
    return outcome.status;
  const relevant = outcome.findings.filter((finding) => bearsOn(evidence, finding));
  if (relevant.some((finding) => finding.kind === "drift" || finding.kind === "pending")) return outcome.status;
  if (relevant.some((finding) => finding.kind === "exemption")) return "exempt";
  return "compliant";
}

/** Labels of the controls that the given findings of the outcome (or its failure) bear on. */
export function controlsOf(
  controls: readonly ControlMapping[],
  outcome: EvidencedOutcome,
  findings: readonly Finding[],
): string[] {
  return controls
    .filter((control) => {
      const evidence = evidenceFor(control, outcome);
      if (evidence.length === 0) return false;
      return outcome.status === "failed" || findings.some((finding) => bearsOn(evidence, finding));
    })
    .map(controlLabel);
}

function verdictOf(counts: Readonly<Record<OutcomeStatus, number>>): ControlVerdict {
  if (counts.failed > 0 || counts.drift > 0) return "not-met";
  return counts.compliant + counts.remediated + counts.exempt > 0 ? "met" : "no-evidence";
}

/** Tallies the evidence of each control as outcomes stream past. */
export class ControlTally {
  private readonly tallies: { control: ControlMapping; counts: Record<OutcomeStatus, number>; licenceGaps: number }[];

  constructor(controls: readonly ControlMapping[]) {
    this.tallies = controls.map((control) => ({
      control,
      counts: { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 },
      licenceGaps: 0,
    }));
  }

  add(outcome: EvidencedOutcome): void {
    for (const tally of this.tallies) {
      const status = controlEvidence(tally.control, outcome);
      if (status === undefined) continue;
      tally.counts[status] += 1;
      const evidence = evidenceFor(tally.control, outcome);
      if (outcome.findings.some((finding) => finding.kind === "licence-gap" && bearsOn(evidence, finding)))
        tally.licenceGaps += 1;
    }
  }

  build(): ControlRow[] {
    return this.tallies.map(({ control, counts, licenceGaps }) => ({
      framework: control.framework,
      id: control.id,
      title: control.title,
      counts,
      licenceGaps,
      verdict: verdictOf(counts),
    }));
  }
}
