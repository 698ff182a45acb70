/** The CLI's plan/apply against the emulated tenant: exit codes, output, and a plan with no Table Storage at all. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant } from "../../emulator/generate";
import { runCommand, type Output } from "../../cli/run-command";
import { startE2e, tenantGaps } from "./stack";

function capture(): Output & { text(): string } {
  let text = "";
  return { out: (chunk) => (text += chunk), err: () => undefined, progress: false, text: () => text };
}

const run = { full: false, mailboxes: [], json: false, capture: true } as const;

describe("mailbox-audit plan and apply", async () => {
  const tenant = generateTenant({ seed: 31, counts: { user: 4, room: 1 }, driftShare: 0.5, orgAuditDisabled: true });
  const e2e = await startE2e(tenant);
  const env: NodeJS.ProcessEnv = { ...process.env, ...e2e.stack.env, LOG_LEVEL: "silent" };

  it("plan without Table Storage reads the tenant, prints the drift and exits 2, writing nothing", async () => {
    const withoutStorage = { ...env };
    delete withoutStorage["AzureWebJobsStorage"];
    const output = capture();
    e2e.resetCalls();
    const { exitCode, result } = await runCommand({ ...run, mode: "plan" }, withoutStorage, output);
    assert.equal(exitCode, 2);
    assert.equal(result?.summary.scope, "full", "no watermark without storage: a full read");
    assert.match(output.text(), /DRIFT\s+organization/);
    assert.deepEqual(e2e.writes(), []);
    assert.ok(tenantGaps(tenant).length > 0);
  });

  it("apply exits 0 with everything remediated; JSON output carries the summary and outcomes", async () => {
    const output = capture();
    const { exitCode } = await runCommand({ ...run, mode: "apply", json: true }, env, output);
    assert.equal(exitCode, 0);
    const parsed = JSON.parse(output.text()) as { summary: { counts: { remediated: number; failed: number } }; outcomes: unknown[] };
    assert.ok(parsed.summary.counts.remediated > 0);
    assert.equal(parsed.summary.counts.failed, 0);
    assert.ok(parsed.outcomes.length > 0);
    assert.deepEqual(tenantGaps(tenant), []);
  });
});
