/**
 * The queue can be written by anyone with data access to the storage account, and the host redelivers what a dead
 * worker held. Against in-process Azurite and the tenant emulator, through the production runtime:
 * - forged, replayed, malformed or undispatched work messages are recorded as rejected and change nothing in
 *   Exchange (a table of hostile messages, each checked against the emulator's call log and the tenant's state);
 * - a worker that dies mid fan-out and the redelivered run message lose nothing: every drifted mailbox ends with an
 *   outcome, none is written twice, and the run completes only when every item it dispatched is done.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { QueueClient } from "@azure/storage-queue";
import { TableClient } from "@azure/data-tables";
import { generateTenant } from "../../emulator/generate";
import { startLocalStack, type LocalStack } from "../../emulator/local-stack";
import { loadConfig } from "../../shared/config";
import { createRootLogger } from "../../shared/logging";
import { handleWorkMessage, processPoisonMessage, startRun } from "../../shared/runs/orchestrator";
import { createRunsApp, type RunsApp } from "../../shared/runs/runs-app";
import { policyFingerprint, workItemId } from "../../shared/runs/work-messages";
import { QUEUE_NAMES, TABLE_NAMES } from "../../shared/storage/storage-layout";
import { tenantGaps } from "../e2e/stack";

const tenant = generateTenant({ seed: 61, counts: { user: 50, shared: 6 }, driftShare: 0.5 });
const logger = createRootLogger({ level: "silent" });
let stack: LocalStack;
let restoreEnv: () => void;
let app: RunsApp;
let queue: QueueClient;
let runState: TableClient;

before(async () => {
  stack = await startLocalStack({ tenant });
  restoreEnv = stack.applyEnv();
  app = await createRunsApp(loadConfig({ ...process.env, ...stack.env, LOG_LEVEL: "silent", RUN_FANOUT_THRESHOLD: "0" }));
  queue = new QueueClient(stack.azurite.connectionString, QUEUE_NAMES.workItems);
  await queue.createIfNotExists();
  runState = TableClient.fromConnectionString(stack.azurite.connectionString, TABLE_NAMES.runState, { allowInsecureConnection: true });
});

after(async () => {
  restoreEnv();
  await stack.stop();
});

/** Hands every queued message to the handler, as the trigger would, until the queue is empty. */
async function drain(): Promise<number> {
  let handled = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return handled;
    for (const item of receivedMessageItems) {
      await handleWorkMessage(app, JSON.parse(Buffer.from(item.messageText, "base64").toString("utf8")), logger);
      await queue.deleteMessage(item.messageId, item.popReceipt);
      handled += 1;
    }
  }
}

function exchangeWrites(): string[] {
  return stack.emulator.calls.records.filter((call) => call.api === "exchange" && !/^Get-|^\$batch$/.test(call.cmdlet)).map((call) => call.cmdlet);
}

async function rejectedCount(): Promise<number> {
  let count = 0;
  for await (const entity of runState.listEntities({ queryOptions: { filter: "PartitionKey eq 'rejected'" } })) count += entity ? 1 : 0;
  return count;
}

async function runToCompletion(): Promise<string> {
  const record = await startRun(app, { tenantId: tenant.tenantId, mode: "apply", full: true, trigger: "http" }, logger);
  await drain();
  return record.runId;
}

