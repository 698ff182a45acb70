import type { OutcomeStatus, TargetKind } from "../domain/outcome";
import { activitySummary, grantHint, missingChangeLine, trailSummary } from "./audit-evidence";
import type { ControlRow } from "./controls";
import { runCallsLine } from "./run-calls";
import type {
  AuditActivityRow,
  AuditEvidence,
  AuditTrailRow,
  LicenceGapGroup,
  MailboxHistory,
  ReportRow,
  ReportSection,
  StatusCounts,
  TenantReport,
} from "./tenant-report";

/** The report for a terminal: counts first, then the targets that need attention, at most `maxRows` per section. */

const STATUS_ORDER: readonly OutcomeStatus[] = [
  "failed",
  "drift",
  "remediated",
  "exempt",
  "not-applicable",
  "compliant",
];

function countsLine(counts: StatusCounts): string {
  const parts = STATUS_ORDER.filter((status) => counts[status] > 0).map((status) => `${counts[status]} ${status}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** Control characters in tenant data would rewrite the terminal (escape sequences) or fake extra lines. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => (char === "\n" ? "\\n" : "?"));
}

function rowLine(row: ReportRow): string {
  const parts = [
    `  ${row.status.toUpperCase().padEnd(14)} ${row.kind} ${printable(row.displayName)} (${printable(row.targetId)})`,
  ];
  if (row.error) {
    const requestId = row.error.requestId ? ` [request-id ${printable(row.error.requestId)}]` : "";
    parts.push(`      error ${printable(row.error.code)}: ${printable(row.error.message)}${requestId}`);
  }
  if (row.lastVerifiedAt !== undefined) parts.push(`      last verified ${printable(row.lastVerifiedAt)}`);
  if ("failingSince" in row && typeof row.failingSince === "string")
    parts.push(`      failing since ${row.failingSince}`);
  for (const finding of row.findings)
    parts.push(`      ${finding.kind} ${printable(finding.setting)}: ${printable(finding.message)}`);
  return parts.join("\n");
}

function sectionLines(title: string, section: ReportSection, maxRows: number): string[] {
  if (section.total === 0) return [];
  const lines = ["", `${title} (${section.total}):`, ...section.rows.slice(0, maxRows).map(rowLine)];
  const shown = Math.min(maxRows, section.rows.length);
  if (section.total > shown)
    lines.push(`  ... and ${section.total - shown} more (use --json or --csv for every target)`);
  return lines;
}

/** One line per kind of gap, as the HTML report groups them (the mailboxes are in --json, --csv and --html). */
function licenceGapLines(total: number, groups: readonly LicenceGapGroup[]): string[] {
  if (total === 0) return [];
  const line = (group: LicenceGapGroup) =>
    `  ${printable(group.setting)}: ${group.actions.length > 0 ? group.actions.map(printable).join(", ") : "licence-gated actions Exchange refused"} (${group.total} mailboxes)`;
  return ["", `Licence gaps (${total} mailboxes):`, ...groups.map(line)];
}

/** Missing changes listed per audited run (the JSON report has the first 20). */
const MISSING_LISTED = 5;

function evidenceNotes(row: AuditTrailRow | AuditActivityRow): string[] {
  const lines: string[] = [];
  if (row.evidence.permissionMissing !== undefined)
    lines.push(`      not checked: ${grantHint(printable(row.evidence.permissionMissing))}`);
  if (row.error) {
    const requestId = row.error.requestId ? ` [request-id ${printable(row.error.requestId)}]` : "";
    lines.push(`      error ${printable(row.error.code)}: ${printable(row.error.message)}${requestId}`);
  }
  for (const finding of row.findings)
    lines.push(`      ${finding.kind} ${printable(finding.setting)}: ${printable(finding.message)}`);
  return lines;
}

function trailLines(row: AuditTrailRow): string[] {
  const { evidence } = row;
  const counted = trailSummary(row, evidence);
  const lines = [`  ${row.status.toUpperCase().padEnd(14)} run ${printable(evidence.auditedRunId)}: ${counted}`];
  const listed = evidence.missing.slice(0, MISSING_LISTED);
  for (const change of listed) lines.push(`      missing ${printable(missingChangeLine(change))}`);
  const unlisted = Math.max((evidence.expected ?? 0) - (evidence.found ?? 0), evidence.missing.length) - listed.length;
  if (unlisted > 0) lines.push(`      ... and ${unlisted} more missing (use --json)`);
  else if (evidence.missingTruncated) lines.push("      ... and more missing (use --json)");
  return [...lines, ...evidenceNotes(row)];
}

function activityLines(row: AuditActivityRow): string[] {
  const counted = activitySummary(row, row.evidence);
  const window =
    row.evidence.windowStart !== undefined && row.evidence.windowEnd !== undefined
      ? ` (${printable(row.evidence.windowStart)} to ${printable(row.evidence.windowEnd)})`
      : "";
  return [`  ${row.status.toUpperCase().padEnd(14)} last 24 hours: ${counted}${window}`, ...evidenceNotes(row)];
}

/** The audit log's evidence: the mailbox-activity count, then each audited run, failures first. */
function auditEvidenceLines(evidence: AuditEvidence, maxRows: number): string[] {
  const { trails, activity } = evidence;
  if (!activity && trails.total === 0) return [];
  const lines = ["", "Audit trail evidence (unified audit log):"];
  if (activity) lines.push(...activityLines(activity));
  lines.push(...trails.rows.slice(0, maxRows).flatMap(trailLines));
  const shown = Math.min(maxRows, trails.rows.length);
  if (trails.total > shown) lines.push(`  ... and ${trails.total - shown} more audited runs (use --json)`);
  return lines;
}

function controlLine(control: ControlRow): string {
  const { counts } = control;
  const evidence = [
    `${counts.compliant + counts.remediated} meeting`,
    ...(["exempt", "drift", "failed"] as const)
      .filter((each) => counts[each] > 0)
      .map((each) => `${counts[each]} ${each}`),
  ];
  return `  ${control.verdict.padEnd(12)} ${printable(control.framework)} ${printable(control.id)} (${evidence.join(", ")})`;
}

function controlLines(controls: readonly ControlRow[]): string[] {
  return controls.length === 0 ? [] : ["", "Controls:", ...controls.map(controlLine)];
}

export function renderTextReport(report: TenantReport, maxRows = 20): string {
  const lines = [`Tenant ${report.tenant}: ${report.targets} targets, report generated ${report.generatedAt}`];
  if (report.runId !== undefined) lines.push(`  restricted to targets last recorded by run ${report.runId}`);
  const [latest] = report.runs;
  if (latest) {
    const failed = latest.error ? ` FAILED ${latest.error.code}: ${printable(latest.error.message)}` : "";
    lines.push(`  latest run ${latest.runId} (${latest.mode}, ${latest.scope}) started ${latest.startedAt}${failed}`);
    lines.push(`    calls: ${runCallsLine(latest)}`);
  } else lines.push("  no run recorded");
  lines.push(`  ${countsLine(report.counts.byStatus)}`);
  for (const [kind, counts] of Object.entries(report.counts.byKind) as [TargetKind, StatusCounts][]) {
    lines.push(`    ${kind}: ${countsLine(counts)}`);
  }
  const findings = Object.entries(report.counts.byFinding).filter(([, count]) => count > 0);
  if (findings.length > 0)
    lines.push(`  targets with findings: ${findings.map(([kind, count]) => `${count} ${kind}`).join(", ")}`);
  if (report.truncatedTargets > 0) lines.push(`  ${report.truncatedTargets} targets have fields shortened by storage`);
  lines.push(
    ...sectionLines("Failed", report.failures, maxRows),
    ...sectionLines("Hazards", report.hazards, maxRows),
    ...sectionLines("Drift", report.drift, maxRows),
    ...licenceGapLines(report.licenceGaps.total, report.licenceGapGroups),
    ...sectionLines("Exemptions", report.exemptions, maxRows),
    ...auditEvidenceLines(report.auditEvidence, maxRows),
    ...controlLines(report.controls),
  );
  return lines.join("\n") + "\n";
}

export function renderTextHistory(history: MailboxHistory): string {
  if (history.targetId === undefined)
    return `No recorded mailbox matches ${printable(history.mailbox)} in tenant ${history.tenant}.\n`;
  const lines = [
    `History of ${printable(history.displayName ?? history.mailbox)} (${history.targetId}), newest first:`,
  ];
  for (const entry of history.entries) {
    lines.push(`  ${entry.runStartedAt} run ${entry.runId}`, rowLine(entry));
  }
  if (history.entries.length === 0) lines.push("  (no entries)");
  return lines.join("\n") + "\n";
}
