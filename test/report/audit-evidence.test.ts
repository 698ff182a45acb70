import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TargetOutcome } from "../../shared/domain/outcome";
import {
  buildTenantReport,
  OUTCOME_CSV_COLUMNS,
  outcomeCsvRecord,
  renderHtmlReport,
  renderTextReport,
  shippedControls,
  type TenantReport,
} from "../../shared/report";
import {
  activityCountLine,
  activitySummary,
  auditActivityEvidence,
  auditTrailEvidence,
  missingChangeLine,
  trailCountLine,
  trailSummary,
} from "../../shared/report/audit-evidence";
import { escapeHtml } from "../../shared/report/html-escape";
import { auditActivityOutcome, auditTrailVerdict } from "../../shared/evidence/verdicts";
import type { ExpectedChange } from "../../shared/evidence/trail";
import { runCalls, runCallsLine } from "../../shared/report/run-calls";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import type { RecordedOutcome } from "../../shared/storage/outcome-store";
import {
  fixtureReport,
  GRAPH_CALLS,
  HOSTILE_MISSING_NAME,
  HOSTILE_OBJECT_ID,
  HOSTILE_QUERY_ID,
  TENANT,
} from "./html-fixture";
import { parseCsv } from "./rfc4180";

const trail = (after: Record<string, unknown>, overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "audit-trail",
  targetId: "run-a",
  displayName: "Changes of run run-a",
  status: "compliant",
  findings: [],
  after,
  ...overrides,
});

const activity = (after: Record<string, unknown>, overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "audit-activity",
  targetId: "mailbox-activity",
  displayName: "Mailbox audit records (last 24 hours)",
  status: "compliant",
  findings: [],
  after,
  ...overrides,
});

const PERMISSION = "AuditLogsQuery-Exchange.Read.All";

describe("audit evidence parsing", () => {
  it("reads an audit trail's counts, missing changes and query", () => {
    const evidence = auditTrailEvidence(
      trail({
        auditedRunId: "run-a",
        auditedRunFinishedAt: "2024-05-01T02:00:00.000Z",
        expected: 3,
        found: 1,
        missing: [
          { kind: "mailbox", targetId: "m-1", displayName: "adele@contoso.com", operations: ["Set-Mailbox"] },
          { kind: "organization", targetId: "organization", operations: ["Set-OrganizationConfig"] },
        ],
        missingTruncated: true,
        queryId: "q-1",
        windowStart: "2024-05-01T01:50:00.000Z",
        windowEnd: "2024-05-01T02:10:00.000Z",
      }),
    );
    assert.deepEqual(evidence, {
      auditedRunId: "run-a",
      auditedRunFinishedAt: "2024-05-01T02:00:00.000Z",
      expected: 3,
      found: 1,
      missing: [
        { kind: "mailbox", targetId: "m-1", displayName: "adele@contoso.com", operations: ["Set-Mailbox"] },
        { kind: "organization", targetId: "organization", displayName: "organization", operations: ["Set-OrganizationConfig"] },
      ],
      missingTruncated: true,
      queryId: "q-1",
      windowStart: "2024-05-01T01:50:00.000Z",
      windowEnd: "2024-05-01T02:10:00.000Z",
    });
  });

  it("leaves out what is malformed instead of guessing, and falls back to the target id for the run", () => {
    const evidence = auditTrailEvidence(
      trail({ expected: -1, found: "2", missing: [{ kind: "mailbox" }, "junk", { kind: "mailbox", targetId: "m-2" }], queryId: 7 }),
    );
    assert.deepEqual(evidence, {
      auditedRunId: "run-a",
      missing: [{ kind: "mailbox", targetId: "m-2", displayName: "m-2", operations: [] }],
      missingTruncated: false,
    });
    assert.equal(trailCountLine(evidence), "changes not counted");
    assert.deepEqual(auditTrailEvidence(trail({}, { after: undefined }))?.missing, []);
  });

  it("reads only its own kind", () => {
    assert.equal(auditTrailEvidence(activity({ records: 1 })), undefined);
    assert.equal(auditActivityEvidence(trail({ expected: 1 })), undefined);
    assert.equal(auditTrailEvidence({ kind: "mailbox", targetId: "m", after: { expected: 1 } }), undefined);
  });

  it("reads a mailbox-activity count", () => {
    assert.deepEqual(
      auditActivityEvidence(activity({ records: 10000, atLeast: true, recordTypes: ["exchangeItem"], permissionMissing: PERMISSION })),
      { records: 10000, atLeast: true, recordTypes: ["exchangeItem"], permissionMissing: PERMISSION },
    );
  });

  const lines: [string, string][] = [
    [trailCountLine({ auditedRunId: "r", expected: 5, found: 5, missing: [], missingTruncated: false }), "5 of 5 changes found in the audit log"],
    [trailCountLine({ auditedRunId: "r", expected: 1, found: 0, missing: [], missingTruncated: false }), "0 of 1 change found in the audit log"],
    [activityCountLine({ records: 1234, atLeast: false, recordTypes: [] }), "1,234 mailbox audit records"],
    [activityCountLine({ records: 1, atLeast: false, recordTypes: [] }), "1 mailbox audit record"],
    [activityCountLine({ records: 10000, atLeast: true, recordTypes: [] }), "at least 10,000 mailbox audit records"],
    [activityCountLine({ atLeast: false, recordTypes: [] }), "mailbox audit records not counted"],
    [missingChangeLine({ kind: "mailbox", targetId: "m-1", displayName: "adele@contoso.com", operations: ["Set-Mailbox"] }), "Set-Mailbox on mailbox adele@contoso.com (m-1)"],
    [missingChangeLine({ kind: "organization", targetId: "organization", displayName: "organization", operations: [] }), "a change on organization organization"],
  ];
  for (const [actual, expected] of lines) it(`says "${expected}"`, () => assert.equal(actual, expected));
});

