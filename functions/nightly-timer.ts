/**
 * The nightly run: on `%NIGHTLY_SCHEDULE%` (UTC on Flex Consumption), one run per configured tenant in
 * NIGHTLY_MODE, an apply changing at most NIGHTLY_CHANGE_LIMIT targets. The engine picks incremental or full from
 * FULL_SWEEP_INTERVAL_DAYS. A past-due firing (the app was down) runs once.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import type { NightlyConfig } from "../shared/config";
import { createInvocationLogger } from "../shared/logging";
import { RunInProgressError, startRun, type StartRunRequest } from "../shared/runs/orchestrator";
import { runsApp } from "../shared/runs/runs-app";

/** One tenant's nightly run: the configured mode; an apply carries the change limit (a plan writes nothing). */
export function nightlyRunRequest(nightly: NightlyConfig, tenantId: string): StartRunRequest {
  const changeLimit = nightly.mode === "apply" ? nightly.changeLimit : undefined;
  return { tenantId, mode: nightly.mode, full: false, trigger: "timer", ...(changeLimit !== undefined ? { changeLimit } : {}) };
}

export async function nightlyTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const runs = await runsApp();
  const logger = createInvocationLogger(context, {}, runs.config.logLevel);
  if (timer.isPastDue) logger.warn({ event: "timer.pastDue" }, "the nightly run is past due; running it now");
  const failures: string[] = [];
  for (const tenant of runs.config.runs.tenants) {
    try {
      await startRun(runs, nightlyRunRequest(runs.config.runs.nightly, tenant.tenantId), logger.child({ tenant: tenant.tenantId }));
    } catch (error) {
      if (error instanceof RunInProgressError) {
        logger.warn({ tenant: tenant.tenantId, runningRunId: error.runningRunId }, "nightly run skipped: a run is in progress");
      } else {
        logger.error({ event: "run.failed", runId: "", tenant: tenant.tenantId, errorCode: "StartFailed", err: error }, "nightly run not started");
        failures.push(tenant.tenantId);
      }
    }
  }
  // Fail the invocation so the host records it, after every tenant had its chance.
  if (failures.length > 0) throw new Error(`Nightly runs not started for: ${failures.join(", ")}`);
}

app.timer("nightly-timer", { schedule: "%NIGHTLY_SCHEDULE%", runOnStartup: false, handler: nightlyTimer });
