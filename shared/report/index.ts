export {
  buildTenantReport,
  failingSince,
  isMailboxIdentifier,
  mailboxHistory,
  streamTenantReport,
  type FailureRow,
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
export {
  reportChunks,
  runReportCommand,
  type ReportFormat,
  type ReportRequest,
  type ReportResult,
} from "./report-command";