describe("the engine's own outcomes read as the report reads them", () => {
  const run = { runId: "run-e", startedAt: "2024-05-01T02:00:00.000Z", finishedAt: "2024-05-01T02:05:00.000Z" };
  const change = (index: number): ExpectedChange => ({
    kind: "mailbox",
    targetId: `m-${index}`,
    displayName: `user${index}@contoso.com`,
    operations: ["Set-Mailbox"],
    names: [`m-${index}`],
    singleton: false,
  });
  const changes = Array.from({ length: 25 }, (_, index) => change(index));
  const verdict = (overrides: Partial<Parameters<typeof auditTrailVerdict>[0]>) =>
    auditTrailVerdict({
      run,
      changes,
      changesNotChecked: 0,
      outsideExchange: 0,
      window: { start: "2024-05-01T01:45:00.000Z", end: "2024-05-01T02:20:00.000Z" },
      result: { kind: "read", queryId: "q-e", complete: true },
      found: new Set(),
      missing: changes.slice(3),
      now: new Date("2024-05-02T03:00:00.000Z"),
      missingAfterInMs: 24 * 3_600_000,
      ...overrides,
    }).outcome;

  it("a missing trail: counts, the first 20 missing and truncation, the line the report prints", () => {
    const outcome = verdict({});
    const evidence = auditTrailEvidence(outcome)!;
    assert.equal(outcome.status, "failed");
    assert.equal(evidence.missing.length, 20);
    assert.equal(evidence.missingTruncated, true);
    assert.equal(evidence.queryId, "q-e");
    assert.equal(trailSummary(outcome, evidence), "3 of 25 changes found in the audit log");
  });

  it("no permission, a failed or an unfinished search: never a count of nothing", () => {
    const denied = verdict({ result: { kind: "denied" } });
    assert.equal(auditTrailEvidence(denied)?.permissionMissing, PERMISSION);
    assert.equal(trailSummary(denied, auditTrailEvidence(denied)!), "not checked");
    const failed = verdict({ result: { kind: "failed", error: { code: "GraphError", message: "503" } } });
    assert.equal(trailSummary(failed, auditTrailEvidence(failed)!), "the audit search failed: 25 changes not looked for");
    const unfinished = verdict({ result: { kind: "unfinished", queryId: "q", status: "running" } });
    assert.equal(trailSummary(unfinished, auditTrailEvidence(unfinished)!), "the audit search had not finished: 25 changes to look for");
  });

  it("the activity count and its not-applicable cases", () => {
    const window = { start: "2024-05-01T02:00:00.000Z", end: "2024-05-02T02:00:00.000Z" };
    const read = { kind: "read", queryId: "q-a", complete: true } as const;
    const counted = auditActivityOutcome({ window, result: read, records: 42, atLeast: true, mailboxes: 10 });
    assert.equal(activitySummary(counted, auditActivityEvidence(counted)!), "at least 42 mailbox audit records");
    const silent = auditActivityOutcome({ window, result: read, records: 0, atLeast: false, mailboxes: 10 });
    assert.equal(silent.error?.code, "AuditActivityMissing");
    assert.equal(activitySummary(silent, auditActivityEvidence(silent)!), "0 mailbox audit records");
    const unknown = auditActivityOutcome({ window, result: read, records: 0, atLeast: false, mailboxes: undefined });
    assert.equal(activitySummary(unknown, auditActivityEvidence(unknown)!), "not checked: no mailboxes known yet");
    const denied = auditActivityOutcome({ window, result: { kind: "denied" }, records: 0, atLeast: false, mailboxes: 10 });
    assert.equal(auditActivityEvidence(denied)?.permissionMissing, PERMISSION);
  });
});

