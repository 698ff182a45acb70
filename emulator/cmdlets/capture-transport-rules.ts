/**
 * Transport (mail flow) rules: Get/New/Set/Enable/Disable/Remove-TransportRule.
 * Priorities stay contiguous from 0 (first) as Exchange keeps them: inserting at a priority shifts the
 * rules at and after it down by one; removing closes the gap.
 */
import { randomUUID } from "node:crypto";
import { CmdletFailure, notFound, type CmdletContext, type CmdletDefinition } from "../cmdlet";
import type { EmulatedTransportRule, TenantState } from "../tenant-state";
import {
  exchangeProperties,
  isSmtpAddress,
  limited,
  lookupIdentity,
  noChangeWarning,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalNullableString,
  optionalString,
  optionalStringList,
  requiredString,
  resultSize,
} from "./capture-parameters";
import { findRecipient, isInternalDomain, recipientAddress, recipientNotFound } from "./capture-recipients";

export const MAX_TRANSPORT_RULES = 300;
export const MAX_RULE_SIZE_IN_BYTES = 8 * 1024;

const scopeValues = ["InOrganization", "NotInOrganization"] as const;
const modeValues = ["Enforce", "Audit", "AuditAndNotify"] as const;
const ruleErrorActionValues = ["Ignore", "Defer"] as const;
const senderAddressLocationValues = ["Header", "Envelope", "HeaderOrEnvelope"] as const;
const messageTypeValues = [
  "OOF", "AutoForward", "Encrypted", "Calendaring", "PermissionControlled", "Voicemail", "Signed", "ApprovalRequest", "ReadReceipt",
] as const;

/** Condition, exception and action properties: what a rule's size is measured over. */
const predicateKeys = [
  "FromScope", "SentToScope", "From", "SentTo", "ExceptIfFrom", "ExceptIfSentTo", "ExceptIfFromScope", "ExceptIfSentToScope",
  "ExceptIfHeaderContainsMessageHeader", "ExceptIfHeaderContainsWords", "ExceptIfMessageTypeMatches",
  "BlindCopyTo", "CopyTo", "AddToRecipients", "RedirectMessageTo", "DeleteMessage", "SetHeaderName", "SetHeaderValue",
] as const satisfies readonly (keyof EmulatedTransportRule)[];

const ruleParameters = [
  "Name", "Priority", "Mode", "Enabled", "Comments", "StopRuleProcessing", "RuleErrorAction", "SenderAddressLocation",
  ...predicateKeys,
] as const;

const argumentFailure = "System.ArgumentException";

function ruleFailure(errorId: string, text: string): CmdletFailure {
  return new CmdletFailure(errorId, argumentFailure, text);
}

function findRule(tenant: TenantState, identity: string): EmulatedTransportRule | undefined {
  const wanted = identity.toLowerCase();
  return tenant.transportRules.find(
    (rule) => rule.Name.toLowerCase() === wanted || rule.Identity.toLowerCase() === wanted || rule.Guid.toLowerCase() === wanted,
  );
}

function requireRule(tenant: TenantState, identity: string): EmulatedTransportRule {
  const rule = findRule(tenant, identity);
  if (!rule) throw notFound(identity);
  return rule;
}

function byPriority(tenant: TenantState): EmulatedTransportRule[] {
  return [...tenant.transportRules].sort((a, b) => a.Priority - b.Priority);
}

/** Places `rule` at `priority` among the others and renumbers every rule 0..n-1. */
function placeAt(tenant: TenantState, rule: EmulatedTransportRule, priority: number): void {
  const others = byPriority(tenant).filter((other) => other !== rule);
  others.splice(priority, 0, rule);
  others.forEach((other, index) => {
    other.Priority = index;
  });
  tenant.transportRules = others;
}

function checkPriority(priority: number, highest: number): void {
  if (priority < 0 || priority > highest) {
    throw ruleFailure(
      "PriorityOutOfRange",
      `The value of the Priority parameter must be between 0 and ${highest}. The value ${priority} is out of range.`,
    );
  }
}

