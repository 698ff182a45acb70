import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableClient } from "@azure/data-tables";
import type { OutcomeStatus, RunSummary, TargetOutcome } from "../../shared/domain/outcome";
import { WatermarkConflictError } from "../../shared/storage/errors";
import type { RecordedOutcome } from "../../shared/storage/outcome-store";
import { TableOutcomeStore, type OutcomeTableNames } from "../../shared/storage/table-outcome-store";
import { uniqueTableName, useAzurite } from "../support/azurite";

const TENANT = "6f1c2a3b-0000-4000-8000-000000000001";

function counts(overrides: Partial<Record<OutcomeStatus, number>> = {}): Record<OutcomeStatus, number> {
  return { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0, ...overrides };
}

function mailbox(targetId: string, overrides: Partial<TargetOutcome> = {}): TargetOutcome {
  return {
    kind: "mailbox",
    targetId,
    displayName: `${targetId}@contoso.com`,
    status: "compliant",
    findings: [],
    recipientType: "UserMailbox",
    ...overrides,
  };
}

function run(runId: string, startedAt: string, overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    tenantId: TENANT,
    mode: "apply",
    scope: "full",
    startedAt,
    finishedAt: startedAt,
    counts: counts({ compliant: 3, failed: 1 }),
    exchangeCalls: { "Get-Mailbox": 2, $batch: 1 },
    durationInMs: 1234,
    ...overrides,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

describe("TableOutcomeStore against Azurite", () => {
  const azurite = useAzurite({ services: ["table"] });
  const tableNames = (): OutcomeTableNames => ({
    runs: uniqueTableName("runs"),
    latest: uniqueTableName("latest"),
    history: uniqueTableName("history"),
    watermarks: uniqueTableName("marks"),
  });
  const newStore = (names = tableNames()) =>
    new TableOutcomeStore({ connection: { connectionString: azurite().connectionString }, tableNames: names });

  it("round-trips outcomes with findings, before/after and errors", async () => {
    const store = newStore();
    const outcomes: TargetOutcome[] = [
      mailbox("a1", {
        status: "remediated",
        findings: [
          {
            kind: "drift",
            setting: "AuditOwner",
            current: ["Create"],
            desired: ["Create", "MailItemsAccessed"],
            message: "missing",
          },
        ],
        before: { AuditEnabled: false },
        after: { AuditEnabled: true },
      }),
      mailbox("a2", {
        status: "failed",
        error: { code: "VerifyMismatch", message: "no", requestId: "r-1", status: 200 },
      }),
      { kind: "organization", targetId: "organization", displayName: "Contoso", status: "compliant", findings: [] },
    ];
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00.000Z", outcomes);

    const latest = await collect(store.listLatest(TENANT));
    assert.equal(latest.length, 3);
    const byId = new Map(latest.map((outcome) => [outcome.targetId, outcome]));
    const expected = (outcome: TargetOutcome): RecordedOutcome => ({
      ...outcome,
      tenantId: TENANT,
      runId: "run-1",
      runStartedAt: "2025-01-01T00:00:00.000Z",
      truncated: [],
      // The latest state says when it was last verified: here, by the run that recorded it.
      lastVerifiedAt: "2025-01-01T00:00:00.000Z",
    });
    for (const outcome of outcomes) assert.deepEqual(byId.get(outcome.targetId), expected(outcome));
    assert.deepEqual(await collect(store.listLatest("another-tenant")), []);
  });

  it("keeps a mailbox and a capture mailbox with the same id apart", async () => {
    const store = newStore();
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00Z", [
      mailbox("same"),
      mailbox("same", { kind: "capture-mailbox", status: "drift" }),
    ]);
    const latest = await collect(store.listLatest(TENANT));
    assert.deepEqual(latest.map((o) => `${o.kind}:${o.status}`).sort(), ["capture-mailbox:drift", "mailbox:compliant"]);
    const history = await store.listHistory(TENANT, "same", { kind: "capture-mailbox" });
    assert.deepEqual(
      history.map((o) => o.kind),
      ["capture-mailbox"],
    );
  });

  it("batches more than 100 outcomes of one tenant, each recorded once", async () => {
    const store = newStore();
    const outcomes = Array.from({ length: 250 }, (_, i) => mailbox(`m${String(i).padStart(3, "0")}`));
    // A duplicate target in the same call: one row, the last outcome wins.
    outcomes.push(mailbox("m007", { status: "drift" }));
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00Z", outcomes);
    const latest = await collect(store.listLatest(TENANT));
    assert.equal(latest.length, 250);
    assert.equal(latest.find((o) => o.targetId === "m007")?.status, "drift");
    assert.equal((await store.listHistory(TENANT, "m007")).length, 1);
  });

  it("re-recording the same run duplicates nothing and replaces stale fields", async () => {
    const names = tableNames();
    const store = newStore(names);
    const failed = mailbox("a1", { status: "failed", error: { code: "Timeout", message: "slow" } });
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00Z", [failed, mailbox("a2")]);
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00Z", [mailbox("a1"), mailbox("a2")]);
    await store.recordRun(run("run-1", "2025-01-01T00:00:00Z"));
    await store.recordRun(run("run-1", "2025-01-01T00:00:00Z"));

    const latest = await collect(store.listLatest(TENANT));
    assert.equal(latest.length, 2);
    const a1 = latest.find((o) => o.targetId === "a1");
    assert.equal(a1?.status, "compliant");
    assert.equal(a1?.error, undefined);
    assert.equal((await store.listHistory(TENANT, "a1")).length, 1);
    assert.equal((await store.listRuns(TENANT)).length, 1);
    const rows = await collect(
      TableClient.fromConnectionString(azurite().connectionString, names.history, {
        allowInsecureConnection: true,
      }).listEntities(),
    );
    assert.equal(rows.length, 2);
  });

  it("lists history newest first, with a limit", async () => {
    const store = newStore();
    const starts = ["2025-01-02T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z", "2025-01-03T00:00:00.001Z"];
    for (const [i, startedAt] of starts.entries()) {
      await store.recordOutcomes(TENANT, `run-${i}`, startedAt, [
        mailbox("a1", { status: i % 2 ? "drift" : "compliant" }),
      ]);
    }
    const history = await store.listHistory(TENANT, "a1");
    assert.deepEqual(
      history.map((o) => o.runId),
      ["run-3", "run-2", "run-0", "run-1"],
    );
    assert.deepEqual(
      (await store.listHistory(TENANT, "a1", { limit: 2 })).map((o) => o.runId),
      ["run-3", "run-2"],
    );
    assert.deepEqual(await store.listHistory(TENANT, "unknown"), []);
    // Latest is the last recorded run.
    const [latest] = await collect(store.listLatest(TENANT));
    assert.equal(latest?.runId, "run-3");
  });

  it("encodes hostile tenant, target and run ids and keeps them readable", async () => {
    const store = newStore();
    const tenant = "tenant/with#odd?chars";
    const ids = [
      "a/b",
      "back\\slash",
      "hash#tag",
      "what?",
      'it\'s "quoted"',
      "Zoë 日本 😀",
      "tab\tnew\nline",
      "pipe|id",
      "~tilde",
      "%2F",
    ];
    await store.recordOutcomes(
      tenant,
      "run/1#?",
      "2025-01-01T00:00:00Z",
      ids.map((id) => mailbox(id, { displayName: id })),
    );
    const latest = await collect(store.listLatest(tenant));
    assert.deepEqual(latest.map((o) => o.targetId).sort(), [...ids].sort());
    for (const id of ids) {
      const [entry] = await store.listHistory(tenant, id);
      assert.equal(entry?.targetId, id);
      assert.equal(entry?.displayName, id);
      assert.equal(entry?.runId, "run/1#?");
      assert.equal(entry?.tenantId, tenant);
    }
    await store.recordRun(run("run/1#?", "2025-01-01T00:00:00Z", { tenantId: tenant }));
    assert.equal((await store.getRun(tenant, "run/1#?"))?.runId, "run/1#?");
    await store.setWatermark(tenant, "delta/link?#", "v1");
    assert.equal((await store.getWatermark(tenant, "delta/link?#"))?.value, "v1");
  });

  it("truncates a 2 MiB findings payload and oversized before/after, and still reads them", async () => {
    const store = newStore();
    const findings = Array.from({ length: 5000 }, (_, i) => ({
      kind: "drift" as const,
      setting: `Setting${i}`,
      current: "c".repeat(400),
      desired: "d",
      message: "m",
    }));
    assert.ok(JSON.stringify(findings).length >= 2 * 1024 * 1024);
    const huge = mailbox("big", {
      status: "drift",
      displayName: "n".repeat(5000),
      findings,
      before: { blob: "b".repeat(3 * 1024 * 1024) },
      after: { list: Array.from({ length: 100_000 }, (_, i) => i) },
    });
    await store.recordOutcomes(TENANT, "run-1", "2025-01-01T00:00:00Z", [huge, mailbox("small")]);
    const [stored] = await store.listHistory(TENANT, "big");
    assert.ok(stored);
    assert.deepEqual([...stored.truncated].sort(), ["after", "before", "displayName", "findings"]);
    assert.ok(stored.findings.length > 0 && stored.findings.length < findings.length);
    assert.equal(stored.findings[0]?.setting, "Setting0");
    assert.match(String(stored.before?.["blob"]), /…\[truncated \d+ chars\]$/);
    assert.ok(Array.isArray(stored.after?.["list"]));
    assert.ok(stored.displayName.length <= 1024);
    const small = (await collect(store.listLatest(TENANT))).find((o) => o.targetId === "small");
    assert.deepEqual(small?.truncated, []);
  });

  it("records runs, reads one back and lists them newest first", async () => {
    const store = newStore();
    await store.recordRun(run("r-old", "2025-01-01T00:00:00Z"));
    await store.recordRun(run("r-new", "2025-02-01T00:00:00Z", { error: { code: "ObserveFailed", message: "boom" } }));
    await store.recordRun(run("r-mid", "2025-01-15T00:00:00Z", { mode: "plan", scope: "incremental" }));
    assert.deepEqual(
      await store.getRun(TENANT, "r-mid"),
      run("r-mid", "2025-01-15T00:00:00Z", { mode: "plan", scope: "incremental" }),
    );
    assert.equal(await store.getRun(TENANT, "missing"), undefined);
    assert.deepEqual(
      (await store.listRuns(TENANT)).map((r) => r.runId),
      ["r-new", "r-mid", "r-old"],
    );
    assert.deepEqual((await store.listRuns(TENANT, { limit: 1 }))[0]?.error, {
      code: "ObserveFailed",
      message: "boom",
    });

    // What started the run and the changes it held back travel with it.
    const triggered = run("r-cli", "2025-01-20T00:00:00Z", { trigger: { kind: "cli", by: "admin" }, changesHeldBack: 12 });
    await store.recordRun(triggered);
    assert.deepEqual(await store.getRun(TENANT, "r-cli"), triggered);

    // Re-recording a run with a corrected start time moves it, leaving no stale list entry.
    await store.recordRun(run("r-old", "2025-03-01T00:00:00Z"));
    assert.deepEqual(
      (await store.listRuns(TENANT)).map((r) => r.runId),
      ["r-old", "r-new", "r-cli", "r-mid"],
    );
  });

  it("guards watermarks with etags", async () => {
    const store = newStore();
    assert.equal(await store.getWatermark(TENANT, "mailboxes"), undefined);
    const first = await store.setWatermark(TENANT, "mailboxes", "2025-01-01T00:00:00Z");
    const read = await store.getWatermark(TENANT, "mailboxes");
    assert.deepEqual(read, { value: "2025-01-01T00:00:00Z", etag: first });

    const second = await store.setWatermark(TENANT, "mailboxes", "2025-01-02T00:00:00Z", first);
    assert.notEqual(second, first);
    await assert.rejects(
      store.setWatermark(TENANT, "mailboxes", "2025-01-03T00:00:00Z", first),
      (error: unknown) => error instanceof WatermarkConflictError && error.watermark === "mailboxes",
    );
    assert.equal((await store.getWatermark(TENANT, "mailboxes"))?.value, "2025-01-02T00:00:00Z");
    await assert.rejects(store.setWatermark(TENANT, "never-set", "x", first), WatermarkConflictError);
  });

  it("creates its tables once, tolerating tables that already exist", async () => {
    const names = tableNames();
    await newStore(names).setWatermark(TENANT, "w", "1");
    const again = newStore(names);
    assert.equal((await again.getWatermark(TENANT, "w"))?.value, "1");
  });
  it("lists one run's changes (its remediated outcomes) from its own partition, bounded, whatever a re-recording says", async () => {
    const names = tableNames();
    const store = newStore(names);
    const startedAt = "2026-03-01T02:00:00.000Z";
    await store.recordOutcomes(TENANT, "run-1", startedAt, [
      mailbox("b", { status: "remediated" }),
      mailbox("a/with#odd?chars", { status: "remediated", after: { AuditEnabled: true } }),
      mailbox("c"),
      { kind: "organization", targetId: "organization", displayName: "Organisation", status: "remediated", findings: [{ kind: "drift", setting: "AuditDisabled", message: "off" }] },
    ]);
    await store.recordOutcomes(TENANT, "run-1", startedAt, [mailbox("b", { status: "failed", error: { code: "X", message: "x" } })]);
    await store.recordOutcomes(TENANT, "run-2", "2026-03-02T02:00:00.000Z", [mailbox("d", { status: "remediated" })]);
    const changes = await store.listRunChanges(TENANT, "run-1");
    assert.deepEqual(changes.map((change) => [change.kind, change.targetId, change.status, change.runId, change.runStartedAt]).sort(), [
      ["mailbox", "a/with#odd?chars", "remediated", "run-1", startedAt],
      ["mailbox", "b", "remediated", "run-1", startedAt],
      ["organization", "organization", "remediated", "run-1", startedAt],
    ]);
    assert.deepEqual(changes.find((change) => change.targetId.startsWith("a/"))?.after, { AuditEnabled: true });
    assert.deepEqual(changes.find((change) => change.kind === "organization")?.findings.map((finding) => finding.setting), ["AuditDisabled"]);
    assert.equal((await store.listRunChanges(TENANT, "run-1", { limit: 1 })).length, 1);
    assert.deepEqual(await store.listRunChanges(TENANT, "run-3"), []);
    // The latest state and a target's history are unchanged by the change rows.
    assert.deepEqual((await store.listHistory(TENANT, "b")).map((entry) => entry.status), ["failed"]);
    assert.equal((await collect(store.listLatest(TENANT))).length, 5);
    // One partition query: the rows sit under the run's own partition key.
    const history = TableClient.fromConnectionString(azurite().connectionString, names.history, { allowInsecureConnection: true });
    const partitions = new Set<string>();
    for await (const entity of history.listEntities()) partitions.add(entity.partitionKey ?? "");
    assert.ok([...partitions].some((key) => key.endsWith("|run|run-1")), [...partitions].join(", "));
  });
});
