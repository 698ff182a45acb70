/**
 * Pure diff and plan for the capture transport rules.
 *
 * Why ONE rule with no scope conditions (the shipped policy) rather than three (inbound
 * `FromScope NotInOrganization`, outbound `SentToScope NotInOrganization`, internal both `InOrganization`):
 * - Recipient conditions (`SentToScope`) make Exchange bifurcate a message per matching recipient. A message
 *   from a user to one colleague and one outside address matches both the internal and the outbound rule, so
 *   the capture mailbox receives the same message twice — duplicates that cost quota and count against the
 *   3,600 messages/hour receiving limit.
 * - Three rules leave gaps the scopes do not name (e.g. mail relayed between two external parties through the
 *   tenant) and triple what an attacker can quietly narrow; one unconditioned rule has no scope to tamper with,
 *   so any scope that appears on it is drift.
 * - One rule uses one of the 300 rule slots and one priority.
 * The rule set is data (policy/capture.v1.json): a tenant that wants per-direction rules lists three templates
 * with scopes and this planner treats them the same way.
 *
 * The planner never awaits, logs or reads the clock. It never plans a write to an unmanaged rule.
 */
import type { Finding, OutcomeError } from "../domain/outcome";
import type { CapturePolicy, TransportRuleTemplate } from "./settings";
import { asFlag, asList, asText, normaliseText, type CaptureAction, type TargetPlan } from "./target-plan";

/** A transport rule as `Get-TransportRule` returns it (Exchange's property names). */
export type ObservedTransportRule = Readonly<Record<string, unknown>>;

type FieldType = "text" | "list" | "recipients" | "flag";
type FieldRole = "condition" | "exception" | "action" | "setting";

interface RuleFieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly role: FieldRole;
}

/**
 * Every rule property the planner compares. Properties a managed rule must not have are listed too, so that
 * a condition, exception or action someone adds to a managed rule shows up as drift and is removed.
 * `ExceptIf*` properties not listed here are still caught (see `exceptionFieldsOf`).
 */
const RULE_FIELDS: readonly RuleFieldSpec[] = [
  { name: "FromScope", type: "text", role: "condition" },
  { name: "SentToScope", type: "text", role: "condition" },
  { name: "From", type: "recipients", role: "condition" },
  { name: "SentTo", type: "recipients", role: "condition" },
  { name: "FromMemberOf", type: "recipients", role: "condition" },
  { name: "SentToMemberOf", type: "recipients", role: "condition" },
  { name: "SenderDomainIs", type: "list", role: "condition" },
  { name: "RecipientDomainIs", type: "list", role: "condition" },
  { name: "SubjectContainsWords", type: "list", role: "condition" },
  { name: "SubjectOrBodyContainsWords", type: "list", role: "condition" },
  { name: "HeaderContainsMessageHeader", type: "text", role: "condition" },
  { name: "HeaderContainsWords", type: "list", role: "condition" },
  { name: "MessageTypeMatches", type: "text", role: "condition" },
  { name: "HasAttachment", type: "flag", role: "condition" },
  { name: "ExceptIfFrom", type: "recipients", role: "exception" },
  { name: "ExceptIfSentTo", type: "recipients", role: "exception" },
  { name: "ExceptIfFromScope", type: "text", role: "exception" },
  { name: "ExceptIfSentToScope", type: "text", role: "exception" },
  { name: "ExceptIfFromMemberOf", type: "recipients", role: "exception" },
  { name: "ExceptIfSentToMemberOf", type: "recipients", role: "exception" },
  { name: "ExceptIfHeaderContainsMessageHeader", type: "text", role: "exception" },
  { name: "ExceptIfHeaderContainsWords", type: "list", role: "exception" },
  { name: "ExceptIfMessageTypeMatches", type: "text", role: "exception" },
  { name: "BlindCopyTo", type: "recipients", role: "action" },
  { name: "CopyTo", type: "recipients", role: "action" },
  { name: "AddToRecipients", type: "recipients", role: "action" },
  { name: "RedirectMessageTo", type: "recipients", role: "action" },
  { name: "ModerateMessageByUser", type: "recipients", role: "action" },
  { name: "DeleteMessage", type: "flag", role: "action" },
  { name: "Quarantine", type: "flag", role: "action" },
  { name: "StopRuleProcessing", type: "flag", role: "action" },
  { name: "RejectMessageReasonText", type: "text", role: "action" },
  { name: "RejectMessageEnhancedStatusCode", type: "text", role: "action" },
  { name: "PrependSubject", type: "text", role: "action" },
  { name: "SetHeaderName", type: "text", role: "action" },
  { name: "SetHeaderValue", type: "text", role: "action" },
  { name: "Mode", type: "text", role: "setting" },
  { name: "RuleErrorAction", type: "text", role: "setting" },
  { name: "SenderAddressLocation", type: "text", role: "setting" },
];

