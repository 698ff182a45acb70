import type { TableClient } from "@azure/data-tables";
import { LeaseHeldError, LeaseLostError, storageStatus } from "./errors";
import { compositeKey } from "./table-keys";
import { createTableClient, tableCreator, type TableConnection } from "./table-connection";

/**
 * A per-tenant lease on a Table entity, so two runs of the same tenant do not overlap.
 * Claimed with `createEntity` (409 if it exists); an expired lease is taken over with an etag-conditional
 * replace, so of two concurrent takers exactly one wins. Expiry uses the callers' clocks: choose a TTL much
 * longer than the clock skew between instances, and renew well before it ends.
 */

export interface Lease {
  readonly tenantId: string;
  readonly holder: string;
  readonly expiresAt: Date;
  /** Proves ownership to `renew` and `release`. */
  readonly etag: string;
}

export interface LeaseStore {
  /**
   * Takes the tenant's lease for `ttlInMs`, or throws `LeaseHeldError` naming the current holder. An expired
   * lease is taken over; the same holder acquiring again gets its lease back with a new expiry.
   */
  acquireLease(tenantId: string, holder: string, ttlInMs: number): Promise<Lease>;
  /** Extends a held lease by `ttlInMs` from now; throws `LeaseLostError` if it was taken over or released. */
  renew(lease: Lease, ttlInMs: number): Promise<Lease>;
  /** Gives the lease up; does nothing if it was already taken over or released. */
  release(lease: Lease): Promise<void>;
}

export const DEFAULT_LEASE_TABLE_NAME = "auditleases";

export interface TableLeaseStoreOptions {
  readonly connection: TableConnection;
  readonly tableName?: string;
  /** Clock, injectable for tests. */
  readonly now?: () => Date;
}

const LEASE_ROW_KEY = "run";
/** Create, then read, then take over: three losses in a row mean the lease keeps changing hands. */
const MAX_ACQUIRE_ATTEMPTS = 3;

interface LeaseEntity {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly tenantId: string;
  readonly holder: string;
  readonly expiresAt: Date;
}

export class TableLeaseStore implements LeaseStore {
  private readonly client: TableClient;
  private readonly ensure: () => Promise<void>;
  private readonly now: () => Date;

  constructor(options: TableLeaseStoreOptions) {
    this.client = createTableClient(options.connection, options.tableName ?? DEFAULT_LEASE_TABLE_NAME);
    this.ensure = tableCreator(this.client);
    this.now = options.now ?? (() => new Date());
  }

  async acquireLease(tenantId: string, holder: string, ttlInMs: number): Promise<Lease> {
    await this.ensure();
    const entity = this.leaseEntity(tenantId, holder, ttlInMs);
    for (let attempt = 1; ; attempt++) {
      try {
        return toLease(entity, (await this.client.createEntity(entity)).etag);
      } catch (error) {
        if (storageStatus(error) !== 409) throw error;
      }
      const current = await this.read(tenantId);
      if (current) {
        const currentHolder = String(current["holder"]);
        const expiresAt = toDate(current["expiresAt"]);
        if (currentHolder !== holder && expiresAt.getTime() > this.now().getTime()) {
          throw new LeaseHeldError(tenantId, currentHolder, expiresAt);
        }
        try {
          const etag = (await this.client.updateEntity(entity, "Replace", { etag: String(current.etag) })).etag;
          return toLease(entity, etag);
        } catch (error) {
          const status = storageStatus(error);
          if (status !== 412 && status !== 404) throw error;
        }
      }
      if (attempt === MAX_ACQUIRE_ATTEMPTS) {
        const winner = await this.read(tenantId);
        const winnerHolder = winner?.["holder"];
        throw new LeaseHeldError(
          tenantId,
          typeof winnerHolder === "string" ? winnerHolder : "unknown",
          toDate(winner?.["expiresAt"]),
        );
      }
    }
  }

  async renew(lease: Lease, ttlInMs: number): Promise<Lease> {
    const entity = this.leaseEntity(lease.tenantId, lease.holder, ttlInMs);
    try {
      return toLease(entity, (await this.client.updateEntity(entity, "Replace", { etag: lease.etag })).etag);
    } catch (error) {
      const status = storageStatus(error);
      if (status === 412 || status === 404) throw new LeaseLostError(lease.tenantId, lease.holder, { cause: error });
      throw error;
    }
  }

  async release(lease: Lease): Promise<void> {
    try {
      await this.client.deleteEntity(compositeKey(lease.tenantId), LEASE_ROW_KEY, { etag: lease.etag });
    } catch (error) {
      const status = storageStatus(error);
      if (status !== 412 && status !== 404) throw error;
    }
  }

  private leaseEntity(tenantId: string, holder: string, ttlInMs: number): LeaseEntity {
    if (!(ttlInMs > 0)) throw new RangeError(`Lease TTL must be positive, got ${ttlInMs}`);
    return {
      partitionKey: compositeKey(tenantId),
      rowKey: LEASE_ROW_KEY,
      tenantId,
      holder,
      expiresAt: new Date(this.now().getTime() + ttlInMs),
    };
  }

  private async read(tenantId: string) {
    try {
      return await this.client.getEntity<Record<string, unknown>>(compositeKey(tenantId), LEASE_ROW_KEY);
    } catch (error) {
      if (storageStatus(error) === 404) return undefined;
      throw error;
    }
  }
}

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function toLease(entity: LeaseEntity, etag: string | undefined): Lease {
  if (etag === undefined) throw new Error("Table Storage returned no etag for a lease write");
  return { tenantId: entity.tenantId, holder: entity.holder, expiresAt: entity.expiresAt, etag };
}
