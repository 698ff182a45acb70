import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Finding, TargetOutcome } from "../../shared/domain/outcome";
import { recordedStateOf } from "../../shared/domain/recorded-state";
import { RunRecorder } from "../../shared/reconcile/recorder";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import { DIGEST_ENTRY_CHARS, digestKeyOf, findEntry, lastVerifiedAt, mergeBucket, RunDigest, type RecordedDigestSnapshot } from "../../shared/storage/recorded-digest";

const TENANT = "contoso.onmicrosoft.com";
const NIGHT_1 = "2026-03-01T02:00:00.000Z";
const NIGHT_2 = "2026-03-02T02:00:00.000Z";
const NIGHT_3 = "2026-03-03T02:00:00.000Z";

const SETTINGS = { AuditEnabled: true, AuditLogAgeLimit: "180.00:00:00", AuditOwner: ["Update", "MailItemsAccessed"], DefaultAuditSet: [], WhenChangedUTC: "2026-03-01T02:03:04Z" };
const CUSTOM: Finding = { kind: "custom-audit-set", setting: "DefaultAuditSet", current: [], desired: [], message: "Admin, Delegate, Owner no longer follow Microsoft's default audit set" };
const DRIFT: Finding = { kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "Mailbox auditing is off" };

function compliant(overrides: Partial<TargetOutcome> = {}): TargetOutcome {
  return { kind: "mailbox", targetId: "m-1", displayName: "a@contoso.com", recipientType: "UserMailbox", status: "compliant", findings: [CUSTOM], before: SETTINGS, ...overrides };
}

/** The remediated outcome of the change that produced `SETTINGS`: findings of the read before it, `after` as read back. */
function remediated(): TargetOutcome {
  return compliant({ status: "remediated", findings: [DRIFT, { ...CUSTOM, message: "adding the policy's actions takes Owner off the default set" }], before: { ...SETTINGS, AuditEnabled: false, WhenChangedUTC: "2026-02-01T00:00:00Z" }, after: SETTINGS });
}

describe("recordedStateOf", () => {
  const base = recordedStateOf(compliant());
  const cases: [string, TargetOutcome, boolean][] = [
    ["the same outcome built in another key order", { ...compliant(), before: Object.fromEntries(Object.entries(SETTINGS).reverse()) }, true],
    ["a setting changed", compliant({ before: { ...SETTINGS, AuditLogAgeLimit: "90.00:00:00" } }), false],
    ["WhenChangedUTC moved (someone touched it, even back)", compliant({ before: { ...SETTINGS, WhenChangedUTC: "2026-03-02T09:00:00Z" } }), false],
    ["an action list reordered", compliant({ before: { ...SETTINGS, AuditOwner: ["MailItemsAccessed", "Update"] } }), false],
    ["a finding added (licence gap)", compliant({ findings: [CUSTOM, { kind: "licence-gap", setting: "AuditOwner", message: "needs Premium" }] }), false],
    ["a finding's message changed", compliant({ findings: [{ ...CUSTOM, message: "other" }] }), false],
    ["the display name changed", compliant({ displayName: "b@contoso.com" }), false],
    ["the recipient type changed", compliant({ recipientType: "SharedMailbox" }), false],
    ["another target", compliant({ targetId: "m-2" }), false],
    ["another kind", compliant({ kind: "capture-mailbox" }), false],
    ["exempt instead of compliant", compliant({ status: "exempt" }), false],
    ["not-applicable instead of compliant", compliant({ status: "not-applicable" }), false],
  ];
  for (const [name, outcome, same] of cases) {
    it(`${same ? "equal" : "differs"}: ${name}`, () => {
      assert.equal(recordedStateOf(outcome) === base, same);
    });
  }

  it("has no state for failed and drift outcomes (they are always recorded)", () => {
    assert.equal(recordedStateOf(compliant({ status: "failed", error: { code: "X", message: "x" } })), undefined);
    assert.equal(recordedStateOf(compliant({ status: "drift", findings: [DRIFT] })), undefined);
    assert.equal(recordedStateOf(compliant({ status: "remediated", after: undefined })), undefined);
  });

  it("a remediated outcome (with its read-back's findings) has the state of the next night's compliant read", () => {
    assert.equal(recordedStateOf(remediated(), { findings: [CUSTOM] }), base);
    // Without the read-back's findings the pre-change custom-audit-set message differs: recorded again, never hidden.
    assert.notEqual(recordedStateOf(remediated()), base);
  });

  it("leaves drift findings out, keeps every other kind", () => {
    assert.equal(recordedStateOf(compliant({ findings: [CUSTOM, DRIFT] })), base);
  });
});

