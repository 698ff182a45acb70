import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { eventLine, problemOf, subjectOf } from "../../shared/alerts/alert-content";
import {
  auditEvidenceOf,
  decideAlerts,
  settleAlertState,
  type AlertDecision,
  type AlertEvent,
  type AlertTargetState,
} from "../../shared/alerts/alert-decision";
import { formatAlertEmail } from "../../shared/alerts/email-channel";
import { formatWebhookBody, type GenericWebhookBody } from "../../shared/alerts/webhook-formats";
import { daysAgo, NOW, summary } from "./fixtures";

const missingTrail = (overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "audit-trail",
  targetId: "run-7",
  displayName: "Changes of run run-7",
  status: "failed",
  findings: [],
  error: { code: "AuditTrailMissing", message: "2 of 3 changes of run run-7 have no Exchange admin audit record after 24 hours" },
  after: {
    auditedRunId: "run-7",
    auditedRunFinishedAt: "2026-03-09T02:03:00.000Z",
    expected: 3,
    found: 1,
    missing: [
      { kind: "mailbox", targetId: "0c1d-1", displayName: "adele@contoso.com", operations: ["Set-Mailbox"] },
      { kind: "organization", targetId: "organization", displayName: "organization", operations: ["Set-OrganizationConfig"] },
    ],
    queryId: "q-77",
    windowStart: "2026-03-09T01:48:00.000Z",
    windowEnd: "2026-03-09T02:18:00.000Z",
  },
  ...overrides,
});

const silentMailboxes = (overrides: Partial<TargetOutcome> = {}): TargetOutcome => ({
  kind: "audit-activity",
  targetId: "mailbox-activity",
  displayName: "Mailbox audit records (last 24 hours)",
  status: "failed",
  findings: [],
  error: { code: "AuditActivityMissing", message: "no mailbox audit record in the last 24 hours in a tenant with 120 mailboxes" },
  after: { records: 0, atLeast: false, recordTypes: ["exchangeItem"], windowStart: "2026-03-09T12:00:00.000Z", windowEnd: "2026-03-10T12:00:00.000Z", queryId: "q-88" },
  ...overrides,
});

function decide(outcomes: TargetOutcome[], previous: readonly AlertTargetState[] = [], now = NOW): AlertDecision {
  return decideAlerts({ previous, outcomes, summary: summary({ runId: "run-8" }), now, channels: ["webhook"] });
}

function onlyEvent(decision: AlertDecision): AlertEvent {
  const events = decision.alerts[0]?.alert.events.filter((event) => event.kind !== "run") ?? [];
  assert.equal(events.length, 1);
  return events[0]!;
}

