/**
 * Acceptance: the run functions driven directly (HTTP, timer, queue handlers) against in-process Azurite and the
 * tenant emulator, through the production runtime built from the environment.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { RunSummary } from "../../shared/domain/outcome";
import { randomUUID } from "node:crypto";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { QueueClient } from "@azure/storage-queue";
import { generateTenant } from "../../emulator/generate";
import { startLocalStack, type LocalStack } from "../../emulator/local-stack";
import { getRun, postRun } from "../../functions/runs-http";
import { nightlyTimer } from "../../functions/nightly-timer";
import { workQueue, workQueuePoison } from "../../functions/work-queue";
import { resetRunsApp, runsApp } from "../../shared/runs/runs-app";
import { QUEUE_NAMES } from "../../shared/storage/storage-layout";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

const tenant = generateTenant({ seed: 7, counts: { user: 24, shared: 4, room: 2 }, driftShare: 0.5 });
const mailFrom = [...tenant.users.values()][0]?.userPrincipalName ?? "";
let stack: LocalStack;
let receiver: WebhookReceiver;
let restoreEnv: () => void;
let queue: QueueClient;
/** The leases' clock runs this far ahead of the wall clock: a test expires a lease by moving it, never by sleeping. */
let leaseClockAheadInMs = 0;

before(async () => {
  stack = await startLocalStack({ tenant });
  receiver = await startWebhookReceiver();
  restoreEnv = stack.applyEnv();
  Object.assign(process.env, {
    LOG_LEVEL: "silent",
    RUN_FANOUT_THRESHOLD: "0",
    ALERT_WEBHOOK_SECRET_NAME: "alert-webhook-url",
    ALERT_WEBHOOK_URL: receiver.url,
    ALERT_WEBHOOK_FORMAT: "generic",
    ALERT_MAIL_FROM: mailFrom,
    ALERT_MAIL_TO: "soc@contoso.com",
  });
  resetRunsApp({ leaseClock: () => new Date(Date.now() + leaseClockAheadInMs) });
  queue = new QueueClient(stack.azurite.connectionString, QUEUE_NAMES.workItems);
});

after(async () => {
  for (const name of ["LOG_LEVEL", "RUN_FANOUT_THRESHOLD", "ALERT_WEBHOOK_SECRET_NAME", "ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_FORMAT", "ALERT_MAIL_FROM", "ALERT_MAIL_TO"]) delete process.env[name];
  restoreEnv();
  resetRunsApp();
  await receiver.close();
  await stack.stop();
});

function context(functionName: string, dequeueCount = 1): InvocationContext {
  return new InvocationContext({ invocationId: randomUUID(), functionName, triggerMetadata: { dequeueCount } });
}

function post(body: string | object, headers: Record<string, string> = {}): Promise<HttpResponseInit> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return postRun(new HttpRequest({ method: "POST", url: "https://app.example/api/runs", body: { string: text }, headers: { "content-type": "application/json", ...headers } }), context("runs-post"));
}

interface RunStatusBody {
  readonly status?: string;
  readonly summary: RunSummary;
  readonly [key: string]: unknown;
}

async function status(runId: string): Promise<{ status: number; body: RunStatusBody }> {
  const response = await getRun(new HttpRequest({ method: "GET", url: `https://app.example/api/runs/${runId}`, params: { runId } }), context("runs-get"));
  return { status: response.status ?? 200, body: response.jsonBody as RunStatusBody };
}