describe("digest buckets", () => {
  it("merges, finds and deletes entries by binary search in sorted fixed-width strings", () => {
    const keys = ["m-1", "m-2", "m-3", "m-4"].map((id) => digestKeyOf("mailbox", id).key);
    const value = (n: number) => `${String(n).padStart(12, "s")}${"000000001"}`;
    let packed = mergeBucket("", new Map(keys.map((key, index) => [key, value(index)])));
    assert.equal(packed.length, 4 * DIGEST_ENTRY_CHARS);
    for (const [index, key] of keys.entries()) assert.equal(findEntry(packed, key)?.value, value(index));
    packed = mergeBucket(packed, new Map([[keys[1]!, null]]));
    assert.equal(findEntry(packed, keys[1]!), undefined);
    assert.equal(findEntry(packed, keys[2]!)?.value, value(2));
    // Kept-only merge (a full sweep): entries not marked kept are dropped.
    const kept = new Uint8Array(3);
    kept[0] = 1;
    assert.equal(mergeBucket(packed, new Map(), kept).length, DIGEST_ENTRY_CHARS);
  });
});

/** The memory store, counting what is written. */
class CountingStore extends MemoryOutcomeStore {
  recorded: TargetOutcome[] = [];
  unchanged: TargetOutcome[] = [];
  failCommit = false;
  failRecord = false;
  override recordOutcomes(tenantId: string, runId: string, runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    if (this.failRecord) return Promise.reject(new Error("storage is gone"));
    this.recorded.push(...outcomes);
    return super.recordOutcomes(tenantId, runId, runStartedAt, outcomes);
  }
  noteUnchanged(_tenantId: string, _runId: string, _runStartedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    this.unchanged.push(...outcomes);
    return Promise.resolve();
  }
  override commitRecordedDigest(...args: Parameters<MemoryOutcomeStore["commitRecordedDigest"]>): Promise<void> {
    if (this.failCommit) return Promise.reject(new Error("digest write refused"));
    return super.commitRecordedDigest(...args);
  }
}

/** One run through the recorder with the store's digest: emits, drains, commits; returns what was written. */
async function night(store: CountingStore, runStartedAt: string, outcomes: readonly (TargetOutcome | [TargetOutcome, { findings: Finding[] }])[], options: { fullSweep?: boolean } = {}) {
  store.recorded = [];
  store.unchanged = [];
  const recorder = new RunRecorder({ store, tenantId: TENANT, runId: `run-${runStartedAt}`, runStartedAt });
  recorder.useDigest(new RunDigest(await store.loadRecordedDigest(TENANT), runStartedAt));
  for (const entry of outcomes) {
    if (Array.isArray(entry)) recorder.emit(entry[0], entry[1]);
    else recorder.emit(entry);
  }
  await recorder.drain();
  const committed = await recorder.commitDigest({ fullSweep: options.fullSweep ?? false });
  return { recorded: store.recorded.map((outcome) => outcome.targetId), unchanged: store.unchanged.length, counts: recorder.counts, committed };
}