/**
 * Resolves a recipient list. Tenant recipients are stored by primary SMTP address; an address at a domain
 * outside the tenant is an external recipient and kept as given; anything else fails to resolve.
 */
function recipients(
  tenant: TenantState,
  parameters: Record<string, unknown>,
  name: string,
  options: { allowGroups: boolean },
): string[] | null | undefined {
  const values = optionalStringList(parameters, name);
  if (values === undefined || values === null) return values;
  if (values.length === 0) return null;
  return values.map((value) => {
    const recipient = findRecipient(tenant, value);
    if (recipient) {
      if (recipient.kind === "group" && !options.allowGroups) {
        throw ruleFailure(
          "GroupNotAllowed",
          `The recipient "${value}" is a group. The ${name} action can't send a copy to a group; specify a mailbox.`,
        );
      }
      return recipientAddress(recipient);
    }
    if (isSmtpAddress(value) && !isInternalDomain(tenant, value)) return value;
    throw recipientNotFound(value);
  });
}

function emptyToNull(value: string | null | undefined): string | null | undefined {
  return value === "" ? null : value;
}

function wordList(parameters: Record<string, unknown>, name: string): string[] | null | undefined {
  const values = optionalStringList(parameters, name);
  return values && values.length === 0 ? null : values;
}

/** Reads every rule property the caller gave; absent ones are left out so Set-TransportRule can merge. */
function ruleChanges(tenant: TenantState, parameters: Record<string, unknown>): Partial<EmulatedTransportRule> {
  const enabled = optionalBoolean(parameters, "Enabled");
  const changes: Partial<EmulatedTransportRule> = {
    Name: optionalString(parameters, "Name"),
    Mode: optionalEnum(parameters, "Mode", "Microsoft.Exchange.MessagingPolicies.Rules.RuleMode", modeValues),
    State: enabled === undefined ? undefined : enabled ? "Enabled" : "Disabled",
    Comments: optionalString(parameters, "Comments"),
    StopRuleProcessing: optionalBoolean(parameters, "StopRuleProcessing"),
    RuleErrorAction: optionalEnum(parameters, "RuleErrorAction", "Microsoft.Exchange.MessagingPolicies.Rules.RuleErrorAction", ruleErrorActionValues),
    SenderAddressLocation: optionalEnum(
      parameters, "SenderAddressLocation", "Microsoft.Exchange.MessagingPolicies.Rules.SenderAddressLocation", senderAddressLocationValues,
    ),
    FromScope: emptyToNull(optionalNullableString(parameters, "FromScope")),
    SentToScope: emptyToNull(optionalNullableString(parameters, "SentToScope")),
    ExceptIfFromScope: emptyToNull(optionalNullableString(parameters, "ExceptIfFromScope")),
    ExceptIfSentToScope: emptyToNull(optionalNullableString(parameters, "ExceptIfSentToScope")),
    From: recipients(tenant, parameters, "From", { allowGroups: true }),
    SentTo: recipients(tenant, parameters, "SentTo", { allowGroups: true }),
    ExceptIfFrom: recipients(tenant, parameters, "ExceptIfFrom", { allowGroups: true }),
    ExceptIfSentTo: recipients(tenant, parameters, "ExceptIfSentTo", { allowGroups: true }),
    ExceptIfHeaderContainsMessageHeader: emptyToNull(optionalNullableString(parameters, "ExceptIfHeaderContainsMessageHeader")),
    ExceptIfHeaderContainsWords: wordList(parameters, "ExceptIfHeaderContainsWords"),
    ExceptIfMessageTypeMatches: emptyToNull(optionalNullableString(parameters, "ExceptIfMessageTypeMatches")),
    BlindCopyTo: recipients(tenant, parameters, "BlindCopyTo", { allowGroups: false }),
    CopyTo: recipients(tenant, parameters, "CopyTo", { allowGroups: true }),
    AddToRecipients: recipients(tenant, parameters, "AddToRecipients", { allowGroups: true }),
    RedirectMessageTo: recipients(tenant, parameters, "RedirectMessageTo", { allowGroups: true }),
    DeleteMessage: optionalBoolean(parameters, "DeleteMessage"),
    SetHeaderName: emptyToNull(optionalNullableString(parameters, "SetHeaderName")),
    SetHeaderValue: emptyToNull(optionalNullableString(parameters, "SetHeaderValue")),
  };
  for (const key of ["FromScope", "SentToScope", "ExceptIfFromScope", "ExceptIfSentToScope"] as const) {
    const value = changes[key];
    if (typeof value === "string") {
      changes[key] = optionalEnum({ [key]: value }, key, "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.FromUserScope", scopeValues);
    }
  }
  if (typeof changes.ExceptIfMessageTypeMatches === "string") {
    changes.ExceptIfMessageTypeMatches = optionalEnum(
      { ExceptIfMessageTypeMatches: changes.ExceptIfMessageTypeMatches },
      "ExceptIfMessageTypeMatches",
      "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.MessageType",
      messageTypeValues,
    );
  }
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
}

