/**
 * The evidence phase over a fake audit search and the memory store: what it searches for, how it waits, what it
 * records and remembers, and that nothing it meets makes it throw.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { emptyCounts, type RunSummary, type TargetOutcome } from "../../shared/domain/outcome";
import { AuditSearchDeniedError, type AuditQuerySpec, type AuditQueryState, type AuditRecord, type AuditSearchPort } from "../../shared/evidence/audit-search";
import { EVIDENCE_WATERMARK, startAuditEvidence, type EvidenceTimer } from "../../shared/evidence/run-evidence";
import { DEFAULT_EVIDENCE_LIMITS, type AuditEvidenceSettings } from "../../shared/evidence/verdicts";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";

const HOUR = 3_600_000;
const TENANT = "tenant-1";
const OUR_APP = "11111111-2222-4333-8444-555555555555";
const SETTINGS: AuditEvidenceSettings = { ...DEFAULT_EVIDENCE_LIMITS, ingestionDelayInMs: 1.5 * HOUR, missingAfterInMs: 24 * HOUR, pollBudgetInMs: 60_000, ownAppIds: [OUR_APP] };

interface FakeQuery {
  spec: AuditQuerySpec;
  polls: number;
}

/** A fake Purview: queries succeed after `pollsToComplete` GETs; records are what the test puts in `log`. */
class FakeSearch implements AuditSearchPort {
  readonly queries = new Map<string, FakeQuery>();
  log: AuditRecord[] = [];
  activity = 5;
  pollsToComplete = 1;
  pageSize = 2;
  approximate = true;
  deny = false;
  terminal: "succeeded" | "failed" = "succeeded";
  failGet = false;

  private state(id: string): AuditQueryState {
    const query = this.queries.get(id)!;
    const done = query.polls >= this.pollsToComplete;
    const status = done ? this.terminal : query.polls === 0 ? "notStarted" : "running";
    return { id, status, ...(done && this.approximate ? { approximateRecordCount: this.records(query.spec).length } : {}) };
  }

  private records(spec: AuditQuerySpec): AuditRecord[] {
    if (spec.recordTypes.includes("exchangeItem")) {
      return Array.from({ length: this.activity }, (_, index) => ({ id: `a-${index}`, createdDateTime: spec.end, auditLogRecordType: "exchangeItem", operation: "Send" }));
    }
    return this.log.filter((record) => (spec.operations ?? []).includes(record.operation ?? "") && record.createdDateTime >= spec.start && record.createdDateTime <= spec.end);
  }

  createQuery(spec: AuditQuerySpec): Promise<AuditQueryState> {
    if (this.deny) return Promise.reject(new AuditSearchDeniedError("403", "req-403"));
    const id = `q-${this.queries.size + 1}`;
    this.queries.set(id, { spec, polls: 0 });
    return Promise.resolve(this.state(id));
  }

  getQuery(id: string): Promise<AuditQueryState> {
    if (this.failGet) return Promise.reject(Object.assign(new Error("Graph is down"), { code: "Http503", status: 503 }));
    this.queries.get(id)!.polls += 1;
    return Promise.resolve(this.state(id));
  }

  async *listRecordPages(id: string): AsyncIterable<readonly AuditRecord[]> {
    const records = this.records(this.queries.get(id)!.spec);
    for (let start = 0; start < records.length; start += this.pageSize) yield await Promise.resolve(records.slice(start, start + this.pageSize));
  }
}

/** A timer that never waits: sleeping moves time on. */
function fakeTimer(): EvidenceTimer & { slept: number[] } {
  let elapsed = 0;
  const slept: number[] = [];
  return {
    slept,
    elapsedInMs: () => elapsed,
    sleep: (ms) => {
      slept.push(ms);
      elapsed += ms;
      return Promise.resolve();
    },
  };
}

const mailbox = (index: number, status: TargetOutcome["status"] = "remediated"): TargetOutcome => ({
  kind: "mailbox",
  targetId: `00000000-0000-4000-8000-00000000000${index}`,
  displayName: `user${index}@contoso.com`,
  status,
  findings: [],
});

