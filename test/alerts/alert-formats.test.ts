import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideAlerts, type Alert } from "../../shared/alerts/alert-decision";
import { emailChannel, formatAlertEmail, type AlertMailMessage } from "../../shared/alerts/email-channel";
import { formatWebhookBody, type GenericWebhookBody } from "../../shared/alerts/webhook-formats";
import { failed, failingState, mailbox, NOW, summary, TENANT } from "./fixtures";
import { assertEvery } from "../support/assertions";

function alertOf(failures: number, extra: Parameters<typeof decideAlerts>[0]["outcomes"] = []): Alert {
  const outcomes = [
    ...Array.from({ length: failures }, (_, index) => failed(`m${String(index).padStart(3, "0")}`)),
    ...extra,
  ];
  const decision = decideAlerts({
    previous: [failingState("back", { webhook: NOW })],
    outcomes: [...outcomes, mailbox("back", "compliant")],
    summary: summary({ runId: "run-42" }),
    now: NOW,
    channels: ["webhook"],
    settings: { reportBaseUrl: "https://audit.example.net" },
  });
  const alert = decision.alerts[0]?.alert;
  assert.ok(alert);
  return alert;
}

const REPORT_URL = `https://audit.example.net/api/report?format=html&tenant=${TENANT}`;

describe("webhook formats", () => {
  it("teams: an Adaptive Card in attachments, with the failure, Exchange's error and the report action", () => {
    const body = formatWebhookBody("teams", alertOf(1)) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { text: string }[]; actions: { url: string }[] };
      }[];
    };
    assert.equal(body.type, "message");
    assert.equal(body.attachments.length, 1);
    const attachment = body.attachments[0]!;
    assert.equal(attachment.contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(attachment.content.type, "AdaptiveCard");
    const texts = attachment.content.body.map((block) => block.text).join("\n");
    assert.match(texts, /tenant 6f1c2a3b-0000-4000-8000-000000000001: 1 new failure, 1 recovered/);
    assert.match(texts, /Run run-42 \(apply, full\).*compliant 5, failed 1/);
    assert.match(
      texts,
      /\[New failure\] mailbox m000@contoso\.com \(m000\): AccessDenied HTTP 403: Access to m000 is denied\. \(request id req-m000\)/,
    );
    assert.match(texts, /\[Recovered\] mailbox back@contoso\.com \(back\): now compliant/);
    assert.deepEqual(
      attachment.content.actions.map((action) => action.url),
      [REPORT_URL],
    );
  });

  it("slack: text plus mrkdwn sections, escaped, with the report link", () => {
    const alert = alertOf(0, [failed("x", { displayName: "<script>&co" })]);
    const body = formatWebhookBody("slack", alert) as {
      text: string;
      blocks: { type: string; text: { type: string; text: string } }[];
    };
    assert.match(body.text, /1 new failure/);
    const all = body.blocks.map((block) => block.text.text).join("\n");
    assertEvery(body.blocks, (block) => block.type === "section" && block.text.type === "mrkdwn", "slack blocks");
    assert.match(all, /&lt;script&gt;&amp;co/);
    assert.doesNotMatch(all, /<script>/);
    assert.ok(all.includes(`<${REPORT_URL}|Open report>`));
  });

  it("generic: the structured alert", () => {
    const body = formatWebhookBody("generic", alertOf(2)) as GenericWebhookBody;
    assert.equal(body.schema, "mailbox-audit-alert/v1");
    assert.equal(body.runId, "run-42");
    assert.equal(body.tenantId, TENANT);
    assert.equal(body.reportUrl, REPORT_URL);
    assert.deepEqual(body.changes, { new: 2, stillFailing: 0, recovered: 1 });
    assert.equal(body.events.length, 3);
    assert.equal(body.omittedEvents, 0);
    assert.equal(body.events[0]?.error?.requestId, "req-m000");
  });

  it("bounded: the first 50 targets and how many more, in every format", () => {
    const alert = alertOf(120);
    const generic = formatWebhookBody("generic", alert) as GenericWebhookBody;
    assert.equal(generic.events.length, 50);
    assert.equal(generic.omittedEvents, 71);
    for (const format of ["teams", "slack"] as const) {
      const text = JSON.stringify(formatWebhookBody(format, alert));
      assert.match(text, /and 71 more/, format);
      assert.ok(text.includes("m049@contoso.com"), format);
      assert.ok(!text.includes("m050@contoso.com"), format);
    }
    const slack = formatWebhookBody("slack", alert) as { blocks: { text: { text: string } }[] };
    assertEvery(slack.blocks, (block) => block.text.text.length <= 3000, "slack block text within 3000 characters");
    assert.equal(
      JSON.stringify(formatWebhookBody("teams", alert, { maxListedEvents: 5 })).match(/\[New failure\]/g)?.length,
      5,
    );
  });

  it("cuts a very long Exchange error text", () => {
    const alert = alertOf(0, [failed("x", { error: { code: "Boom", message: "y".repeat(10_000) } })]);
    assert.ok(JSON.stringify(formatWebhookBody("teams", alert)).length < 3000);
  });
});

describe("email format and channel", () => {
  it("HTML body with escaped content, subject, recipients and the report link", () => {
    const alert = alertOf(0, [failed("x", { displayName: "Eve <eve@contoso.com>" })]);
    const message = formatAlertEmail(alert, ["soc@contoso.com"]);
    assert.match(message.subject, /1 new failure/);
    assert.equal(message.body.contentType, "HTML");
    assert.deepEqual(message.toRecipients, ["soc@contoso.com"]);
    assert.ok(message.body.content.includes("Eve &lt;eve@contoso.com&gt;"));
    assert.ok(!message.body.content.includes("<eve@"));
    assert.ok(message.body.content.includes(`<a href="${REPORT_URL.replace("&", "&amp;")}">`));
    assert.ok(message.body.content.includes("request id req-x"));
  });

  it("sends through the MailSender port from the configured mailbox", async () => {
    const sent: { from: string; message: AlertMailMessage }[] = [];
    const channel = emailChannel({
      sender: {
        sendMail: (from, message) => {
          sent.push({ from, message });
          return Promise.resolve();
        },
      },
      from: "alerts@contoso.com",
      to: ["soc@contoso.com", "it@contoso.com"],
      maxListedEvents: 2,
    });
    assert.equal(channel.name, "email");
    await channel.deliver(alertOf(5));
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.from, "alerts@contoso.com");
    assert.deepEqual(sent[0]?.message.toRecipients, ["soc@contoso.com", "it@contoso.com"]);
    assert.match(sent[0]?.message.body.content ?? "", /and 4 more/);
  });

  it("refuses a channel without recipients", () => {
    assert.throws(
      () => emailChannel({ sender: { sendMail: async () => {} }, from: "a@contoso.com", to: [] }),
      TypeError,
    );
  });
});
