import assert from "node:assert/strict";
import { findMailbox } from "../../emulator/lookup";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeEach, describe, it } from "node:test";
import { CmdletFailure, type CmdletContext, type CmdletOutput } from "../../emulator/cmdlet";
import { auditCmdlets } from "../../emulator/cmdlets/audit";
import { cmdlets } from "../../emulator/cmdlets";
import { generateTenant, loadTenantFixture } from "../../emulator/generate";
import type { EmulatedMailbox, TenantState } from "../../emulator/tenant-state";

const fixture: unknown = JSON.parse(
  readFileSync(resolve(__dirname, "../../../emulator/fixtures/example-tenant.json"), "utf8"),
);
const LATER = new Date("2026-11-25T10:00:00.000Z");

let tenant: TenantState;
let context: CmdletContext;

function run(name: string, parameters: Record<string, unknown> = {}): CmdletOutput {
  const definition = auditCmdlets.find((candidate) => candidate.name === name);
  assert.ok(definition, `no cmdlet ${name}`);
  for (const key of Object.keys(parameters)) {
    assert.ok(
      definition.parameters.some((known) => known.toLowerCase() === key.toLowerCase()),
      `${name} does not declare ${key}`,
    );
  }
  return definition.handle(parameters, context);
}

function failsWith(action: () => unknown, text: string | RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof CmdletFailure, `expected CmdletFailure, got ${String(error)}`);
    if (typeof text === "string") assert.equal(error.text, text);
    else assert.match(error.text, text);
    return true;
  });
}

function mailbox(name: string): EmulatedMailbox {
  const found = [...tenant.mailboxes.values()].find((candidate) => candidate.Name === name);
  assert.ok(found);
  return found;
}

function noChange(identity: string): CmdletOutput {
  return { warnings: [`The command completed successfully but no settings of '${identity}' have been modified.`] };
}

beforeEach(() => {
  tenant = loadTenantFixture(fixture);
  context = { tenant, now: () => LATER };
});

