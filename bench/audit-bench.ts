/**
 * Benchmark of the audit baseline engine (docs/benchmark.md): the real engine over the real REST transport (HTTPS,
 * managed identity credential) against the tenant emulator with a per-call latency and the per-tenant concurrency
 * limit, recording to Azurite Table Storage. Every suite starts from a fresh generated tenant, brought onto the policy
 * and `--drift` of it drifted, for each size and each latency:
 *   nights  six consecutive "nights" on one tenant:
 *           1. full apply (no watermark yet);
 *           2. the night after: nothing changed, but the engine's own writes of night 1 moved WhenChanged;
 *           3. `--changed` of the mailboxes changed by an administrator (age limit cut, WhenChanged moved);
 *           4. the night after that (re-reads night 3's writes);
 *           5. a steady no-change night;
 *           6. a full sweep of the unchanged tenant (the weekly sweep).
 *   faults  the full apply on a fresh tenant without faults, then on another with `--fault-share` of all batch
 *           sub-requests answered 500 and as many answered 429 with `Retry-After: 1` (drawn from `--seed`;
 *           `--no-fault-variant`: the fault-free apply only; `--no-storage`: the CLI's apply without Table Storage).
 *   plan    a full-sweep plan without Table Storage (the CLI's path: the in-memory store).
 * Each row counts the Exchange calls (429s and 5xx included), the engine's Table requests (writes: entity writes and
 * transactions, one each; reads: queries and point reads), wall time against the lower bound (bench/scenario.ts) and
 * issue 12's target ratio; the output states the machine and the load average at start and end.
 * The engine runs in a child process (bench/engine-run.ts) so its memory is measured without the emulated tenant.
 *
 * Usage: npm run bench -- [--suite nights|faults|plan|all (comma list)] [--sizes 1000,10000] [--latency 200 (comma list)]
 *        [--latency-at 100000=40] [--fault-share 0.02] [--no-fault-variant] [--no-storage] [--engine-heap-mb 96] [--drift 0.3]
 *        [--changed 0.01] [--seed 7] [--json results.json]
 *        npm run bench -- --table a.json,b.json   (one table from the JSON of several invocations; runs nothing)
 */
import { fork } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAzuriteProcess } from "./azurite-process";
import { generateTenant } from "../emulator/generate";
import { startEmulator, type RunningEmulator } from "../emulator/server";
import { faultsCell, percent, ratioCells, renderReport, seconds, SUITES, totalHttp, type BenchRun, type MachineInfo, type ScenarioResult, type Suite } from "./bench-table";
import type { EngineRunReport, EngineRunRequest } from "./engine-run";
import { benchPolicy, bringOntoPolicy, driftMailboxes, injectSubRequestFaults } from "./tenant-setup";
import { EXCHANGE_CONCURRENCY, formatCounts, lowerBoundInMs, tallyCalls, targetRatio, tenantMix, type ScenarioKind } from "./scenario";

const DAY_IN_MS = 86_400_000;
const BYPASS_ACCOUNTS = 5;
/** Microsoft's default age limit, so the generator's mailboxes need no age-limit write unless drifted. */
const AUDIT_LOG_AGE_LIMIT_DAYS = 90;

type Options = ReturnType<typeof parseOptions>;

interface Night {
  readonly name: string;
  /** Share of mailboxes an administrator changes just before this night's run. */
  readonly changedShare?: number;
  readonly full?: boolean;
}

/** One engine run to measure: what it is, and what the child is asked (its run id and clock offset are the bench's). */
interface RunSpec {
  readonly scenario: string;
  readonly kind: ScenarioKind;
  readonly faultShare?: number;
  readonly request: Omit<EngineRunRequest, "runId" | "clockOffsetInMs">;
}

