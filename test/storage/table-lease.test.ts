import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeaseHeldError, LeaseLostError } from "../../shared/storage/errors";
import { TableLeaseStore } from "../../shared/storage/table-lease";
import { uniqueTableName, useAzurite } from "../support/azurite";

const TENANT = "tenant-1";
const TTL_IN_MS = 60_000;

describe("TableLeaseStore against Azurite", () => {
  const azurite = useAzurite({ services: ["table"] });
  /** Two instances (say, two Function hosts) sharing one table and one controllable clock. */
  const contenders = () => {
    const clock = { nowInMs: Date.parse("2025-01-01T00:00:00Z") };
    const tableName = uniqueTableName("lease");
    const create = () =>
      new TableLeaseStore({
        connection: { connectionString: azurite().connectionString },
        tableName,
        now: () => new Date(clock.nowInMs),
      });
    return { clock, first: create(), second: create() };
  };

  it("grants a free lease and refuses a second holder, naming the first", async () => {
    const { clock, first, second } = contenders();
    const lease = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    assert.equal(lease.holder, "host-a");
    assert.equal(lease.expiresAt.getTime(), clock.nowInMs + TTL_IN_MS);
    await assert.rejects(
      second.acquireLease(TENANT, "host-b", TTL_IN_MS),
      (error: unknown) =>
        error instanceof LeaseHeldError &&
        error.holder === "host-a" &&
        error.expiresAt.getTime() === lease.expiresAt.getTime(),
    );
    // Leases are per tenant.
    assert.equal((await second.acquireLease("tenant-2", "host-b", TTL_IN_MS)).holder, "host-b");
  });

  it("lets an expired lease be taken over, after which the old holder has lost it", async () => {
    const { clock, first, second } = contenders();
    const old = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    clock.nowInMs += TTL_IN_MS + 1;
    const taken = await second.acquireLease(TENANT, "host-b", TTL_IN_MS);
    assert.equal(taken.holder, "host-b");
    await assert.rejects(first.renew(old, TTL_IN_MS), LeaseLostError);
    // Releasing a lost lease must not free the new holder's lease.
    await first.release(old);
    await assert.rejects(first.acquireLease(TENANT, "host-a", TTL_IN_MS), LeaseHeldError);
  });

  it("renews a held lease, keeping others out past the original expiry", async () => {
    const { clock, first, second } = contenders();
    const lease = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    clock.nowInMs += TTL_IN_MS - 1000;
    const renewed = await first.renew(lease, TTL_IN_MS);
    assert.equal(renewed.expiresAt.getTime(), clock.nowInMs + TTL_IN_MS);
    assert.notEqual(renewed.etag, lease.etag);
    clock.nowInMs += 2000;
    await assert.rejects(second.acquireLease(TENANT, "host-b", TTL_IN_MS), LeaseHeldError);
    // The superseded etag proves nothing any more.
    await assert.rejects(first.renew(lease, TTL_IN_MS), LeaseLostError);
  });

  it("frees the lease on release", async () => {
    const { first, second } = contenders();
    const lease = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    await first.release(lease);
    await first.release(lease);
    assert.equal((await second.acquireLease(TENANT, "host-b", TTL_IN_MS)).holder, "host-b");
    await assert.rejects(first.renew(lease, TTL_IN_MS), LeaseLostError);
  });

  it("gives the same holder its lease back", async () => {
    const { first } = contenders();
    const lease = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    const again = await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    assert.notEqual(again.etag, lease.etag);
  });

  it("lets exactly one of two concurrent takers of an expired lease win", async () => {
    const { clock, first, second } = contenders();
    await first.acquireLease(TENANT, "host-a", TTL_IN_MS);
    clock.nowInMs += TTL_IN_MS + 1;
    const results = await Promise.allSettled([
      first.acquireLease(TENANT, "host-b", TTL_IN_MS),
      second.acquireLease(TENANT, "host-c", TTL_IN_MS),
    ]);
    const won = results.filter((result) => result.status === "fulfilled");
    const lost = results.filter((result) => result.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok(lost[0]?.status === "rejected" && lost[0].reason instanceof LeaseHeldError);
  });

  it("rejects a non-positive TTL", async () => {
    const { first } = contenders();
    await assert.rejects(first.acquireLease(TENANT, "host-a", 0), RangeError);
  });
});
