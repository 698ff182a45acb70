import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CmdletFailure, type CmdletOutput } from "../../emulator/cmdlet";
import { captureCmdlets } from "../../emulator/cmdlets/capture";
import { formatByteQuantifiedSize } from "../../emulator/cmdlets/capture-mailbox";
import type { EmulatedGroup, EmulatedMailbox, TenantState } from "../../emulator/tenant-state";

const T0 = new Date("2026-01-01T00:00:00Z");

function mailbox(name: string, overrides: Partial<EmulatedMailbox> = {}): EmulatedMailbox {
  return {
    Guid: `guid-${name}`,
    ExternalDirectoryObjectId: `oid-${name}`,
    Identity: name,
    Name: name,
    Alias: name,
    DisplayName: `${name} display`,
    PrimarySmtpAddress: `${name}@contoso.com`,
    UserPrincipalName: `${name}@contoso.com`,
    RecipientTypeDetails: "UserMailbox",
    AuditEnabled: true,
    AuditLogAgeLimit: "90.00:00:00",
    AuditAdmin: [],
    AuditDelegate: [],
    AuditOwner: [],
    DefaultAuditSet: ["Admin", "Delegate", "Owner"],
    HiddenFromAddressListsEnabled: false,
    WhenCreatedUTC: T0.toISOString(),
    WhenChangedUTC: T0.toISOString(),
    auditPremiumLicensed: false,
    licensed: true,
    totalItemSizeInBytes: 0,
    itemCount: 0,
    ...overrides,
  };
}

function group(name: string, type: EmulatedGroup["RecipientTypeDetails"]): EmulatedGroup {
  const mailEnabled = type !== "SecurityGroup";
  return {
    ExternalDirectoryObjectId: `oid-${name}`,
    Identity: name,
    Name: name,
    DisplayName: `${name} display`,
    PrimarySmtpAddress: mailEnabled ? `${name}@contoso.com` : "",
    RecipientTypeDetails: type,
    securityEnabled: type !== "MailUniversalDistributionGroup",
    mailEnabled,
  };
}

function tenant(): TenantState {
  const mailboxes = [mailbox("alice"), mailbox("bob")];
  const groups = [
    group("readers", "MailUniversalSecurityGroup"),
    group("all-staff", "MailUniversalDistributionGroup"),
    group("plain-sg", "SecurityGroup"),
  ];
  return {
    tenantId: "00000000-0000-0000-0000-000000000001",
    initialDomain: "contoso.onmicrosoft.com",
    organizationConfig: { AuditDisabled: false, isDehydrated: false, WhenChangedUTC: T0.toISOString() },
    adminAuditLogConfig: { UnifiedAuditLogIngestionEnabled: true, WhenChangedUTC: T0.toISOString() },
    transportConfig: { JournalingReportNdrTo: null },
    mailboxes: new Map(mailboxes.map((m) => [m.ExternalDirectoryObjectId, m])),
    bypassAssociations: new Map(),
    mailboxPermissions: [],
    groups: new Map(groups.map((g) => [g.ExternalDirectoryObjectId, g])),
    transportRules: [],
    journalRules: [],
    users: new Map(),
    skus: [],
    sentMail: [],
  };
}

/** Runs a capture cmdlet against `state` with a clock the test controls. */
function runner(state: TenantState) {
  let clock = T0;
  const run = (name: string, parameters: Record<string, unknown> = {}): CmdletOutput => {
    const definition = captureCmdlets.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    assert.ok(definition, `cmdlet ${name} is defined`);
    for (const key of Object.keys(parameters)) {
      assert.ok(
        definition.parameters.some((p) => p.toLowerCase() === key.toLowerCase()),
        `${name} declares parameter ${key}`,
      );
    }
    return definition.handle(parameters, { tenant: state, now: () => clock });
  };
  const advance = (seconds: number) => {
    clock = new Date(clock.getTime() + seconds * 1000);
    return clock.toISOString();
  };
  return { run, advance };
}

function failure(fn: () => unknown, pattern: RegExp): CmdletFailure {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CmdletFailure, `expected CmdletFailure, got ${String(caught)}`);
  assert.match(caught.text, pattern);
  return caught;
}

const captureRule = { Name: "Capture", BlindCopyTo: ["alice@contoso.com"] };

