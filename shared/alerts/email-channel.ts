import type { Alert } from "./alert-decision";
import type { AlertChannel } from "./alert-channel";
import {
  alertTitle,
  changeLabel,
  listEvents,
  omittedLine,
  problemOf,
  runLine,
  subjectOf,
  DEFAULT_MAX_LISTED_EVENTS,
} from "./alert-content";

/**
 * The email channel: one HTML message per alert, sent through Microsoft Graph `sendMail` from a configured
 * mailbox to configured recipients, with the tenant's HTML report attached when the run provides it.
 */

/** A message in the shape Graph's `sendMail` takes (recipients as plain addresses). */
export interface AlertMailMessage {
  readonly subject: string;
  readonly body: { readonly contentType: "Text" | "HTML"; readonly content: string };
  readonly toRecipients: readonly string[];
  readonly attachments?: readonly MailFileAttachment[];
}

/** Graph's `fileAttachment`, carried inline in the `sendMail` request. */
export interface MailFileAttachment {
  readonly "@odata.type": "#microsoft.graph.fileAttachment";
  readonly name: string;
  readonly contentType: string;
  /** The file, base64. */
  readonly contentBytes: string;
}

/**
 * Graph takes a file under 3 MB inline in one request, and a request holds at most 4 MB: 3,000,000 bytes are
 * 4,000,000 in base64, which leaves the rest of the 4 MiB (about 190 KB) to the bounded message body. A larger
 * report would need an upload session on a draft; the mail then carries the link only and says so.
 */
export const MAX_REPORT_ATTACHMENT_BYTES = 3_000_000;

/** What the mail says about the report: attached, too large to attach, or not rendered. */
export type ReportInMail =
  | { readonly kind: "attached"; readonly attachment: MailFileAttachment }
  | { readonly kind: "too-large"; readonly sizeInBytes: number }
  | { readonly kind: "unavailable" };

/**
 * Port: sends mail as `from` (a UPN or object id of a mailbox the app may send as). Resolves once Graph
 * accepted the message (202); rejects otherwise. The Graph client's `sendMail(from, message)` fits it.
 */
export interface MailSender {
  sendMail(from: string, message: AlertMailMessage): Promise<void>;
}

export interface EmailChannelOptions {
  readonly sender: MailSender;
  readonly from: string;
  readonly to: readonly string[];
  readonly maxListedEvents?: number;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** `mailbox-audit-report-<tenant>-<date of the run's end>.html`. */
export function reportFileName(alert: Alert): string {
  const tenant = alert.tenantId.replace(/[^A-Za-z0-9.-]/g, "-");
  return `mailbox-audit-report-${tenant}-${alert.finishedAt.slice(0, 10)}.html`;
}

export function reportInMail(alert: Alert, reportHtml: string | undefined): ReportInMail {
  if (reportHtml === undefined) return { kind: "unavailable" };
  const bytes = Buffer.from(reportHtml, "utf8");
  if (bytes.length > MAX_REPORT_ATTACHMENT_BYTES) return { kind: "too-large", sizeInBytes: bytes.length };
  const attachment: MailFileAttachment = {
    "@odata.type": "#microsoft.graph.fileAttachment",
    name: reportFileName(alert),
    contentType: "text/html",
    contentBytes: bytes.toString("base64"),
  };
  return { kind: "attached", attachment };
}

const megabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;

function reportNote(alert: Alert, report: ReportInMail): string {
  const open = alert.reportUrl ? "open it with the link above" : "read it with mailbox-audit report --html";
  switch (report.kind) {
    case "attached":
      return `The compliance report is attached (${report.attachment.name}): open it in a browser; it needs no network.`;
    case "too-large":
      return `The compliance report (${megabytes(report.sizeInBytes)}) is larger than the ${megabytes(MAX_REPORT_ATTACHMENT_BYTES)} Graph takes as an inline attachment, so it is not attached: ${open}.`;
    case "unavailable":
      return `The compliance report could not be rendered for this mail: ${open}.`;
  }
}

export function formatAlertEmail(
  alert: Alert,
  to: readonly string[],
  maxListedEvents: number = DEFAULT_MAX_LISTED_EVENTS,
  report?: ReportInMail,
): AlertMailMessage {
  const { listed, omitted } = listEvents(alert, maxListedEvents);
  const rows = listed
    .map(
      (event) =>
        `<tr><td>${escapeHtml(changeLabel(event.change))}</td><td>${escapeHtml(subjectOf(event))}</td><td>${escapeHtml(problemOf(event))}</td></tr>`,
    )
    .join("");
  const content = [
    `<h2>${escapeHtml(alertTitle(alert))}</h2>`,
    `<p>${escapeHtml(runLine(alert))}</p>`,
    alert.runError
      ? `<p><strong>Run error ${escapeHtml(alert.runError.code)}:</strong> ${escapeHtml(alert.runError.message)}</p>`
      : "",
    alert.reportUrl ? `<p><a href="${escapeHtml(alert.reportUrl)}">Open the report</a></p>` : "",
    report ? `<p>${escapeHtml(reportNote(alert, report))}</p>` : "",
    `<table border="1" cellpadding="4" cellspacing="0"><thead><tr><th>Change</th><th>Target</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>`,
    omitted > 0 ? `<p>${escapeHtml(omittedLine(omitted))}</p>` : "",
  ].join("");
  return {
    subject: alertTitle(alert),
    body: { contentType: "HTML", content: `<html><body>${content}</body></html>` },
    toRecipients: [...to],
    ...(report?.kind === "attached" && { attachments: [report.attachment] }),
  };
}

export function emailChannel(options: EmailChannelOptions): AlertChannel {
  if (options.to.length === 0) throw new TypeError("The email alert channel needs at least one recipient");
  return {
    name: "email",
    deliver: async (alert, report) => {
      const attached = report ? reportInMail(alert, await report()) : undefined;
      await options.sender.sendMail(
        options.from,
        formatAlertEmail(alert, options.to, options.maxListedEvents, attached),
      );
    },
  };
}
