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
 * mailbox to configured recipients.
 */

/** A message in the shape Graph's `sendMail` takes (recipients as plain addresses). */
export interface AlertMailMessage {
  readonly subject: string;
  readonly body: { readonly contentType: "Text" | "HTML"; readonly content: string };
  readonly toRecipients: readonly string[];
}

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

export function formatAlertEmail(
  alert: Alert,
  to: readonly string[],
  maxListedEvents: number = DEFAULT_MAX_LISTED_EVENTS,
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
    `<table border="1" cellpadding="4" cellspacing="0"><thead><tr><th>Change</th><th>Target</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>`,
    omitted > 0 ? `<p>${escapeHtml(omittedLine(omitted))}</p>` : "",
  ].join("");
  return {
    subject: alertTitle(alert),
    body: { contentType: "HTML", content: `<html><body>${content}</body></html>` },
    toRecipients: [...to],
  };
}

export function emailChannel(options: EmailChannelOptions): AlertChannel {
  if (options.to.length === 0) throw new TypeError("The email alert channel needs at least one recipient");
  return {
    name: "email",
    deliver: (alert) =>
      options.sender.sendMail(options.from, formatAlertEmail(alert, options.to, options.maxListedEvents)),
  };
}