describe("New-Mailbox -Shared", () => {
  it("creates an audited shared mailbox, its enabled Entra account and the SELF permission", () => {
    const state = tenant();
    const { run } = runner(state);
    const [created] = run("New-Mailbox", { Shared: true, Name: "Capture Box", DisplayName: "Capture", PrimarySmtpAddress: "capture@contoso.com" }).value ?? [];
    assert.equal(created?.["RecipientTypeDetails"], "SharedMailbox");
    assert.equal(created?.["Alias"], "CaptureBox");
    assert.equal(created?.["AuditEnabled"], true);
    assert.equal(created?.["AuditLogAgeLimit"], "90.00:00:00");
    assert.deepEqual(created?.["DefaultAuditSet"], ["Admin", "Delegate", "Owner"]);
    assert.ok((created?.["AuditOwner"] as string[]).includes("UpdateInboxRules"));
    assert.equal(created?.["auditPremiumLicensed"], undefined, "emulator-only fields are not returned");
    const id = created?.["ExternalDirectoryObjectId"] as string;
    assert.equal(state.users.get(id)?.accountEnabled, true);
    assert.equal(state.mailboxes.get(id)?.PrimarySmtpAddress, "capture@contoso.com");
    const permissions = run("Get-MailboxPermission", { Identity: "capture@contoso.com" }).value ?? [];
    assert.deepEqual(permissions.map((p) => p["User"]), ["NT AUTHORITY\\SELF"]);
  });

  it("rejects an address or alias already in use with Exchange's proxy address text", () => {
    const { run } = runner(tenant());
    failure(
      () => run("New-Mailbox", { Shared: true, Name: "Other", PrimarySmtpAddress: "alice@contoso.com" }),
      /^The proxy address "SMTP:alice@contoso.com" is already being used by the proxy addresses or LegacyExchangeDN of "alice"\. Please choose another proxy address\.$/,
    );
    failure(
      () => run("New-Mailbox", { Shared: true, Name: "Other", Alias: "bob", PrimarySmtpAddress: "new@contoso.com" }),
      /proxy address "SMTP:bob@contoso.onmicrosoft.com" is already being used/,
    );
    failure(() => run("New-Mailbox", { Shared: true, Name: "alice", Alias: "x" }), /name "alice" is already being used/);
  });

  it("requires -Shared (user mailboxes need an account and password)", () => {
    const { run } = runner(tenant());
    failure(() => run("New-Mailbox", { Name: "x" }), /missing mandatory parameters/);
  });
});

