/** `mailbox-audit doctor`: "will it work in my tenant?", reading only. */
import { ConfigError, loadConfig } from "../shared/config";
import { CredentialConfigError } from "../shared/credentials";
import { doctorExitCode, type Check, type DoctorReport, type TokenSummary } from "../shared/doctor/check";
import { runDoctor } from "../shared/doctor/run-doctor";
import type { ExchangeCall } from "../shared/exchange/rest-transport";
import { createRuntime, type Runtime } from "../shared/runtime";
import type { Output } from "./run-command";

const STATUS_LABEL: Readonly<Record<Check["status"], string>> = { ok: "ok", problem: "PROBLEM", unknown: "unknown" };

function formatToken(name: string, token: TokenSummary): string {
  if (token.error) return `  ${name} (${token.scope}): ${token.error}`;
  const roles = token.roles.length > 0 ? token.roles.join(", ") : "(none)";
  return `  ${name} (${token.scope}): app ${token.appId ?? "?"}, service principal ${token.objectId ?? "?"}, roles: ${roles}`;
}

function formatCheck(check: Check): string[] {
  const latency = check.latencyInMs === undefined ? "" : `  ${check.latencyInMs} ms`;
  const lines = [`  ${STATUS_LABEL[check.status].padEnd(8)} ${check.title}: ${check.detail}${latency}`];
  if (check.fix && check.status !== "ok") lines.push(`           -> ${check.fix}`);
  return lines;
}

/** The report as text: tokens, the checklist, the tenant's size and Exchange's throttling, the verdict. */
export function formatDoctor(report: DoctorReport): string {
  const { exchangeCalls: calls, tenant } = report;
  const count = (status: Check["status"]) => report.checks.filter((check) => check.status === status).length;
  const size = [
    `${tenant.mailboxesOnFirstPage ?? "?"} mailboxes on the first page${tenant.moreMailboxesLikely ? " (more pages likely)" : ""}`,
    `${tenant.groupMailboxesOnFirstPage ?? "?"} group mailboxes`,
    `${tenant.usersOnFirstDeltaPage ?? "?"} users on the first users/delta page`,
  ];
  return [
    `mailbox-audit doctor: tenant ${report.tenantId}, CAPTURE_MODE=${report.captureMode}`,
    "",
    "Tokens",
    formatToken("Exchange", report.tokens.exchange),
    formatToken("Graph", report.tokens.graph),
    ...report.warnings.map((warning) => `  warning: ${warning}`),
    "",
    "Checklist",
    ...report.checks.flatMap(formatCheck),
    "",
    `Tenant: ${size.join(", ")}`,
    `Exchange: ${calls.httpCalls} HTTP calls, ${calls.throttled} answered 429 (throttled), ${calls.transientFailures} transient failures (the transport retries both)`,
    "",
    `${count("ok")} ok, ${count("problem")} problems, ${count("unknown")} unknown`,
  ].join("\n");
}

async function doctorRuntime(env: NodeJS.ProcessEnv, calls: ExchangeCall[]): Promise<Runtime> {
  const config = loadConfig(env, { requireStorage: false });
  try {
    return await createRuntime(config, { onExchangeCall: (call) => calls.push(call) });
  } catch (error) {
    if (error instanceof CredentialConfigError) throw new ConfigError([error.message]);
    throw error;
  }
}

/** Runs the doctor against the configured tenant, prints the report and returns the exit code (78: bad configuration, thrown). */
export async function runDoctorCommand(options: { json: boolean }, env: NodeJS.ProcessEnv, output: Pick<Output, "out">): Promise<{ exitCode: number; report: DoctorReport }> {
  const calls: ExchangeCall[] = [];
  const runtime = await doctorRuntime(env, calls);
  const report = await runDoctor(runtime, calls);
  output.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
  return { exitCode: doctorExitCode(report), report };
}
