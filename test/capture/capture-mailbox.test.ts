import { test } from "node:test";
import assert from "node:assert/strict";
import {
  estimateDailyMessages,
  explicitFullAccessTrustees,
  parseByteQuantity,
  planCaptureMailbox,
  type CaptureMailboxPlanInput,
  type ObservedCaptureMailbox,
} from "../../shared/capture/capture-mailbox";
import { defaultCapturePolicy, parseCaptureSettings } from "../../shared/capture/settings";
import { plannedStatus } from "../../shared/capture/target-plan";

const GIB = 1024 ** 3;
const settings = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com" }, accessGroup: "SecOps Capture Readers" });
const accessGroup = { grantAs: "secops-capture@contoso.com", identities: ["SecOps Capture Readers", "secops-capture@contoso.com", "SecOpsCapture"] };
const now = new Date("2026-03-01T12:00:00Z");

function sizeText(bytes: number): string {
  return `${(bytes / GIB).toFixed(2)} GB (${bytes.toLocaleString("en-US")} bytes)`;
}

function observed(overrides: Partial<ObservedCaptureMailbox> = {}, mailbox: Record<string, unknown> = {}): ObservedCaptureMailbox {
  return {
    mailbox: {
      ExternalDirectoryObjectId: "obj-1",
      PrimarySmtpAddress: "capture@contoso.com",
      RecipientTypeDetails: "SharedMailbox",
      HiddenFromAddressListsEnabled: true,
      ...mailbox,
    },
    account: { id: "obj-1", accountEnabled: false },
    permissions: [
      { User: "NT AUTHORITY\\SELF", AccessRights: ["FullAccess", "ReadPermission"], IsInherited: false, Deny: false },
      { User: "SecOpsCapture", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
    ],
    statistics: { TotalItemSize: sizeText(GIB), ItemCount: 1000 },
    ...overrides,
  };
}

function planFor(input: Partial<CaptureMailboxPlanInput> & { observed: ObservedCaptureMailbox }) {
  return planCaptureMailbox({ settings, policy: defaultCapturePolicy, accessGroup, now, ...input });
}

function cmdlets(actions: ReturnType<typeof planFor>["actions"]): string[] {
  return actions.map((action) => (action.kind === "exchange" ? action.request.cmdlet : action.kind));
}

test("parseByteQuantity", () => {
  const cases: [unknown, number | undefined][] = [
    ["49.5 GB (53,150,220,288 bytes)", 53150220288],
    ["0 B (0 bytes)", 0],
    ["1.2 MB (1,258,291 bytes)", 1258291],
    ["100 GB (107,374,182,400 bytes)", 107374182400],
    ["Unlimited", undefined],
    ["", undefined],
    [null, undefined],
    [12345, 12345],
  ];
  for (const [input, expected] of cases) assert.equal(parseByteQuantity(input), expected, String(input));
});

test("explicit FullAccess trustees ignore SELF, inherited and deny entries", () => {
  const trustees = explicitFullAccessTrustees([
    { User: "NT AUTHORITY\\SELF", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
    { User: "CONTOSO\\Domain Admins", AccessRights: ["FullAccess"], IsInherited: true, Deny: false },
    { User: "blocked@contoso.com", AccessRights: ["FullAccess"], IsInherited: false, Deny: true },
    { User: "reader@contoso.com", AccessRights: ["ReadPermission"], IsInherited: false, Deny: false },
    { User: "alice@contoso.com", AccessRights: "FullAccess, ReadPermission", IsInherited: false, Deny: false },
    { User: "Group", AccessRights: ["FullAccess"], IsInherited: "False", Deny: "False" },
  ]);
  assert.deepEqual(trustees, ["alice@contoso.com", "Group"]);
});

test("compliant capture mailbox", () => {
  const target = planFor({ observed: observed() });
  assert.equal(plannedStatus(target), "compliant");
  assert.deepEqual(target.findings, []);
  assert.equal(target.targetId, "obj-1");
  assert.deepEqual(target.before["FullAccess"], ["SecOpsCapture"]);
});

interface MailboxCase {
  readonly name: string;
  readonly observed: ObservedCaptureMailbox;
  readonly status: "drift" | "failed" | "compliant";
  readonly setting: string;
  readonly current?: unknown;
  readonly desired?: unknown;
  readonly cmdlets: string[];
  readonly problemCode?: string;
}

const cases: MailboxCase[] = [
  {
    name: "unhidden mailbox",
    observed: observed({}, { HiddenFromAddressListsEnabled: false }),
    status: "drift",
    setting: "HiddenFromAddressListsEnabled",
    current: false,
    desired: true,
    cmdlets: ["Set-Mailbox"],
  },
  {
    name: "sign-in allowed",
    observed: observed({ account: { id: "obj-1", accountEnabled: true } }),
    status: "drift",
    setting: "AccountEnabled",
    current: true,
    desired: false,
    cmdlets: ["block-sign-in"],
  },
  {
    name: "extra FullAccess grant to a user",
    observed: observed({
      permissions: [
        { User: "SecOpsCapture", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
        { User: "mallory@contoso.com", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
      ],
    }),
    status: "drift",
    setting: "FullAccess",
    current: ["SecOpsCapture", "mallory@contoso.com"],
    desired: ["secops-capture@contoso.com"],
    cmdlets: ["Remove-MailboxPermission"],
  },
  {
    name: "access group lost its grant, another group got one",
    observed: observed({ permissions: [{ User: "Helpdesk", AccessRights: ["FullAccess"], IsInherited: false, Deny: false }] }),
    status: "drift",
    setting: "FullAccess",
    current: ["Helpdesk"],
    desired: ["secops-capture@contoso.com"],
    cmdlets: ["Add-MailboxPermission", "Remove-MailboxPermission"],
  },
  {
    name: "over quota (fail threshold)",
    observed: observed({ statistics: { TotalItemSize: sizeText(48 * GIB), ItemCount: 900000 } }),
    status: "failed",
    setting: "TotalItemSize",
    current: 48 * GIB,
    cmdlets: [],
    problemCode: "CaptureMailboxFull",
  },
  {
    name: "near quota (warn threshold only)",
    observed: observed({ statistics: { TotalItemSize: sizeText(41 * GIB), ItemCount: 800000 } }),
    status: "compliant",
    setting: "TotalItemSize",
    current: 41 * GIB,
    cmdlets: [],
  },
  {
    name: "mailbox is a user mailbox: reported, never touched",
    observed: observed({}, { RecipientTypeDetails: "UserMailbox", HiddenFromAddressListsEnabled: false }),
    status: "failed",
    setting: "RecipientTypeDetails",
    current: "UserMailbox",
    desired: "SharedMailbox",
    cmdlets: [],
    problemCode: "CaptureMailboxNotShared",
  },
  {
    name: "missing, createIfMissing off",
    observed: { permissions: [] },
    status: "failed",
    setting: "Present",
    current: false,
    desired: true,
    cmdlets: [],
    problemCode: "CaptureMailboxMissing",
  },
];

for (const each of cases) {
  test(`capture mailbox: ${each.name}`, () => {
    const target = planFor({ observed: each.observed });
    assert.equal(plannedStatus(target), each.status);
    const finding = target.findings.find((candidate) => candidate.setting === each.setting);
    assert.ok(finding, JSON.stringify(target.findings));
    if ("current" in each) assert.deepEqual(finding.current, each.current);
    if ("desired" in each) assert.deepEqual(finding.desired, each.desired);
    assert.deepEqual(cmdlets(target.actions), each.cmdlets);
    assert.equal(target.problem?.code, each.problemCode);
  });
}

test("grant is FullAccess to the group without AutoMapping; removal names the trustee", () => {
  const target = planFor({ observed: observed({ permissions: [{ User: "Helpdesk", AccessRights: ["FullAccess"], IsInherited: false, Deny: false }] }) });
  const parameters = target.actions.map((action) => (action.kind === "exchange" ? action.request.parameters : undefined));
  assert.deepEqual(parameters, [
    { Identity: "capture@contoso.com", User: "secops-capture@contoso.com", AccessRights: ["FullAccess"], AutoMapping: false },
    { Identity: "capture@contoso.com", User: "Helpdesk", AccessRights: ["FullAccess"] },
  ]);
});

test("quota: Exchange's reported quota wins; licensed setting raises the default", () => {
  const atSixtyGib = { statistics: { TotalItemSize: sizeText(60 * GIB), ItemCount: 1 } };
  assert.equal(planFor({ observed: observed(atSixtyGib) }).problem?.code, "CaptureMailboxFull", "60 GB > 50 GB unlicensed");
  const licensed = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com", licensed: true }, accessGroup: "g" });
  assert.equal(planFor({ settings: licensed, observed: observed(atSixtyGib) }).problem, undefined, "60 GB of 100 GB");
  const reported = observed(atSixtyGib, { ProhibitSendReceiveQuota: "100 GB (107,374,182,400 bytes)" });
  assert.equal(planFor({ observed: reported }).problem, undefined);
});

test("missing with createIfMissing plans New-Mailbox -Shared", () => {
  const create = parseCaptureSettings({ captureMailbox: { address: "capture@contoso.com", createIfMissing: true }, accessGroup: "g" });
  const target = planFor({ settings: create, observed: { permissions: [] } });
  assert.equal(plannedStatus(target), "drift");
  const [action] = target.actions;
  assert.ok(action?.kind === "exchange");
  assert.equal(action.request.cmdlet, "New-Mailbox");
  assert.equal(action.request.parameters?.["Shared"], true);
  assert.equal(action.request.parameters?.["PrimarySmtpAddress"], "capture@contoso.com");
});

test("account not yet in Graph: failed with a clear message, other repairs still planned", () => {
  const target = planFor({ observed: observed({ account: undefined }, { HiddenFromAddressListsEnabled: false }) });
  assert.equal(target.problem?.code, "CaptureAccountNotFound");
  assert.deepEqual(cmdlets(target.actions), ["Set-Mailbox"]);
});

test("estimateDailyMessages: expectation, measured growth, whichever is higher", () => {
  const previous = { itemCount: 1000, totalItemSizeInBytes: 0, observedAt: "2026-03-01T00:00:00Z" };
  const halfDayLater = { itemCount: 31000, totalItemSizeInBytes: 0, observedAt: "2026-03-01T12:00:00Z" };
  const cases: [number | undefined, typeof previous | undefined, typeof previous | undefined, number | undefined][] = [
    [undefined, undefined, undefined, undefined],
    [5000, undefined, undefined, 5000],
    [undefined, previous, halfDayLater, 60000],
    [100000, previous, halfDayLater, 100000],
    [5000, halfDayLater, previous, 5000],
    [undefined, { ...previous, itemCount: 50000 }, halfDayLater, undefined],
  ];
  for (const [expected, before, after, result] of cases) assert.equal(estimateDailyMessages(expected, before, after), result);
});

test("receive-rate warning against 3,600 messages/hour", () => {
  const volume = (expectedDailyMessages: number) =>
    planFor({ settings: parseCaptureSettings({ ...settings, expectedDailyMessages }), observed: observed() }).findings.find((finding) => finding.setting === "MessagesPerHour");
  assert.equal(volume(10000), undefined, "10,000/day -> 1,250 in the peak hour");
  assert.match(volume(25000)?.message ?? "", /approach/, "25,000/day -> 3,125 > 80% of 3,600");
  const over = volume(40000);
  assert.equal(over?.current, 5000);
  assert.match(over?.message ?? "", /cannot hold/);
  assert.equal(plannedStatus(planFor({ settings: parseCaptureSettings({ ...settings, expectedDailyMessages: 40000 }), observed: observed() })), "compliant", "a warning, not a failure");
});