describe("RunRecorder with the recorded-state digest", () => {
  it("does not record an unchanged target again, but counts and samples it", async () => {
    const store = new CountingStore();
    assert.deepEqual((await night(store, NIGHT_1, [compliant()])).recorded, ["m-1"]);
    const second = await night(store, NIGHT_2, [compliant()]);
    assert.deepEqual(second.recorded, []);
    assert.equal(second.unchanged, 1);
    assert.equal(second.counts.compliant, 1);
  });

  it("records any change of a setting, a finding, the status or WhenChanged", async () => {
    const changes: TargetOutcome[] = [
      compliant({ before: { ...SETTINGS, AuditLogAgeLimit: "365.00:00:00" } }),
      compliant({ findings: [] }),
      compliant({ status: "exempt" }),
      compliant({ before: { ...SETTINGS, WhenChangedUTC: "2026-03-02T01:00:00Z" } }),
    ];
    for (const changed of changes) {
      const store = new CountingStore();
      await night(store, NIGHT_1, [compliant()]);
      assert.deepEqual((await night(store, NIGHT_2, [changed])).recorded, ["m-1"]);
      // And the change is now the recorded state.
      assert.deepEqual((await night(store, NIGHT_3, [changed])).recorded, []);
    }
  });

  it("a remediated outcome followed next night by the compliant read of the same state is not recorded again", async () => {
    const store = new CountingStore();
    assert.deepEqual((await night(store, NIGHT_1, [[remediated(), { findings: [CUSTOM] }]])).recorded, ["m-1"]);
    assert.deepEqual((await night(store, NIGHT_2, [compliant()])).recorded, []);
  });

  it("always records failed and drift outcomes, and the recovery after them", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant()]);
    const failedOutcome = compliant({ status: "failed", error: { code: "VerifyMismatch", message: "no" } });
    assert.deepEqual((await night(store, NIGHT_2, [failedOutcome])).recorded, ["m-1"]);
    assert.deepEqual((await night(store, NIGHT_2, [failedOutcome])).recorded, ["m-1"]);
    // Back to exactly the state recorded before the failure: recorded, the latest state must not stay "failed".
    assert.deepEqual((await night(store, NIGHT_3, [compliant()])).recorded, ["m-1"]);
    const drift = compliant({ status: "drift", findings: [DRIFT] });
    assert.deepEqual((await night(store, NIGHT_3, [drift])).recorded, ["m-1"]);
    assert.deepEqual((await night(store, NIGHT_3, [drift])).recorded, ["m-1"]);
  });

  it("a target emitted twice in a run: the second state is compared with the first", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant()]);
    const changed = compliant({ findings: [] });
    assert.deepEqual((await night(store, NIGHT_2, [changed, compliant()])).recorded, ["m-1", "m-1"]);
  });

  it("a digest that could not be written: the next run records everything again (nothing hidden)", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant(), compliant({ targetId: "m-2" })]);
    store.failCommit = true;
    const failing = await night(store, NIGHT_2, [compliant({ findings: [] }), compliant({ targetId: "m-2" })]);
    assert.deepEqual(failing.recorded, ["m-1"]);
    assert.equal(failing.committed, false);
    assert.equal((await store.loadRecordedDigest(TENANT)).openedBy, `run-${NIGHT_2}`, "left open");
    store.failCommit = false;
    // m-1 back to its night-1 state: the stale entry must not hide it; m-2 is re-recorded too (the digest is rebuilt).
    assert.deepEqual((await night(store, NIGHT_3, [compliant(), compliant({ targetId: "m-2" })])).recorded, ["m-1", "m-2"]);
    assert.equal((await store.loadRecordedDigest(TENANT)).openedBy, undefined);
    assert.deepEqual((await night(store, NIGHT_3, [compliant(), compliant({ targetId: "m-2" })])).recorded, []);
  });

  it("a run that fails to record commits no digest", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant()]);
    store.failRecord = true;
    const failing = await night(store, NIGHT_2, [compliant({ findings: [] })]);
    assert.equal(failing.committed, false);
    store.failRecord = false;
    assert.deepEqual((await night(store, NIGHT_3, [compliant()])).recorded, ["m-1"]);
  });

  it("a full sweep keeps only what it saw; an unchanged sweep writes no bucket", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant(), compliant({ targetId: "m-2" })]);
    const before = await store.loadRecordedDigest(TENANT);
    const sweep = await night(store, NIGHT_2, [compliant(), compliant({ targetId: "m-2" })], { fullSweep: true });
    assert.deepEqual(sweep.recorded, []);
    assert.equal((await store.loadRecordedDigest(TENANT)).headerEtag, before.headerEtag, "nothing written");
    // m-2 gone from the tenant: the next sweep drops it.
    await night(store, NIGHT_3, [compliant()], { fullSweep: true });
    const { key, bucket } = digestKeyOf("mailbox", "m-2");
    assert.equal(findEntry((await store.loadRecordedDigest(TENANT)).buckets.get(bucket)?.packed ?? "", key), undefined);
  });

  it("a handed-over target's entry is deleted: the worker's outcome and the next night are recorded", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant()]);
    const recorder = new RunRecorder({ store, tenantId: TENANT, runId: "run-2", runStartedAt: NIGHT_2 });
    recorder.useDigest(new RunDigest(await store.loadRecordedDigest(TENANT), NIGHT_2));
    assert.equal(await recorder.handOver([{ kind: "mailbox", targetId: "m-1" }]), true);
    assert.equal((await store.loadRecordedDigest(TENANT)).openedBy, "run-2", "opened before anything is handed over");
    assert.equal(await recorder.commitDigest({ fullSweep: false }), true);
    assert.deepEqual((await night(store, NIGHT_3, [compliant()])).recorded, ["m-1"]);
  });

  it("a worker's collect-only digest: records everything, opens nothing; its entries, adopted by the finaliser, spare the next night", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant({ targetId: "m-0" })]);
    const headerBefore = (await store.loadRecordedDigest(TENANT)).headerEtag;
    store.recorded = [];
    const worker = new RunRecorder({ store, tenantId: TENANT, runId: "run-2", runStartedAt: NIGHT_2 });
    worker.useDigest(new RunDigest({ buckets: new Map() }, NIGHT_2), { collectOnly: true });
    worker.emit(remediated(), { findings: [CUSTOM] });
    worker.emit(compliant({ targetId: "m-2", status: "failed", error: { code: "X", message: "x" } }));
    await worker.drain();
    assert.deepEqual(store.recorded.map((outcome) => outcome.targetId), ["m-1", "m-2"], "every outcome recorded");
    assert.equal(await worker.commitDigest({ fullSweep: false }), false, "a worker commits nothing");
    assert.equal((await store.loadRecordedDigest(TENANT)).headerEtag, headerBefore, "nor opens the tenant's digest");
    const entries = worker.digestEntries ?? "";
    assert.equal(entries.length, DIGEST_ENTRY_CHARS, "one entry: the failed target has none");

    // The finaliser adopts the entries; the next night's compliant read of the same state is not recorded, the failed target is.
    const finaliser = new RunDigest(await store.loadRecordedDigest(TENANT), NIGHT_2);
    finaliser.adopt(entries);
    assert.equal(finaliser.entries(), entries);
    const snapshot = await store.loadRecordedDigest(TENANT);
    const etag = await store.openRecordedDigest(TENANT, "run-2", snapshot.headerEtag);
    await store.commitRecordedDigest(TENANT, finaliser.bucketWrites({ fullSweep: false }), etag);
    const next = await night(store, NIGHT_3, [compliant(), compliant({ targetId: "m-0" }), compliant({ targetId: "m-2" })]);
    assert.deepEqual(next.recorded, ["m-2"]);
  });
});