/** Reads every message (as the trigger would: base64 JSON) and hands it to the queue handler until the queue is empty. */
async function drain(options: { skip?: (message: Record<string, unknown>) => boolean } = {}): Promise<number> {
  let handled = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return handled;
    for (const item of receivedMessageItems) {
      const message = JSON.parse(Buffer.from(item.messageText, "base64").toString("utf8")) as Record<string, unknown>;
      if (!options.skip?.(message)) {
        await workQueue(message, context("work-queue", item.dequeueCount));
        handled += 1;
      }
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

function driftedMailboxes(): number {
  return [...tenant.mailboxes.values()].filter((mailbox) => !mailbox.AuditEnabled).length;
}

test("on demand: 202 with a status URL, a second request gets 409, the drained run completes with counts, one alert and one mail", async () => {
  const drifted = driftedMailboxes();
  assert.ok(drifted > 0);
  // A non-retryable rejection keeps the test fast (a 500 is retried with backoff by the transport, per write).
  stack.emulator.faults.add({ cmdlet: "Set-Mailbox", status: 400, text: "Rejected by the test", times: 1000 });
  const accepted = await post({ mode: "apply", scope: "tenant" });
  assert.equal(accepted.status, 202);
  const { runId, statusUrl } = accepted.jsonBody as { runId: string; statusUrl: string };
  assert.equal((accepted.headers as Record<string, string>)["location"], statusUrl);
  assert.ok(statusUrl.endsWith(`/api/runs/${encodeURIComponent(runId)}`));

  const refused = await post({ mode: "plan", scope: "tenant" });
  assert.equal(refused.status, 409);
  assert.equal((refused.jsonBody as { runId: string }).runId, runId);

  assert.ok((await drain()) > 1, "the run message and its work items");
  const { body } = await status(runId);
  assert.equal(body["status"], "completed", "targets failed, but the run itself completed and alerted");
  assert.ok(body.summary.counts.failed >= drifted, "every mailbox write failed");
  assert.equal(body.summary.counts.remediated, 0, "no mailbox remediated");
  assert.equal(receiver.accepted.length, 1, "one webhook alert");
  assert.equal(tenant.sentMail.length, 1, "one Graph mail");
  assert.deepEqual(body.summary.trigger, { kind: "http", by: "function key" }, "who started the run is recorded with it");
  // The mail carries the HTML report, with this run's failure in it.
  const mail = tenant.sentMail[0]?.message as { attachments?: { name: string; contentBytes: string }[] };
  const report = Buffer.from(mail.attachments?.[0]?.contentBytes ?? "", "base64").toString("utf8");
  assert.match(mail.attachments?.[0]?.name ?? "", /^mailbox-audit-report-.+-\d{4}-\d{2}-\d{2}\.html$/);
  assert.match(report, /<tr class="failure">[\s\S]*Rejected by the test/);
});

test("the next night, with nothing changed, raises no second alert; a past-due timer still runs once", async () => {
  await nightlyTimer({ isPastDue: true, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } }, context("nightly-timer"));
  assert.ok((await drain()) >= 1);
  assert.equal(receiver.accepted.length, 1);
  assert.equal(tenant.sentMail.length, 1);
});

test("a poisoned work item is recorded as failures of its mailboxes and the run still finalises", async () => {
  const accepted = await post({ mode: "apply", scope: "tenant" });
  assert.equal(accepted.status, 202);
  const { runId } = accepted.jsonBody as { runId: string };
  const poisoned: Record<string, unknown>[] = [];
  await drain({ skip: (message) => message["kind"] === "changes" && poisoned.push(message) > 0 });
  assert.ok(poisoned.length > 0);
  assert.equal((await status(runId)).body["status"], "dispatched");
  for (const message of poisoned) await workQueuePoison(message, context("work-queue-poison"));
  const { body } = await status(runId);
  assert.equal(body["status"], "completed");
  const changes = poisoned.reduce((sum, message) => sum + (message["targetIds"] as unknown[]).length, 0);
  assert.equal(body.summary.counts.failed, changes);
});

test("a killed run's lease expires and the next run finishes the work", async () => {
  stack.emulator.faults.clear();
  const first = await post({ mode: "apply", scope: "tenant" });
  const { runId: deadRunId } = first.jsonBody as { runId: string };
  await drain({ skip: () => true }); // the worker died: its messages are lost
  assert.equal((await post({ mode: "apply", scope: "tenant" })).status, 409);
  leaseClockAheadInMs += (await runsApp()).config.runs.leaseTtlInMs + 1_000; // the dead run's lease (900 s) has expired
  const second = await post({ mode: "apply", scope: "tenant" });
  assert.equal(second.status, 202);
  await drain();
  const { body } = await status((second.jsonBody as { runId: string }).runId);
  assert.equal(body["status"], "completed");
  assert.ok(body.summary.counts.remediated > 0);
  assert.equal(body.summary.counts.failed, 0);
  assert.equal((await status(deadRunId)).body["status"], "abandoned");
});