/** A rule's size, approximated as the length of its serialized conditions, exceptions and actions. */
export function ruleSizeInBytes(rule: EmulatedTransportRule): number {
  const predicates = Object.fromEntries(predicateKeys.map((key) => [key, rule[key]]));
  return Buffer.byteLength(JSON.stringify(predicates), "utf8");
}

/** Whole-rule validation, run on the rule as it would be after a create or change (`existing` is the rule it replaces). */
function validateRule(tenant: TenantState, rule: EmulatedTransportRule, existing?: EmulatedTransportRule): void {
  if (rule.Name.length > 64) throw ruleFailure("NameTooLong", `The rule name "${rule.Name}" is longer than 64 characters.`);
  const clash = tenant.transportRules.find((other) => other !== existing && other.Name.toLowerCase() === rule.Name.toLowerCase());
  if (clash) throw ruleFailure("RuleNameAlreadyExists", `A transport rule with the name "${rule.Name}" already exists.`);
  if ((rule.SetHeaderName === null) !== (rule.SetHeaderValue === null)) {
    throw ruleFailure("SetHeaderIncomplete", "The SetHeaderName and SetHeaderValue parameters must be used together.");
  }
  if ((rule.ExceptIfHeaderContainsMessageHeader === null) !== (rule.ExceptIfHeaderContainsWords === null)) {
    throw ruleFailure(
      "HeaderContainsIncomplete",
      "The ExceptIfHeaderContainsMessageHeader and ExceptIfHeaderContainsWords parameters must be used together.",
    );
  }
  const hasAction =
    (rule.BlindCopyTo?.length ?? 0) > 0 ||
    (rule.CopyTo?.length ?? 0) > 0 ||
    (rule.AddToRecipients?.length ?? 0) > 0 ||
    (rule.RedirectMessageTo?.length ?? 0) > 0 ||
    rule.DeleteMessage ||
    rule.SetHeaderName !== null;
  if (!hasAction) throw ruleFailure("NoActionSpecified", "A rule must contain at least one action.");
  const size = ruleSizeInBytes(rule);
  if (size > MAX_RULE_SIZE_IN_BYTES) {
    throw ruleFailure(
      "RuleSizeLimitExceeded",
      `The rule "${rule.Name}" is ${size} bytes, which exceeds the maximum size of ${MAX_RULE_SIZE_IN_BYTES} bytes (8 KB) for a transport rule.`,
    );
  }
}

function ruleOutput(rule: EmulatedTransportRule): Record<string, unknown> {
  return exchangeProperties(structuredClone(rule));
}

const getTransportRule: CmdletDefinition = {
  name: "Get-TransportRule",
  parameters: ["Identity", "ResultSize"],
  handle(parameters, { tenant }) {
    const identity = lookupIdentity(parameters);
    const size = resultSize(parameters);
    if (identity !== undefined) return { value: [ruleOutput(requireRule(tenant, identity))] };
    return limited(byPriority(tenant).map(ruleOutput), size);
  },
};