describe("trailSummary and activitySummary", () => {
  const evidence = (after: Record<string, unknown>) => auditTrailEvidence(trail(after))!;
  const cases: [string, Pick<TargetOutcome, "status" | "error">, Record<string, unknown>, string][] = [
    ["all found", { status: "compliant" }, { expected: 2, found: 2, missing: [] }, "2 of 2 changes found in the audit log"],
    ["missing", { status: "failed", error: { code: "AuditTrailMissing", message: "m" } }, { expected: 2, found: 1, missing: [{ kind: "mailbox", targetId: "m" }] }, "1 of 2 changes found in the audit log"],
    ["pending", { status: "drift" }, { expected: 2, found: 1, missing: [{ kind: "mailbox", targetId: "m" }] }, "1 of 2 changes found in the audit log"],
    ["a search that failed counts nothing", { status: "failed", error: { code: "AuditQueryFailed", message: "m" } }, { expected: 3, found: 0, missing: [] }, "the audit search failed: 3 changes not looked for"],
    ["a search not finished counts nothing", { status: "drift" }, { expected: 1, found: 0, missing: [] }, "the audit search had not finished: 1 change to look for"],
    ["no permission", { status: "not-applicable" }, { expected: 4, found: 0, missing: [], permissionMissing: PERMISSION }, "not checked"],
    ["no changes", { status: "not-applicable" }, { expected: 0, found: 0, missing: [] }, "no changes to look for"],
    ["changes beyond the cap", { status: "compliant" }, { expected: 500, found: 500, missing: [], notChecked: 12 }, "500 of 500 changes found in the audit log (12 more changes not looked for)"],
  ];
  for (const [name, outcome, after, expected] of cases)
    it(`trail: ${name}`, () => assert.equal(trailSummary(outcome, evidence(after)), expected));

  const counted = auditActivityEvidence(activity({ records: 0, atLeast: false }))!;
  const activityCases: [Pick<TargetOutcome, "status" | "error">, string][] = [
    [{ status: "failed", error: { code: "AuditActivityMissing", message: "m" } }, "0 mailbox audit records"],
    [{ status: "failed", error: { code: "AuditQueryFailed", message: "m" } }, "the audit search failed"],
    [{ status: "drift" }, "0 mailbox audit records: pending while tenant-wide auditing is off"],
    [{ status: "not-applicable" }, "not checked: no mailboxes known yet"],
  ];
  for (const [outcome, expected] of activityCases)
    it(`activity: ${expected}`, () => assert.equal(activitySummary(outcome, counted), expected));
  it("activity: a search that had not finished counted nothing, and says so", () =>
    assert.equal(activitySummary({ status: "drift" }, auditActivityEvidence(activity({ atLeast: false }))!), "the audit search had not finished"));
});

