/**
 * Benchmark arithmetic: the tenant mix, Exchange call accounting from the emulator's call
 * log, and the lower bound a run is measured against. Pure functions (no I/O), so the bench's numbers are checkable.
 */
import type { MailboxCounts } from "../emulator/generate";
import type { CallRecord } from "../emulator/call-log";

/** Per-tenant concurrency limit the lower bound assumes (the emulator enforces the same). */
export const EXCHANGE_CONCURRENCY = 3;

/** A typical enterprise mix: mostly user mailboxes, some shared, resource and group mailboxes, one discovery. */
export function tenantMix(size: number): Partial<MailboxCounts> {
  const shared = Math.round(size * 0.08);
  const room = Math.round(size * 0.03);
  const equipment = Math.round(size * 0.01);
  const group = Math.round(size * 0.03);
  const discovery = size >= 100 ? 1 : 0;
  return { user: size - shared - room - equipment - group - discovery, shared, room, equipment, group, discovery };
}

export interface ExchangeCallTally {
  /** Direct InvokeCommand HTTP calls per cmdlet (page continuations and refused calls included). */
  readonly httpByCmdlet: Readonly<Record<string, number>>;
  /** Cmdlet executions per cmdlet: direct first pages plus batch sub-requests (continuations excluded). */
  readonly executionsByCmdlet: Readonly<Record<string, number>>;
  /** Direct InvokeCommand calls that were answered (not 429): the sequential page reads. */
  readonly pageReads: number;
  /** Batch sub-requests executed: the writes. */
  readonly batchedExecutions: number;
  /** Calls (direct or sub-requests) refused with 429 by the per-tenant limit or throttling. */
  readonly throttled: number;
  /** Graph requests per route (a different throttling budget; not in the lower bound). */
  readonly graphByRoute: Readonly<Record<string, number>>;
}

export function tallyCalls(records: readonly CallRecord[]): ExchangeCallTally {
  const httpByCmdlet: Record<string, number> = {};
  const executionsByCmdlet: Record<string, number> = {};
  const graphByRoute: Record<string, number> = {};
  let pageReads = 0;
  let batchedExecutions = 0;
  let throttled = 0;
  const add = (counts: Record<string, number>, key: string): void => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const record of records) {
    if (record.api === "graph") {
      add(graphByRoute, record.cmdlet);
      continue;
    }
    if (record.status === 429) throttled += 1;
    if (!record.viaBatch) {
      add(httpByCmdlet, record.cmdlet);
      if (record.status !== 429) pageReads += 1;
    } else if (record.status !== 429) {
      batchedExecutions += 1;
    }
    if (!record.continuation && record.status !== 429) add(executionsByCmdlet, record.cmdlet);
  }
  return { httpByCmdlet, executionsByCmdlet, pageReads, batchedExecutions, throttled, graphByRoute };
}

/**
 * The lower bound: every page read costs one latency and cannot overlap the next (a page's nextLink is
 * known only when it arrives), and every write costs one latency at the concurrency limit:
 * `lowerBoundInMs = pageReads × latency + writes × latency / concurrency`.
 * Batching does not lower it: the service executes a batch's sub-requests one after another, so a batch of 10
 * takes 10 latencies and holds one of the 3 slots meanwhile.
 */
export function lowerBoundInMs(pageReads: number, writes: number, latencyInMs: number, concurrency = EXCHANGE_CONCURRENCY): number {
  return pageReads * latencyInMs + (writes * latencyInMs) / concurrency;
}

export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "—" : entries.map(([name, count]) => `${name} ${count}`).join(", ");
}

export function mebibytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(0);
}
