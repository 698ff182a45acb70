import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RecordedOutcome } from "../../shared/storage/outcome-store";
import {
  csvField,
  csvRecord,
  failingSince,
  findingsSummary,
  isMailboxIdentifier,
  JSON_REPORT_HEAD,
  jsonOutcome,
  jsonReportTail,
  OUTCOME_CSV_COLUMNS,
  outcomeCsvRecord,
  renderTextReport,
  type TenantReport,
} from "../../shared/report";
import { parseReportQuery } from "../../functions/report-http";
import { parseCsv } from "./rfc4180";

function recorded(overrides: Partial<RecordedOutcome> = {}): RecordedOutcome {
  return {
    tenantId: "contoso.onmicrosoft.com",
    runId: "run-1",
    runStartedAt: "2024-05-01T00:00:00.000Z",
    kind: "mailbox",
    targetId: "0f0e0d0c-0000-4000-8000-000000000001",
    displayName: "adele@contoso.com",
    status: "compliant",
    findings: [],
    recipientType: "UserMailbox",
    truncated: [],
    ...overrides,
  };
}

describe("csvField", () => {
  const cases: [string, string][] = [
    ["plain", '"plain"'],
    ["", '""'],
    ['say "hi"', '"say ""hi"""'],
    ["a,b", '"a,b"'],
    ["line\r\nbreak", '"line\r\nbreak"'],
    ["=cmd|' /C calc'!A0", `"'=cmd|' /C calc'!A0"`],
    ["+SUM(1,2)", `"'+SUM(1,2)"`],
    ["-2+3", `"'-2+3"`],
    ["@SUM(A1)", `"'@SUM(A1)"`],
    ["\t=1", `"'\t=1"`],
    ["\r=1", `"'\r=1"`],
    ["a=1", '"a=1"'],
    ["'quoted", `"'quoted"`],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
  ];
  for (const [value, expected] of cases) {
    it(`renders ${JSON.stringify(value)}`, () => assert.equal(csvField(value), expected));
  }
});

describe("csvRecord and outcomeCsvRecord", () => {
  it("ends records with CRLF and parses back field by field", () => {
    const values = ["x", 'y "z"', "a,b\nc", "=1+1", ""];
    const text = csvRecord(values) + csvRecord(["second"]);
    assert.ok(text.endsWith("\r\n"));
    assert.deepEqual(parseCsv(text), [["x", 'y "z"', "a,b\nc", "'=1+1", ""], ["second"]]);
  });

  it("lays out one outcome in the documented columns", () => {
    const outcome = recorded({
      status: "failed",
      findings: [
        { kind: "drift", setting: "AuditOwner", message: "m" },
        { kind: "licence-gap", setting: "AuditOwner", message: "n" },
      ],
      error: { code: "ManagementObjectNotFound", message: "gone, really", requestId: "req-1" },
    });
    const [row] = parseCsv(outcomeCsvRecord(outcome));
    assert.equal(row?.length, OUTCOME_CSV_COLUMNS.length);
    const byColumn = Object.fromEntries(OUTCOME_CSV_COLUMNS.map((column, index) => [column, row?.[index]]));
    assert.deepEqual(byColumn, {
      kind: "mailbox",
      targetId: outcome.targetId,
      displayName: "adele@contoso.com",
      recipientType: "UserMailbox",
      status: "failed",
      findings: "drift AuditOwner; licence-gap AuditOwner",
      errorCode: "ManagementObjectNotFound",
      errorMessage: "gone, really",
      errorRequestId: "req-1",
      runId: "run-1",
      runStartedAt: "2024-05-01T00:00:00.000Z",
      evidence: "",
      // Not from a latest-state listing: verified by the run that recorded it.
      lastVerifiedAt: "2024-05-01T00:00:00.000Z",
    });
  });

  it("summarises no findings as an empty field", () => assert.equal(findingsSummary([]), ""));
});

describe("JSON report pieces", () => {
  it("form one JSON document with every outcome and the report members", () => {
    const outcomes = [recorded(), recorded({ targetId: "t2", displayName: 'x"\n</script>' })];
    const report = { generatedAt: "2024-05-02T00:00:00.000Z", tenant: "contoso.onmicrosoft.com", targets: 2 };
    const text =
      JSON_REPORT_HEAD +
      outcomes.map((outcome, index) => jsonOutcome(outcome, index)).join("") +
      jsonReportTail(report as unknown as TenantReport);
    const parsed = JSON.parse(text) as { outcomes: RecordedOutcome[]; targets: number; tenant: string };
    assert.deepEqual(parsed.outcomes, outcomes);
    assert.equal(parsed.targets, 2);
    assert.equal(parsed.tenant, "contoso.onmicrosoft.com");
  });

  it("is valid with no outcomes", () => {
    const parsed = JSON.parse(JSON_REPORT_HEAD + jsonReportTail({ targets: 0 } as unknown as TenantReport)) as unknown;
    assert.deepEqual(parsed, { outcomes: [], targets: 0 });
  });
});