/** A fresh tenant behind the emulator (and Azurite, unless without storage), for one suite at one size and latency. */
interface Bench {
  readonly emulator: RunningEmulator;
  /** Moves the engine's and the emulator's clocks `days` days ahead of the real one. */
  setDay(days: number): void;
  /** Changes `share` of the mailboxes as an administrator would, now (on the bench clock). */
  drift(share: number, seed: number): void;
  run(spec: RunSpec): Promise<ScenarioResult>;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      suite: { type: "string", default: "nights" },
      sizes: { type: "string", default: "1000,10000,100000" },
      latency: { type: "string", default: "200" },
      "latency-at": { type: "string", multiple: true, default: [] },
      "fault-share": { type: "string", default: "0.02" },
      "no-fault-variant": { type: "boolean", default: false },
      "no-storage": { type: "boolean", default: false },
      drift: { type: "string", default: "0.3" },
      changed: { type: "string", default: "0.01" },
      seed: { type: "string", default: "7" },
      json: { type: "string" },
      "engine-heap-mb": { type: "string" },
      table: { type: "string" },
    },
  });
  const number = (text: string, name: string): number => {
    const parsed = Number(text);
    if (text.trim() === "" || !Number.isFinite(parsed) || parsed < 0) throw new RangeError(`--${name} must be a non-negative number, got '${text}'`);
    return parsed;
  };
  const list = (text: string, name: string): number[] => text.split(",").map((item) => number(item.trim(), name));
  const latencyAt = new Map<number, number>();
  for (const entry of values["latency-at"]) {
    const [size = "", latency = ""] = entry.split("=");
    latencyAt.set(number(size, "latency-at"), number(latency, "latency-at"));
  }
  const faultShare = number(values["fault-share"], "fault-share");
  if (faultShare > 0.5) throw new RangeError(`--fault-share must be at most 0.5 (it is taken twice: 5xx and 429), got ${faultShare}`);
  return {
    suites: parseSuites(values.suite),
    sizes: list(values.sizes, "sizes"),
    latencies: list(values.latency, "latency"),
    latencyAt,
    faultShare,
    faultVariant: !values["no-fault-variant"],
    storage: !values["no-storage"],
    drift: number(values.drift, "drift"),
    changed: number(values.changed, "changed"),
    seed: number(values.seed, "seed"),
    json: values.json,
    ...(values["engine-heap-mb"] === undefined ? {} : { engineHeapInMb: number(values["engine-heap-mb"], "engine-heap-mb") }),
    ...(values.table === undefined ? {} : { tables: values.table.split(",").map((path) => path.trim()) }),
  };
}

/** `nights`, `faults`, `plan`, a comma list of them, or `all` (in that order). */
function parseSuites(text: string): Suite[] {
  const names = text.split(",").map((name) => name.trim());
  if (names.includes("all")) return [...SUITES];
  for (const name of names) {
    if (!(SUITES as readonly string[]).includes(name)) throw new RangeError(`--suite must be ${SUITES.join(", ")} or all (a comma list), got '${name}'`);
  }
  return names as Suite[];
}

