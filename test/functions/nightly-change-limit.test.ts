/**
 * A safe first night: the nightly apply stops at NIGHTLY_CHANGE_LIMIT, reports the rest as drift and alerts that an
 * operator must approve; an on-demand apply with a larger `changeLimit` finishes the job and the alert recovers.
 * Driven through the Function handlers against in-process Azurite and the tenant emulator.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HttpRequest, InvocationContext, type Timer } from "@azure/functions";
import { QueueClient } from "@azure/storage-queue";
import { generateTenant } from "../../emulator/generate";
import { startLocalStack, type LocalStack } from "../../emulator/local-stack";
import { nightlyRunRequest, nightlyTimer } from "../../functions/nightly-timer";
import { getRun, postRun } from "../../functions/runs-http";
import { workQueue } from "../../functions/work-queue";
import type { AlertEvent } from "../../shared/alerts/alert-decision";
import type { RunSummary } from "../../shared/domain/outcome";
import { CHANGE_LIMIT_TARGET_ID } from "../../shared/runs/change-limit-alert";
import { resetRunsApp } from "../../shared/runs/runs-app";
import { QUEUE_NAMES } from "../../shared/storage/storage-layout";
import { tenantGaps } from "../e2e/stack";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

const LIMIT = 3;
const ENV = { LOG_LEVEL: "silent", NIGHTLY_CHANGE_LIMIT: String(LIMIT), ALERT_WEBHOOK_SECRET_NAME: "alert-webhook-url", ALERT_WEBHOOK_FORMAT: "generic" };
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

function context(functionName: string): InvocationContext {
  return new InvocationContext({ invocationId: randomUUID(), functionName, triggerMetadata: { dequeueCount: 1 } });
}

describe("nightlyRunRequest", () => {
  it("an apply carries the change limit; a plan does not (it writes nothing)", () => {
    assert.deepEqual(nightlyRunRequest({ mode: "apply", changeLimit: 500 }, "t"), { tenantId: "t", mode: "apply", full: false, trigger: "timer", changeLimit: 500 });
    assert.deepEqual(nightlyRunRequest({ mode: "apply" }, "t"), { tenantId: "t", mode: "apply", full: false, trigger: "timer" });
    assert.deepEqual(nightlyRunRequest({ mode: "plan", changeLimit: 500 }, "t"), { tenantId: "t", mode: "plan", full: false, trigger: "timer" });
  });
});

describe("a nightly apply past NIGHTLY_CHANGE_LIMIT", () => {
  const tenant = generateTenant({ seed: 21, counts: { user: 10 }, driftShare: 0.5, orgAuditDisabled: true });
  let stack: LocalStack;
  let receiver: WebhookReceiver;
  let restoreEnv: () => void;
  let queue: QueueClient;

  before(async () => {
    stack = await startLocalStack({ tenant });
    receiver = await startWebhookReceiver();
    restoreEnv = stack.applyEnv();
    Object.assign(process.env, ENV, { ALERT_WEBHOOK_URL: receiver.url });
    resetRunsApp();
    queue = new QueueClient(stack.azurite.connectionString, QUEUE_NAMES.workItems);
  });

  after(async () => {
    for (const name of [...Object.keys(ENV), "ALERT_WEBHOOK_URL"]) delete process.env[name];
    restoreEnv();
    resetRunsApp();
    await receiver.close();
    await stack.stop();
  });

  /** Hands every queued message to the queue handler until the queue is empty. */
  async function drain(): Promise<void> {
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      if (receivedMessageItems.length === 0) return;
      for (const item of receivedMessageItems) {
        await workQueue(JSON.parse(Buffer.from(item.messageText, "base64").toString("utf8")), context("work-queue"));
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  /** The last alert: its run's status and the change limit's event. */
  async function lastAlert(): Promise<{ run: { status: string; changeLimit?: number; summary: RunSummary }; event?: AlertEvent }> {
    const body = receiver.accepted.at(-1)?.body as { runId: string; events: AlertEvent[] };
    const response = await getRun(new HttpRequest({ method: "GET", url: `https://app.example/api/runs/${body.runId}`, params: { runId: body.runId } }), context("runs-get"));
    return {
      run: response.jsonBody as { status: string; changeLimit?: number; summary: RunSummary },
      event: body.events.find((candidate) => candidate.targetId === CHANGE_LIMIT_TARGET_ID),
    };
  }

  it("changes at most the limit, leaves the rest drift, and alerts that an operator must approve", async () => {
    await nightlyTimer(timer, context("nightly-timer"));
    await drain();
    const { run, event } = await lastAlert();
    assert.equal(run.status, "completed");
    assert.equal(run.changeLimit, LIMIT);
    assert.equal(run.summary.counts.remediated, LIMIT);
    assert.ok((run.summary.changesHeldBack ?? 0) > 0);
    assert.ok(run.summary.counts.drift >= (run.summary.changesHeldBack ?? 0));
    assert.equal(event?.change, "new");
    assert.equal(event?.error?.code, "ChangeLimitReached");
    assert.match(event?.error?.message ?? "", new RegExp(`^The change limit of ${LIMIT} held back ${run.summary.changesHeldBack} targets`));
    assert.ok(tenantGaps(tenant).length > 0, "the rest is left as it was");
  });

  it("an on-demand apply with a larger changeLimit finishes the job and the alert recovers", async () => {
    const response = await postRun(
      new HttpRequest({
        method: "POST",
        url: "https://app.example/api/runs",
        body: { string: JSON.stringify({ mode: "apply", scope: "tenant", changeLimit: 10_000 }) },
        headers: { "content-type": "application/json" },
      }),
      context("runs-post"),
    );
    assert.equal(response.status, 202, JSON.stringify(response.jsonBody));
    await drain();
    const { run, event } = await lastAlert();
    assert.equal(run.status, "completed");
    assert.equal(run.changeLimit, 10_000);
    assert.equal(run.summary.changesHeldBack, undefined);
    assert.equal(event?.change, "recovered");
    assert.deepEqual(tenantGaps(tenant), []);
  });
});
