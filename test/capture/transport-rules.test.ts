import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultCapturePolicy, parseCapturePolicy } from "../../shared/capture/settings";
import { describeRule, desiredTransportRules, estimateRuleSizeInBytes, planTransportRules, type ObservedTransportRule } from "../../shared/capture/transport-rules";
import type { TargetPlan } from "../../shared/capture/target-plan";
import { plannedStatus } from "../../shared/capture/target-plan";
import { transportRule } from "./fake-exchange";

const policy = defaultCapturePolicy;
const capture = { address: "capture@contoso.com", identities: ["capture", "Capture"] };
const desired = desiredTransportRules(policy, capture);
const managedName = "mailbox-audit-enforcer: capture all mail";

/** The managed rule exactly as policy wants it, as Get-TransportRule would show it. */
function compliantRule(overrides: Record<string, unknown> = {}): ObservedTransportRule {
  return transportRule({
    Name: managedName,
    Priority: 0,
    Comments: policy.comments,
    BlindCopyTo: ["capture@contoso.com"],
    ExceptIfFrom: ["capture@contoso.com"],
    ExceptIfSentTo: ["capture@contoso.com"],
    SenderAddressLocation: "HeaderOrEnvelope",
    RuleErrorAction: "Ignore",
    ...overrides,
  });
}

function plan(current: ObservedTransportRule[], extra: { blockedBecause?: string; policy?: typeof policy } = {}): TargetPlan[] {
  const usedPolicy = extra.policy ?? policy;
  return planTransportRules({
    policy: usedPolicy,
    desired: desiredTransportRules(usedPolicy, capture),
    current,
    capture,
    ...(extra.blockedBecause ? { blockedBecause: extra.blockedBecause } : {}),
  });
}

function managedPlan(plans: TargetPlan[]): TargetPlan {
  const found = plans.find((each) => each.targetId === managedName);
  assert.ok(found, "managed rule plan present");
  return found;
}

function cmdlets(target: TargetPlan): string[] {
  return target.actions.map((action) => (action.kind === "exchange" ? action.request.cmdlet : action.kind));
}

function setParameters(target: TargetPlan): Record<string, unknown> {
  const action = target.actions.find((each) => each.kind === "exchange" && each.request.cmdlet === "Set-TransportRule");
  assert.ok(action && action.kind === "exchange", "a Set-TransportRule is planned");
  return { ...action.request.parameters };
}

test("desired rule: Bcc to the capture mailbox, loop exceptions, Enforce, priority 0", () => {
  assert.equal(desired.length, 1);
  const [rule] = desired;
  assert.ok(rule);
  assert.equal(rule.priority, 0);
  assert.deepEqual(rule.fields["BlindCopyTo"], ["capture@contoso.com"]);
  assert.deepEqual(rule.fields["ExceptIfFrom"], ["capture@contoso.com"]);
  assert.deepEqual(rule.fields["ExceptIfSentTo"], ["capture@contoso.com"]);
  assert.equal(rule.fields["Mode"], "Enforce");
  assert.equal(rule.fields["FromScope"], null);
  assert.ok(rule.comments.includes(policy.marker));
});

test("compliant rule, even with other casing and the mailbox named by alias", () => {
  const plans = plan([compliantRule({ BlindCopyTo: ["CAPTURE@Contoso.com"], ExceptIfFrom: ["capture"], Mode: "enforce", State: "ENABLED" })]);
  assert.equal(plans.length, 1);
  const target = managedPlan(plans);
  assert.equal(plannedStatus(target), "compliant");
  assert.deepEqual(target.findings, []);
});

interface TamperCase {
  readonly name: string;
  readonly rule: ObservedTransportRule | undefined;
  readonly status: "drift" | "failed";
  readonly setting: string;
  readonly current: unknown;
  readonly desired: unknown;
  readonly cmdlets: string[];
  readonly findingKind?: "drift" | "hazard";
  readonly setParameters?: Record<string, unknown>;
  readonly problemCode?: string;
}

