/**
 * Benchmark arithmetic: the tenant mix, Exchange call accounting from the emulator's call log, the lower bound a run
 * is measured against, issue 12's target ratios, and the reproducible draws behind drift and injected faults. Pure
 * functions (no I/O), so the bench's numbers are checkable.
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

/**
 * Whether a logged Exchange call ran its cmdlet (and so spent one latency). The emulator answers a throttled call
 * (the per-tenant limit, or an injected 429) and an injected 5xx before the cmdlet runs and before its latency, and
 * logs it with that status; every other status, 4xx included, is the cmdlet's own answer after it ran.
 */
export function executed(status: number): boolean {
  return status !== 429 && status < 500;
}

export interface ExchangeCallTally {
  /** Direct InvokeCommand HTTP calls per cmdlet (page continuations and refused calls included). */
  readonly httpByCmdlet: Readonly<Record<string, number>>;
  /** Cmdlet executions per cmdlet: direct first pages plus batch sub-requests that ran (continuations excluded). */
  readonly executionsByCmdlet: Readonly<Record<string, number>>;
  /** Direct InvokeCommand calls that ran (`executed`): the sequential page reads. */
  readonly pageReads: number;
  /** Batch sub-requests that ran (`executed`): the writes and the batched look-ups. */
  readonly batchedExecutions: number;
  /** Batch sub-requests answered 429 (the injected throttling). */
  readonly throttledSubRequests: number;
  /** Direct calls and `$batch` envelopes answered 429 (the per-tenant concurrency limit). */
  readonly throttledDirect: number;
  /** Calls (direct or sub-requests) answered 5xx (the injected transient failures). */
  readonly serverErrors: number;
  /** Graph requests per route (a different throttling budget; not in the lower bound). */
  readonly graphByRoute: Readonly<Record<string, number>>;
}

export function tallyCalls(records: readonly CallRecord[]): ExchangeCallTally {
  const httpByCmdlet: Record<string, number> = {};
  const executionsByCmdlet: Record<string, number> = {};
  const graphByRoute: Record<string, number> = {};
  let pageReads = 0;
  let batchedExecutions = 0;
  let throttledSubRequests = 0;
  let throttledDirect = 0;
  let serverErrors = 0;
  const add = (counts: Record<string, number>, key: string): void => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const record of records) {
    if (record.api === "graph") {
      add(graphByRoute, record.cmdlet);
      continue;
    }
    if (record.status === 429) {
      if (record.viaBatch) throttledSubRequests += 1;
      else throttledDirect += 1;
    }
    if (record.status >= 500) serverErrors += 1;
    if (!record.viaBatch) add(httpByCmdlet, record.cmdlet);
    if (!executed(record.status)) continue;
    if (record.viaBatch) batchedExecutions += 1;
    else pageReads += 1;
    if (!record.continuation) add(executionsByCmdlet, record.cmdlet);
  }
  return { httpByCmdlet, executionsByCmdlet, pageReads, batchedExecutions, throttledSubRequests, throttledDirect, serverErrors, graphByRoute };
}

/**
 * The lower bound: every page read costs one latency and cannot overlap the next (a page's nextLink is
 * known only when it arrives), and every write costs one latency at the concurrency limit:
 * `lowerBoundInMs = pageReads × latency + writes × latency / concurrency`.
 * Batching does not lower it: the service executes a batch's sub-requests one after another, so a batch of 10
 * takes 10 latencies and holds one of the 3 slots meanwhile. Only calls that ran count (`tallyCalls`): a faulted
 * sub-request costs the bound nothing, and its successful retry costs what the fault-free run's one attempt does.
 */
export function lowerBoundInMs(pageReads: number, writes: number, latencyInMs: number, concurrency = EXCHANGE_CONCURRENCY): number {
  return pageReads * latencyInMs + (writes * latencyInMs) / concurrency;
}

/** What a benchmarked run is, for its target ratio. */
export type ScenarioKind = "night" | "plan" | "apply" | "apply-with-faults";

/** The largest tenant issue 12's fault-free 1.15x target names (3,000 and 10,000 mailboxes). */
const STRICT_APPLY_TARGET_MAX_SIZE = 10_000;

/**
 * Issue 12's wall-time targets (measured / lower bound): a plan without storage 1.5; a full apply with injected
 * faults 1.3; without faults 1.15 up to 10,000 mailboxes and 1.3 beyond (the 100,000 goal); the nights 1.3, this
 * benchmark's target since it began (docs/benchmark.md).
 */
export function targetRatio(kind: ScenarioKind, size: number): number {
  if (kind === "plan") return 1.5;
  if (kind === "apply") return size <= STRICT_APPLY_TARGET_MAX_SIZE ? 1.15 : 1.3;
  return 1.3;
}

/** Measured over bound, and whether it meets the target; undefined when the bound is 0 (nothing was read or written). */
export function verdict(wallTimeInMs: number, boundInMs: number, target: number): { ratio: number; met: boolean } | undefined {
  if (boundInMs <= 0) return undefined;
  const ratio = wallTimeInMs / boundInMs;
  return { ratio, met: ratio <= target };
}

/** A reproducible stream in [0, 1) from a seed (xorshift32: enough to spread picks; not for anything else). */
export function seededRandom(seed: number): () => number {
  let random = seed >>> 0 || 1;
  return () => {
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    return (random >>> 0) / 0x1_0000_0000;
  };
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A reproducible draw in [0, 1) for one attempt of one request (`key`: its cmdlet and parameters): the same seed,
 * request and attempt draw the same number whatever order concurrent requests arrive in, and a retry (the next
 * attempt) draws afresh.
 */
export function requestDraw(seed: number, key: string, attempt: number): number {
  const next = seededRandom(fnv1a(`${seed}|${attempt}|${key}`));
  next();
  return next();
}

/** The status a draw injects: a 500 below `share`, a 429 in [share, 2 × share), none above. */
export function injectedStatus(draw: number, share: number): 500 | 429 | undefined {
  if (draw < share) return 500;
  return draw < 2 * share ? 429 : undefined;
}

export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "—" : entries.map(([name, count]) => `${name} ${count}`).join(", ");
}

export function mebibytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(0);
}