/** The latencies a size runs at: its `--latency-at`, else every `--latency`. */
function latenciesFor(size: number, options: Options): readonly number[] {
  const override = options.latencyAt.get(size);
  return override === undefined ? options.latencies : [override];
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

/**
 * Sets up a fresh tenant (generated, brought onto the policy, `--drift` drifted), the emulator at `latencyInMs` and,
 * with `storage`, Azurite; hands `body` a `Bench` to run the engine against them; tears everything down.
 */
async function withBench<T>(
  suite: Suite,
  size: number,
  latencyInMs: number,
  options: Options,
  storage: boolean,
  body: (bench: Bench) => Promise<T>,
): Promise<T> {
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
  const emulator = await startEmulator({ tenant, latencyInMs, maxConcurrentRequestsPerTenant: EXCHANGE_CONCURRENCY, now });
  let azurite: Awaited<ReturnType<typeof startAzuriteProcess>> | undefined;
  let directory: string | undefined;
  try {
    azurite = storage ? await startAzuriteProcess() : undefined;
    directory = await mkdtemp(join(tmpdir(), "audit-bench-"));
    const caPath = join(directory, "emulator-ca.pem");
    await writeFile(caPath, emulator.caCertificatePem);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      ...emulator.env(),
      ...(azurite ? { AzureWebJobsStorage: azurite.connectionString } : {}),
      EXTRA_CA_CERT_PATH: caPath,
      EXCHANGE_MAX_CONCURRENCY: String(EXCHANGE_CONCURRENCY),
      AUDIT_LOG_AGE_LIMIT_DAYS: String(AUDIT_LOG_AGE_LIMIT_DAYS),
      CAPTURE_MODE: "off",
      LOG_LEVEL: "silent",
    };
    let runs = 0;
    return await body({
      emulator,
      setDay: (days) => {
        clock.offsetInMs = days * DAY_IN_MS;
      },
      drift: (share, seed) => driftMailboxes(tenant, share, now(), seed),
      run: async (spec) => {
        runs += 1;
        emulator.calls.reset();
        const runId = `bench-${suite}-${size}-${latencyInMs}-${runs}`;
        const report = await runEngine(env, { runId, clockOffsetInMs: clock.offsetInMs, ...spec.request }, options.engineHeapInMb);
        if (!report.ok) throw new Error(`${size} mailboxes, ${suite}: ${spec.scenario}: ${report.error}`);
        const calls = tallyCalls(emulator.calls.records);
        const result: ScenarioResult = {
          suite,
          scenario: spec.scenario,
          kind: spec.kind,
          size,
          latencyInMs,
          faultShare: spec.faultShare ?? 0,
          report,
          calls,
          lowerBoundInMs: lowerBoundInMs(calls.pageReads, calls.batchedExecutions, latencyInMs),
          targetRatio: targetRatio(spec.kind, size),
        };
        process.stderr.write(`${summaryLine(result)}\n`);
        return result;
      },
    });
  } finally {
    await emulator.stop();
    await azurite?.stop();
    if (directory) await rm(directory, { recursive: true, force: true });
  }
}

/** Six consecutive nights on one tenant (see the header). */
function nightsSuite(size: number, latencyInMs: number, options: Options): Promise<ScenarioResult[]> {
  const nights: Night[] = [
    { name: `full apply, ${percent(options.drift)} drifted` },
    { name: "night after full apply, no change" },
    { name: `nightly, ${percent(options.changed)} changed`, changedShare: options.changed },
    { name: "night after, no change" },
    { name: "steady night, no change" },
    { name: "weekly full sweep, no change", full: true },
  ];
  return withBench("nights", size, latencyInMs, options, true, async (bench) => {
    const results: ScenarioResult[] = [];
    for (const [day, night] of nights.entries()) {
      bench.setDay(day);
      if (night.changedShare) bench.drift(night.changedShare, options.seed + day);
      const request = { mode: "apply", ...(night.full ? { full: true } : {}) } as const;
      results.push(await bench.run({ scenario: night.name, kind: "night", request }));
    }
    return results;
  });
}

/** The full apply on a fresh tenant, without faults and (unless `--no-fault-variant`) with them. */
async function faultsSuite(size: number, latencyInMs: number, options: Options): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const faultShare of options.faultVariant ? [0, options.faultShare] : [0]) {
    const scenario = `full apply, ${percent(options.drift)} drifted, ${faultShare > 0 ? "with faults" : "no faults"}${options.storage ? "" : ", no storage"}`;
    const kind = faultShare > 0 ? "apply-with-faults" : "apply";
    results.push(
      await withBench("faults", size, latencyInMs, options, options.storage, (bench) => {
        if (faultShare > 0) injectSubRequestFaults(bench.emulator.faults, faultShare, options.seed);
        return bench.run({ scenario, kind, faultShare, request: { mode: "apply", ...(options.storage ? {} : { withoutStorage: true }) } });
      }),
    );
  }
  return results;
}

