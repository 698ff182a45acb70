/** Alert mail with the HTML report attached: rendered from the store, sent through the Graph client to the emulator. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { generateTenant } from "../../emulator/generate";
import type { AlertChannel } from "../../shared/alerts/alert-channel";
import { renderAlertReport } from "../../shared/alerts/alert-report";
import { deliverRunAlerts, type AlertLogger } from "../../shared/alerts/deliver-run-alerts";
import { emailChannel, MAX_REPORT_ATTACHMENT_BYTES } from "../../shared/alerts/email-channel";
import { MemoryAlertStateStore } from "../../shared/alerts/memory-alert-state-store";
import { GraphClient } from "../../shared/graph/client";
import { GraphError } from "../../shared/graph/errors";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import { withEmulator } from "../support/emulator";
import { failed, mailbox, NOW, summary } from "./fixtures";

interface SentAttachment {
  readonly "@odata.type": string;
  readonly name: string;
  readonly contentType: string;
  readonly contentBytes: string;
}

interface SentMessage {
  readonly body: { readonly content: string };
  readonly attachments?: readonly SentAttachment[];
}

const REPORT_BASE_URL = "https://audit.example.net";

function silentLogger(): AlertLogger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (_details, message) => void warnings.push(message), error: () => {} };
}

describe("alert mail carries the HTML report", async () => {
  const tenant = generateTenant({ seed: 11, counts: { user: 3 } });
  const emulator = await withEmulator(tenant);
  Object.assign(process.env, emulator.env());
  const graph = new GraphClient({
    tenantId: emulator.tenantId,
    baseUrl: emulator.graphBaseUrl,
    credential: new ManagedIdentityCredential(),
    extraCaPem: emulator.caCertificatePem,
    retryBudget: { baseDelayInMs: 10, maxDelayInMs: 50 },
  });
  const sender = [...tenant.users.values()][0]?.userPrincipalName ?? "";
  const tenantId = emulator.tenantId;
  const run = summary({ tenantId, runId: "run-mail" });
  const outcomes = [failed("a"), mailbox("c", "compliant")];
  const store = new MemoryOutcomeStore();
  await store.recordOutcomes(tenantId, run.runId, run.startedAt, outcomes);

  async function alertWith(report: () => Promise<string>): Promise<{ message: SentMessage; warnings: string[] }> {
    const logger = silentLogger();
    const channels = [emailChannel({ sender: graph, from: sender, to: ["soc@contoso.com"] })];
    const result = await deliverRunAlerts(
      { store: new MemoryAlertStateStore(), channels, logger, settings: { reportBaseUrl: REPORT_BASE_URL }, report },
      { summary: run, outcomes, now: NOW },
    );
    assert.equal(result.alertingFailed, false);
    return { message: tenant.sentMail.at(-1)?.message as SentMessage, warnings: logger.warnings };
  }

  it("attaches the report rendered from the store: a fileAttachment that decodes to the report with the failure", async () => {
    const { message } = await alertWith(() => renderAlertReport(store, tenantId, new Date(NOW)));
    const [attachment, ...others] = message.attachments ?? [];
    assert.ok(attachment);
    assert.equal(others.length, 0);
    assert.equal(attachment["@odata.type"], "#microsoft.graph.fileAttachment");
    assert.equal(attachment.name, `mailbox-audit-report-${tenantId}-2026-03-10.html`);
    assert.equal(attachment.contentType, "text/html");
    const report = Buffer.from(attachment.contentBytes, "base64").toString("utf8");
    assert.match(report, /^<!doctype html>/i);
    assert.match(report, /<\/html>\s*$/);
    assert.ok(report.includes(`Tenant <strong>${tenantId}</strong>`));
    const failureRow = /<tr class="failure">[\s\S]*?<\/tr>/.exec(report)?.[0] ?? "";
    assert.match(failureRow, /a@contoso\.com/);
    assert.match(failureRow, /AccessDenied/);
    assert.match(failureRow, /req-a/);
    assert.ok(message.body.content.includes(`${REPORT_BASE_URL}/api/report?format=html&amp;tenant=${tenantId}`));
    assert.match(message.body.content, /report is attached/);
  });

  it("a report over the inline limit is not attached: the mail carries the link and says why", async () => {
    const { message } = await alertWith(() => Promise.resolve("x".repeat(MAX_REPORT_ATTACHMENT_BYTES + 500_000)));
    assert.equal(message.attachments, undefined);
    assert.match(
      message.body.content,
      /\(3\.5 MB\) is larger than the 3\.0 MB .* not attached: open it with the link above/,
    );
  });

  it("a report that cannot be rendered does not hold the alert back: sent without it, logged once", async () => {
    const { message, warnings } = await alertWith(() => Promise.reject(new Error("table service unavailable")));
    assert.equal(message.attachments, undefined);
    assert.match(message.body.content, /could not be rendered/);
    assert.deepEqual(warnings, ["Could not render the report; alerts go without it"]);
  });

  it("the emulator takes only Graph's file attachment shape, as Graph does", async () => {
    const sentBefore = tenant.sentMail.length;
    const malformed = [
      { name: "r.html", contentBytes: "PGh0bWw+" },
      { "@odata.type": "#microsoft.graph.fileAttachment", contentBytes: "PGh0bWw+" },
      { "@odata.type": "#microsoft.graph.fileAttachment", name: "r.html", contentBytes: "not base64!" },
    ];
    for (const attachment of malformed) {
      const sending = graph.sendMail(sender, {
        subject: "x",
        body: { contentType: "Text", content: "" },
        toRecipients: ["soc@contoso.com"],
        attachments: [attachment],
      });
      await assert.rejects(sending, (error: unknown) => error instanceof GraphError && error.status === 400);
    }
    assert.equal(tenant.sentMail.length, sentBefore);
  });
});

describe("the report is rendered once per run", () => {
  it("however many channels ask for it, and not at all when none does", async () => {
    let renders = 0;
    const report = (): Promise<string> => Promise.resolve(`<html>${(renders += 1)}</html>`);
    const seen: (string | undefined)[] = [];
    const reading = (name: "webhook" | "email"): AlertChannel => ({
      name,
      deliver: async (_alert, rendered) => void seen.push(await rendered?.()),
    });
    const ignoring: AlertChannel = { name: "webhook", deliver: () => Promise.resolve() };
    const run = { summary: summary(), outcomes: [failed("a")], now: NOW };
    const logger = silentLogger();
    await deliverRunAlerts(
      { store: new MemoryAlertStateStore(), channels: [reading("webhook"), reading("email")], logger, report },
      run,
    );
    assert.deepEqual(seen, ["<html>1</html>", "<html>1</html>"]);
    await deliverRunAlerts({ store: new MemoryAlertStateStore(), channels: [ignoring], logger, report }, run);
    assert.equal(renders, 1);
  });
});
