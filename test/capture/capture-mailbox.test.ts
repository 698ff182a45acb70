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

test("parseByteQuantity: the byte count's forms", () => {
  const cases: [unknown, number | undefined][] = [
    ["53 150 220 288 bytes", undefined],
    ["49.5 GB (53 150 220 288 bytes)", 53150220288],
    ["1 B (1 byte)", 1],
    ["1.2 KB (1234bytes)", 1234],
    ["1.2 KB (1234xbytes)", undefined],
    ["1.2 KB (1,234 BYTES)", 1234],
    [Number.NaN, undefined],
  ];
  for (const [input, expected] of cases) assert.equal(parseByteQuantity(input), expected, String(input));
});

test("explicit FullAccess trustees: FullAccess among other rights counts; an entry naming no one does not", () => {
  const trustees = explicitFullAccessTrustees([
    { User: "bob@contoso.com", AccessRights: ["ReadPermission", "FullAccess"], IsInherited: false, Deny: false },
    { User: "", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
    { AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
  ]);
  assert.deepEqual(trustees, ["bob@contoso.com"]);
});

test("estimateDailyMessages: no growth is a measurement; no time elapsed is not", () => {
  const previous = { itemCount: 1000, totalItemSizeInBytes: 0, observedAt: "2026-03-01T00:00:00Z" };
  assert.equal(estimateDailyMessages(undefined, previous, { ...previous, observedAt: "2026-03-02T00:00:00Z" }), 0, "nothing arrived in a day");
  assert.equal(estimateDailyMessages(5000, previous, { ...previous, itemCount: 2000 }), 5000, "same instant: the expectation");
  assert.equal(estimateDailyMessages(undefined, previous, { ...previous, itemCount: 2000 }), undefined);
});

const compliantBefore = {
  RecipientTypeDetails: "SharedMailbox",
  HiddenFromAddressListsEnabled: true,
  AccountEnabled: false,
  FullAccess: ["SecOpsCapture"],
  TotalItemSizeInBytes: GIB,
  ItemCount: 1000,
  QuotaInBytes: 50 * GIB,
};

test("whole plans: compliant, and every repair at once with its findings, writes and descriptions", () => {
  assert.deepEqual(planFor({ observed: observed() }), {
    kind: "capture-mailbox",
    targetId: "obj-1",
    displayName: "capture@contoso.com",
    findings: [],
    actions: [],
    before: compliantBefore,
  });
  const everything = planFor({
    observed: observed(
      {
        account: { id: "obj-1", accountEnabled: true },
        permissions: [
          { User: "Helpdesk", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
          { User: "mallory@contoso.com", AccessRights: ["FullAccess"], IsInherited: false, Deny: false },
        ],
        statistics: { TotalItemSize: sizeText(41 * GIB), ItemCount: 800_000 },
      },
      { PrimarySmtpAddress: "Capture@Contoso.com", HiddenFromAddressListsEnabled: false },
    ),
  });
  const address = "Capture@Contoso.com";
  assert.deepEqual(everything, {
    kind: "capture-mailbox",
    targetId: "obj-1",
    displayName: address,
    findings: [
      { kind: "drift", setting: "HiddenFromAddressListsEnabled", current: false, desired: true, message: "the capture mailbox is visible in address lists" },
      { kind: "drift", setting: "AccountEnabled", current: true, desired: false, message: "sign-in to the capture mailbox's account is allowed" },
      {
        kind: "drift",
        setting: "FullAccess",
        current: ["Helpdesk", "mallory@contoso.com"],
        desired: ["secops-capture@contoso.com"],
        message: "FullAccess must be held by the access group only; also granted to Helpdesk, mallory@contoso.com; the access group has no FullAccess",
      },
      {
        kind: "hazard",
        setting: "TotalItemSize",
        current: 41 * GIB,
        desired: "< 42949672960",
        message: "capture mailbox holds 41.0 GB of 50.0 GB (82.0%); when full it stops receiving copies",
      },
    ],
    actions: [
      { kind: "exchange", request: { cmdlet: "Set-Mailbox", parameters: { Identity: address, HiddenFromAddressListsEnabled: true } }, description: `hide ${address} from address lists` },
      { kind: "block-sign-in", userId: "obj-1", description: `block sign-in for ${address}` },
      {
        kind: "exchange",
        request: { cmdlet: "Add-MailboxPermission", parameters: { Identity: address, User: "secops-capture@contoso.com", AccessRights: ["FullAccess"], AutoMapping: false } },
        description: `grant FullAccess on ${address} to secops-capture@contoso.com`,
      },
      { kind: "exchange", request: { cmdlet: "Remove-MailboxPermission", parameters: { Identity: address, User: "Helpdesk", AccessRights: ["FullAccess"] } }, description: `remove FullAccess on ${address} from Helpdesk` },
      {
        kind: "exchange",
        request: { cmdlet: "Remove-MailboxPermission", parameters: { Identity: address, User: "mallory@contoso.com", AccessRights: ["FullAccess"] } },
        description: `remove FullAccess on ${address} from mallory@contoso.com`,
      },
    ],
    before: {
      ...compliantBefore,
      HiddenFromAddressListsEnabled: false,
      AccountEnabled: true,
      FullAccess: ["Helpdesk", "mallory@contoso.com"],
      TotalItemSizeInBytes: 41 * GIB,
      ItemCount: 800_000,
    },
  });
});

test("FullAccess finding: the message names what is wrong, and only that", () => {
  const grant = (User: string) => ({ User, AccessRights: ["FullAccess"], IsInherited: false, Deny: false });
  const cases: [string, Record<string, unknown>[], string | undefined][] = [
    ["the group only", [grant("SecOpsCapture")], undefined],
    ["the group and another", [grant("SecOpsCapture"), grant("eve@contoso.com")], "FullAccess must be held by the access group only; also granted to eve@contoso.com"],
    ["no one", [], "FullAccess must be held by the access group only; the access group has no FullAccess"],
  ];
  for (const [name, permissions, message] of cases) {
    const finding = planFor({ observed: observed({ permissions }) }).findings.find((each) => each.setting === "FullAccess");
    assert.equal(finding?.message, message, name);
  }
});

test("capacity: the thresholds are inclusive, unreadable statistics are a hazard", () => {
  const at = (bytes: number) => planFor({ observed: observed({ statistics: { TotalItemSize: sizeText(bytes), ItemCount: 1 } }) });
  const warnAt = 0.8 * 50 * GIB;
  const failAt = 0.95 * 50 * GIB;
  assert.deepEqual(at(warnAt - 1).findings, [], "just under the warning");
  assert.deepEqual(at(warnAt).findings.map((each) => each.setting), ["TotalItemSize"], "the warning ratio itself warns");
  assert.equal(at(failAt - 1).problem, undefined, "just under the failure");
  assert.deepEqual(at(failAt).problem, {
    code: "CaptureMailboxFull",
    message: "Capture mailbox capture@contoso.com holds 47.5 GB of 50.0 GB (95.0%), above the 95% limit: export or purge captured mail, or license the mailbox.",
  });
  const unreadable = planFor({ observed: observed({ statistics: undefined }) });
  assert.deepEqual(unreadable.findings, [{ kind: "hazard", setting: "TotalItemSize", message: "mailbox statistics could not be read; capacity is unknown" }]);
  assert.deepEqual(unreadable.before, { ...compliantBefore, TotalItemSizeInBytes: null, ItemCount: null });
  assert.equal(plannedStatus(unreadable), "compliant", "a warning, not a failure");
});

test("receive rate: the warning and the limit are exclusive, with the finding's values", () => {
  const volume = (expectedDailyMessages: number) =>
    planFor({ settings: parseCaptureSettings({ ...settings, expectedDailyMessages }), observed: observed() }).findings.find((finding) => finding.setting === "MessagesPerHour");
  assert.equal(volume(23_040), undefined, "2,880 in the peak hour: exactly 80% of 3,600");
  assert.deepEqual(volume(23_048), {
    kind: "hazard",
    setting: "MessagesPerHour",
    current: 2_881,
    desired: "<= 2880",
    message: "about 2881 messages in the busiest hour approach the 3600 messages/hour a mailbox can receive",
  });
  assert.equal(volume(28_800)?.message, "about 3600 messages in the busiest hour approach the 3600 messages/hour a mailbox can receive", "exactly the limit");
  assert.equal(
    volume(28_808)?.message,
    "about 3601 messages in the busiest hour exceed the 3600 messages/hour a mailbox can receive: this design cannot hold the tenant's volume (copies are delayed, then lost); use journaling to an external archive-grade target",
  );
});

test("whole plans: the missing mailbox, with and without creation", () => {
  assert.deepEqual(planFor({ observed: { permissions: [] } }), {
    kind: "capture-mailbox",
    targetId: "capture@contoso.com",
    displayName: "capture@contoso.com",
    findings: [{ kind: "hazard", setting: "Present", current: false, desired: true, message: "the capture mailbox does not exist" }],
    actions: [],
    problem: {
      code: "CaptureMailboxMissing",
      message: "Capture mailbox capture@contoso.com does not exist and createIfMissing is off: no mail is captured. Create it or opt in to creation.",
    },
    before: { Present: false },
  });
  const create = parseCaptureSettings({ captureMailbox: { address: "sec.capture@contoso.com", createIfMissing: true }, accessGroup: "g" });
  assert.deepEqual(planFor({ settings: create, observed: { permissions: [] } }), {
    kind: "capture-mailbox",
    targetId: "sec.capture@contoso.com",
    displayName: "sec.capture@contoso.com",
    findings: [{ kind: "drift", setting: "Present", current: false, desired: true, message: "the capture mailbox does not exist" }],
    actions: [
      {
        kind: "exchange",
        request: {
          cmdlet: "New-Mailbox",
          parameters: { Shared: true, Name: "sec.capture", Alias: "sec.capture", DisplayName: "Mail capture (security operations)", PrimarySmtpAddress: "sec.capture@contoso.com" },
        },
        description: "create shared mailbox sec.capture@contoso.com",
      },
    ],
    before: { Present: false },
  });
});

test("not a shared mailbox: untouched, and every problem in one message under the first code", () => {
  const wrong = planFor({ observed: observed({ account: undefined }, { RecipientTypeDetails: "UserMailbox", HiddenFromAddressListsEnabled: false }) });
  assert.deepEqual(wrong.actions, []);
  assert.deepEqual(wrong.findings.map((each) => [each.setting, each.message]), [
    ["RecipientTypeDetails", "the capture mailbox is not a shared mailbox"],
    ["HiddenFromAddressListsEnabled", "the capture mailbox is visible in address lists"],
  ]);
  assert.deepEqual(wrong.problem, {
    code: "CaptureMailboxNotShared",
    message:
      "capture@contoso.com is a UserMailbox mailbox; the capture mailbox must be a SharedMailbox. It is not converted automatically. " +
      "The Entra account obj-1 of capture@contoso.com is not visible in Graph (new mailboxes take a while to appear); its sign-in state is checked again next run.",
  });
  assert.equal(wrong.before["AccountEnabled"], null);
  const untyped = planFor({ observed: observed({}, { RecipientTypeDetails: undefined }) });
  assert.deepEqual(untyped.problem, {
    code: "CaptureMailboxNotShared",
    message: "capture@contoso.com is a non-shared mailbox; the capture mailbox must be a SharedMailbox. It is not converted automatically.",
  });
  assert.throws(() => planFor({ settings: parseCaptureSettings({ mode: "journaling", journaling: { journalEmailAddress: "j@onprem.contoso.com", ndrMailbox: "n@contoso.com" } }), observed: observed() }), {
    message: "planCaptureMailbox needs settings.captureMailbox (transport-rules mode)",
  });
});
