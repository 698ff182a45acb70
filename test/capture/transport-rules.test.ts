import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultCapturePolicy, parseCapturePolicy } from "../../shared/capture/settings";
import { desiredTransportRules, planTransportRules, type ObservedTransportRule } from "../../shared/capture/transport-rules";
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
