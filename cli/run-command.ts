/**
 * `mailbox-audit plan|apply`: one enforcement run from the shell, with the same engine the Functions run.
 */
import { userInfo } from "node:os";
import { loadConfig } from "../shared/config";
import { EXCHANGE_SCOPE } from "../shared/exchange/rest-transport";
import { runEnforcement, type EnforcementResult } from "../shared/enforcement";
import { createCliLogger } from "../shared/logging";
import { ProgressLine } from "./progress";
import { keepLease, newRunId, type HeldLease } from "../shared/runs/lease";
import { createRuntime, type Runtime } from "../shared/runtime";
import { LeaseHeldError } from "../shared/storage/errors";
import { exitCodeFor, formatRun } from "./format";
import { withOutFile, type OutFileServices } from "./outcome-lines";

export interface RunOptions {
  readonly mode: "plan" | "apply";
  readonly full: boolean;
  readonly mailboxes: readonly string[];
  readonly json: boolean;
  readonly capture: boolean;
  /** Run the audit-log evidence phase (default true; `AUDIT_EVIDENCE=off` turns it off for every run). */
  readonly evidence?: boolean;
  readonly changeLimit?: number;
  /** `--out FILE`: every outcome as JSON lines. */
  readonly out?: string;
}

export interface Output {
  out(text: string): void;
  /** Progress and diagnostics; only drawn when `progress` is true (a TTY). */
  err(text: string): void;
  readonly progress: boolean;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY === true,
};

/** Targets the last recorded full sweep saw: how many this run will read, about (undefined: no such run). */
async function expectedTargets(runtime: Runtime): Promise<number | undefined> {
  const runs = await runtime.store.listRuns(runtime.config.tenantId, { limit: 10 });
  const sweep = runs.find((run) => run.scope === "full");
  return sweep ? Object.values(sweep.counts).reduce((sum, count) => sum + count, 0) : undefined;
}

/** Exit code when another run of the tenant holds its lease (sysexits EX_TEMPFAIL: try again later). */
export const LEASE_HELD_EXIT_CODE = 75;

/**
 * Runs plan or apply against the configured tenant; prints the result; returns the exit code. With Table Storage,
 * an apply holds the tenant's run lease (the same one the Functions take), so two applies never write at once.
 */
export async function runCommand(options: RunOptions, env: NodeJS.ProcessEnv, output: Output = processOutput): Promise<{ exitCode: number; result?: EnforcementResult }> {
  // Without Table Storage the run is kept in memory: a full read, nothing recorded beyond what is printed.
  const config = loadConfig(env, { requireStorage: false });
  const progress = new ProgressLine((text) => output.err(text), output.progress);
  // On a terminal, log lines clear the progress line first and it is drawn again after them.
  const logger = createCliLogger(config.logLevel, output.progress ? { pretty: true, destination: progress.logStream() } : {});
  if (!config.storage) logger.warn("no Table Storage configured (AzureWebJobsStorage): outcomes are not recorded and every run is a full sweep");
  const runtime = await createRuntime(config, { logger });
  // The credential is built on first use; build it now, so a missing or unusable one is a configuration error (78).
  await runtime.credential.getToken(EXCHANGE_SCOPE);
  if (output.progress) progress.expect(await expectedTargets(runtime));
  const runId = newRunId(new Date());
  const lease = config.storage && options.mode === "apply" ? await takeLease(runtime, runId, config.runs.leaseTtlInMs) : undefined;
  if (lease instanceof LeaseHeldError) {
    output.err(`mailbox-audit: another run of tenant ${lease.tenantId} is in progress (${lease.holder}, lease until ${lease.expiresAt.toISOString()}); nothing was done. Try again when it has finished.\n`);
    return { exitCode: LEASE_HELD_EXIT_CODE };
  }
  let result: EnforcementResult;
  let out: OutFileServices | undefined;
  try {
    out = await withOutFile(runtime.enforcementServices(logger), options.out);
    result = await runEnforcement(out.services, {
      runId,
      mode: options.mode,
      full: options.full,
      capture: options.capture,
      evidence: options.evidence !== false,
      ...(options.mailboxes.length > 0 ? { mailboxes: options.mailboxes } : {}),
      ...(options.changeLimit !== undefined ? { changeLimit: options.changeLimit } : {}),
      onProgress: progress.update,
      trigger: { kind: "cli", by: userInfo().username },
    });
  } finally {
    await lease?.release();
    await out?.close();
  }
  progress.clear();
  printResult(options, result, output);
  if (out.lines) output.err(`mailbox-audit: ${out.lines.lineCount} outcomes written to ${options.out ?? ""} (JSON lines)\n`);
  if (config.storage && !result.recorded) {
    output.err(`mailbox-audit: outcomes were NOT recorded (${result.summary.error?.message ?? "storage unavailable"}). The changes listed above were sent; nothing more was. The next run re-reads the tenant and finishes the job.\n`);
  }
  return { exitCode: exitCodeFor(result.summary), result };
}

/** The summary and a bounded sample of outcomes (every outcome is in the store, and in `--out`). */
function printResult(options: RunOptions, result: EnforcementResult, output: Output): void {
  output.out(
    options.json
      ? `${JSON.stringify({ summary: result.summary, outcomes: result.outcomes, outcomesTruncated: result.outcomesTruncated, recorded: result.recorded }, null, 2)}\n`
      : `${formatRun(result.summary, result.outcomes)}\n`,
  );
}

/** The tenant's lease for this run, kept renewed; or the holder's `LeaseHeldError`. */
async function takeLease(runtime: Runtime, runId: string, ttlInMs: number): Promise<HeldLease | LeaseHeldError> {
  const tenantId = runtime.config.tenantId;
  try {
    await runtime.leases.acquireLease(tenantId, runId, ttlInMs);
  } catch (error) {
    if (error instanceof LeaseHeldError) return error;
    throw error;
  }
  return keepLease(runtime.leases, tenantId, runId, ttlInMs);
}
