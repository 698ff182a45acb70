import type { RunSummary, TargetOutcome } from "../domain/outcome";
import { AlertDeliveryError, type AlertChannel, type AlertReport } from "./alert-channel";
import {
  decideAlerts,
  settleAlertState,
  type AlertChannelName,
  type AlertSettings,
  type AlertTargetState,
} from "./alert-decision";
import type { AlertStateStore } from "./alert-state-store";

/**
 * The alert step of a run: read the tenant's alert state, decide, deliver one alert per channel, and store
 * the state each channel's result calls for. Storage and delivery failures do not throw: each is logged (without secrets) and
 * reported as `alertingFailed`, so the caller can mark the run failed; the state is left such that the next
 * run raises whatever was not delivered.
 */

/** The part of a pino logger used here. */
export interface AlertLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface AlertDependencies {
  readonly store: AlertStateStore;
  /** Configured channels; at most one per name. */
  readonly channels: readonly AlertChannel[];
  readonly logger: AlertLogger;
  readonly settings?: Partial<AlertSettings>;
  /**
   * Renders the tenant's HTML report from the store (what `GET /api/report?format=html` serves); alert mail
   * attaches it. Called at most once per run, and only when a channel carries the report.
   */
  readonly report?: () => Promise<string>;
}

export interface ChannelDelivery {
  readonly channel: AlertChannelName;
  /** Events in the alert (not only the listed ones). */
  readonly eventCount: number;
  readonly delivered: boolean;
}

export interface AlertingResult {
  /** A delivery or the state store failed; the caller should mark the run failed. */
  readonly alertingFailed: boolean;
  /** One per channel that had something to say. */
  readonly deliveries: readonly ChannelDelivery[];
}

export async function deliverRunAlerts(
  dependencies: AlertDependencies,
  run: { readonly summary: RunSummary; readonly outcomes: readonly TargetOutcome[]; readonly now: string },
): Promise<AlertingResult> {
  const { store, channels, logger } = dependencies;
  const { tenantId, runId } = run.summary;
  const context = { tenantId, runId };

  const previous: AlertTargetState[] = [];
  try {
    for await (const state of store.list(tenantId)) previous.push(state);
  } catch (error) {
    logger.error({ ...context, error: safeErrorDetails(error) }, "Could not read the alert state; no alerts sent");
    return { alertingFailed: true, deliveries: [] };
  }

  const decision = decideAlerts({
    previous,
    outcomes: run.outcomes,
    summary: run.summary,
    now: run.now,
    channels: channels.map((channel) => channel.name),
    ...(dependencies.settings ? { settings: dependencies.settings } : {}),
  });

  const report = dependencies.report ? renderedOnce(dependencies.report, logger, context) : undefined;
  const deliveries = await Promise.all(
    channels
      .flatMap((channel) =>
        decision.alerts.filter((alert) => alert.channel === channel.name).map(({ alert }) => ({ channel, alert })),
      )
      .map(async ({ channel, alert }): Promise<ChannelDelivery> => {
        const { name } = channel;
        const eventCount = alert.events.length;
        try {
          await channel.deliver(alert, report);
          logger.info({ ...context, channel: name, eventCount }, "Alert delivered");
          return { channel: name, eventCount, delivered: true };
        } catch (error) {
          logger.warn(
            { ...context, channel: name, eventCount, error: safeErrorDetails(error) },
            "Alert delivery failed; the next run retries",
          );
          return { channel: name, eventCount, delivered: false };
        }
      }),
  );

  const accepted = new Set(deliveries.filter((delivery) => delivery.delivered).map((delivery) => delivery.channel));
  const changes = settleAlertState(decision, accepted);
  let stateFailed = false;
  try {
    await store.update(tenantId, changes);
  } catch (error) {
    stateFailed = true;
    logger.error(
      { ...context, error: safeErrorDetails(error) },
      "Could not store the alert state; delivered alerts may be repeated",
    );
  }
  return { alertingFailed: stateFailed || deliveries.some((delivery) => !delivery.delivered), deliveries };
}

/** The report rendered on first use; a rendering failure is logged once and yields `undefined`. */
function renderedOnce(render: () => Promise<string>, logger: AlertLogger, context: object): AlertReport {
  let rendered: Promise<string | undefined> | undefined;
  return () =>
    (rendered ??= render().catch((error: unknown) => {
      logger.warn({ ...context, error: safeErrorDetails(error) }, "Could not render the report; alerts go without it");
      return undefined;
    }));
}

/** Name, message and service identifiers only: no request objects, headers or URLs. */
function safeErrorDetails(error: unknown): Record<string, unknown> {
  if (error instanceof AlertDeliveryError)
    return { name: error.name, code: error.code, ...(error.status !== undefined ? { status: error.status } : {}) };
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const details: Record<string, unknown> = { name: error.name, message: error.message };
  for (const field of ["code", "status", "statusCode", "requestId"] as const) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (typeof value === "string" || typeof value === "number") details[field] = value;
  }
  return details;
}
