/**
 * Issue 13: the audit trail proven from the unified audit log, end to end. The product runs through `runEnforcement`
 * with the production runtime (Graph client, Table Storage) against the emulator's Purview audit search, whose
 * records come from the Exchange writes it served. One clock drives the engine and the emulator, so "a day later"
 * is a clock step, not a wait.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServicePrincipal } from "../../emulator/app-permissions";
import { generateTenant } from "../../emulator/generate";
import type { EmulatedMailbox } from "../../emulator/tenant-state";
import { decideAlerts, settleAlertState, type AlertEvent, type AlertTargetState } from "../../shared/alerts/alert-decision";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { runEnforcement, type EnforcementRequest, type EnforcementResult } from "../../shared/enforcement";
import { startE2e, type E2eStack } from "./stack";

const HOUR = 3_600_000;
const PERMISSION = "AuditLogsQuery-Exchange.Read.All";

/** A drifted tenant: organisation auditing off, mailboxes short of the baseline, one bypassed account. */
function driftedTenant(seed: number) {
  return generateTenant({ seed, counts: { user: 3, shared: 1 }, driftShare: 1, bypassCount: 1, auditPremiumShare: 1, orgAuditDisabled: true });
}

/** The engine and the emulator on one clock that tests move forward. */
function sharedClock() {
  let offsetInMs = 0;
  return { now: () => new Date(Date.now() + offsetInMs), advance: (ms: number) => void (offsetInMs += ms) };
}

function runner(e2e: E2eStack, clock: ReturnType<typeof sharedClock>) {
  return (request: Omit<EnforcementRequest, "runId">): Promise<EnforcementResult> =>
    runEnforcement({ ...e2e.runtime.enforcementServices(), clock: { now: clock.now } }, { runId: randomUUID(), full: true, sampleSize: 10_000, ...request });
}

function evidenceOf(result: EnforcementResult, kind: "audit-trail" | "audit-activity", targetId?: string): TargetOutcome | undefined {
  const found = result.outcomes.filter((outcome) => outcome.kind === kind && (targetId === undefined || outcome.targetId === targetId));
  assert.ok(found.length <= 1, `at most one ${kind} outcome for ${targetId ?? "the run"}`);
  return found[0];
}

/** Makes one mailbox drift again (someone turned its auditing off), so the next apply changes it. */
function drift(mailbox: EmulatedMailbox, clock: ReturnType<typeof sharedClock>): void {
  mailbox.AuditEnabled = false;
  mailbox.WhenChangedUTC = clock.now().toISOString();
}

/** The alert decision over one run, with the state it leaves as if every channel accepted its alert. */
function alertsFor(result: EnforcementResult, state: AlertTargetState[], now: string): { events: readonly AlertEvent[]; state: AlertTargetState[] } {
  const decision = decideAlerts({ previous: state, outcomes: result.outcomes, summary: result.summary, now, channels: ["webhook"] });
  const changes = settleAlertState(decision, new Set(["webhook"]));
  const next = new Map(state.map((entry) => [entry.key, entry]));
  for (const key of changes.remove) next.delete(key);
  for (const entry of changes.put) next.set(entry.key, entry);
  return { events: decision.alerts.flatMap((alert) => alert.alert.events), state: [...next.values()] };
}

