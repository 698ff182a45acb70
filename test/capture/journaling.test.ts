/**
 * Journaling mode's pure planner: the transport config's JournalingReportNdrTo and the managed journal rule, as whole
 * plans (findings, actions and their descriptions, `before`), and the refusal of an Exchange Online NDR mailbox.
 * Tables of cases; the reconciler over the fake is in run-capture.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONFIGURE_JOURNALING_URL, journalNdrRefusal, planJournaling, type JournalPlanInput } from "../../shared/capture/journaling";
import { defaultCapturePolicy, parseCaptureSettings, type CaptureSettings } from "../../shared/capture/settings";
import type { TargetPlan } from "../../shared/capture/target-plan";

const RULE = "mailbox-audit-enforcer: journal";
const JOURNAL = "journal@onprem.contoso.com";
const NDR = "journal-ndr@contoso.com";

function settings(journaling: Record<string, unknown> = {}) {
  return parseCaptureSettings({ mode: "journaling", journaling: { journalEmailAddress: JOURNAL, ndrMailbox: NDR, ...journaling } });
}

function plan(overrides: Partial<JournalPlanInput> = {}): TargetPlan[] {
  return planJournaling({
    policy: defaultCapturePolicy,
    settings: settings(),
    journalRules: [],
    transportConfig: { JournalingReportNdrTo: NDR },
    ...overrides,
  });
}

/** The managed rule as Get-JournalRule shows it when it is as the policy wants. */
function compliantRule(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { Name: RULE, Guid: "7d0f3c2a-0000-4000-8000-000000000001", Identity: RULE, JournalEmailAddress: JOURNAL, Scope: "Global", Recipient: null, Enabled: true, ...overrides };
}

const compliantNdr: TargetPlan = {
  kind: "organization",
  targetId: "transport-config",
  displayName: "Transport config (JournalingReportNdrTo)",
  findings: [],
  actions: [],
  before: { JournalingReportNdrTo: NDR },
};

test("planJournaling: the NDR address first, then the rule; compliant when both are as wanted", () => {
  assert.deepEqual(plan({ journalRules: [compliantRule()] }), [
    compliantNdr,
    {
      kind: "journal-rule",
      targetId: RULE,
      displayName: RULE,
      findings: [],
      actions: [],
      before: { JournalEmailAddress: JOURNAL, Scope: "Global", Recipient: null, Enabled: true },
    },
  ]);
  // Compared trimmed and case-insensitively, absent Recipient the same as null, "True" the same as true.
  const [ndr, rule] = plan({
    transportConfig: { JournalingReportNdrTo: ` ${NDR.toUpperCase()} ` },
    journalRules: [compliantRule({ Name: RULE.toUpperCase(), JournalEmailAddress: JOURNAL.toUpperCase(), Scope: "global", Recipient: undefined, Enabled: "True" })],
  });
  assert.deepEqual([ndr?.actions, ndr?.findings, rule?.actions, rule?.findings], [[], [], [], []]);
  assert.deepEqual(rule?.before, { JournalEmailAddress: JOURNAL.toUpperCase(), Scope: "global", Recipient: null, Enabled: "True" });
});

test("planJournaling: JournalingReportNdrTo unset or elsewhere is set", () => {
  for (const current of [undefined, null, "", "someone@contoso.com"]) {
    const [ndr] = plan({ transportConfig: current === undefined ? {} : { JournalingReportNdrTo: current }, journalRules: [compliantRule()] });
    const read = current ?? null;
    assert.deepEqual(
      ndr,
      {
        ...compliantNdr,
        findings: [{ kind: "drift", setting: "JournalingReportNdrTo", current: read, desired: NDR, message: "undeliverable journal reports go to the wrong mailbox (or nowhere)" }],
        actions: [{ kind: "exchange", request: { cmdlet: "Set-TransportConfig", parameters: { JournalingReportNdrTo: NDR } }, description: `set JournalingReportNdrTo to ${NDR}` }],
        before: { JournalingReportNdrTo: read },
      },
      String(current),
    );
  }
});

test("planJournaling: a missing rule is created with the policy's scope, or the settings' own", () => {
  const missing = (scope: string) => ({
    kind: "journal-rule",
    targetId: RULE,
    displayName: RULE,
    findings: [{ kind: "drift", setting: "Present", current: false, desired: true, message: "the journal rule is missing" }],
    actions: [
      {
        kind: "exchange",
        request: { cmdlet: "New-JournalRule", parameters: { Name: RULE, JournalEmailAddress: JOURNAL, Scope: scope, Enabled: true } },
        description: `create journal rule "${RULE}"`,
      },
    ],
    before: { Present: false },
  });
  assert.deepEqual(plan()[1], missing("Global"));
  assert.deepEqual(plan({ journalRules: [compliantRule({ Name: "someone else's journal" })] })[1], missing("Global"), "another rule is not ours");
  assert.deepEqual(plan({ settings: settings({ scope: "External" }) })[1], missing("External"));
});

