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

/**
 * Whole events and whole rows, and a stored row that differs from the observed one in exactly one field: the cases
 * that kill the mutation survivors listed in docs/testing.md (the table above compares events by change and key only).
 */
describe("alert decisions: every field of events and rows", () => {
  const decide = (input: Partial<Parameters<typeof decideAlerts>[0]>) =>
    decideAlerts({ previous: [], outcomes: [], summary: summary(), now: NOW, channels: ["webhook"], ...input });
  const settle = (decision: ReturnType<typeof decideAlerts>, channels: readonly AlertChannelName[] = ["webhook"]) =>
    settleAlertState(decision, new Set<AlertChannelName>(channels));

  it("a failing run: the whole event, the run error in the alert and the stored row (key 'run')", () => {
    const runError = { code: "ObserveFailed", message: "Get-Mailbox failed", requestId: "r-9" };
    const decision = decide({ summary: summary({ error: runError }) });
    const alert = decision.alerts[0]?.alert;
    assert.deepEqual(alert?.runError, runError);
    assert.deepEqual(alert?.events, [
      {
        change: "new",
        kind: "run",
        targetId: TENANT,
        displayName: "Run",
        error: runError,
        hazards: [],
        failingSince: NOW,
      },
    ]);
    assert.deepEqual(settle(decision).put, [
      {
        key: "run",
        kind: "run",
        targetId: TENANT,
        displayName: "Run",
        failingSince: NOW,
        notifiedAt: { webhook: NOW },
      },
    ]);
  });

  it("a run without an error: no runError and no report link unless configured", () => {
    const alert = decide({ outcomes: [failed("a")] }).alerts[0]?.alert;
    assert.ok(alert);
    assert.equal("runError" in alert, false);
    assert.equal("reportUrl" in alert, false);
  });

  it("a failure: only hazard findings are carried, as setting and message", () => {
    const hazard = {
      kind: "hazard" as const,
      setting: "TransportRule",
      message: "Rule X deletes messages before capture",
      current: "x",
    };
    const licence = {
      kind: "licence-gap" as const,
      setting: "AuditOwner",
      message: "MailItemsAccessed needs Audit (Premium)",
    };
    const decision = decide({ outcomes: [failed("a", { findings: [licence, hazard] })] });
    assert.deepEqual(decision.alerts[0]?.alert.events[0]?.hazards, [
      { setting: "TransportRule", message: "Rule X deletes messages before capture" },
    ]);
  });

  it("a compliant target with findings that are not hazards is not alerted", () => {
    const decision = decide({
      outcomes: [
        mailbox("a", "compliant", {
          findings: [{ kind: "custom-audit-set", setting: "DefaultAuditSet", message: "customised" }],
        }),
      ],
    });
    assert.deepEqual(decision.alerts, []);
    assert.deepEqual(decision.targets, []);
  });

  it("a recovery: the whole event carries the new status, and no error even when the outcome has one", () => {
    const decision = decide({
      previous: [failingState("a", { webhook: daysAgo(1) })],
      outcomes: [mailbox("a", "remediated", { error: { code: "AlreadyAudited", message: "already being audited" } })],
    });
    assert.deepEqual(decision.alerts[0]?.alert.events, [
      {
        change: "recovered",
        kind: "mailbox",
        targetId: "a",
        displayName: "a@contoso.com",
        status: "remediated",
        hazards: [],
      },
    ]);
  });

  it("a reminder: the whole event keeps the first failure's time and carries this run's error", () => {
    const since = daysAgo(9);
    const decision = decide({ previous: [failingState("a", { webhook: daysAgo(4) }, since)], outcomes: [failed("a")] });
    assert.deepEqual(decision.alerts[0]?.alert.events, [
      {
        change: "still-failing",
        kind: "mailbox",
        targetId: "a",
        displayName: "a@contoso.com",
        status: "failed",
        error: { code: "AccessDenied", message: "Access to a is denied.", requestId: "req-a", status: 403 },
        hazards: [],
        failingSince: since,
      },
    ]);
  });

  it("a new failure: the whole stored row", () => {
    assert.deepEqual(settle(decide({ outcomes: [failed("a")] })).put, [
      {
        key: A,
        kind: "mailbox",
        targetId: "a",
        displayName: "a@contoso.com",
        failingSince: NOW,
        notifiedAt: { webhook: NOW },
      },
    ]);
  });

  // A stored row that differs from what this run observed in one field is rewritten, even with nothing to alert.
  const oneFieldCases: readonly { name: string; stored: AlertTargetState; rewritten: Partial<AlertTargetState> }[] = [
    {
      name: "displayName",
      stored: { ...failingState("a", { webhook: daysAgo(1) }), displayName: "old name" },
      rewritten: { displayName: "a@contoso.com" },
    },
    {
      name: "kind",
      stored: { ...failingState("a", { webhook: daysAgo(1) }), kind: "capture-mailbox" },
      rewritten: { kind: "mailbox" },
    },
    {
      name: "targetId",
      stored: { ...failingState("a", { webhook: daysAgo(1) }), targetId: "A" },
      rewritten: { targetId: "a" },
    },
    {
      name: "failingSince (absent before)",
      stored: {
        key: A,
        kind: "mailbox",
        targetId: "a",
        displayName: "a@contoso.com",
        notifiedAt: { webhook: daysAgo(1) },
      },
      rewritten: { failingSince: NOW },
    },
  ];
  for (const { name, stored, rewritten } of oneFieldCases) {
    it(`a stored row whose ${name} differs is rewritten`, () => {
      const decision = decide({ previous: [stored], outcomes: [failed("a")] });
      assert.deepEqual(decision.alerts, [], "nothing to alert: the last notice was a day ago");
      const { put, remove } = settle(decision);
      assert.deepEqual(remove, []);
      assert.equal(put.length, 1);
      assert.deepEqual(
        { ...put[0] },
        {
          ...failingState("a", { webhook: daysAgo(1) }),
          ...rewritten,
          failingSince: rewritten.failingSince ?? daysAgo(10),
        },
      );
    });
  }

  it("a stored row is rewritten when one channel's notice changes and another's does not", () => {
    const decision = decide({
      previous: [failingState("a", { webhook: daysAgo(4), email: daysAgo(1) })],
      outcomes: [failed("a")],
      channels: ["webhook", "email"],
    });
    assert.deepEqual(
      decision.alerts.map((alert) => alert.channel),
      ["webhook"],
    );
    assert.deepEqual(
      settle(decision, ["webhook"]).put.map((state) => state.notifiedAt),
      [{ webhook: NOW, email: daysAgo(1) }],
    );
  });

  it("an unchanged stored row is not rewritten", () => {
    const stored = failingState("a", { webhook: daysAgo(1), email: daysAgo(2) });
    assert.deepEqual(
      settle(decide({ previous: [stored], outcomes: [failed("a")], channels: ["webhook", "email"] }), [
        "webhook",
        "email",
      ]),
      { put: [], remove: [] },
    );
  });

  it("the report link drops every trailing slash of the base, and only those", () => {
    const alert = decide({ outcomes: [failed("a")], settings: { reportBaseUrl: "https://app.example.net/base//" } })
      .alerts[0]?.alert;
    assert.equal(alert?.reportUrl, `https://app.example.net/base/api/report?format=html&tenant=${TENANT}`);
  });

  it("events order by change first, whatever their targets' names (then kind, name, id)", () => {
    const decision = decide({
      previous: [failingState("a", { webhook: daysAgo(1) })],
      outcomes: [
        mailbox("a", "compliant"),
        failed("z"),
        failed("m", { kind: "capture-mailbox", displayName: "b" }),
        failed("y", { displayName: "b" }),
        failed("x", { displayName: "b" }),
      ],
    });
    assert.deepEqual(
      decision.alerts[0]?.alert.events.map((event) => `${event.change} ${event.kind}|${event.targetId}`),
      ["new capture-mailbox|m", "new mailbox|x", "new mailbox|y", "new mailbox|z", "recovered mailbox|a"],
    );
  });

  it("a recovery not yet accepted keeps a row without failingSince (the whole row)", () => {
    const decision = decide({
      previous: [failingState("a", { webhook: daysAgo(1) })],
      outcomes: [mailbox("a", "compliant")],
    });
    const row = {
      key: A,
      kind: "mailbox",
      targetId: "a",
      displayName: "a@contoso.com",
      notifiedAt: { webhook: daysAgo(1) },
    };
    assert.deepEqual(
      decision.targets.map((target) => target.observed),
      [row],
    );
    assert.deepEqual(settle(decision, []), { put: [row], remove: [] });
  });

  it("names the time it could not read", () => {
    assert.throws(() => decide({ now: "yesterday" }), {
      name: "TypeError",
      message: 'Not an ISO timestamp: "yesterday"',
    });
  });
});
