/**
 * The tenant's run lease, held for the whole of an apply (the CLI's and the Functions'): one holder at a time per
 * tenant, renewed every third of its TTL, so a dead holder frees the tenant after the TTL.
 */
import { randomUUID } from "node:crypto";
import { LeaseHeldError } from "../storage/errors";
import type { LeaseStore } from "../storage/table-lease";

/** A run's id, which is also its lease holder: sortable, readable and unique (`2026-11-25T02:00:00Z-5f3a9c1e`). */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/\.\d{3}Z$/, "Z")}-${randomUUID().slice(0, 8)}`;
}

export interface HeldLease {
  /** Whether another holder took the lease over (a renewal was refused). */
  lost(): boolean;
  /** Stops renewing; the lease stays held until it expires or is released. */
  stop(): void;
  /** Stops renewing and releases the lease (if still held and reachable; never throws). */
  release(): Promise<void>;
}

/** Renews (or takes back) `holder`'s lease; false when another holder has it. */
export async function renewLease(leases: LeaseStore, tenantId: string, holder: string, ttlInMs: number): Promise<boolean> {
  try {
    await leases.acquireLease(tenantId, holder, ttlInMs);
    return true;
  } catch (error) {
    if (error instanceof LeaseHeldError) return false;
    throw error;
  }
}

/**
 * Releases `holder`'s lease; never throws. Acquiring as the same holder returns the lease with its etag, which proves
 * ownership to release. A lease taken over is not ours to release; one that cannot be reached (storage down) expires
 * after its TTL.
 */
export async function releaseLease(leases: LeaseStore, tenantId: string, holder: string, ttlInMs: number): Promise<void> {
  try {
    await leases.release(await leases.acquireLease(tenantId, holder, ttlInMs));
  } catch {
    return;
  }
}

/** Keeps `holder`'s lease renewed until released. The caller has acquired it (`acquireLease` throws `LeaseHeldError` otherwise). */
export function keepLease(leases: LeaseStore, tenantId: string, holder: string, ttlInMs: number): HeldLease {
  let lost = false;
  const timer = setInterval(() => {
    renewLease(leases, tenantId, holder, ttlInMs).then(
      (held) => {
        if (!held) lost = true;
      },
      () => undefined,
    );
  }, Math.max(1_000, ttlInMs / 3));
  timer.unref();
  return {
    lost: () => lost,
    stop: () => clearInterval(timer),
    release() {
      clearInterval(timer);
      return releaseLease(leases, tenantId, holder, ttlInMs);
    },
  };
}
