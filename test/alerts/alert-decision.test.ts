import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TargetOutcome } from "../../shared/domain/outcome";
import {
  decideAlerts,
  RUN_ALERT_KEY,
  settleAlertState,
  type AlertChannelName,
  type AlertTargetState,
} from "../../shared/alerts/alert-decision";
import { daysAgo, failed, failingState, mailbox, NOW, summary, TENANT } from "./fixtures";

interface Case {
  readonly name: string;
  readonly previous?: readonly AlertTargetState[];
  readonly outcomes?: readonly TargetOutcome[];
  readonly runError?: boolean;
  /** `change key` per event of the single (webhook) channel, in order. */
  readonly events: readonly string[];
  /** Keys written after the webhook accepted, with the webhook's `notifiedAt` they must hold. */
  readonly put: Readonly<Record<string, string | undefined>>;
  readonly remove: readonly string[];
}

const A = "mailbox|a";
const B = "mailbox|b";

const cases: readonly Case[] = [
  { name: "a new failure", outcomes: [failed("a")], events: [`new ${A}`], put: { [A]: NOW }, remove: [] },
  {
    name: "still failing, last notice 1 day ago: nothing",
    previous: [failingState("a", { webhook: daysAgo(1) })],
    outcomes: [failed("a")],
    events: [],
    put: {},
    remove: [],
  },
  {
    name: "still failing, last notice just under 3 days ago: nothing",
    previous: [failingState("a", { webhook: new Date(Date.parse(daysAgo(3)) + 1).toISOString() })],
    outcomes: [failed("a")],
    events: [],
    put: {},
    remove: [],
  },
  {
    name: "still failing, last notice 3 days ago: reminder",
    previous: [failingState("a", { webhook: daysAgo(3) })],
    outcomes: [failed("a")],
    events: [`still-failing ${A}`],
    put: { [A]: NOW },
    remove: [],
  },
  {
    name: "recovered: now compliant",
    previous: [failingState("a", { webhook: daysAgo(1) })],
    outcomes: [mailbox("a", "compliant")],
    events: [`recovered ${A}`],
    put: {},
    remove: [A],
  },
  {
    name: "recovered: now remediated",
    previous: [failingState("a", { webhook: daysAgo(5) })],
    outcomes: [mailbox("a", "remediated")],
    events: [`recovered ${A}`],
    put: {},
    remove: [A],
  },
  {
    name: "recovered: now exempt (an allow-listed bypass)",
    previous: [failingState("a", { webhook: daysAgo(1) })],
    outcomes: [mailbox("a", "exempt")],
    events: [`recovered ${A}`],
    put: {},
    remove: [A],
  },
  {
    name: "recovered: now not applicable",
    previous: [failingState("a", { webhook: daysAgo(1) })],
    outcomes: [mailbox("a", "not-applicable")],
    events: [`recovered ${A}`],
    put: {},
    remove: [A],
  },
  {
    name: "failed before but never notified, now compliant: no recovery notice, row dropped",
    previous: [failingState("a", {})],
    outcomes: [mailbox("a", "compliant")],
    events: [],
    put: {},
    remove: [A],
  },
  {
    name: "failed before but never notified, still failing: raised as new",
    previous: [failingState("a", {}, daysAgo(2))],
    outcomes: [failed("a")],
    events: [`new ${A}`],
    put: { [A]: NOW },
    remove: [],
  },
  {
    name: "drift neither fails nor recovers",
    previous: [failingState("a", { webhook: daysAgo(5) })],
    outcomes: [mailbox("a", "drift")],
    events: [],
    put: {},
    remove: [],
  },
  {
    name: "a target this run did not look at keeps its state",
    previous: [failingState("a", { webhook: daysAgo(5) })],
    outcomes: [mailbox("b", "compliant")],
    events: [],
    put: {},
    remove: [],
  },
  {
    name: "compliant and never failed: nothing",
    outcomes: [mailbox("a", "compliant")],
    events: [],
    put: {},
    remove: [],
  },
  {
    name: "a hazard finding is alertable even when the status is not failed",
    outcomes: [
      mailbox("a", "compliant", {
        findings: [{ kind: "hazard", setting: "TransportRule", message: "Rule X deletes messages before capture" }],
      }),
    ],
    events: [`new ${A}`],
    put: { [A]: NOW },
    remove: [],
  },
  {
    name: "events are grouped and ordered: new, still failing, recovered",
    previous: [failingState("b", { webhook: daysAgo(4) }), failingState("c", { webhook: daysAgo(1) })],
    outcomes: [mailbox("c", "compliant"), failed("b"), failed("a")],
    events: [`new ${A}`, `still-failing ${B}`, "recovered mailbox|c"],
    put: { [A]: NOW, [B]: NOW },
    remove: ["mailbox|c"],
  },
  {
    name: "run-level failure",
    runError: true,
    events: [`new ${RUN_ALERT_KEY}`],
    put: { [RUN_ALERT_KEY]: NOW },
    remove: [],
  },
  {
    name: "run-level failure recovers when a run succeeds",
    previous: [
      {
        key: RUN_ALERT_KEY,
        kind: "run",
        targetId: TENANT,
        displayName: "Run",
        failingSince: daysAgo(1),
        notifiedAt: { webhook: daysAgo(1) },
      },
    ],
    events: [`recovered ${RUN_ALERT_KEY}`],
    put: {},
    remove: [RUN_ALERT_KEY],
  },
  {
    name: "run-level failure comes first, before target events",
    runError: true,
    outcomes: [failed("a")],
    events: [`new ${RUN_ALERT_KEY}`, `new ${A}`],
    put: { [RUN_ALERT_KEY]: NOW, [A]: NOW },
    remove: [],
  },
];

