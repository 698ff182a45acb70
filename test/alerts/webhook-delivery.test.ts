import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { AlertDeliveryError, type AlertChannel } from "../../shared/alerts/alert-channel";
import { decideAlerts, type Alert } from "../../shared/alerts/alert-decision";
import { deliverRunAlerts, type AlertLogger } from "../../shared/alerts/deliver-run-alerts";
import { emailChannel, type AlertMailMessage } from "../../shared/alerts/email-channel";
import { MemoryAlertStateStore } from "../../shared/alerts/memory-alert-state-store";
import type { AlertStateStore } from "../../shared/alerts/alert-state-store";
import { cachedSecretSource, type SecretSource } from "../../shared/alerts/secret-source";
import { webhookChannel, type WebhookChannelOptions } from "../../shared/alerts/webhook-channel";
import type { GenericWebhookBody } from "../../shared/alerts/webhook-formats";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";
import { daysAgo, failed, mailbox, NOW, summary, TENANT } from "./fixtures";
import { assertEvery } from "../support/assertions";

const SECRET_NAME = "alert-webhook-url";

function secretsFor(url: string): SecretSource {
  return { getSecret: async (name) => (name === SECRET_NAME ? url : Promise.reject(new Error(`no secret ${name}`))) };
}

function anAlert(): Alert {
  const alert = decideAlerts({
    previous: [],
    outcomes: [failed("a")],
    summary: summary(),
    now: NOW,
    channels: ["webhook"],
  }).alerts[0]?.alert;
  assert.ok(alert);
  return alert;
}

/** Records log calls so tests can check nothing secret was logged. */
function recordingLogger(): AlertLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (details: object, message: string) =>
    void lines.push(`${level} ${message} ${JSON.stringify(details)}`);
  return { lines, info: record("info"), warn: record("warn"), error: record("error") };
}

describe("webhook channel", () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(() => receiver.close());
  beforeEach(() => receiver.clear());

  const channel = (overrides: Partial<WebhookChannelOptions> = {}): AlertChannel =>
    webhookChannel({
      secrets: secretsFor(receiver.url),
      secretName: SECRET_NAME,
      format: "generic",
      retryDelayInMs: 1,
      ...overrides,
    });

  it("POSTs the formatted JSON to the URL from the secret source", async () => {
    await channel().deliver(anAlert());
    assert.equal(receiver.posts.length, 1);
    const post = receiver.posts[0]!;
    assert.equal(post.path, new URL(receiver.url).pathname);
    assert.match(String(post.headers["content-type"]), /application\/json/);
    assert.equal((post.body as GenericWebhookBody).runId, "run-1");
    assert.equal((post.body as GenericWebhookBody).events[0]?.targetId, "a");
  });

  it("posts the Teams format when configured", async () => {
    await channel({ format: "teams" }).deliver(anAlert());
    assert.equal((receiver.posts[0]?.body as { attachments: unknown[] }).attachments.length, 1);
  });

  it("a non-2xx is a delivery failure whose error does not contain the URL", async () => {
    receiver.failNext(1, 400);
    const error = await channel()
      .deliver(anAlert())
      .then(
        () => assert.fail("expected a failure"),
        (caught: unknown) => caught,
      );
    assert.ok(error instanceof AlertDeliveryError);
    assert.equal(error.status, 400);
    assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(new URL(receiver.url).pathname));
  });

  it("retries a 5xx within the retry budget", async () => {
    receiver.failNext(1, 503);
    await channel({ maxRetries: 2 }).deliver(anAlert());
    assert.deepEqual(
      receiver.posts.map((post) => post.status),
      [503, 200],
    );
  });

  it("gives up after the retry budget", async () => {
    receiver.failNext(3, 500);
    await assert.rejects(
      channel({ maxRetries: 1 }).deliver(anAlert()),
      (error: unknown) => error instanceof AlertDeliveryError && error.status === 500,
    );
    assert.equal(receiver.posts.length, 2);
  });

  it("a receiver that does not answer in time is a delivery failure", async () => {
    receiver.stallNext(1);
    await assert.rejects(
      channel({ timeoutInMs: 200, maxRetries: 0 }).deliver(anAlert()),
      (error: unknown) => error instanceof AlertDeliveryError && error.code === "Timeout",
    );
  });

  it("refuses plain HTTP to anything but loopback", async () => {
    const insecure = webhookChannel({
      secrets: secretsFor("http://hooks.example.com/secret-token"),
      secretName: SECRET_NAME,
      format: "generic",
    });
    await assert.rejects(
      insecure.deliver(anAlert()),
      (error: unknown) => error instanceof AlertDeliveryError && error.code === "InsecureWebhookUrl",
    );
  });

  it("no listener: a delivery failure with a code and without the URL", async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    const error = await webhookChannel({
      secrets: secretsFor(closed.url),
      secretName: SECRET_NAME,
      format: "generic",
      maxRetries: 0,
    })
      .deliver(anAlert())
      .then(
        () => assert.fail("expected a failure"),
        (caught: unknown) => caught,
      );
    assert.ok(error instanceof AlertDeliveryError);
    assert.equal(error.status, undefined);
    assert.ok(error.code.length > 0);
    assert.ok(!error.message.includes("/hook/"));
  });

  it("reads the URL through the cached secret source once per TTL", async () => {
    let reads = 0;
    const secrets = cachedSecretSource(
      { getSecret: () => ((reads += 1), Promise.resolve(receiver.url)) },
      { ttlInMs: 60_000 },
    );
    const cachedChannel = webhookChannel({ secrets, secretName: SECRET_NAME, format: "generic" });
    await cachedChannel.deliver(anAlert());
    await cachedChannel.deliver(anAlert());
    assert.equal(reads, 1);
    assert.equal(receiver.posts.length, 2);
  });
});

