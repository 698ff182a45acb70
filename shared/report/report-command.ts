import { defaultAuditPolicy } from "../audit/policy";
import { defaultCapturePolicy } from "../capture/settings";
import type { ControlMapping } from "../domain/controls";
import type { OutcomeStore } from "../storage/outcome-store";
import { OUTCOME_CSV_HEADER, outcomeCsvRecord } from "./csv";
import { renderHtmlHistory, renderHtmlReport } from "./html";
import { JSON_REPORT_HEAD, jsonOutcome, jsonReportTail } from "./json";
import { mailboxHistory, streamTenantReport, type MailboxHistory, type TenantReport } from "./tenant-report";
import { renderTextHistory, renderTextReport } from "./text";

export type ReportFormat = "text" | "json" | "csv" | "html";

export interface ReportRequest {
  readonly format: ReportFormat;
  /** A mailbox (GUID or SMTP address): its history instead of the tenant report. */
  readonly mailbox?: string;
  /** Only targets whose latest state this run recorded. */
  readonly runId?: string;
  /** Report time; default now. */
  readonly now?: Date;
  /** The control mapping of the policies in force; default: the shipped policies' (`shippedControls`). */
  readonly controls?: readonly ControlMapping[];
}

/** The control mapping of the shipped audit baseline and capture policy. */
export function shippedControls(): ControlMapping[] {
  return [...defaultAuditPolicy().controls, ...defaultCapturePolicy.controls];
}

export type ReportResult =
  | { readonly kind: "tenant"; readonly report: TenantReport }
  | { readonly kind: "mailbox"; readonly history: MailboxHistory };

/**
 * The report as text chunks, in order: every target streams through (JSON, CSV) so memory holds only the counts
 * and the bounded report sections. Returns what was reported, for exit codes and status lines.
 */
export async function* reportChunks(
  store: OutcomeStore,
  tenantId: string,
  request: ReportRequest,
): AsyncGenerator<string, ReportResult, void> {
  if (request.mailbox !== undefined) {
    const history = await mailboxHistory(store, tenantId, request.mailbox);
    if (request.format === "json") yield `${JSON.stringify(history, null, 2)}\n`;
    else if (request.format === "csv") yield [OUTCOME_CSV_HEADER, ...history.entries.map(outcomeCsvRecord)].join("");
    else if (request.format === "html") yield renderHtmlHistory(history);
    else yield renderTextHistory(history);
    return { kind: "mailbox", history };
  }
  const stream = streamTenantReport(store, tenantId, {
    now: request.now ?? new Date(),
    ...(request.runId !== undefined && { runId: request.runId }),
    controls: request.controls ?? shippedControls(),
    // CSV carries no summary: do not read histories only to drop them.
    ...(request.format === "csv" && { failingSinceLookups: 0 }),
  });
  if (request.format === "json") yield JSON_REPORT_HEAD;
  if (request.format === "csv") yield OUTCOME_CSV_HEADER;
  for (let index = 0; ; index += 1) {
    const next = await stream.next();
    if (next.done) {
      if (request.format === "json") yield jsonReportTail(next.value);
      if (request.format === "text") yield renderTextReport(next.value);
      if (request.format === "html") yield renderHtmlReport(next.value);
      return { kind: "tenant", report: next.value };
    }
    if (request.format === "json") yield jsonOutcome(next.value, index);
    if (request.format === "csv") yield outcomeCsvRecord(next.value);
  }
}

/** `mailbox-audit report`: writes the report with `write` (stdout for the CLI), chunk by chunk. */
export async function runReportCommand(
  store: OutcomeStore,
  tenantId: string,
  request: ReportRequest,
  write: (chunk: string) => void | Promise<void>,
): Promise<ReportResult> {
  const chunks = reportChunks(store, tenantId, request);
  for (;;) {
    const next = await chunks.next();
    if (next.done) return next.value;
    await write(next.value);
  }
}