describe("organisation and unified audit log", () => {
  it("Get/Set-OrganizationConfig -AuditDisabled, idempotent with Exchange's warning", () => {
    assert.deepEqual(
      { ...run("Get-OrganizationConfig").value?.[0] },
      {
        Identity: "fabrikam.onmicrosoft.com",
        Name: "fabrikam.onmicrosoft.com",
        DisplayName: "fabrikam",
        ExternalDirectoryOrganizationId: tenant.tenantId,
        AuditDisabled: false,
        IsDehydrated: true,
        WhenChangedUTC: "2025-12-01T00:00:00Z",
      },
    );
    assert.deepEqual(run("Set-OrganizationConfig", { AuditDisabled: false }), noChange("fabrikam.onmicrosoft.com"));
    assert.equal(tenant.organizationConfig.WhenChangedUTC, "2025-12-01T00:00:00Z");
    assert.deepEqual(run("Set-OrganizationConfig", { AuditDisabled: "$true" }), {});
    assert.equal(run("Get-OrganizationConfig").value?.[0]?.AuditDisabled, true);
    assert.equal(tenant.organizationConfig.WhenChangedUTC, LATER.toISOString());
  });

  it("a dehydrated tenant must run Enable-OrganizationCustomization before Set-AdminAuditLogConfig", () => {
    assert.equal(run("Get-AdminAuditLogConfig").value?.[0]?.UnifiedAuditLogIngestionEnabled, false);
    failsWith(
      () => run("Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true }),
      "The command you tried to run isn't currently allowed in your organization. To run this command, you first need to run the command: Enable-OrganizationCustomization.",
    );
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false);
    assert.deepEqual(run("Enable-OrganizationCustomization"), {});
    failsWith(() => run("Enable-OrganizationCustomization"), /already enabled for customization/);
    assert.deepEqual(run("Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true }), {});
    assert.equal(run("Get-AdminAuditLogConfig").value?.[0]?.UnifiedAuditLogIngestionEnabled, true);
    assert.deepEqual(
      run("Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true }),
      noChange("Admin Audit Log Settings"),
    );
  });
});

describe("Get-Mailbox", () => {
  it("lists non-group mailboxes with Exchange property names only", () => {
    const value = run("Get-Mailbox").value ?? [];
    assert.deepEqual(
      value.map((item) => item.Name),
      ["adele", "ben", "soc-capture"],
    );
    for (const item of value) {
      for (const key of ["auditPremiumLicensed", "licensed", "totalItemSizeInBytes", "itemCount"])
        assert.ok(!(key in item), key);
    }
    const ben = value[1];
    assert.equal(ben?.AuditEnabled, false);
    assert.deepEqual(ben?.AuditOwner, ["Update", "HardDelete"]);
    assert.equal(ben?.WhenChangedUTC, "2025-12-15T09:00:00Z");
    const owner: unknown = ben?.AuditOwner;
    assert.ok(Array.isArray(owner));
    owner.push("Create");
    assert.deepEqual(mailbox("ben").AuditOwner, ["Update", "HardDelete"], "output must not alias state");
  });

  it("returns group mailboxes only with -GroupMailbox", () => {
    assert.deepEqual(
      (run("Get-Mailbox", { GroupMailbox: true }).value ?? []).map((item) => item.Name),
      ["project-falcon"],
    );
    failsWith(() => run("Get-Mailbox", { Identity: "project-falcon" }), /couldn't be found/);
    assert.equal(
      run("Get-Mailbox", { Identity: "project-falcon", GroupMailbox: true }).value?.[0]?.RecipientTypeDetails,
      "GroupMailbox",
    );
    failsWith(() => run("Get-Mailbox", { Identity: "adele", GroupMailbox: true }), /couldn't be found/);
  });

  it("filters by -Identity, -Filter and -RecipientTypeDetails", () => {
    assert.equal(run("Get-Mailbox", { Identity: "BEN@fabrikam.onmicrosoft.com" }).value?.[0]?.Name, "ben");
    failsWith(
      () => run("Get-Mailbox", { Identity: "nobody" }),
      "The operation couldn't be performed because object 'nobody' couldn't be found on 'EMU01A01DC001.EMUPR01A001.PROD.OUTLOOK.COM'.",
    );
    const changed = run("Get-Mailbox", { Filter: "WhenChangedUTC -gt '2025-11-01T00:00:00Z'" }).value ?? [];
    assert.deepEqual(
      changed.map((item) => item.Name),
      ["adele", "ben"],
    );
    assert.deepEqual(
      (run("Get-Mailbox", { RecipientTypeDetails: "SharedMailbox" }).value ?? []).map((item) => item.Name),
      ["soc-capture"],
    );
    assert.deepEqual(
      (run("Get-Mailbox", { RecipientTypeDetails: ["UserMailbox"], Filter: "Name -like 'b*'" }).value ?? []).map(
        (item) => item.Name,
      ),
      ["ben"],
    );
    failsWith(() => run("Get-Mailbox", { Filter: "Name -eq 'x" }), /Invalid filter syntax/);
    failsWith(
      () => run("Get-Mailbox", { Identity: "ben", Filter: "Name -eq 'ben'" }),
      /Parameter set cannot be resolved/,
    );
  });

  it("returns 1000 by default with a warning, and everything with -ResultSize Unlimited", () => {
    tenant = generateTenant({ seed: 3, counts: { user: 1100, group: 5 } });
    context = { tenant, now: () => LATER };
    const first = run("Get-Mailbox");
    assert.equal(first.value?.length, 1000);
    assert.equal(first.warnings?.length, 1);
    const all = run("Get-Mailbox", { ResultSize: "Unlimited" });
    assert.equal(all.value?.length, 1100);
    assert.equal(all.warnings, undefined);
    assert.equal(run("Get-Mailbox", { ResultSize: 10 }).value?.length, 10);
    assert.equal(run("Get-Mailbox", { ResultSize: "Unlimited", GroupMailbox: true }).value?.length, 5);
  });
});

describe("module-only cmdlets", () => {
  it("Get-EXOMailbox and Get-EXOMailboxStatistics are not server cmdlets: InvokeCommand does not know them", () => {
    assert.equal(cmdlets.get("get-exomailbox"), undefined);
    assert.equal(cmdlets.get("get-exomailboxstatistics"), undefined);
    assert.ok(cmdlets.get("get-mailbox") && cmdlets.get("get-mailboxstatistics"));
  });

  it("Get-Mailbox has no -PropertySets or -Properties (they are the module's parameters)", () => {
    const definition = cmdlets.get("get-mailbox");
    assert.ok(definition);
    for (const parameter of ["PropertySets", "Properties"]) assert.ok(!definition.parameters.includes(parameter));
  });
});

describe("Set-Mailbox", () => {
  it("replaces a logon type's actions (list or comma text), orders them as Exchange does, and customises it", () => {
    assert.deepEqual(run("Set-Mailbox", { Identity: "adele", AuditDelegate: ["SendAs", "Update", "HardDelete"] }), {});
    const adele = mailbox("adele");
    assert.deepEqual(adele.AuditDelegate, ["Update", "HardDelete", "SendAs"]);
    assert.deepEqual(adele.DefaultAuditSet, ["Admin", "Owner"]);
    assert.equal(adele.WhenChangedUTC, LATER.toISOString());
    run("Set-Mailbox", { Identity: "adele", AuditAdmin: "update, create" });
    assert.deepEqual(adele.AuditAdmin, ["Update", "Create"]);
    assert.deepEqual(adele.DefaultAuditSet, ["Owner"]);
  });

  it("adds and removes with the GenericHashTable form", () => {
    run("Set-Mailbox", {
      Identity: "ben",
      AuditOwner: {
        "@odata.type": "#Exchange.GenericHashTable",
        Add: ["MailboxLogin", "SoftDelete"],
        Remove: ["Update"],
      },
    });
    assert.deepEqual(mailbox("ben").AuditOwner, ["SoftDelete", "HardDelete", "MailboxLogin"]);
  });

  it("'None' clears a logon type", () => {
    run("Set-Mailbox", { Identity: "ben", AuditOwner: "None" });
    assert.deepEqual(mailbox("ben").AuditOwner, []);
  });

  it("-DefaultAuditSet reverts the listed logon types to Microsoft's default for the mailbox's licence", () => {
    run("Set-Mailbox", { Identity: "ben", DefaultAuditSet: ["Owner"] });
    const ben = mailbox("ben");
    assert.deepEqual(ben.AuditOwner, [
      "Update",
      "MoveToDeletedItems",
      "SoftDelete",
      "HardDelete",
      "UpdateFolderPermissions",
      "UpdateInboxRules",
      "UpdateCalendarDelegation",
      "ApplyRecord",
    ]);
    assert.deepEqual(ben.DefaultAuditSet, ["Admin", "Delegate", "Owner"]);
    run("Set-Mailbox", { Identity: "adele", AuditOwner: "Update" });
    run("Set-Mailbox", { Identity: "adele", DefaultAuditSet: "Admin,Delegate,Owner" });
    assert.ok(mailbox("adele").AuditOwner.includes("MailItemsAccessed"), "E5 default includes MailItemsAccessed");
  });

  it("sets AuditEnabled, HiddenFromAddressListsEnabled and a validated AuditLogAgeLimit", () => {
    run("Set-Mailbox", {
      Identity: "ben",
      AuditEnabled: true,
      AuditLogAgeLimit: "180.00:00:00",
      HiddenFromAddressListsEnabled: true,
      Force: true,
    });
    const ben = mailbox("ben");
    assert.deepEqual(
      [ben.AuditEnabled, ben.AuditLogAgeLimit, ben.HiddenFromAddressListsEnabled],
      [true, "180.00:00:00", true],
    );
    run("Set-Mailbox", { Identity: "ben", AuditLogAgeLimit: "365" });
    assert.equal(ben.AuditLogAgeLimit, "365.00:00:00");
    for (const bad of ["ninety", "90.25:00:00", "90.00:61:00", "-1"]) {
      failsWith(
        () => run("Set-Mailbox", { Identity: "ben", AuditLogAgeLimit: bad }),
        /AuditLogAgeLimit'.*String was not recognized as a valid TimeSpan/,
      );
    }
  });

  it("rejects actions invalid for the logon type with Exchange's text", () => {
    failsWith(
      () => run("Set-Mailbox", { Identity: "adele", AuditDelegate: ["MailboxLogin"] }),
      "Invalid audit operation specified. Supported audit operations for Delegate are None, Update, Move, MoveToDeletedItems, SoftDelete, HardDelete, FolderBind, SendAs, SendOnBehalf, Create, UpdateFolderPermissions, UpdateInboxRules, RecordDelete, ApplyRecord and MailItemsAccessed.",
    );
    failsWith(
      () => run("Set-Mailbox", { Identity: "adele", AuditOwner: ["FolderBind"] }),
      /^Invalid audit operation specified\. Supported audit operations for Mailbox Owner are None, /,
    );
    failsWith(
      () => run("Set-Mailbox", { Identity: "adele", AuditAdmin: { Add: ["Teleport"] } }),
      /Supported audit operations for Admin are/,
    );
  });

  it("rejects MessageBind as deprecated", () => {
    failsWith(
      () => run("Set-Mailbox", { Identity: "adele", AuditAdmin: { Add: "MessageBind" } }),
      "MessageBind audit operation type is deprecated. Use MailItemsAccessed audit operation type instead.",
    );
  });

  it("rejects premium actions on a mailbox without Audit (Premium), accepts them with it", () => {
    for (const action of ["MailItemsAccessed", "Send", "SearchQueryInitiated"]) {
      failsWith(
        () => run("Set-Mailbox", { Identity: "ben", AuditOwner: { Add: [action] } }),
        `Auditing of ${action} event is only available for users with appropriate license.`,
      );
    }
    assert.equal(mailbox("ben").WhenChangedUTC, "2025-12-15T09:00:00Z");
    run("Set-Mailbox", { Identity: "adele", AuditOwner: { Add: ["SearchQueryInitiated"] } });
    assert.ok(mailbox("adele").AuditOwner.includes("SearchQueryInitiated"));
  });

  it("rejects adding an action already audited", () => {
    failsWith(
      () => run("Set-Mailbox", { Identity: "ben", AuditOwner: { Add: ["Update"] } }),
      "The input operation(s) is/are already being audited",
    );
  });

  it("is all-or-nothing: one invalid logon type leaves every setting untouched", () => {
    const before = structuredClone(mailbox("ben"));
    failsWith(
      () =>
        run("Set-Mailbox", {
          Identity: "ben",
          AuditEnabled: true,
          AuditAdmin: ["Update"],
          AuditDelegate: ["MailboxLogin"],
          AuditLogAgeLimit: "180.00:00:00",
        }),
      /Supported audit operations for Delegate/,
    );
    assert.deepEqual(mailbox("ben"), before);
  });

  it("changing nothing warns and does not move WhenChangedUTC", () => {
    const ben = mailbox("ben");
    assert.deepEqual(
      run("Set-Mailbox", { Identity: "ben", AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00" }),
      noChange("ben"),
    );
    assert.deepEqual(run("Set-Mailbox", { Identity: "ben", AuditOwner: "HardDelete,Update" }), noChange("ben"));
    assert.equal(ben.WhenChangedUTC, "2025-12-15T09:00:00Z");
    assert.deepEqual(run("Set-Mailbox", { Identity: "adele", DefaultAuditSet: "Admin" }), noChange("adele"));
  });

  it("on a group mailbox only -GroupMailbox -AuditLogAgeLimit is meaningful", () => {
    failsWith(
      () => run("Set-Mailbox", { Identity: "project-falcon", AuditLogAgeLimit: "180.00:00:00" }),
      /couldn't be found/,
    );
    failsWith(
      () => run("Set-Mailbox", { Identity: "adele", GroupMailbox: true, AuditLogAgeLimit: "180.00:00:00" }),
      /couldn't be found/,
    );
    run("Set-Mailbox", { Identity: "project-falcon", GroupMailbox: true, AuditLogAgeLimit: "180.00:00:00" });
    assert.equal(mailbox("project-falcon").AuditLogAgeLimit, "180.00:00:00");
    const before = structuredClone(mailbox("project-falcon"));
    failsWith(
      () => run("Set-Mailbox", { Identity: "project-falcon", GroupMailbox: true, AuditOwner: { Add: ["Create"] } }),
      /can't be changed/,
    );
    failsWith(
      () => run("Set-Mailbox", { Identity: "project-falcon", GroupMailbox: true, DefaultAuditSet: "Owner" }),
      /can't be changed/,
    );
    assert.deepEqual(mailbox("project-falcon"), before);
  });

  it("fails for an unknown identity or a missing -Identity", () => {
    failsWith(
      () => run("Set-Mailbox", { Identity: "nobody", AuditEnabled: true }),
      "The operation couldn't be performed because object 'nobody' couldn't be found on 'EMU01A01DC001.EMUPR01A001.PROD.OUTLOOK.COM'.",
    );
    failsWith(() => run("Set-Mailbox", { AuditEnabled: true }), /missing mandatory parameters: Identity/);
  });
});

describe("audit bypass associations", () => {
  it("lists every non-group account, bypassed or not", () => {
    const value = run("Get-MailboxAuditBypassAssociation", { ResultSize: "Unlimited" }).value ?? [];
    assert.deepEqual(
      value.map((item) => [item.Identity, item.AuditBypassEnabled]),
      [
        ["adele", false],
        ["ben", true],
        ["soc-capture", false],
      ],
    );
    assert.equal(
      run("Get-MailboxAuditBypassAssociation", { Identity: "ben@fabrikam.onmicrosoft.com" }).value?.[0]
        ?.AuditBypassEnabled,
      true,
    );
    failsWith(() => run("Get-MailboxAuditBypassAssociation", { Identity: "nobody" }), /couldn't be found/);
  });

  it("Set-MailboxAuditBypassAssociation turns bypass off and on, idempotently", () => {
    assert.deepEqual(run("Set-MailboxAuditBypassAssociation", { Identity: "ben", AuditBypassEnabled: false }), {});
    assert.equal(tenant.bypassAssociations.get("ben")?.AuditBypassEnabled, false);
    assert.equal(tenant.bypassAssociations.get("ben")?.WhenChangedUTC, LATER.toISOString());
    assert.equal(findMailbox(tenant, "ben")?.WhenChangedUTC, LATER.toISOString(), "the account's mailbox changed too");
    assert.deepEqual(
      run("Set-MailboxAuditBypassAssociation", { Identity: "ben", AuditBypassEnabled: false }),
      noChange("ben"),
    );
    run("Set-MailboxAuditBypassAssociation", { Identity: "soc-capture", AuditBypassEnabled: true });
    assert.equal(
      run("Get-MailboxAuditBypassAssociation", { Identity: "soc-capture" }).value?.[0]?.AuditBypassEnabled,
      true,
    );
    failsWith(
      () => run("Set-MailboxAuditBypassAssociation", { Identity: "ben" }),
      /missing mandatory parameters: AuditBypassEnabled/,
    );
  });

  it("applies -ResultSize", () => {
    tenant = generateTenant({ seed: 5, counts: { user: 1005 }, bypassCount: 2 });
    context = { tenant, now: () => LATER };
    const limited = run("Get-MailboxAuditBypassAssociation");
    assert.equal(limited.value?.length, 1000);
    assert.equal(limited.warnings?.length, 1);
    const all = run("Get-MailboxAuditBypassAssociation", { ResultSize: "Unlimited" }).value ?? [];
    assert.equal(all.length, 1005);
    assert.equal(all.filter((item) => item.AuditBypassEnabled).length, 2);
  });
});