describe("decideAlerts and settleAlertState", () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const runSummary = summary(
        testCase.runError ? { error: { code: "ObserveFailed", message: "Get-Mailbox failed", requestId: "r-9" } } : {},
      );
      const decision = decideAlerts({
        previous: testCase.previous ?? [],
        outcomes: testCase.outcomes ?? [],
        summary: runSummary,
        now: NOW,
        channels: ["webhook"],
      });
      const events = decision.alerts.flatMap(({ alert }) =>
        alert.events.map(
          (event) => `${event.change} ${event.kind === "run" ? RUN_ALERT_KEY : `${event.kind}|${event.targetId}`}`,
        ),
      );
      assert.deepEqual(events, testCase.events);
      assert.equal(decision.alerts.length, testCase.events.length > 0 ? 1 : 0, "one message per run and channel");

      const changes = settleAlertState(decision, new Set<AlertChannelName>(["webhook"]));
      assert.deepEqual(
        Object.fromEntries(changes.put.map((state) => [state.key, state.notifiedAt.webhook])),
        testCase.put,
      );
      assert.deepEqual([...changes.remove].sort(), [...testCase.remove].sort());
    });
  }

  it("carries what failed, the error Exchange gave, the run, counts and the report link", () => {
    const decision = decideAlerts({
      previous: [],
      outcomes: [failed("a")],
      summary: summary({ runId: "run/7" }),
      now: NOW,
      channels: ["webhook"],
      settings: { reportBaseUrl: "https://app.example.net/" },
    });
    const alert = decision.alerts[0]?.alert;
    assert.ok(alert);
    assert.equal(alert.runId, "run/7");
    assert.equal(alert.tenantId, TENANT);
    assert.equal(alert.reportUrl, `https://app.example.net/api/report?format=html&tenant=${TENANT}`);
    assert.equal(alert.counts.failed, 1);
    assert.deepEqual(alert.events[0], {
      change: "new",
      kind: "mailbox",
      targetId: "a",
      displayName: "a@contoso.com",
      status: "failed",
      error: { code: "AccessDenied", message: "Access to a is denied.", requestId: "req-a", status: 403 },
      hazards: [],
      failingSince: NOW,
    });
  });

  it("keeps failingSince across runs and sets it on the first failure", () => {
    const since = daysAgo(9);
    const decision = decideAlerts({
      previous: [failingState("a", { webhook: daysAgo(4) }, since)],
      outcomes: [failed("a"), failed("b")],
      summary: summary(),
      now: NOW,
      channels: ["webhook"],
    });
    const put = settleAlertState(decision, new Set(["webhook"])).put;
    assert.equal(put.find((state) => state.targetId === "a")?.failingSince, since);
    assert.equal(put.find((state) => state.targetId === "b")?.failingSince, NOW);
  });

  it("a configurable reminder period", () => {
    const decide = (stillFailingReminderDays: number): number =>
      decideAlerts({
        previous: [failingState("a", { webhook: daysAgo(2) })],
        outcomes: [failed("a")],
        summary: summary(),
        now: NOW,
        channels: ["webhook"],
        settings: { stillFailingReminderDays },
      }).alerts.length;
    assert.equal(decide(3), 0);
    assert.equal(decide(1), 1);
  });

  it("channels are independent: only the channel that did not accept is raised again", () => {
    const first = decideAlerts({
      previous: [],
      outcomes: [failed("a")],
      summary: summary(),
      now: NOW,
      channels: ["webhook", "email"],
    });
    assert.deepEqual(
      first.alerts.map((alert) => alert.channel),
      ["webhook", "email"],
    );
    const changes = settleAlertState(first, new Set<AlertChannelName>(["webhook"]));
    assert.deepEqual(changes.put[0]?.notifiedAt, { webhook: NOW });

    const later = daysAgo(-1);
    const second = decideAlerts({
      previous: changes.put,
      outcomes: [failed("a")],
      summary: summary(),
      now: later,
      channels: ["webhook", "email"],
    });
    assert.deepEqual(
      second.alerts.map((alert) => alert.channel),
      ["email"],
    );
    assert.equal(second.alerts[0]?.alert.events[0]?.change, "new");
  });

  it("a recovery not accepted by a channel is raised again; the row stays until it is", () => {
    const previous = [failingState("a", { webhook: daysAgo(1), email: daysAgo(1) })];
    const first = decideAlerts({
      previous,
      outcomes: [mailbox("a", "compliant")],
      summary: summary(),
      now: NOW,
      channels: ["webhook", "email"],
    });
    const changes = settleAlertState(first, new Set<AlertChannelName>(["email"]));
    assert.deepEqual(changes.remove, []);
    assert.equal(changes.put.length, 1);
    assert.equal(changes.put[0]?.failingSince, undefined);
    assert.deepEqual(changes.put[0]?.notifiedAt, { webhook: daysAgo(1) });

    const second = decideAlerts({
      previous: changes.put,
      outcomes: [mailbox("a", "compliant")],
      summary: summary(),
      now: NOW,
      channels: ["webhook", "email"],
    });
    assert.deepEqual(
      second.alerts.map(({ channel, alert }) => `${channel} ${alert.events[0]?.change}`),
      ["webhook recovered"],
    );
    assert.deepEqual(settleAlertState(second, new Set<AlertChannelName>(["webhook"])).remove, ["mailbox|a"]);
  });

  it("nothing delivered: the state records the failure but no notice, so the next run raises it again", () => {
    const first = decideAlerts({
      previous: [],
      outcomes: [failed("a")],
      summary: summary(),
      now: NOW,
      channels: ["webhook"],
    });
    const changes = settleAlertState(first, new Set());
    assert.deepEqual(changes.put[0]?.notifiedAt, {});
    const second = decideAlerts({
      previous: changes.put,
      outcomes: [failed("a")],
      summary: summary(),
      now: NOW,
      channels: ["webhook"],
    });
    assert.equal(second.alerts[0]?.alert.events[0]?.change, "new");
  });

  it("the same target reported twice: the failing report wins", () => {
    const decision = decideAlerts({
      previous: [],
      outcomes: [failed("a"), mailbox("a", "compliant")],
      summary: summary(),
      now: NOW,
      channels: ["webhook"],
    });
    assert.deepEqual(
      decision.alerts[0]?.alert.events.map((event) => event.change),
      ["new"],
    );
  });

  it("the same id under two kinds is two targets", () => {
    const decision = decideAlerts({
      previous: [],
      outcomes: [failed("a"), failed("a", { kind: "capture-mailbox" })],
      summary: summary(),
      now: NOW,
      channels: ["webhook"],
    });
    assert.equal(decision.alerts[0]?.alert.events.length, 2);
  });

  it("no channels: no alerts, but the failure is still remembered", () => {
    const decision = decideAlerts({
      previous: [],
      outcomes: [failed("a")],
      summary: summary(),
      now: NOW,
      channels: [],
    });
    assert.deepEqual(decision.alerts, []);
    assert.equal(settleAlertState(decision, new Set()).put.length, 1);
  });

  it("rejects a time that is not ISO", () => {
    assert.throws(
      () => decideAlerts({ previous: [], outcomes: [], summary: summary(), now: "yesterday", channels: [] }),
      TypeError,
    );
  });
});
