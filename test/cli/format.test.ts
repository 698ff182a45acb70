import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatChange, formatOutcome, formatRun, formatTotals, tenantName } from "../../cli/format";
import type { Finding, OutcomeStatus, RunSummary } from "../../shared/domain/outcome";

describe("formatChange", () => {
  const cases: [string, Finding, string][] = [
    [
      "a list shows the actions it adds",
      {
        kind: "drift",
        setting: "AuditOwner",
        current: ["Update", "Send"],
        desired: ["Update", "MailItemsAccessed", "send", "Create"],
        message: "m",
      },
      "      ~ AuditOwner: + MailItemsAccessed, + Create",
    ],
    [
      "a value shows before -> after",
      { kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "m" },
      "      ~ AuditEnabled: false -> true",
    ],
    [
      "an unset value",
      { kind: "drift", setting: "AuditLogAgeLimit", desired: "180.00:00:00", message: "m" },
      "      ~ AuditLogAgeLimit: (unset) -> 180.00:00:00",
    ],
  ];
  for (const [name, finding, expected] of cases) it(name, () => assert.equal(formatChange(finding), expected));
});

describe("formatOutcome", () => {
  it("shows each change of a drifted or remediated target, and its other findings as before", () => {
    for (const status of ["drift", "remediated"] as const) {
      const text = formatOutcome({
        kind: "mailbox",
        targetId: "t",
        displayName: "adele@contoso.com",
        status,
        findings: [
          {
            kind: "drift",
            setting: "AuditOwner",
            current: ["Update"],
            desired: ["Update", "MailItemsAccessed", "Send"],
            message: "m",
          },
          { kind: "licence-gap", setting: "AuditAdmin", desired: ["Send"], message: "Send needs Audit (Premium)" },
        ],
      });
      assert.deepEqual(text.split("\n").slice(1), [
        "      ~ AuditOwner: + MailItemsAccessed, + Send",
        "      licence-gap AuditAdmin: Send needs Audit (Premium) (current: (unset); desired: Send)",
      ]);
    }
  });
});

describe("formatTotals", () => {
  const summary = (mode: "plan" | "apply", counts: Partial<Record<OutcomeStatus, number>>): RunSummary => ({
    runId: "r",
    tenantId: "contoso.onmicrosoft.com",
    mode,
    scope: "full",
    startedAt: "2024-05-01T00:00:00.000Z",
    finishedAt: "2024-05-01T00:01:00.000Z",
    counts: { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0, ...counts },
    exchangeCalls: {},
    durationInMs: 60_000,
  });
  const cases: [RunSummary, string][] = [
    [summary("plan", { drift: 3, compliant: 40, failed: 1 }), "Plan: 3 to change, 40 compliant, 1 failed."],
    [summary("plan", { compliant: 5 }), "Plan: 0 to change, 5 compliant, 0 failed."],
    [summary("apply", { remediated: 3, compliant: 40 }), "Apply: 3 changed, 40 compliant, 0 failed."],
    [
      summary("apply", { remediated: 2, drift: 4, compliant: 1 }),
      "Apply: 2 changed, 1 compliant, 0 failed, 4 still to change.",
    ],
  ];
  for (const [run, expected] of cases) it(expected, () => assert.equal(formatTotals(run), expected));
});

describe("tenantName", () => {
  const summary = { tenantId: "0b1e8a4c-5d2f-4c6b-9a7e-3f2d1c0b9a8e" };
  const organization = (displayName: string) =>
    ({ kind: "organization", targetId: "organization", displayName, status: "compliant", findings: [] }) as const;
  const cases: [string, Parameters<typeof tenantName>[1], string][] = [
    ["the organisation's name and the tenant id", [organization("Contoso")], "Contoso (0b1e8a4c-5d2f-4c6b-9a7e-3f2d1c0b9a8e)"],
    ["the id alone when Exchange gave no name", [organization("Organization")], summary.tenantId],
    ["the id alone without an organisation outcome (a sample without it)", [], summary.tenantId],
    [
      "another organisation-kind target is not the tenant",
      [{ ...organization("Change limit"), targetId: "change-limit" }],
      summary.tenantId,
    ],
  ];
  for (const [name, outcomes, expected] of cases) it(name, () => assert.equal(tenantName(summary, outcomes), expected));

  it("heads the run's text, and a run past its change limit says so", () => {
    const run: RunSummary = {
      runId: "r",
      tenantId: summary.tenantId,
      mode: "apply",
      scope: "full",
      startedAt: "2024-05-01T00:00:00.000Z",
      finishedAt: "2024-05-01T00:01:00.000Z",
      counts: { compliant: 1, remediated: 2, drift: 4, exempt: 0, "not-applicable": 0, failed: 0 },
      exchangeCalls: {},
      durationInMs: 60_000,
      changesHeldBack: 4,
    };
    const lines = formatRun(run, [organization("Contoso")]).split("\n");
    assert.equal(lines[0], `Run r (apply, full) for tenant Contoso (${summary.tenantId}): 60.0 s`);
    assert.ok(lines.includes("  CHANGE LIMIT reached: 4 targets left unchanged"));
  });
});

describe("formatRun: the audit log's evidence", () => {
  const run: RunSummary = {
    runId: "r2",
    tenantId: "0b1e8a4c-5d2f-4c6b-9a7e-3f2d1c0b9a8e",
    mode: "plan",
    scope: "full",
    startedAt: "2024-05-02T00:00:00.000Z",
    finishedAt: "2024-05-02T00:01:00.000Z",
    counts: { compliant: 1, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 1 },
    exchangeCalls: {},
    graphCalls: { "POST /security/auditLog/queries": 2 },
    durationInMs: 60_000,
  };
  const window = { windowStart: "2024-05-01T00:00:00.000Z", windowEnd: "2024-05-01T00:30:00.000Z" };

  it("one line per audited run and one for the 24-hour activity, failures included; nothing without evidence", () => {
    const lines = formatRun(run, [
      { kind: "audit-trail", targetId: "r1", displayName: "Changes of run r1", status: "failed", findings: [], error: { code: "AuditTrailMissing", message: "m" }, after: { auditedRunId: "r1", expected: 3, found: 2, missing: [{ kind: "mailbox", targetId: "x", displayName: "x@contoso.com", operations: ["Set-Mailbox"] }], ...window } },
      { kind: "audit-activity", targetId: "mailbox-activity", displayName: "Mailbox audit records (last 24 hours)", status: "compliant", findings: [], after: { records: 1234, atLeast: false, recordTypes: ["exchangeItem"], ...window } },
    ]).split("\n");
    assert.ok(lines.includes("  Audit log: changes of run r1: 2 of 3 changes found in the audit log"), lines.join("\n"));
    assert.ok(lines.includes("  Audit log: last 24 hours: 1,234 mailbox audit records"), lines.join("\n"));
    assert.ok(lines.includes("  Graph HTTP calls (audit log): 2 (POST /security/auditLog/queries 2)"));
    assert.deepEqual(formatRun(run, []).split("\n").filter((line) => line.includes("Audit log:")), []);
  });
});