describe("failingSince", () => {
  const at = (day: number, status: RecordedOutcome["status"]) =>
    recorded({ status, runId: `r${day}`, runStartedAt: `2024-05-0${day}T00:00:00.000Z` });
  const cases: [string, RecordedOutcome[], ReturnType<typeof failingSince>][] = [
    ["no history", [], {}],
    ["latest not failed", [at(3, "compliant"), at(2, "failed")], {}],
    [
      "one failure",
      [at(3, "failed"), at(2, "compliant")],
      { failingSince: "2024-05-03T00:00:00.000Z", consecutiveFailedRuns: 1 },
    ],
    [
      "a series broken by a success",
      [at(4, "failed"), at(3, "failed"), at(2, "remediated"), at(1, "failed")],
      { failingSince: "2024-05-03T00:00:00.000Z", consecutiveFailedRuns: 2 },
    ],
    [
      "failing throughout",
      [at(2, "failed"), at(1, "failed")],
      { failingSince: "2024-05-01T00:00:00.000Z", consecutiveFailedRuns: 2 },
    ],
  ];
  for (const [name, history, expected] of cases) it(name, () => assert.deepEqual(failingSince(history), expected));
});

describe("isMailboxIdentifier", () => {
  const cases: [string, boolean][] = [
    ["0f0e0d0c-0000-4000-8000-000000000001", true],
    ["ADELE.V@contoso.onmicrosoft.com", true],
    ["adele+audit@sub.contoso.com", true],
    ["adele", false],
    ["adele@localhost", false],
    ["a b@contoso.com", false],
    ["<adele@contoso.com>", false],
    ["adele@contoso.com' or 1 eq 1", false],
    ["0f0e0d0c-0000-4000-8000-00000000000", false],
    ["", false],
  ];
  for (const [value, expected] of cases)
    it(`${JSON.stringify(value)} -> ${expected}`, () => assert.equal(isMailboxIdentifier(value), expected));
});

describe("parseReportQuery", () => {
  const tenants = ["contoso.onmicrosoft.com"];
  const parse = (query: string) => parseReportQuery(new URLSearchParams(query), tenants);
  const status = (query: string) => {
    const result = parse(query);
    return "response" in result ? result.response.status : 200;
  };
  const cases: [string, number][] = [
    ["", 200],
    ["format=json", 200],
    ["format=csv&code=functionkey", 200],
    ["format=xml", 400],
    ["format=text", 400],
    ["format=json&format=csv", 400],
    ["tenant=CONTOSO.onmicrosoft.com", 200],
    ["tenant=fabrikam.onmicrosoft.com", 400],
    ["mailbox=adele@contoso.com", 200],
    ["mailbox=0f0e0d0c-0000-4000-8000-000000000001", 200],
    ["mailbox=adele", 400],
    ["mailbox=%3Dcmd%7C", 400],
    ["runId=6b2f1c1e-1111-4000-8000-000000000001", 200],
    ["runId=..%2F..", 400],
    ["runId=r1&mailbox=adele@contoso.com", 400],
  ];
  for (const [query, expected] of cases)
    it(`${JSON.stringify(query)} -> ${expected}`, () => assert.equal(status(query), expected));

  it("returns the tenant as configured and defaults to JSON", () => {
    const result = parse("tenant=CONTOSO.ONMICROSOFT.COM");
    assert.ok(!("response" in result));
    assert.equal(result.tenantId, "contoso.onmicrosoft.com");
    assert.deepEqual(result.request, { format: "json" });
  });
});

describe("renderTextReport", () => {
  const report: TenantReport = {
    generatedAt: "2024-05-02T00:00:00.000Z",
    tenant: "contoso.onmicrosoft.com",
    runs: [],
    targets: 3,
    counts: {
      byStatus: { compliant: 1, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 2 },
      byKind: { mailbox: { compliant: 1, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 2 } },
      byRecipientType: {},
      byFinding: {},
    },
    failures: {
      total: 5,
      rows: [1, 2, 3].map((index) => ({
        ...recorded({ targetId: `t${index}`, displayName: `evil\u001b[31m${index}\nFAKE LINE`, status: "failed" }),
        error: { code: "Boom", message: "no", requestId: `req-${index}` },
        failingSince: "2024-05-01T00:00:00.000Z",
        lastVerifiedAt: `2024-05-0${index}T03:00:00.000Z`,
      })),
    },
    drift: { total: 0, rows: [] },
    exemptions: { total: 0, rows: [] },
    licenceGaps: { total: 0, rows: [] },
    licenceGapGroups: [],
    substitutions: { total: 0, rows: [] },
    hazards: { total: 0, rows: [] },
    capture: { total: 0, rows: [] },
    auditEvidence: { trails: { total: 0, rows: [] } },
    controls: [],
    truncatedTargets: 0,
  };

  it("puts counts first, bounds the list and says how many more there are", () => {
    const text = renderTextReport(report, 2);
    const lines = text.split("\n");
    assert.match(lines[0] ?? "", /contoso\.onmicrosoft\.com: 3 targets/);
    assert.ok(text.indexOf("2 failed, 1 compliant") < text.indexOf("Failed (5):"));
    assert.match(text, /request-id req-1/);
    assert.match(text, /request-id req-2/);
    assert.doesNotMatch(text, /req-3/);
    assert.match(text, /\.\.\. and 3 more/);
    assert.match(text, /failing since 2024-05-01/);
    assert.match(text, /last verified 2024-05-01T03:00:00\.000Z/);
    assert.match(text, /last verified 2024-05-02T03:00:00\.000Z/);
  });

  it("never passes control characters from tenant data to the terminal", () => {
    const text = renderTextReport(report, 3);
    assert.ok(!text.includes("\u001b"), "no escape character");
    assert.doesNotMatch(text, /^FAKE LINE/m);
  });
});
