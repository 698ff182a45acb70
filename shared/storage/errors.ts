import { isRestError } from "@azure/core-rest-pipeline";

/** Typed failures of the storage layer; anything else surfaces as the SDK's `RestError`. */

/** An entity would exceed a Table Storage limit (Azure would reject it; Azurite would not). */
export class EntityTooLargeError extends Error {
  override readonly name = "EntityTooLargeError";
  constructor(detail: string) {
    super(`Table entity exceeds the service limits: ${detail}`);
  }
}

/** A conditional write lost a race: the watermark changed (412) or disappeared (404) since it was read. */
export class WatermarkConflictError extends Error {
  override readonly name = "WatermarkConflictError";
  constructor(
    readonly tenantId: string,
    readonly watermark: string,
    options?: ErrorOptions,
  ) {
    super(`Watermark ${watermark} of tenant ${tenantId} was changed by someone else`, options);
  }
}

/** Another holder has an unexpired lease. */
export class LeaseHeldError extends Error {
  override readonly name = "LeaseHeldError";
  constructor(
    readonly tenantId: string,
    readonly holder: string,
    readonly expiresAt: Date,
  ) {
    super(`Lease of tenant ${tenantId} is held by ${holder} until ${expiresAt.toISOString()}`);
  }
}

/** The caller's lease was taken over (it had expired) or released; the caller no longer holds it. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  constructor(
    readonly tenantId: string,
    readonly holder: string,
    options?: ErrorOptions,
  ) {
    super(`Lease of tenant ${tenantId} is no longer held by ${holder}`, options);
  }
}

/** The HTTP status of a storage SDK failure, if it is one. */
export function storageStatus(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}