describe("the tenant report's audit evidence", async () => {
  const report = await fixtureReport();

  it("lists the audited runs failures first, then pending, then found; and the latest activity count", () => {
    const { trails, activity: counted } = report.auditEvidence;
    assert.equal(trails.total, 3);
    assert.deepEqual(
      trails.rows.map((row) => [row.status, row.evidence.auditedRunId]),
      [
        ["failed", "run-3"],
        ["drift", "run-4"],
        ["compliant", "run-2"],
      ],
    );
    assert.equal(counted?.evidence.records, 1234);
  });

  it("keeps the failures when the section is bounded, whatever order the store returns", async () => {
    const store = new MemoryOutcomeStore();
    const outcomes = Array.from({ length: 7 }, (_, index) =>
      trail(
        { auditedRunId: `run-${index}`, auditedRunFinishedAt: `2024-05-0${index + 1}T02:00:00.000Z`, expected: 1, found: index === 1 ? 0 : 1 },
        { targetId: `run-${index}`, status: index === 1 ? "failed" : "compliant" },
      ),
    );
    await store.recordOutcomes(TENANT, "run-9", "2024-05-09T02:00:00.000Z", outcomes);
    const bounded = await buildTenantReport(store, TENANT, { now: new Date("2024-05-09T03:00:00.000Z"), rowLimit: 2 });
    assert.equal(bounded.auditEvidence.trails.total, 7);
    assert.deepEqual(
      bounded.auditEvidence.trails.rows.map((row) => row.targetId),
      ["run-1", "run-6"],
      "the failure, then the newest audited run",
    );
  });

  it("takes the newest mailbox-activity count", async () => {
    const store = new MemoryOutcomeStore();
    await store.recordOutcomes(TENANT, "run-1", "2024-05-01T02:00:00.000Z", [activity({ records: 5 })]);
    await store.recordOutcomes(TENANT, "run-2", "2024-05-02T02:00:00.000Z", [activity({ records: 0 }, { status: "failed" })]);
    const latest = await buildTenantReport(store, TENANT, { now: new Date("2024-05-02T03:00:00.000Z") });
    assert.equal(latest.auditEvidence.activity?.evidence.records, 0);
    assert.equal(latest.auditEvidence.activity?.status, "failed");
  });

  it("maps the audit log's evidence to Purview Audit (SCuBA MS.SECURITYSUITE.5.1) and mailbox activity to the ASD control", () => {
    const control = (id: string) => report.controls.find((row) => row.id === id);
    const scuba = control("MS.SECURITYSUITE.5.1");
    assert.equal(scuba?.verdict, "not-met");
    assert.equal(scuba?.counts.failed, 1, "run 3's missing records");
    assert.equal(scuba?.counts.drift, 1, "run 4's pending records");
    assert.equal(scuba?.counts.compliant, 3, "the organisation, run 2's trail and the activity count");
    assert.equal(control("purview_audit_log_search_enabled")?.counts.failed, 0, "Prowler's check is the setting alone");
    const failure = report.failures.rows.find((row) => row.kind === "audit-trail");
    assert.deepEqual(failure?.controls, ["CISA SCuBA MS.SECURITYSUITE.5.1"]);
  });
});

describe("the audit evidence in the HTML report", async () => {
  const page = renderHtmlReport(await fixtureReport());
  const section = /<section id="audit-evidence">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";

  it("shows N of N per audited run, failures first, with the first missing changes", () => {
    assert.match(section, /<h2>Audit trail evidence<\/h2>/);
    const rows = section.match(/<tr class="[^"]*">[\s\S]*?<\/tr>/g) ?? [];
    assert.equal(rows.length, 3);
    assert.match(rows[0] ?? "", /run-3[\s\S]*status failed[\s\S]*1 of 3 changes found in the audit log/);
    assert.match(rows[0] ?? "", /Set-OrganizationConfig on organization organization/);
    assert.match(rows[0] ?? "", /AuditTrailMissing/);
    assert.match(rows[0] ?? "", /Not found:/);
    assert.match(rows[1] ?? "", /run-4[\s\S]*status drift[\s\S]*1 of 2 changes found[\s\S]*Not there yet:[\s\S]*pending AuditTrail/);
    assert.match(rows[2] ?? "", /run-2[\s\S]*8 of 8 changes found in the audit log/);
    assert.match(section, /Mailbox audit records \(last 24 hours\)<\/strong>: 1,234 mailbox audit records \(record types exchangeItem, exchangeItemGroup, exchangeItemAggregated\)/);
  });

  it("escapes every value that came from Graph or Exchange: object ids, display names, query ids", () => {
    for (const hostile of [HOSTILE_OBJECT_ID, HOSTILE_MISSING_NAME, HOSTILE_QUERY_ID]) {
      assert.ok(!page.includes(hostile), hostile);
      assert.ok(section.includes(escapeHtml(hostile)), `shown as text: ${hostile}`);
    }
    assert.doesNotMatch(page, /<script|<svg onload|<img/i);
  });

  it("shows the Graph calls beside the Exchange calls in the run list", () => {
    const runs = /<section id="runs">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    assert.match(runs, /<th>Calls<\/th>/);
    assert.match(runs, /<div title="Get-Mailbox 2">Exchange 2 calls<\/div><div title="GET \/security\/auditLog\/queries\/\{id\} 5, GET \/security\/auditLog\/queries\/\{id\}\/records 2, POST \/security\/auditLog\/queries 2">Graph 9 calls<\/div>/);
    assert.equal(runs.match(/Graph \d+ calls/g)?.length, 1, "older runs made no Graph calls");
  });
});

