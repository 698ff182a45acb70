import { test } from "node:test";
import assert from "node:assert/strict";
import { finishRun, FULL_SWEEP_WATERMARK, INCREMENTAL_WATERMARK } from "../../shared/reconcile/finish";
import { AuditRequestError, runAuditBaseline, type AuditBaselineDeps, type AuditBaselineRequest } from "../../shared/reconcile/reconcile";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import { ExchangeError } from "../../shared/exchange/errors";
import type { CmdletRequest } from "../../shared/exchange/transport";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import { FakeClock, FakeExchange, FakeStore } from "./fake-exchange";
import { groupMailbox, mailbox } from "./fixtures";

const TENANT = "contoso.onmicrosoft.com";

/** The read of every non-group mailbox (Get-Mailbox without -GroupMailbox). */
function isMailboxRead(call: CmdletRequest): boolean {
  return call.cmdlet === "Get-Mailbox" && call.parameters?.["GroupMailbox"] !== true;
}

function isGroupMailboxRead(call: CmdletRequest): boolean {
  return call.cmdlet === "Get-Mailbox" && call.parameters?.["GroupMailbox"] === true;
}
const policy = defaultAuditPolicy();

function setup() {
  const clock = new FakeClock(new Date("2026-06-01T00:00:00Z"));
  const exchange = new FakeExchange(clock);
  const store = new FakeStore();
  const licensedUser = mailbox({ AuditEnabled: false });
  const unlicensedUser = mailbox({ RecipientTypeDetails: "SharedMailbox" });
  const room = mailbox({ RecipientTypeDetails: "RoomMailbox", AuditEnabled: false, AuditLogAgeLimit: "180.00:00:00" });
  const group = groupMailbox({ AuditLogAgeLimit: "90.00:00:00" });
  exchange.add(licensedUser, true);
  exchange.add(unlicensedUser);
  exchange.add(room);
  exchange.add(group);
  exchange.organization = { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: true };
  exchange.bypass = [{ Identity: "mallory", AuditBypassEnabled: true }, { Identity: "alice", AuditBypassEnabled: false }];
  const licences = new Map([[licensedUser.ExternalDirectoryObjectId ?? "", true]]);
  const deps = { transport: exchange, store, policy, licences, clock, exchangeCalls: () => exchange.callCounts };
  return { clock, exchange, store, deps, licensedUser, unlicensedUser, room, group };
}

/** One run as the engine finishes it: the baseline, then its summary and watermarks (`finishRun`, the only writer of both). */
async function runBaseline(deps: AuditBaselineDeps, request: AuditBaselineRequest) {
  const result = await runAuditBaseline(deps, request);
  const finished = await finishRun(deps.store, result.summary, result.watermarks);
  return { ...result, summary: finished.summary };
}

function request(overrides: Partial<AuditBaselineRequest> = {}): AuditBaselineRequest {
  return { tenantId: TENANT, runId: `run-${Math.random()}`, mode: "apply", ...overrides };
}

function statusOf(store: FakeStore, runOutcomes: number, targetId: string) {
  return store.outcomes.slice(-runOutcomes).find((outcome) => outcome.targetId === targetId);
}

