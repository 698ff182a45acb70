export {
  buildTenantReport,
  failingSince,
  isMailboxIdentifier,
  mailboxHistory,
  streamTenantReport,
  type CaptureRow,
  type FailureRow,
  type LicenceGapGroup,
  type MailboxHistory,
  type ReportRow,
  type ReportSection,
  type StatusCounts,
  type TenantReport,
  type TenantReportOptions,
} from "./tenant-report";
export { csvField, csvRecord, findingsSummary, OUTCOME_CSV_COLUMNS, OUTCOME_CSV_HEADER, outcomeCsvRecord } from "./csv";
export { JSON_REPORT_HEAD, jsonOutcome, jsonReportTail } from "./json";
export { renderTextHistory, renderTextReport } from "./text";
export { renderHtmlHistory, renderHtmlReport } from "./html";
export { REPORT_CSP_HEADER } from "./html-style";
export { controlEvidence, controlsOf, type ControlRow, type ControlVerdict } from "./controls";
export {
  reportChunks,
  runReportCommand,
  shippedControls,
  type ReportFormat,
  type ReportRequest,
  type ReportResult,
} from "./report-command";