test("planJournaling: each differing field is a finding and one Set-JournalRule; a disabled rule is enabled", () => {
  const cases: [string, Record<string, unknown>, TargetPlan["findings"], TargetPlan["actions"]][] = [
    [
      "the journal address",
      { JournalEmailAddress: "old@onprem.contoso.com" },
      [{ kind: "drift", setting: "JournalEmailAddress", current: "old@onprem.contoso.com", desired: JOURNAL, message: "JournalEmailAddress differs from the capture policy" }],
      [{ kind: "exchange", request: { cmdlet: "Set-JournalRule", parameters: { Identity: "7d0f3c2a-0000-4000-8000-000000000001", JournalEmailAddress: JOURNAL } }, description: `set JournalEmailAddress on "${RULE}"` }],
    ],
    [
      "scope and recipient, one write",
      { Scope: "Internal", Recipient: "ceo@contoso.com" },
      [
        { kind: "drift", setting: "Scope", current: "Internal", desired: "Global", message: "Scope differs from the capture policy" },
        { kind: "drift", setting: "Recipient", current: "ceo@contoso.com", desired: null, message: "Recipient differs from the capture policy" },
      ],
      [{ kind: "exchange", request: { cmdlet: "Set-JournalRule", parameters: { Identity: "7d0f3c2a-0000-4000-8000-000000000001", Scope: "Global", Recipient: null } }, description: `set Scope, Recipient on "${RULE}"` }],
    ],
    [
      "a field absent, by Identity when there is no Guid",
      { JournalEmailAddress: undefined, Guid: undefined, Identity: "Journal (renamed identity)" },
      [{ kind: "drift", setting: "JournalEmailAddress", current: null, desired: JOURNAL, message: "JournalEmailAddress differs from the capture policy" }],
      [{ kind: "exchange", request: { cmdlet: "Set-JournalRule", parameters: { Identity: "Journal (renamed identity)", JournalEmailAddress: JOURNAL } }, description: `set JournalEmailAddress on "${RULE}"` }],
    ],
    [
      "disabled",
      { Enabled: false },
      [{ kind: "drift", setting: "Enabled", current: false, desired: true, message: "the journal rule is disabled" }],
      [{ kind: "exchange", request: { cmdlet: "Enable-JournalRule", parameters: { Identity: "7d0f3c2a-0000-4000-8000-000000000001" } }, description: `enable "${RULE}"` }],
    ],
    [
      "disabled as text, with a differing scope, by its name when it has neither Guid nor Identity",
      { Enabled: "False", Scope: "External", Guid: undefined, Identity: undefined },
      [
        { kind: "drift", setting: "Scope", current: "External", desired: "Global", message: "Scope differs from the capture policy" },
        { kind: "drift", setting: "Enabled", current: false, desired: true, message: "the journal rule is disabled" },
      ],
      [
        { kind: "exchange", request: { cmdlet: "Set-JournalRule", parameters: { Identity: RULE, Scope: "Global" } }, description: `set Scope on "${RULE}"` },
        { kind: "exchange", request: { cmdlet: "Enable-JournalRule", parameters: { Identity: RULE } }, description: `enable "${RULE}"` },
      ],
    ],
  ];
  for (const [name, overrides, findings, actions] of cases) {
    const current = compliantRule(overrides);
    const rule = plan({ journalRules: [compliantRule({ Name: "other" }), current] })[1];
    assert.deepEqual(rule?.findings, findings, name);
    assert.deepEqual(rule?.actions, actions, name);
    assert.deepEqual(rule?.before, { JournalEmailAddress: current["JournalEmailAddress"], Scope: current["Scope"], Recipient: current["Recipient"] ?? null, Enabled: current["Enabled"] }, name);
  }
});

test("planJournaling: an Exchange Online NDR mailbox refuses both targets' writes; other recipients do not", () => {
  const refusal = {
    code: "JournalNdrMailboxInvalid",
    message:
      `JOURNAL_NDR_MAILBOX ${NDR} is an Exchange Online SharedMailbox. Microsoft: "Like the journaling mailbox, the alternate journaling ` +
      `mailbox can't be an Exchange Online mailbox." (${CONFIGURE_JOURNALING_URL}). Configure a mail user or mail contact (e.g. an ` +
      "on-premises mailbox) or an external address; nothing is written until then.",
  };
  const drifted = { transportConfig: {}, journalRules: [] };
  const [ndr, rule] = plan({ ...drifted, ndrRecipientType: "SharedMailbox" });
  assert.deepEqual([ndr?.actions, ndr?.problem, rule?.actions, rule?.problem], [[], refusal, [], refusal]);
  assert.equal(ndr?.findings.length, 1, "the drift is still reported");
  const cases: [string | undefined, boolean][] = [
    ["UserMailbox", true],
    ["SharedMailbox", true],
    ["RoomMailbox", true],
    ["usermailbox", true],
    ["MailUser", false],
    ["MailContact", false],
    ["RemoteSharedMailbox", false],
    ["RemoteUserMailbox", false],
    ["remoteusermailbox", false],
    ["MailboxPlan", false],
    [undefined, false],
  ];
  for (const [type, refused] of cases) {
    assert.equal(journalNdrRefusal(NDR, type) !== undefined, refused, String(type));
    const plans = plan({ ...drifted, ...(type !== undefined ? { ndrRecipientType: type } : {}) });
    assert.deepEqual(plans.map((each) => each.actions.length), refused ? [0, 0] : [1, 1], String(type));
  }
});

test("planJournaling: needs journaling settings", () => {
  const withoutJournaling: { -readonly [key in keyof CaptureSettings]?: CaptureSettings[key] } = { ...settings() };
  delete withoutJournaling.journaling;
  assert.throws(() => plan({ settings: withoutJournaling as CaptureSettings }), {
    message: "planJournaling needs settings.journaling (journaling mode)",
  });
});