test("a hostile work message is rejected and recorded, and Exchange sees no write", async () => {
  const completedRun = await runToCompletion();
  const active = await startRun(app, { tenantId: tenant.tenantId, mode: "plan", full: true, trigger: "http" }, logger);
  const target = [...tenant.mailboxes.values()][0]?.ExternalDirectoryObjectId ?? "";
  const policy = policyFingerprint((await app.runtimeFor(tenant.tenantId)).auditPolicy);
  const item = (runId: string, targetIds: string[], overrides: Record<string, unknown> = {}) => ({ kind: "changes", tenantId: tenant.tenantId, runId, itemId: workItemId(runId, targetIds), targetIds, policy, ...overrides });
  // The pre-pipeline shape: a "changes" item carrying raw cmdlets (a storage writer turning the audit log off).
  const commands = {
    kind: "changes",
    tenantId: tenant.tenantId,
    runId: active.runId,
    runStartedAt: new Date().toISOString(),
    itemId: "000001",
    changes: [{ action: { targetKind: "mailbox", targetId: target, requests: [{ cmdlet: "Set-AdminAuditLogConfig", parameters: { UnifiedAuditLogIngestionEnabled: false } }] }, outcome: {}, observed: {} }],
  };
  const hostile: [string, unknown][] = [
    ["raw cmdlets in a work item", commands],
    ["not JSON", "{not json"],
    ["a JSON array", [1, 2, 3]],
    ["null", null],
    ["an unknown kind", { kind: "delete", tenantId: tenant.tenantId, runId: active.runId }],
    ["an extra field", { ...item(active.runId, [target]), cmdlet: "Set-Mailbox" }],
    ["a target that is not an object id", item(active.runId, ["x' -or Name -like '*"])],
    ["21 targets", item(active.runId, Array.from({ length: 21 }, () => target))],
    ["no targets", item(active.runId, [])],
    ["a malformed item id", item(active.runId, [target], { itemId: "000001" })],
    ["an id with control characters", { kind: "run", tenantId: tenant.tenantId, runId: "run\u0000id" }],
    ["a tenant that is not configured", { kind: "run", tenantId: "11111111-2222-4333-8444-555555555555", runId: active.runId }],
    ["an unknown run", item("2026-01-01T00:00:00Z-deadbeef", [target])],
    ["an item the run never dispatched", item(active.runId, [target])],
    ["a replayed item of a completed run", item(completedRun, [target])],
    ["a replayed run message of a completed run", { kind: "run", tenantId: tenant.tenantId, runId: completedRun }],
  ];
  const auditLogOn = tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled;
  stack.emulator.calls.reset();
  for (const [name, message] of hostile) {
    const before = await rejectedCount();
    await handleWorkMessage(app, message, logger);
    assert.equal(await rejectedCount(), before + 1, `${name}: recorded as rejected`);
  }
  assert.deepEqual(exchangeWrites(), [], "no write reached Exchange");
  assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, auditLogOn);

  // The poison handler is as strict: a hostile message there is rejected too, never recorded as outcomes.
  const before = await rejectedCount();
  await processPoisonMessage(app, commands, logger);
  assert.equal(await rejectedCount(), before + 1);
  assert.deepEqual(exchangeWrites(), []);
  await drain(); // the plan run finishes and frees the tenant
  assert.equal((await app.runState.get(tenant.tenantId, active.runId))?.status, "completed");
});

test("a dispatched item whose targets were altered on the queue is rejected; the genuine one still completes the run", async () => {
  for (const mailbox of [...tenant.mailboxes.values()].slice(0, 10)) mailbox.AuditEnabled = false;
  const { runId } = await startRun(app, { tenantId: tenant.tenantId, mode: "apply", full: true, trigger: "http" }, logger);
  const { receivedMessageItems: [runMessage] } = await queue.receiveMessages({ numberOfMessages: 1 });
  assert.ok(runMessage);
  await handleWorkMessage(app, JSON.parse(Buffer.from(runMessage.messageText, "base64").toString("utf8")), logger);
  await queue.deleteMessage(runMessage.messageId, runMessage.popReceipt);
  const { receivedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 }).then((peek) => ({ receivedMessageItems: peek.peekedMessageItems }));
  const genuine = JSON.parse(Buffer.from(receivedMessageItems[0]?.messageText ?? "", "base64").toString("utf8")) as { targetIds: string[] };
  const other = [...tenant.mailboxes.values()].map((mailbox) => mailbox.ExternalDirectoryObjectId).find((id) => !genuine.targetIds.includes(id)) ?? "";
  stack.emulator.calls.reset();
  const before = await rejectedCount();
  await handleWorkMessage(app, { ...genuine, targetIds: [...genuine.targetIds.slice(1), other] }, logger);
  assert.equal(await rejectedCount(), before + 1);
  assert.deepEqual(exchangeWrites(), []);
  await drain();
  const record = await app.runState.get(tenant.tenantId, runId);
  assert.equal(record?.status, "completed");
  assert.deepEqual(tenantGaps(tenant), []);
});

