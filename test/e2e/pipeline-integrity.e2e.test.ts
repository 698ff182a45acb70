/**
 * The CLI's integrity under overlap and storage loss, end to end (the production runtime against the emulator and
 * Azurite): two applies at once never both write (the tenant lease), and a run whose storage dies stops sending
 * changes, still prints what it did, says plainly that nothing more was recorded, and exits 1; the next run finishes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant } from "../../emulator/generate";
import { LEASE_HELD_EXIT_CODE, runCommand, type Output } from "../../cli/run-command";
import { CHECKPOINTS_PER_PROBE } from "../../shared/reconcile/recorder";
import { startE2e, tenantGaps } from "./stack";

function capture(): Output & { text(): string; errors(): string } {
  let text = "";
  let errors = "";
  return { out: (chunk) => (text += chunk), err: (chunk) => (errors += chunk), progress: false, text: () => text, errors: () => errors };
}

const apply = { mode: "apply", full: true, mailboxes: [], json: false, capture: false } as const;

/** Set-Mailbox executions the emulator ran (batch sub-requests included), per mailbox identity. */
function setMailboxWrites(records: readonly { cmdlet: string; parameters: Readonly<Record<string, unknown>>; continuation: boolean }[]): Map<string, number> {
  const writes = new Map<string, number>();
  for (const call of records) {
    if (call.cmdlet !== "Set-Mailbox" || call.continuation) continue;
    const identity = String(call.parameters["Identity"]);
    writes.set(identity, (writes.get(identity) ?? 0) + 1);
  }
  return writes;
}

describe("two applies at once", async () => {
  const tenant = generateTenant({ seed: 41, counts: { user: 60, shared: 6 }, driftShare: 0.6 });
  const e2e = await startE2e(tenant, {}, { latencyInMs: 20 });
  const env: NodeJS.ProcessEnv = { ...process.env, ...e2e.stack.env, LOG_LEVEL: "silent" };

  it("the second finds the tenant's lease held, names the running run, writes nothing and exits 75; the first converges", async () => {
    e2e.resetCalls();
    const firstOutput = capture();
    const first = runCommand(apply, env, firstOutput);
    // Start the second once the first is talking to Exchange (it holds the lease by then).
    while (e2e.stack.emulator.calls.records.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const secondOutput = capture();
    const second = await runCommand(apply, env, secondOutput);
    assert.equal(second.exitCode, LEASE_HELD_EXIT_CODE);
    assert.equal(second.result, undefined);
    assert.match(secondOutput.errors(), /another run of tenant .* is in progress \(\S+, lease until .*\); nothing was done/);
    const firstResult = await first;
    assert.equal(firstResult.exitCode, 0);
    assert.deepEqual(tenantGaps(tenant), []);
    const writes = setMailboxWrites(e2e.stack.emulator.calls.records);
    assert.ok(writes.size > 0);
    assert.deepEqual([...writes.values()].filter((count) => count > 1), [], "no mailbox was written twice");
  });

  it("the lease is released when an apply ends: the next apply runs (and writes nothing: the tenant converged)", async () => {
    e2e.resetCalls();
    const next = await runCommand(apply, env, capture());
    assert.equal(next.exitCode, 0);
    assert.deepEqual(e2e.writes(), []);
  });
});

describe("storage lost mid-run", async () => {
  const tenant = generateTenant({ seed: 43, counts: { user: 1150, shared: 50 }, driftShare: 0.3 });
  const e2e = await startE2e(tenant);
  const env: NodeJS.ProcessEnv = { ...process.env, ...e2e.stack.env, LOG_LEVEL: "silent" };
  const drifted = tenantGaps(tenant).length;

  it("stops sending changes at the first failure to record, prints the summary, says outcomes were not recorded, exits 1", async () => {
    // Table Storage goes away as the first change is sent.
    let stopped: Promise<void> | undefined;
    e2e.stack.emulator.faults.add({
      cmdlet: "Set-Mailbox",
      status: 500,
      times: 1,
      when: () => {
        stopped ??= e2e.stack.azurite.stop();
        return false;
      },
    });
    const output = capture();
    const { exitCode, result } = await runCommand(apply, env, output);
    await stopped;
    assert.equal(exitCode, 1);
    assert.equal(result?.recorded, false);
    assert.match(output.text(), /Run .*apply/i, "the run's summary is printed");
    assert.match(output.errors(), /outcomes were NOT recorded .*The next run re-reads the tenant and finishes the job/);
    const writes = setMailboxWrites(e2e.stack.emulator.calls.records);
    assert.ok(writes.size > 0, "the first page's changes went out before the loss was seen");
    // The loss is seen at the next probe: at most CHECKPOINTS_PER_PROBE rounds of CHANGES_PER_ROUND (60) changes.
    assert.ok(writes.size <= (CHECKPOINTS_PER_PROBE + 1) * 60, `changes stop within a few rounds of the loss (${writes.size} mailboxes written)`);
    assert.ok(tenantGaps(tenant).length > 0 && tenantGaps(tenant).length < drifted, "the run stopped part-way");
  });

  it("the next run finishes the job", async () => {
    const withoutStorage = { ...env };
    delete withoutStorage["AzureWebJobsStorage"];
    const { exitCode } = await runCommand(apply, withoutStorage, capture());
    assert.equal(exitCode, 0);
    assert.deepEqual(tenantGaps(tenant), []);
  });
});