test("apply: remediates every drifted target, verifies by read-back, one outcome per target", async () => {
  const { exchange, store, deps, licensedUser, unlicensedUser, room, group } = setup();
  const { summary, outcomes } = await runBaseline(deps, request());

  assert.equal(summary.error, undefined);
  assert.equal(summary.scope, "full");
  assert.equal(store.outcomes.length, 4 + 2 + 1, "4 mailboxes, 2 bypass associations, the organisation");
  assert.equal(new Set(store.outcomes.map((outcome) => `${outcome.kind}/${outcome.targetId}`)).size, store.outcomes.length);
  assert.deepEqual(summary.counts, { compliant: 1, remediated: 6, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 });
  assert.equal(outcomes.length, 7);

  for (const target of [licensedUser, unlicensedUser, room, group]) {
    const outcome = store.outcomes.find((candidate) => candidate.targetId === target.ExternalDirectoryObjectId);
    assert.equal(outcome?.status, "remediated", target.RecipientTypeDetails);
    assert.ok(outcome?.after, "after comes from the read-back");
  }
  assert.equal(exchange.organization.AuditDisabled, false);
  assert.equal(exchange.bypass[0]?.AuditBypassEnabled, false);
  const shared = exchange.byTargetId(unlicensedUser.ExternalDirectoryObjectId ?? "");
  assert.ok(shared && !shared.AuditOwner.includes("MailItemsAccessed"), "no gated action sent to the unlicensed mailbox");
  const licensed = exchange.byTargetId(licensedUser.ExternalDirectoryObjectId ?? "");
  assert.ok(licensed?.AuditOwner.includes("MailItemsAccessed") && licensed.AuditEnabled);
  assert.deepEqual(exchange.byTargetId(group.ExternalDirectoryObjectId ?? "")?.AuditOwner, group.AuditOwner, "group actions untouched");
  assert.ok(store.outcomes.find((outcome) => outcome.targetId === unlicensedUser.ExternalDirectoryObjectId)?.findings.some((finding) => finding.kind === "licence-gap"));

  // Few calls: no per-mailbox reads; observe + verify once per source.
  assert.equal(exchange.calls.filter(isMailboxRead).length, 2);
  assert.equal(exchange.calls.filter(isGroupMailboxRead).length, 2);
  assert.equal(exchange.calls.filter((call) => call.cmdlet.startsWith("Get-EXO")).length, 0, "Get-EXO* are module cmdlets InvokeCommand does not serve");
  // A few changes are read back by identity (many, by what changed since the writes began: see the windows test).
  const verifyRead = exchange.calls.filter(isMailboxRead)[1];
  assert.match(String(verifyRead?.parameters?.["Filter"]), /^ExternalDirectoryObjectId -eq '[^']+'( -or ExternalDirectoryObjectId -eq '[^']+')*$/);
  assert.ok(summary.exchangeCalls["$batch"] !== undefined && summary.exchangeCalls["Set-Mailbox"] === undefined);

  assert.equal(store.runs.length, 1);
  assert.equal(store.watermarks.get(`${TENANT}/${INCREMENTAL_WATERMARK}`)?.value, summary.startedAt);
  assert.equal(store.watermarks.get(`${TENANT}/${FULL_SWEEP_WATERMARK}`)?.value, summary.startedAt);

  // Idempotence against the fake tenant: a second full plan finds nothing to change.
  const second = await runBaseline(deps, request({ mode: "plan", full: true }));
  assert.equal(second.summary.counts.drift, 0);
  assert.equal(second.summary.counts.remediated, 0);
  assert.equal(second.summary.counts.compliant, 7);
});

test("plan mode changes nothing and does not advance the watermark", async () => {
  const { exchange, store, deps } = setup();
  const { summary } = await runBaseline(deps, request({ mode: "plan" }));
  assert.equal(summary.counts.drift, 6);
  assert.equal(exchange.calls.filter((call) => call.cmdlet.startsWith("Set-")).length, 0);
  assert.equal(store.watermarks.size, 0);
});

test("verify mismatch: an acknowledged write missing from the read-back is failed VerifyMismatch", async () => {
  const { exchange, store, deps, licensedUser } = setup();
  exchange.dropWrite.add(licensedUser.Guid ?? "");
  const { summary } = await runBaseline(deps, request());
  const outcome = store.outcomes.find((candidate) => candidate.targetId === licensedUser.ExternalDirectoryObjectId);
  assert.equal(outcome?.status, "failed");
  assert.equal(outcome?.error?.code, "VerifyMismatch");
  assert.equal(summary.counts.failed, 1);
});