test("a worker that dies mid fan-out, and the redelivered run message, lose nothing and write nothing twice", async () => {
  const drifted = [...tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails !== "GroupMailbox").slice(0, 45);
  for (const mailbox of drifted) mailbox.AuditEnabled = false;
  const { runId } = await startRun(app, { tenantId: tenant.tenantId, mode: "apply", full: true, trigger: "timer" }, logger);
  const { receivedMessageItems: [runMessage] } = await queue.receiveMessages({ numberOfMessages: 1 });
  assert.ok(runMessage);
  const message = JSON.parse(Buffer.from(runMessage.messageText, "base64").toString("utf8")) as unknown;

  // First attempt: the process dies while handing items out (its second send never returns).
  let sends = 0;
  const dying: RunsApp = { ...app, queue: { send: (item) => (++sends <= 1 ? app.queue.send(item) : new Promise(() => undefined)) } };
  void handleWorkMessage(dying, message, logger);
  while (sends < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal((await app.runState.get(tenant.tenantId, runId))?.status, "running");

  // The host redelivers the run message to a healthy worker; then every item is worked off.
  stack.emulator.calls.reset();
  await handleWorkMessage(app, message, logger);
  await queue.deleteMessage(runMessage.messageId, runMessage.popReceipt);
  await drain();

  const record = await app.runState.get(tenant.tenantId, runId);
  assert.equal(record?.status, "completed");
  assert.equal(record?.summary?.counts.failed, 0);
  assert.equal(record?.summary?.counts.remediated, drifted.length, "every drifted mailbox has its outcome");
  assert.deepEqual(tenantGaps(tenant), []);
  const writes = stack.emulator.calls.records.filter((call) => call.cmdlet === "Set-Mailbox").map((call) => String(call.parameters["Identity"]));
  assert.equal(new Set(writes).size, writes.length, "no mailbox written twice");
  assert.deepEqual(await app.runState.pendingItems(tenant.tenantId, runId), []);
});

test("a fanned-out apply hands its workers' digest entries to the finaliser: the next full sweep records no mailbox again", async () => {
  const drifted = [...tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails !== "GroupMailbox").slice(0, 30);
  for (const mailbox of drifted) mailbox.AuditEnabled = false;
  const { store } = await app.runtimeFor(tenant.tenantId);
  const recorded: string[] = [];
  const recordOutcomes = store.recordOutcomes.bind(store);
  store.recordOutcomes = (tenantId, runId, runStartedAt, outcomes) => {
    recorded.push(...outcomes.filter((outcome) => outcome.kind === "mailbox").map((outcome) => outcome.targetId));
    return recordOutcomes(tenantId, runId, runStartedAt, outcomes);
  };
  try {
    const applied = await app.runState.get(tenant.tenantId, await runToCompletion());
    assert.equal(applied?.status, "completed");
    assert.equal(applied?.summary?.counts.remediated, drifted.length, "every change went through a work item (threshold 0)");
    for (const mailbox of drifted) assert.ok(recorded.includes(mailbox.ExternalDirectoryObjectId ?? ""), "the workers recorded their targets");
    assert.deepEqual(tenantGaps(tenant), []);

    recorded.length = 0;
    const sweep = await app.runState.get(tenant.tenantId, await runToCompletion());
    assert.equal(sweep?.status, "completed");
    assert.equal(sweep?.summary?.counts.remediated, 0);
    assert.deepEqual(recorded, [], "no mailbox recorded again: the workers' states are in the digest");
  } finally {
    store.recordOutcomes = recordOutcomes;
  }
});
