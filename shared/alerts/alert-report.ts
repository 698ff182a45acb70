import { reportChunks } from "../report/report-command";
import type { OutcomeStore } from "../storage/outcome-store";

/**
 * The tenant's HTML report as one string, the document `GET /api/report?format=html` serves, for the alert mail
 * to attach. It reads only the store: the outcomes the run has recorded and the runs finished before it.
 */
export async function renderAlertReport(store: OutcomeStore, tenantId: string, now: Date): Promise<string> {
  let html = "";
  for await (const chunk of reportChunks(store, tenantId, { format: "html", now })) html += chunk;
  return html;
}
