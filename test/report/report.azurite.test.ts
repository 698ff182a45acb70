import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpRequest, HttpResponse, InvocationContext } from "@azure/functions";
import type { OutcomeStatus, RunSummary, TargetOutcome } from "../../shared/domain/outcome";
import { createReportHandler, reportHttp } from "../../functions/report-http";
import {
  buildTenantReport,
  mailboxHistory,
  OUTCOME_CSV_COLUMNS,
  REPORT_CSP_HEADER,
  runReportCommand,
  type ReportFormat,
  type TenantReport,
} from "../../shared/report";
import type { RecordedOutcome } from "../../shared/storage/outcome-store";
import { TABLE_NAMES } from "../../shared/storage/storage-layout";
import { TableOutcomeStore, type OutcomeTableNames } from "../../shared/storage/table-outcome-store";
import { uniqueTableName, useAzurite } from "../support/azurite";
import { parseCsv } from "./rfc4180";

const TENANT = "contoso.onmicrosoft.com";
const RUNS = {
  r1: "2024-05-01T02:00:00.000Z",
  r2: "2024-05-02T02:00:00.000Z",
  r3: "2024-05-03T02:00:00.000Z",
} as const;
type RunId = keyof typeof RUNS;

const ADELE = "0a000000-0000-4000-8000-00000000000a";
const HOSTILE = "0b000000-0000-4000-8000-00000000000b";
const PLUS = "0c000000-0000-4000-8000-00000000000c";
const LEGACY = "0e000000-0000-4000-8000-00000000000e";
const CAPTURE = "0f000000-0000-4000-8000-00000000000f";
const HOSTILE_NAME = `=cmd|' /C calc'!A0, "Boss"\nCEO`;

const mailbox = (targetId: string, displayName: string, overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "mailbox",
  targetId,
  displayName,
  status: "compliant",
  findings: [],
  recipientType: "UserMailbox",
  ...overrides,
});

const failedAdele = (requestId: string): TargetOutcome =>
  mailbox(ADELE, "adele@contoso.com", {
    status: "failed",
    error: {
      code: "ManagementObjectNotFound",
      message: 'The operation couldn\'t be performed, "really".',
      requestId,
      status: 404,
    },
  });

/** What each run recorded: later runs re-record some targets, so the latest state mixes runs. */
const RECORDED: Record<RunId, TargetOutcome[]> = {
  r1: [
    mailbox(ADELE, "adele@contoso.com"),
    mailbox(LEGACY, "-legacy@contoso.com", { recipientType: "SharedMailbox" }),
    mailbox(HOSTILE, HOSTILE_NAME),
  ],
  r2: [failedAdele("req-r2")],
  r3: [
    failedAdele("req-r3"),
    mailbox(HOSTILE, HOSTILE_NAME, {
      status: "drift",
      recipientType: "SharedMailbox",
      findings: [
        {
          kind: "drift",
          setting: "AuditOwner",
          current: ["Update"],
          desired: ["Update", "MailboxLogin"],
          message: "missing MailboxLogin",
        },
        {
          kind: "licence-gap",
          setting: "AuditOwner",
          message: "MailItemsAccessed needs an E5 / Audit (Premium) licence",
        },
        { kind: "custom-audit-set", setting: "DefaultAuditSet", message: "Owner no longer follows the default set" },
      ],
    }),
    mailbox(PLUS, "+SUM(1,2)@contoso.com", {
      findings: [
        { kind: "substitution", setting: "AuditDelegate", message: "MessageBind replaced by MailItemsAccessed" },
      ],
    }),
    {
      kind: "bypass-association",
      targetId: "svc-backup",
      displayName: "@svc-backup",
      status: "exempt",
      findings: [
        {
          kind: "exemption",
          setting: "AuditBypassEnabled",
          current: true,
          message: "Allow-listed: backup service, ticket CHG-42",
        },
      ],
    },
    {
      kind: "organization",
      targetId: "organization",
      displayName: "Organization config",
      status: "compliant",
      findings: [],
    },
    {
      kind: "transport-rule",
      targetId: 'Block external, "all"',
      displayName: 'Block external, "all"',
      status: "drift",
      findings: [
        { kind: "hazard", setting: "Priority", message: "a higher-priority rule stops processing before capture" },
      ],
    },
    {
      kind: "capture-mailbox",
      targetId: CAPTURE,
      displayName: "capture@contoso.com",
      status: "compliant",
      findings: [],
    },
  ],
};

