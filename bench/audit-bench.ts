/**
 * Benchmark of the audit baseline engine (docs/benchmark.md): the real engine over the real REST transport (HTTPS,
 * managed identity credential) against the tenant emulator with a per-call latency and the per-tenant concurrency
 * limit, recording to Azurite Table Storage. Per tenant size it runs six consecutive "nights":
 *   1. full apply (no watermark yet) with `--drift` of the mailboxes drifted;
 *   2. the night after: nothing changed, but the engine's own writes of night 1 moved WhenChanged;
 *   3. `--changed` of the mailboxes changed by an administrator (age limit cut, WhenChanged moved);
 *   4. the night after that (re-reads night 3's writes);
 *   5. a steady no-change night;
 *   6. a full sweep of the unchanged tenant (the weekly sweep).
 * Each row counts the engine's Table requests (writes: entity writes and transactions, one each; reads: queries and
 * point reads) beside the Exchange calls, and the table states the machine.
 * The engine runs in a child process (bench/engine-run.ts) so its memory is measured without the emulated tenant.
 *
 * Usage: npm run bench -- [--sizes 1000,10000,100000] [--latency 200] [--latency-at 100000=40] [--engine-heap-mb 96] [--drift 0.3]
 *        [--changed 0.01] [--seed 7] [--json results.json]
 */
import { fork } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAzurite } from "../emulator/azurite";
import { generateTenant } from "../emulator/generate";
import { startEmulator } from "../emulator/server";
import type { EngineRunReport, EngineRunRequest } from "./engine-run";
import { benchPolicy, bringOntoPolicy, driftMailboxes } from "./tenant-setup";
import {
  EXCHANGE_CONCURRENCY,
  formatCounts,
  lowerBoundInMs,
  mebibytes,
  tallyCalls,
  tenantMix,
  type ExchangeCallTally,
} from "./scenario";

const DAY_IN_MS = 86_400_000;
const BYPASS_ACCOUNTS = 5;
/** Microsoft's default age limit, so the generator's mailboxes need no age-limit write unless drifted. */
const AUDIT_LOG_AGE_LIMIT_DAYS = 90;

interface ScenarioResult {
  readonly size: number;
  readonly scenario: string;
  readonly latencyInMs: number;
  readonly report: Extract<EngineRunReport, { ok: true }>;
  readonly calls: ExchangeCallTally;
  readonly lowerBoundInMs: number;
}

interface Night {
  readonly name: string;
  /** Share of mailboxes an administrator changes just before this night's run. */
  readonly changedShare?: number;
  readonly full?: boolean;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "1000,10000,100000" },
      latency: { type: "string", default: "200" },
      "latency-at": { type: "string", multiple: true, default: [] },
      drift: { type: "string", default: "0.3" },
      changed: { type: "string", default: "0.01" },
      seed: { type: "string", default: "7" },
      json: { type: "string" },
      "engine-heap-mb": { type: "string" },
    },
  });
  const number = (text: string, name: string): number => {
    const parsed = Number(text);
    if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`--${name} must be a non-negative number, got '${text}'`);
    return parsed;
  };
  const latencyAt = new Map<number, number>();
  for (const entry of values["latency-at"]) {
    const [size = "", latency = ""] = entry.split("=");
    latencyAt.set(number(size, "latency-at"), number(latency, "latency-at"));
  }
  return {
    sizes: values.sizes.split(",").map((size) => number(size.trim(), "sizes")),
    latencyInMs: number(values.latency, "latency"),
    latencyAt,
    drift: number(values.drift, "drift"),
    changed: number(values.changed, "changed"),
    seed: number(values.seed, "seed"),
    json: values.json,
    ...(values["engine-heap-mb"] === undefined ? {} : { engineHeapInMb: number(values["engine-heap-mb"], "engine-heap-mb") }),
  };
}