/** An earlier apply run that changed `changes` mailboxes, finished `hoursAgo` before `now`. */
async function earlierRun(store: MemoryOutcomeStore, runId: string, now: Date, hoursAgo: number, changes: readonly TargetOutcome[]): Promise<RunSummary> {
  const finishedAt = new Date(now.getTime() - hoursAgo * HOUR);
  const startedAt = new Date(finishedAt.getTime() - 5 * 60_000);
  await store.recordOutcomes(TENANT, runId, startedAt.toISOString(), changes);
  const summary: RunSummary = {
    runId,
    tenantId: TENANT,
    mode: "apply",
    scope: "incremental",
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationInMs: 300_000,
    counts: { ...emptyCounts(), remediated: changes.filter((outcome) => outcome.status === "remediated").length },
    exchangeCalls: {},
  };
  await store.recordRun(summary);
  return summary;
}

/** The admin record Exchange would keep of one of our Set-Mailbox calls. */
function recordOf(outcome: TargetOutcome, at: string): AuditRecord {
  return { id: `rec-${outcome.targetId}`, createdDateTime: at, auditLogRecordType: "exchangeAdmin", operation: "Set-Mailbox", objectId: `EURPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/${outcome.targetId}`, auditData: { AppId: OUR_APP, ResultStatus: "True" } };
}

async function check(search: FakeSearch, store: MemoryOutcomeStore, now: Date, options: { settings?: Partial<AuditEvidenceSettings>; runId?: string; mailboxesSeen?: number; fullSweep?: boolean; timer?: EvidenceTimer } = {}) {
  const runId = options.runId ?? `run-${now.toISOString()}`;
  const phase = await startAuditEvidence(
    { search, store, clock: { now: () => now }, timer: options.timer ?? fakeTimer() },
    { ...SETTINGS, ...options.settings },
    { tenantId: TENANT, runId, runStartedAt: now.toISOString() },
  );
  const result = await phase.finish({ mailboxesSeen: options.mailboxesSeen ?? 3, fullSweep: options.fullSweep ?? true });
  const trail = (auditedRunId: string) => result.outcomes.find((outcome) => outcome.kind === "audit-trail" && outcome.targetId === auditedRunId);
  const activity = result.outcomes.find((outcome) => outcome.kind === "audit-activity");
  return { result, trail, activity, runId };
}

