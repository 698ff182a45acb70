import type { Alert } from "./alert-decision";
import {
  alertTitle,
  countChanges,
  eventLine,
  listEvents,
  omittedLine,
  runLine,
  DEFAULT_MAX_LISTED_EVENTS,
} from "./alert-content";

/**
 * JSON bodies for the webhook channel, one per receiver type. Each lists at most `maxListedEvents` events.
 * - `teams`: a Teams Workflows "post to a channel when a webhook request is received" message: an Adaptive
 *   Card in `attachments` (version 1.4, what Teams renders).
 * - `slack`: a Slack incoming webhook: `text` (fallback/notification) plus `blocks` (mrkdwn sections of at
 *   most 3000 characters, Slack's limit).
 * - `generic`: the structured alert itself (`GenericWebhookBody`), for any other receiver.
 */

export type WebhookFormat = "teams" | "slack" | "generic";

export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ["teams", "slack", "generic"];

export interface WebhookFormatOptions {
  readonly maxListedEvents?: number;
}

/** The `generic` body: the alert with its events bounded, plus a title and the change counts. */
export interface GenericWebhookBody extends Omit<Alert, "events"> {
  readonly schema: "mailbox-audit-alert/v1";
  readonly title: string;
  readonly changes: ReturnType<typeof countChanges>;
  readonly events: Alert["events"];
  /** Events left out of `events`. */
  readonly omittedEvents: number;
}

const SLACK_SECTION_MAX_LENGTH = 3000;
/** Slack rejects a message with more blocks than this. */
const SLACK_MAX_BLOCKS = 50;
const ADAPTIVE_CARD_VERSION = "1.4";

export function formatWebhookBody(format: WebhookFormat, alert: Alert, options: WebhookFormatOptions = {}): unknown {
  switch (format) {
    case "teams":
      return teamsBody(alert, options);
    case "slack":
      return slackBody(alert, options);
    case "generic":
      return genericBody(alert, options);
  }
}

export function genericBody(alert: Alert, options: WebhookFormatOptions = {}): GenericWebhookBody {
  const { listed, omitted } = listEvents(alert, options.maxListedEvents ?? DEFAULT_MAX_LISTED_EVENTS);
  return {
    schema: "mailbox-audit-alert/v1",
    title: alertTitle(alert),
    changes: countChanges(alert),
    ...alert,
    events: listed,
    omittedEvents: omitted,
  };
}

export function teamsBody(alert: Alert, options: WebhookFormatOptions = {}): unknown {
  const { listed, omitted } = listEvents(alert, options.maxListedEvents ?? DEFAULT_MAX_LISTED_EVENTS);
  const textBlock = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: "TextBlock",
    text,
    wrap: true,
    ...extra,
  });
  const body = [
    textBlock(alertTitle(alert), {
      size: "Medium",
      weight: "Bolder",
      color: alert.runError || countChanges(alert).new ? "Attention" : "Default",
    }),
    textBlock(runLine(alert), { isSubtle: true, spacing: "None" }),
    ...(alert.runError
      ? [textBlock(`Run error ${alert.runError.code}: ${alert.runError.message}`, { color: "Attention" })]
      : []),
    ...listed.map((event) => textBlock(eventLine(event), { spacing: "Small" })),
    ...(omitted > 0 ? [textBlock(omittedLine(omitted), { isSubtle: true })] : []),
  ];
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: ADAPTIVE_CARD_VERSION,
          body,
          ...(alert.reportUrl
            ? { actions: [{ type: "Action.OpenUrl", title: "Open report", url: alert.reportUrl }] }
            : {}),
        },
      },
    ],
  };
}

/** Slack mrkdwn treats `& < >` as control characters. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Packs lines into sections no longer than Slack's limit (a single over-long line is cut). */
function slackSections(lines: readonly string[]): string[] {
  const sections: string[] = [];
  let current = "";
  for (const raw of lines) {
    const line = raw.length > SLACK_SECTION_MAX_LENGTH ? `${raw.slice(0, SLACK_SECTION_MAX_LENGTH - 1)}…` : raw;
    if (current && current.length + 1 + line.length > SLACK_SECTION_MAX_LENGTH) {
      sections.push(current);
      current = "";
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) sections.push(current);
  return sections;
}

export function slackBody(alert: Alert, options: WebhookFormatOptions = {}): unknown {
  const { listed, omitted } = listEvents(alert, options.maxListedEvents ?? DEFAULT_MAX_LISTED_EVENTS);
  const title = alertTitle(alert);
  const header = [
    `*${slackEscape(title)}*`,
    slackEscape(runLine(alert)),
    ...(alert.runError ? [slackEscape(`Run error ${alert.runError.code}: ${alert.runError.message}`)] : []),
    ...(alert.reportUrl ? [`<${alert.reportUrl}|Open report>`] : []),
  ];
  const lines = [
    ...listed.map((event) => `• ${slackEscape(eventLine(event))}`),
    ...(omitted > 0 ? [omittedLine(omitted)] : []),
  ];
  return {
    text: title,
    blocks: [...slackSections(header), ...slackSections(lines)]
      .slice(0, SLACK_MAX_BLOCKS)
      .map((text) => ({ type: "section", text: { type: "mrkdwn", text } })),
  };
}