function runSummary(runId: RunId): RunSummary {
  const counts: Record<OutcomeStatus, number> = {
    compliant: 0,
    remediated: 0,
    drift: 0,
    exempt: 0,
    "not-applicable": 0,
    failed: 0,
  };
  for (const outcome of RECORDED[runId]) counts[outcome.status] += 1;
  return {
    runId,
    tenantId: TENANT,
    mode: "apply",
    scope: "full",
    startedAt: RUNS[runId],
    finishedAt: RUNS[runId],
    counts,
    exchangeCalls: { "Get-Mailbox": 1 },
    durationInMs: 1000,
  };
}

async function recordAll(store: TableOutcomeStore): Promise<void> {
  for (const runId of Object.keys(RUNS) as RunId[]) {
    await store.recordOutcomes(TENANT, runId, RUNS[runId], RECORDED[runId]);
    await store.recordRun(runSummary(runId));
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

async function reportText(
  store: TableOutcomeStore,
  format: ReportFormat,
  extra: { mailbox?: string; runId?: string } = {},
) {
  const chunks: string[] = [];
  const result = await runReportCommand(
    store,
    TENANT,
    { format, now: new Date("2024-05-04T00:00:00.000Z"), ...extra },
    (chunk) => {
      chunks.push(chunk);
    },
  );
  return { text: chunks.join(""), chunks, result };
}

describe("report against Azurite", () => {
  const azurite = useAzurite({ services: ["table"] });
  let seeded: TableOutcomeStore | undefined;
  /** One store for the file, recorded once (tests only read). */
  const store = async (): Promise<TableOutcomeStore> => {
    if (!seeded) {
      const names: OutcomeTableNames = {
        runs: uniqueTableName("runs"),
        latest: uniqueTableName("latest"),
        history: uniqueTableName("history"),
        watermarks: uniqueTableName("marks"),
      };
      seeded = new TableOutcomeStore({
        connection: { connectionString: azurite().connectionString },
        tableNames: names,
      });
      await recordAll(seeded);
    }
    return seeded;
  };

  describe("buildTenantReport", () => {
    it("counts the latest state by status, kind, recipient type and finding", async () => {
      const report = await buildTenantReport(await store(), TENANT, { now: new Date("2024-05-04T00:00:00.000Z") });
      assert.equal(report.generatedAt, "2024-05-04T00:00:00.000Z");
      assert.equal(report.tenant, TENANT);
      assert.equal(report.targets, 8);
      assert.deepEqual(report.counts.byStatus, {
        compliant: 4,
        remediated: 0,
        drift: 2,
        exempt: 1,
        "not-applicable": 0,
        failed: 1,
      });
      assert.deepEqual(report.counts.byKind.mailbox, {
        compliant: 2,
        remediated: 0,
        drift: 1,
        exempt: 0,
        "not-applicable": 0,
        failed: 1,
      });
      assert.equal(report.counts.byKind["transport-rule"]?.drift, 1);
      assert.equal(report.counts.byKind["bypass-association"]?.exempt, 1);
      assert.deepEqual(report.counts.byRecipientType["SharedMailbox"], {
        compliant: 1,
        remediated: 0,
        drift: 1,
        exempt: 0,
        "not-applicable": 0,
        failed: 0,
      });
      assert.equal(report.counts.byRecipientType["UserMailbox"]?.compliant, 1);
      assert.equal(report.counts.byRecipientType["UserMailbox"]?.failed, 1);
      assert.deepEqual(report.counts.byFinding, {
        drift: 1,
        "licence-gap": 1,
        "custom-audit-set": 1,
        substitution: 1,
        exemption: 1,
        hazard: 1,
      });
      assert.deepEqual(
        report.runs.map((run) => run.runId),
        ["r3", "r2", "r1"],
      );
    });

    it("lists failures with the Exchange error, request id and since when they fail", async () => {
      const report = await buildTenantReport(await store(), TENANT, { now: new Date() });
      assert.equal(report.failures.total, 1);
      const [failure] = report.failures.rows;
      assert.equal(failure?.targetId, ADELE);
      assert.equal(failure?.error?.code, "ManagementObjectNotFound");
      assert.equal(failure?.error?.requestId, "req-r3");
      assert.equal(failure?.runId, "r3");
      assert.equal(failure?.failingSince, RUNS.r2);
      assert.equal(failure?.consecutiveFailedRuns, 2);
    });

    it("keeps exemptions with their reasons, licence gaps, substitutions, hazards and drift", async () => {
      const report = await buildTenantReport(await store(), TENANT, { now: new Date() });
      assert.deepEqual(
        report.exemptions.rows.map((row) => [row.targetId, row.findings[0]?.message]),
        [["svc-backup", "Allow-listed: backup service, ticket CHG-42"]],
      );
      assert.deepEqual(
        report.licenceGaps.rows.map((row) => [row.targetId, row.findings.map((f) => f.kind)]),
        [[HOSTILE, ["licence-gap"]]],
      );
      assert.deepEqual(
        report.substitutions.rows.map((row) => row.displayName),
        ["+SUM(1,2)@contoso.com"],
      );
      assert.deepEqual(
        report.hazards.rows.map((row) => row.kind),
        ["transport-rule"],
      );
      assert.deepEqual(report.drift.rows.map((row) => row.targetId).sort(), [HOSTILE, 'Block external, "all"'].sort());
      assert.equal(report.drift.rows.find((row) => row.targetId === HOSTILE)?.displayName, HOSTILE_NAME);
    });

    it("bounds each section but still counts every target in it", async () => {
      const report = await buildTenantReport(await store(), TENANT, {
        now: new Date(),
        rowLimit: 1,
        failingSinceLookups: 0,
      });
      assert.equal(report.drift.total, 2);
      assert.equal(report.drift.rows.length, 1);
      assert.equal(report.failures.rows[0]?.failingSince, undefined, "no history read when lookups are 0");
    });

    it("restricts to the targets whose latest state a run recorded", async () => {
      const report = await buildTenantReport(await store(), TENANT, { now: new Date(), runId: "r1" });
      assert.equal(report.runId, "r1");
      assert.equal(report.targets, 1);
      assert.equal(report.counts.byRecipientType["SharedMailbox"]?.compliant, 1);
    });
  });

  describe("mailboxHistory", () => {
    it("returns a mailbox's outcomes newest first, by object id", async () => {
      const history = await mailboxHistory(await store(), TENANT, ADELE);
      assert.equal(history.targetId, ADELE);
      assert.deepEqual(
        history.entries.map((entry) => [entry.runId, entry.status]),
        [
          ["r3", "failed"],
          ["r2", "failed"],
          ["r1", "compliant"],
        ],
      );
    });

    it("resolves an SMTP address through the latest state, case-insensitively", async () => {
      const history = await mailboxHistory(await store(), TENANT, "ADELE@contoso.com");
      assert.equal(history.targetId, ADELE);
      assert.equal(history.entries.length, 3);
      const capture = await mailboxHistory(await store(), TENANT, "capture@contoso.com");
      assert.deepEqual(
        capture.entries.map((entry) => entry.kind),
        ["capture-mailbox"],
      );
    });

    it("says so when no mailbox matches", async () => {
      const history = await mailboxHistory(await store(), TENANT, "nobody@contoso.com");
      assert.equal(history.targetId, undefined);
      assert.deepEqual(history.entries, []);
    });
  });

  describe("runReportCommand", () => {
    it("writes CSV that parses back to one row per target, formulas neutralised", async () => {
      const { text, chunks } = await reportText(await store(), "csv");
      assert.ok(chunks.length > 2, "rows are written as they stream, not as one chunk");
      const [header, ...rows] = parseCsv(text);
      assert.deepEqual(header, [...OUTCOME_CSV_COLUMNS]);
      const latest = await collect((await store()).listLatest(TENANT));
      assert.equal(rows.length, latest.length);
      const column = (name: (typeof OUTCOME_CSV_COLUMNS)[number]) => OUTCOME_CSV_COLUMNS.indexOf(name);
      const byTarget = new Map(rows.map((row) => [row[column("targetId")], row]));
      for (const outcome of latest) {
        const row = byTarget.get(outcome.targetId);
        assert.ok(row, `a row for ${outcome.targetId}`);
        const cell = (name: (typeof OUTCOME_CSV_COLUMNS)[number]) => row[column(name)] ?? "";
        assert.equal(cell("kind"), outcome.kind);
        assert.equal(cell("status"), outcome.status);
        assert.equal(cell("runId"), outcome.runId);
        assert.equal(cell("runStartedAt"), outcome.runStartedAt);
        assert.equal(cell("recipientType"), outcome.recipientType ?? "");
        assert.equal(cell("errorRequestId"), outcome.error?.requestId ?? "");
        // Hostile names come back whole, with the spreadsheet's text marker when they start like a formula.
        assert.equal(cell("displayName").replace(/^'(?=[=+\-@])/, ""), outcome.displayName);
      }
      const hostile = byTarget.get(HOSTILE);
      assert.equal(hostile?.[column("displayName")], `'${HOSTILE_NAME}`);
      assert.equal(
        hostile?.[column("findings")],
        "drift AuditOwner; licence-gap AuditOwner; custom-audit-set DefaultAuditSet",
      );
      assert.equal(byTarget.get(PLUS)?.[column("displayName")], "'+SUM(1,2)@contoso.com");
      assert.equal(byTarget.get(LEGACY)?.[column("displayName")], "'-legacy@contoso.com");
      assert.equal(byTarget.get("svc-backup")?.[column("displayName")], "'@svc-backup");
      assert.equal(byTarget.get(ADELE)?.[column("errorMessage")], 'The operation couldn\'t be performed, "really".');
      assert.equal(byTarget.get(ADELE)?.[column("errorCode")], "ManagementObjectNotFound");
      for (const row of rows) {
        for (const value of row) assert.doesNotMatch(value, /^[=+\-@\t\r]/, "no cell starts like a formula");
      }
    });

    it("writes JSON with every target and the report", async () => {
      const { text, result } = await reportText(await store(), "json");
      const parsed = JSON.parse(text) as TenantReport & { outcomes: RecordedOutcome[] };
      assert.equal(parsed.outcomes.length, 8);
      assert.deepEqual(new Set(parsed.outcomes.map((outcome) => outcome.targetId)).size, 8);
      assert.equal(parsed.counts.byStatus.failed, 1);
      assert.equal(parsed.failures.rows[0]?.error?.requestId, "req-r3");
      assert.equal(result.kind, "tenant");
      assert.deepEqual(result.kind === "tenant" && result.report.counts, parsed.counts);
    });

    it("writes text: counts, then the targets needing attention", async () => {
      const { text } = await reportText(await store(), "text");
      assert.match(text, /8 targets/);
      assert.match(text, /1 failed, 2 drift, 1 exempt, 4 compliant/);
      assert.match(text, /Failed \(1\):\n {2}FAILED +mailbox adele@contoso\.com/);
      assert.match(text, /request-id req-r3/);
      assert.match(text, /failing since 2024-05-02T02:00:00\.000Z/);
      assert.match(text, /Allow-listed: backup service/);
    });

    it("writes a mailbox's history in each format", async () => {
      const json = JSON.parse((await reportText(await store(), "json", { mailbox: ADELE })).text) as {
        entries: RecordedOutcome[];
      };
      assert.deepEqual(
        json.entries.map((entry) => entry.runId),
        ["r3", "r2", "r1"],
      );
      const [, ...rows] = parseCsv((await reportText(await store(), "csv", { mailbox: "adele@contoso.com" })).text);
      assert.deepEqual(
        rows.map((row) => row[OUTCOME_CSV_COLUMNS.indexOf("errorRequestId")]),
        ["req-r3", "req-r2", ""],
      );
      const text = (await reportText(await store(), "text", { mailbox: ADELE })).text;
      assert.ok(text.indexOf("run r3") < text.indexOf("run r2") && text.indexOf("run r2") < text.indexOf("run r1"));
    });
  });

  describe("GET /api/report", () => {
    const handler = createReportHandler(async () => ({
      store: await store(),
      tenants: [TENANT],
      callers: { mode: "function-key", allowedObjectIds: [], easyAuthEnabled: false },
      logLevel: "silent",
    }));
    const get = async (query: string) => {
      const init = await handler(
        new HttpRequest({ method: "GET", url: `http://localhost/api/report${query}` }),
        new InvocationContext({ functionName: "report" }),
      );
      return new HttpResponse(init);
    };

    it("answers JSON by default", async () => {
      const response = await get("");
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      const parsed = (await response.json()) as TenantReport & { outcomes: unknown[] };
      assert.equal(parsed.outcomes.length, 8);
      assert.equal(parsed.tenant, TENANT);
    });

    it("answers HTML inline with a strict Content-Security-Policy", async () => {
      const response = await get("?format=html");
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(response.headers.get("content-security-policy"), REPORT_CSP_HEADER);
      assert.match(
        REPORT_CSP_HEADER,
        /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; .*frame-ancestors 'none'$/,
      );
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("content-disposition"), null);
      const page = await response.text();
      assert.match(page, /^<!doctype html>/);
      assert.match(page, /Tenant <strong>contoso\.onmicrosoft\.com<\/strong>/);
    });

    it("answers CSV as an attachment", async () => {
      const response = await get("?format=csv&tenant=CONTOSO.onmicrosoft.com");
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/csv/);
      assert.match(
        response.headers.get("content-disposition") ?? "",
        /^attachment; filename="mailbox-audit-tenant-contoso\.onmicrosoft\.com-[0-9TZ-]+\.csv"$/,
      );
      const rows = parseCsv(await response.text());
      assert.equal(rows.length, 9);
    });

    it("answers one mailbox's history", async () => {
      const response = await get(`?format=json&mailbox=${ADELE}`);
      assert.equal(response.status, 200);
      const parsed = (await response.json()) as { entries: RecordedOutcome[] };
      assert.deepEqual(
        parsed.entries.map((entry) => entry.runId),
        ["r3", "r2", "r1"],
      );
    });

    it("restricts to a recorded run and refuses an unknown one", async () => {
      const response = await get("?runId=r1");
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { targets: number }).targets, 1);
      assert.equal((await get("?runId=r9")).status, 404);
    });

    for (const query of [
      "?format=xml",
      "?tenant=fabrikam.onmicrosoft.com",
      "?mailbox=not-a-mailbox",
      "?format=csv&format=json",
      "?mailbox=%3D1%2B1",
    ]) {
      it(`refuses ${query} with 400`, async () => {
        const response = await get(query);
        assert.equal(response.status, 400);
        const body = (await response.json()) as { status: number; detail: string };
        assert.equal(body.status, 400);
      });
    }
  });

  describe("the registered handler", () => {
    it("builds its runtime from the environment and reads the deployed tables", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        TENANT_ID: TENANT,
        AzureWebJobsStorage: azurite().connectionString,
        IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
        IDENTITY_HEADER: "unused",
      });
      try {
        const deployed = new TableOutcomeStore({
          connection: { connectionString: azurite().connectionString },
          tableNames: {
            runs: TABLE_NAMES.runs,
            latest: TABLE_NAMES.latest,
            history: TABLE_NAMES.history,
            watermarks: TABLE_NAMES.watermarks,
          },
        });
        await recordAll(deployed);
        const init = await reportHttp(
          new HttpRequest({ method: "GET", url: "http://localhost/api/report?format=csv" }),
          new InvocationContext({ functionName: "report" }),
        );
        const response = new HttpResponse(init);
        assert.equal(response.status, 200);
        assert.equal(parseCsv(await response.text()).length, 9);
        const refused = await reportHttp(
          new HttpRequest({ method: "GET", url: "http://localhost/api/report?tenant=other.onmicrosoft.com" }),
          new InvocationContext({ functionName: "report" }),
        );
        assert.equal(refused.status, 400);
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
        Object.assign(process.env, saved);
      }
    });
  });
});