describe("lastVerifiedAt", () => {
  it("is the last full sweep when the digest shows that sweep saw the recorded state, else the recording run", async () => {
    const store = new CountingStore();
    await night(store, NIGHT_1, [compliant(), compliant({ targetId: "m-2" })]);
    await night(store, NIGHT_2, [compliant(), compliant({ targetId: "m-2", findings: [] })], { fullSweep: true });
    const digest: RecordedDigestSnapshot = await store.loadRecordedDigest(TENANT);
    assert.equal(lastVerifiedAt(digest, NIGHT_2, { ...compliant(), runStartedAt: NIGHT_1 }), NIGHT_2);
    assert.equal(lastVerifiedAt(digest, NIGHT_2, { ...compliant({ targetId: "m-2" }), runStartedAt: NIGHT_2 }), NIGHT_2);
    // A latest outcome the digest does not vouch for (another run recorded it): its own run.
    assert.equal(lastVerifiedAt(digest, NIGHT_3, { ...compliant({ targetId: "m-2" }), runStartedAt: NIGHT_1 }), NIGHT_1);
    assert.equal(lastVerifiedAt(digest, NIGHT_2, { ...compliant({ targetId: "m-9" }), runStartedAt: NIGHT_1 }), NIGHT_1);
    assert.equal(lastVerifiedAt(digest, undefined, { ...compliant(), runStartedAt: NIGHT_1 }), NIGHT_1);
    assert.equal(lastVerifiedAt(digest, NIGHT_2, { ...compliant({ status: "failed" }), runStartedAt: NIGHT_1 }), NIGHT_1);
  });
});
