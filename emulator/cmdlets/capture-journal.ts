/**
 * Journaling for hybrid tenants: journal rules and the transport configuration's NDR mailbox.
 * Exchange Online mailboxes cannot receive journal reports, so a journal rule that targets one fails.
 */
import { randomUUID } from "node:crypto";
import { CmdletFailure, notFound, type CmdletContext, type CmdletDefinition } from "../cmdlet";
import type { EmulatedJournalRule, TenantState } from "../tenant-state";
import {
  exchangeProperties,
  isSmtpAddress,
  lookupIdentity,
  noChangeWarning,
  optionalBoolean,
  optionalEnum,
  optionalNullableString,
  optionalString,
  requiredString,
} from "./capture-parameters";
import { findRecipient, isInternalDomain, recipientAddress, recipientNotFound } from "./capture-recipients";

const scopeValues = ["Global", "Internal", "External"] as const;

/** Get-TransportConfig shows an unset JournalingReportNdrTo as the null sender. */
const NULL_SENDER = "<>";

function findJournalRule(tenant: TenantState, identity: string): EmulatedJournalRule | undefined {
  const wanted = identity.toLowerCase();
  return tenant.journalRules.find(
    (rule) => rule.Name.toLowerCase() === wanted || rule.Identity.toLowerCase() === wanted || rule.Guid.toLowerCase() === wanted,
  );
}

function requireJournalRule(tenant: TenantState, identity: string): EmulatedJournalRule {
  const rule = findJournalRule(tenant, identity);
  if (!rule) throw notFound(identity);
  return rule;
}

/** A journal target: a mail user, a mail contact or an external address; never an Exchange Online mailbox or a group. */
function journalAddress(tenant: TenantState, value: string): string {
  const kind = findRecipient(tenant, value)?.kind;
  if (kind === "mailbox" || kind === "group") {
    // The text Exchange Online answers (MicrosoftDocs/OfficeDocs-Exchange issue 2774).
    throw new CmdletFailure(
      "JournalEmailAddressInvalid",
      "System.InvalidOperationException",
      "The JournalEmailAddress can only be a mail user, a mail contact or an external address.",
    );
  }
  return smtpRecipient(tenant, value);
}

/**
 * Exchange Online refuses a journal rule until undeliverable journal reports have somewhere to go
 * (Microsoft Q&A 1304515, Microsoft365DSC issue 5606).
 */
function requireJournalingNdrMailbox(tenant: TenantState): void {
  if (tenant.transportConfig.JournalingReportNdrTo === null) {
    throw new CmdletFailure(
      "JournalingReportNdrToNotSet",
      "System.InvalidOperationException",
      "Before you create a journal rule, you must specify an email account to receive journal reports that can't be delivered to the journal destination.",
    );
  }
}

/** A tenant recipient's address, or an external SMTP address as given. */
function smtpRecipient(tenant: TenantState, value: string): string {
  const recipient = findRecipient(tenant, value);
  if (recipient) return recipientAddress(recipient);
  if (isSmtpAddress(value) && !isInternalDomain(tenant, value)) return value;
  throw recipientNotFound(value);
}

/** `existing` is the rule `rule` replaces, when changing one. */
function checkUniqueName(tenant: TenantState, rule: EmulatedJournalRule, existing?: EmulatedJournalRule): void {
  const clash = tenant.journalRules.find((other) => other !== existing && other.Name.toLowerCase() === rule.Name.toLowerCase());
  if (clash) {
    throw new CmdletFailure("JournalRuleNameAlreadyExists", "System.ArgumentException", `A journal rule with the name "${rule.Name}" already exists.`);
  }
}

function scope(parameters: Record<string, unknown>): string | undefined {
  return optionalEnum(parameters, "Scope", "Microsoft.Exchange.MessagingPolicies.Journaling.JournalRuleScope", scopeValues);
}

function recipientFilter(tenant: TenantState, parameters: Record<string, unknown>): string | null | undefined {
  const value = optionalNullableString(parameters, "Recipient");
  if (value === undefined || value === null || value === "") return value === "" ? null : value;
  const recipient = findRecipient(tenant, value);
  if (recipient) return recipientAddress(recipient);
  if (!isSmtpAddress(value)) throw recipientNotFound(value);
  return value;
}

