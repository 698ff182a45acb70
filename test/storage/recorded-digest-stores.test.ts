/**
 * The recorded-state digest's storage, the same contract for both stores: buckets round-trip, the header opens and
 * closes, writes are conditional on what was loaded, and a large bucket is split across properties.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WatermarkConflictError } from "../../shared/storage/errors";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import type { OutcomeStore } from "../../shared/storage/outcome-store";
import { DIGEST_ENTRY_CHARS, digestKeyOf, findEntry, mergeBucket } from "../../shared/storage/recorded-digest";
import { TableOutcomeStore } from "../../shared/storage/table-outcome-store";
import { uniqueTableName, useAzurite } from "../support/azurite";

const TENANT = "contoso.onmicrosoft.com";

function entriesFor(count: number, bucketOf?: number): string {
  const changes = new Map<string, string>();
  for (let index = 0; changes.size < count; index += 1) {
    const { key, bucket } = digestKeyOf("mailbox", `m-${index}`);
    if (bucketOf === undefined || bucket === bucketOf) changes.set(key, `hhhhhhhhhhhh${"000000001"}`);
  }
  return mergeBucket("", changes);
}

function digestContract(name: string, newStore: () => OutcomeStore): void {
  describe(`recorded-state digest in the ${name}`, () => {
    it("starts empty and closed; opens, commits buckets and closes", async () => {
      const store = newStore();
      const empty = await store.loadRecordedDigest(TENANT);
      assert.equal(empty.buckets.size, 0);
      assert.equal(empty.openedBy, undefined);
      const etag = await store.openRecordedDigest(TENANT, "run-1", empty.headerEtag);
      assert.equal((await store.loadRecordedDigest(TENANT)).openedBy, "run-1");
      const packed = entriesFor(3);
      await store.commitRecordedDigest(TENANT, [{ index: 7, packed }, { index: 200, packed: entriesFor(1) }], etag);
      const loaded = await store.loadRecordedDigest(TENANT);
      assert.equal(loaded.openedBy, undefined);
      assert.deepEqual([...loaded.buckets.keys()].sort((a, b) => a - b), [7, 200]);
      assert.equal(loaded.buckets.get(7)?.packed, packed);
      // Another tenant sees none of it.
      assert.equal((await store.loadRecordedDigest("fabrikam.onmicrosoft.com")).buckets.size, 0);
    });

    it("refuses a bucket changed since it was loaded, and leaves the digest open", async () => {
      const store = newStore();
      let etag = await store.openRecordedDigest(TENANT, "run-1", undefined);
      await store.commitRecordedDigest(TENANT, [{ index: 1, packed: entriesFor(1) }], etag);
      const first = await store.loadRecordedDigest(TENANT);
      etag = await store.openRecordedDigest(TENANT, "run-2", first.headerEtag);
      await store.commitRecordedDigest(TENANT, [{ index: 1, packed: entriesFor(2), ...(first.buckets.get(1)?.etag ? { etag: first.buckets.get(1)?.etag } : {}) }], etag);
      // A writer holding the first load's etags loses.
      const stale = await store.openRecordedDigest(TENANT, "run-3", (await store.loadRecordedDigest(TENANT)).headerEtag);
      await assert.rejects(store.commitRecordedDigest(TENANT, [{ index: 1, packed: "", ...(first.buckets.get(1)?.etag ? { etag: first.buckets.get(1)?.etag } : {}) }], stale));
      const after = await store.loadRecordedDigest(TENANT);
      assert.equal(after.openedBy, "run-3");
      assert.equal(after.buckets.get(1)?.packed, entriesFor(2));
      // Opening with a stale header etag is refused too.
      await assert.rejects(store.openRecordedDigest(TENANT, "run-4", first.headerEtag), (error: unknown) => error instanceof WatermarkConflictError || error instanceof Error);
    });

    it("keeps a bucket larger than one property (split, read back whole)", async () => {
      const store = newStore();
      const packed = entriesFor(2000, 5);
      assert.ok(packed.length > 32_000);
      const etag = await store.openRecordedDigest(TENANT, "run-1", undefined);
      await store.commitRecordedDigest(TENANT, [{ index: 5, packed }], etag);
      const loaded = (await store.loadRecordedDigest(TENANT)).buckets.get(5)?.packed ?? "";
      assert.equal(loaded.length, 2000 * DIGEST_ENTRY_CHARS);
      assert.equal(loaded, packed);
      assert.ok(findEntry(loaded, packed.slice(1999 * DIGEST_ENTRY_CHARS, 1999 * DIGEST_ENTRY_CHARS + 16)));
    });
  });
}

digestContract("memory store", () => new MemoryOutcomeStore());

describe("Table Storage (Azurite)", () => {
  const azurite = useAzurite({ services: ["table"] });
  digestContract("Table store", () =>
    new TableOutcomeStore({
      connection: { connectionString: azurite().connectionString },
      tableNames: { runs: uniqueTableName("runs"), latest: uniqueTableName("latest"), history: uniqueTableName("history"), watermarks: uniqueTableName("marks") },
    }),
  );
});