const tamperCases: TamperCase[] = [
  { name: "deleted rule", rule: undefined, status: "drift", setting: "Present", current: false, desired: true, cmdlets: ["New-TransportRule"] },
  { name: "disabled rule", rule: compliantRule({ State: "Disabled" }), status: "drift", setting: "State", current: "Disabled", desired: "Enabled", cmdlets: ["Enable-TransportRule"] },
  {
    name: "Audit mode",
    rule: compliantRule({ Mode: "Audit" }),
    status: "failed",
    findingKind: "hazard",
    setting: "Mode",
    current: "Audit",
    desired: "Enforce",
    cmdlets: ["Set-TransportRule"],
    setParameters: { Mode: "Enforce" },
    problemCode: "CaptureDefeated",
  },
  {
    name: "AuditAndNotify mode",
    rule: compliantRule({ Mode: "AuditAndNotify" }),
    status: "failed",
    findingKind: "hazard",
    setting: "Mode",
    current: "AuditAndNotify",
    desired: "Enforce",
    cmdlets: ["Set-TransportRule"],
    problemCode: "CaptureDefeated",
  },
  {
    name: "changed scope",
    rule: compliantRule({ FromScope: "NotInOrganization" }),
    status: "drift",
    findingKind: "drift",
    setting: "FromScope",
    current: "NotInOrganization",
    desired: null,
    cmdlets: ["Set-TransportRule"],
    setParameters: { FromScope: null },
  },
  {
    name: "extra exception entry",
    rule: compliantRule({ ExceptIfFrom: ["capture@contoso.com", "ceo@contoso.com"] }),
    status: "failed",
    findingKind: "hazard",
    setting: "ExceptIfFrom",
    current: ["capture@contoso.com", "ceo@contoso.com"],
    desired: ["capture@contoso.com"],
    cmdlets: ["Set-TransportRule"],
    setParameters: { ExceptIfFrom: ["capture@contoso.com"] },
    problemCode: "CaptureDefeated",
  },
  {
    name: "exception of a kind the table does not list",
    rule: compliantRule({ ExceptIfSubjectContainsWords: ["confidential"] }),
    status: "failed",
    findingKind: "hazard",
    setting: "ExceptIfSubjectContainsWords",
    current: ["confidential"],
    desired: [],
    cmdlets: ["Set-TransportRule"],
    setParameters: { ExceptIfSubjectContainsWords: null },
    problemCode: "CaptureDefeated",
  },
  {
    name: "loop exception removed",
    rule: compliantRule({ ExceptIfSentTo: null }),
    status: "drift",
    findingKind: "drift",
    setting: "ExceptIfSentTo",
    current: null,
    desired: ["capture@contoso.com"],
    cmdlets: ["Set-TransportRule"],
  },
  {
    name: "Bcc redirected elsewhere",
    rule: compliantRule({ BlindCopyTo: ["attacker@contoso.com"] }),
    status: "drift",
    setting: "BlindCopyTo",
    current: ["attacker@contoso.com"],
    desired: ["capture@contoso.com"],
    cmdlets: ["Set-TransportRule"],
  },
  {
    name: "moved down",
    rule: compliantRule({ Priority: 4 }),
    status: "drift",
    setting: "Priority",
    current: 4,
    desired: 0,
    cmdlets: ["Set-TransportRule"],
    setParameters: { Priority: 0 },
  },
  { name: "marker removed", rule: compliantRule({ Comments: "" }), status: "drift", setting: "Comments", current: "", desired: policy.comments, cmdlets: ["Set-TransportRule"] },
  {
    name: "sender location changed",
    rule: compliantRule({ SenderAddressLocation: "Header" }),
    status: "drift",
    setting: "SenderAddressLocation",
    current: "Header",
    desired: "HeaderOrEnvelope",
    cmdlets: ["Set-TransportRule"],
  },
  { name: "error action changed", rule: compliantRule({ RuleErrorAction: "Defer" }), status: "drift", setting: "RuleErrorAction", current: "Defer", desired: "Ignore", cmdlets: ["Set-TransportRule"] },
  { name: "stop processing added", rule: compliantRule({ StopRuleProcessing: true }), status: "drift", setting: "StopRuleProcessing", current: true, desired: false, cmdlets: ["Set-TransportRule"] },
];

