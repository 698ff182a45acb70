import type { Alert, AlertChannelName } from "./alert-decision";

/**
 * Port: one way of telling people about a run. `deliver` resolves only once the channel accepted the
 * alert (a 2xx from the webhook, Graph's 202 for mail) and rejects otherwise; the caller then leaves the
 * alert state as it was, so the next run raises the same changes again.
 */
export interface AlertChannel {
  readonly name: AlertChannelName;
  /** `report`, when given: the tenant's HTML report, for a channel that carries it (mail attaches it). */
  deliver(alert: Alert, report?: AlertReport): Promise<void>;
}

/**
 * The tenant's HTML report, rendered on first call and shared by the run's alerts; `undefined` when it could not
 * be rendered (the failure is logged once and the alert goes without it).
 */
export type AlertReport = () => Promise<string | undefined>;

/**
 * A channel refused or did not answer. Carries only what is safe to log: never the webhook URL (it is a
 * secret: whoever has it can post), never a response body that might echo it.
 */
export class AlertDeliveryError extends Error {
  override readonly name = "AlertDeliveryError";
  constructor(
    readonly channel: AlertChannelName,
    /** HTTP status, when a response arrived. */
    readonly status: number | undefined,
    /** A short code: `HttpStatus`, or the socket/timeout error code. */
    readonly code: string,
  ) {
    super(`Alert channel ${channel} failed: ${status !== undefined ? `HTTP ${status}` : code}`);
  }
}