test("partial batch failure: the failed mailbox carries Exchange's error id, text and request id", async () => {
  const { exchange, store, deps, room, unlicensedUser } = setup();
  exchange.failSet.set(room.Guid ?? "", new ExchangeError({
    errorId: "ADOperation", exceptionType: "ADOperationException", text: "Active Directory operation failed", status: 500, requestId: "req-42",
  }));
  const { summary } = await runBaseline(deps, request());
  const failedOutcome = store.outcomes.find((candidate) => candidate.targetId === room.ExternalDirectoryObjectId);
  assert.deepEqual(failedOutcome?.error, { code: "ADOperation", message: "Active Directory operation failed", status: 500, requestId: "req-42" });
  assert.equal(failedOutcome?.status, "failed");
  assert.equal(store.outcomes.find((candidate) => candidate.targetId === unlicensedUser.ExternalDirectoryObjectId)?.status, "remediated");
  assert.equal(summary.counts.failed, 1);
  assert.ok(!store.watermarks.has(`${TENANT}/${INCREMENTAL_WATERMARK}`), "a failed target keeps the watermark, so the next run retries it");
});

test("'already being audited' on a write that landed is settled by the read-back, not reported as a failure", async () => {
  const { exchange, store, deps, room, unlicensedUser } = setup();
  const alreadyAudited = new ExchangeError({
    errorId: "", exceptionType: "InvalidOperationException", text: "The input operation(s) is/are already being audited", status: 400, requestId: "req-7",
  });
  exchange.landThenFail.set(room.Guid ?? "", alreadyAudited);
  exchange.failSet.set(unlicensedUser.Guid ?? "", alreadyAudited);
  const { summary } = await runBaseline(deps, request());
  assert.equal(store.outcomes.find((candidate) => candidate.targetId === room.ExternalDirectoryObjectId)?.status, "remediated");
  const notLanded = store.outcomes.find((candidate) => candidate.targetId === unlicensedUser.ExternalDirectoryObjectId);
  assert.equal(notLanded?.status, "failed");
  assert.equal(notLanded?.error?.code, "VerifyMismatch");
  assert.equal(summary.counts.failed, 1);
});

test("licence rejection despite the licence input: retried once without gated actions, licence-gap recorded", async () => {
  const { exchange, store, deps, licensedUser } = setup();
  exchange.licensed.clear();
  await runBaseline(deps, request());
  const setCalls = exchange.calls.filter((call) => call.cmdlet === "Set-Mailbox" && call.parameters?.["Identity"] === licensedUser.Guid);
  assert.equal(setCalls.length, 2, "original + one retry");
  const outcome = store.outcomes.find((candidate) => candidate.targetId === licensedUser.ExternalDirectoryObjectId);
  assert.equal(outcome?.status, "remediated");
  assert.ok(outcome?.findings.some((finding) => finding.kind === "licence-gap" && /rejected/.test(finding.message)));
  const state = exchange.byTargetId(licensedUser.ExternalDirectoryObjectId ?? "");
  assert.ok(state?.AuditEnabled && state.AuditOwner.includes("RecordDelete") && !state.AuditOwner.includes("MailItemsAccessed"));
});

test("incremental runs: filter from watermark minus overlap; weekly full sweep; failures keep the watermark", async () => {
  const { clock, exchange, store, deps } = setup();
  await runBaseline(deps, request());
  const firstWatermark = store.watermarks.get(`${TENANT}/${INCREMENTAL_WATERMARK}`)?.value;

  clock.advance(60 * 60_000);
  exchange.calls.length = 0;
  const incremental = await runBaseline(deps, request());
  assert.equal(incremental.summary.scope, "incremental");
  const read = exchange.calls.find(isMailboxRead);
  assert.equal(read?.parameters?.["Filter"], `WhenChangedUTC -ge '5/31/2026 11:45:00 PM'`);
  assert.ok(store.outcomes.filter((outcome) => outcome.kind === "bypass-association").length >= 2);
  assert.notEqual(store.watermarks.get(`${TENANT}/${INCREMENTAL_WATERMARK}`)?.value, firstWatermark);

  // Observe failure: run error, watermark untouched.
  clock.advance(60 * 60_000);
  const before = store.watermarks.get(`${TENANT}/${INCREMENTAL_WATERMARK}`)?.value;
  exchange.throwOnRead = "Get-Mailbox";
  const broken = await runBaseline(deps, request());
  assert.equal(broken.summary.error?.code, "ServerBusy");
  assert.equal(store.watermarks.get(`${TENANT}/${INCREMENTAL_WATERMARK}`)?.value, before);
  exchange.throwOnRead = undefined;

  clock.advance(7 * 86_400_000);
  exchange.calls.length = 0;
  const weekly = await runBaseline(deps, request());
  assert.equal(weekly.summary.scope, "full");
  assert.equal(exchange.calls.find(isMailboxRead)?.parameters?.["Filter"], undefined);
});

