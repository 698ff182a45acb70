/** The pure verdicts of the evidence phase: due runs, the watermark, the audit-trail and audit-activity outcomes. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { emptyCounts, type RunSummary } from "../../shared/domain/outcome";
import { expectedChange } from "../../shared/evidence/trail";
import {
  activityWindow,
  auditActivityOutcome,
  auditTrailVerdict,
  dueRuns,
  nextEvidenceMemory,
  parseEvidenceMemory,
  runWindow,
  type SearchResult,
  type TrailVerdictInput,
} from "../../shared/evidence/verdicts";

const HOUR = 3_600_000;
const NOW = new Date("2026-03-10T02:00:00Z");

function run(runId: string, finishedHoursAgo: number, overrides: Partial<RunSummary> = {}): RunSummary {
  const finishedAt = new Date(NOW.getTime() - finishedHoursAgo * HOUR);
  return {
    runId,
    tenantId: "t",
    mode: "apply",
    scope: "incremental",
    startedAt: new Date(finishedAt.getTime() - 10 * 60_000).toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationInMs: 600_000,
    counts: { ...emptyCounts(), remediated: 3 },
    exchangeCalls: {},
    ...overrides,
  };
}

const SETTINGS = { ingestionDelayInMs: 1.5 * HOUR, lookbackInMs: 7 * 24 * HOUR, maxRunsPerCheck: 2 };

describe("dueRuns", () => {
  const cases: [string, RunSummary, boolean][] = [
    ["an apply that changed something, a day ago", run("a", 24), true],
    ["just past the ingestion delay", run("a", 1.5), true],
    ["younger than the ingestion delay", run("a", 1.4), false],
    ["a plan run", run("a", 24, { mode: "plan" }), false],
    ["an apply that changed nothing", run("a", 24, { counts: emptyCounts() }), false],
    ["started before the lookback", run("a", 7 * 24 - 0.1), false],
    ["the current run", run("current", 24), false],
  ];
  for (const [name, summary, due] of cases) {
    test(name, () => assert.deepEqual(dueRuns([summary], { settled: {} }, NOW, SETTINGS, "current").due.map((each) => each.runId), due ? [summary.runId] : []));
  }

  test("settled runs are not looked at again", () => {
    assert.deepEqual(dueRuns([run("a", 24)], { settled: { a: run("a", 24).startedAt } }, NOW, SETTINGS, "current").due, []);
  });

  test("oldest first, at most the cap; the rest are counted as deferred", () => {
    const result = dueRuns([run("new", 2), run("mid", 30), run("old", 50)], { settled: {} }, NOW, SETTINGS, "current");
    assert.deepEqual(result.due.map((each) => each.runId), ["old", "mid"]);
    assert.equal(result.deferred, 1);
  });
});

describe("the evidence memory (watermark)", () => {
  test("parses what it wrote; anything else is an empty memory", () => {
    assert.deepEqual(parseEvidenceMemory(JSON.stringify({ settled: { a: "2026-03-09T00:00:00.000Z" }, mailboxes: 12 })), { settled: { a: "2026-03-09T00:00:00.000Z" }, mailboxes: 12 });
    for (const bad of [undefined, "", "{", "[]", JSON.stringify({ settled: { a: 1 } }), JSON.stringify({ mailboxes: -1 })]) {
      assert.deepEqual(parseEvidenceMemory(bad), { settled: {} }, String(bad));
    }
  });

  test("adds the newly settled runs, forgets those started before the lookback, keeps or replaces the mailbox count", () => {
    const old = new Date(NOW.getTime() - 8 * 24 * HOUR).toISOString();
    const recent = new Date(NOW.getTime() - 24 * HOUR).toISOString();
    assert.deepEqual(nextEvidenceMemory({ settled: { old, recent }, mailboxes: 5 }, { settled: { fresh: recent } }, NOW, 7 * 24 * HOUR), {
      settled: { recent, fresh: recent },
      mailboxes: 5,
    });
    assert.deepEqual(nextEvidenceMemory({ settled: {}, mailboxes: 5 }, { settled: {}, mailboxes: 0 }, NOW, 7 * 24 * HOUR), { settled: {}, mailboxes: 0 });
  });
});

describe("windows", () => {
  test("a run's window is its start and finish widened by 15 minutes, never past now", () => {
    assert.deepEqual(runWindow({ startedAt: "2026-03-09T02:00:00.000Z", finishedAt: "2026-03-09T02:10:00.000Z" }, NOW), { start: "2026-03-09T01:45:00.000Z", end: "2026-03-09T02:25:00.000Z" });
    assert.deepEqual(runWindow({ startedAt: "2026-03-10T01:50:00.000Z", finishedAt: "2026-03-10T01:55:00.000Z" }, NOW), { start: "2026-03-10T01:35:00.000Z", end: "2026-03-10T02:00:00.000Z" });
  });
  test("the activity window is the 24 hours before now", () => {
    assert.deepEqual(activityWindow(NOW), { start: "2026-03-09T02:00:00.000Z", end: "2026-03-10T02:00:00.000Z" });
  });
});

describe("auditTrailVerdict", () => {
  const changes = ["a@contoso.com", "b@contoso.com"].map((address, index) => expectedChange({ kind: "mailbox", targetId: `m-${index}`, displayName: address, status: "remediated", findings: [] })!);
  const read: SearchResult = { kind: "read", queryId: "q-1", complete: true };
  const input = (overrides: Partial<TrailVerdictInput>): TrailVerdictInput => ({
    run: run("r-1", 3),
    changes,
    changesNotChecked: 0,
    outsideExchange: 0,
    window: { start: "w0", end: "w1" },
    result: read,
    found: new Set(),
    missing: [],
    now: NOW,
    missingAfterInMs: 24 * HOUR,
    ...overrides,
  });

  test("all found: compliant, N of N, settled", () => {
    const { outcome, settled } = auditTrailVerdict(input({ found: new Set(["mailbox|m-0", "mailbox|m-1"]) }));
    assert.equal(settled, true);
    assert.deepEqual(
      { kind: outcome.kind, targetId: outcome.targetId, displayName: outcome.displayName, status: outcome.status, findings: outcome.findings, after: outcome.after },
      {
        kind: "audit-trail",
        targetId: "r-1",
        displayName: "Changes of run r-1",
        status: "compliant",
        findings: [],
        after: { auditedRunId: "r-1", auditedRunFinishedAt: run("r-1", 3).finishedAt, expected: 2, found: 2, missing: [], queryId: "q-1", windowStart: "w0", windowEnd: "w1" },
      },
    );
  });

  test("missing, younger than the deadline: drift + pending, not settled", () => {
    const { outcome, settled } = auditTrailVerdict(input({ missing: [changes[1]!] }));
    assert.equal(settled, false);
    assert.equal(outcome.status, "drift");
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.findings.map((finding) => [finding.kind, finding.setting]), [["pending", "AuditTrail"]]);
    assert.match(outcome.findings[0]?.message ?? "", /^1 of 2 changes found in the audit log so far/);
    assert.deepEqual(outcome.after?.["missing"], [{ kind: "mailbox", targetId: "m-1", displayName: "b@contoso.com", operations: ["Set-Mailbox"] }]);
  });

  test("missing at the deadline: failed AuditTrailMissing, settled", () => {
    const { outcome, settled } = auditTrailVerdict(input({ run: run("r-1", 24), missing: [changes[1]!] }));
    assert.equal(settled, true);
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.error?.code, "AuditTrailMissing");
    assert.match(outcome.error?.message ?? "", /^1 of 2 changes found in the audit log: 1 change\(s\) of run r-1 are not in the unified audit log 24 hours after the run \(mailbox b@contoso.com\)/);
  });

  test("missing but the records were not all read: pending whatever the age (an absence proves nothing)", () => {
    const { outcome, settled } = auditTrailVerdict(input({ run: run("r-1", 48), result: { kind: "read", queryId: "q", complete: false }, missing: [changes[0]!] }));
    assert.deepEqual([outcome.status, settled], ["drift", false]);
    assert.match(outcome.findings[0]?.message ?? "", /proves nothing yet/);
  });

  test("the search did not finish: pending, not settled", () => {
    const { outcome, settled } = auditTrailVerdict(input({ run: run("r-1", 48), result: { kind: "unfinished", queryId: "q", status: "running" } }));
    assert.deepEqual([outcome.status, settled, outcome.after?.["found"], outcome.after?.["queryId"]], ["drift", false, 0, "q"]);
    assert.match(outcome.findings[0]?.message ?? "", /had not finished \(status running\)/);
  });

  test("the search failed: failed AuditQueryFailed (not settled: looked at again)", () => {
    const { outcome, settled } = auditTrailVerdict(input({ result: { kind: "failed", error: { code: "Http500", message: "boom", status: 500, requestId: "g-1" }, queryId: "q" } }));
    assert.deepEqual([outcome.status, settled, outcome.error?.code, outcome.error?.status, outcome.error?.requestId], ["failed", false, "AuditQueryFailed", 500, "g-1"]);
    assert.match(outcome.error?.message ?? "", /boom/);
  });

  test("no permission: not-applicable naming the grant, not settled", () => {
    const { outcome, settled } = auditTrailVerdict(input({ result: { kind: "denied" } }));
    assert.deepEqual([outcome.status, settled, outcome.after?.["permissionMissing"], outcome.error], ["not-applicable", false, "AuditLogsQuery-Exchange.Read.All", undefined]);
  });

  test("no change that leaves an Exchange admin record: not-applicable, settled, nothing searched", () => {
    const { outcome, settled } = auditTrailVerdict({ ...input({ changes: [], outsideExchange: 1 }), result: undefined });
    assert.deepEqual([outcome.status, settled, outcome.after?.["expected"]], ["not-applicable", true, 0]);
  });

  test("at most 20 missing changes are listed, and it says so", () => {
    const many = Array.from({ length: 25 }, (_, index) => expectedChange({ kind: "mailbox", targetId: `m-${index}`, displayName: `u${index}@c.com`, status: "remediated", findings: [] })!);
    const { outcome } = auditTrailVerdict(input({ changes: many, missing: many, changesNotChecked: 7 }));
    assert.equal((outcome.after?.["missing"] as unknown[]).length, 20);
    assert.equal(outcome.after?.["missingTruncated"], true);
    assert.equal(outcome.after?.["notChecked"], 7);
    assert.match(outcome.findings[0]?.message ?? "", /^0 of 25 changes found.* and 20 more.*Only the first 25 of its changes were looked for \(7 more were not\)/);
  });
});

describe("auditActivityOutcome", () => {
  const window = { start: "w0", end: "w1" };
  const read: SearchResult = { kind: "read", queryId: "q", complete: true };
  const cases: [string, Parameters<typeof auditActivityOutcome>[0], string, string | undefined][] = [
    ["records arrive", { window, result: read, records: 120, atLeast: false, mailboxes: 10 }, "compliant", undefined],
    ["at least some records (pages left)", { window, result: { ...read, complete: false }, records: 300, atLeast: true, mailboxes: 10 }, "compliant", undefined],
    ["none in a tenant with mailboxes", { window, result: read, records: 0, atLeast: false, mailboxes: 10 }, "failed", "AuditActivityMissing"],
    ["none, no mailboxes", { window, result: read, records: 0, atLeast: false, mailboxes: 0 }, "not-applicable", undefined],
    ["none, mailboxes not known yet", { window, result: read, records: 0, atLeast: false, mailboxes: undefined }, "not-applicable", undefined],
    ["no permission", { window, result: { kind: "denied" }, records: 0, atLeast: false, mailboxes: 10 }, "not-applicable", undefined],
    ["the search failed", { window, result: { kind: "failed", error: { code: "Http500", message: "x" } }, records: 0, atLeast: false, mailboxes: 10 }, "failed", "AuditQueryFailed"],
    ["the search did not finish", { window, result: { kind: "unfinished", queryId: "q", status: "running" }, records: 0, atLeast: false, mailboxes: 10 }, "drift", undefined],
  ];
  for (const [name, verdictInput, status, code] of cases) {
    test(name, () => {
      const outcome = auditActivityOutcome(verdictInput);
      assert.deepEqual([outcome.kind, outcome.targetId, outcome.displayName, outcome.status, outcome.error?.code], ["audit-activity", "mailbox-activity", "Mailbox audit records (last 24 hours)", status, code]);
    });
  }

  test("the after shape", () => {
    assert.deepEqual(auditActivityOutcome({ window, result: read, records: 3, atLeast: true, mailboxes: 1 }).after, {
      records: 3,
      atLeast: true,
      windowStart: "w0",
      windowEnd: "w1",
      recordTypes: ["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"],
      queryId: "q",
    });
    assert.equal(auditActivityOutcome({ window, result: { kind: "denied" }, records: 0, atLeast: false, mailboxes: 1 }).after?.["permissionMissing"], "AuditLogsQuery-Exchange.Read.All");
    const pending = auditActivityOutcome({ window, result: { kind: "unfinished", queryId: "q", status: "notStarted" }, records: 0, atLeast: false, mailboxes: 1 });
    assert.deepEqual(pending.findings.map((finding) => finding.kind), ["pending"]);
    assert.equal(pending.after?.["records"], undefined, "an unfinished search counted nothing");
  });
});

test("auditActivityOutcome: zero records while this run found tenant-wide auditing off is pending, not failed", () => {
  const outcome = auditActivityOutcome({ window: { start: "w0", end: "w1" }, result: { kind: "read", queryId: "q", complete: true }, records: 0, atLeast: false, mailboxes: 10, auditingWasOff: true });
  assert.equal(outcome.status, "drift");
  assert.deepEqual(outcome.findings.map((finding) => [finding.kind, finding.setting]), [["pending", "AuditActivity"]]);
  const some = auditActivityOutcome({ window: { start: "w0", end: "w1" }, result: { kind: "read", queryId: "q", complete: true }, records: 1, atLeast: false, mailboxes: 10, auditingWasOff: true });
  assert.equal(some.status, "compliant");
});
