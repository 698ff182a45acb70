/**
 * Issue 14: nothing is reported remediated unless the read-back matches. Exchange acknowledges each write here with
 * its real answer (and `WhenChangedUTC` moves), but one property of it does not stick (the emulator's lossy-write
 * fault); every reconciler must then report its target failed with `VerifyMismatch`, never remediated.
 * Black box: the product is driven through `runEnforcement` (the e2e stack), the state checked in the emulator.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant, GENERATED_MAIL_ENABLED_GROUP } from "../../emulator/generate";
import type { EmulatedMailbox } from "../../emulator/tenant-state";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { startE2e, tenantGaps, type E2eStack } from "./stack";

const CAPTURE = "soc-capture@contoso.onmicrosoft.com";
const RULE = "mailbox-audit-enforcer: capture all mail";
const SHORT_AGE_LIMIT = "30.00:00:00";

/** One apply (full sweep, every outcome returned). */
async function apply(e2e: E2eStack): Promise<readonly TargetOutcome[]> {
  const { outcomes, outcomesTruncated } = await e2e.run({ mode: "apply", full: true, sampleSize: 10_000 });
  assert.equal(outcomesTruncated, false);
  return outcomes;
}

/** The run's outcome for a target; the test fails when the run did not report it at all. */
function outcomeOf(outcomes: readonly TargetOutcome[], kind: TargetOutcome["kind"], targetId?: string): TargetOutcome {
  const found = outcomes.filter((outcome) => outcome.kind === kind && (targetId === undefined || outcome.targetId.toLowerCase() === targetId.toLowerCase()));
  assert.equal(found.length, 1, `exactly one ${kind} outcome${targetId ? ` for ${targetId}` : ""} in ${JSON.stringify(outcomes.map((outcome) => `${outcome.kind}/${outcome.targetId}`))}`);
  return found[0]!;
}

function assertVerifyMismatch(outcome: TargetOutcome, setting: RegExp): void {
  assert.equal(outcome.status, "failed", JSON.stringify(outcome));
  assert.equal(outcome.error?.code, "VerifyMismatch", JSON.stringify(outcome.error));
  assert.match(outcome.error?.message ?? "", setting);
}

/** Every fault added has fired, and nothing else is left to fire in a later test. */
function assertFaultsFired(e2e: E2eStack): void {
  assert.equal(e2e.stack.emulator.faults.pending, 0, "the lossy write happened");
  e2e.stack.emulator.faults.clear();
}

