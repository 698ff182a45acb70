import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import { ExchangeError } from "../../shared/exchange/errors";
import { reconcileMailboxTargets, runAuditBaseline } from "../../shared/reconcile/reconcile";
import { FanOutSink } from "../../shared/runs/fan-out";
import { workItemId, type WorkMessage } from "../../shared/runs/work-messages";
import { FakeClock, FakeExchange, FakeStore } from "./fake-exchange";
import { groupMailbox, mailbox } from "./fixtures";

const TENANT = "contoso.onmicrosoft.com";

function setup() {
  const clock = new FakeClock(new Date("2026-06-01T00:00:00Z"));
  const exchange = new FakeExchange(clock);
  const store = new FakeStore();
  const user = mailbox({ AuditEnabled: false });
  const shared = mailbox({ RecipientTypeDetails: "SharedMailbox" });
  const group = groupMailbox({ AuditLogAgeLimit: "90.00:00:00" });
  exchange.add(user, true);
  exchange.add(shared);
  exchange.add(group);
  exchange.organization = { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: true };
  exchange.bypass = [];
  const licences = new Map([[user.ExternalDirectoryObjectId ?? "", true]]);
  const deps = { transport: exchange, store, policy: defaultAuditPolicy(), licences, clock, exchangeCalls: () => exchange.callCounts };
  return { clock, exchange, store, deps, user, shared, group };
}

/** The run's state and queue as the sink sees them: registered items and the messages as they would travel (JSON). */
function fanOut(threshold: number) {
  const registered = new Map<string, readonly string[]>();
  const sent: WorkMessage[] = [];
  const sink = new FanOutSink({
    runState: { registerItem: (_tenant, _run, itemId, targetIds) => Promise.resolve(void registered.set(itemId, targetIds)) },
    queue: { send: (message) => Promise.resolve(void sent.push(JSON.parse(JSON.stringify(message)) as WorkMessage)) },
    tenantId: TENANT,
    runId: "r1",
    policy: "policy@1",
    threshold,
  });
  return { sink, registered, sent };
}

const writes = (exchange: FakeExchange) => exchange.calls.filter((call) => !call.cmdlet.startsWith("Get-"));

test("fan-out: past the threshold every mailbox change goes out as a work item naming its targets and nothing else", async () => {
  const { exchange, store, deps, user, shared, group } = setup();
  const { sink, registered, sent } = fanOut(0);
  const result = await runAuditBaseline({ ...deps, sink }, { tenantId: TENANT, runId: "r1", mode: "apply" });

  assert.equal(result.deferredChanges, 3);
  assert.equal(sent.length, 2, "one item per page of changes (mailboxes, then group mailboxes)");
  for (const item of sent) {
    assert.ok(item.kind === "changes");
    assert.deepEqual(Object.keys(item).sort(), ["itemId", "kind", "policy", "runId", "targetIds", "tenantId"], "intent only: no cmdlet, no value");
    assert.equal(item.itemId, workItemId("r1", item.targetIds), "the id is derived from the run and the targets");
    assert.deepEqual(registered.get(item.itemId), item.targetIds, "registered before it was sent");
  }
  const targets = sent.flatMap((item) => (item.kind === "changes" ? item.targetIds : []));
  assert.deepEqual([...targets].sort(), [user, shared, group].map((target) => target.ExternalDirectoryObjectId?.toLowerCase()).sort());
  assert.equal(exchange.organization.AuditDisabled, false, "organisation changes stay inline");
  assert.deepEqual(store.outcomes.map((outcome) => `${outcome.kind}:${outcome.status}`), ["organization:remediated"], "the handed-out mailboxes are recorded by their worker");
  assert.deepEqual(writes(exchange).map((call) => call.cmdlet), ["Set-OrganizationConfig"], "no mailbox written by the run");
  assert.deepEqual(store.runs, [], "the reconciler writes no summary");
});

test("fan-out: below the threshold the run applies its changes itself, through the same apply phase", async () => {
  const { exchange, deps } = setup();
  const { sink, sent } = fanOut(100);
  const result = await runAuditBaseline({ ...deps, sink }, { tenantId: TENANT, runId: "r1", mode: "apply" });
  assert.equal(result.deferredChanges, 0);
  assert.equal(sent.length, 0);
  assert.equal(result.summary.counts.remediated, 4);
  assert.equal(writes(exchange).filter((call) => call.cmdlet === "Set-Mailbox").length, 3);
});

test("reconcileMailboxTargets: re-reads the targets by identity, plans from what it read and the policy, verifies, records", async () => {
  const { exchange, store, deps, user, shared, group } = setup();
  const ids = [user, shared, group].map((target) => target.ExternalDirectoryObjectId ?? "");
  const result = await reconcileMailboxTargets(deps, { tenantId: TENANT, runId: "r1", runStartedAt: "2026-06-01T00:00:00.000Z" }, ids);
  assert.deepEqual(result.counts, { compliant: 0, remediated: 3, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 });
  for (const target of [user, shared, group]) {
    assert.equal(store.outcomes.find((outcome) => outcome.targetId === target.ExternalDirectoryObjectId)?.status, "remediated");
  }
  const reads = exchange.calls.filter((call) => call.cmdlet === "Get-Mailbox");
  assert.equal(reads.length, 4, "one identity-filtered read per source, then one read-back per source");
  assert.match(String(reads[0]?.parameters?.["Filter"]), /^ExternalDirectoryObjectId -eq '[^']+'( -or ExternalDirectoryObjectId -eq '[^']+'){2}$/);
  assert.deepEqual(store.runs, [], "no run summary");
  assert.equal(exchange.calls.filter((call) => call.cmdlet === "Get-OrganizationConfig").length, 0, "a work item reconciles its mailboxes only");
});

test("reconcileMailboxTargets: a target already compliant, or unknown, gets no write at all (a forged or replayed item changes nothing)", async () => {
  const { exchange, store, deps, user } = setup();
  const run = { tenantId: TENANT, runId: "r1", runStartedAt: "2026-06-01T00:00:00.000Z" };
  await reconcileMailboxTargets(deps, run, [user.ExternalDirectoryObjectId ?? ""]);
  exchange.calls.length = 0;
  const replay = await reconcileMailboxTargets(deps, run, [user.ExternalDirectoryObjectId ?? "", "99999999-0000-4000-8000-000000000000"]);
  assert.deepEqual(writes(exchange), [], "nothing the policy does not ask for");
  assert.equal(replay.counts.compliant, 1);
  assert.equal(replay.counts.failed, 1);
  assert.equal(store.outcomes.at(-1)?.error?.code, "MailboxNotFound");
});

test("reconcileMailboxTargets: a failed write is a failed outcome with Exchange's error", async () => {
  const { exchange, store, deps, user, shared, group } = setup();
  exchange.failSet.set(shared.Guid ?? "", new ExchangeError({ errorId: "ADOperation", exceptionType: "X", text: "boom", status: 500 }));
  const ids = [user, shared, group].map((target) => target.ExternalDirectoryObjectId ?? "");
  const result = await reconcileMailboxTargets(deps, { tenantId: TENANT, runId: "r1", runStartedAt: "2026-06-01T00:00:00.000Z" }, ids);
  assert.equal(result.counts.failed, 1);
  assert.equal(result.counts.remediated, 2);
  assert.equal(store.outcomes.find((outcome) => outcome.targetId === shared.ExternalDirectoryObjectId)?.error?.code, "ADOperation");
});
