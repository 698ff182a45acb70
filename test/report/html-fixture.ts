/**
 * A recorded tenant for the HTML report tests (unit and browser): a few runs that converge, one failure with a
 * hostile display name and error text, drift, an exemption, licence gaps of two kinds and a capture mailbox.
 */
import type { Finding, OutcomeStatus, RunSummary, TargetOutcome } from "../../shared/domain/outcome";
import { buildTenantReport, shippedControls, type TenantReport } from "../../shared/report";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import type { OutcomeStore } from "../../shared/storage/outcome-store";

export const TENANT = "contoso.onmicrosoft.com";
export const HOSTILE_NAME = "<script>window.__pwned=1</script>@contoso.com";
export const HOSTILE_ERROR = `"><img src=x onerror="window.__pwned=1">`;
export const STYLE_BREAKER = "</style><b>not bold</b>";
export const FAILED_REQUEST_ID = "5c0d3f0e-6a1b-4e2c-9d7a-000000000042";
/** Hostile values in the audit-log evidence: an object id and a display name of a missing change, a query id. */
export const HOSTILE_OBJECT_ID = `"><svg onload="window.__pwned=2">`;
export const HOSTILE_MISSING_NAME = "<img src=x onerror=window.__pwned=3>";
export const HOSTILE_QUERY_ID = "</td><script>window.__pwned=4</script>";
const GIB = 1024 ** 3;

const counts = (values: Partial<Record<OutcomeStatus, number>>): Record<OutcomeStatus, number> => ({
  compliant: 0,
  remediated: 0,
  drift: 0,
  exempt: 0,
  "not-applicable": 0,
  failed: 0,
  ...values,
});

function run(index: number, mode: "plan" | "apply", values: Partial<Record<OutcomeStatus, number>>): RunSummary {
  const startedAt = `2024-05-0${index}T02:00:00.000Z`;
  return {
    runId: `run-${index}`,
    tenantId: TENANT,
    mode,
    scope: index === 1 ? "full" : "incremental",
    startedAt,
    finishedAt: `2024-05-0${index}T02:03:00.000Z`,
    counts: counts(values),
    exchangeCalls: { "Get-Mailbox": 2 },
    ...(index === 5 && { graphCalls: GRAPH_CALLS }),
    durationInMs: 180_000,
    ...(TRIGGERS[index] ? { trigger: TRIGGERS[index] } : {}),
  };
}

/** The audit-log queries of run 5: two queries (audit trail, mailbox activity), polled and paged. */
export const GRAPH_CALLS: Readonly<Record<string, number>> = {
  "POST /security/auditLog/queries": 2,
  "GET /security/auditLog/queries/{id}": 5,
  "GET /security/auditLog/queries/{id}/records": 2,
};

/** Who started the fixture's runs (run 2's caller is hostile text; runs 4 and 5 predate trigger recording). */
export const TRIGGERS: Readonly<Record<number, RunSummary["trigger"]>> = {
  1: { kind: "timer" },
  2: { kind: "http", by: "<img src=x onerror=alert(2)>" },
  3: { kind: "cli", by: "admin" },
};

const gap = (setting: string, desired: string[]): Finding => ({
  kind: "licence-gap",
  setting,
  desired,
  message: `${desired.join(", ")} need Audit (Premium); the mailbox's account does not hold it`,
});

function mailbox(index: number, overrides: Partial<TargetOutcome>): TargetOutcome {
  return {
    kind: "mailbox",
    targetId: `0f0e0d0c-0000-4000-8000-${String(index).padStart(12, "0")}`,
    displayName: `user${index}@contoso.com`,
    recipientType: "UserMailbox",
    status: "compliant",
    findings: [],
    ...overrides,
  };
}

function outcomes(): TargetOutcome[] {
  const gaps = Array.from({ length: 6 }, (_, index) =>
    mailbox(10 + index, {
      findings: [gap("AuditOwner", ["Send", "MailItemsAccessed"]), ...(index < 2 ? [gap("AuditAdmin", ["Send"])] : [])],
    }),
  );
  return [
    { kind: "organization", targetId: "organization", displayName: "Contoso", status: "compliant", findings: [] },
    mailbox(1, { displayName: "adele@contoso.com" }),
    mailbox(2, {
      displayName: HOSTILE_NAME,
      status: "failed",
      findings: [
        {
          kind: "drift",
          setting: "AuditOwner",
          current: ["Update"],
          desired: ["Update", "MailboxLogin"],
          message: "missing MailboxLogin",
        },
      ],
      error: { code: "InvalidOperationException", message: HOSTILE_ERROR, requestId: FAILED_REQUEST_ID, status: 400 },
    }),
    mailbox(3, {
      displayName: STYLE_BREAKER,
      recipientType: "SharedMailbox",
      status: "drift",
      findings: [
        {
          kind: "drift",
          setting: "AuditLogAgeLimit",
          current: "90.00:00:00",
          desired: "180.00:00:00",
          message: "AuditLogAgeLimit below the policy",
        },
      ],
    }),
    mailbox(4, {
      displayName: "room1@contoso.com",
      recipientType: "RoomMailbox",
      status: "remediated",
      findings: [{ kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "auditing off" }],
    }),
    ...gaps,
    {
      kind: "bypass-association",
      targetId: "svc-backup",
      displayName: "svc-backup",
      status: "exempt",
      findings: [
        {
          kind: "exemption",
          setting: "AuditBypassEnabled",
          current: true,
          message: "Allow-listed: backup service account (change CHG-1234)",
        },
      ],
    },
    {
      kind: "capture-mailbox",
      targetId: "0f0e0d0c-0000-4000-8000-0000000000ca",
      displayName: "soc-capture@contoso.onmicrosoft.com",
      recipientType: "SharedMailbox",
      status: "compliant",
      findings: [],
      before: {
        FullAccess: ["SOC Analysts"],
        TotalItemSizeInBytes: 12 * GIB,
        ItemCount: 81234,
        QuotaInBytes: 50 * GIB,
      },
    },
    {
      kind: "transport-rule",
      targetId: "mailbox-audit-enforcer: capture all mail",
      displayName: "mailbox-audit-enforcer: capture all mail",
      status: "compliant",
      findings: [],
    },
  ];
}