describe("audit-log evidence end to end", async () => {
  const clock = sharedClock();
  const tenant = driftedTenant(13);
  const e2e = await startE2e(tenant, { AUDIT_INGESTION_DELAY_MINUTES: "0", AUDIT_EVIDENCE_POLL_SECONDS: "30" }, { latencyInMs: 1, now: clock.now, auditSearch: { pollsToComplete: 2 } });
  const run = runner(e2e, clock);
  const search = e2e.stack.emulator.auditSearch;
  const users = [...tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox");

  it("changes found: the next run reports the earlier run's changes N of N in the audit log, and never looks again", async () => {
    const applied = await run({ mode: "apply" });
    assert.equal(applied.summary.counts.failed, 0, JSON.stringify(applied.outcomes.filter((outcome) => outcome.status === "failed")));
    const changes = applied.summary.counts.remediated;
    assert.ok(changes >= 3, `the drifted tenant was changed (${changes} changes)`);
    assert.equal(evidenceOf(applied, "audit-trail"), undefined, "the first run has no earlier run to prove");
    // Auditing was off when this run started: zero activity would be pending; the emulator serves records once it is on.
    assert.notEqual(evidenceOf(applied, "audit-activity")?.status, "failed");

    clock.advance(HOUR);
    const next = await run({ mode: "plan" });
    const trail = evidenceOf(next, "audit-trail", applied.summary.runId);
    assert.equal(trail?.status, "compliant", JSON.stringify(trail));
    assert.equal(trail?.displayName, `Changes of run ${applied.summary.runId}`);
    assert.deepEqual([trail?.after?.["expected"], trail?.after?.["found"]], [changes, changes], `${changes} of ${changes} changes found in the audit log`);
    assert.deepEqual(trail?.after?.["missing"], []);
    assert.equal(evidenceOf(next, "audit-activity")?.status, "compliant", "mailbox audit records arrive once auditing is on");
    assert.ok((evidenceOf(next, "audit-activity")?.after?.["records"] as number) > 0);
    // Counted in the run summary and recorded in Table Storage under the run that looked.
    assert.deepEqual(Object.keys(next.summary.graphCalls ?? {}).sort(), ["GET /security/auditLog/queries/{id}", "GET /security/auditLog/queries/{id}/records", "POST /security/auditLog/queries"]);
    assert.equal(next.summary.graphCalls?.["POST /security/auditLog/queries"], 2);
    const stored = await e2e.runtime.store.getRun(tenant.tenantId, next.summary.runId);
    assert.deepEqual(stored?.graphCalls, next.summary.graphCalls);
    const history = await e2e.runtime.store.listHistory(tenant.tenantId, applied.summary.runId, { kind: "audit-trail" });
    assert.deepEqual(history.map((outcome) => [outcome.runId, outcome.status]), [[next.summary.runId, "compliant"]]);

    clock.advance(HOUR);
    const third = await run({ mode: "plan" });
    assert.equal(evidenceOf(third, "audit-trail", applied.summary.runId), undefined, "a settled run is not searched again");
  });

  it("records delayed: pending (drift), not failed, while younger than 24 hours; found once they arrive", async () => {
    search.configure({ ingestionDelayMs: 6 * HOUR });
    drift(users[0]!, clock);
    const applied = await run({ mode: "apply" });
    assert.equal(applied.summary.counts.remediated, 1);
    clock.advance(2 * HOUR);
    const early = await run({ mode: "plan" });
    const pending = evidenceOf(early, "audit-trail", applied.summary.runId);
    assert.equal(pending?.status, "drift", JSON.stringify(pending));
    assert.equal(pending?.error, undefined);
    assert.deepEqual(pending?.findings.map((finding) => [finding.kind, finding.setting]), [["pending", "AuditTrail"]]);
    assert.match(pending?.findings[0]?.message ?? "", /^0 of 1 changes found in the audit log so far/);
    assert.equal(early.summary.counts.failed, 0);

    clock.advance(5 * HOUR);
    const later = await run({ mode: "plan" });
    assert.equal(evidenceOf(later, "audit-trail", applied.summary.runId)?.status, "compliant");
    search.configure({ ingestionDelayMs: 0 });
  });

  it("records lost: failed AuditTrailMissing after 24 hours, alerted once, not repeated the next night", async () => {
    drift(users[1]!, clock);
    const applied = await run({ mode: "apply" });
    assert.equal(applied.summary.counts.remediated, 1);
    search.configure({ lostShare: 1 });
    try {
      let alertState: AlertTargetState[] = [];
      clock.advance(25 * HOUR);
      const night = await run({ mode: "apply" });
      const missing = evidenceOf(night, "audit-trail", applied.summary.runId);
      assert.equal(missing?.status, "failed", JSON.stringify(missing));
      assert.equal(missing?.error?.code, "AuditTrailMissing");
      assert.match(missing?.error?.message ?? "", /^0 of 1 changes found in the audit log: 1 change\(s\) of run /);
      assert.deepEqual((missing?.after?.["missing"] as { targetId: string }[]).map((change) => change.targetId), [users[1]!.ExternalDirectoryObjectId]);
      const first = alertsFor(night, alertState, clock.now().toISOString());
      assert.deepEqual(first.events.map((event) => [event.change, event.kind, event.targetId, event.error?.code]), [["new", "audit-trail", applied.summary.runId, "AuditTrailMissing"]]);
      alertState = first.state;

      clock.advance(24 * HOUR);
      const nextNight = await run({ mode: "apply" });
      assert.equal(evidenceOf(nextNight, "audit-trail", applied.summary.runId), undefined, "the settled run is not searched again");
      assert.deepEqual(alertsFor(nextNight, alertState, clock.now().toISOString()).events, [], "no second alert");
    } finally {
      search.configure({ lostShare: 0 });
    }
  });
});

describe("audit-log evidence without the permission", async () => {
  const clock = sharedClock();
  const tenant = driftedTenant(14);
  tenant.servicePrincipal = createServicePrincipal({ missingPermissions: [PERMISSION] });
  const e2e = await startE2e(tenant, { AUDIT_INGESTION_DELAY_MINUTES: "0", AUDIT_EVIDENCE_POLL_SECONDS: "30" }, { latencyInMs: 1, now: clock.now, auditSearch: { pollsToComplete: 2 } });
  const run = runner(e2e, clock);

  it("not-applicable outcomes naming the grant; no failure, no alert; enforcement unaffected", async () => {
    const applied = await run({ mode: "apply" });
    assert.equal(applied.summary.counts.failed, 0);
    assert.ok(applied.summary.counts.remediated > 0, "the enforcement itself went ahead");
    clock.advance(HOUR);
    const next = await run({ mode: "plan" });
    for (const outcome of [evidenceOf(next, "audit-trail", applied.summary.runId), evidenceOf(next, "audit-activity")]) {
      assert.equal(outcome?.status, "not-applicable", JSON.stringify(outcome));
      assert.equal(outcome?.after?.["permissionMissing"], PERMISSION);
    }
    assert.equal(next.summary.counts.failed, 0);
    assert.deepEqual(next.summary.graphCalls, { "POST /security/auditLog/queries": 1 }, "one refused call, then no more");
    assert.deepEqual(alertsFor(next, [], clock.now().toISOString()).events, []);
  });
});