/** A report with one not-applicable audit trail and activity count: the tenant lacks the permission. */
async function notApplicableReport(): Promise<TenantReport> {
  const store = new MemoryOutcomeStore();
  const window = { windowStart: "2024-05-01T01:00:00.000Z", windowEnd: "2024-05-02T01:00:00.000Z" };
  await store.recordOutcomes(TENANT, "run-2", "2024-05-02T02:00:00.000Z", [
    trail({ auditedRunId: "run-1", permissionMissing: PERMISSION, missing: [], ...window }, { targetId: "run-1", status: "not-applicable" }),
    activity({ permissionMissing: PERMISSION, recordTypes: [], ...window }, { status: "not-applicable" }),
  ]);
  return buildTenantReport(store, TENANT, { now: new Date("2024-05-02T03:00:00.000Z"), controls: shippedControls() });
}

describe("not-applicable evidence names the grant to add", async () => {
  const report = await notApplicableReport();

  it("in HTML", () => {
    const page = renderHtmlReport(report);
    const section = /<section id="audit-evidence">[\s\S]*?<\/section>/.exec(page)?.[0] ?? "";
    assert.equal(section.match(/Not checked: grant the Microsoft Graph application permission AuditLogsQuery-Exchange\.Read\.All/g)?.length, 2);
    assert.doesNotMatch(section, /changes found/);
  });

  it("in text", () => {
    const text = renderTextReport(report);
    assert.match(text, /^Audit trail evidence \(unified audit log\):$/m);
    assert.match(text, /^ {2}NOT-APPLICABLE last 24 hours: not checked \(2024-05-01T01:00:00\.000Z to 2024-05-02T01:00:00\.000Z\)$/m);
    assert.match(text, /^ {2}NOT-APPLICABLE run run-1: not checked$/m);
    assert.equal(text.match(/not checked: grant the Microsoft Graph application permission AuditLogsQuery-Exchange\.Read\.All \(infra\/tenant-setup\/Grant-TenantAccess\.ps1 does it\)/g)?.length, 2);
  });

  it("in the controls: no evidence either way", () => {
    const scuba = report.controls.find((row) => row.id === "MS.SECURITYSUITE.5.1");
    assert.equal(scuba?.verdict, "no-evidence");
  });
});

