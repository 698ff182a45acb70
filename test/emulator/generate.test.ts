import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { defaultAuditActions } from "../../emulator/audit-actions";
import { GENERATED_MAIL_ENABLED_GROUP, generateTenant, loadTenantFixture } from "../../emulator/generate";
import { AUDIT_PREMIUM_PLAN_ID, AUDIT_PREMIUM_PLAN_NAME, type EmulatedMailbox } from "../../emulator/tenant-state";
import { assertEvery } from "../support/assertions";

const E3_ADMIN = [
  "Update",
  "MoveToDeletedItems",
  "SoftDelete",
  "HardDelete",
  "SendAs",
  "SendOnBehalf",
  "Create",
  "UpdateFolderPermissions",
  "UpdateInboxRules",
  "UpdateCalendarDelegation",
  "ApplyRecord",
];
const E3_DELEGATE = [
  "Update",
  "MoveToDeletedItems",
  "SoftDelete",
  "HardDelete",
  "SendAs",
  "SendOnBehalf",
  "Create",
  "UpdateFolderPermissions",
  "UpdateInboxRules",
  "ApplyRecord",
];
const E3_OWNER = [
  "Update",
  "MoveToDeletedItems",
  "SoftDelete",
  "HardDelete",
  "UpdateFolderPermissions",
  "UpdateInboxRules",
  "UpdateCalendarDelegation",
  "ApplyRecord",
];

function isClean(mailbox: EmulatedMailbox): boolean {
  return (
    mailbox.AuditEnabled &&
    mailbox.AuditLogAgeLimit === "90.00:00:00" &&
    mailbox.DefaultAuditSet.join() === "Admin,Delegate,Owner" &&
    (["Admin", "Delegate", "Owner"] as const).every(
      (type) =>
        mailbox[`Audit${type}`].join() ===
        defaultAuditActions(type, mailbox.RecipientTypeDetails, mailbox.auditPremiumLicensed).join(),
    )
  );
}

