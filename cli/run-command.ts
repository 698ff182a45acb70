/**
 * `mailbox-audit plan|apply`: one enforcement run from the shell, with the same engine the Functions run.
 */
import { randomUUID } from "node:crypto";
import type { AuditProgress } from "../shared/audit/ports";
import { loadConfig } from "../shared/config";
import { runEnforcement, type EnforcementResult } from "../shared/enforcement";
import { createCliLogger } from "../shared/logging";
import { createRuntime } from "../shared/runtime";
import { exitCodeFor, formatRun } from "./format";

export interface RunOptions {
  readonly mode: "plan" | "apply";
  readonly full: boolean;
  readonly mailboxes: readonly string[];
  readonly json: boolean;
  readonly capture: boolean;
  readonly changeLimit?: number;
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

function progressLine(output: Output): (progress: AuditProgress) => void {
  let lastDrawnAt = 0;
  return (progress) => {
    const now = Date.now();
    if (!output.progress || now - lastDrawnAt < 250) return;
    lastDrawnAt = now;
    output.err(`\r${progress.phase}: ${progress.targetsSeen} targets read, ${progress.changesSent} changes sent   `);
  };
}

/** Runs plan or apply against the configured tenant; prints the result; returns the exit code. */
export async function runCommand(options: RunOptions, env: NodeJS.ProcessEnv, output: Output = processOutput): Promise<{ exitCode: number; result: EnforcementResult }> {
  // Without Table Storage the run is kept in memory: a full read, nothing recorded beyond what is printed.
  const config = loadConfig(env, { requireStorage: false });
  const logger = createCliLogger(config.logLevel);
  if (!config.storage) logger.warn("no Table Storage configured (AzureWebJobsStorage): outcomes are not recorded and every run is a full sweep");
  const runtime = await createRuntime(config, { logger });
  const result = await runEnforcement(runtime.enforcementServices(logger), {
    runId: randomUUID(),
    mode: options.mode,
    full: options.full,
    capture: options.capture,
    ...(options.mailboxes.length > 0 ? { mailboxes: options.mailboxes } : {}),
    ...(options.changeLimit !== undefined ? { changeLimit: options.changeLimit } : {}),
    onProgress: progressLine(output),
  });
  if (output.progress) output.err("\r\x1b[K");
  output.out(
    options.json
      ? `${JSON.stringify({ summary: result.summary, outcomes: result.outcomes, outcomesTruncated: result.outcomesTruncated }, null, 2)}\n`
      : `${formatRun(result.summary, result.outcomes)}\n`,
  );
  return { exitCode: exitCodeFor(result.summary), result };
}