const newTransportRule: CmdletDefinition = {
  name: "New-TransportRule",
  parameters: [...ruleParameters, "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const name = requiredString(parameters, "Name");
    if (tenant.transportRules.length >= MAX_TRANSPORT_RULES) {
      throw new CmdletFailure(
        "RuleLimitReached",
        "System.InvalidOperationException",
        `The maximum number of transport rules (${MAX_TRANSPORT_RULES}) has been reached. Remove a rule before creating a new one.`,
      );
    }
    const priority = optionalInteger(parameters, "Priority") ?? tenant.transportRules.length;
    checkPriority(priority, tenant.transportRules.length);
    const guid = randomUUID();
    const rule: EmulatedTransportRule = {
      Guid: guid,
      Identity: name,
      Name: name,
      Priority: priority,
      Mode: "Enforce",
      State: "Enabled",
      Comments: "",
      StopRuleProcessing: false,
      RuleErrorAction: "Ignore",
      SenderAddressLocation: "Header",
      FromScope: null,
      SentToScope: null,
      From: null,
      SentTo: null,
      ExceptIfFrom: null,
      ExceptIfSentTo: null,
      ExceptIfFromScope: null,
      ExceptIfSentToScope: null,
      ExceptIfHeaderContainsMessageHeader: null,
      ExceptIfHeaderContainsWords: null,
      ExceptIfMessageTypeMatches: null,
      BlindCopyTo: null,
      CopyTo: null,
      AddToRecipients: null,
      RedirectMessageTo: null,
      DeleteMessage: false,
      SetHeaderName: null,
      SetHeaderValue: null,
      ...ruleChanges(tenant, parameters),
      WhenChangedUTC: context.now().toISOString(),
    };
    validateRule(tenant, rule);
    placeAt(tenant, rule, priority);
    return { value: [ruleOutput(rule)] };
  },
};

const setTransportRule: CmdletDefinition = {
  name: "Set-TransportRule",
  parameters: ["Identity", ...ruleParameters, "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const identity = requiredString(parameters, "Identity");
    const rule = requireRule(tenant, identity);
    const priority = optionalInteger(parameters, "Priority");
    if (priority !== undefined) checkPriority(priority, tenant.transportRules.length - 1);
    const changed = { ...rule, ...ruleChanges(tenant, parameters) };
    changed.Identity = changed.Name;
    validateRule(tenant, changed, rule);
    const before = JSON.stringify(rule);
    Object.assign(rule, changed);
    if (priority !== undefined) placeAt(tenant, rule, priority);
    if (JSON.stringify(rule) === before) return { warnings: [noChangeWarning(identity)] };
    rule.WhenChangedUTC = context.now().toISOString();
    return {};
  },
};

function stateSetter(name: string, state: "Enabled" | "Disabled"): CmdletDefinition {
  return {
    name,
    parameters: ["Identity", "Confirm"],
    handle(parameters: Record<string, unknown>, context: CmdletContext) {
      const { tenant } = context;
      const rule = requireRule(tenant, requiredString(parameters, "Identity"));
      if (rule.State !== state) {
        rule.State = state;
        rule.WhenChangedUTC = context.now().toISOString();
      }
      return {};
    },
  };
}

const removeTransportRule: CmdletDefinition = {
  name: "Remove-TransportRule",
  parameters: ["Identity", "Confirm"],
  handle(parameters, { tenant }) {
    const rule = requireRule(tenant, requiredString(parameters, "Identity"));
    tenant.transportRules = byPriority(tenant).filter((other) => other !== rule);
    tenant.transportRules.forEach((other, index) => {
      other.Priority = index;
    });
    return {};
  },
};

export const transportRuleCmdlets: CmdletDefinition[] = [
  getTransportRule,
  newTransportRule,
  setTransportRule,
  stateSetter("Enable-TransportRule", "Enabled"),
  stateSetter("Disable-TransportRule", "Disabled"),
  removeTransportRule,
];