for (const tamper of tamperCases) {
  test(`tampering: ${tamper.name}`, () => {
    const others = [transportRule({ Name: "Disclaimer", Priority: tamper.rule ? 1 : 0, SubjectContainsWords: ["x"], StopRuleProcessing: true })];
    const target = managedPlan(plan(tamper.rule ? [tamper.rule, ...others] : others));
    assert.equal(plannedStatus(target), tamper.status);
    const finding = target.findings.find((each) => each.setting === tamper.setting);
    assert.ok(finding, `finding for ${tamper.setting}: ${JSON.stringify(target.findings)}`);
    assert.deepEqual(finding.current, tamper.current);
    assert.deepEqual(finding.desired, tamper.desired);
    if (tamper.findingKind) assert.equal(finding.kind, tamper.findingKind);
    assert.match(finding.message, /30 minutes/);
    assert.deepEqual(cmdlets(target), tamper.cmdlets);
    if (tamper.setParameters) {
      const parameters = setParameters(target);
      for (const [name, value] of Object.entries(tamper.setParameters)) assert.deepEqual(parameters[name], value, name);
    }
    assert.equal(target.problem?.code, tamper.problemCode);
  });
}

test("a re-created rule carries every managed setting", () => {
  const target = managedPlan(plan([]));
  const [action] = target.actions;
  assert.ok(action?.kind === "exchange");
  assert.deepEqual(action.request.parameters, {
    Name: managedName,
    Priority: 0,
    Enabled: true,
    Comments: policy.comments,
    ExceptIfFrom: ["capture@contoso.com"],
    ExceptIfSentTo: ["capture@contoso.com"],
    BlindCopyTo: ["capture@contoso.com"],
    Mode: "Enforce",
    RuleErrorAction: "Ignore",
    SenderAddressLocation: "HeaderOrEnvelope",
  });
});

interface ShadowCase {
  readonly name: string;
  readonly rule: Record<string, unknown>;
  readonly managedPriority: number;
  readonly hazard: boolean;
}