const getJournalRule: CmdletDefinition = {
  name: "Get-JournalRule",
  parameters: ["Identity"],
  handle(parameters, { tenant }) {
    const identity = lookupIdentity(parameters);
    const rules = identity === undefined ? tenant.journalRules : [requireJournalRule(tenant, identity)];
    return { value: rules.map((rule) => exchangeProperties({ ...rule })) };
  },
};

const newJournalRule: CmdletDefinition = {
  name: "New-JournalRule",
  parameters: ["Name", "JournalEmailAddress", "Scope", "Recipient", "Enabled", "Confirm"],
  handle(parameters, { tenant }) {
    const name = requiredString(parameters, "Name");
    requireJournalingNdrMailbox(tenant);
    const rule: EmulatedJournalRule = {
      Guid: randomUUID(),
      Identity: name,
      Name: name,
      JournalEmailAddress: journalAddress(tenant, requiredString(parameters, "JournalEmailAddress")),
      Scope: scope(parameters) ?? "Global",
      Recipient: recipientFilter(tenant, parameters) ?? null,
      // Exchange creates journal rules disabled unless -Enabled $true is given.
      Enabled: optionalBoolean(parameters, "Enabled") ?? false,
    };
    checkUniqueName(tenant, rule);
    tenant.journalRules.push(rule);
    return { value: [exchangeProperties({ ...rule })] };
  },
};

const setJournalRule: CmdletDefinition = {
  name: "Set-JournalRule",
  parameters: ["Identity", "Name", "JournalEmailAddress", "Scope", "Recipient", "Confirm"],
  handle(parameters, { tenant }) {
    const identity = requiredString(parameters, "Identity");
    const rule = requireJournalRule(tenant, identity);
    const name = optionalString(parameters, "Name");
    const address = optionalString(parameters, "JournalEmailAddress");
    const recipient = recipientFilter(tenant, parameters);
    const changed: EmulatedJournalRule = {
      ...rule,
      ...(name !== undefined ? { Name: name, Identity: name } : {}),
      ...(address !== undefined ? { JournalEmailAddress: journalAddress(tenant, address) } : {}),
      Scope: scope(parameters) ?? rule.Scope,
      Recipient: recipient === undefined ? rule.Recipient : recipient,
    };
    checkUniqueName(tenant, changed, rule);
    if (JSON.stringify(changed) === JSON.stringify(rule)) return { warnings: [noChangeWarning(identity)] };
    Object.assign(rule, changed);
    return {};
  },
};

function journalStateSetter(name: string, enabled: boolean): CmdletDefinition {
  return {
    name,
    parameters: ["Identity", "Confirm"],
    handle(parameters: Record<string, unknown>, { tenant }: CmdletContext) {
      requireJournalRule(tenant, requiredString(parameters, "Identity")).Enabled = enabled;
      return {};
    },
  };
}

const removeJournalRule: CmdletDefinition = {
  name: "Remove-JournalRule",
  parameters: ["Identity", "Confirm"],
  handle(parameters, { tenant }) {
    const rule = requireJournalRule(tenant, requiredString(parameters, "Identity"));
    tenant.journalRules = tenant.journalRules.filter((other) => other !== rule);
    return {};
  },
};

const getTransportConfig: CmdletDefinition = {
  name: "Get-TransportConfig",
  parameters: [],
  handle(_parameters, { tenant }) {
    return {
      value: [{ Identity: tenant.initialDomain, JournalingReportNdrTo: tenant.transportConfig.JournalingReportNdrTo ?? NULL_SENDER }],
    };
  },
};

const setTransportConfig: CmdletDefinition = {
  name: "Set-TransportConfig",
  parameters: ["JournalingReportNdrTo", "Confirm"],
  handle(parameters, { tenant }) {
    const value = optionalNullableString(parameters, "JournalingReportNdrTo");
    if (value === undefined) return { warnings: [noChangeWarning(tenant.initialDomain)] };
    const address = value === null || value === "" || value === NULL_SENDER ? null : smtpRecipient(tenant, value);
    if (address === tenant.transportConfig.JournalingReportNdrTo) return { warnings: [noChangeWarning(tenant.initialDomain)] };
    tenant.transportConfig.JournalingReportNdrTo = address;
    return {};
  },
};

export const journalCmdlets: CmdletDefinition[] = [
  getJournalRule,
  newJournalRule,
  setJournalRule,
  journalStateSetter("Enable-JournalRule", true),
  journalStateSetter("Disable-JournalRule", false),
  removeJournalRule,
  getTransportConfig,
  setTransportConfig,
];
