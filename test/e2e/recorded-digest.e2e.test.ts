/**
 * Issue 12, end to end (production runtime, Table Storage on Azurite, the emulated tenant): the night after a full
 * apply re-reads the mailboxes the apply wrote but does not record them again; a mailbox someone else drifted in
 * between is recorded and remediated; a full sweep of the unchanged tenant records nothing but its summary, and the
 * latest state says every target was verified by that sweep.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant } from "../../emulator/generate";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { outcomeCsvRecord } from "../../shared/report/csv";
import { startE2e, tenantGaps } from "./stack";

describe("recorded-state digest end to end", async () => {
  const tenant = generateTenant({ seed: 23, counts: { user: 40, shared: 6, room: 2, equipment: 1, discovery: 1, group: 4 }, driftShare: 0.5, bypassCount: 2, auditPremiumShare: 0.5 });
  const e2e = await startE2e(tenant, { AUDIT_EVIDENCE: "off" }, { latencyInMs: 1 });
  const store = e2e.runtime.store;
  const written = { outcomes: [] as TargetOutcome[], runs: 0, digestCommits: 0 };
  // Count what reaches Table Storage (the instance the runtime's services use).
  const recordOutcomes = store.recordOutcomes.bind(store);
  store.recordOutcomes = (tenantId, runId, runStartedAt, outcomes) => {
    written.outcomes.push(...outcomes);
    return recordOutcomes(tenantId, runId, runStartedAt, outcomes);
  };
  const recordRun = store.recordRun.bind(store);
  store.recordRun = (summary) => {
    written.runs += 1;
    return recordRun(summary);
  };
  const commit = store.commitRecordedDigest.bind(store);
  store.commitRecordedDigest = (...args) => {
    written.digestCommits += 1;
    return commit(...args);
  };
  const reset = () => {
    written.outcomes = [];
    written.runs = 0;
    written.digestCommits = 0;
  };
  let remediatedByApply = 0;

  it("full apply: everything recorded", async () => {
    reset();
    const { summary } = await e2e.run({ mode: "apply", full: true });
    assert.equal(summary.counts.failed, 0);
    remediatedByApply = written.outcomes.filter((outcome) => outcome.kind === "mailbox" && outcome.status === "remediated").length;
    assert.ok(remediatedByApply > 10);
    assert.deepEqual(tenantGaps(tenant), []);
    assert.ok(written.outcomes.length >= tenant.mailboxes.size);
  });

  it("the night after: the apply's writes are read again, not recorded again; someone else's drift is", async () => {
    const victim = [...tenant.mailboxes.values()].find((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox");
    assert.ok(victim);
    victim.AuditEnabled = false;
    victim.WhenChangedUTC = new Date(Date.now() + 60_000).toISOString();
    reset();
    const { summary } = await e2e.run({ mode: "apply" });
    assert.equal(summary.scope, "incremental");
    assert.equal(summary.counts.remediated, 1);
    // Every mailbox the apply wrote is read again (its WhenChanged is inside the watermark's overlap).
    assert.ok(summary.counts.compliant + summary.counts.remediated >= remediatedByApply, `${summary.counts.compliant} read back compliant (the apply wrote ${remediatedByApply} mailboxes)`);
    assert.deepEqual(tenantGaps(tenant), []);
    assert.deepEqual(written.outcomes.map((outcome) => [outcome.targetId, outcome.status]), [[victim.ExternalDirectoryObjectId, "remediated"]]);
    assert.equal(written.runs, 1);
  });

  it("a full sweep of the unchanged tenant records only its summary; every target was last verified by it", async () => {
    reset();
    const { summary } = await e2e.run({ mode: "apply", full: true });
    assert.equal(summary.scope, "full");
    assert.equal(summary.counts.failed, 0);
    assert.ok(summary.counts.compliant > tenant.mailboxes.size);
    assert.deepEqual(written.outcomes, []);
    assert.equal(written.runs, 1);
    assert.equal(written.digestCommits, 0, "no bucket changed");
    let rows = 0;
    for await (const row of store.listLatest(tenant.tenantId)) {
      rows += 1;
      assert.equal(row.lastVerifiedAt, summary.startedAt, `${row.kind} ${row.targetId} (recorded ${row.runStartedAt})`);
      assert.ok(outcomeCsvRecord(row).includes(summary.startedAt), "the CSV export shows it");
    }
    assert.ok(rows > tenant.mailboxes.size);
  });

  it("a target changed after the sweep is recorded again and verified by its own run", async () => {
    const victim = [...tenant.mailboxes.values()].find((mailbox) => mailbox.RecipientTypeDetails === "SharedMailbox");
    assert.ok(victim);
    victim.AuditLogAgeLimit = "30.00:00:00";
    victim.WhenChangedUTC = new Date(Date.now() + 120_000).toISOString();
    reset();
    const { summary } = await e2e.run({ mode: "apply", full: true });
    assert.equal(summary.counts.remediated, 1);
    assert.deepEqual(written.outcomes.map((outcome) => outcome.targetId), [victim.ExternalDirectoryObjectId]);
    for await (const row of store.listLatest(tenant.tenantId)) if (row.targetId === victim.ExternalDirectoryObjectId) assert.equal(row.lastVerifiedAt, summary.startedAt);
  });
});