describe("deliverRunAlerts", () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(() => receiver.close());
  beforeEach(() => receiver.clear());

  function setup(options: { mailFails?: () => boolean; store?: AlertStateStore } = {}) {
    const mail: AlertMailMessage[] = [];
    const logger = recordingLogger();
    const store = options.store ?? new MemoryAlertStateStore();
    const channels = [
      webhookChannel({ secrets: secretsFor(receiver.url), secretName: SECRET_NAME, format: "generic", maxRetries: 0 }),
      emailChannel({
        sender: {
          sendMail: (_from, message) => {
            if (options.mailFails?.()) {
              return Promise.reject(
                Object.assign(new Error("Graph refused"), { code: "ErrorAccessDenied", requestId: "g-1" }),
              );
            }
            mail.push(message);
            return Promise.resolve();
          },
        },
        from: "alerts@contoso.com",
        to: ["soc@contoso.com"],
      }),
    ];
    const run = (outcomes = [failed("a"), failed("b"), mailbox("c", "compliant")], now = NOW, runId = "run-1") =>
      deliverRunAlerts({ store, channels, logger }, { summary: summary({ runId }), outcomes, now });
    return { mail, logger, store, run };
  }

  it("one message per channel per run; a second identical run sends nothing", async () => {
    const { mail, run } = setup();
    const first = await run();
    assert.equal(first.alertingFailed, false);
    assert.deepEqual(first.deliveries, [
      { channel: "webhook", eventCount: 2, delivered: true },
      { channel: "email", eventCount: 2, delivered: true },
    ]);
    assert.equal(receiver.posts.length, 1);
    assert.equal(mail.length, 1);

    const second = await run(undefined, daysAgo(-1), "run-2");
    assert.deepEqual(second, { alertingFailed: false, deliveries: [] });
    assert.equal(receiver.posts.length, 1);
    assert.equal(mail.length, 1);
  });

  it("a failed webhook reports alerting failed and leaves the state so the next run retries", async () => {
    const { logger, run } = setup();
    receiver.failNext(1, 500);
    const first = await run();
    assert.equal(first.alertingFailed, true);
    assert.deepEqual(
      first.deliveries.map((delivery) => [delivery.channel, delivery.delivered]),
      [
        ["webhook", false],
        ["email", true],
      ],
    );
    assert.ok(
      logger.lines.some((line) => line.startsWith("warn Alert delivery failed") && line.includes('"status":500')),
    );
    assert.ok(
      logger.lines.every((line) => !line.includes(new URL(receiver.url).pathname)),
      "the webhook URL is never logged",
    );

    const second = await run(undefined, NOW, "run-2");
    assert.equal(second.alertingFailed, false);
    assert.deepEqual(second.deliveries, [{ channel: "webhook", eventCount: 2, delivered: true }]);
    assert.deepEqual(
      (receiver.accepted[0]?.body as GenericWebhookBody).events.map((event) => `${event.change} ${event.targetId}`),
      ["new a", "new b"],
    );
  });

  it("webhook worked and mail failed: only mail is retried next run", async () => {
    let mailFails = true;
    const { mail, logger, run } = setup({ mailFails: () => mailFails });
    const first = await run();
    assert.equal(first.alertingFailed, true);
    assert.ok(logger.lines.some((line) => line.includes("ErrorAccessDenied") && line.includes('"requestId":"g-1"')));
    assert.equal(receiver.posts.length, 1);

    mailFails = false;
    const second = await run(undefined, NOW, "run-2");
    assert.equal(second.alertingFailed, false);
    assert.deepEqual(
      second.deliveries.map((delivery) => delivery.channel),
      ["email"],
    );
    assert.equal(receiver.posts.length, 1);
    assert.equal(mail.length, 1);
  });

  it("recovery and reminders flow through the channels", async () => {
    const { run } = setup();
    await run();
    receiver.clear();
    const later = daysAgo(-3);
    const result = await run([failed("a"), mailbox("b", "remediated")], later, "run-2");
    assert.equal(result.alertingFailed, false);
    const body = receiver.accepted[0]?.body as GenericWebhookBody;
    assert.deepEqual(
      body.events.map((event) => `${event.change} ${event.targetId}`),
      ["still-failing a", "recovered b"],
    );
    assert.equal(body.tenantId, TENANT);
  });

  it("a run-level failure is alerted", async () => {
    const result = await deliverRunAlerts(
      {
        store: new MemoryAlertStateStore(),
        channels: [webhookChannel({ secrets: secretsFor(receiver.url), secretName: SECRET_NAME, format: "generic" })],
        logger: recordingLogger(),
      },
      {
        summary: summary({ error: { code: "ObserveFailed", message: "Get-Mailbox failed", requestId: "x-1" } }),
        outcomes: [],
        now: NOW,
      },
    );
    assert.equal(result.alertingFailed, false);
    const body = receiver.accepted[0]?.body as GenericWebhookBody;
    assert.equal(body.runError?.code, "ObserveFailed");
    assert.deepEqual(
      body.events.map((event) => `${event.change} ${event.kind}`),
      ["new run"],
    );
  });

  it("an unreadable state store: alerting failed, nothing sent", async () => {
    const store: AlertStateStore = {
      list: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("table unavailable")) }),
      }),
      update: () => assert.fail("must not write"),
    };
    const { run, logger } = setup({ store });
    const result = await run();
    assert.deepEqual(result, { alertingFailed: true, deliveries: [] });
    assert.equal(receiver.posts.length, 0);
    assert.ok(logger.lines.some((line) => line.startsWith("error Could not read the alert state")));
  });

  it("a state store that cannot write after delivery: alerting failed", async () => {
    const memory = new MemoryAlertStateStore();
    const store: AlertStateStore = {
      list: (tenantId) => memory.list(tenantId),
      update: async () => Promise.reject(new Error("412")),
    };
    const { run } = setup({ store });
    const result = await run();
    assert.equal(result.alertingFailed, true);
    assertEvery(result.deliveries, (delivery) => delivery.delivered, "deliveries");
  });
});