describe("alerts for the audit log's evidence", () => {
  it("names the audited run, what is missing, the window and query, and what to check", () => {
    const event = onlyEvent(decide([missingTrail()]));
    assert.equal(event.change, "new");
    assert.equal(subjectOf(event), "Audit log: changes of run run-7");
    const line = eventLine(event);
    assert.match(line, /^\[New failure\] Audit log: changes of run run-7: AuditTrailMissing: 2 of 3 changes of run run-7 have no Exchange admin audit record/);
    assert.match(line, /; 1 of 3 changes found in the audit log; /);
    assert.match(line, /; missing: Set-Mailbox on mailbox adele@contoso\.com \(0c1d-1\), Set-OrganizationConfig on organization organization; /);
    assert.match(line, /; searched 2026-03-09T01:48:00\.000Z to 2026-03-09T02:18:00\.000Z; audit log query q-77; /);
    assert.match(line, /the audit pipeline is broken even though every switch is on/);
    assert.match(line, /UnifiedAuditLogIngestionEnabled True/);
  });

  it("says the mailboxes are silent, with the count and what to check", () => {
    const event = onlyEvent(decide([silentMailboxes()]));
    assert.equal(subjectOf(event), "Audit log: mailbox audit records (last 24 hours)");
    const problem = problemOf(event);
    assert.match(problem, /^AuditActivityMissing: no mailbox audit record in the last 24 hours in a tenant with 120 mailboxes; 0 mailbox audit records in the last 24 hours; /);
    assert.match(problem, /audit pipeline is broken even though every switch is on: the tenant has mailboxes but no mailbox audit record/);
    assert.match(problem, /AuditDisabled False/);
    assert.doesNotMatch(problem, /changes found/);
  });

  it("a failed query proves nothing either way and says so", () => {
    const event = onlyEvent(
      decide([silentMailboxes({ error: { code: "AuditQueryFailed", message: "Graph answered 503", status: 503, requestId: "g-1" }, after: { records: 0, atLeast: false } })]),
    );
    assert.doesNotMatch(problemOf(event), /0 mailbox audit records/, "a failed search counted nothing");
    assert.match(problemOf(event), /^AuditQueryFailed HTTP 503: Graph answered 503 \(request id g-1\); failing since [^;]+; the unified audit log could not be searched, so nothing is proven either way/);
  });

  it("a failed search for an audit trail gives no count", () => {
    const event = onlyEvent(
      decide([missingTrail({ error: { code: "AuditQueryFailed", message: "The audit search failed: 429" }, after: { expected: 3, found: 0, missing: [], queryId: "q-9" } })]),
    );
    assert.doesNotMatch(problemOf(event), /of 3 changes found/);
    assert.match(problemOf(event), /audit log query q-9/);
  });

  it("lists at most five missing changes and counts the rest", () => {
    const missing = Array.from({ length: 8 }, (_, index) => ({ kind: "mailbox", targetId: `m-${index}`, displayName: `m-${index}`, operations: ["Set-Mailbox"] }));
    const evidence = auditEvidenceOf(missingTrail({ after: { expected: 30, found: 4, missing, missingTruncated: true } }));
    assert.equal(evidence?.missing?.length, 5);
    assert.equal(evidence?.moreMissing, 21);
    assert.match(problemOf(onlyEvent(decide([missingTrail({ after: { expected: 30, found: 4, missing } })]))), /on mailbox m-4 and 21 more;/);
  });

  it("reads the evidence defensively: malformed fields are left out", () => {
    assert.deepEqual(auditEvidenceOf(missingTrail({ after: { expected: "3", found: -1, missing: [{ kind: 1 }, null, "x"], queryId: "" } })), {});
    assert.equal(auditEvidenceOf({ kind: "mailbox", after: { expected: 1 } }), undefined);
    assert.deepEqual(auditEvidenceOf(silentMailboxes({ after: undefined })), {});
  });

  it("carries the evidence in the generic body and escapes it in mail", () => {
    const hostile = missingTrail({
      after: { expected: 1, found: 0, missing: [{ kind: "mailbox", targetId: `"><img src=x onerror=alert(1)>`, displayName: "<b>x</b>", operations: ["Set-Mailbox"] }] },
    });
    const alert = decide([hostile]).alerts[0]!.alert;
    const generic = formatWebhookBody("generic", alert) as GenericWebhookBody;
    assert.deepEqual(generic.events.find((event) => event.kind === "audit-trail")?.evidence, {
      expected: 1,
      found: 0,
      missing: [{ kind: "mailbox", targetId: `"><img src=x onerror=alert(1)>`, displayName: "<b>x</b>", operations: ["Set-Mailbox"] }],
    });
    const mail = formatAlertEmail(alert, ["secops@contoso.com"]).body.content;
    assert.ok(!mail.includes("<img") && !mail.includes("<b>x"), mail);
    assert.match(mail, /&lt;b&gt;x&lt;\/b&gt; \(&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;\)/);
  });

  it("keeps the state-change rules: one alert, not repeated the next night, a reminder after three days, then the recovery", () => {
    const first = decide([missingTrail()]);
    assert.equal(onlyEvent(first).change, "new");
    const stored = settleAlertState(first, new Set(["webhook"])).put;
    const nextNight = decide([missingTrail()], stored, daysAgo(-1));
    assert.equal(nextNight.alerts.length, 0, "still missing the next night: nothing new to say");
    assert.equal(decide([], stored, daysAgo(-1)).alerts.length, 0, "not looked at again: nothing known");
    assert.equal(onlyEvent(decide([missingTrail()], stored, daysAgo(-3))).change, "still-failing");
    const found = decide([missingTrail({ status: "compliant", error: undefined, after: { expected: 3, found: 3, missing: [] } })], stored, daysAgo(-1));
    const recovered = onlyEvent(found);
    assert.equal(recovered.change, "recovered");
    assert.equal(recovered.evidence, undefined, "a recovery carries no failure evidence");
    assert.equal(problemOf(recovered), "now compliant");
  });

  it("a pending audit trail (drift) neither alerts nor recovers", () => {
    const pending = missingTrail({
      status: "drift",
      error: undefined,
      findings: [{ kind: "pending", setting: "AuditTrail", message: "not in the audit log yet" }],
    });
    assert.equal(decide([pending]).alerts.length, 0);
    const stored = settleAlertState(decide([missingTrail()]), new Set(["webhook"])).put;
    assert.equal(decide([pending], stored, daysAgo(-1)).alerts.length, 0);
  });
});
