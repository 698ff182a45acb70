import { test } from "node:test";
import assert from "node:assert/strict";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { ExchangeError } from "../../shared/exchange/errors";
import { runCapture, type CaptureDeps } from "../../shared/capture/run-capture";
import { CaptureConfigurationError, defaultCapturePolicy, parseCaptureSettings } from "../../shared/capture/settings";
import { FakeExchange, sharedMailbox, transportRule, type FakeTenant } from "./fake-exchange";

const GIB = 1024 ** 3;
const managedName = "mailbox-audit-enforcer: capture all mail";
const settings = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com" }, accessGroup: "SecOps Capture Readers" });
const clock = { now: () => new Date("2026-03-01T12:00:00Z") };

function group(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: "SecOps Capture Readers",
    DisplayName: "SecOps Capture Readers",
    PrimarySmtpAddress: "secops-capture@contoso.com",
    RecipientTypeDetails: "MailUniversalSecurityGroup",
    ...fields,
  };
}

/** A converged tenant: capture mailbox, grant, managed rule first, plus an ordinary rule of the customer's. */
function convergedTenant(): FakeTenant {
  const mailbox = sharedMailbox("capture@contoso.com");
  const objectId = String(mailbox["ExternalDirectoryObjectId"]);
  return {
    rules: [
      transportRule({
        Name: managedName,
        Priority: 0,
        Comments: defaultCapturePolicy.comments,
        BlindCopyTo: ["capture@contoso.com"],
        ExceptIfFrom: ["capture@contoso.com"],
        ExceptIfSentTo: ["capture@contoso.com"],
        SenderAddressLocation: "HeaderOrEnvelope",
      }),
      transportRule({ Name: "Disclaimer", Priority: 1, ApplyHtmlDisclaimerText: "<p>x</p>", SentToScope: "NotInOrganization" }),
    ],
    mailboxes: [mailbox],
    groups: [group()],
    permissions: [
      { Identity: String(mailbox["Identity"]), User: "NT AUTHORITY\\SELF", AccessRights: ["FullAccess", "ReadPermission"], IsInherited: false, Deny: false },
      { Identity: String(mailbox["Identity"]), User: "SecOps Capture Readers", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
      { Identity: String(mailbox["Identity"]), User: "CONTOSO\\Organization Management", AccessRights: ["FullAccess"], IsInherited: true, Deny: false },
    ],
    statistics: new Map([["capture@contoso.com", { TotalItemSize: "1 GB (1,073,741,824 bytes)", ItemCount: 5000 }]]),
    journalRules: [],
    transportConfig: { JournalingReportNdrTo: null },
    users: new Map([[objectId, { id: objectId, accountEnabled: false }]]),
  };
}

/** Every tampering at once. */
function tamperedTenant(): FakeTenant {
  const tenant = convergedTenant();
  const managed = tenant.rules[0];
  assert.ok(managed);
  Object.assign(managed, { Mode: "Audit", State: "Disabled", FromScope: "NotInOrganization", ExceptIfFrom: ["capture@contoso.com", "ceo@contoso.com"] });
  // A customer rule that stops processing for all mail, moved before the capture rule.
  tenant.rules.push(transportRule({ Name: "Stop everything", Priority: 2, StopRuleProcessing: true }));
  tenant.rules.forEach((rule) => {
    rule["Priority"] = rule["Name"] === "Stop everything" ? 0 : Number(rule["Priority"]) + 1;
  });
  const mailbox = tenant.mailboxes[0];
  assert.ok(mailbox);
  mailbox["HiddenFromAddressListsEnabled"] = false;
  tenant.permissions.push({ Identity: String(mailbox["Identity"]), User: "mallory@contoso.com", AccessRights: ["FullAccess"], IsInherited: false, Deny: false });
  const objectId = String(mailbox["ExternalDirectoryObjectId"]);
  tenant.users.set(objectId, { id: objectId, accountEnabled: true });
  return tenant;
}

function deps(fake: FakeExchange, overrides: Partial<CaptureDeps> = {}): CaptureDeps {
  return { transport: fake, graph: fake, settings, clock, ...overrides };
}

function outcome(outcomes: TargetOutcome[], displayName: string): TargetOutcome {
  const found = outcomes.find((each) => each.displayName === displayName);
  assert.ok(found, `outcome for ${displayName}: ${outcomes.map((each) => each.displayName).join(", ")}`);
  return found;
}

test("converged tenant: all compliant, zero writes, in plan and apply", async () => {
  for (const mode of ["plan", "apply"] as const) {
    const fake = new FakeExchange(convergedTenant());
    const result = await runCapture(deps(fake), { tenantId: "contoso", mode });
    assert.equal(result.writes, 0);
    assert.deepEqual(fake.writeCalls, []);
    assert.deepEqual(
      result.outcomes.map((each) => [each.kind, each.status]),
      [
        ["capture-mailbox", "compliant"],
        ["transport-rule", "compliant"],
      ],
    );
    assert.deepEqual(result.sample, { itemCount: 5000, totalItemSizeInBytes: GIB, observedAt: "2026-03-01T12:00:00.000Z" });
  }
});

test("plan shows every tampering with current and desired values and writes nothing", async () => {
  const fake = new FakeExchange(tamperedTenant());
  const { outcomes, writes } = await runCapture(deps(fake), { tenantId: "contoso", mode: "plan" });
  assert.equal(writes, 0);
  assert.deepEqual(fake.writeCalls, []);

  const rule = outcome(outcomes, managedName);
  assert.equal(rule.status, "failed", "Audit mode and an added exception defeat capture");
  assert.equal(rule.error?.code, "CaptureDefeated");
  const bySetting = new Map(rule.findings.map((finding) => [finding.setting, finding]));
  assert.deepEqual([bySetting.get("Mode")?.current, bySetting.get("Mode")?.desired], ["Audit", "Enforce"]);
  assert.deepEqual([bySetting.get("State")?.current, bySetting.get("State")?.desired], ["Disabled", "Enabled"]);
  assert.deepEqual([bySetting.get("FromScope")?.current, bySetting.get("FromScope")?.desired], ["NotInOrganization", null]);
  assert.deepEqual(bySetting.get("ExceptIfFrom")?.current, ["capture@contoso.com", "ceo@contoso.com"]);
  assert.deepEqual([bySetting.get("Priority")?.current, bySetting.get("Priority")?.desired], [1, 0]);

  const shadow = outcome(outcomes, "Stop everything");
  assert.equal(shadow.status, "failed");
  assert.equal(shadow.error?.code, "CaptureShadowed");

  const mailbox = outcome(outcomes, "capture@contoso.com");
  assert.equal(mailbox.status, "drift");
  assert.deepEqual(
    mailbox.findings.map((finding) => [finding.setting, finding.current, finding.desired]),
    [
      ["HiddenFromAddressListsEnabled", false, true],
      ["AccountEnabled", true, false],
      ["FullAccess", ["SecOps Capture Readers", "mallory@contoso.com"], ["secops-capture@contoso.com"]],
    ],
  );
  assert.equal(outcomes.some((each) => each.displayName === "Disclaimer"), false, "harmless unmanaged rules are not reported");
});

test("apply repairs, verifies by read-back, and a second apply makes zero writes", async () => {
  const tenant = tamperedTenant();
  const fake = new FakeExchange(tenant);
  const first = await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" });

  assert.equal(outcome(first.outcomes, managedName).status, "remediated");
  assert.equal(outcome(first.outcomes, "capture@contoso.com").status, "remediated");
  assert.equal(first.outcomes.some((each) => each.displayName === "Stop everything" && each.status === "failed"), false, "capture rule now runs first");
  assert.ok(first.writes > 0);
  assert.equal(first.writes, fake.writeCalls.length);
  assert.equal(fake.writeCalls.includes("Get-TransportRule"), false);

  const managed = tenant.rules.find((rule) => rule["Name"] === managedName);
  assert.ok(managed);
  assert.deepEqual(
    [managed["Mode"], managed["State"], managed["FromScope"], managed["ExceptIfFrom"], managed["Priority"]],
    ["Enforce", "Enabled", null, ["capture@contoso.com"], 0],
  );
  const stop = tenant.rules.find((rule) => rule["Name"] === "Stop everything");
  assert.equal(stop?.["StopRuleProcessing"], true, "the unmanaged rule's settings are untouched");
  assert.equal(tenant.mailboxes[0]?.["HiddenFromAddressListsEnabled"], true);
  assert.deepEqual(
    tenant.permissions.filter((entry) => entry.AccessRights.includes("FullAccess")).map((entry) => entry.User),
    ["NT AUTHORITY\\SELF", "SecOps Capture Readers", "CONTOSO\\Organization Management"],
    "extra grant removed; SELF and inherited left alone",
  );
  assert.equal([...tenant.users.values()][0]?.accountEnabled, false);
  const ruleAfter = outcome(first.outcomes, managedName).after;
  assert.equal(ruleAfter?.["Mode"], "Enforce", "after = read-back");

  const writesBefore = fake.writeCalls.length;
  const second = await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" });
  assert.equal(second.writes, 0);
  assert.equal(fake.writeCalls.length, writesBefore);
  assert.ok(second.outcomes.every((each) => each.status === "compliant"), JSON.stringify(second.outcomes.map((each) => [each.displayName, each.status])));
});

test("deleted rule is re-created first in priority", async () => {
  const tenant = convergedTenant();
  tenant.rules = tenant.rules.filter((rule) => rule["Name"] !== managedName);
  tenant.rules.forEach((rule, index) => (rule["Priority"] = index));
  const fake = new FakeExchange(tenant);
  const result = await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" });
  assert.deepEqual(fake.writeCalls, ["New-TransportRule"]);
  assert.equal(outcome(result.outcomes, managedName).status, "remediated");
  assert.deepEqual(
    tenant.rules.map((rule) => [rule["Name"], rule["Priority"]]).sort((a, b) => Number(a[1]) - Number(b[1])),
    [
      [managedName, 0],
      ["Disclaimer", 1],
    ],
  );
  assert.equal((await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" })).writes, 0);
});

test("a failed write fails that target with Exchange's error and leaves others repaired", async () => {
  const tenant = tamperedTenant();
  const fake = new FakeExchange(tenant);
  fake.failNext.set(
    "set-transportrule",
    new ExchangeError({ errorId: "RuleTooBig", exceptionType: "X", text: "boom", status: 400, requestId: "req-1", cmdlet: "Set-TransportRule" }),
  );
  const result = await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" });
  const rule = outcome(result.outcomes, managedName);
  assert.equal(rule.status, "failed");
  assert.equal(rule.error?.code, "RuleTooBig");
  assert.equal(rule.error?.requestId, "req-1");
  assert.equal(outcome(result.outcomes, "capture@contoso.com").status, "remediated");
});

test("over-quota capture mailbox fails even in apply", async () => {
  const tenant = convergedTenant();
  tenant.statistics.set("capture@contoso.com", { TotalItemSize: `49 GB (${(49 * GIB).toLocaleString("en-US")} bytes)`, ItemCount: 10 });
  const result = await runCapture(deps(new FakeExchange(tenant)), { tenantId: "contoso", mode: "apply" });
  const mailbox = outcome(result.outcomes, "capture@contoso.com");
  assert.equal(mailbox.status, "failed");
  assert.equal(mailbox.error?.code, "CaptureMailboxFull");
});

test("missing capture mailbox without opt-in: failed, rules not written", async () => {
  const tenant = convergedTenant();
  tenant.mailboxes = [];
  tenant.rules[0]!["State"] = "Disabled";
  const fake = new FakeExchange(tenant);
  const result = await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" });
  assert.deepEqual(fake.writeCalls, []);
  assert.equal(outcome(result.outcomes, "capture@contoso.com").error?.code, "CaptureMailboxMissing");
  assert.equal(outcome(result.outcomes, managedName).error?.code, "CaptureRuleBlocked");
});

test("missing capture mailbox with createIfMissing: created, configured, rule created; then converged", async () => {
  const tenant = convergedTenant();
  tenant.mailboxes = [];
  tenant.permissions = [];
  tenant.users.clear();
  tenant.rules = tenant.rules.filter((rule) => rule["Name"] !== managedName);
  tenant.rules.forEach((rule, index) => (rule["Priority"] = index));
  const fake = new FakeExchange(tenant);
  const create = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com", createIfMissing: true }, accessGroup: "SecOps Capture Readers" });
  const first = await runCapture(deps(fake, { settings: create }), { tenantId: "contoso", mode: "apply" });
  assert.deepEqual(fake.writeCalls, ["New-Mailbox", "Set-Mailbox", "graph:blockSignIn", "Add-MailboxPermission", "New-TransportRule"]);
  assert.deepEqual(
    first.outcomes.map((each) => [each.kind, each.status]),
    [
      ["capture-mailbox", "remediated"],
      ["transport-rule", "remediated"],
    ],
  );
  assert.equal((await runCapture(deps(fake, { settings: create }), { tenantId: "contoso", mode: "apply" })).writes, 0);
});

test("access group missing or not mail-enabled security: run-level configuration error", async () => {
  const variants: [string, Record<string, unknown>[], RegExp][] = [
    ["missing", [], /not found .* mail-enabled security group/],
    ["not mail-enabled", [group({ RecipientTypeDetails: "SecurityGroup" })], /not found .* mail-enabled security group/],
    ["distribution group", [group({ RecipientTypeDetails: "MailUniversalDistributionGroup" })], /MailUniversalDistributionGroup, not a mail-enabled security group/],
  ];
  for (const [name, groups, message] of variants) {
    const tenant = convergedTenant();
    tenant.groups = groups;
    const fake = new FakeExchange(tenant);
    await assert.rejects(runCapture(deps(fake), { tenantId: "contoso", mode: "apply" }), (error: unknown) => {
      assert.ok(error instanceof CaptureConfigurationError, name);
      assert.equal(error.code, "CaptureAccessGroupInvalid");
      assert.match(error.message, message);
      return true;
    });
    assert.deepEqual(fake.writeCalls, [], name);
  }
});

test("journaling mode: journal rule and NDR mailbox created, stale capture rule removed, then converged", async () => {
  const tenant = convergedTenant();
  const journaling = parseCaptureSettings({
    mode: "journaling",
    journaling: { journalEmailAddress: "journal@onprem.contoso.com", ndrMailbox: "journal-ndr@contoso.com" },
  });
  const fake = new FakeExchange(tenant);
  const planned = await runCapture(deps(fake, { settings: journaling }), { tenantId: "contoso", mode: "plan" });
  assert.deepEqual(
    planned.outcomes.map((each) => [each.kind, each.status]),
    [
      ["organization", "drift"],
      ["journal-rule", "drift"],
      ["transport-rule", "drift"],
    ],
  );
  const applied = await runCapture(deps(fake, { settings: journaling }), { tenantId: "contoso", mode: "apply" });
  assert.deepEqual(fake.writeCalls, ["Set-TransportConfig", "New-JournalRule", "Remove-TransportRule"], "Exchange refuses New-JournalRule before JournalingReportNdrTo is set");
  assert.ok(applied.outcomes.every((each) => each.status === "remediated"), JSON.stringify(applied.outcomes));
  assert.deepEqual(tenant.journalRules.map((rule) => [rule["JournalEmailAddress"], rule["Scope"], rule["Enabled"]]), [["journal@onprem.contoso.com", "Global", true]]);
  assert.equal(tenant.transportConfig["JournalingReportNdrTo"], "journal-ndr@contoso.com");
  assert.deepEqual(tenant.rules.map((rule) => rule["Name"]), ["Disclaimer"]);

  tenant.journalRules[0]!["Enabled"] = false;
  tenant.journalRules[0]!["Scope"] = "Internal";
  const repaired = await runCapture(deps(fake, { settings: journaling }), { tenantId: "contoso", mode: "apply" });
  assert.equal(repaired.outcomes.find((each) => each.kind === "journal-rule")?.status, "remediated");
  assert.equal((await runCapture(deps(fake, { settings: journaling }), { tenantId: "contoso", mode: "apply" })).writes, 0);
});

const journalingSettings = (ndrMailbox: string) =>
  parseCaptureSettings({ mode: "journaling", journaling: { journalEmailAddress: "journal@onprem.contoso.com", ndrMailbox } });

test("journaling: an Exchange Online mailbox as NDR mailbox fails the journaling targets, citing Microsoft's rule, and writes nothing", async () => {
  for (const type of ["SharedMailbox", "UserMailbox", "RoomMailbox"]) {
    const tenant = convergedTenant();
    tenant.mailboxes[0]!["RecipientTypeDetails"] = type;
    const fake = new FakeExchange(tenant);
    const result = await runCapture(deps(fake, { settings: journalingSettings("capture@contoso.com") }), { tenantId: "contoso", mode: "apply" });
    assert.deepEqual(fake.writeCalls, [], type);
    assert.ok(fake.calls.indexOf("Get-Recipient") < fake.calls.indexOf("Get-TransportRule"), "looked up before anything else");
    assert.deepEqual(
      result.outcomes.map((each) => [each.kind, each.status, each.error?.code]),
      [
        ["organization", "failed", "JournalNdrMailboxInvalid"],
        ["journal-rule", "failed", "JournalNdrMailboxInvalid"],
        ["transport-rule", "failed", "JournalNdrMailboxInvalid"],
      ],
      type,
    );
    assert.match(result.outcomes[0]?.error?.message ?? "", /alternate journaling mailbox can't be an Exchange Online mailbox.*learn\.microsoft\.com/);
  }
});

test("journaling: a mail user, a mail contact or an address outside the tenant is accepted as NDR mailbox", async () => {
  const cases: [string, Record<string, unknown>[]][] = [
    ["MailUser", [{ PrimarySmtpAddress: "ndr@contoso.com", EmailAddresses: ["SMTP:ndr@contoso.com"], RecipientTypeDetails: "MailUser" }]],
    ["MailContact", [{ PrimarySmtpAddress: "ndr@contoso.com", RecipientTypeDetails: "MailContact" }]],
    ["RemoteSharedMailbox", [{ PrimarySmtpAddress: "ndr@contoso.com", RecipientTypeDetails: "RemoteSharedMailbox" }]],
    ["not in the tenant", []],
  ];
  for (const [name, otherRecipients] of cases) {
    const tenant = { ...convergedTenant(), otherRecipients };
    const fake = new FakeExchange(tenant);
    const result = await runCapture(deps(fake, { settings: journalingSettings("ndr@contoso.com") }), { tenantId: "contoso", mode: "apply" });
    assert.deepEqual(fake.writeCalls, ["Set-TransportConfig", "New-JournalRule", "Remove-TransportRule"], name);
    assert.ok(result.outcomes.every((each) => each.status === "remediated"), name);
  }
});

test("the capture mailbox is read by address, its permissions and statistics by its Guid", async () => {
  const tenant = convergedTenant();
  const fake = new FakeExchange(tenant);
  await runCapture(deps(fake), { tenantId: "contoso", mode: "plan" });
  const identityOf = (cmdlet: string) => fake.requests.find((request) => request.cmdlet === cmdlet)?.parameters?.["Identity"];
  assert.equal(identityOf("Get-Mailbox"), "capture@contoso.com");
  assert.equal(identityOf("Get-MailboxPermission"), tenant.mailboxes[0]?.["Guid"]);
  assert.equal(identityOf("Get-MailboxStatistics"), tenant.mailboxes[0]?.["Guid"]);
});

/** Exchange's documented caution: a look-up that (wrongly) lists every object instead of the one asked for. */
function answeringWithEveryObject(fake: FakeExchange, cmdlet: string, rows: () => Record<string, unknown>[]): FakeExchange {
  const invoke = fake.invoke.bind(fake);
  fake.invoke = <T>(request: Parameters<FakeExchange["invoke"]>[0]) =>
    request.cmdlet === cmdlet ? Promise.resolve({ value: rows() as T[], warnings: [] }) : invoke<T>(request);
  return fake;
}

test("a look-up answered with other objects than the one asked for is refused before any write", async () => {
  const variants: [string, (tenant: FakeTenant) => Record<string, unknown>[]][] = [
    ["Get-Mailbox", (tenant) => [sharedMailbox("other@contoso.com"), ...tenant.mailboxes]],
    ["Get-Mailbox", () => [sharedMailbox("other@contoso.com")]],
    ["Get-DistributionGroup", (tenant) => [group({ Name: "Everyone", DisplayName: "Everyone", PrimarySmtpAddress: "everyone@contoso.com" }), ...tenant.groups]],
    ["Get-MailboxPermission", () => [{ Identity: "other", User: "mallory@contoso.com", AccessRights: ["FullAccess"], IsInherited: false, Deny: false }]],
  ];
  for (const [cmdlet, rows] of variants) {
    const tenant = tamperedTenant();
    const fake = answeringWithEveryObject(new FakeExchange(tenant), cmdlet, () => rows(tenant));
    await assert.rejects(runCapture(deps(fake), { tenantId: "contoso", mode: "apply" }), { name: "ExchangeError", errorId: "IdentityMismatch" }, cmdlet);
    assert.deepEqual(fake.writeCalls, [], cmdlet);
  }
});

test("an empty access group name is refused before it is sent (it would list every group)", async () => {
  const fake = new FakeExchange(convergedTenant());
  const blank = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com" }, accessGroup: "  " });
  await assert.rejects(runCapture(deps(fake, { settings: blank }), { tenantId: "contoso", mode: "apply" }), RangeError);
  assert.deepEqual(fake.calls, []);
});

test("'already exists' settles by read-back: remediated when the object is there as planned, failed with Exchange's answer otherwise", async () => {
  const alreadyExists = new ExchangeError({
    errorId: "RuleNameAlreadyExists",
    exceptionType: "System.ArgumentException",
    text: `A transport rule with the name "${managedName}" already exists.`,
    status: 400,
    cmdlet: "New-TransportRule",
  });
  const tenant = convergedTenant();
  tenant.rules = tenant.rules.filter((rule) => rule["Name"] !== managedName);
  const fake = new FakeExchange(tenant);
  fake.failNext.set("new-transportrule", alreadyExists);
  const missing = outcome((await runCapture(deps(fake), { tenantId: "contoso", mode: "apply" })).outcomes, managedName);
  assert.equal(missing.status, "failed", "the read-back does not show the rule");
  assert.equal(missing.error?.code, "RuleNameAlreadyExists");
  assert.match(missing.error?.message ?? "", /already exists\. Read-back still differs: create/);

  const landed = convergedTenant();
  const managed = landed.rules.find((rule) => rule["Name"] === managedName)!;
  landed.rules = landed.rules.filter((rule) => rule !== managed);
  const retried = new FakeExchange(landed);
  // The first attempt landed; only its answer was lost, and the transport's retry met "already exists".
  retried.invoke = ((invoke) => <T>(request: Parameters<FakeExchange["invoke"]>[0]) => {
    if (request.cmdlet !== "New-TransportRule") return invoke<T>(request);
    landed.rules.unshift(managed);
    landed.rules.forEach((rule, index) => (rule["Priority"] = index));
    return Promise.reject(alreadyExists);
  })(retried.invoke.bind(retried));
  const settled = await runCapture(deps(retried), { tenantId: "contoso", mode: "apply" });
  assert.equal(outcome(settled.outcomes, managedName).status, "remediated");
  assert.equal(landed.rules.filter((rule) => rule["Name"] === managedName).length, 1);
});
