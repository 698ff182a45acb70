/**
 * The benchmark's output: what one invocation of `audit-bench` records (its JSON, `--json`) and the markdown it
 * prints, for one invocation or merged from several (`--table`), since the full matrix is run in pieces. Pure
 * formatting: the numbers come from bench/scenario.ts.
 */
import type { EngineRunReport } from "./engine-run";
import { formatCounts, mebibytes, verdict, type ExchangeCallTally, type ScenarioKind } from "./scenario";

export const SUITES = ["nights", "faults", "plan"] as const;
export type Suite = (typeof SUITES)[number];

export interface ScenarioResult {
  readonly suite: Suite;
  readonly scenario: string;
  readonly kind: ScenarioKind;
  readonly size: number;
  readonly latencyInMs: number;
  /** Share of batch sub-requests answered 500, and as many again answered 429 (0: no fault injected). */
  readonly faultShare: number;
  readonly report: Extract<EngineRunReport, { ok: true }>;
  readonly calls: ExchangeCallTally;
  readonly lowerBoundInMs: number;
  readonly targetRatio: number;
}

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryInBytes: number;
  readonly node: string;
  readonly platform: string;
}

/** One invocation: its arguments, the machine, the load average (1, 5, 15 min) at its start and end, its results. */
export interface BenchRun {
  readonly arguments: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly results: readonly ScenarioResult[];
}

export function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** One decimal, two below 10 s (tiny verification runs). */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

export function faultsCell(faultShare: number): string {
  return faultShare > 0 ? `${percent(faultShare)} 5xx + ${percent(faultShare)} 429` : "none";
}

/** Exchange HTTP calls the engine made (pages, retries and `$batch` envelopes included). */
export function totalHttp(result: ScenarioResult): number {
  return Object.values(result.report.summary.exchangeCalls).reduce((sum, count) => sum + count, 0);
}

export function ratioCells(result: ScenarioResult): { ratio: string; met: string } {
  const judged = verdict(result.report.wallTimeInMs, result.lowerBoundInMs, result.targetRatio);
  if (!judged) return { ratio: "—", met: "—" };
  return { ratio: judged.ratio.toFixed(2), met: judged.met ? "met" : "**not met**" };
}

/** Outcome counts above 0, and the run-level error if there was one. */
export function outcomesCell(result: ScenarioResult): string {
  const { summary } = result.report;
  const counts = formatCounts(Object.fromEntries(Object.entries(summary.counts).filter(([, count]) => count > 0)));
  return summary.error ? `${counts}; run error ${summary.error.code}` : counts;
}

function memoryCell(peakInBytes: number, baselineInBytes: number): string {
  return `${mebibytes(peakInBytes)} (+${mebibytes(peakInBytes - baselineInBytes)})`;
}

function resultsTable(results: readonly ScenarioResult[]): string[] {
  const lines = [
    "| Scenario | Mailboxes | Latency (ms) | Faults | Mode / scope | Outcomes | Exchange HTTP calls | Page reads | Batched executions | 429s (batched + direct) | 5xx | Table writes | Table reads | Wall (s) | Bound (s) | Ratio | Target | Met | Peak RSS MiB (run Δ) | Peak heap MiB (run Δ) |",
    "|---|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const result of results) {
    const { summary, wallTimeInMs, memory, table } = result.report;
    const { calls } = result;
    const { ratio, met } = ratioCells(result);
    lines.push(
      `| ${result.suite}: ${result.scenario} | ${result.size.toLocaleString("en")} | ${result.latencyInMs} | ${faultsCell(result.faultShare)} | ` +
        `${summary.mode} / ${summary.scope} | ${outcomesCell(result)} | ${totalHttp(result)} | ${calls.pageReads} | ${calls.batchedExecutions} | ` +
        `${calls.throttledSubRequests} + ${calls.throttledDirect} | ${calls.serverErrors} | ${table.writes} | ${table.reads} | ` +
        `${seconds(wallTimeInMs)} | ${seconds(result.lowerBoundInMs)} | ${ratio} | ${result.targetRatio.toFixed(2)} | ${met} | ` +
        `${memoryCell(memory.peakRssInBytes, memory.baselineRssInBytes)} | ${memoryCell(memory.peakHeapUsedInBytes, memory.baselineHeapUsedInBytes)} |`,
    );
  }
  return lines;
}

function callsTable(results: readonly ScenarioResult[]): string[] {
  const lines = [
    "Calls by cmdlet (HTTP = the engine's HTTP calls incl. pages, retries and `$batch` envelopes; executions = cmdlet runs incl. batch sub-requests, excl. page continuations and faulted sub-requests; Graph = Graph requests by route):",
    "",
    "| Scenario | Mailboxes | Latency (ms) | Faults | Exchange HTTP by cmdlet | Cmdlet executions | Graph |",
    "|---|---:|---:|---|---|---|---|",
  ];
  for (const result of results) {
    lines.push(
      `| ${result.suite}: ${result.scenario} | ${result.size.toLocaleString("en")} | ${result.latencyInMs} | ${faultsCell(result.faultShare)} | ` +
        `${formatCounts(result.report.summary.exchangeCalls)} | ${formatCounts(result.calls.executionsByCmdlet)} | ${formatCounts(result.calls.graphByRoute)} |`,
    );
  }
  return lines;
}

export function machineLine(machine: MachineInfo): string {
  return `${machine.cores} cores × ${machine.cpuModel}, ${mebibytes(machine.memoryInBytes)} MiB RAM, Node ${machine.node}, ${machine.platform}`;
}

function loadAverage(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(" / ");
}

/** When and under what load (1 / 5 / 15 min) an invocation ran: on a shared machine, whether its seconds can be trusted. */
export function loadLine(run: BenchRun): string {
  return `${loadAverage(run.loadAverage.start)} at start (${run.startedAt}), ${loadAverage(run.loadAverage.end)} at end (${run.finishedAt})`;
}

/** The machine and load lines, then one table of every scenario of every run, then the calls by cmdlet. */
export function renderReport(runs: readonly BenchRun[]): string {
  const machines = [...new Set(runs.map((run) => machineLine(run.machine)))];
  const lines = machines.map((machine) => `Machine: ${machine}.`);
  if (runs.length === 1 && runs[0]) lines.push(`Load average (1 / 5 / 15 min): ${loadLine(runs[0])}.`);
  else lines.push("Runs (load average 1 / 5 / 15 min):", "", ...runs.map((run) => `- \`${run.arguments}\`: ${loadLine(run)}`));
  const results = runs.flatMap((run) => run.results);
  lines.push("", ...resultsTable(results), "", ...callsTable(results));
  return lines.join("\n");
}
