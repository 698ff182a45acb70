import type { RecordedOutcome } from "../storage/outcome-store";
import type { TenantReport } from "./tenant-report";

/**
 * The JSON report, written in pieces so that the targets stream: `{"outcomes":[...every target...], ...report}`.
 * The summary comes last because it is only known once every target has streamed past; JSON members have no order
 * a reader may rely on, and the document parses as one object.
 */

export const JSON_REPORT_HEAD = '{"outcomes":[';

/** One target of the `outcomes` array; `index` is its position (a comma precedes all but the first). */
export function jsonOutcome(outcome: RecordedOutcome, index: number): string {
  return `${index === 0 ? "" : ","}\n${JSON.stringify(outcome)}`;
}

/** Closes the `outcomes` array and adds the report's members. */
export function jsonReportTail(report: TenantReport): string {
  return `\n],${JSON.stringify(report).slice(1)}\n`;
}
