/**
 * One benchmark run of the enforcement engine, in a child process of `audit-bench` so that its memory is measured
 * alone (the emulated tenant and Azurite live in the parent). Production path: configuration from the environment,
 * `createRuntime` (managed identity credential, REST transport over HTTPS, Table Storage), `runEnforcement`. Without
 * storage (`withoutStorage`, and no `AzureWebJobsStorage` in the environment) it is the CLI's path instead: the
 * runtime's in-memory store, so the Table request counters stay at 0.
 *
 * Protocol (IPC): the parent sends one `EngineRunRequest`; the child answers one `EngineRunReport` and exits.
 */
import http from "node:http";
import { loadConfig } from "../shared/config";
import { runEnforcement } from "../shared/enforcement";
import { createRuntime } from "../shared/runtime";
import type { RunMode, RunSummary } from "../shared/domain/outcome";

export interface EngineRunRequest {
  readonly runId: string;
  /** Added to the real clock, so that consecutive runs can be "nights" apart (the emulator uses the same offset). */
  readonly clockOffsetInMs: number;
  readonly mode: RunMode;
  readonly full?: boolean;
  /** Configuration without Table Storage is accepted (as the CLI accepts it); the parent leaves it out of the env. */
  readonly withoutStorage?: boolean;
}

export interface MemoryPeak {
  /** Before the run, after the runtime was built (modules loaded, clients created). */
  readonly baselineRssInBytes: number;
  readonly baselineHeapUsedInBytes: number;
  readonly peakRssInBytes: number;
  readonly peakHeapUsedInBytes: number;
}

/** Table Storage requests the engine made (a transaction is one request). */
export interface TableRequests {
  readonly writes: number;
  readonly reads: number;
}

export type EngineRunReport =
  | { readonly ok: true; readonly summary: RunSummary; readonly wallTimeInMs: number; readonly memory: MemoryPeak; readonly table: TableRequests }
  | { readonly ok: false; readonly error: string };

const MEMORY_SAMPLE_INTERVAL_IN_MS = 50;

const table = { writes: 0, reads: 0 };
/**
 * Counts the engine's HTTP requests to Table Storage (Azurite's table endpoint, from `AzureWebJobsStorage`): a GET
 * (a query page or a point read) is a read, anything else (an entity write, a `$batch` transaction) one write;
 * table creation (once per process) is not counted. Counted on the wire because the SDK builds a transaction by calling its own entity methods
 * once per row, so counting at the SDK's entry points would count rows, not requests.
 */
function countTableRequests(): void {
  const endpoint = /TableEndpoint=([^;]+)/.exec(process.env["AzureWebJobsStorage"] ?? "")?.[1];
  if (!endpoint) return;
  const tableHost = new URL(endpoint).host;
  const request = http.request;
  http.request = function (this: unknown, ...args: Parameters<typeof http.request>) {
    const sent = request.apply(this, args);
    // Creating a table (once per process, `POST …/Tables`) is not the run's work.
    if (sent.getHeader("host") === tableHost && !/\/Tables$/.test(sent.path.split("?")[0] ?? "")) {
      if (sent.method === "GET") table.reads += 1;
      else table.writes += 1;
    }
    return sent;
  } as typeof http.request;
}
countTableRequests();

async function runOnce(request: EngineRunRequest): Promise<EngineRunReport> {
  const runtime = await createRuntime(loadConfig(process.env, { requireStorage: request.withoutStorage !== true }));
  const services = runtime.enforcementServices();
  const clock = { now: () => new Date(Date.now() + request.clockOffsetInMs) };
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sample = (): void => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  const sampler = setInterval(sample, MEMORY_SAMPLE_INTERVAL_IN_MS);
  table.writes = 0;
  table.reads = 0;
  const startedAtInMs = performance.now();
  try {
    const result = await runEnforcement(
      { ...services, clock },
      { runId: request.runId, mode: request.mode, capture: false, ...(request.full !== undefined ? { full: request.full } : {}) },
    );
    const wallTimeInMs = performance.now() - startedAtInMs;
    sample();
    return {
      ok: true,
      summary: result.summary,
      wallTimeInMs,
      table: { ...table },
      memory: {
        baselineRssInBytes: baseline.rss,
        baselineHeapUsedInBytes: baseline.heapUsed,
        peakRssInBytes: peakRss,
        peakHeapUsedInBytes: peakHeap,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

process.once("message", (message: EngineRunRequest) => {
  runOnce(message)
    .catch((error: unknown): EngineRunReport => ({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
    .then((report) => process.send?.(report, () => process.exit(0)))
    .catch(() => process.exit(1));
});