test("incremental runs look up the bypass state of changed mailboxes only; a night with no change makes no bypass call", async () => {
  const { clock, exchange, store, deps, licensedUser } = setup();
  await runBaseline(deps, request());
  clock.advance(86_400_000);
  await runBaseline(deps, request()); // re-reads the first run's own writes (inside the watermark overlap)
  clock.advance(86_400_000);
  exchange.calls.length = 0;
  const quiet = await runBaseline(deps, request());
  assert.equal(quiet.summary.scope, "incremental");
  assert.ok(!exchange.calls.some((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation"), "no bypass call on a quiet night");

  // A bypass switched on for a mailbox's account changes that account, so its mailbox shows up as changed.
  exchange.bypass.push({ Identity: licensedUser.UserPrincipalName ?? "", AuditBypassEnabled: true });
  const changed = exchange.byTargetId(licensedUser.ExternalDirectoryObjectId ?? "");
  assert.ok(changed);
  changed.WhenChangedUTC = clock.now().toISOString();
  clock.advance(86_400_000);
  exchange.calls.length = 0;
  const { summary } = await runBaseline(deps, request());
  const lookups = exchange.calls.filter((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation");
  // One lookup by the changed mailbox's GUID, one read-back by the GUID written to; never a listing.
  assert.deepEqual(lookups.map((call) => call.parameters?.["Identity"]), [licensedUser.Guid, licensedUser.Guid]);
  assert.deepEqual(exchange.calls.filter((call) => call.cmdlet === "Set-MailboxAuditBypassAssociation").map((call) => call.parameters?.["Identity"]), [licensedUser.Guid]);
  assert.equal(summary.counts.remediated, 1);
  assert.equal(exchange.bypass.find((association) => association.Identity === licensedUser.UserPrincipalName)?.AuditBypassEnabled, false);
  assert.equal(store.outcomes.at(-1)?.kind, "bypass-association");
});

test("a bypass look-up that answers with other associations than the one asked for is a run error, and nothing is written", async () => {
  const { clock, exchange, deps, licensedUser } = setup();
  await runBaseline(deps, request());
  exchange.bypass.push({ Identity: "someone-else", Guid: "guid-someone-else", AuditBypassEnabled: true });
  const changed = exchange.byTargetId(licensedUser.ExternalDirectoryObjectId ?? "");
  assert.ok(changed);
  changed.WhenChangedUTC = clock.now().toISOString();
  clock.advance(86_400_000);
  exchange.bypassLookupListsAll = true;
  exchange.calls.length = 0;
  const { summary } = await runBaseline(deps, request());
  assert.equal(summary.error?.code, "IdentityMismatch");
  assert.ok(exchange.calls.some((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation" && call.parameters?.["Identity"] === licensedUser.Guid));
  assert.ok(!exchange.calls.some((call) => call.cmdlet === "Set-MailboxAuditBypassAssociation"), "nothing acted on the wrong association");
});

test("outcomes that cannot be recorded fail the run and keep the watermark", async () => {
  const { store, deps } = setup();
  store.failRecordOutcomes = true;
  const { summary } = await runBaseline(deps, request());
  assert.equal(summary.error?.code, "RecordFailed");
  assert.equal(store.watermarks.size, 0);
  assert.equal(store.runs.length, 1);
});

test("named mailboxes: injection rejected before any call; names read with an escaped OR filter", async () => {
  const { exchange, store, deps, licensedUser } = setup();
  await assert.rejects(runBaseline(deps, request({ mailboxes: ["a' -or Name -like '*"] })), AuditRequestError);
  assert.equal(exchange.calls.length, 0);
  assert.equal(store.runs.length, 0);

  const { summary } = await runBaseline(deps, request({ mailboxes: [licensedUser.PrimarySmtpAddress ?? "", "nobody@contoso.com"] }));
  assert.equal(summary.scope, "mailboxes");
  const read = exchange.calls.find(isMailboxRead);
  assert.equal(read?.parameters?.["Filter"], `PrimarySmtpAddress -eq '${licensedUser.PrimarySmtpAddress}' -or PrimarySmtpAddress -eq 'nobody@contoso.com'`);
  assert.equal(statusOf(store, 3, licensedUser.ExternalDirectoryObjectId ?? "")?.status, "remediated");
  assert.equal(statusOf(store, 3, "nobody@contoso.com")?.error?.code, "MailboxNotFound");
  assert.equal(exchange.calls.filter((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation").length, 0);
  assert.equal(store.watermarks.size, 0, "named runs do not move the watermark");
});

test("change limit: beyond it targets stay drift with ChangeLimitReached, counted, and the watermarks stay", async () => {
  const { store, deps } = setup();
  const { summary, watermarks } = await runBaseline(deps, request({ changeLimit: 2 }));
  assert.equal(summary.counts.remediated, 2);
  assert.equal(summary.counts.drift, 4);
  assert.equal(store.outcomes.filter((outcome) => outcome.error?.code === "ChangeLimitReached").length, 4);
  assert.equal(summary.changesHeldBack, 4);
  assert.equal(watermarks.mayAdvance, false, "the next run reads the held-back targets again");
  assert.ok(!store.watermarks.has(`${TENANT}/${INCREMENTAL_WATERMARK}`));
  const next = await runBaseline(deps, request());
  assert.equal(next.summary.changesHeldBack, undefined);
  assert.equal(next.summary.scope, "full");
  assert.equal(next.summary.counts.remediated, 4, "the next run changes what was held back");
});

test("the returned sample keeps the organisation (it names the tenant) however many targets drift", async () => {
  const { exchange, deps } = setup();
  exchange.organization = { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true };
  for (let index = 0; index < 30; index += 1) exchange.add(mailbox({ AuditEnabled: false }));
  const { outcomes, outcomesTruncated } = await runBaseline(deps, request({ mode: "plan", sampleSize: 5 }));
  assert.ok(outcomesTruncated);
  assert.deepEqual(outcomes.filter((outcome) => outcome.kind === "organization").map((outcome) => outcome.status), ["compliant"]);
});

test("outcomes are recorded in chunks while streaming and the returned sample is bounded, non-compliant first", async () => {
  const { exchange, store, deps } = setup();
  for (let index = 0; index < 250; index += 1) {
    exchange.add(mailbox({ RecipientTypeDetails: "RoomMailbox", AuditLogAgeLimit: "180.00:00:00" }));
  }
  exchange.pageSize = 50;
  // Room mailboxes that need nothing when the policy leaves their action lists alone: 250 compliant outcomes.
  const usersOnly = { ...policy, mailboxes: { ...policy.mailboxes, actionRecipientTypes: ["UserMailbox", "SharedMailbox"] } };
  const { summary, outcomes, outcomesTruncated } = await runBaseline({ ...deps, policy: usersOnly }, request({ mode: "plan", sampleSize: 10 }));
  assert.equal(store.outcomes.length, 257);
  assert.ok(store.chunkSizes.length >= 6 && Math.max(...store.chunkSizes) <= 100);
  assert.equal(outcomes.length, 10);
  assert.ok(outcomesTruncated);
  assert.equal(outcomes.filter((outcome) => outcome.status !== "compliant").length, summary.counts.drift);
});

test("verification reads back in windows of 2,000 changed mailboxes, each window from the last change the previous one saw", async () => {
  const { clock, exchange, store, deps } = setup();
  exchange.pageSize = 1000;
  for (let index = 0; index < 2500; index += 1) exchange.add(mailbox({ AuditEnabled: false }));
  const transport = {
    pages: exchange.pages.bind(exchange),
    invoke: exchange.invoke.bind(exchange),
    batch: async <T>(...args: Parameters<typeof exchange.batch>) => {
      const results = await exchange.batch<T>(...args);
      clock.advance(1_000); // Exchange's clock moves while the run writes
      return results;
    },
  };
  const { summary } = await runBaseline({ ...deps, transport }, request({ full: true }));
  assert.equal(summary.counts.failed, 0);
  assert.ok(summary.counts.remediated >= 2500);
  const verifyFilters = exchange.calls
    .filter((call) => isMailboxRead(call) && /^WhenChangedUTC -ge/.test(String(call.parameters?.["Filter"])))
    .map((call) => String(call.parameters?.["Filter"]));
  assert.equal(verifyFilters.length, 2, "one mid-run window and the final one");
  const [first, second] = verifyFilters.map((filter) => Date.parse(`${/'([^']+)'/.exec(filter)?.[1] ?? ""} UTC`));
  // Without the carry-over it would start 5 minutes before its own first write, re-reading the first window.
  assert.ok(second! - first! >= 5 * 60_000, "the second window starts at the last change the first one saw");
  assert.equal(store.outcomes.filter((outcome) => outcome.status === "remediated").length, summary.counts.remediated);
});

test("the night after an apply looks up no bypass state for the mailboxes it wrote (read again exactly as recorded); one changed since is looked up", async () => {
  const { clock, exchange, deps, licensedUser, unlicensedUser, room } = setup();
  const withDigest = { ...deps, store: new MemoryOutcomeStore() };
  await runBaseline(withDigest, request());
  clock.advance(86_400_000);
  // Someone touches the room after the apply: its WhenChanged moves past what the apply's read-back recorded.
  const touched = exchange.byTargetId(room.ExternalDirectoryObjectId ?? "");
  assert.ok(touched);
  touched.WhenChangedUTC = clock.now().toISOString();
  exchange.calls.length = 0;
  const after = await runBaseline(withDigest, request());
  assert.equal(after.summary.scope, "incremental");
  const reRead = after.outcomes.filter((outcome) => outcome.kind === "mailbox").map((outcome) => outcome.targetId);
  for (const written of [licensedUser, unlicensedUser]) assert.ok(reRead.includes(written.ExternalDirectoryObjectId ?? ""), "the apply's writes are read again (watermark overlap)");
  const lookups = exchange.calls.filter((call) => call.cmdlet === "Get-MailboxAuditBypassAssociation");
  assert.deepEqual(lookups.map((call) => call.parameters?.["Identity"]), [room.Guid]);
});

test("a store that keeps no digest (the CLI without storage): every outcome is recorded, every night, and no digest is opened", async () => {
  const { clock, deps } = setup();
  const store = new MemoryOutcomeStore({ retain: "run" });
  const recorded: string[] = [];
  const recordOutcomes = store.recordOutcomes.bind(store);
  store.recordOutcomes = (tenantId, runId, runStartedAt, outcomes) => {
    recorded.push(...outcomes.map((outcome) => outcome.targetId));
    return recordOutcomes(tenantId, runId, runStartedAt, outcomes);
  };
  let digestCalls = 0;
  store.openRecordedDigest = () => Promise.resolve(String((digestCalls += 1)));
  store.commitRecordedDigest = () => Promise.resolve(void (digestCalls += 1));
  const first = await runBaseline({ ...deps, store }, request({ mode: "plan" }));
  clock.advance(86_400_000);
  const second = await runBaseline({ ...deps, store }, request({ mode: "plan" }));
  const emitted = (run: typeof first) => Object.values(run.summary.counts).reduce((sum, count) => sum + count, 0);
  assert.equal(recorded.length, emitted(first) + emitted(second));
  assert.equal(digestCalls, 0);
});
