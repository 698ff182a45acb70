/** The in-memory store the CLI uses without Table Storage: history kept per target (linear recording), same answers as the Table store. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";

const outcome = (targetId: string, overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "mailbox",
  targetId,
  displayName: targetId,
  status: "compliant",
  findings: [],
  ...overrides,
});

test("records history per target: newest run first, one entry per run and kind, re-recording replaces", async () => {
  const store = new MemoryOutcomeStore();
  await store.recordOutcomes("t1", "run-1", "2026-01-01T00:00:00Z", [outcome("a"), outcome("b")]);
  await store.recordOutcomes("t1", "run-2", "2026-01-02T00:00:00Z", [outcome("a", { status: "remediated" })]);
  await store.recordOutcomes("t1", "run-2", "2026-01-02T00:00:00Z", [outcome("a", { status: "failed" })]);
  await store.recordOutcomes("t1", "run-2", "2026-01-02T00:00:00Z", [outcome("a", { kind: "bypass-association" })]);
  await store.recordOutcomes("t2", "run-9", "2026-01-03T00:00:00Z", [outcome("a")]);

  const history = await store.listHistory("t1", "a");
  assert.deepEqual(history.map((entry) => [entry.runId, entry.kind, entry.status]), [
    ["run-2", "mailbox", "failed"],
    ["run-2", "bypass-association", "compliant"],
    ["run-1", "mailbox", "compliant"],
  ]);
  assert.deepEqual((await store.listHistory("t1", "a", { kind: "mailbox" })).map((entry) => entry.runId), ["run-2", "run-1"]);
  assert.deepEqual((await store.listHistory("t1", "a", { limit: 1 })).map((entry) => entry.runId), ["run-2"]);
  assert.deepEqual((await store.listHistory("t2", "a")).map((entry) => entry.runId), ["run-9"], "tenants are apart");
  assert.deepEqual(await store.listHistory("t1", "nobody"), []);

  const latest: string[] = [];
  for await (const entry of store.listLatest("t1")) latest.push(`${entry.kind}:${entry.targetId}:${entry.status}`);
  assert.deepEqual(latest.sort(), ["bypass-association:a:compliant", "mailbox:a:failed", "mailbox:b:compliant"]);
});

test("a large run records every outcome once (10,000 targets, a history entry each)", async () => {
  const store = new MemoryOutcomeStore();
  const outcomes = Array.from({ length: 10_000 }, (_, index) => outcome(`m${index}`));
  for (let index = 0; index < outcomes.length; index += 500) await store.recordOutcomes("t1", "run-1", "2026-01-01T00:00:00Z", outcomes.slice(index, index + 500));
  await store.recordOutcomes("t1", "run-2", "2026-01-02T00:00:00Z", outcomes);
  let latest = 0;
  for await (const entry of store.listLatest("t1")) latest += entry.runId === "run-2" ? 1 : 0;
  assert.equal(latest, 10_000);
  assert.deepEqual((await store.listHistory("t1", "m9999")).map((entry) => entry.runId), ["run-2", "run-1"]);
});

test("listRunChanges: one run's remediated outcomes, by kind and target, bounded; a re-recording does not remove a change", async () => {
  const store = new MemoryOutcomeStore();
  await store.recordOutcomes("t1", "run-1", "2026-01-01T00:00:00Z", [
    outcome("b", { status: "remediated" }),
    outcome("a", { status: "remediated", displayName: "a@contoso.com" }),
    outcome("c"),
    outcome("org", { kind: "organization", status: "remediated" }),
  ]);
  await store.recordOutcomes("t1", "run-1", "2026-01-01T00:00:00Z", [outcome("b", { status: "compliant" })]);
  await store.recordOutcomes("t1", "run-2", "2026-01-02T00:00:00Z", [outcome("d", { status: "remediated" })]);
  await store.recordOutcomes("t2", "run-1", "2026-01-01T00:00:00Z", [outcome("e", { status: "remediated" })]);
  const changes = await store.listRunChanges("t1", "run-1");
  assert.deepEqual(changes.map((change) => [change.kind, change.targetId, change.status, change.runId]), [
    ["mailbox", "a", "remediated", "run-1"],
    ["mailbox", "b", "remediated", "run-1"],
    ["organization", "org", "remediated", "run-1"],
  ]);
  assert.equal(changes[0]?.displayName, "a@contoso.com");
  assert.deepEqual((await store.listRunChanges("t1", "run-1", { limit: 2 })).map((change) => change.targetId), ["a", "b"]);
  assert.deepEqual(await store.listRunChanges("t1", "run-unknown"), []);
});

test("retain 'run' (the CLI without storage): runs and watermarks kept; no latest state, history, changes or digest, so memory does not grow with the run", async () => {
  const store = new MemoryOutcomeStore({ retain: "run" });
  const outcomes = Array.from({ length: 1_000 }, (_, index) => outcome(`m${index}`, index % 100 === 0 ? { status: "remediated" } : {}));
  await store.recordOutcomes("t1", "run-1", "2026-01-01T00:00:00Z", outcomes);
  await store.recordRun({ runId: "run-1", tenantId: "t1", mode: "plan", scope: "full", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:01:00Z", counts: { compliant: 990, remediated: 10, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 }, findingCounts: {}, exchangeCalls: {}, durationInMs: 60_000 });
  await store.setWatermark("t1", "incremental", "2026-01-01T00:00:00Z");
  assert.equal((await store.listRuns("t1")).length, 1);
  assert.equal((await store.getWatermark("t1", "incremental"))?.value, "2026-01-01T00:00:00Z");
  assert.deepEqual(await store.listRunChanges("t1", "run-1"), []);
  let latest = 0;
  for await (const entry of store.listLatest("t1")) latest += entry ? 1 : 0;
  assert.equal(latest, 0);
  assert.deepEqual(await store.listHistory("t1", "m1"), []);
  assert.equal((await store.loadRecordedDigest("t1")).kept, false);
  assert.equal((await new MemoryOutcomeStore().loadRecordedDigest("t1")).kept, undefined);
});