describe("mailbox permissions", () => {
  it("grants FullAccess to a mail-enabled security group and lists it", () => {
    const state = tenant();
    const { run, advance } = runner(state);
    const changedAt = advance(60);
    const [grant] = run("Add-MailboxPermission", { Identity: "alice", User: "readers@contoso.com", AccessRights: ["FullAccess"], AutoMapping: false, InheritanceType: "All" }).value ?? [];
    assert.deepEqual(grant, { Identity: "alice", User: "readers", AccessRights: ["FullAccess"], IsInherited: false, Deny: false, InheritanceType: "All" });
    assert.equal(state.mailboxPermissions[0]?.autoMapping, false);
    assert.equal(state.mailboxes.get("oid-alice")?.WhenChangedUTC, changedAt);
    const listed = run("Get-MailboxPermission", { Identity: "alice", User: "readers" }).value ?? [];
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0] ?? {}).sort(), ["AccessRights", "Deny", "Identity", "InheritanceType", "IsInherited", "User"]);
  });

  it("cannot resolve a non-mail-enabled security group or an unknown trustee", () => {
    const state = tenant();
    const { run } = runner(state);
    failure(() => run("Add-MailboxPermission", { Identity: "alice", User: "plain-sg", AccessRights: "FullAccess" }), /User or group "plain-sg" wasn't found/);
    failure(() => run("Add-MailboxPermission", { Identity: "alice", User: "nobody", AccessRights: "FullAccess" }), /User or group "nobody" wasn't found/);
    assert.equal(state.mailboxPermissions.length, 0);
  });

  it("rejects unknown mailboxes and invalid access rights", () => {
    const { run } = runner(tenant());
    const notFound = failure(() => run("Get-MailboxPermission", { Identity: "ghost" }), /couldn't be found/);
    assert.equal(notFound.status, 404);
    failure(() => run("Add-MailboxPermission", { Identity: "alice", User: "bob", AccessRights: "SuperAccess" }), /Cannot convert value "SuperAccess"/);
  });

  it("answers a grant that is already there with a warning and adds no entry", () => {
    const state = tenant();
    const { run } = runner(state);
    run("Add-MailboxPermission", { Identity: "alice", User: "readers", AccessRights: "FullAccess", AutoMapping: false });
    const again = run("Add-MailboxPermission", { Identity: "alice@contoso.com", User: "readers@contoso.com", AccessRights: "FullAccess", AutoMapping: false });
    assert.equal(again.value, undefined);
    assert.deepEqual(again.warnings, ['The appropriate access control entry is already present on the object "alice" for account "readers".']);
    assert.equal(state.mailboxPermissions.length, 1);
  });

  it("removes a grant, and warns (without failing) when the ACE does not exist", () => {
    const state = tenant();
    const { run } = runner(state);
    run("Add-MailboxPermission", { Identity: "alice", User: "bob", AccessRights: "FullAccess" });
    assert.deepEqual(run("Remove-MailboxPermission", { Identity: "alice", User: "bob@contoso.com", AccessRights: "FullAccess", Confirm: false }), {});
    assert.equal(state.mailboxPermissions.length, 0);
    const again = run("Remove-MailboxPermission", { Identity: "alice", User: "bob", AccessRights: "FullAccess", Confirm: false });
    assert.equal(again.value, undefined);
    assert.match(again.warnings?.[0] ?? "", /^Can't remove the access control entry on the object "alice" for account "bob@contoso.com" because the ACE doesn't exist on the object\.$/);
  });
});

describe("Get-Recipient and Get-DistributionGroup", () => {
  it("lists mailboxes and mail-enabled groups, filtered by type", () => {
    const { run } = runner(tenant());
    const all = run("Get-Recipient", { ResultSize: "Unlimited" }).value ?? [];
    assert.deepEqual(all.map((r) => r["Name"]), ["alice", "bob", "readers", "all-staff"]);
    const groups = run("Get-Recipient", { RecipientTypeDetails: ["MailUniversalSecurityGroup"] }).value ?? [];
    assert.deepEqual(groups.map((r) => r["Name"]), ["readers"]);
    const limited = run("Get-Recipient", { ResultSize: 1 });
    assert.equal(limited.value?.length, 1);
    assert.match(limited.warnings?.[0] ?? "", /more results available/);
    failure(() => run("Get-Recipient", { RecipientTypeDetails: "Nonsense" }), /Cannot convert value "Nonsense"/);
  });

  it("returns a distribution or mail-enabled security group but not a plain security group", () => {
    const { run } = runner(tenant());
    const [readers] = run("Get-DistributionGroup", { Identity: "readers@contoso.com" }).value ?? [];
    assert.equal(readers?.["RecipientTypeDetails"], "MailUniversalSecurityGroup");
    assert.equal(readers?.["ExternalDirectoryObjectId"], "oid-readers");
    assert.equal(run("Get-DistributionGroup").value?.length, 2);
    failure(() => run("Get-DistributionGroup", { Identity: "plain-sg" }), /couldn't be found/);
  });
});

describe("Get- cmdlets with an empty or null -Identity return every object (Microsoft's documented caution)", () => {
  const listings: [string, (state: TenantState, run: ReturnType<typeof runner>["run"]) => number][] = [
    ["Get-DistributionGroup", () => 2],
    ["Get-Recipient", () => 4],
    ["Get-MailboxPermission", (state) => state.mailboxPermissions.length],
    ["Get-MailboxStatistics", (state) => state.mailboxes.size],
    ["Get-TransportRule", (state) => state.transportRules.length],
    ["Get-JournalRule", (state) => state.journalRules.length],
  ];
  for (const [cmdlet, expected] of listings) {
    it(cmdlet, () => {
      const state = tenant();
      const { run } = runner(state);
      run("Add-MailboxPermission", { Identity: "alice", User: "readers", AccessRights: "FullAccess" });
      run("Add-MailboxPermission", { Identity: "bob", User: "readers", AccessRights: "FullAccess" });
      run("New-TransportRule", { ...captureRule, Name: "A" });
      run("New-TransportRule", { ...captureRule, Name: "B" });
      run("Set-TransportConfig", { JournalingReportNdrTo: "ndr@archive.example" });
      run("New-JournalRule", { Name: "J1", JournalEmailAddress: "journal@archive.example" });
      run("New-JournalRule", { Name: "J2", JournalEmailAddress: "journal@archive.example" });
      const count = expected(state, run);
      assert.ok(count > 1, "the tenant holds several objects");
      for (const identity of ["", "  ", null]) {
        assert.equal(run(cmdlet, { Identity: identity }).value?.length, count, `${cmdlet} -Identity ${JSON.stringify(identity)}`);
      }
    });
  }
});

describe("Get-Recipient types", () => {
  it("tells mailboxes, groups, mail users and mail contacts apart by RecipientTypeDetails", () => {
    const state = tenant();
    state.mailboxes.set("oid-shared", mailbox("shared", { RecipientTypeDetails: "SharedMailbox" }));
    state.users.set("oid-onprem", {
      id: "oid-onprem",
      userPrincipalName: "onprem@contoso.com",
      displayName: "On-premises mailbox",
      mail: "onprem@contoso.com",
      accountEnabled: true,
      assignedPlans: [],
      lastModifiedDateTime: T0.toISOString(),
    });
    const { run } = runner(state);
    const [contact] = run("New-MailContact", { Name: "Archive NDR", ExternalEmailAddress: "ndr@archive.example" }).value ?? [];
    assert.equal(contact?.["RecipientTypeDetails"], "MailContact");
    const typeOf = (identity: string) => run("Get-Recipient", { Identity: identity }).value?.[0]?.["RecipientTypeDetails"];
    assert.equal(typeOf("alice@contoso.com"), "UserMailbox");
    assert.equal(typeOf("shared@contoso.com"), "SharedMailbox");
    assert.equal(typeOf("readers@contoso.com"), "MailUniversalSecurityGroup");
    assert.equal(typeOf("onprem@contoso.com"), "MailUser");
    assert.equal(typeOf("ndr@archive.example"), "MailContact");
    assert.deepEqual(run("Get-Recipient", { Identity: "onprem@contoso.com" }).value?.[0]?.["EmailAddresses"], ["SMTP:onprem@contoso.com"]);
    failure(() => run("Get-Recipient", { Identity: "nobody@archive.example" }), /couldn't be found/);
    run("Set-TransportConfig", { JournalingReportNdrTo: "onprem@contoso.com" });
    assert.equal(state.transportConfig.JournalingReportNdrTo, "onprem@contoso.com", "a mail user resolves as a recipient");
  });
});

describe("transport rules", () => {
  it("creates a rule with Exchange defaults and resolved recipients", () => {
    const { run } = runner(tenant());
    const [rule] = run("New-TransportRule", { ...captureRule, BlindCopyTo: ["alice"], ExceptIfSentTo: "alice", Comments: "managed-by: test", FromScope: "notinorganization" }).value ?? [];
    assert.equal(rule?.["Priority"], 0);
    assert.equal(rule?.["Mode"], "Enforce");
    assert.equal(rule?.["State"], "Enabled");
    assert.equal(rule?.["FromScope"], "NotInOrganization");
    assert.deepEqual(rule?.["BlindCopyTo"], ["alice@contoso.com"]);
    assert.deepEqual(rule?.["ExceptIfSentTo"], ["alice@contoso.com"]);
    assert.equal(rule?.["SentToScope"], null);
  });

  it("inserts at a priority and shifts the others; Get-TransportRule lists by priority", () => {
    const state = tenant();
    const { run } = runner(state);
    run("New-TransportRule", { ...captureRule, Name: "A" });
    run("New-TransportRule", { ...captureRule, Name: "B" });
    run("New-TransportRule", { ...captureRule, Name: "C", Priority: 0 });
    run("New-TransportRule", { ...captureRule, Name: "D", Priority: 2 });
    const order = () => (run("Get-TransportRule").value ?? []).map((r) => `${String(r["Name"])}:${String(r["Priority"])}`);
    assert.deepEqual(order(), ["C:0", "A:1", "D:2", "B:3"]);
    run("Set-TransportRule", { Identity: "B", Priority: 0 });
    assert.deepEqual(order(), ["B:0", "C:1", "A:2", "D:3"]);
    run("Remove-TransportRule", { Identity: "C", Confirm: false });
    assert.deepEqual(order(), ["B:0", "A:1", "D:2"]);
    failure(() => run("New-TransportRule", { ...captureRule, Name: "E", Priority: 4 }), /between 0 and 3/);
    failure(() => run("Set-TransportRule", { Identity: "A", Priority: 3 }), /between 0 and 2/);
    failure(() => run("New-TransportRule", { ...captureRule, Name: "F", Priority: -1 }), /out of range/);
  });

  it("rejects duplicate names, bad enumerations, missing actions and group Bcc", () => {
    const state = tenant();
    const { run } = runner(state);
    run("New-TransportRule", captureRule);
    failure(() => run("New-TransportRule", { ...captureRule, Name: "capture" }), /^A transport rule with the name "capture" already exists\.$/);
    failure(() => run("New-TransportRule", { ...captureRule, Name: "x", SentToScope: "Everywhere" }), /Cannot convert value "Everywhere"/);
    failure(() => run("New-TransportRule", { ...captureRule, Name: "x", Mode: "Test" }), /Cannot convert value "Test"/);
    failure(() => run("New-TransportRule", { Name: "x", FromScope: "InOrganization" }), /at least one action/);
    failure(() => run("New-TransportRule", { Name: "x", BlindCopyTo: "readers" }), /is a group/);
    failure(() => run("New-TransportRule", { Name: "x", BlindCopyTo: "ghost@contoso.com" }), /Couldn't find object "ghost@contoso.com"/);
    failure(() => run("New-TransportRule", { Name: "x", SetHeaderName: "X-Captured" }), /must be used together/);
    failure(() => run("Set-TransportRule", { Identity: "Capture", BlindCopyTo: null }), /at least one action/);
    const [copy] = run("New-TransportRule", { Name: "cc", CopyTo: "readers", BlindCopyTo: "partner@fabrikam.com" }).value ?? [];
    assert.deepEqual(copy?.["CopyTo"], ["readers@contoso.com"], "CopyTo may target a group");
    assert.deepEqual(copy?.["BlindCopyTo"], ["partner@fabrikam.com"], "external addresses are kept");
    assert.equal(state.transportRules.length, 2);
  });

  it("enforces the 300-rule and 8 KB limits", () => {
    const state = tenant();
    const { run } = runner(state);
    const words = Array.from({ length: 1000 }, (_, i) => `word-${i}`);
    failure(
      () => run("New-TransportRule", { ...captureRule, ExceptIfHeaderContainsMessageHeader: "X-Test", ExceptIfHeaderContainsWords: words }),
      /exceeds the maximum size of 8192 bytes/,
    );
    for (let i = 0; i < 300; i += 1) run("New-TransportRule", { ...captureRule, Name: `rule-${i}` });
    failure(() => run("New-TransportRule", { ...captureRule, Name: "one-too-many" }), /maximum number of transport rules \(300\)/);
  });

  it("Set moves WhenChangedUTC, warns when nothing changed; Enable/Disable flip State", () => {
    const state = tenant();
    const { run, advance } = runner(state);
    run("New-TransportRule", captureRule);
    const later = advance(300);
    assert.deepEqual(run("Set-TransportRule", { Identity: "Capture", StopRuleProcessing: true, SetHeaderName: "X-Captured", SetHeaderValue: "1" }), {});
    assert.equal(state.transportRules[0]?.WhenChangedUTC, later);
    advance(300);
    const unchanged = run("Set-TransportRule", { Identity: "Capture", StopRuleProcessing: true });
    assert.deepEqual(unchanged.warnings, ["The command completed successfully but no settings of 'Capture' have been modified."]);
    assert.equal(state.transportRules[0]?.WhenChangedUTC, later);
    run("Disable-TransportRule", { Identity: "Capture", Confirm: false });
    assert.equal(run("Get-TransportRule", { Identity: "Capture" }).value?.[0]?.["State"], "Disabled");
    run("Enable-TransportRule", { Identity: "Capture" });
    assert.equal(state.transportRules[0]?.State, "Enabled");
    failure(() => run("Get-TransportRule", { Identity: "nope" }), /couldn't be found/);
  });
});

describe("journal rules and transport config", () => {
  it("creates a disabled-by-default journal rule to an external address", () => {
    const state = tenant();
    const { run } = runner(state);
    run("Set-TransportConfig", { JournalingReportNdrTo: "ndr@archive.example" });
    const [rule] = run("New-JournalRule", { Name: "J", JournalEmailAddress: "journal@archive.example", Scope: "internal" }).value ?? [];
    assert.equal(rule?.["Scope"], "Internal");
    assert.equal(rule?.["Enabled"], false);
    run("Enable-JournalRule", { Identity: "J" });
    assert.equal(run("Get-JournalRule", { Identity: "J" }).value?.[0]?.["Enabled"], true);
    assert.deepEqual(run("Set-JournalRule", { Identity: "J", Scope: "Internal" }).warnings, [
      "The command completed successfully but no settings of 'J' have been modified.",
    ]);
    run("Set-JournalRule", { Identity: "J", Scope: "Global" });
    assert.equal(state.journalRules[0]?.Scope, "Global");
    run("Remove-JournalRule", { Identity: "J", Confirm: false });
    assert.equal(state.journalRules.length, 0);
  });

  it("refuses an Exchange Online mailbox or a group as the journaling mailbox, with Exchange Online's text", () => {
    const state = tenant();
    const { run } = runner(state);
    run("Set-TransportConfig", { JournalingReportNdrTo: "ndr@archive.example" });
    for (const address of ["alice@contoso.com", "readers@contoso.com"]) {
      const refused = failure(
        () => run("New-JournalRule", { Name: "J", JournalEmailAddress: address }),
        /^The JournalEmailAddress can only be a mail user, a mail contact or an external address\.$/,
      );
      assert.equal(refused.exceptionType, "System.InvalidOperationException");
    }
    failure(() => run("New-JournalRule", { Name: "J", JournalEmailAddress: "journal@archive.example", Scope: "Everything" }), /Cannot convert value/);
    assert.equal(state.journalRules.length, 0);
  });

  it("refuses New-JournalRule while JournalingReportNdrTo is unset", () => {
    const state = tenant();
    const { run } = runner(state);
    const refused = failure(
      () => run("New-JournalRule", { Name: "J", JournalEmailAddress: "journal@archive.example", Enabled: true }),
      /^Before you create a journal rule, you must specify an email account to receive journal reports that can't be delivered to the journal destination\.$/,
    );
    assert.equal(refused.exceptionType, "System.InvalidOperationException");
    assert.equal(state.journalRules.length, 0);
    run("Set-TransportConfig", { JournalingReportNdrTo: "ndr@archive.example" });
    run("New-JournalRule", { Name: "J", JournalEmailAddress: "journal@archive.example", Enabled: true });
    assert.equal(state.journalRules.length, 1);
  });

  it("answers a duplicate journal rule name with Exchange's text and creates nothing", () => {
    const state = tenant();
    const { run } = runner(state);
    run("Set-TransportConfig", { JournalingReportNdrTo: "ndr@archive.example" });
    run("New-JournalRule", { Name: "J", JournalEmailAddress: "journal@archive.example" });
    failure(() => run("New-JournalRule", { Name: "j", JournalEmailAddress: "journal@archive.example" }), /^A journal rule with the name "j" already exists\.$/);
    assert.equal(state.journalRules.length, 1);
  });

  it("sets and reads JournalingReportNdrTo", () => {
    const state = tenant();
    const { run } = runner(state);
    assert.equal(run("Get-TransportConfig").value?.[0]?.["JournalingReportNdrTo"], "<>");
    run("Set-TransportConfig", { JournalingReportNdrTo: "bob" });
    assert.equal(state.transportConfig.JournalingReportNdrTo, "bob@contoso.com");
    assert.match(run("Set-TransportConfig", { JournalingReportNdrTo: "bob@contoso.com" }).warnings?.[0] ?? "", /no settings/);
  });
});

describe("Get-MailboxStatistics", () => {
  it("formats TotalItemSize as Exchange does", () => {
    const state = tenant();
    state.mailboxes.set("oid-big", mailbox("big", { totalItemSizeInBytes: 1_842_418_543, itemCount: 42 }));
    const { run } = runner(state);
    const [stats] = run("Get-MailboxStatistics", { Identity: "big" }).value ?? [];
    assert.deepEqual(stats, { DisplayName: "big display", MailboxGuid: "guid-big", ItemCount: 42, TotalItemSize: "1.716 GB (1,842,418,543 bytes)" });
    assert.equal(formatByteQuantifiedSize(0), "0 B (0 bytes)");
    assert.equal(formatByteQuantifiedSize(18_708), "18.27 KB (18,708 bytes)");
    assert.equal(formatByteQuantifiedSize(53_150_220_288), "49.5 GB (53,150,220,288 bytes)");
  });
});