/** Conditions that match whole directions of mail: a rule with only these still matches ordinary mail. */
const BROAD_CONDITIONS = new Set(["fromscope", "senttoscope"]);

export type RuleFieldValue = string | boolean | readonly string[] | null;

/** A managed rule as it must be. `fields` holds every compared property; empty values must be absent. */
export interface DesiredTransportRule {
  readonly key: string;
  readonly name: string;
  readonly priority: number;
  readonly comments: string;
  /** Text `Comments` must contain for the rule to count as carrying the managed-by marker. */
  readonly marker: string;
  readonly fields: Readonly<Record<string, RuleFieldValue>>;
}

/**
 * The capture mailbox as rules may name it. Exchange can echo a recipient back as its address, alias, name or
 * GUID; all of them mean the same mailbox.
 */
export interface CaptureRecipient {
  readonly address: string;
  /** Other identities of the same mailbox (alias, name, GUID...), when known. */
  readonly identities: readonly string[];
}

/** Builds the desired managed rules from the policy templates, in priority order. */
export function desiredTransportRules(policy: CapturePolicy, capture: CaptureRecipient): DesiredTransportRule[] {
  return policy.transportRules.map((template: TransportRuleTemplate, priority) => {
    const fields: Record<string, RuleFieldValue> = {};
    for (const spec of RULE_FIELDS) fields[spec.name] = emptyValue(spec.type);
    Object.assign(fields, {
      FromScope: template.fromScope,
      SentToScope: template.sentToScope,
      ExceptIfFrom: [capture.address],
      ExceptIfSentTo: [capture.address],
      BlindCopyTo: [capture.address],
      Mode: "Enforce",
      RuleErrorAction: template.ruleErrorAction,
      SenderAddressLocation: template.senderAddressLocation,
    });
    return { key: template.key, name: template.name, priority, comments: policy.comments, marker: policy.marker, fields };
  });
}

function emptyValue(type: FieldType): RuleFieldValue {
  if (type === "flag") return false;
  if (type === "text") return null;
  return [];
}

function isEmpty(value: unknown, type: FieldType): boolean {
  if (type === "flag") return !asFlag(value);
  if (type === "text") return normaliseText(value) === "";
  return asList(value).length === 0;
}

/** Maps any identity of the capture mailbox to its address, so lists compare as sets of mailboxes. */
function recipientCanonicaliser(capture: CaptureRecipient): (value: string) => string {
  const address = capture.address.toLowerCase();
  const aliases = new Set([address, ...capture.identities.map((identity) => identity.toLowerCase())]);
  return (value) => {
    const text = value.trim().toLowerCase();
    return aliases.has(text) ? address : text;
  };
}

function canonicalSet(value: unknown, type: FieldType, canonical: (value: string) => string): Set<string> {
  const items = asList(value).map((item) => item.trim().toLowerCase());
  return new Set(type === "recipients" ? items.map(canonical) : items);
}

/** Whether `current` holds something `desired` does not (for lists: an extra item; for single values: any other value). */
function addsItems(current: unknown, desired: RuleFieldValue, type: FieldType, canonical: (value: string) => string): boolean {
  if (type === "flag" || type === "text") return true;
  const wanted = canonicalSet(desired, type, canonical);
  return [...canonicalSet(current, type, canonical)].some((item) => !wanted.has(item));
}

