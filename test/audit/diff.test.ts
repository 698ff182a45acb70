import { test } from "node:test";
import assert from "node:assert/strict";
import { diffBypass, diffMailbox, diffOrganization, formatDaysAsTimeSpan, parseTimeSpanInSeconds } from "../../shared/audit/diff";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import type { CmdletRequest } from "../../shared/exchange/transport";
import { groupMailbox, mailbox, policy } from "./fixtures";

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
