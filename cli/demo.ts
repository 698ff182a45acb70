/**
 * `mailbox-audit demo` (what `npm start` runs): the embedded default. Starts Azurite and the tenant emulator
 * in-process with a generated, drifted tenant (every kind of drift the product repairs, and no capture yet), runs
 * `apply` once through the same code as `mailbox-audit apply`, then a `plan` to show the tenant has converged.
 */
import { generateTenant, GENERATED_MAIL_ENABLED_GROUP } from "../emulator/generate";
import { startLocalStack } from "../emulator/local-stack";
import { runReport } from "./report-command";
import { processOutput, runCommand, type Output } from "./run-command";

export interface DemoOptions {
  readonly mailboxes: number;
  readonly drift: number;
  readonly json: boolean;
}

export const DEMO_CAPTURE_MAILBOX = "soc-capture@contoso.onmicrosoft.com";

export async function runDemo(options: DemoOptions, output: Output = processOutput): Promise<number> {
  const perType = options.mailboxes;
  const tenant = generateTenant({
    seed: 1,
    counts: { user: perType, shared: Math.ceil(perType / 4), room: Math.ceil(perType / 10), equipment: Math.ceil(perType / 10), discovery: 1, group: Math.ceil(perType / 4) },
    driftShare: options.drift,
    bypassCount: 2,
    orgAuditDisabled: true,
    unifiedAuditLogIngestionEnabled: false,
    auditPremiumShare: 0.5,
  });
  const stack = await startLocalStack({ tenant, latencyInMs: 5 });
  const restoreEnv = stack.applyEnv();
  try {
    const env = {
      ...process.env,
      LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn",
      CAPTURE_MODE: "transport-rules",
      CAPTURE_MAILBOX: DEMO_CAPTURE_MAILBOX,
      CAPTURE_ACCESS_GROUP: GENERATED_MAIL_ENABLED_GROUP,
      CAPTURE_CREATE_MAILBOX: "true",
    };
    output.out(`Local tenant ${tenant.initialDomain}: ${tenant.mailboxes.size} mailboxes on Microsoft's defaults (which fall short of the ASD baseline), ${Math.round(options.drift * 100)}% drifted further; org auditing off, unified audit log off, 2 bypassed accounts, no mail capture.\n`);
    output.out(`Exchange/Graph emulator at ${stack.emulator.exchangeBaseUrl}, Azurite Table Storage at ${stack.azurite.tableEndpoint ?? "?"}\n\n`);
    const apply = await runCommand({ mode: "apply", full: true, mailboxes: [], json: options.json, capture: true }, env, output);
    output.out("\nRe-reading the tenant (plan, no writes):\n");
    const plan = await runCommand({ mode: "plan", full: true, mailboxes: [], json: options.json, capture: true }, env, output);
    output.out("\nRecorded in Table Storage (mailbox-audit report):\n");
    const report = await runReport({ format: "text" }, env, (chunk) => output.out(chunk));
    output.out(`\nRun 'mailbox-audit plan' or 'apply' against a real tenant with the settings in the README.\n`);
    return Math.max(apply.exitCode, plan.exitCode, report);
  } finally {
    restoreEnv();
    await stack.stop();
  }
}
