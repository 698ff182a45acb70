import type { RunSummary } from "../domain/outcome";

/**
 * What a run cost in calls to Microsoft's services: Exchange admin API calls by cmdlet and, when the run read the
 * unified audit log, Microsoft Graph calls by route. The same words in the CLI's run summary and the reports.
 */

export interface RunCalls {
  /** `Exchange 12 calls`, `Graph 3 calls`. */
  readonly label: string;
  /** Per cmdlet or route, e.g. `Get-Mailbox 2, $batch 10`. */
  readonly detail: string;
  readonly total: number;
}

function callsOf(service: string, calls: Readonly<Record<string, number>>): RunCalls {
  const entries = Object.entries(calls).sort(([a], [b]) => a.localeCompare(b));
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return {
    label: `${service} ${total} ${total === 1 ? "call" : "calls"}`,
    detail: entries.map(([name, count]) => `${name} ${count}`).join(", "),
    total,
  };
}

/** Exchange's calls always; Graph's only when the run made some (runs before the audit evidence carry none). */
export function runCalls(summary: Pick<RunSummary, "exchangeCalls" | "graphCalls">): RunCalls[] {
  const graph = summary.graphCalls ? callsOf("Graph", summary.graphCalls) : undefined;
  return [callsOf("Exchange", summary.exchangeCalls), ...(graph && graph.total > 0 ? [graph] : [])];
}

/** `Exchange 12 calls (Get-Mailbox 2, ...); Graph 3 calls (POST /security/auditLog/queries 1, ...)`. */
export function runCallsLine(summary: Pick<RunSummary, "exchangeCalls" | "graphCalls">): string {
  return runCalls(summary)
    .map((calls) => (calls.detail === "" ? calls.label : `${calls.label} (${calls.detail})`))
    .join("; ");
}