describe("the audit evidence in the text report", async () => {
  const text = renderTextReport(await fixtureReport());

  it("gives the activity count and each audited run, failures first, with what is missing", () => {
    const section = text.slice(text.indexOf("Audit trail evidence"), text.indexOf("\nControls:"));
    assert.match(section, /^ {2}COMPLIANT {6}last 24 hours: 1,234 mailbox audit records \(2024-05-04T02:00:00\.000Z to 2024-05-05T02:00:00\.000Z\)$/m);
    const runs = [...section.matchAll(/^ {2}(\S+) +run (\S+): (.*)$/gm)].map((match) => [match[1], match[2], match[3]]);
    assert.deepEqual(runs, [
      ["FAILED", "run-3", "1 of 3 changes found in the audit log"],
      ["DRIFT", "run-4", "1 of 2 changes found in the audit log"],
      ["COMPLIANT", "run-2", "8 of 8 changes found in the audit log"],
    ]);
    assert.match(section, /^ {6}missing Set-Mailbox on mailbox <img src=x onerror=window\.__pwned=3> \("><svg onload="window\.__pwned=2">\)$/m);
    assert.match(section, /^ {6}error AuditTrailMissing: 2 of 3 changes of run run-3/m);
    assert.match(section, /^ {6}pending AuditTrail: 1 of 2 changes not in the audit log yet/m);
  });

  it("gives the latest run's calls, Graph beside Exchange", () => {
    assert.match(text, /^ {4}calls: Exchange 2 calls \(Get-Mailbox 2\); Graph 9 calls \(GET \/security\/auditLog\/queries\/\{id\} 5, GET \/security\/auditLog\/queries\/\{id\}\/records 2, POST \/security\/auditLog\/queries 2\)$/m);
  });

  it("never passes control characters from the evidence to the terminal", async () => {
    const store = new MemoryOutcomeStore();
    await store.recordOutcomes(TENANT, "run-2", "2024-05-02T02:00:00.000Z", [
      trail(
        { expected: 1, found: 0, missing: [{ kind: "mailbox", targetId: "m\u001b[2J", displayName: "evil\nFAKE LINE", operations: ["Set-Mailbox"] }] },
        { status: "failed" },
      ),
    ]);
    const rendered = renderTextReport(await buildTenantReport(store, TENANT, { now: new Date("2024-05-02T03:00:00.000Z") }));
    assert.ok(!rendered.includes("\u001b"));
    assert.doesNotMatch(rendered, /^FAKE LINE/m);
  });
});

describe("the audit evidence in the CSV", () => {
  const recorded = (outcome: TargetOutcome): RecordedOutcome => ({
    ...outcome,
    tenantId: TENANT,
    runId: "run-5",
    runStartedAt: "2024-05-05T02:00:00.000Z",
    truncated: [],
  });
  const evidenceOf = (outcome: TargetOutcome): string => parseCsv(outcomeCsvRecord(recorded(outcome)))[0]?.[OUTCOME_CSV_COLUMNS.indexOf("evidence")] ?? "";

  const cases: [string, TargetOutcome, string][] = [
    [
      "a trail with missing changes",
      trail(
        { expected: 2, found: 1, missing: [{ kind: "mailbox", targetId: "m-1", displayName: "=HYPERLINK(1)", operations: ["Set-Mailbox"] }], missingTruncated: true },
        { status: "failed", error: { code: "AuditTrailMissing", message: "m" } },
      ),
      "1 of 2 changes found in the audit log; missing: Set-Mailbox on mailbox =HYPERLINK(1) (m-1), ...",
    ],
    ["a trail all found", trail({ expected: 4, found: 4, missing: [] }), "4 of 4 changes found in the audit log"],
    ["a trail not checked", trail({ permissionMissing: PERMISSION }, { status: "not-applicable" }), "not checked"],
    ["an activity count", activity({ records: 12, atLeast: false }), "12 mailbox audit records"],
  ];
  for (const [name, outcome, expected] of cases) it(`summarises ${name}`, () => assert.equal(evidenceOf(outcome), expected));

  it("opens with the product's own words, so tenant data never starts the field", () => {
    const outcome = trail({ missing: [{ kind: "mailbox", targetId: "m", displayName: "x", operations: ["=cmd"] }] });
    assert.equal(evidenceOf(outcome), "changes not counted; missing: =cmd on mailbox x (m)");
    const leading = activity({}, { status: "not-applicable" });
    assert.equal(evidenceOf(leading), "not checked: no mailboxes known yet");
  });
});

describe("runCalls", () => {
  it("counts Exchange always and Graph only when the run called it", () => {
    assert.deepEqual(runCalls({ exchangeCalls: {} }), [{ label: "Exchange 0 calls", detail: "", total: 0 }]);
    assert.deepEqual(runCalls({ exchangeCalls: { "Get-Mailbox": 1 }, graphCalls: {} }).map((calls) => calls.label), ["Exchange 1 call"]);
    assert.equal(
      runCallsLine({ exchangeCalls: { b: 2, a: 1 }, graphCalls: GRAPH_CALLS }),
      "Exchange 3 calls (a 1, b 2); Graph 9 calls (GET /security/auditLog/queries/{id} 5, GET /security/auditLog/queries/{id}/records 2, POST /security/auditLog/queries 2)",
    );
  });
});
