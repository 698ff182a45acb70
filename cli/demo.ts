/**
 * `mailbox-audit demo` (what `npm start` runs): the embedded default. Starts Azurite and the tenant emulator
 * in-process with a generated, drifted tenant (every kind of drift the product repairs, and no capture yet), then
 * shows a first run as an operator would do it: `plan` (what would change), `apply` (through the same code as
 * `mailbox-audit apply`), `plan` again (converged), and the auditors' HTML report, written to the OS temp directory.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
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
/** Where the demo writes the HTML report: the OS temp directory, writable on a fresh clone. */
export const DEMO_REPORT_PATH = join(tmpdir(), "mailbox-audit-demo-report.html");

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
      // The emulated audit log has no ingestion delay, so the re-read can already look for the apply's changes there.
      AUDIT_INGESTION_DELAY_MINUTES: "0",
    };
    output.out(`Local tenant ${tenant.initialDomain}: ${tenant.mailboxes.size} mailboxes on Microsoft's defaults (which fall short of the ASD baseline), ${Math.round(options.drift * 100)}% drifted further; org auditing off, unified audit log off, 2 bypassed accounts, no mail capture.\n`);
    output.out(`Exchange/Graph emulator at ${stack.emulator.exchangeBaseUrl}, Azurite Table Storage at ${stack.azurite.tableEndpoint ?? "?"}\n\n`);
    const run = { full: true, mailboxes: [], json: options.json, capture: true } as const;
    output.out("1. What would change (plan, no writes):\n");
    const first = await runCommand({ ...run, mode: "plan" }, env, output);
    output.out("\n2. Enforcing it (apply: change, read back, record):\n");
    const apply = await runCommand({ ...run, mode: "apply" }, env, output);
    output.out("\n3. Re-reading the tenant (plan, no writes):\n");
    const plan = await runCommand({ ...run, mode: "plan" }, env, output);
    output.out(`\nRun 'mailbox-audit plan' or 'apply' against a real tenant with the settings in the README.\n`);
    output.out("\n4. The compliance report for auditors, from what was recorded (mailbox-audit report --html):\n");
    const report = await runReport({ format: "html", file: DEMO_REPORT_PATH }, env, (chunk) => output.out(chunk));
    // The first plan's exit 2 (drift) is the point of the demo; anything else from it counts.
    return Math.max(first.exitCode === 2 ? 0 : first.exitCode, apply.exitCode, plan.exitCode, report);
  } finally {
    restoreEnv();
    await stack.stop();
  }
}