describe("read-back that still differs: the audit reconcilers", async () => {
  const tenant = generateTenant({ seed: 41, counts: { user: 4, shared: 2 }, driftShare: 0, bypassCount: 0, auditPremiumShare: 1 });
  const e2e = await startE2e(tenant, {}, { latencyInMs: 1 });
  const { faults } = e2e.stack.emulator;
  const users = [...tenant.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox");
  const forMailbox = (mailbox: EmulatedMailbox) => (call: { parameters: Readonly<Record<string, unknown>> }) =>
    [mailbox.Guid, mailbox.ExternalDirectoryObjectId, mailbox.PrimarySmtpAddress, mailbox.Identity].some(
      (identity) => String(call.parameters["Identity"]).toLowerCase() === identity.toLowerCase(),
    );
  /** Marks a mailbox changed by someone else (what a write does to it), so every kind of run reads it. */
  const touch = (mailbox: EmulatedMailbox) => (mailbox.WhenChangedUTC = new Date().toISOString());

  it("starts converged", async () => {
    const outcomes = await apply(e2e);
    assert.deepEqual(outcomes.filter((outcome) => outcome.status === "failed"), []);
    const again = await apply(e2e);
    assert.deepEqual(again.filter((outcome) => outcome.status !== "compliant" && outcome.status !== "exempt" && outcome.status !== "not-applicable").map((o) => o.targetId), []);
  });

  it("mailbox: the age limit does not stick (the rest of the Set-Mailbox does) -> failed VerifyMismatch", async () => {
    const victim = users[0]!;
    victim.AuditEnabled = false;
    victim.AuditLogAgeLimit = SHORT_AGE_LIMIT;
    touch(victim);
    const changedBefore = victim.WhenChangedUTC;
    faults.add({ kind: "lossy", cmdlet: "Set-Mailbox", property: "AuditLogAgeLimit", times: 1, when: forMailbox(victim) });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(victim.AuditEnabled, true, "the write was acknowledged and the rest of it landed");
    assert.equal(victim.AuditLogAgeLimit, SHORT_AGE_LIMIT, "the age limit was lost");
    assert.ok(victim.WhenChangedUTC > changedBefore, "WhenChangedUTC moved, so the read-back finds the mailbox");
    assertVerifyMismatch(outcomeOf(outcomes, "mailbox", victim.ExternalDirectoryObjectId), /AuditLogAgeLimit/);
  });

  it("mailbox: only the age limit was drifted, and it does not stick -> failed VerifyMismatch", async () => {
    const victim = users[0]!;
    assert.equal(victim.AuditLogAgeLimit, SHORT_AGE_LIMIT, "still short from the previous write");
    assert.equal(victim.AuditEnabled, true);
    touch(victim);
    const changedBefore = victim.WhenChangedUTC;
    faults.add({ kind: "lossy", cmdlet: "Set-Mailbox", property: "AuditLogAgeLimit", times: 1, when: forMailbox(victim) });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(victim.AuditLogAgeLimit, SHORT_AGE_LIMIT);
    assert.ok(victim.WhenChangedUTC > changedBefore, "WhenChangedUTC moved");
    assertVerifyMismatch(outcomeOf(outcomes, "mailbox", victim.ExternalDirectoryObjectId), /AuditLogAgeLimit/);
  });

  it("mailbox: one of two added audit actions does not stick -> failed VerifyMismatch", async () => {
    const victim = users[1]!;
    const missing = ["MailboxLogin", "UpdateInboxRules"];
    assert.ok(missing.every((action) => victim.AuditOwner.includes(action)), "converged before the tampering");
    victim.AuditOwner = victim.AuditOwner.filter((action) => !missing.includes(action));
    touch(victim);
    faults.add({ kind: "lossy", cmdlet: "Set-Mailbox", property: "AuditOwner", times: 1, when: forMailbox(victim) });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    const stillMissing = missing.filter((action) => !victim.AuditOwner.includes(action));
    assert.equal(stillMissing.length, 1, `exactly one action lost: ${victim.AuditOwner.join(",")}`);
    assertVerifyMismatch(outcomeOf(outcomes, "mailbox", victim.ExternalDirectoryObjectId), /AuditOwner/);
  });

  it("bypass: the association stays bypassed after an acknowledged Set-MailboxAuditBypassAssociation -> failed VerifyMismatch", async () => {
    const account = users[2]!;
    tenant.bypassAssociations.set(account.Identity, {
      Identity: account.Identity,
      Name: account.Name,
      Guid: account.Guid,
      AuditBypassEnabled: true,
      WhenChangedUTC: new Date().toISOString(),
    });
    touch(account);
    faults.add({ kind: "lossy", cmdlet: "Set-MailboxAuditBypassAssociation", property: "AuditBypassEnabled", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.bypassAssociations.get(account.Identity)?.AuditBypassEnabled, true, "the write was lost");
    const bypass = outcomes.filter((outcome) => outcome.kind === "bypass-association" && outcome.status !== "compliant");
    assert.equal(bypass.length, 1, JSON.stringify(bypass));
    assertVerifyMismatch(bypass[0]!, /./);
  });

  it("organisation: AuditDisabled does not stick -> failed VerifyMismatch", async () => {
    tenant.organizationConfig.AuditDisabled = true;
    faults.add({ kind: "lossy", cmdlet: "Set-OrganizationConfig", property: "AuditDisabled", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.organizationConfig.AuditDisabled, true);
    assertVerifyMismatch(outcomeOf(outcomes, "organization"), /AuditDisabled/);
  });

  it("organisation: the unified audit log does not stick -> failed VerifyMismatch", async () => {
    tenant.organizationConfig.AuditDisabled = false;
    tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled = false;
    faults.add({ kind: "lossy", cmdlet: "Set-AdminAuditLogConfig", property: "UnifiedAuditLogIngestionEnabled", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false);
    assertVerifyMismatch(outcomeOf(outcomes, "organization"), /UnifiedAuditLogIngestionEnabled/);
  });

  it("without the fault, apply repairs what was lost", async () => {
    // (Each apply above ran without the previous test's fault, so it already repaired the earlier losses.)
    assert.ok(tenantGaps(tenant).length > 0, "the last loss is still there");
    const outcomes = await apply(e2e);
    assert.deepEqual(outcomes.filter((outcome) => outcome.status === "failed"), []);
    assert.equal(outcomeOf(outcomes, "organization").status, "remediated");
    assert.deepEqual(tenantGaps(tenant), []);
  });
});

describe("read-back that still differs: the capture reconcilers (transport rules, capture mailbox)", async () => {
  const tenant = generateTenant({ seed: 42, counts: { user: 3 }, driftShare: 0, bypassCount: 0 });
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "transport-rules",
    CAPTURE_MAILBOX: CAPTURE,
    CAPTURE_ACCESS_GROUP: GENERATED_MAIL_ENABLED_GROUP,
    CAPTURE_CREATE_MAILBOX: "true",
  });
  const { faults } = e2e.stack.emulator;
  const managedRule = () => tenant.transportRules.find((rule) => rule.Name === RULE);
  const captureMailbox = () => [...tenant.mailboxes.values()].find((mailbox) => mailbox.PrimarySmtpAddress === CAPTURE);
  const captureOutcome = (outcomes: readonly TargetOutcome[]) => outcomeOf(outcomes, "capture-mailbox");
  const ruleOutcome = (outcomes: readonly TargetOutcome[]) => {
    const found = outcomes.filter((outcome) => outcome.kind === "transport-rule" && outcome.displayName === RULE);
    assert.equal(found.length, 1, JSON.stringify(outcomes.map((outcome) => outcome.displayName)));
    return found[0]!;
  };

  it("builds the capture", async () => {
    const outcomes = await apply(e2e);
    assert.deepEqual(outcomes.filter((outcome) => outcome.status === "failed"), []);
    assert.ok(managedRule() && captureMailbox());
  });

  it("transport rule: the scope does not stick on Set-TransportRule -> failed VerifyMismatch", async () => {
    const rule = managedRule()!;
    rule.FromScope = "NotInOrganization";
    const changedBefore = rule.WhenChangedUTC;
    faults.add({ kind: "lossy", cmdlet: "Set-TransportRule", property: "FromScope", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(managedRule()?.FromScope, "NotInOrganization", "the scope was lost");
    assert.ok(managedRule()!.WhenChangedUTC >= changedBefore);
    assertVerifyMismatch(ruleOutcome(outcomes), /Read-back still differs/);
  });

  it("transport rule: a created rule loses its Bcc recipient -> failed VerifyMismatch", async () => {
    tenant.transportRules = tenant.transportRules.filter((rule) => rule.Name !== RULE);
    faults.add({ kind: "lossy", cmdlet: "New-TransportRule", property: "BlindCopyTo", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.ok(!(managedRule()?.BlindCopyTo ?? []).some((address) => address.toLowerCase() === CAPTURE), "the Bcc was lost");
    assert.equal(ruleOutcome(outcomes).status, "failed", JSON.stringify(ruleOutcome(outcomes)));
    assert.notEqual(ruleOutcome(outcomes).error, undefined);
  });

  it("capture mailbox: the FullAccess grant does not stick -> failed VerifyMismatch", async () => {
    await apply(e2e); // repairs the rule left by the previous test
    const mailbox = captureMailbox()!;
    const grants = () => tenant.mailboxPermissions.filter((permission) => permission.Identity === mailbox.Identity && permission.User === GENERATED_MAIL_ENABLED_GROUP);
    assert.equal(grants().length, 1, "granted before the tampering");
    tenant.mailboxPermissions = tenant.mailboxPermissions.filter((permission) => !grants().includes(permission));
    faults.add({ kind: "lossy", cmdlet: "Add-MailboxPermission", property: "AccessRights", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(grants().length, 0, "the grant was lost");
    assertVerifyMismatch(captureOutcome(outcomes), /Read-back still differs/);
  });

  it("capture mailbox: hiding it from address lists does not stick -> failed VerifyMismatch", async () => {
    await apply(e2e);
    const mailbox = captureMailbox()!;
    mailbox.HiddenFromAddressListsEnabled = false;
    faults.add({ kind: "lossy", cmdlet: "Set-Mailbox", property: "HiddenFromAddressListsEnabled", times: 1, when: (call) => call.parameters["HiddenFromAddressListsEnabled"] !== undefined });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(captureMailbox()?.HiddenFromAddressListsEnabled, false);
    assertVerifyMismatch(captureOutcome(outcomes), /Read-back still differs/);
  });
});

describe("read-back that still differs: journaling", async () => {
  const tenant = generateTenant({ seed: 43, counts: { user: 2 }, driftShare: 0, bypassCount: 0 });
  const ndr = "journal-ndr@contoso.onmicrosoft.com";
  const ndrId = "00000000-0000-4000-8000-0000000000aa";
  tenant.users.set(ndrId, {
    id: ndrId,
    userPrincipalName: ndr,
    displayName: "Journal NDR",
    mail: ndr,
    accountEnabled: true,
    assignedPlans: [],
    lastModifiedDateTime: new Date().toISOString(),
  });
  const e2e = await startE2e(tenant, {
    CAPTURE_MODE: "journaling",
    JOURNAL_EMAIL_ADDRESS: "journal@onprem.contoso.com",
    JOURNAL_NDR_MAILBOX: ndr,
  });
  const { faults } = e2e.stack.emulator;
  const journalOutcome = (outcomes: readonly TargetOutcome[]) => outcomeOf(outcomes, "journal-rule");

  it("journal rule: the scope does not stick on Set-JournalRule -> failed VerifyMismatch", async () => {
    const first = await apply(e2e);
    assert.deepEqual(first.filter((outcome) => outcome.status === "failed"), []);
    const rule = tenant.journalRules[0];
    assert.ok(rule && rule.Scope === "Global");
    rule.Scope = "Internal";
    faults.add({ kind: "lossy", cmdlet: "Set-JournalRule", property: "Scope", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.journalRules[0]?.Scope, "Internal");
    assertVerifyMismatch(journalOutcome(outcomes), /Read-back still differs/);
  });

  it("journal rule: a created rule loses its journal address -> failed, never remediated", async () => {
    tenant.journalRules = [];
    faults.add({ kind: "lossy", cmdlet: "New-JournalRule", property: "JournalEmailAddress", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.journalRules.length, 1);
    assert.notEqual(tenant.journalRules[0]?.JournalEmailAddress, "journal@onprem.contoso.com");
    assertVerifyMismatch(journalOutcome(outcomes), /Read-back still differs/);
  });

  it("transport config: the NDR address does not stick -> failed, never remediated", async () => {
    tenant.transportConfig.JournalingReportNdrTo = null;
    faults.add({ kind: "lossy", cmdlet: "Set-TransportConfig", property: "JournalingReportNdrTo", times: 1 });
    const outcomes = await apply(e2e);
    assertFaultsFired(e2e);
    assert.equal(tenant.transportConfig.JournalingReportNdrTo, null);
    const config = outcomes.filter((outcome) => outcome.targetId === "transport-config");
    assert.equal(config.length, 1, JSON.stringify(outcomes.map((outcome) => outcome.targetId)));
    assertVerifyMismatch(config[0]!, /Read-back still differs/);
  });
});