/**
 * The audit log's evidence as run 5 recorded it: run 2's changes all found, run 3's still missing after 24 hours
 * (two of three, one with hostile ids), run 4's not there yet (pending), and the last 24 hours' mailbox activity.
 */
export function auditEvidenceOutcomes(): TargetOutcome[] {
  const window = (day: number) => ({
    windowStart: `2024-05-0${day}T01:45:00.000Z`,
    windowEnd: `2024-05-0${day}T02:18:00.000Z`,
  });
  return [
    {
      kind: "audit-trail",
      targetId: "run-2",
      displayName: "Changes of run run-2",
      status: "compliant",
      findings: [],
      after: { auditedRunId: "run-2", auditedRunFinishedAt: "2024-05-02T02:03:00.000Z", expected: 8, found: 8, missing: [], queryId: "q-2", ...window(2) },
    },
    {
      kind: "audit-trail",
      targetId: "run-3",
      displayName: "Changes of run run-3",
      status: "failed",
      findings: [],
      error: {
        code: "AuditTrailMissing",
        message: "2 of 3 changes of run run-3 have no Exchange admin audit record 24 hours after the run",
      },
      after: {
        auditedRunId: "run-3",
        auditedRunFinishedAt: "2024-05-03T02:03:00.000Z",
        expected: 3,
        found: 1,
        missing: [
          { kind: "mailbox", targetId: HOSTILE_OBJECT_ID, displayName: HOSTILE_MISSING_NAME, operations: ["Set-Mailbox"] },
          { kind: "organization", targetId: "organization", displayName: "organization", operations: ["Set-OrganizationConfig"] },
        ],
        queryId: HOSTILE_QUERY_ID,
        ...window(3),
      },
    },
    {
      kind: "audit-trail",
      targetId: "run-4",
      displayName: "Changes of run run-4",
      status: "drift",
      findings: [
        { kind: "pending", setting: "AuditTrail", message: "1 of 2 changes not in the audit log yet (run finished under 24 hours ago)" },
      ],
      after: { auditedRunId: "run-4", auditedRunFinishedAt: "2024-05-04T02:03:00.000Z", expected: 2, found: 1, missing: [{ kind: "mailbox", targetId: "0f0e0d0c-0000-4000-8000-000000000004", displayName: "room1@contoso.com", operations: ["Set-Mailbox"] }], queryId: "q-4", ...window(4) },
    },
    {
      kind: "audit-activity",
      targetId: "mailbox-activity",
      displayName: "Mailbox audit records (last 24 hours)",
      status: "compliant",
      findings: [],
      after: {
        records: 1234,
        atLeast: false,
        windowStart: "2024-05-04T02:00:00.000Z",
        windowEnd: "2024-05-05T02:00:00.000Z",
        recordTypes: ["exchangeItem", "exchangeItemGroup", "exchangeItemAggregated"],
        queryId: "q-activity",
      },
    },
  ];
}

/** Records the tenant: five runs (a plan, then nightly applies converging), the latest state as above. */
export async function recordFixture(store: OutcomeStore): Promise<void> {
  const runs = [
    run(1, "plan", { compliant: 3, drift: 10, exempt: 1 }),
    run(2, "apply", { compliant: 3, remediated: 8, drift: 1, failed: 1, exempt: 1 }),
    run(3, "apply", { compliant: 11, drift: 1, failed: 1, exempt: 1 }),
    run(4, "apply", { compliant: 11, remediated: 1, drift: 1, failed: 1, exempt: 1 }),
    run(5, "apply", { compliant: 10, remediated: 1, drift: 1, failed: 1, exempt: 1 }),
  ];
  for (const summary of runs) await store.recordRun(summary);
  const failed = outcomes().filter((outcome) => outcome.status === "failed");
  for (const summary of runs.slice(2, 4)) await store.recordOutcomes(TENANT, summary.runId, summary.startedAt, failed);
  await store.recordOutcomes(TENANT, "run-5", "2024-05-05T02:00:00.000Z", [...outcomes(), ...auditEvidenceOutcomes()]);
}

export async function fixtureReport(): Promise<TenantReport> {
  const store = new MemoryOutcomeStore();
  await recordFixture(store);
  return buildTenantReport(store, TENANT, {
    now: new Date("2024-05-05T06:00:00.000Z"),
    controls: shippedControls(),
  });
}
