/**
 * Issue 3 acceptance, end to end: the production runtime (managed identity credential, REST transport over HTTPS,
 * Table Storage on Azurite) against the emulated tenant. Compliance is checked on the emulator's state, independently
 * of what the engine reports.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant } from "../../emulator/generate";
import { startE2e, tenantGaps } from "./stack";

function driftedTenant(seed: number) {
  return generateTenant({
    seed,
    counts: { user: 30, shared: 8, room: 4, equipment: 3, discovery: 1, group: 6 },
    driftShare: 0.5,
    bypassCount: 3,
    orgAuditDisabled: true,
    unifiedAuditLogIngestionEnabled: false,
    dehydrated: true,
    auditPremiumShare: 0.5,
  });
}

describe("audit baseline end to end", async () => {
  const e2e = await startE2e(driftedTenant(11), {}, { latencyInMs: 1 });

  it("plan reports drift and writes nothing", async () => {
    e2e.resetCalls();
    const { summary } = await e2e.run({ mode: "plan", full: true });
    assert.ok(summary.counts.drift > 0);
    assert.equal(summary.counts.failed, 0);
    assert.deepEqual(e2e.writes(), []);
    assert.ok(tenantGaps(e2e.tenant).length > 0, "the tenant is still drifted");
  });

  it("apply leaves the organisation and every mailbox compliant, read back from Exchange", async () => {
    const { summary } = await e2e.run({ mode: "apply", full: true });
    assert.equal(summary.error, undefined);
    assert.equal(summary.counts.failed, 0);
    assert.ok(summary.counts.remediated > 0);
    assert.deepEqual(tenantGaps(e2e.tenant), []);
    assert.equal(e2e.tenant.organizationConfig.isDehydrated, false, "Enable-OrganizationCustomization was run first");
    assert.ok((summary.findingCounts?.["licence-gap"] ?? 0) > 0, "unlicensed mailboxes are reported as licence gaps");
    const groups = [...e2e.tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails === "GroupMailbox");
    assert.ok(groups.every((mailbox) => mailbox.DefaultAuditSet.length === 3), "group mailbox actions are never written");
    for (const type of ["RoomMailbox", "EquipmentMailbox", "DiscoveryMailbox"]) {
      const ofType = [...e2e.tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails === type);
      assert.ok(ofType.length > 0 && ofType.every((mailbox) => mailbox.AuditOwner.includes("UpdateInboxRules") && mailbox.AuditDelegate.includes("SendAs")), `${type} mailboxes carry the lists`);
    }
  });

  it("speaks only what InvokeCommand serves: no Get-EXO* cmdlet, X-CmdletName and an anchor on every call", () => {
    const calls = e2e.stack.emulator.calls.records.filter((call) => call.api === "exchange" && call.cmdlet !== "$batch");
    assert.ok(calls.length > 0);
    assert.deepEqual(calls.filter((call) => /^Get-EXO/i.test(call.cmdlet)).map((call) => call.cmdlet), []);
    assert.deepEqual(calls.filter((call) => call.cmdletNameHeader !== call.cmdlet).map((call) => call.cmdlet), []);
    assert.deepEqual(calls.filter((call) => !call.anchorMailbox?.startsWith("APP:SystemMailbox{")).map((call) => call.cmdlet), []);
    assert.ok(calls.some((call) => call.cmdlet === "Set-AdminAuditLogConfig" && call.status === 200 && call.anchorMailbox?.includes("8cc370d3")));
  });

  it("a second apply makes zero writes and reports everything compliant", async () => {
    e2e.resetCalls();
    const { summary } = await e2e.run({ mode: "apply", full: true });
    assert.deepEqual(e2e.writes(), []);
    assert.equal(summary.counts.remediated, 0);
    assert.equal(summary.counts.drift, 0);
    assert.equal(summary.counts.failed, 0);
  });

  it("records one latest row per target and the run in Table Storage", async () => {
    let rows = 0;
    for await (const row of e2e.runtime.store.listLatest(e2e.tenant.tenantId)) {
      rows += 1;
      assert.notEqual(row.status, "drift");
    }
    const mailboxTargets = e2e.tenant.mailboxes.size;
    assert.ok(rows >= mailboxTargets + 1, `${rows} latest rows for ${mailboxTargets} mailboxes and the organisation`);
    const runs = await e2e.runtime.store.listRuns(e2e.tenant.tenantId, { limit: 10 });
    assert.equal(runs.length, 3);
  });

  it("an incremental run reads only changed mailboxes and repairs a new drift", async () => {
    const victim = [...e2e.tenant.mailboxes.values()].find((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox");
    assert.ok(victim);
    victim.AuditOwner = victim.AuditOwner.filter((action) => action !== "MailboxLogin");
    victim.AuditEnabled = false;
    victim.WhenChangedUTC = new Date(Date.now() + 60_000).toISOString();
    e2e.resetCalls();
    const { summary } = await e2e.run({ mode: "apply" });
    assert.equal(summary.scope, "incremental");
    assert.equal(summary.counts.remediated, 1);
    assert.deepEqual(e2e.writes(), ["Set-Mailbox"]);
    assert.deepEqual(tenantGaps(e2e.tenant), []);
  });

  it("incremental runs never list every bypass association; a bypass switched on is caught by the next run", async () => {
    // (The quiet night's constant cost is pinned with a fake clock in test/audit; here the real clock keeps this
    // file's own writes inside the watermark overlap, so they are re-read.)
    const account = [...e2e.tenant.mailboxes.values()].find((mailbox) => mailbox.RecipientTypeDetails === "SharedMailbox");
    assert.ok(account);
    e2e.stack.emulator.state.bypassAssociations.set(account.Identity, {
      Identity: account.Identity,
      Name: account.Name,
      Guid: account.Guid,
      AuditBypassEnabled: true,
      WhenChangedUTC: new Date().toISOString(),
    });
    account.WhenChangedUTC = new Date(Date.now() + 60_000).toISOString(); // what setting the bypass does to the account
    e2e.resetCalls();
    const { summary } = await e2e.run({ mode: "apply" });
    assert.equal(summary.scope, "incremental");
    assert.equal(summary.counts.remediated, 1);
    assert.deepEqual(tenantGaps(e2e.tenant), []);
    const bypassCalls = e2e.stack.emulator.calls.records.filter((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation");
    assert.ok(bypassCalls.length > 0 && bypassCalls.every((call) => call.parameters["Identity"] !== undefined), "looked up, never listed");
  });

  it("named mailboxes: rejects injection before any call, repairs just those mailboxes", async () => {
    e2e.resetCalls();
    await assert.rejects(e2e.run({ mode: "plan", mailboxes: ["x' -or Name -like '*"] }), /not an SMTP address|GUID|invalid/i);
    assert.equal(e2e.stack.emulator.calls.records.length, 0);
    const [first] = [...e2e.tenant.mailboxes.values()];
    assert.ok(first);
    first.AuditLogAgeLimit = "30.00:00:00";
    const { summary } = await e2e.run({ mode: "apply", mailboxes: [first.PrimarySmtpAddress] });
    assert.equal(summary.scope, "mailboxes");
    assert.equal(summary.counts.remediated, 1);
    assert.deepEqual(tenantGaps(e2e.tenant), []);
  });
});

describe("audit baseline under faults", async () => {
  const e2e = await startE2e(driftedTenant(12), {}, { latencyInMs: 1 });
  const { faults } = e2e.stack.emulator;

  it("429 storms, 5xx and partial batch failures end compliant or as recorded failures, never silent success", async () => {
    faults.add({ cmdlet: "Set-Mailbox", status: 429, retryAfterInSeconds: 0, times: 15, inBatch: true });
    faults.add({ cmdlet: "$batch", status: 503, retryAfterInSeconds: 0, times: 2 });
    faults.add({ cmdlet: "Get-Mailbox", status: 500, times: 1 });
    // A permanent failure for two mailboxes: beyond any retry budget.
    const broken = [...e2e.tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails === "SharedMailbox").slice(0, 2);
    const brokenIds = new Set(broken.flatMap((mailbox) => [mailbox.Guid, mailbox.ExternalDirectoryObjectId, mailbox.PrimarySmtpAddress]));
    const removeBroken = faults.add({
      cmdlet: "Set-Mailbox",
      status: 500,
      text: "Active Directory operation failed on the domain controller.",
      times: 1000,
      when: (call) => brokenIds.has(String(call.parameters["Identity"])),
    });
    const { summary, outcomes } = await e2e.run({ mode: "apply", full: true, sampleSize: 1000 });
    assert.equal(summary.error, undefined);
    assert.equal(summary.counts.failed, 2);
    const failedIds = outcomes.filter((outcome) => outcome.status === "failed").map((outcome) => outcome.targetId).sort();
    assert.deepEqual(failedIds, broken.map((mailbox) => mailbox.ExternalDirectoryObjectId).sort());
    for (const outcome of outcomes.filter((candidate) => candidate.status === "failed")) assert.ok(outcome.error?.message);
    // Everything reported compliant or remediated really is.
    const remaining = tenantGaps(e2e.tenant).map((gap) => gap.split(":")[0]);
    assert.deepEqual([...new Set(remaining)].sort(), broken.map((mailbox) => mailbox.PrimarySmtpAddress).sort());
    assert.ok(e2e.stack.emulator.maxObservedConcurrency <= 3);
    assert.equal(faults.pending, 1, "every transient fault fired; only the permanent one is left");

    // The next run finishes the job once Exchange recovers: the failures kept the watermark, so it re-reads them.
    removeBroken();
    const next = await e2e.run({ mode: "apply" });
    assert.equal(next.summary.counts.failed, 0);
    assert.deepEqual(tenantGaps(e2e.tenant), []);
  });
});