/** A full-sweep plan without Table Storage, as the CLI runs it where no storage is configured. */
async function planSuite(size: number, latencyInMs: number, options: Options): Promise<ScenarioResult[]> {
  const scenario = `plan, full sweep, no storage, ${percent(options.drift)} drifted`;
  return [
    await withBench("plan", size, latencyInMs, options, false, (bench) =>
      bench.run({ scenario, kind: "plan", request: { mode: "plan", full: true, withoutStorage: true } }),
    ),
  ];
}

const SUITE_RUNNERS: Readonly<Record<Suite, (size: number, latencyInMs: number, options: Options) => Promise<ScenarioResult[]>>> = {
  nights: nightsSuite,
  faults: faultsSuite,
  plan: planSuite,
};

function summaryLine(result: ScenarioResult): string {
  const { summary, wallTimeInMs, table } = result.report;
  const { calls } = result;
  const { ratio, met } = ratioCells(result);
  return (
    `[bench] ${result.suite} ${result.size} @ ${result.latencyInMs} ms ${result.scenario} (faults: ${faultsCell(result.faultShare)}): ` +
    `${summary.mode} ${summary.scope}, ${formatCounts(summary.counts)}${summary.error ? `, run error ${summary.error.code}` : ""}; ` +
    `Exchange HTTP ${totalHttp(result)}, page reads ${calls.pageReads}, batched ${calls.batchedExecutions}, ` +
    `429s ${calls.throttledSubRequests} + ${calls.throttledDirect}, 5xx ${calls.serverErrors}; Table writes ${table.writes}, reads ${table.reads}; ` +
    `${seconds(wallTimeInMs)} s vs lower bound ${seconds(result.lowerBoundInMs)} s (${ratio}x, target ${result.targetRatio}: ${met})`
  );
}

function machine(): MachineInfo {
  return { cores: cpus().length, cpuModel: cpus()[0]?.model ?? "cpu", memoryInBytes: totalmem(), node: process.version, platform: process.platform };
}

/** Prints one table merged from the JSON (`--json`) of earlier invocations. */
async function mergeTables(paths: readonly string[]): Promise<void> {
  const runs: BenchRun[] = [];
  for (const path of paths) {
    const run = JSON.parse(await readFile(path, "utf8")) as BenchRun;
    if (!Array.isArray(run.results) || !run.machine) throw new Error(`${path} is not the JSON of an audit-bench run (--json)`);
    runs.push(run);
  }
  process.stdout.write(`${renderReport(runs)}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.tables) return mergeTables(options.tables);
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  process.stderr.write(
    `[bench] node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}; suites ${options.suites.join(", ")}, ` +
      `sizes ${options.sizes.join(", ")}, latency ${options.latencies.join(", ")} ms, drift ${percent(options.drift)}, ` +
      `changed ${percent(options.changed)}, fault share ${percent(options.faultShare)}${options.faultVariant ? "" : " (no fault variant)"}\n`,
  );
  const results: ScenarioResult[] = [];
  const benchRun = (): BenchRun => ({
    arguments: process.argv.slice(2).join(" "),
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    loadAverage: { start: loadAtStart, end: loadavg() },
    results,
  });
  for (const suite of options.suites) {
    for (const size of options.sizes) {
      for (const latencyInMs of latenciesFor(size, options)) {
        results.push(...(await SUITE_RUNNERS[suite](size, latencyInMs, options)));
        // Written after every suite, so that a long matrix interrupted later keeps what it measured.
        if (options.json) await writeFile(options.json, `${JSON.stringify(benchRun(), null, 2)}\n`);
      }
    }
  }
  const run = benchRun();
  if (options.json) await writeFile(options.json, `${JSON.stringify(run, null, 2)}\n`);
  process.stdout.write(`${renderReport([run])}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