function sameValue(current: unknown, desired: RuleFieldValue, type: FieldType, canonical: (value: string) => string): boolean {
  if (type === "flag") return asFlag(current) === asFlag(desired);
  if (type === "text") return normaliseText(current) === normaliseText(desired);
  const left = canonicalSet(current, type, canonical);
  const right = canonicalSet(desired, type, canonical);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

/** `ExceptIf*` properties the rule has that the field table does not list (Exchange has dozens). */
function exceptionFieldsOf(rule: ObservedTransportRule): RuleFieldSpec[] {
  const known = new Set(RULE_FIELDS.map((spec) => spec.name.toLowerCase()));
  return Object.keys(rule)
    .filter((name) => /^exceptif/i.test(name) && !known.has(name.toLowerCase()))
    .map((name): RuleFieldSpec => {
      const value = rule[name];
      const type: FieldType = typeof value === "boolean" ? "flag" : Array.isArray(value) ? "list" : "text";
      return { name, type, role: "exception" };
    })
    .filter((spec) => !isEmpty(rule[spec.name], spec.type));
}

function ruleName(rule: ObservedTransportRule): string {
  return asText(rule["Name"] ?? rule["Identity"]);
}

/** The identity to address a rule by in Set/Remove/Enable: its GUID when Exchange gave one (renames keep it). */
function ruleIdentity(rule: ObservedTransportRule): string {
  return String(rule["Guid"] ?? rule["Identity"] ?? rule["Name"]);
}

function rulePriority(rule: ObservedTransportRule): number {
  const priority = Number(rule["Priority"]);
  return Number.isFinite(priority) ? priority : Number.MAX_SAFE_INTEGER;
}

function ruleEnabled(rule: ObservedTransportRule): boolean {
  if (rule["State"] !== undefined && rule["State"] !== null) return normaliseText(rule["State"]) === "enabled";
  return asFlag(rule["Enabled"]);
}

function ruleEnforced(rule: ObservedTransportRule): boolean {
  return normaliseText(rule["Mode"]) === "enforce";
}

/** The managed-relevant properties of a rule as read, for outcome `before`/`after`. */
export function describeRule(rule: ObservedTransportRule): Record<string, unknown> {
  const described: Record<string, unknown> = {
    Name: rule["Name"],
    Priority: rule["Priority"],
    State: rule["State"] ?? (asFlag(rule["Enabled"]) ? "Enabled" : "Disabled"),
    Comments: rule["Comments"],
  };
  for (const spec of [...RULE_FIELDS, ...exceptionFieldsOf(rule)]) {
    if (!isEmpty(rule[spec.name], spec.type) || spec.role === "setting") described[spec.name] = rule[spec.name] ?? null;
  }
  return described;
}

function isManagedName(name: string, desired: readonly DesiredTransportRule[]): boolean {
  return desired.some((rule) => rule.name.toLowerCase() === name.toLowerCase());
}

/** A rule this product created that the policy no longer lists (renamed template, switched to journaling). */
function isStaleManaged(rule: ObservedTransportRule, policy: CapturePolicy, desired: readonly DesiredTransportRule[]): boolean {
  const name = ruleName(rule);
  return (
    !isManagedName(name, desired) &&
    name.toLowerCase().startsWith(policy.managedNamePrefix.toLowerCase()) &&
    normaliseText(rule["Comments"]).includes(policy.marker.toLowerCase())
  );
}

/** Estimated stored size of a rule: the JSON of its parameters. Exchange's own XML form is of the same order. */
export function estimateRuleSizeInBytes(parameters: Readonly<Record<string, unknown>>): number {
  return new TextEncoder().encode(JSON.stringify(parameters)).length;
}

function newRuleParameters(desired: DesiredTransportRule): Record<string, unknown> {
  const parameters: Record<string, unknown> = {
    Name: desired.name,
    Priority: desired.priority,
    Enabled: true,
    Comments: desired.comments,
  };
  for (const spec of RULE_FIELDS) {
    const value = desired.fields[spec.name];
    if (value !== undefined && !isEmpty(value, spec.type)) parameters[spec.name] = value;
  }
  return parameters;
}

function setValue(value: RuleFieldValue, type: FieldType): unknown {
  if (type === "flag") return asFlag(value);
  return isEmpty(value, type) ? null : value;
}

interface ManagedRuleDiff {
  readonly findings: Finding[];
  readonly setParameters: Record<string, unknown>;
  readonly enable: boolean;
  /** Why capture is defeated right now, if it is (Audit mode, added exceptions). */
  readonly defeatedBy: string[];
}

function diffManagedRule(current: ObservedTransportRule, desired: DesiredTransportRule, canonical: (value: string) => string): ManagedRuleDiff {
  const findings: Finding[] = [];
  const setParameters: Record<string, unknown> = {};
  const defeatedBy: string[] = [];

  for (const spec of [...RULE_FIELDS, ...exceptionFieldsOf(current)]) {
    const wanted = desired.fields[spec.name] ?? emptyValue(spec.type);
    const actual = current[spec.name];
    if (sameValue(actual, wanted, spec.type, canonical)) continue;
    const addsException = spec.role === "exception" && !isEmpty(actual, spec.type) && addsItems(actual, wanted, spec.type, canonical);
    const auditMode = spec.name === "Mode" && /^audit/i.test(normaliseText(actual));
    const hazard = addsException || auditMode;
    if (addsException) defeatedBy.push(`exception ${spec.name} added`);
    if (auditMode) defeatedBy.push(`Mode is ${String(actual)} (no copy is delivered)`);
    findings.push({
      kind: hazard ? "hazard" : "drift",
      setting: spec.name,
      current: actual ?? null,
      desired: wanted,
      message: hazard
        ? `${spec.name} defeats capture: ${addsException ? "an exception was added" : "audit modes deliver no copy"}`
        : `${spec.name} differs from the capture policy`,
    });
    setParameters[spec.name] = setValue(wanted, spec.type);
  }

  if (rulePriority(current) !== desired.priority) {
    findings.push({
      kind: "drift",
      setting: "Priority",
      current: current["Priority"] ?? null,
      desired: desired.priority,
      message: `Priority must be ${desired.priority} so no other rule runs before the capture`,
    });
    setParameters["Priority"] = desired.priority;
  }
  if (!normaliseText(current["Comments"]).includes(normaliseText(desired.marker))) {
    findings.push({ kind: "drift", setting: "Comments", current: current["Comments"] ?? null, desired: desired.comments, message: "the managed-by marker is missing" });
    setParameters["Comments"] = desired.comments;
  }
  const enable = !ruleEnabled(current);
  if (enable) {
    findings.push({ kind: "drift", setting: "State", current: current["State"] ?? "Disabled", desired: "Enabled", message: "the capture rule is disabled" });
  }
  return { findings, setParameters, enable, defeatedBy };
}

/** A shadowing action on an unmanaged rule: mail it acts on never reaches a later rule (or is not delivered). */
function shadowingActions(rule: ObservedTransportRule): string[] {
  const actions: string[] = [];
  if (asFlag(rule["StopRuleProcessing"])) actions.push("StopRuleProcessing");
  if (asFlag(rule["DeleteMessage"])) actions.push("DeleteMessage");
  if (asList(rule["RedirectMessageTo"]).length > 0) actions.push("RedirectMessageTo");
  return actions;
}

/**
 * Whether a rule matches only some mail. Scope conditions do not count: they match a whole direction.
 * Exchange's `Conditions` list (predicate type names) is used when present; otherwise the known properties.
 */
function hasNarrowingCondition(rule: ObservedTransportRule): boolean {
  const predicates = rule["Conditions"];
  if (Array.isArray(predicates)) return predicates.some((predicate) => !/scopepredicate/i.test(String(predicate)));
  return RULE_FIELDS.some(
    (spec) => spec.role === "condition" && !BROAD_CONDITIONS.has(spec.name.toLowerCase()) && !isEmpty(rule[spec.name], spec.type),
  );
}

export interface TransportRulesPlanInput {
  readonly policy: CapturePolicy;
  /** Managed rules as they must be; empty in journaling mode (then every managed rule found is removed). */
  readonly desired: readonly DesiredTransportRule[];
  /** Every rule of the tenant, as read. */
  readonly current: readonly ObservedTransportRule[];
  readonly capture: CaptureRecipient;
  /**
   * A reason managed rules cannot be written now (e.g. the capture mailbox does not exist, so Exchange would
   * reject BlindCopyTo). Their drift is still reported, as failed.
   */
  readonly blockedBecause?: string;
}

const ruleChangeNote = (policy: CapturePolicy) =>
  `Rule changes take up to ${policy.limits.ruleChangeDelayInMinutes} minutes to take effect in mail flow.`;

/**
 * Plans the managed transport rules: one plan per managed rule (create / repair / compliant), one per stale
 * managed rule (remove), and one `failed` plan per unmanaged rule that shadows the capture.
 */
export function planTransportRules(input: TransportRulesPlanInput): TargetPlan[] {
  const { policy, desired, current, capture } = input;
  const canonical = recipientCanonicaliser(capture);
  const plans: TargetPlan[] = [];
  const byName = new Map(current.map((rule) => [ruleName(rule).toLowerCase(), rule]));

  const stale = current.filter((rule) => isStaleManaged(rule, policy, desired));
  for (const rule of stale) {
    plans.push({
      kind: "transport-rule",
      targetId: ruleName(rule),
      displayName: ruleName(rule),
      findings: [{ kind: "drift", setting: "Present", current: true, desired: false, message: "a managed capture rule the policy no longer lists" }],
      actions: [
        { kind: "exchange", request: { cmdlet: "Remove-TransportRule", parameters: { Identity: ruleIdentity(rule) } }, description: `remove stale managed rule "${ruleName(rule)}"` },
      ],
      before: describeRule(rule),
    });
  }

  let ruleCount = current.length - stale.length;
  const managedPriorities: number[] = [];
  for (const rule of desired) {
    const existing = byName.get(rule.name.toLowerCase());
    const target = { kind: "transport-rule" as const, targetId: rule.name, displayName: rule.name };
    const parameters = newRuleParameters(rule);
    const sizeInBytes = estimateRuleSizeInBytes(parameters);
    let problem: OutcomeError | undefined =
      sizeInBytes > policy.limits.maxRuleSizeInBytes
        ? { code: "TransportRuleTooLarge", message: `Refusing to plan "${rule.name}": about ${sizeInBytes} bytes exceeds the ${policy.limits.maxRuleSizeInBytes}-byte rule limit.` }
        : undefined;

    if (!existing) {
      managedPriorities.push(rule.priority);
      if (!problem && ruleCount + 1 > policy.limits.maxTransportRules) {
        problem = { code: "TransportRuleLimit", message: `Refusing to create "${rule.name}": the tenant already has ${ruleCount} of ${policy.limits.maxTransportRules} transport rules.` };
      }
      if (!problem && input.blockedBecause) problem = { code: "CaptureRuleBlocked", message: `Cannot create "${rule.name}": ${input.blockedBecause}` };
      if (!problem) ruleCount += 1;
      plans.push({
        ...target,
        findings: [{ kind: "drift", setting: "Present", current: false, desired: true, message: `the capture rule is missing. ${ruleChangeNote(policy)}` }],
        actions: problem ? [] : [{ kind: "exchange", request: { cmdlet: "New-TransportRule", parameters }, description: `create "${rule.name}"` }],
        ...(problem ? { problem } : {}),
        before: { Present: false },
      });
      continue;
    }

    managedPriorities.push(rulePriority(existing));
    const diff = diffManagedRule(existing, rule, canonical);
    const actions: CaptureAction[] = [];
    const identity = ruleIdentity(existing);
    if (Object.keys(diff.setParameters).length > 0) {
      actions.push({
        kind: "exchange",
        request: { cmdlet: "Set-TransportRule", parameters: { Identity: identity, ...diff.setParameters } },
        description: `set ${Object.keys(diff.setParameters).join(", ")} on "${rule.name}"`,
      });
    }
    if (diff.enable) {
      actions.push({ kind: "exchange", request: { cmdlet: "Enable-TransportRule", parameters: { Identity: identity } }, description: `enable "${rule.name}"` });
    }
    const writesRefused = problem !== undefined || (input.blockedBecause !== undefined && actions.length > 0);
    if (!problem && writesRefused) problem = { code: "CaptureRuleBlocked", message: `Cannot repair "${rule.name}": ${input.blockedBecause}` };
    if (!problem && diff.defeatedBy.length > 0) {
      problem = { code: "CaptureDefeated", message: `"${rule.name}" does not capture mail: ${diff.defeatedBy.join("; ")}.` };
    }
    const findings = actions.length > 0 ? diff.findings.map((finding) => ({ ...finding, message: `${finding.message}. ${ruleChangeNote(policy)}` })) : diff.findings;
    plans.push({ ...target, findings, actions: writesRefused ? [] : actions, ...(problem ? { problem } : {}), before: describeRule(existing) });
  }

  if (desired.length > 0) {
    const lastManagedPriority = Math.max(...managedPriorities);
    for (const rule of current) {
      const name = ruleName(rule);
      if (isManagedName(name, desired) || stale.includes(rule)) continue;
      const actions = shadowingActions(rule);
      if (actions.length === 0 || !ruleEnabled(rule) || !ruleEnforced(rule) || hasNarrowingCondition(rule)) continue;
      if (rulePriority(rule) >= lastManagedPriority) continue;
      plans.push({
        kind: "transport-rule",
        targetId: asText(rule["Guid"] ?? name),
        displayName: name,
        findings: [
          {
            kind: "hazard",
            setting: actions.join(", "),
            current: rule["Priority"] ?? null,
            desired: `after priority ${lastManagedPriority}`,
            message: `unmanaged rule "${name}" runs before the capture rule on all mail and uses ${actions.join(", ")}; it is not changed by this product`,
          },
        ],
        actions: [],
        problem: {
          code: "CaptureShadowed",
          message: `Unmanaged rule "${name}" (priority ${String(rule["Priority"])}) uses ${actions.join(", ")} on ordinary mail before the capture rule; mail it acts on is not captured.`,
        },
        before: describeRule(rule),
      });
    }
  }
  return plans;
}
