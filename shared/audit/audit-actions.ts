/**
 * What Exchange Online accepts for mailbox auditing (reference: exchange-online.md §2). This is knowledge about
 * the service, not policy: the policy (policy/*.json) says what we want, this table says what can be sent.
 */

export const LOGON_TYPES = ["Admin", "Delegate", "Owner"] as const;
export type LogonType = (typeof LOGON_TYPES)[number];

/** The Set-Mailbox / Get-Mailbox property holding each logon type's audited actions. */
export const AUDIT_PROPERTY: Readonly<Record<LogonType, "AuditAdmin" | "AuditDelegate" | "AuditOwner">> = {
  Admin: "AuditAdmin",
  Delegate: "AuditDelegate",
  Owner: "AuditOwner",
};

/** Actions Exchange Online accepts per logon type; anything else is rejected ("Invalid audit operation specified"). */
export const VALID_ACTIONS: Readonly<Record<LogonType, ReadonlySet<string>>> = {
  Admin: new Set([
    "ApplyRecord", "Copy", "Create", "FolderBind", "HardDelete", "MailItemsAccessed", "Move", "MoveToDeletedItems",
    "RecordDelete", "Send", "SendAs", "SendOnBehalf", "SoftDelete", "Update", "UpdateCalendarDelegation",
    "UpdateFolderPermissions", "UpdateInboxRules",
  ]),
  Delegate: new Set([
    "ApplyRecord", "Create", "FolderBind", "HardDelete", "MailItemsAccessed", "Move", "MoveToDeletedItems",
    "RecordDelete", "SendAs", "SendOnBehalf", "SoftDelete", "Update", "UpdateFolderPermissions", "UpdateInboxRules",
  ]),
  Owner: new Set([
    "ApplyRecord", "Create", "HardDelete", "MailboxLogin", "MailItemsAccessed", "Move", "MoveToDeletedItems",
    "RecordDelete", "SearchQueryInitiated", "Send", "SoftDelete", "Update", "UpdateCalendarDelegation",
    "UpdateFolderPermissions", "UpdateInboxRules",
  ]),
};

/** Deprecated actions and their successors: recent tenants reject the old name. */
export const SUBSTITUTIONS: ReadonlyMap<string, string> = new Map([["MessageBind", "MailItemsAccessed"]]);

/** Actions that need the Audit (Premium) plan (`M365_ADVANCED_AUDITING`) on the mailbox's account. */
export const LICENCE_GATED_ACTIONS: ReadonlySet<string> = new Set(["MailItemsAccessed", "Send", "SearchQueryInitiated"]);

/** Exchange's rejection of an Add of an action the mailbox already audits (lower-cased). */
export const ALREADY_AUDITED_TEXT = "is/are already being audited";
/** Text Exchange returns when a gated action is set on a mailbox without the licence. */
export const LICENCE_REJECTION_TEXT = "only available for users with appropriate license";

/** Whether an action name is acceptable in a policy list for a logon type (valid, or a known deprecated name). */
export function isPolicyAction(logonType: LogonType, action: string): boolean {
  return VALID_ACTIONS[logonType].has(action) || SUBSTITUTIONS.has(action);
}