describe("generateTenant", () => {
  const options = {
    seed: 7,
    counts: { user: 200, shared: 20, room: 10, equipment: 5, discovery: 1, group: 10 },
    driftShare: 0.25,
    bypassCount: 3,
    auditPremiumShare: 0.5,
  };

  it("is deterministic for a seed and differs across seeds", () => {
    const first = generateTenant(options);
    const again = generateTenant(options);
    const other = generateTenant({ ...options, seed: 8 });
    assert.deepEqual([...again.mailboxes.values()], [...first.mailboxes.values()]);
    assert.equal(again.tenantId, first.tenantId);
    assert.notDeepEqual([...other.mailboxes.keys()], [...first.mailboxes.keys()]);
  });

  it("creates the requested counts, a Graph user per non-group mailbox, and both security groups", () => {
    const tenant = generateTenant(options);
    const byType = new Map<string, number>();
    for (const mailbox of tenant.mailboxes.values())
      byType.set(mailbox.RecipientTypeDetails, (byType.get(mailbox.RecipientTypeDetails) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(byType), {
      UserMailbox: 200,
      SharedMailbox: 20,
      RoomMailbox: 10,
      EquipmentMailbox: 5,
      DiscoveryMailbox: 1,
      GroupMailbox: 10,
    });
    assert.equal(tenant.users.size, 236);
    for (const mailbox of tenant.mailboxes.values()) {
      assert.equal(
        tenant.users.has(mailbox.ExternalDirectoryObjectId),
        mailbox.RecipientTypeDetails !== "GroupMailbox",
      );
    }
    const groups = [...tenant.groups.values()];
    assert.ok(
      groups.some(
        (group) =>
          group.Name === GENERATED_MAIL_ENABLED_GROUP &&
          group.mailEnabled &&
          group.RecipientTypeDetails === "MailUniversalSecurityGroup",
      ),
    );
    assert.ok(
      groups.some(
        (group) =>
          !group.mailEnabled &&
          group.securityEnabled &&
          group.RecipientTypeDetails === "SecurityGroup" &&
          group.PrimarySmtpAddress === "",
      ),
    );
  });

  it("drifts exactly the requested share of each type and leaves the rest on Microsoft's defaults", () => {
    const tenant = generateTenant(options);
    const mailboxes = [...tenant.mailboxes.values()];
    const users = mailboxes.filter((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox");
    assert.equal(users.filter((mailbox) => !isClean(mailbox)).length, 50);
    assert.equal(mailboxes.filter((mailbox) => !isClean(mailbox)).length, 50 + 5 + 3 + 1 + 0 + 3);
    const groupMailboxes = mailboxes.filter((mailbox) => mailbox.RecipientTypeDetails === "GroupMailbox");
    for (const mailbox of groupMailboxes) {
      // Group mailboxes only ever drift in their age limit.
      assert.deepEqual(mailbox.AuditAdmin, [
        "Update",
        "MoveToDeletedItems",
        "SoftDelete",
        "HardDelete",
        "SendAs",
        "SendOnBehalf",
        "Create",
      ]);
      assert.deepEqual(mailbox.AuditOwner, ["Update", "MoveToDeletedItems", "SoftDelete", "HardDelete"]);
    }
    assert.equal(generateTenant({ ...options, driftShare: 0 }).mailboxes.size, 246);
    assertEvery([...generateTenant({ ...options, driftShare: 0 }).mailboxes.values()], isClean, "mailboxes without drift");
  });

  it("gives E3 defaults to unlicensed mailboxes and E5 defaults to Audit Premium users", () => {
    const tenant = generateTenant({ ...options, driftShare: 0 });
    const mailboxes = [...tenant.mailboxes.values()];
    const premium = mailboxes.filter((mailbox) => mailbox.auditPremiumLicensed);
    assert.equal(premium.length, 100);
    assert.ok(premium.every((mailbox) => mailbox.RecipientTypeDetails === "UserMailbox"));
    const standard = mailboxes.find((mailbox) => mailbox.RecipientTypeDetails === "SharedMailbox");
    assert.deepEqual(standard?.AuditAdmin, E3_ADMIN);
    assert.deepEqual(standard?.AuditDelegate, E3_DELEGATE);
    assert.deepEqual(standard?.AuditOwner, E3_OWNER);
    assert.deepEqual(premium[0]?.AuditAdmin, [...E3_ADMIN, "MailItemsAccessed", "Send"]);
    assert.deepEqual(premium[0]?.AuditDelegate, [...E3_DELEGATE, "MailItemsAccessed"]);
    assert.deepEqual(premium[0]?.AuditOwner, [...E3_OWNER, "MailItemsAccessed", "Send"]);
  });

  it("licenses premium users in Graph and adds an E5-like SKU only when someone holds the plan", () => {
    const tenant = generateTenant(options);
    for (const mailbox of tenant.mailboxes.values()) {
      const user = tenant.users.get(mailbox.ExternalDirectoryObjectId);
      if (!user) continue;
      assert.equal(
        user.assignedPlans.some((plan) => plan.servicePlanId === AUDIT_PREMIUM_PLAN_ID),
        mailbox.auditPremiumLicensed,
      );
    }
    const e5 = tenant.skus.find((sku) =>
      sku.servicePlans.some((plan) => plan.servicePlanName === AUDIT_PREMIUM_PLAN_NAME),
    );
    assert.equal(
      e5?.servicePlans.find((plan) => plan.servicePlanName === AUDIT_PREMIUM_PLAN_NAME)?.servicePlanId,
      AUDIT_PREMIUM_PLAN_ID,
    );
    assert.equal(e5?.consumedUnits, 100);
    const unlicensed = generateTenant({ ...options, auditPremiumShare: 0 });
    assertEvery(unlicensed.skus, (sku) => sku.servicePlans.every((plan) => plan.servicePlanId !== AUDIT_PREMIUM_PLAN_ID), "SKUs without Audit (Premium)");
  });

  it("sets the organisation switches and bypass associations as asked", () => {
    const tenant = generateTenant({
      ...options,
      orgAuditDisabled: true,
      unifiedAuditLogIngestionEnabled: false,
      dehydrated: true,
    });
    assert.equal(tenant.organizationConfig.AuditDisabled, true);
    assert.equal(tenant.organizationConfig.isDehydrated, true);
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false);
    const bypassed = [...tenant.bypassAssociations.values()].filter((association) => association.AuditBypassEnabled);
    assert.equal(bypassed.length, 3);
    for (const association of bypassed) {
      const mailbox = [...tenant.mailboxes.values()].find((candidate) => candidate.Identity === association.Identity);
      assert.ok(mailbox && mailbox.RecipientTypeDetails !== "GroupMailbox");
    }
    const defaults = generateTenant(options);
    assert.equal(defaults.organizationConfig.AuditDisabled, false);
    assert.equal(defaults.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, true);
  });

  it("generates 100,000 mailboxes (its speed is measured by npm run bench:emulator)", () => {
    const tenant = generateTenant({
      seed: 1,
      counts: { user: 90_000, shared: 5_000, room: 3_000, equipment: 1_000, group: 1_000 },
      driftShare: 0.1,
      auditPremiumShare: 0.3,
    });
    assert.equal(tenant.mailboxes.size, 100_000);
  });
});

describe("loadTenantFixture", () => {
  const fixturePath = resolve(__dirname, "../../../emulator/fixtures/example-tenant.json");
  const json: unknown = JSON.parse(readFileSync(fixturePath, "utf8"));

  it("loads the example fixture into Maps, filling Microsoft defaults for omitted audit lists", () => {
    const tenant = loadTenantFixture(json);
    assert.equal(tenant.initialDomain, "fabrikam.onmicrosoft.com");
    assert.equal(tenant.mailboxes.size, 4);
    const adele = tenant.mailboxes.get("a1b2c3d4-0001-4000-8000-000000000001");
    assert.equal(adele?.Identity, "adele");
    assert.equal(adele?.UserPrincipalName, "adele@fabrikam.onmicrosoft.com");
    assert.deepEqual(adele?.AuditOwner, [...E3_OWNER, "MailItemsAccessed", "Send"]);
    const ben = [...tenant.mailboxes.values()].find((mailbox) => mailbox.Name === "ben");
    assert.deepEqual(ben?.AuditOwner, ["Update", "HardDelete"]);
    assert.equal(ben?.AuditEnabled, false);
    assert.equal(tenant.bypassAssociations.get("ben")?.AuditBypassEnabled, true);
    assert.equal(tenant.users.size, 3);
    assert.equal(tenant.groups.size, 2);
    assert.equal(tenant.organizationConfig.isDehydrated, true);
  });

  it("rejects an invalid fixture", () => {
    const broken = structuredClone(json) as { mailboxes: { RecipientTypeDetails: string }[] };
    (broken.mailboxes[0] as { RecipientTypeDetails: string }).RecipientTypeDetails = "Mailbox";
    assert.throws(() => loadTenantFixture(broken), /RecipientTypeDetails/);
    assert.throws(() => loadTenantFixture({ tenantId: "x" }));
  });
});
