/**
 * Issue 14, unit level: a capture write Exchange acknowledges but of which one property does not stick (the fake's
 * lossy write) leaves its target failed `VerifyMismatch` on read-back, never remediated: the managed transport
 * rule, the capture mailbox (a permission, the hidden flag), the journal rule and the NDR address.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TargetOutcome } from "../../shared/domain/outcome";
import { runCapture } from "../../shared/capture/run-capture";
import { defaultCapturePolicy, parseCaptureSettings, type CaptureSettings } from "../../shared/capture/settings";
import { FakeExchange, sharedMailbox, transportRule, type FakeTenant } from "./fake-exchange";

const MANAGED = "mailbox-audit-enforcer: capture all mail";
const GROUP = "SecOps Capture Readers";
const transportRules = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com" }, accessGroup: GROUP });
const journaling = parseCaptureSettings({
  mode: "journaling",
  journaling: { journalEmailAddress: "journal@onprem.contoso.com", ndrMailbox: "journal-ndr@contoso.com" },
});
const clock = { now: () => new Date("2026-03-01T12:00:00Z") };

function convergedTenant(): FakeTenant {
  const mailbox = sharedMailbox("capture@contoso.com");
  const objectId = String(mailbox["ExternalDirectoryObjectId"]);
  return {
    rules: [
      transportRule({
        Name: MANAGED,
        Priority: 0,
        Comments: defaultCapturePolicy.comments,
        BlindCopyTo: ["capture@contoso.com"],
        ExceptIfFrom: ["capture@contoso.com"],
        ExceptIfSentTo: ["capture@contoso.com"],
        SenderAddressLocation: "HeaderOrEnvelope",
      }),
    ],
    mailboxes: [mailbox],
    groups: [{ Name: GROUP, DisplayName: GROUP, PrimarySmtpAddress: "secops-capture@contoso.com", RecipientTypeDetails: "MailUniversalSecurityGroup" }],
    permissions: [
      { Identity: String(mailbox["Identity"]), User: "NT AUTHORITY\\SELF", AccessRights: ["FullAccess", "ReadPermission"], IsInherited: false, Deny: false },
      { Identity: String(mailbox["Identity"]), User: GROUP, AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
    ],
    statistics: new Map([["capture@contoso.com", { TotalItemSize: "1 GB (1,073,741,824 bytes)", ItemCount: 5000 }]]),
    journalRules: [],
    transportConfig: { JournalingReportNdrTo: null },
    users: new Map([[objectId, { id: objectId, accountEnabled: false }]]),
  };
}

async function apply(fake: FakeExchange, settings: CaptureSettings): Promise<TargetOutcome[]> {
  return (await runCapture({ transport: fake, graph: fake, settings, clock }, { tenantId: "contoso", mode: "apply" })).outcomes;
}

function only(outcomes: readonly TargetOutcome[], pick: (outcome: TargetOutcome) => boolean): TargetOutcome {
  const found = outcomes.filter(pick);
  assert.equal(found.length, 1, JSON.stringify(outcomes));
  return found[0]!;
}

const cases: {
  name: string;
  settings: CaptureSettings;
  tamper: (tenant: FakeTenant) => void;
  cmdlet: string;
  property: string;
  target: (outcome: TargetOutcome) => boolean;
  lost: (tenant: FakeTenant) => boolean;
}[] = [
  {
    name: "transport rule: Set-TransportRule loses the scope",
    settings: transportRules,
    tamper: (tenant) => (tenant.rules[0]!["FromScope"] = "NotInOrganization"),
    cmdlet: "Set-TransportRule",
    property: "FromScope",
    target: (outcome) => outcome.displayName === MANAGED,
    lost: (tenant) => tenant.rules[0]!["FromScope"] === "NotInOrganization",
  },
  {
    name: "transport rule: New-TransportRule loses the Bcc recipient",
    settings: transportRules,
    tamper: (tenant) => (tenant.rules = []),
    cmdlet: "New-TransportRule",
    property: "BlindCopyTo",
    target: (outcome) => outcome.displayName === MANAGED,
    lost: (tenant) => !JSON.stringify(tenant.rules[0]?.["BlindCopyTo"] ?? null).includes("capture@contoso.com"),
  },
  {
    name: "capture mailbox: Add-MailboxPermission loses the access right",
    settings: transportRules,
    tamper: (tenant) => (tenant.permissions = tenant.permissions.filter((entry) => entry.User !== GROUP)),
    cmdlet: "Add-MailboxPermission",
    property: "AccessRights",
    target: (outcome) => outcome.kind === "capture-mailbox",
    lost: (tenant) => !tenant.permissions.some((entry) => entry.User === GROUP),
  },
  {
    name: "capture mailbox: Set-Mailbox loses the hidden flag",
    settings: transportRules,
    tamper: (tenant) => (tenant.mailboxes[0]!["HiddenFromAddressListsEnabled"] = false),
    cmdlet: "Set-Mailbox",
    property: "HiddenFromAddressListsEnabled",
    target: (outcome) => outcome.kind === "capture-mailbox",
    lost: (tenant) => tenant.mailboxes[0]!["HiddenFromAddressListsEnabled"] === false,
  },
  {
    name: "journal rule: New-JournalRule loses the scope",
    settings: journaling,
    tamper: (tenant) => (tenant.transportConfig["JournalingReportNdrTo"] = "journal-ndr@contoso.com"),
    cmdlet: "New-JournalRule",
    property: "Scope",
    target: (outcome) => outcome.kind === "journal-rule",
    lost: (tenant) => tenant.journalRules.length === 1 && tenant.journalRules[0]!["Scope"] === null,
  },
  {
    name: "NDR address: Set-TransportConfig loses JournalingReportNdrTo",
    settings: journaling,
    tamper: () => undefined,
    cmdlet: "Set-TransportConfig",
    property: "JournalingReportNdrTo",
    target: (outcome) => outcome.targetId === "transport-config",
    lost: (tenant) => tenant.transportConfig["JournalingReportNdrTo"] === null,
  },
];

for (const { name, settings, tamper, cmdlet, property, target, lost } of cases) {
  test(`${name}: acknowledged, read back still different -> failed VerifyMismatch, never remediated`, async () => {
    const tenant = convergedTenant();
    tamper(tenant);
    const fake = new FakeExchange(tenant);
    fake.lossyWrites.push({ cmdlet, property });
    const outcome = only(await apply(fake, settings), target);
    assert.equal(fake.lossyWrites.length, 0, "the lossy write happened");
    assert.ok(fake.writeCalls.includes(cmdlet));
    assert.ok(lost(tenant), "the property was lost");
    assert.equal(outcome.status, "failed", JSON.stringify(outcome));
    assert.equal(outcome.error?.code, "VerifyMismatch");
    assert.match(outcome.error?.message ?? "", /Read-back still differs/);
  });
}
