/**
 * Pure diffs of observed Exchange state against the audit baseline. No awaits, no logging, no clock: every input
 * (policy, observed state, licence knowledge, the time) is a parameter, so these are tested with tables of cases.
 */
import type { Finding } from "../domain/outcome";
import { hashtable, type CmdletRequest } from "../exchange/transport";
import {
  AUDIT_PROPERTY,
  LICENCE_GATED_ACTIONS,
  LOGON_TYPES,
  SUBSTITUTIONS,
  type LogonType,
} from "./audit-actions";
import type { AuditPolicy, BypassExemption } from "./policy";
import {
  mailboxTargetId,
  mailboxWriteIdentity,
  type ObservedBypass,
  type ObservedMailbox,
  type ObservedOrganization,
} from "./observed";

export const GROUP_MAILBOX = "GroupMailbox";
const SECONDS_PER_DAY = 86_400;

/** Parses Exchange's `[d.]hh:mm:ss[.fffffff]` time span into seconds; undefined when unreadable. */
export function parseTimeSpanInSeconds(value: string): number | undefined {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(value.trim());
  if (!match) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return Number(days ?? 0) * SECONDS_PER_DAY + Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** `180` -> `180.00:00:00`. */
export function formatDaysAsTimeSpan(days: number): string {
  return `${days}.00:00:00`;
}

export interface MailboxDiff {
  readonly targetId: string;
  readonly displayName: string;
  readonly recipientType: string;
  readonly before: Readonly<Record<string, unknown>>;
  readonly findings: readonly Finding[];
  /** The one Set-Mailbox carrying every change; absent when nothing writable drifted. */
  readonly change?: CmdletRequest;
  /**
   * The same Set-Mailbox without licence-gated actions, for a single retry when Exchange rejects the licence
   * anyway; undefined when the change carries no gated action, `null` when nothing would be left to send.
   */
  readonly licenceFallback?: CmdletRequest | null;
  /** Drift that the engine must not or cannot write (group mailbox actions): reported, never remediated. */
  readonly reportOnlyDrift: boolean;
}

export interface MailboxDiffOptions {
  /** Whether the mailbox's account holds Audit (Premium); undefined = unknown, treated as not licensed. */
  readonly licensed?: boolean;
}

function sameAction(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function includesAction(list: readonly string[], action: string): boolean {
  return list.some((entry) => sameAction(entry, action));
}

/** A list's actions for repeated membership tests (case-insensitive, as `sameAction`): one pass instead of one per test. */
function actionsOf(list: readonly string[]): { has(action: string): boolean } {
  const lowered = new Set(list.map((action) => action.toLowerCase()));
  return { has: (action) => lowered.has(action.toLowerCase()) };
}

function mailboxBefore(mailbox: ObservedMailbox): Record<string, unknown> {
  return {
    AuditEnabled: mailbox.AuditEnabled,
    AuditLogAgeLimit: mailbox.AuditLogAgeLimit,
    AuditAdmin: mailbox.AuditAdmin,
    AuditDelegate: mailbox.AuditDelegate,
    AuditOwner: mailbox.AuditOwner,
    DefaultAuditSet: mailbox.DefaultAuditSet,
    // Exchange's stamp of the last change: two reads with the same settings and stamp saw the same state.
    ...(mailbox.WhenChangedUTC ? { WhenChangedUTC: mailbox.WhenChangedUTC } : {}),
  };
}

/** A policy list resolved: deprecated names replaced by their successors, duplicates removed, and what was replaced. */
interface ResolvedActions {
  readonly actions: readonly string[];
  readonly substitutions: readonly (readonly [deprecated: string, successor: string])[];
}

/** By the policy's list (parsed once, shared by every mailbox), so each list is resolved once per run, not per mailbox. */
const resolvedLists = new WeakMap<readonly string[], ResolvedActions>();

function resolveActions(actions: readonly string[]): ResolvedActions {
  const cached = resolvedLists.get(actions);
  if (cached) return cached;
  const resolved: string[] = [];
  const substitutions: (readonly [string, string])[] = [];
  for (const action of actions) {
    const successor = SUBSTITUTIONS.get(action);
    if (successor !== undefined) substitutions.push([action, successor]);
    const effective = successor ?? action;
    if (!includesAction(resolved, effective)) resolved.push(effective);
  }
  const result = { actions: resolved, substitutions };
  resolvedLists.set(actions, result);
  return result;
}

/** Resolves a policy list (`resolveActions`); each replacement is reported. */
function resolvePolicyActions(logonType: LogonType, actions: readonly string[], findings: Finding[]): readonly string[] {
  const resolved = resolveActions(actions);
  for (const [action, successor] of resolved.substitutions) {
    findings.push({
      kind: "substitution",
      setting: AUDIT_PROPERTY[logonType],
      current: action,
      desired: successor,
      message: `${action} is deprecated in Exchange Online; ${successor} is audited instead`,
    });
  }
  return resolved.actions;
}

function diffAgeLimit(policy: AuditPolicy, mailbox: ObservedMailbox, findings: Finding[], parameters: Record<string, unknown>): void {
  const minimumInSeconds = policy.mailboxes.minimumAuditLogAgeInDays * SECONDS_PER_DAY;
  const currentInSeconds = parseTimeSpanInSeconds(mailbox.AuditLogAgeLimit);
  if (currentInSeconds !== undefined && currentInSeconds >= minimumInSeconds) return;
  const desired = formatDaysAsTimeSpan(policy.mailboxes.minimumAuditLogAgeInDays);
  findings.push({
    kind: "drift",
    setting: "AuditLogAgeLimit",
    current: mailbox.AuditLogAgeLimit,
    desired,
    message: `Audit records are kept less than the ${policy.mailboxes.minimumAuditLogAgeInDays}-day minimum`,
  });
  parameters["AuditLogAgeLimit"] = desired;
}

function diffGroupMailbox(policy: AuditPolicy, mailbox: ObservedMailbox): MailboxDiff {
  const findings: Finding[] = [];
  const parameters: Record<string, unknown> = {};
  let reportOnlyDrift = false;
  if (!mailbox.AuditEnabled) {
    reportOnlyDrift = true;
    findings.push({
      kind: "drift",
      setting: "AuditEnabled",
      current: false,
      desired: true,
      message: "Group mailbox shows AuditEnabled=false; group mailboxes rely on organisation auditing and are not written",
    });
  }
  diffAgeLimit(policy, mailbox, findings, parameters);
  for (const logonType of LOGON_TYPES) {
    const property = AUDIT_PROPERTY[logonType];
    const current = actionsOf(mailbox[property]);
    const missing = policy.groupMailboxes.expectedActions[logonType].filter((action) => !current.has(action));
    if (missing.length === 0) continue;
    reportOnlyDrift = true;
    findings.push({
      kind: "drift",
      setting: property,
      current: mailbox[property],
      desired: policy.groupMailboxes.expectedActions[logonType],
      message: `Group mailbox lacks ${missing.join(", ")} from Microsoft's fixed set; group audit actions cannot be customised (reported only)`,
    });
  }
  return {
    ...mailboxIdentityFields(mailbox),
    before: mailboxBefore(mailbox),
    findings,
    reportOnlyDrift,
    ...(Object.keys(parameters).length > 0
      ? { change: setMailbox(mailbox, { GroupMailbox: true, ...parameters }) }
      : {}),
  };
}

function mailboxIdentityFields(mailbox: ObservedMailbox): Pick<MailboxDiff, "targetId" | "displayName" | "recipientType"> {
  return {
    targetId: mailboxTargetId(mailbox),
    displayName: mailbox.PrimarySmtpAddress || mailbox.DisplayName || mailboxTargetId(mailbox),
    recipientType: mailbox.RecipientTypeDetails,
  };
}

function setMailbox(mailbox: ObservedMailbox, parameters: Record<string, unknown>): CmdletRequest {
  return { cmdlet: "Set-Mailbox", parameters: { Identity: mailboxWriteIdentity(mailbox), ...parameters } };
}

/**
 * Diffs one mailbox. User/shared mailboxes (the policy's `actionRecipientTypes`) get AuditEnabled, the age limit
 * and the action lists; other mailbox types get AuditEnabled and the age limit; group mailboxes get the age limit
 * written and everything else verified and reported only.
 */
export function diffMailbox(policy: AuditPolicy, mailbox: ObservedMailbox, options: MailboxDiffOptions = {}): MailboxDiff {
  if (mailbox.RecipientTypeDetails === GROUP_MAILBOX) return diffGroupMailbox(policy, mailbox);

  const findings: Finding[] = [];
  const parameters: Record<string, unknown> = {};
  const fallbackParameters: Record<string, unknown> = {};
  let carriesGatedAction = false;

  if (!mailbox.AuditEnabled) {
    findings.push({ kind: "drift", setting: "AuditEnabled", current: false, desired: true, message: "Mailbox auditing is off" });
    parameters["AuditEnabled"] = true;
  }
  diffAgeLimit(policy, mailbox, findings, parameters);
  Object.assign(fallbackParameters, parameters);

  const customisedByChange: LogonType[] = [];
  if (policy.mailboxes.actionRecipientTypes.includes(mailbox.RecipientTypeDetails)) {
    for (const logonType of LOGON_TYPES) {
      const property = AUDIT_PROPERTY[logonType];
      const current = mailbox[property];
      const audited = actionsOf(current);
      const desired = resolvePolicyActions(logonType, policy.mailboxes.actions[logonType], findings);
      const ungranted = options.licensed === true
        ? []
        : desired.filter((action) => LICENCE_GATED_ACTIONS.has(action) && !audited.has(action));
      if (ungranted.length > 0) {
        findings.push({
          kind: "licence-gap",
          setting: property,
          current,
          desired: ungranted,
          message: `${ungranted.join(", ")} need Audit (Premium); the mailbox's account ${options.licensed === false ? "does not hold it" : "is not known to hold it"}`,
        });
      }
      const withheld = actionsOf(ungranted);
      const writable = desired.filter((action) => !withheld.has(action));
      const missing = writable.filter((action) => !audited.has(action));
      const wanted = actionsOf(writable);
      const extras = current.filter((action) => !wanted.has(action));
      const replace = policy.mailboxes.exactLists && extras.length > 0;
      if (missing.length === 0 && !replace) continue;

      findings.push({
        kind: "drift",
        setting: property,
        current,
        desired: writable,
        message: replace
          ? `${property} differs from the policy's exact list (missing: ${missing.join(", ") || "none"}; extra: ${extras.join(", ")})`
          : `${property} lacks ${missing.join(", ")}`,
      });
      parameters[property] = replace ? writable : hashtable({ add: missing });
      const ungatedMissing = missing.filter((action) => !LICENCE_GATED_ACTIONS.has(action));
      if (ungatedMissing.length !== missing.length) carriesGatedAction = true;
      // Exact replacement keeps gated actions already audited so a licence retry never removes them.
      const fallbackList = writable.filter((action) => !LICENCE_GATED_ACTIONS.has(action) || audited.has(action));
      if (replace) fallbackParameters[property] = fallbackList;
      else if (ungatedMissing.length > 0) fallbackParameters[property] = hashtable({ add: ungatedMissing });
      if (includesAction(mailbox.DefaultAuditSet, logonType)) customisedByChange.push(logonType);
    }
  }

  const alreadyCustom = LOGON_TYPES.filter((logonType) => !includesAction(mailbox.DefaultAuditSet, logonType));
  if (alreadyCustom.length > 0 || customisedByChange.length > 0) {
    const parts: string[] = [];
    if (alreadyCustom.length > 0) parts.push(`${alreadyCustom.join(", ")} no longer follow Microsoft's default audit set`);
    if (customisedByChange.length > 0) {
      parts.push(`adding the policy's actions takes ${customisedByChange.join(", ")} off the default set, so actions Microsoft adds later will not apply to them`);
    }
    findings.push({
      kind: "custom-audit-set",
      setting: "DefaultAuditSet",
      current: mailbox.DefaultAuditSet,
      desired: LOGON_TYPES.filter((logonType) => includesAction(mailbox.DefaultAuditSet, logonType) && !customisedByChange.includes(logonType)),
      message: parts.join("; "),
    });
  }

  const base = { ...mailboxIdentityFields(mailbox), before: mailboxBefore(mailbox), findings, reportOnlyDrift: false };
  if (Object.keys(parameters).length === 0) return base;
  const change = setMailbox(mailbox, parameters);
  if (!carriesGatedAction) return { ...base, change };
  return {
    ...base,
    change,
    licenceFallback: Object.keys(fallbackParameters).length > 0 ? setMailbox(mailbox, fallbackParameters) : null,
  };
}

/** Whether a diff shows drift that the engine would write (the verify criterion: none left after apply). */
export function hasWritableDrift(diff: MailboxDiff): boolean {
  return diff.change !== undefined;
}

export interface OrganizationDiff {
  readonly before: Readonly<Record<string, unknown>>;
  readonly findings: readonly Finding[];
  /** Set-OrganizationConfig and/or Set-AdminAuditLogConfig, only for drifted settings. */
  readonly changes: readonly CmdletRequest[];
}

export function diffOrganization(policy: AuditPolicy, observed: ObservedOrganization): OrganizationDiff {
  const findings: Finding[] = [];
  const changes: CmdletRequest[] = [];
  if (observed.AuditDisabled !== policy.organization.auditDisabled) {
    findings.push({
      kind: "drift",
      setting: "AuditDisabled",
      current: observed.AuditDisabled,
      desired: policy.organization.auditDisabled,
      message: "Mailbox auditing is disabled for the whole organisation, whatever mailboxes say",
    });
    changes.push({ cmdlet: "Set-OrganizationConfig", parameters: { AuditDisabled: policy.organization.auditDisabled } });
  }
  if (observed.UnifiedAuditLogIngestionEnabled !== policy.organization.unifiedAuditLogIngestionEnabled) {
    findings.push({
      kind: "drift",
      setting: "UnifiedAuditLogIngestionEnabled",
      current: observed.UnifiedAuditLogIngestionEnabled,
      desired: policy.organization.unifiedAuditLogIngestionEnabled,
      message: "Unified audit log ingestion is off: mailbox audit records do not reach the audit log",
    });
    changes.push({
      cmdlet: "Set-AdminAuditLogConfig",
      parameters: { UnifiedAuditLogIngestionEnabled: policy.organization.unifiedAuditLogIngestionEnabled },
    });
  }
  return {
    before: { AuditDisabled: observed.AuditDisabled, UnifiedAuditLogIngestionEnabled: observed.UnifiedAuditLogIngestionEnabled },
    findings,
    changes,
  };
}

export interface BypassDiff {
  readonly targetId: string;
  readonly displayName: string;
  readonly status: "compliant" | "drift" | "exempt";
  readonly before: Readonly<Record<string, unknown>>;
  readonly findings: readonly Finding[];
  readonly change?: CmdletRequest;
}

function activeExemption(allowList: readonly BypassExemption[], identity: string, now: Date): BypassExemption | undefined {
  return allowList.find((exemption) => {
    if (exemption.identity.toLowerCase() !== identity.toLowerCase()) return false;
    if (exemption.expiresOn === undefined) return true;
    // A date-only expiry lasts to the end of that day (UTC).
    const expiresAt = exemption.expiresOn.length === 10 ? `${exemption.expiresOn}T23:59:59.999Z` : exemption.expiresOn;
    return now.getTime() <= new Date(expiresAt).getTime();
  });
}

/** Diffs one audit bypass association; `now` decides whether an allow-list exemption has expired. */
export function diffBypass(policy: AuditPolicy, association: ObservedBypass, now: Date): BypassDiff {
  const base = {
    targetId: association.Identity,
    displayName: association.Name || association.Identity,
    before: { AuditBypassEnabled: association.AuditBypassEnabled },
  };
  if (!association.AuditBypassEnabled) return { ...base, status: "compliant", findings: [] };
  const exemption = activeExemption(policy.bypass.allowList, association.Identity, now);
  if (exemption) {
    return {
      ...base,
      status: "exempt",
      findings: [{ kind: "exemption", setting: "AuditBypassEnabled", current: true, message: `Allow-listed: ${exemption.reason}` }],
    };
  }
  return {
    ...base,
    status: "drift",
    findings: [{
      kind: "drift",
      setting: "AuditBypassEnabled",
      current: true,
      desired: false,
      message: "The account bypasses mailbox auditing: its access to any mailbox is not audited",
    }],
    change: {
      cmdlet: "Set-MailboxAuditBypassAssociation",
      parameters: { Identity: association.Guid || association.Identity, AuditBypassEnabled: false },
    },
  };
}