describe("runAuditEvidence phase", () => {
  test("all changes found: compliant N of N, recorded in this run, settled; the next run does not search for them again", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    const changes = [mailbox(1), mailbox(2), mailbox(3)];
    const earlier = await earlierRun(store, "r-1", now, 3, [...changes, mailbox(4, "compliant")]);
    search.log = changes.map((outcome) => recordOf(outcome, earlier.finishedAt));
    const { result, trail, activity, runId } = await check(search, store, now);

    assert.equal(trail("r-1")?.status, "compliant");
    assert.deepEqual([trail("r-1")?.after?.["expected"], trail("r-1")?.after?.["found"]], [3, 3]);
    assert.equal(activity?.status, "compliant");
    assert.equal(activity?.after?.["records"], 5);
    const trailSearch = [...search.queries.values()].find((query) => query.spec.recordTypes.includes("exchangeAdmin"));
    const activitySearch = [...search.queries.values()].find((query) => !query.spec.recordTypes.includes("exchangeAdmin"));
    assert.deepEqual(trailSearch?.spec.recordTypes, ["exchangeAdmin"]);
    assert.deepEqual(trailSearch?.spec.operations, ["Set-Mailbox"]);
    assert.deepEqual(activitySearch?.spec.recordTypes, ["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"]);
    // Recorded under the running run, so the report and the alerts see them.
    const recorded = await store.listHistory(TENANT, "r-1", { kind: "audit-trail" });
    assert.deepEqual(recorded.map((outcome) => [outcome.runId, outcome.status]), [[runId, "compliant"]]);
    assert.deepEqual(result.graphCalls, {
      "POST /security/auditLog/queries": 2,
      "GET /security/auditLog/queries/{id}": 2,
      "GET /security/auditLog/queries/{id}/records": 2,
    });
    const memory = JSON.parse((await store.getWatermark(TENANT, EVIDENCE_WATERMARK))?.value ?? "{}") as { settled: Record<string, string>; mailboxes: number };
    assert.deepEqual(Object.keys(memory.settled), ["r-1"]);
    assert.equal(memory.mailboxes, 3);

    const again = await check(search, store, new Date(now.getTime() + 24 * HOUR));
    assert.equal(again.trail("r-1"), undefined, "a settled run is not checked again");
    assert.equal(search.queries.size, 3, "only the activity search the second time");
  });

  test("records delayed: pending while younger than 24 hours, then found", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    const changes = [mailbox(1), mailbox(2)];
    const earlier = await earlierRun(store, "r-1", now, 2, changes);
    search.log = [recordOf(changes[0]!, earlier.finishedAt)];
    const first = await check(search, store, now);
    assert.equal(first.trail("r-1")?.status, "drift");
    assert.deepEqual(first.trail("r-1")?.findings.map((finding) => finding.kind), ["pending"]);
    assert.match(first.trail("r-1")?.findings[0]?.message ?? "", /^1 of 2 changes found in the audit log so far/);
    assert.deepEqual((first.trail("r-1")?.after?.["missing"] as { targetId: string }[]).map((change) => change.targetId), [changes[1]!.targetId]);

    search.log.push(recordOf(changes[1]!, earlier.finishedAt));
    const second = await check(search, store, new Date(now.getTime() + 6 * HOUR));
    assert.equal(second.trail("r-1")?.status, "compliant");
  });

  test("records lost: failed AuditTrailMissing once the run is 24 hours old, then settled (not checked again)", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 25, [mailbox(1)]);
    const first = await check(search, store, now);
    assert.equal(first.trail("r-1")?.status, "failed");
    assert.equal(first.trail("r-1")?.error?.code, "AuditTrailMissing");
    const next = await check(search, store, new Date(now.getTime() + 24 * HOUR));
    assert.equal(next.trail("r-1"), undefined);
  });

  test("no permission: not-applicable outcomes naming the grant, one refused call, nothing settled", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.deny = true;
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 25, [mailbox(1)]);
    const { trail, activity, result } = await check(search, store, now);
    for (const outcome of [trail("r-1"), activity]) {
      assert.equal(outcome?.status, "not-applicable");
      assert.equal(outcome?.after?.["permissionMissing"], "AuditLogsQuery-Exchange.Read.All");
    }
    assert.deepEqual(result.graphCalls, { "POST /security/auditLog/queries": 1 });
    search.deny = false;
    const granted = await check(search, store, new Date(now.getTime() + HOUR));
    assert.equal(granted.trail("r-1")?.status, "failed", "looked at again once granted");
  });

  test("a search that does not finish within the poll budget: pending, looked for again; the wait is bounded", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.pollsToComplete = 1000;
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 30, [mailbox(1)]);
    const timer = fakeTimer();
    const { trail, activity } = await check(search, store, now, { timer, settings: { pollBudgetInMs: 60_000 } });
    assert.equal(trail("r-1")?.status, "drift", "not failed: nothing was read");
    assert.equal(activity?.status, "drift");
    assert.equal(timer.slept.reduce((sum, ms) => sum + ms, 0), 60_000);
    assert.deepEqual(timer.slept.slice(0, 4), [2_000, 4_000, 8_000, 15_000]);
  });

  test("a zero poll budget reads the searches' status once and waits for nothing", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.pollsToComplete = 2;
    const timer = fakeTimer();
    const { activity, result } = await check(search, store, new Date("2026-03-10T02:00:00Z"), { timer, settings: { pollBudgetInMs: 0 } });
    assert.equal(activity?.status, "drift");
    assert.deepEqual(timer.slept, []);
    assert.equal(result.graphCalls["GET /security/auditLog/queries/{id}"], 1);
  });

  test("a search that fails: AuditQueryFailed; a failing status read too; neither throws", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.terminal = "failed";
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 30, [mailbox(1)]);
    const failed = await check(search, store, now);
    assert.deepEqual([failed.trail("r-1")?.status, failed.trail("r-1")?.error?.code, failed.activity?.error?.code], ["failed", "AuditQueryFailed", "AuditQueryFailed"]);
    search.terminal = "succeeded";
    search.failGet = true;
    const down = await check(search, store, new Date(now.getTime() + HOUR));
    assert.deepEqual([down.activity?.status, down.activity?.error?.code, down.activity?.error?.status], ["failed", "AuditQueryFailed", 503]);
    assert.equal(down.trail("r-1")?.status, "failed", "the failed search left the run unsettled: looked at again");
  });

  test("no mailbox activity in a tenant with mailboxes: AuditActivityMissing; without a count, records are counted from pages", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.activity = 0;
    const none = await check(search, store, new Date("2026-03-10T02:00:00Z"), { mailboxesSeen: 40 });
    assert.deepEqual([none.activity?.status, none.activity?.error?.code], ["failed", "AuditActivityMissing"]);
    search.activity = 7;
    search.approximate = false;
    const counted = await check(search, store, new Date("2026-03-10T03:00:00Z"));
    assert.deepEqual([counted.activity?.status, counted.activity?.after?.["records"], counted.activity?.after?.["atLeast"]], ["compliant", 4, true]);
  });

  test("an incremental run keeps the last full sweep's mailbox count; none known: not-applicable", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    search.activity = 0;
    const unknown = await check(search, store, new Date("2026-03-10T02:00:00Z"), { mailboxesSeen: 0, fullSweep: false });
    assert.equal(unknown.activity?.status, "not-applicable");
    await check(search, store, new Date("2026-03-10T03:00:00Z"), { mailboxesSeen: 12, fullSweep: true });
    const incremental = await check(search, store, new Date("2026-03-10T04:00:00Z"), { mailboxesSeen: 0, fullSweep: false });
    assert.equal(incremental.activity?.status, "failed");
    assert.match(incremental.activity?.error?.message ?? "", /12 mailbox/);
  });

  test("bounded: at most maxRunsPerCheck earlier runs (oldest first), maxChangesPerRun changes, maxRecordPages pages", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    for (const [index, hours] of [50, 40, 30].entries()) await earlierRun(store, `r-${index}`, now, hours, [mailbox(1), mailbox(2), mailbox(3)]);
    const capped = await check(search, store, now, { settings: { maxRunsPerCheck: 2, maxChangesPerRun: 2, maxRecordPages: 1 } });
    assert.deepEqual(capped.result.outcomes.filter((outcome) => outcome.kind === "audit-trail").map((outcome) => outcome.targetId), ["r-0", "r-1"]);
    assert.equal(capped.trail("r-0")?.after?.["expected"], 2);
    assert.equal(capped.trail("r-0")?.after?.["notChecked"], 1);
    const trailSearches = [...search.queries.values()].filter((query) => query.spec.recordTypes.includes("exchangeAdmin"));
    assert.equal(trailSearches.length, 2);
  });

  test("an earlier run whose changes were all made through Graph: not-applicable, nothing searched for it, settled", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 30, [{ kind: "capture-mailbox", targetId: "c", displayName: "soc@contoso.com", status: "remediated", findings: [{ kind: "drift", setting: "AccountEnabled", message: "x" }] }]);
    const { trail } = await check(search, store, now);
    assert.deepEqual([trail("r-1")?.status, trail("r-1")?.after?.["expected"]], ["not-applicable", 0]);
    assert.equal([...search.queries.values()].filter((query) => query.spec.recordTypes.includes("exchangeAdmin")).length, 0);
  });

  test("storage that fails: no throw; the outcomes come back with the record error and nothing is settled", async () => {
    const store = new MemoryOutcomeStore();
    const search = new FakeSearch();
    const now = new Date("2026-03-10T02:00:00Z");
    await earlierRun(store, "r-1", now, 30, [mailbox(1)]);
    const broken = Object.assign(Object.create(store) as MemoryOutcomeStore, { recordOutcomes: () => Promise.reject(new Error("table down")) });
    const phase = await startAuditEvidence({ search, store: broken, clock: { now: () => now }, timer: fakeTimer() }, SETTINGS, { tenantId: TENANT, runId: "x", runStartedAt: now.toISOString() });
    const result = await phase.finish({ mailboxesSeen: 1, fullSweep: true });
    assert.equal(result.recordError?.code, "RecordFailed");
    assert.equal(result.outcomes.length, 2);
    assert.equal(await store.getWatermark(TENANT, EVIDENCE_WATERMARK), undefined);

    const unreadable = Object.assign(Object.create(store) as MemoryOutcomeStore, { listRuns: () => Promise.reject(new Error("table down")) });
    const partial = await startAuditEvidence({ search, store: unreadable, clock: { now: () => now }, timer: fakeTimer() }, SETTINGS, { tenantId: TENANT, runId: "y", runStartedAt: now.toISOString() });
    const activityOnly = await partial.finish({ mailboxesSeen: 1, fullSweep: true });
    assert.deepEqual(activityOnly.outcomes.map((outcome) => outcome.kind), ["audit-activity"]);
  });
});
