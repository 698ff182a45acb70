import { ORGANIZATION_DISPLAY_NAME, ORGANIZATION_TARGET_ID } from "../shared/audit/plan";
import type { Finding, OutcomeStatus, RunSummary, TargetOutcome } from "../shared/domain/outcome";
import { activitySummary, auditActivityEvidence, auditTrailEvidence, trailSummary } from "../shared/report/audit-evidence";

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

const asList = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const includesName = (list: readonly string[], name: string): boolean =>
  list.some((each) => each.toLowerCase() === name.toLowerCase());

/**
 * A change as terraform shows it: `~ AuditOwner: + MailItemsAccessed, + Send` for a list (actions are only added;
 * extras stay), `~ AuditEnabled: false -> true` for a value.
 */
export function formatChange(finding: Finding): string {
  if (Array.isArray(finding.desired)) {
    const current = asList(finding.current);
    const added = asList(finding.desired).filter((action) => !includesName(current, action));
    return `      ~ ${finding.setting}: ${added.length > 0 ? added.map((action) => `+ ${action}`).join(", ") : formatValue(finding.desired)}`;
  }
  return `      ~ ${finding.setting}: ${formatValue(finding.current)} -> ${formatValue(finding.desired)}`;
}

const isChange = (finding: Finding): boolean => finding.kind === "drift" && finding.desired !== undefined;

function formatFinding(finding: Finding): string {
  const values =
    finding.current !== undefined || finding.desired !== undefined
      ? ` (current: ${formatValue(finding.current)}; desired: ${formatValue(finding.desired)})`
      : "";
  return `      ${finding.kind} ${finding.setting}: ${finding.message}${values}`;
}

/**
 * A readable report of one target: status, name, then each change (`~ setting: before -> after`), its other
 * findings and its error. An exempt target gets one line naming what it is exempt from.
 */
export function formatOutcome(outcome: TargetOutcome): string {
  const header = `  ${outcome.status.toUpperCase().padEnd(11)} ${outcome.kind} ${outcome.displayName}`;
  if (outcome.status === "exempt") {
    const settings = [...new Set(outcome.findings.filter((finding) => finding.kind === "exemption").map((finding) => finding.setting))];
    return settings.length > 0 ? `${header}: ${settings.join(", ")}` : header;
  }
  const lines = [header];
  for (const finding of outcome.findings) lines.push(isChange(finding) ? formatChange(finding) : formatFinding(finding));
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
    `Run ${summary.runId} (${summary.mode}, ${summary.scope}) for tenant ${tenantName(summary, outcomes)}: ${(summary.durationInMs / 1000).toFixed(1)} s`,
  );
  if (summary.error) lines.push(`  RUN FAILED ${summary.error.code}: ${summary.error.message}`);
  if (summary.changesHeldBack) lines.push(`  CHANGE LIMIT reached: ${summary.changesHeldBack} targets left unchanged`);
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
  const graph = Object.entries(summary.graphCalls ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const graphTotal = graph.reduce((sum, [, count]) => sum + count, 0);
  if (graphTotal > 0) lines.push(`  Graph HTTP calls (audit log): ${graphTotal} (${graph.map(([name, count]) => `${name} ${count}`).join(", ")})`);
  for (const outcome of outcomes) {
    const trail = auditTrailEvidence(outcome);
    if (trail) lines.push(`  Audit log: changes of run ${trail.auditedRunId}: ${trailSummary(outcome, trail)}`);
    const activity = auditActivityEvidence(outcome);
    if (activity) lines.push(`  Audit log: last 24 hours: ${activitySummary(outcome, activity)}`);
  }
  const notable = outcomes
    .filter((outcome) => outcome.status !== "compliant" && outcome.status !== "not-applicable")
    .sort((a, b) => statusOrder.indexOf(a.status) - statusOrder.indexOf(b.status));
  if (notable.length > 0) lines.push("", "Targets:");
  for (const outcome of notable.slice(0, maxTargets)) lines.push(formatOutcome(outcome));
  if (notable.length > maxTargets) lines.push(`  ... and ${notable.length - maxTargets} more (use --json or 'mailbox-audit report')`);
  lines.push("", formatTotals(summary));
  return lines.join("\n");
}

/** `Contoso (contoso.onmicrosoft.com)` from the organisation's outcome; the tenant id alone when Exchange gave no name. */
export function tenantName(summary: Pick<RunSummary, "tenantId">, outcomes: readonly TargetOutcome[]): string {
  const name = outcomes.find((outcome) => outcome.kind === "organization" && outcome.targetId === ORGANIZATION_TARGET_ID)?.displayName;
  return name && name !== ORGANIZATION_DISPLAY_NAME ? `${name} (${summary.tenantId})` : summary.tenantId;
}

/** The last line: `Plan: 3 to change, 40 compliant, 1 failed` (apply: what it changed and what remains). */
export function formatTotals(summary: RunSummary): string {
  const { counts } = summary;
  const inPolicy = `${counts.compliant} compliant`;
  if (summary.mode === "plan") return `Plan: ${counts.drift} to change, ${inPolicy}, ${counts.failed} failed.`;
  const remaining = counts.drift > 0 ? `, ${counts.drift} still to change` : "";
  return `Apply: ${counts.remediated} changed, ${inPolicy}, ${counts.failed} failed${remaining}.`;
}

/** Exit code contract: 1 when anything failed, 2 when drift remains (plan, or apply past its change limit), else 0. */
export function exitCodeFor(summary: RunSummary): number {
  if (summary.error || summary.counts.failed > 0) return 1;
  if (summary.counts.drift > 0) return 2;
  return 0;
}
