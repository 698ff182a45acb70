import type { Finding, TargetOutcome } from "../domain/outcome";
import type { RecordedOutcome } from "../storage/outcome-store";
import { activitySummary, auditActivityEvidence, auditTrailEvidence, missingChangeLine, trailSummary } from "./audit-evidence";

/**
 * CSV rendering of recorded outcomes: RFC 4180 (every field quoted, quotes doubled, CRLF record ends) and safe to
 * open in a spreadsheet. Display names, rule names and error messages come from the tenant and may be hostile: a
 * field starting with a formula trigger (`=`, `+`, `-`, `@`, also after leading whitespace, which spreadsheets skip;
 * or tab, CR, NUL) gets a leading `'`, which Excel and LibreOffice read as "text", as OWASP and ASVS 1.2.10 recommend.
 */

export const OUTCOME_CSV_COLUMNS = [
  "kind",
  "targetId",
  "displayName",
  "recipientType",
  "status",
  "findings",
  "errorCode",
  "errorMessage",
  "errorRequestId",
  "runId",
  "runStartedAt",
  "evidence",
  "lastVerifiedAt",
] as const;

const FORMULA_TRIGGER = /^(?:[\t\r\0]|\s*[=+\-@])/;
const RECORD_END = "\r\n";

/** One field: neutralised against formula injection, then quoted. */
export function csvField(value: string): string {
  const text = FORMULA_TRIGGER.test(value) ? `'${value}` : value;
  return `"${text.replaceAll('"', '""')}"`;
}

/** One record, ending in CRLF. */
export function csvRecord(values: readonly string[]): string {
  return values.map(csvField).join(",") + RECORD_END;
}

/** `kind setting` of each finding, `; `-separated: enough to filter on; the JSON report has the details. */
export function findingsSummary(findings: readonly Finding[]): string {
  return findings.map((finding) => `${finding.kind} ${finding.setting}`).join("; ");
}

/**
 * The audit log's evidence of an `audit-trail` or `audit-activity` target in one field: `3 of 5 changes found in the
 * audit log; missing: Set-Mailbox on mailbox ...` or `1,234 mailbox audit records`; empty for every other target.
 */
export function evidenceSummary(outcome: Pick<TargetOutcome, "kind" | "targetId" | "status" | "error" | "after">): string {
  const trail = auditTrailEvidence(outcome);
  if (trail) {
    const missing = trail.missing.map(missingChangeLine);
    return [trailSummary(outcome, trail), ...(missing.length > 0 ? [`missing: ${missing.join(", ")}${trail.missingTruncated ? ", ..." : ""}`] : [])].join("; ");
  }
  const activity = auditActivityEvidence(outcome);
  return activity ? activitySummary(outcome, activity) : "";
}

export function outcomeCsvValues(outcome: RecordedOutcome): string[] {
  return [
    outcome.kind,
    outcome.targetId,
    outcome.displayName,
    outcome.recipientType ?? "",
    outcome.status,
    findingsSummary(outcome.findings),
    outcome.error?.code ?? "",
    outcome.error?.message ?? "",
    outcome.error?.requestId ?? "",
    outcome.runId,
    outcome.runStartedAt,
    evidenceSummary(outcome),
    outcome.lastVerifiedAt ?? outcome.runStartedAt,
  ];
}

export const OUTCOME_CSV_HEADER = csvRecord(OUTCOME_CSV_COLUMNS);

export function outcomeCsvRecord(outcome: RecordedOutcome): string {
  return csvRecord(outcomeCsvValues(outcome));
}