/** Runs one night in a child; `heapInMb` caps its old space, so a run that needs more than that fails visibly. */
function runEngine(env: NodeJS.ProcessEnv, request: EngineRunRequest, heapInMb?: number): Promise<EngineRunReport> {
  return new Promise((resolve, reject) => {
    const execArgv = heapInMb === undefined ? [] : [`--max-old-space-size=${heapInMb}`];
    const child = fork(join(__dirname, "engine-run.js"), [], { env, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let report: EngineRunReport | undefined;
    child.once("message", (message) => {
      report = message as EngineRunReport;
    });
    child.once("error", reject);
    child.once("exit", (code) => (report ? resolve(report) : reject(new Error(`engine run exited with ${code} and no report`))));
    child.send(request);
  });
}

async function benchSize(size: number, latencyInMs: number, options: ReturnType<typeof parseOptions>): Promise<ScenarioResult[]> {
  const clock = { offsetInMs: 0 };
  const now = (): Date => new Date(Date.now() + clock.offsetInMs);
  const tenant = generateTenant({
    seed: options.seed,
    counts: tenantMix(size),
    bypassCount: BYPASS_ACCOUNTS,
    now: new Date(Date.now() - 2 * DAY_IN_MS),
  });
  bringOntoPolicy(tenant, benchPolicy(AUDIT_LOG_AGE_LIMIT_DAYS));
  driftMailboxes(tenant, options.drift, new Date(Date.now() - DAY_IN_MS), options.seed);
  const emulator = await startEmulator({
    tenant,
    latencyInMs,
    maxConcurrentRequestsPerTenant: EXCHANGE_CONCURRENCY,
    now,
  });
  const azurite = await startAzurite({ services: ["table", "queue"] });
  const directory = await mkdtemp(join(tmpdir(), "audit-bench-"));
  try {
    const caPath = join(directory, "emulator-ca.pem");
    await writeFile(caPath, emulator.caCertificatePem);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      ...emulator.env(),
      AzureWebJobsStorage: azurite.connectionString,
      EXTRA_CA_CERT_PATH: caPath,
      EXCHANGE_MAX_CONCURRENCY: String(EXCHANGE_CONCURRENCY),
      AUDIT_LOG_AGE_LIMIT_DAYS: String(AUDIT_LOG_AGE_LIMIT_DAYS),
      CAPTURE_MODE: "off",
      LOG_LEVEL: "silent",
    };
    const nights: Night[] = [
      { name: `full apply, ${percent(options.drift)} drifted` },
      { name: "night after full apply, no change" },
      { name: `nightly, ${percent(options.changed)} changed`, changedShare: options.changed },
      { name: "night after, no change" },
      { name: "steady night, no change" },
      { name: "weekly full sweep, no change", full: true },
    ];
    const results: ScenarioResult[] = [];
    for (const [day, night] of nights.entries()) {
      clock.offsetInMs = day * DAY_IN_MS;
      if (night.changedShare) driftMailboxes(tenant, night.changedShare, now(), options.seed + day);
      emulator.calls.reset();
      const report = await runEngine(env, { runId: `bench-${size}-night-${day + 1}`, clockOffsetInMs: clock.offsetInMs, ...(night.full ? { full: true } : {}) }, options.engineHeapInMb);
      if (!report.ok) throw new Error(`${size} mailboxes, ${night.name}: ${report.error}`);
      const calls = tallyCalls(emulator.calls.records);
      const result: ScenarioResult = {
        size,
        scenario: night.name,
        latencyInMs,
        report,
        calls,
        lowerBoundInMs: lowerBoundInMs(calls.pageReads, calls.batchedExecutions, latencyInMs),
      };
      results.push(result);
      process.stderr.write(`${summaryLine(result)}\n`);
    }
    return results;
  } finally {
    await emulator.stop();
    await azurite.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function ratio(result: ScenarioResult): string {
  return result.lowerBoundInMs > 0 ? (result.report.wallTimeInMs / result.lowerBoundInMs).toFixed(2) : "—";
}

function totalHttp(result: ScenarioResult): number {
  return Object.values(result.report.summary.exchangeCalls).reduce((sum, count) => sum + count, 0);
}

function summaryLine(result: ScenarioResult): string {
  const { summary, wallTimeInMs } = result.report;
  return (
    `[bench] ${result.size} ${result.scenario}: scope ${summary.scope}, ${formatCounts(summary.counts)}; ` +
    `Exchange HTTP ${totalHttp(result)}, page reads ${result.calls.pageReads}, writes ${result.calls.batchedExecutions}; ` +
    `Table writes ${result.report.table.writes}, reads ${result.report.table.reads}; ` +
    `${seconds(wallTimeInMs)} s vs lower bound ${seconds(result.lowerBoundInMs)} s (${ratio(result)}x)`
  );
}

function markdown(results: readonly ScenarioResult[]): string {
  const lines = [
    "| Mailboxes | Scenario | Latency (ms) | Scope | Outcomes | Exchange HTTP calls | Page reads | Writes | 429s | Table writes | Table reads | Wall (s) | Lower bound (s) | Ratio | Peak RSS MiB (run Δ) | Peak heap MiB (run Δ) |",
    "|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const result of results) {
    const { summary, wallTimeInMs, memory } = result.report;
    const outcomes = formatCounts(Object.fromEntries(Object.entries(summary.counts).filter(([, count]) => count > 0)));
    lines.push(
      `| ${result.size.toLocaleString("en")} | ${result.scenario} | ${result.latencyInMs} | ${summary.scope} | ${outcomes} | ` +
        `${totalHttp(result)} | ${result.calls.pageReads} | ${result.calls.batchedExecutions} | ${result.calls.throttled} | ` +
        `${result.report.table.writes} | ${result.report.table.reads} | ` +
        `${seconds(wallTimeInMs)} | ${seconds(result.lowerBoundInMs)} | ${ratio(result)} | ` +
        `${mebibytes(memory.peakRssInBytes)} (+${mebibytes(memory.peakRssInBytes - memory.baselineRssInBytes)}) | ` +
        `${mebibytes(memory.peakHeapUsedInBytes)} (+${mebibytes(memory.peakHeapUsedInBytes - memory.baselineHeapUsedInBytes)}) |`,
    );
  }
  lines.push("", "Calls by cmdlet (HTTP = the engine's HTTP calls incl. pages and `$batch` envelopes; executions = cmdlet runs incl. batch sub-requests, excl. page continuations; Graph = licence reads):", "");
  lines.push("| Mailboxes | Scenario | Exchange HTTP by cmdlet | Cmdlet executions | Graph |", "|---:|---|---|---|---|");
  for (const result of results) {
    lines.push(
      `| ${result.size.toLocaleString("en")} | ${result.scenario} | ${formatCounts(result.report.summary.exchangeCalls)} | ` +
        `${formatCounts(result.calls.executionsByCmdlet)} | ${formatCounts(result.calls.graphByRoute)} |`,
    );
  }
  return lines.join("\n");
}

function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${mebibytes(totalmem())} MiB, Node ${process.version}, ${process.platform}`;
}

async function main(): Promise<void> {
  const options = parseOptions();
  process.stderr.write(
    `[bench] node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${mebibytes(totalmem())} MiB; ` +
      `sizes ${options.sizes.join(", ")}, latency ${options.latencyInMs} ms, drift ${percent(options.drift)}, changed ${percent(options.changed)}\n`,
  );
  const results: ScenarioResult[] = [];
  for (const size of options.sizes) {
    results.push(...(await benchSize(size, options.latencyAt.get(size) ?? options.latencyInMs, options)));
  }
  process.stdout.write(`Machine: ${machine()}\n\n${markdown(results)}\n`);
  if (options.json) await writeFile(options.json, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
