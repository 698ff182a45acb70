import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMailboxChanges, INCREMENTAL_WATERMARK, runAuditBaseline } from "../../shared/audit/reconciler";
import type { DeferredMailboxChange } from "../../shared/audit/ports";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import { ExchangeError } from "../../shared/exchange/errors";
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

/** A sink that keeps what it is given as it would travel on a queue (JSON). */
function collectingSink() {
  const accepted: DeferredMailboxChange[][] = [];
  return {
    accepted,
    sink: {
      accept: (changes: readonly DeferredMailboxChange[]) => {
        accepted.push(JSON.parse(JSON.stringify(changes)) as DeferredMailboxChange[]);
        return Promise.resolve();
      },
    },
  };
}

test("fan-out: mailbox changes go to the sink, the rest is applied inline, and the watermark waits", async () => {
  const { exchange, store, deps } = setup();
  const { sink, accepted } = collectingSink();
  const result = await runAuditBaseline({ ...deps, mailboxSink: sink }, { tenantId: TENANT, runId: "r1", mode: "apply" });

  const deferred = accepted.flat();
  assert.equal(result.deferredChanges, 3);
  assert.equal(deferred.length, 3, "user, shared and group mailboxes drifted");
  assert.ok(deferred.every((change) => change.outcome.status === "remediated" && change.action.targetKind === "mailbox"));
  assert.equal(exchange.organization.AuditDisabled, false);
  assert.deepEqual(
    store.outcomes.map((outcome) => `${outcome.kind}:${outcome.status}`).sort(),
    ["organization:remediated"],
    "the deferred mailboxes are not recorded by the run",
  );
  assert.ok(!store.watermarks.has(`${TENANT}/${INCREMENTAL_WATERMARK}`), "deferred changes keep the watermark");
  assert.ok(deferred.some((change) => exchange.byTargetId(change.action.targetId)?.AuditEnabled === false), "no mailbox written yet");
});

test("applyMailboxChanges: sends, reads exactly those mailboxes back by identity, records under the run", async () => {
  const { exchange, store, deps, user, shared, group } = setup();
  const { sink, accepted } = collectingSink();
  const run = await runAuditBaseline({ ...deps, mailboxSink: sink }, { tenantId: TENANT, runId: "r1", mode: "apply" });
  const callsBefore = exchange.calls.length;

  const result = await applyMailboxChanges(deps, { tenantId: TENANT, runId: "r1", runStartedAt: run.summary.startedAt }, accepted.flat());
  assert.deepEqual(result.counts, { compliant: 0, remediated: 3, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 });
  for (const target of [user, shared, group]) {
    assert.equal(store.outcomes.find((outcome) => outcome.targetId === target.ExternalDirectoryObjectId)?.status, "remediated");
  }
  const reads = exchange.calls.slice(callsBefore).filter((call) => call.cmdlet === "Get-Mailbox");
  assert.equal(reads.length, 2, "one identity-filtered read per source");
  assert.match(String(reads[0]?.parameters?.["Filter"]), /^ExternalDirectoryObjectId -eq '[^']+'( -or ExternalDirectoryObjectId -eq '[^']+'){2}$/);
  assert.equal(store.runs.length, 1, "no second run summary");
  assert.ok(!store.watermarks.has(`${TENANT}/${INCREMENTAL_WATERMARK}`));
});

test("applyMailboxChanges: a failed write is a failed outcome with Exchange's error", async () => {
  const { exchange, store, deps, shared } = setup();
  const { sink, accepted } = collectingSink();
  const run = await runAuditBaseline({ ...deps, mailboxSink: sink }, { tenantId: TENANT, runId: "r1", mode: "apply" });
  exchange.failSet.set(shared.Guid ?? "", new ExchangeError({ errorId: "ADOperation", exceptionType: "X", text: "boom", status: 500 }));
  const result = await applyMailboxChanges(deps, { tenantId: TENANT, runId: "r1", runStartedAt: run.summary.startedAt }, accepted.flat());
  assert.equal(result.counts.failed, 1);
  assert.equal(result.counts.remediated, 2);
  assert.equal(store.outcomes.find((outcome) => outcome.targetId === shared.ExternalDirectoryObjectId)?.error?.code, "ADOperation");
});
