import { test } from "node:test";
import assert from "node:assert/strict";
import { decideAlerts, type AlertTargetState } from "../../shared/alerts/alert-decision";
import { emptyCounts, type RunSummary } from "../../shared/domain/outcome";
import { CHANGE_LIMIT_TARGET_ID, changeLimitOutcomes } from "../../shared/runs/change-limit-alert";

function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: "r1",
    tenantId: "contoso.onmicrosoft.com",
    mode: "apply",
    scope: "full",
    startedAt: "2026-06-01T02:00:00.000Z",
    finishedAt: "2026-06-01T02:10:00.000Z",
    counts: emptyCounts(),
    exchangeCalls: {},
    durationInMs: 600_000,
    ...overrides,
  };
}

test("changeLimitOutcomes: failed when an apply held changes back, compliant when a tenant apply held none, else none", () => {
  const cases: [string, RunSummary, string | undefined][] = [
    ["an apply past its limit", summary({ changesHeldBack: 2300 }), "failed"],
    ["an apply of named mailboxes past its limit", summary({ scope: "mailboxes", changesHeldBack: 3 }), "failed"],
    ["a tenant apply within its limit", summary(), "compliant"],
    ["an incremental apply within its limit", summary({ scope: "incremental" }), "compliant"],
    ["a named-mailbox apply (the tenant's backlog is unknown)", summary({ scope: "mailboxes" }), undefined],
    ["a failed apply", summary({ error: { code: "RunFailed", message: "x" } }), undefined],
    ["a plan (writes nothing, approves nothing)", summary({ mode: "plan", changesHeldBack: 9 }), undefined],
  ];
  for (const [name, run, expected] of cases) {
    const outcomes = changeLimitOutcomes(run, 500);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), expected ? [expected] : [], name);
    for (const outcome of outcomes) assert.equal(outcome.targetId, CHANGE_LIMIT_TARGET_ID, name);
  }
});

test("changeLimitOutcomes: the alert says how many were held back and how to approve them", () => {
  const [outcome] = changeLimitOutcomes(summary({ changesHeldBack: 2300 }), 500);
  assert.equal(outcome?.error?.code, "ChangeLimitReached");
  assert.match(outcome?.error?.message ?? "", /^The change limit of 500 held back 2300 targets/);
  assert.match(outcome?.error?.message ?? "", /POST \/api\/runs \{"mode":"apply","scope":"tenant"\}/);
  assert.match(changeLimitOutcomes(summary({ changesHeldBack: 1 }), undefined)[0]?.error?.message ?? "", /^The change limit held back 1 targets/);
});

test("through the alert decision: raised once, quiet while it lasts, recovered by an apply that holds nothing back", () => {
  const decide = (run: RunSummary, previous: AlertTargetState[], now: string) =>
    decideAlerts({ previous, outcomes: changeLimitOutcomes(run, 500), summary: run, now, channels: ["webhook"] });
  const first = decide(summary({ changesHeldBack: 2300 }), [], "2026-06-01T02:10:00.000Z");
  assert.deepEqual(first.alerts[0]?.alert.events.map((event) => [event.change, event.targetId, event.error?.code]), [["new", CHANGE_LIMIT_TARGET_ID, "ChangeLimitReached"]]);
  const observed = first.targets[0]?.observed;
  assert.ok(observed);
  const state = { ...observed, notifiedAt: { webhook: first.now } };
  assert.deepEqual(decide(summary({ changesHeldBack: 1800 }), [state], "2026-06-02T02:10:00.000Z").alerts, [], "the next night: already told");
  const approved = decide(summary(), [state], "2026-06-02T09:00:00.000Z");
  assert.deepEqual(approved.alerts[0]?.alert.events.map((event) => event.change), ["recovered"]);
});
