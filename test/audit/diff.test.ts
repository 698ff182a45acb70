import { test } from "node:test";
import assert from "node:assert/strict";
import { diffBypass, diffMailbox, diffOrganization, formatDaysAsTimeSpan, hasWritableDrift, parseTimeSpanInSeconds } from "../../shared/audit/diff";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import type { CmdletRequest } from "../../shared/exchange/transport";
import { GROUP_FIXED_SET, groupMailbox, MICROSOFT_DEFAULT, mailbox, policy } from "./fixtures";

const baseline = defaultAuditPolicy();
const ALL = ["Admin", "Delegate", "Owner"];

function added(change: CmdletRequest | undefined | null, property: string): string[] | undefined {
  const value = change?.parameters?.[property] as { Add?: string[] } | undefined;
  return value?.Add;
}

test("parseTimeSpanInSeconds reads Exchange time spans", () => {
  const cases: [string, number | undefined][] = [
    ["90.00:00:00", 90 * 86400],
    ["180.00:00:00", 180 * 86400],
    ["1.02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4],
    ["12:00:00", 12 * 3600],
    ["7.00:00:00.5000000", 7 * 86400],
    ["ninety days", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(parseTimeSpanInSeconds(input), expected, input);
  assert.equal(formatDaysAsTimeSpan(180), "180.00:00:00");
});

test("diffMailbox: every kind of user-mailbox drift, as a table", () => {
  const cases: {
    name: string;
    mailbox: ReturnType<typeof mailbox>;
    licensed?: boolean;
    expect: { parameters: string[]; findings: string[] };
  }[] = [
    {
      name: "auditing off",
      mailbox: mailbox({ AuditEnabled: false }),
      licensed: true,
      expect: { parameters: ["AuditEnabled", "AuditLogAgeLimit", "AuditAdmin", "AuditDelegate", "AuditOwner"], findings: ["drift:AuditEnabled"] },
    },
    {
      name: "short age limit only (everything else already there)",
      mailbox: mailbox({
        AuditLogAgeLimit: "30.00:00:00",
        AuditAdmin: baselineActions("Admin"),
        AuditDelegate: baselineActions("Delegate"),
        AuditOwner: baselineActions("Owner"),
        DefaultAuditSet: [],
      }),
      licensed: true,
      expect: { parameters: ["AuditLogAgeLimit"], findings: ["drift:AuditLogAgeLimit"] },
    },
    {
      name: "unreadable age limit is treated as drift",
      mailbox: mailbox({ AuditLogAgeLimit: "forever", AuditAdmin: baselineActions("Admin"), AuditDelegate: baselineActions("Delegate"), AuditOwner: baselineActions("Owner") }),
      licensed: true,
      expect: { parameters: ["AuditLogAgeLimit"], findings: ["drift:AuditLogAgeLimit"] },
    },
  ];
  for (const testCase of cases) {
    const diff = diffMailbox(baseline, testCase.mailbox, { licensed: testCase.licensed });
    const parameters = Object.keys(diff.change?.parameters ?? {}).filter((name) => name !== "Identity");
    assert.deepEqual(parameters.sort(), [...testCase.expect.parameters].sort(), testCase.name);
    const kinds = diff.findings.map((finding) => `${finding.kind}:${finding.setting}`);
    for (const expected of testCase.expect.findings) assert.ok(kinds.includes(expected), `${testCase.name}: ${expected} in ${kinds.join(",")}`);
    assert.equal(diff.change?.cmdlet ?? "Set-Mailbox", "Set-Mailbox");
    assert.equal(diff.change?.parameters?.["Identity"] ?? testCase.mailbox.Guid, testCase.mailbox.Guid, "writes by Exchange GUID");
  }
});

function baselineActions(logonType: "Admin" | "Delegate" | "Owner"): string[] {
  return baseline.mailboxes.actions[logonType].map((action) => (action === "MessageBind" ? "MailItemsAccessed" : action));
}

test("diffMailbox: one Set-Mailbox carries all changes, adds only what is missing, never removes extras", () => {
  const box = mailbox({ AuditEnabled: false, AuditOwner: ["Update", "MailboxLogin", "SomethingExtra"] });
  const diff = diffMailbox(baseline, box, { licensed: true });
  assert.ok(diff.change);
  assert.equal(diff.change.parameters?.["AuditEnabled"], true);
  assert.equal(diff.change.parameters?.["AuditLogAgeLimit"], "180.00:00:00");
  const owner = diff.change.parameters?.["AuditOwner"] as { "@odata.type": string; Add: string[]; Remove: string[] };
  assert.equal(owner["@odata.type"], "#Exchange.GenericHashTable");
  assert.deepEqual(owner.Remove, []);
  assert.ok(!owner.Add.includes("Update") && !owner.Add.includes("MailboxLogin"), "present actions are not re-added");
  assert.ok(owner.Add.includes("MailItemsAccessed") && owner.Add.includes("Send") && owner.Add.includes("RecordDelete"));
  assert.ok(!owner.Add.includes("FolderBind"), "FolderBind is not an owner action");
});

test("diffMailbox: MessageBind is substituted by MailItemsAccessed and reported", () => {
  const diff = diffMailbox(baseline, mailbox(), { licensed: true });
  const admin = added(diff.change, "AuditAdmin") ?? [];
  assert.ok(!admin.includes("MessageBind"));
  assert.ok(admin.includes("MailItemsAccessed"));
  assert.equal(admin.filter((action) => action === "MailItemsAccessed").length, 1, "no duplicate after substitution");
  const substitution = diff.findings.find((finding) => finding.kind === "substitution");
  assert.deepEqual([substitution?.setting, substitution?.current, substitution?.desired], ["AuditAdmin", "MessageBind", "MailItemsAccessed"]);
});

test("diffMailbox: licence gaps — gated actions never sent without the licence, reported per logon type", () => {
  for (const licensed of [false, undefined]) {
    const diff = diffMailbox(baseline, mailbox(), licensed === undefined ? {} : { licensed });
    for (const property of ["AuditAdmin", "AuditDelegate", "AuditOwner"]) {
      const adds = added(diff.change, property) ?? [];
      for (const gated of ["MailItemsAccessed", "Send", "SearchQueryInitiated"]) assert.ok(!adds.includes(gated), `${property} ${gated}`);
    }
    const gaps = diff.findings.filter((finding) => finding.kind === "licence-gap");
    assert.deepEqual(gaps.map((gap) => gap.setting), ["AuditAdmin", "AuditDelegate", "AuditOwner"]);
    assert.deepEqual(gaps.find((gap) => gap.setting === "AuditOwner")?.desired, ["MailItemsAccessed", "Send"]);
    assert.equal(diff.licenceFallback, undefined, "nothing gated is sent, so no fallback");
  }
  // A gated action already audited is not a gap.
  const present = diffMailbox(baseline, mailbox({ AuditDelegate: ["MailItemsAccessed"] }), { licensed: false });
  assert.ok(!present.findings.some((finding) => finding.kind === "licence-gap" && finding.setting === "AuditDelegate"));
});

test("diffMailbox: licensed change carries a fallback without gated actions; null when only gated actions were missing", () => {
  const diff = diffMailbox(baseline, mailbox({ AuditEnabled: false }), { licensed: true });
  assert.ok(diff.licenceFallback);
  assert.equal(diff.licenceFallback.parameters?.["AuditEnabled"], true);
  assert.ok(!(added(diff.licenceFallback, "AuditOwner") ?? []).includes("MailItemsAccessed"));
  assert.ok((added(diff.licenceFallback, "AuditOwner") ?? []).includes("RecordDelete"));

  const onlyGated = mailbox({
    AuditLogAgeLimit: "365.00:00:00",
    AuditAdmin: baselineActions("Admin").filter((action) => action !== "Send"),
    AuditDelegate: baselineActions("Delegate"),
    AuditOwner: baselineActions("Owner"),
  });
  const gatedDiff = diffMailbox(baseline, onlyGated, { licensed: true });
  assert.deepEqual(added(gatedDiff.change, "AuditAdmin"), ["Send"]);
  assert.equal(gatedDiff.licenceFallback, null);
});

test("diffMailbox: resource and discovery mailboxes get AuditEnabled, the age limit and the action lists (as CIS and Prowler check)", () => {
  for (const type of ["RoomMailbox", "EquipmentMailbox", "DiscoveryMailbox"]) {
    const diff = diffMailbox(baseline, mailbox({ RecipientTypeDetails: type, AuditEnabled: false, AuditAdmin: [] }), { licensed: true });
    assert.deepEqual(Object.keys(diff.change?.parameters ?? {}).sort(), ["AuditAdmin", "AuditDelegate", "AuditEnabled", "AuditLogAgeLimit", "AuditOwner", "Identity"], type);
  }
});

test("diffMailbox: a policy whose actionRecipientTypes leave resource mailboxes out gives them AuditEnabled and the age limit only", () => {
  const usersOnly = { ...baseline, mailboxes: { ...baseline.mailboxes, actionRecipientTypes: ["UserMailbox", "SharedMailbox"] } };
  const diff = diffMailbox(usersOnly, mailbox({ RecipientTypeDetails: "RoomMailbox", AuditEnabled: false, AuditAdmin: [] }), { licensed: true });
  assert.deepEqual(Object.keys(diff.change?.parameters ?? {}).sort(), ["AuditEnabled", "AuditLogAgeLimit", "Identity"]);
});

test("diffMailbox: group mailboxes — age limit written with -GroupMailbox, actions never written", () => {
  const diff = diffMailbox(baseline, groupMailbox({ AuditOwner: ["Update"], AuditEnabled: false }), { licensed: true });
  assert.deepEqual(diff.change?.parameters, { Identity: diff.change?.parameters?.["Identity"], GroupMailbox: true, AuditLogAgeLimit: "180.00:00:00" });
  assert.equal(diff.reportOnlyDrift, true);
  const owner = diff.findings.find((finding) => finding.setting === "AuditOwner");
  assert.match(owner?.message ?? "", /HardDelete, MoveToDeletedItems, SoftDelete/);

  const compliant = diffMailbox(baseline, groupMailbox({ AuditLogAgeLimit: "180.00:00:00", AuditAdmin: [...GROUP_EXTRA] }));
  assert.equal(compliant.change, undefined);
  assert.equal(compliant.reportOnlyDrift, false);
  assert.deepEqual(compliant.findings, []);
});
const GROUP_EXTRA = ["Create", "HardDelete", "MoveToDeletedItems", "SendAs", "SendOnBehalf", "SoftDelete", "Update", "MailItemsAccessed"];

test("diffMailbox: custom-audit-set records the DefaultAuditSet trade-off", () => {
  const diff = diffMailbox(baseline, mailbox(), { licensed: true });
  const custom = diff.findings.find((finding) => finding.kind === "custom-audit-set");
  assert.deepEqual(custom?.current, ALL);
  assert.deepEqual(custom?.desired, []);
  assert.match(custom?.message ?? "", /Admin, Delegate, Owner off the default set/);

  const alreadyCustom = diffMailbox(baseline, mailbox({
    DefaultAuditSet: ["Delegate"],
    AuditAdmin: baselineActions("Admin"), AuditDelegate: baselineActions("Delegate"), AuditOwner: baselineActions("Owner"),
    AuditLogAgeLimit: "180.00:00:00",
  }), { licensed: true });
  assert.equal(alreadyCustom.change, undefined);
  assert.match(alreadyCustom.findings.find((finding) => finding.kind === "custom-audit-set")?.message ?? "", /Admin, Owner no longer follow/);
});

test("diffMailbox: exactLists replaces lists (extras removed) but keeps gated actions already audited", () => {
  const exact = policy((document) => { document["mailboxes"].exactLists = true; });
  const diff = diffMailbox(exact, mailbox({ AuditOwner: [...baselineActions("Owner"), "SearchQueryInitiated"] }), { licensed: false });
  const owner = diff.change?.parameters?.["AuditOwner"];
  assert.ok(Array.isArray(owner), "replace form is a plain list");
  assert.ok(!owner.includes("SearchQueryInitiated"), "extra removed");
  assert.ok(owner.includes("MailItemsAccessed"), "gated action already present is kept for an unlicensed mailbox");

  const matching = mailbox({ AuditAdmin: baselineActions("Admin"), AuditDelegate: baselineActions("Delegate"), AuditOwner: baselineActions("Owner"), AuditLogAgeLimit: "180.00:00:00" });
  assert.equal(diffMailbox(exact, matching, { licensed: true }).change, undefined);
});

test("diffOrganization: each setting drifts independently", () => {
  const cases = [
    { observed: { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true }, cmdlets: [] },
    { observed: { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: true }, cmdlets: ["Set-OrganizationConfig"] },
    { observed: { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: false }, cmdlets: ["Set-AdminAuditLogConfig"] },
    { observed: { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: false }, cmdlets: ["Set-OrganizationConfig", "Set-AdminAuditLogConfig"] },
  ];
  for (const testCase of cases) {
    const diff = diffOrganization(baseline, testCase.observed);
    assert.deepEqual(diff.changes.map((change) => change.cmdlet), testCase.cmdlets);
    assert.equal(diff.findings.length, testCase.cmdlets.length);
  }
  assert.deepEqual(diffOrganization(baseline, { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: true }).changes[0]?.parameters, { AuditDisabled: false });
});

test("diffBypass: cleared unless allow-listed and unexpired", () => {
  const allowed = policy((document) => {
    document["bypass"].allowList = [
      { identity: "svc-backup", reason: "Backup service, reviewed 2026-01" },
      { identity: "svc-old", reason: "Legacy", expiresOn: "2026-03-01" },
    ];
  });
  const now = new Date("2026-03-01T12:00:00Z");
  const cases = [
    { Identity: "alice", AuditBypassEnabled: false, status: "compliant", change: false },
    { Identity: "mallory", AuditBypassEnabled: true, status: "drift", change: true },
    { Identity: "SVC-BACKUP", AuditBypassEnabled: true, status: "exempt", change: false },
    { Identity: "svc-old", AuditBypassEnabled: true, status: "exempt", change: false },
  ];
  for (const testCase of cases) {
    const diff = diffBypass(allowed, testCase, now);
    assert.equal(diff.status, testCase.status, testCase.Identity);
    assert.equal(diff.change !== undefined, testCase.change, testCase.Identity);
  }
  assert.equal(diffBypass(allowed, { Identity: "svc-old", AuditBypassEnabled: true }, new Date("2026-03-02T00:00:00Z")).status, "drift", "expired");
  assert.deepEqual(diffBypass(allowed, { Identity: "mallory", AuditBypassEnabled: true }, now).change, {
    cmdlet: "Set-MailboxAuditBypassAssociation",
    parameters: { Identity: "mallory", AuditBypassEnabled: false },
  });
  assert.equal(diffBypass(allowed, { Identity: "SVC-BACKUP", AuditBypassEnabled: true }, now).findings[0]?.kind, "exemption");
});

/**
 * Whole diffs, messages included (they are what the report and the plan print): the table above checks parameter
 * names and finding kinds, so mutation testing found every text and several fields unpinned.
 */
test("diffMailbox: the whole diff of a drifted, unlicensed user mailbox", () => {
  const box = mailbox({ AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00", Guid: "g1", ExternalDirectoryObjectId: "e1", PrimarySmtpAddress: "a@contoso.com" });
  const { AuditAdmin: admin, AuditDelegate: delegate, AuditOwner: owner } = MICROSOFT_DEFAULT;
  const table = (add: string[]) => ({ "@odata.type": "#Exchange.GenericHashTable", Add: add, Remove: [] });
  assert.deepEqual(diffMailbox(baseline, box, { licensed: false }), {
    targetId: "e1",
    displayName: "a@contoso.com",
    recipientType: "UserMailbox",
    before: { AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00", AuditAdmin: admin, AuditDelegate: delegate, AuditOwner: owner, DefaultAuditSet: ALL, WhenChangedUTC: "2026-01-01T00:00:00Z" },
    findings: [
      { kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "Mailbox auditing is off" },
      { kind: "drift", setting: "AuditLogAgeLimit", current: "30.00:00:00", desired: "180.00:00:00", message: "Audit records are kept less than the 180-day minimum" },
      { kind: "substitution", setting: "AuditAdmin", current: "MessageBind", desired: "MailItemsAccessed", message: "MessageBind is deprecated in Exchange Online; MailItemsAccessed is audited instead" },
      { kind: "licence-gap", setting: "AuditAdmin", current: admin, desired: ["MailItemsAccessed", "Send"], message: "MailItemsAccessed, Send need Audit (Premium); the mailbox's account does not hold it" },
      {
        kind: "drift",
        setting: "AuditAdmin",
        current: admin,
        desired: ["ApplyRecord", "Copy", "Create", "FolderBind", "HardDelete", "Move", "MoveToDeletedItems", "RecordDelete", "SendAs", "SendOnBehalf", "SoftDelete", "Update", "UpdateCalendarDelegation", "UpdateFolderPermissions", "UpdateInboxRules"],
        message: "AuditAdmin lacks Copy, FolderBind, Move, RecordDelete",
      },
      { kind: "licence-gap", setting: "AuditDelegate", current: delegate, desired: ["MailItemsAccessed"], message: "MailItemsAccessed need Audit (Premium); the mailbox's account does not hold it" },
      {
        kind: "drift",
        setting: "AuditDelegate",
        current: delegate,
        desired: ["ApplyRecord", "Create", "FolderBind", "HardDelete", "Move", "MoveToDeletedItems", "RecordDelete", "SendAs", "SendOnBehalf", "SoftDelete", "Update", "UpdateFolderPermissions", "UpdateInboxRules"],
        message: "AuditDelegate lacks FolderBind, Move, RecordDelete",
      },
      { kind: "licence-gap", setting: "AuditOwner", current: owner, desired: ["MailItemsAccessed", "Send"], message: "MailItemsAccessed, Send need Audit (Premium); the mailbox's account does not hold it" },
      {
        kind: "drift",
        setting: "AuditOwner",
        current: owner,
        desired: ["ApplyRecord", "Create", "HardDelete", "MailboxLogin", "Move", "MoveToDeletedItems", "RecordDelete", "SoftDelete", "Update", "UpdateCalendarDelegation", "UpdateFolderPermissions", "UpdateInboxRules"],
        message: "AuditOwner lacks Create, MailboxLogin, Move, RecordDelete",
      },
      {
        kind: "custom-audit-set",
        setting: "DefaultAuditSet",
        current: ALL,
        desired: [],
        message: "adding the policy's actions takes Admin, Delegate, Owner off the default set, so actions Microsoft adds later will not apply to them",
      },
    ],
    reportOnlyDrift: false,
    change: {
      cmdlet: "Set-Mailbox",
      parameters: {
        Identity: "g1",
        AuditEnabled: true,
        AuditLogAgeLimit: "180.00:00:00",
        AuditAdmin: table(["Copy", "FolderBind", "Move", "RecordDelete"]),
        AuditDelegate: table(["FolderBind", "Move", "RecordDelete"]),
        AuditOwner: table(["Create", "MailboxLogin", "Move", "RecordDelete"]),
      },
    },
  });
  const unknown = diffMailbox(baseline, box).findings.find((finding) => finding.kind === "licence-gap");
  assert.equal(unknown?.message, "MailItemsAccessed, Send need Audit (Premium); the mailbox's account is not known to hold it");
});

test("diffMailbox: the whole diff of a drifted group mailbox (age limit written, the rest reported only)", () => {
  const box = groupMailbox({ AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00", AuditOwner: [], Guid: "g2", ExternalDirectoryObjectId: "e2", PrimarySmtpAddress: "g@contoso.com" });
  assert.deepEqual(diffMailbox(baseline, box), {
    targetId: "e2",
    displayName: "g@contoso.com",
    recipientType: "GroupMailbox",
    before: { AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00", AuditAdmin: GROUP_FIXED_SET.AuditAdmin, AuditDelegate: GROUP_FIXED_SET.AuditDelegate, AuditOwner: [], DefaultAuditSet: ALL, WhenChangedUTC: "2026-01-01T00:00:00Z" },
    findings: [
      { kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "Group mailbox shows AuditEnabled=false; group mailboxes rely on organisation auditing and are not written" },
      { kind: "drift", setting: "AuditLogAgeLimit", current: "30.00:00:00", desired: "180.00:00:00", message: "Audit records are kept less than the 180-day minimum" },
      {
        kind: "drift",
        setting: "AuditOwner",
        current: [],
        desired: GROUP_FIXED_SET.AuditOwner,
        message: "Group mailbox lacks HardDelete, MoveToDeletedItems, SoftDelete, Update from Microsoft's fixed set; group audit actions cannot be customised (reported only)",
      },
    ],
    reportOnlyDrift: true,
    change: { cmdlet: "Set-Mailbox", parameters: { Identity: "g2", GroupMailbox: true, AuditLogAgeLimit: "180.00:00:00" } },
  });
  const compliant = diffMailbox(baseline, groupMailbox({ AuditLogAgeLimit: "180.00:00:00" }));
  assert.deepEqual([compliant.findings, compliant.reportOnlyDrift, "change" in compliant], [[], false, false]);
});

test("diffOrganization and diffBypass: whole diffs", () => {
  assert.deepEqual(diffOrganization(baseline, { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: false }), {
    before: { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: false },
    findings: [
      { kind: "drift", setting: "AuditDisabled", current: true, desired: false, message: "Mailbox auditing is disabled for the whole organisation, whatever mailboxes say" },
      { kind: "drift", setting: "UnifiedAuditLogIngestionEnabled", current: false, desired: true, message: "Unified audit log ingestion is off: mailbox audit records do not reach the audit log" },
    ],
    changes: [
      { cmdlet: "Set-OrganizationConfig", parameters: { AuditDisabled: false } },
      { cmdlet: "Set-AdminAuditLogConfig", parameters: { UnifiedAuditLogIngestionEnabled: true } },
    ],
  });
  const now = new Date("2026-03-01T12:00:00Z");
  assert.deepEqual(diffBypass(baseline, { Identity: "mallory", Name: "Mallory", Guid: "bg", AuditBypassEnabled: true }, now), {
    targetId: "mallory",
    displayName: "Mallory",
    before: { AuditBypassEnabled: true },
    status: "drift",
    findings: [{ kind: "drift", setting: "AuditBypassEnabled", current: true, desired: false, message: "The account bypasses mailbox auditing: its access to any mailbox is not audited" }],
    change: { cmdlet: "Set-MailboxAuditBypassAssociation", parameters: { Identity: "bg", AuditBypassEnabled: false } },
  });
  const allowed = policy((document) => {
    document["bypass"].allowList = [{ identity: "svc-backup", reason: "Backup service", expiresOn: "2026-03-01T12:00:00Z" }];
  });
  assert.deepEqual(diffBypass(allowed, { Identity: "svc-backup", AuditBypassEnabled: true }, now), {
    targetId: "svc-backup",
    displayName: "svc-backup",
    before: { AuditBypassEnabled: true },
    status: "exempt",
    findings: [{ kind: "exemption", setting: "AuditBypassEnabled", current: true, message: "Allow-listed: Backup service" }],
  });
  assert.equal(diffBypass(allowed, { Identity: "svc-backup", AuditBypassEnabled: true }, new Date(now.getTime() + 1)).status, "drift", "a timed expiry ends at that instant");
  assert.deepEqual(diffBypass(baseline, { Identity: "alice", AuditBypassEnabled: false }, now), {
    targetId: "alice",
    displayName: "alice",
    before: { AuditBypassEnabled: false },
    status: "compliant",
    findings: [],
  });
});

test("diffMailbox: exactLists messages, the licence fallback of a replacement, the default-set finding's parts", () => {
  const exact = policy((document) => { document["mailboxes"].exactLists = true; });
  const lists = { AuditAdmin: baselineActions("Admin"), AuditDelegate: baselineActions("Delegate"), AuditOwner: baselineActions("Owner") };
  const extraOnly = diffMailbox(exact, mailbox({ ...lists, AuditOwner: [...lists.AuditOwner, "SearchQueryInitiated"], AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  assert.equal(
    extraOnly.findings.find((finding) => finding.setting === "AuditOwner")?.message,
    "AuditOwner differs from the policy's exact list (missing: none; extra: SearchQueryInitiated)",
  );
  const both = diffMailbox(exact, mailbox({ ...lists, AuditOwner: ["Update", "Extra"], AuditLogAgeLimit: "180.00:00:00", DefaultAuditSet: [] }), { licensed: true });
  const ownerList = lists.AuditOwner.filter((action) => action !== "Update");
  assert.match(both.findings.find((finding) => finding.setting === "AuditOwner")?.message ?? "", new RegExp(`^AuditOwner differs from the policy's exact list \\(missing: ${ownerList.join(", ")}; extra: Extra\\)$`));
  // The single licence retry replaces the list without the gated actions the mailbox does not already audit.
  assert.deepEqual(both.licenceFallback?.parameters?.["AuditOwner"], baselineActions("Owner").filter((action) => !["MailItemsAccessed", "Send", "SearchQueryInitiated"].includes(action)));

  const untouched = diffMailbox(baseline, mailbox({ ...lists, AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  const notSubstitution = (diff: { findings: readonly { kind: string }[] }) => diff.findings.filter((finding) => finding.kind !== "substitution");
  assert.deepEqual([notSubstitution(untouched), "change" in untouched, hasWritableDrift(untouched)], [[], false, false], "every type on the default set, nothing to add: no finding");
  assert.equal(hasWritableDrift(diffMailbox(baseline, mailbox(), { licensed: true })), true);

  const alreadyCustom = diffMailbox(baseline, mailbox({ ...lists, DefaultAuditSet: ["Delegate"], AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  assert.deepEqual(notSubstitution(alreadyCustom), [
    { kind: "custom-audit-set", setting: "DefaultAuditSet", current: ["Delegate"], desired: ["Delegate"], message: "Admin, Owner no longer follow Microsoft's default audit set" },
  ]);
  const mixed = diffMailbox(baseline, mailbox({ ...lists, AuditOwner: ["Update"], DefaultAuditSet: ["Delegate", "Owner"], AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  assert.deepEqual(mixed.findings.find((finding) => finding.kind === "custom-audit-set"), {
    kind: "custom-audit-set",
    setting: "DefaultAuditSet",
    current: ["Delegate", "Owner"],
    desired: ["Delegate"],
    message: "Admin no longer follow Microsoft's default audit set; adding the policy's actions takes Owner off the default set, so actions Microsoft adds later will not apply to them",
  });
});

test("parseTimeSpanInSeconds: the whole text must be a time span (surrounding spaces aside)", () => {
  const cases: [string, number | undefined][] = [
    [" 90.00:00:00 ", 90 * 86400],
    ["x90.00:00:00", undefined],
    ["90.00:00:00x", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(parseTimeSpanInSeconds(input), expected, JSON.stringify(input));
});

test("diffMailbox: the display name falls back from the address to the name to the id", () => {
  assert.equal(diffMailbox(baseline, mailbox({ PrimarySmtpAddress: "", DisplayName: "Ada" })).displayName, "Ada");
  assert.equal(diffMailbox(baseline, mailbox({ PrimarySmtpAddress: "", DisplayName: "", ExternalDirectoryObjectId: "e9" })).displayName, "e9");
});

test("diffMailbox: the last three survivors of the second mutation run", () => {
  // A group mailbox whose only drift is AuditEnabled=false is report-only drift.
  const group = diffMailbox(baseline, groupMailbox({ AuditEnabled: false, AuditLogAgeLimit: "180.00:00:00" }));
  assert.deepEqual([group.reportOnlyDrift, "change" in group], [true, false]);
  // Extras are listed with their separator.
  const exact = policy((document) => { document["mailboxes"].exactLists = true; });
  const lists = { AuditAdmin: baselineActions("Admin"), AuditDelegate: baselineActions("Delegate"), AuditOwner: baselineActions("Owner") };
  const extras = diffMailbox(exact, mailbox({ ...lists, AuditOwner: [...lists.AuditOwner, "Extra1", "Extra2"], AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  assert.match(extras.findings.find((finding) => finding.setting === "AuditOwner")?.message ?? "", /; extra: Extra1, Extra2\)$/);
  // A type already off the default set is not "taken off" again by the change.
  const custom = diffMailbox(baseline, mailbox({ ...lists, AuditOwner: ["Update"], DefaultAuditSet: [], AuditLogAgeLimit: "180.00:00:00" }), { licensed: true });
  assert.equal(custom.findings.find((finding) => finding.kind === "custom-audit-set")?.message, "Admin, Delegate, Owner no longer follow Microsoft's default audit set");
});