const shadowCases: ShadowCase[] = [
  { name: "StopRuleProcessing on all mail before capture", rule: { StopRuleProcessing: true, Priority: 0 }, managedPriority: 1, hazard: true },
  { name: "DeleteMessage on all inbound mail before capture", rule: { DeleteMessage: true, FromScope: "NotInOrganization", Priority: 0 }, managedPriority: 1, hazard: true },
  { name: "RedirectMessageTo before capture", rule: { RedirectMessageTo: ["x@contoso.com"], Priority: 0 }, managedPriority: 1, hazard: true },
  { name: "narrowed by a subject condition", rule: { StopRuleProcessing: true, SubjectContainsWords: ["[spam]"], Priority: 0 }, managedPriority: 1, hazard: false },
  { name: "narrowed per Exchange's Conditions list", rule: { DeleteMessage: true, Conditions: ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SentToPredicate"], Priority: 0 }, managedPriority: 1, hazard: false },
  { name: "after the capture rule", rule: { StopRuleProcessing: true, Priority: 1 }, managedPriority: 0, hazard: false },
  { name: "disabled", rule: { StopRuleProcessing: true, Priority: 0, State: "Disabled" }, managedPriority: 1, hazard: false },
  { name: "in Audit mode", rule: { DeleteMessage: true, Priority: 0, Mode: "Audit" }, managedPriority: 1, hazard: false },
  { name: "harmless action", rule: { CopyTo: ["legal@contoso.com"], Priority: 0 }, managedPriority: 1, hazard: false },
];

for (const shadow of shadowCases) {
  test(`shadowing: ${shadow.name}`, () => {
    const unmanaged = transportRule({ Name: "Their rule", ...shadow.rule });
    const plans = plan([unmanaged, compliantRule({ Priority: shadow.managedPriority })]);
    const hazard = plans.find((each) => each.displayName === "Their rule");
    assert.equal(hazard !== undefined, shadow.hazard);
    if (hazard) {
      assert.equal(plannedStatus(hazard), "failed");
      assert.equal(hazard.problem?.code, "CaptureShadowed");
      assert.equal(hazard.targetId, unmanaged["Guid"]);
      assert.deepEqual(hazard.actions, [], "unmanaged rules are never changed");
      assert.equal(hazard.findings[0]?.kind, "hazard");
    }
    for (const each of plans) {
      for (const action of each.actions) {
        assert.ok(action.kind === "exchange");
        assert.notEqual(action.request.parameters?.["Identity"], unmanaged["Guid"], "no write names the unmanaged rule");
      }
    }
  });
}

test("a shadowing rule counts against a missing managed rule's desired priority", () => {
  const plans = plan([transportRule({ Name: "Their rule", Priority: 0, StopRuleProcessing: true })]);
  assert.equal(plans.some((each) => each.problem?.code === "CaptureShadowed"), false, "the re-created rule goes to priority 0, before it");
});

test("stale managed rule (marker and prefix) is removed; a look-alike without the marker is not", () => {
  const stale = transportRule({ Name: "mailbox-audit-enforcer: capture inbound", Priority: 1, Comments: policy.comments });
  const lookalike = transportRule({ Name: "mailbox-audit-enforcer: something else", Priority: 2, Comments: "hand made" });
  const plans = plan([compliantRule(), stale, lookalike]);
  const removal = plans.find((each) => each.targetId === "mailbox-audit-enforcer: capture inbound");
  assert.ok(removal);
  assert.deepEqual(cmdlets(removal), ["Remove-TransportRule"]);
  const [action] = removal.actions;
  assert.ok(action?.kind === "exchange");
  assert.equal(action.request.parameters?.["Identity"], stale["Guid"]);
  assert.equal(plans.some((each) => each.displayName === "mailbox-audit-enforcer: something else"), false);
});

test("journaling mode: no desired rules, managed rules are removed, no hazards", () => {
  const plans = planTransportRules({
    policy,
    desired: [],
    current: [compliantRule(), transportRule({ Name: "Their rule", Priority: 1, StopRuleProcessing: true })],
    capture: { address: "", identities: [] },
  });
  assert.deepEqual(plans.map((each) => [each.targetId, cmdlets(each)]), [[managedName, ["Remove-TransportRule"]]]);
});

test("refuses to create a rule past the 300-rule limit", () => {
  const rules = Array.from({ length: 300 }, (_, index) => transportRule({ Name: `rule ${index}`, Priority: index, SubjectContainsWords: ["x"] }));
  const target = managedPlan(plan(rules));
  assert.equal(plannedStatus(target), "failed");
  assert.equal(target.problem?.code, "TransportRuleLimit");
  assert.match(target.problem?.message ?? "", /300 of 300/);
  assert.deepEqual(target.actions, []);
});

test("refuses to plan a rule larger than the rule size limit", () => {
  const small = parseCapturePolicy({ ...policy, limits: { ...policy.limits, maxRuleSizeInBytes: 200 } });
  for (const current of [[], [compliantRule({ Mode: "Audit" })]]) {
    const target = managedPlan(plan(current, { policy: small }));
    assert.equal(target.problem?.code, "TransportRuleTooLarge");
    assert.match(target.problem?.message ?? "", /200-byte rule limit/);
    assert.deepEqual(target.actions, []);
  }
});

test("blocked writes (capture mailbox missing) are failed with the reason, drift still shown", () => {
  const target = managedPlan(plan([compliantRule({ State: "Disabled" })], { blockedBecause: "capture mailbox capture@contoso.com does not exist" }));
  assert.equal(plannedStatus(target), "failed");
  assert.equal(target.problem?.code, "CaptureRuleBlocked");
  assert.deepEqual(target.actions, []);
  assert.equal(target.findings[0]?.setting, "State");
  const compliant = managedPlan(plan([compliantRule()], { blockedBecause: "whatever" }));
  assert.equal(plannedStatus(compliant), "compliant", "nothing to write, nothing blocked");
});

test("three-rule policy: each rule gets its priority and scope", () => {
  const three = parseCapturePolicy({
    ...policy,
    transportRules: [
      { key: "inbound", name: "mailbox-audit-enforcer: capture inbound", fromScope: "NotInOrganization", sentToScope: null, ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
      { key: "outbound", name: "mailbox-audit-enforcer: capture outbound", fromScope: null, sentToScope: "NotInOrganization", ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
      { key: "internal", name: "mailbox-audit-enforcer: capture internal", fromScope: "InOrganization", sentToScope: "InOrganization", ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
    ],
  });
  const plans = plan([], { policy: three });
  assert.deepEqual(
    plans.map((each) => {
      const action = each.actions[0];
      assert.ok(action?.kind === "exchange");
      return [action.request.parameters?.["Priority"], action.request.parameters?.["FromScope"] ?? null, action.request.parameters?.["SentToScope"] ?? null];
    }),
    [
      [0, "NotInOrganization", null],
      [1, null, "NotInOrganization"],
      [2, "InOrganization", "InOrganization"],
    ],
  );
});

const NOTE = "Rule changes take up to 30 minutes to take effect in mail flow.";

/** A policy of three managed rules (inbound, outbound, internal), optionally with other names or limits. */
function threeRulePolicy(options: { names?: [string, string, string]; limits?: Partial<typeof policy.limits> } = {}) {
  const [inbound, outbound, internal] = options.names ?? ["mailbox-audit-enforcer: capture inbound", "mailbox-audit-enforcer: capture outbound", "mailbox-audit-enforcer: capture internal"];
  return parseCapturePolicy({
    ...policy,
    limits: { ...policy.limits, ...options.limits },
    transportRules: [
      { key: "inbound", name: inbound, fromScope: "NotInOrganization", sentToScope: null, ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
      { key: "outbound", name: outbound, fromScope: null, sentToScope: "NotInOrganization", ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
      { key: "internal", name: internal, fromScope: "InOrganization", sentToScope: "InOrganization", ruleErrorAction: "Ignore", senderAddressLocation: "Header" },
    ],
  });
}

test("every compared property: set on the managed rule, it is drift (a hazard for exceptions) and is cleared", () => {
  const cases: [string, unknown, unknown][] = [
    ["FromScope", "InOrganization", null],
    ["SentToScope", "NotInOrganization", null],
    ["From", ["ceo@contoso.com"], null],
    ["SentTo", ["ceo@contoso.com"], null],
    ["FromMemberOf", ["board@contoso.com"], null],
    ["SentToMemberOf", ["board@contoso.com"], null],
    ["SenderDomainIs", ["fabrikam.com"], null],
    ["RecipientDomainIs", ["fabrikam.com"], null],
    ["SubjectContainsWords", ["invoice"], null],
    ["SubjectOrBodyContainsWords", ["invoice"], null],
    ["HeaderContainsMessageHeader", "X-Test", null],
    ["HeaderContainsWords", ["yes"], null],
    ["MessageTypeMatches", "OOF", null],
    ["HasAttachment", true, false],
    ["ExceptIfFromScope", "InOrganization", null],
    ["ExceptIfSentToScope", "InOrganization", null],
    ["ExceptIfFromMemberOf", ["board@contoso.com"], null],
    ["ExceptIfSentToMemberOf", ["board@contoso.com"], null],
    ["ExceptIfHeaderContainsMessageHeader", "X-Skip", null],
    ["ExceptIfHeaderContainsWords", ["yes"], null],
    ["ExceptIfMessageTypeMatches", "Encrypted", null],
    ["CopyTo", ["spy@contoso.com"], null],
    ["AddToRecipients", ["spy@contoso.com"], null],
    ["RedirectMessageTo", ["spy@contoso.com"], null],
    ["ModerateMessageByUser", ["spy@contoso.com"], null],
    ["DeleteMessage", true, false],
    ["Quarantine", true, false],
    ["StopRuleProcessing", true, false],
    ["RejectMessageReasonText", "no", null],
    ["RejectMessageEnhancedStatusCode", "5.7.1", null],
    ["PrependSubject", "[captured]", null],
    ["SetHeaderName", "X-Captured", null],
    ["SetHeaderValue", "1", null],
  ];
  for (const [setting, value, cleared] of cases) {
    const rule = compliantRule({ [setting]: value });
    const target = managedPlan(plan([rule]));
    const exception = setting.startsWith("ExceptIf");
    assert.deepEqual(
      target.findings,
      [
        {
          kind: exception ? "hazard" : "drift",
          setting,
          current: value,
          desired: cleared === false ? false : Array.isArray(value) ? [] : null,
          message: `${setting} ${exception ? "defeats capture: an exception was added" : "differs from the capture policy"}. ${NOTE}`,
        },
      ],
      setting,
    );
    assert.deepEqual(
      target.actions,
      [{ kind: "exchange", request: { cmdlet: "Set-TransportRule", parameters: { Identity: rule["Guid"], [setting]: cleared } }, description: `set ${setting} on "${managedName}"` }],
      setting,
    );
    assert.deepEqual(target.problem, exception ? { code: "CaptureDefeated", message: `"${managedName}" does not capture mail: exception ${setting} added.` } : undefined, setting);
  }
});

/** The managed rule as policy wants it, built by hand (no fixture defaults), with Enabled instead of State. */
function handMadeRule(overrides: Record<string, unknown> = {}): ObservedTransportRule {
  return {
    Name: managedName,
    Guid: "0c1d-managed",
    Priority: 0,
    Enabled: true,
    Comments: policy.comments,
    BlindCopyTo: ["capture@contoso.com"],
    ExceptIfFrom: ["capture@contoso.com"],
    ExceptIfSentTo: ["capture@contoso.com"],
    Mode: "Enforce",
    RuleErrorAction: "Ignore",
    SenderAddressLocation: "HeaderOrEnvelope",
    ...overrides,
  };
}

test("whole plans: a compliant hand-made rule, with blank text, a false unknown exception and Enabled instead of State", () => {
  const rule = handMadeRule({ State: null, PrependSubject: "  ", SubjectContainsWords: [], ExceptIfHasNoClassification: false, NotAnExceptIfProperty: "x" });
  assert.deepEqual(plan([rule]), [
    {
      kind: "transport-rule",
      targetId: managedName,
      displayName: managedName,
      findings: [],
      actions: [],
      before: {
        Name: managedName,
        Priority: 0,
        State: "Enabled",
        Comments: policy.comments,
        ExceptIfFrom: ["capture@contoso.com"],
        ExceptIfSentTo: ["capture@contoso.com"],
        BlindCopyTo: ["capture@contoso.com"],
        Mode: "Enforce",
        RuleErrorAction: "Ignore",
        SenderAddressLocation: "HeaderOrEnvelope",
      },
    },
  ]);
  assert.deepEqual(managedPlan(plan([handMadeRule()])).findings, [], "no State: Enabled says it is on");
  assert.deepEqual(cmdlets(managedPlan(plan([handMadeRule({ State: "Disabled" })]))), ["Enable-TransportRule"], "State wins over Enabled");
  assert.deepEqual(cmdlets(managedPlan(plan([handMadeRule({ Enabled: false })]))), ["Enable-TransportRule"]);
  assert.deepEqual(
    managedPlan(plan([handMadeRule({ State: "disabled" })])).findings,
    [{ kind: "drift", setting: "State", current: "disabled", desired: "Enabled", message: `the capture rule is disabled. ${NOTE}` }],
    "the State as read",
  );
});

test("whole plans: a rule repaired in one Set-TransportRule and one Enable, each finding with its message", () => {
  const rule = handMadeRule({ Priority: 3, Enabled: false, Comments: undefined, RuleErrorAction: undefined, StopRuleProcessing: true });
  const settingsOrder = "StopRuleProcessing, RuleErrorAction, Priority, Comments";
  assert.deepEqual(plan([rule]), [
    {
      kind: "transport-rule",
      targetId: managedName,
      displayName: managedName,
      findings: [
        { kind: "drift", setting: "StopRuleProcessing", current: true, desired: false, message: `StopRuleProcessing differs from the capture policy. ${NOTE}` },
        { kind: "drift", setting: "RuleErrorAction", current: null, desired: "Ignore", message: `RuleErrorAction differs from the capture policy. ${NOTE}` },
        { kind: "drift", setting: "Priority", current: 3, desired: 0, message: `Priority must be 0 so no other rule runs before the capture. ${NOTE}` },
        { kind: "drift", setting: "Comments", current: null, desired: policy.comments, message: `the managed-by marker is missing. ${NOTE}` },
        { kind: "drift", setting: "State", current: "Disabled", desired: "Enabled", message: `the capture rule is disabled. ${NOTE}` },
      ],
      actions: [
        {
          kind: "exchange",
          request: { cmdlet: "Set-TransportRule", parameters: { Identity: "0c1d-managed", StopRuleProcessing: false, RuleErrorAction: "Ignore", Priority: 0, Comments: policy.comments } },
          description: `set ${settingsOrder} on "${managedName}"`,
        },
        { kind: "exchange", request: { cmdlet: "Enable-TransportRule", parameters: { Identity: "0c1d-managed" } }, description: `enable "${managedName}"` },
      ],
      before: {
        Name: managedName,
        Priority: 3,
        State: "Disabled",
        Comments: undefined,
        ExceptIfFrom: ["capture@contoso.com"],
        ExceptIfSentTo: ["capture@contoso.com"],
        BlindCopyTo: ["capture@contoso.com"],
        StopRuleProcessing: true,
        Mode: "Enforce",
        RuleErrorAction: null,
        SenderAddressLocation: "HeaderOrEnvelope",
      },
    },
  ]);
  const blocked = managedPlan(plan([rule], { blockedBecause: "the capture mailbox does not exist" }));
  assert.deepEqual(blocked.actions, []);
  assert.deepEqual(blocked.problem, { code: "CaptureRuleBlocked", message: `Cannot repair "${managedName}": the capture mailbox does not exist` });
});

test("defeated capture: every reason in the problem, in field order; only Mode's audit values are the audit hazard", () => {
  const target = managedPlan(plan([handMadeRule({ Mode: "Audit", ExceptIfFrom: ["capture@contoso.com", "ceo@contoso.com"], PrependSubject: "Audited: " })]));
  assert.deepEqual(target.findings, [
    {
      kind: "hazard",
      setting: "ExceptIfFrom",
      current: ["capture@contoso.com", "ceo@contoso.com"],
      desired: ["capture@contoso.com"],
      message: `ExceptIfFrom defeats capture: an exception was added. ${NOTE}`,
    },
    { kind: "drift", setting: "PrependSubject", current: "Audited: ", desired: null, message: `PrependSubject differs from the capture policy. ${NOTE}` },
    { kind: "hazard", setting: "Mode", current: "Audit", desired: "Enforce", message: `Mode defeats capture: audit modes deliver no copy. ${NOTE}` },
  ]);
  assert.deepEqual(target.problem, {
    code: "CaptureDefeated",
    message: `"${managedName}" does not capture mail: exception ExceptIfFrom added; Mode is Audit (no copy is delivered).`,
  });
  assert.deepEqual(cmdlets(target), ["Set-TransportRule"]);
  assert.equal(managedPlan(plan([handMadeRule({ Mode: "TestWithoutPolicyTips" })])).findings[0]?.kind, "drift", "another mode is drift");
});

test("whole plans: a stale managed rule is removed by its Guid, else its Identity, else its name, and never reported as shadowing", () => {
  const stale = { Name: "mailbox-audit-enforcer: capture inbound", Identity: "Capture Inbound (old)", Priority: 0, Comments: policy.comments, StopRuleProcessing: true, Mode: "Enforce", State: "Enabled" };
  const plans = plan([stale, compliantRule({ Priority: 1 })]);
  assert.deepEqual(plans[0], {
    kind: "transport-rule",
    targetId: "mailbox-audit-enforcer: capture inbound",
    displayName: "mailbox-audit-enforcer: capture inbound",
    findings: [{ kind: "drift", setting: "Present", current: true, desired: false, message: "a managed capture rule the policy no longer lists" }],
    actions: [
      {
        kind: "exchange",
        request: { cmdlet: "Remove-TransportRule", parameters: { Identity: "Capture Inbound (old)" } },
        description: 'remove stale managed rule "mailbox-audit-enforcer: capture inbound"',
      },
    ],
    before: { Name: stale.Name, Priority: 0, State: "Enabled", Comments: policy.comments, StopRuleProcessing: true, Mode: "Enforce", RuleErrorAction: null, SenderAddressLocation: null },
  });
  assert.equal(plans.some((each) => each.problem?.code === "CaptureShadowed"), false, "it is removed, not reported as shadowing");
  const byName = plan([{ Name: "mailbox-audit-enforcer: old", Comments: policy.comments }, compliantRule()])[0];
  const [removal] = byName?.actions ?? [];
  assert.ok(removal?.kind === "exchange");
  assert.deepEqual(removal.request.parameters, { Identity: "mailbox-audit-enforcer: old" });
});

test("rule limit: stale rules do not count, the 300th rule may be created, each created rule counts, a refused one does not", () => {
  const others = (count: number) => Array.from({ length: count }, (_, index) => transportRule({ Name: `rule ${index}`, Priority: index + 1, SubjectContainsWords: ["x"] }));
  const stale = transportRule({ Name: "mailbox-audit-enforcer: old", Priority: 400, Comments: policy.comments });
  assert.equal(managedPlan(plan([...others(299), stale])).problem, undefined, "299 rules + 1 stale: the managed rule is the 300th");
  assert.deepEqual(managedPlan(plan(others(300))).problem, {
    code: "TransportRuleLimit",
    message: `Refusing to create "${managedName}": the tenant already has 300 of 300 transport rules.`,
  });

  // The first rule's name makes it too large; the second's size is the limit exactly.
  const prefix = "mailbox-audit-enforcer: ";
  const names: [string, string, string] = [`${prefix}${"a".repeat(64 - prefix.length)}`, `${prefix}${"b".repeat(60 - prefix.length)}`, `${prefix}c`];
  const unlimited = threeRulePolicy({ names });
  const sizes = plan([], { policy: unlimited }).map((each) => {
    const [action] = each.actions;
    assert.ok(action?.kind === "exchange");
    return estimateRuleSizeInBytes(action.request.parameters ?? {});
  });
  const limit = sizes[1] ?? 0;
  assert.ok((sizes[0] ?? 0) > limit && (sizes[2] ?? 0) <= limit, JSON.stringify(sizes));
  const limited = threeRulePolicy({ names, limits: { maxRuleSizeInBytes: limit } });
  const plans = plan(others(299), { policy: limited });
  assert.deepEqual(
    plans.map((each) => [each.targetId, each.problem?.code, cmdlets(each)]),
    [
      [names[0], "TransportRuleTooLarge", []],
      [names[1], undefined, ["New-TransportRule"]],
      [names[2], "TransportRuleLimit", []],
    ],
  );
  assert.equal(plans[0]?.problem?.message, `Refusing to plan "${names[0]}": about ${sizes[0]} bytes exceeds the ${limit}-byte rule limit.`);
  assert.deepEqual(plans[0]?.before, { Present: false });
});

test("a missing rule that cannot be created: blocked, with the reason", () => {
  assert.deepEqual(plan([], { blockedBecause: "capture mailbox capture@contoso.com does not exist" }), [
    {
      kind: "transport-rule",
      targetId: managedName,
      displayName: managedName,
      findings: [{ kind: "drift", setting: "Present", current: false, desired: true, message: `the capture rule is missing. ${NOTE}` }],
      actions: [],
      problem: { code: "CaptureRuleBlocked", message: `Cannot create "${managedName}": capture mailbox capture@contoso.com does not exist` },
      before: { Present: false },
    },
  ]);
});

test("whole plans: a shadowing rule before the last managed rule, named by Identity when it has no Name", () => {
  const three = threeRulePolicy();
  const theirs = { Identity: "Their rule", Guid: "0c1d-theirs", Priority: 1, State: "Enabled", Mode: "Enforce", StopRuleProcessing: true, DeleteMessage: true, RedirectMessageTo: ["x@contoso.com"] };
  const inbound = transportRule({ ...compliantRule(), Name: "mailbox-audit-enforcer: capture inbound", Priority: 0, FromScope: "NotInOrganization", SenderAddressLocation: "Header", StopRuleProcessing: true });
  const plans = plan([theirs, inbound], { policy: three });
  const actions = "StopRuleProcessing, DeleteMessage, RedirectMessageTo";
  assert.deepEqual(
    plans.filter((each) => each.problem?.code === "CaptureShadowed"),
    [
      {
        kind: "transport-rule",
        targetId: "0c1d-theirs",
        displayName: "Their rule",
        findings: [
          {
            kind: "hazard",
            setting: actions,
            current: 1,
            desired: "after priority 2",
            message: `unmanaged rule "Their rule" runs before the capture rule on all mail and uses ${actions}; it is not changed by this product`,
          },
        ],
        actions: [],
        problem: {
          code: "CaptureShadowed",
          message: `Unmanaged rule "Their rule" (priority 1) uses ${actions} on ordinary mail before the capture rule; mail it acts on is not captured.`,
        },
        before: describeRule(theirs),
      },
    ],
    "the managed inbound rule's own StopRuleProcessing is drift, not shadowing",
  );
});

test("shadowing: a SentToScope condition is broad; Exchange's Conditions list narrows when any predicate is not a scope", () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ["outbound only", { SentToScope: "NotInOrganization" }, true],
    ["a scope predicate only", { Conditions: ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.FromScopePredicate"] }, true],
    [
      "a scope and a subject predicate",
      { Conditions: ["Microsoft.Exchange.MessagingPolicies.Rules.Tasks.FromScopePredicate", "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.SubjectContainsPredicate"] },
      false,
    ],
  ];
  for (const [name, conditions, hazard] of cases) {
    const plans = plan([transportRule({ Name: "Their rule", Priority: 0, StopRuleProcessing: true, ...conditions }), compliantRule({ Priority: 1 })]);
    assert.equal(plans.some((each) => each.problem?.code === "CaptureShadowed"), hazard, name);
  }
});
