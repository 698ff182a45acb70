import type { Finding, OutcomeStatus, RunSummary, TargetOutcome } from "../shared/domain/outcome";

const statusOrder: readonly OutcomeStatus[] = ["failed", "drift", "remediated", "exempt", "not-applicable", "compliant"];

const MAX_LISTED_VALUES = 6;

function formatValue(value: unknown): string {
  if (value === undefined) return "(unset)";
  if (Array.isArray(value)) {
    if (value.length === 0) return "(none)";
    const listed = value.slice(0, MAX_LISTED_VALUES).join(", ");
    return value.length > MAX_LISTED_VALUES ? `${listed}, ... (${value.length} in all)` : listed;
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

function formatFinding(finding: Finding): string {
  const values =
    finding.current !== undefined || finding.desired !== undefined
      ? ` (current: ${formatValue(finding.current)}; desired: ${formatValue(finding.desired)})`
      : "";
  return `      ${finding.kind} ${finding.setting}: ${finding.message}${values}`;
}

/**
 * A readable report of one target: status, name, then its findings with current and desired values and its error.
 * A remediated target gets one line naming what was changed (the details are in --json and the report).
 */
export function formatOutcome(outcome: TargetOutcome): string {
  const header = `  ${outcome.status.toUpperCase().padEnd(11)} ${outcome.kind} ${outcome.displayName}`;
  if (outcome.status === "remediated" || outcome.status === "exempt") {
    const settings = [...new Set(outcome.findings.filter((finding) => finding.kind === "drift" || finding.kind === "exemption").map((finding) => finding.setting))];
    return settings.length > 0 ? `${header}: ${settings.join(", ")}` : header;
  }
  const lines = [header];
  for (const finding of outcome.findings) lines.push(formatFinding(finding));
  if (outcome.error) {
    const requestId = outcome.error.requestId ? ` [request-id ${outcome.error.requestId}]` : "";
    lines.push(`      error ${outcome.error.code}: ${outcome.error.message}${requestId}`);
  }
  return lines.join("\n");
}

/**
 * The human summary of a run: counts first, then the targets worth reading (failed, drifted, remediated, exempt),
 * at most `maxTargets` of them.
 */
export function formatRun(summary: RunSummary, outcomes: readonly TargetOutcome[], maxTargets = 40): string {
  const lines: string[] = [];
  lines.push(
    `Run ${summary.runId} (${summary.mode}, ${summary.scope}) for tenant ${summary.tenantId}: ${(summary.durationInMs / 1000).toFixed(1)} s`,
  );
  if (summary.error) lines.push(`  RUN FAILED ${summary.error.code}: ${summary.error.message}`);
  lines.push(
    "  " +
      statusOrder
        .filter((status) => summary.counts[status] > 0)
        .map((status) => `${summary.counts[status]} ${status}`)
        .join(", "),
  );
  const findings = Object.entries(summary.findingCounts ?? {}).filter(([kind, count]) => kind !== "drift" && count > 0);
  if (findings.length > 0) {
    lines.push(`  targets with findings: ${findings.map(([kind, count]) => `${count} ${kind}`).join(", ")}`);
  }
  const calls = Object.entries(summary.exchangeCalls).sort(([a], [b]) => a.localeCompare(b));
  const total = calls.reduce((sum, [, count]) => sum + count, 0);
  lines.push(`  Exchange HTTP calls: ${total}${total > 0 ? ` (${calls.map(([name, count]) => `${name} ${count}`).join(", ")})` : ""}`);
  const notable = outcomes
    .filter((outcome) => outcome.status !== "compliant" && outcome.status !== "not-applicable")
    .sort((a, b) => statusOrder.indexOf(a.status) - statusOrder.indexOf(b.status));
  if (notable.length > 0) lines.push("", "Targets:");
  for (const outcome of notable.slice(0, maxTargets)) lines.push(formatOutcome(outcome));
  if (notable.length > maxTargets) lines.push(`  ... and ${notable.length - maxTargets} more (use --json or 'mailbox-audit report')`);
  return lines.join("\n");
}

/** Exit code contract: 1 when anything failed, 2 when drift remains (plan, or apply past its change limit), else 0. */
export function exitCodeFor(summary: RunSummary): number {
  if (summary.error || summary.counts.failed > 0) return 1;
  if (summary.counts.drift > 0) return 2;
  return 0;
}
