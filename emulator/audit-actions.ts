/**
 * Exchange Online's mailbox audit actions: which are valid per logon type, Microsoft's managed default sets
 * (as shown by Get-Mailbox for E3- and E5-licensed mailboxes) and the fixed Microsoft 365 Group mailbox set.
 * Sources: /work/shared/reference/exchange-online.md §2 and Microsoft's "Manage mailbox auditing" page.
 */
import type { LogonType, RecipientTypeDetails } from "./tenant-state";

export const LOGON_TYPES: readonly LogonType[] = ["Admin", "Delegate", "Owner"];

/**
 * Exchange's MailboxAuditOperations flags in declaration order. Exchange lists a mailbox's actions in this
 * order whatever order they were set in, so the emulator stores them the same way.
 */
const OPERATION_ORDER = [
  "Update",
  "Copy",
  "Move",
  "MoveToDeletedItems",
  "SoftDelete",
  "HardDelete",
  "FolderBind",
  "SendAs",
  "SendOnBehalf",
  "MessageBind",
  "Create",
  "MailboxLogin",
  "UpdateFolderPermissions",
  "AddFolderPermissions",
  "ModifyFolderPermissions",
  "RemoveFolderPermissions",
  "UpdateInboxRules",
  "UpdateCalendarDelegation",
  "RecordDelete",
  "ApplyRecord",
  "MailItemsAccessed",
  "UpdateComplianceTag",
  "Send",
  "SearchQueryInitiated",
] as const;

const orderIndex = new Map<string, number>(OPERATION_ORDER.map((name, index) => [name.toLowerCase(), index]));

/** Actions the cloud accepts per logon type (MessageBind is handled separately: deprecated). */
export const VALID_ACTIONS: Readonly<Record<LogonType, readonly string[]>> = {
  Admin: sortActions([
    "ApplyRecord",
    "Copy",
    "Create",
    "FolderBind",
    "HardDelete",
    "MailItemsAccessed",
    "Move",
    "MoveToDeletedItems",
    "RecordDelete",
    "Send",
    "SendAs",
    "SendOnBehalf",
    "SoftDelete",
    "Update",
    "UpdateCalendarDelegation",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
  Delegate: sortActions([
    "ApplyRecord",
    "Create",
    "FolderBind",
    "HardDelete",
    "MailItemsAccessed",
    "Move",
    "MoveToDeletedItems",
    "RecordDelete",
    "SendAs",
    "SendOnBehalf",
    "SoftDelete",
    "Update",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
  Owner: sortActions([
    "ApplyRecord",
    "Create",
    "HardDelete",
    "MailboxLogin",
    "MailItemsAccessed",
    "Move",
    "MoveToDeletedItems",
    "RecordDelete",
    "SearchQueryInitiated",
    "Send",
    "SoftDelete",
    "Update",
    "UpdateCalendarDelegation",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
};

/** Actions that need the Audit (Premium) plan on the mailbox's account. */
/** Microsoft's default AuditLogAgeLimit for every mailbox. */
export const DEFAULT_AUDIT_LOG_AGE_LIMIT = "90.00:00:00";

export const PREMIUM_ACTIONS: readonly string[] = ["MailItemsAccessed", "Send", "SearchQueryInitiated"];

const standardDefaults: Record<LogonType, readonly string[]> = {
  Admin: freezeSorted([
    "ApplyRecord",
    "Create",
    "HardDelete",
    "MoveToDeletedItems",
    "SendAs",
    "SendOnBehalf",
    "SoftDelete",
    "Update",
    "UpdateCalendarDelegation",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
  Delegate: freezeSorted([
    "ApplyRecord",
    "Create",
    "HardDelete",
    "MoveToDeletedItems",
    "SendAs",
    "SendOnBehalf",
    "SoftDelete",
    "Update",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
  Owner: freezeSorted([
    "ApplyRecord",
    "HardDelete",
    "MoveToDeletedItems",
    "SoftDelete",
    "Update",
    "UpdateCalendarDelegation",
    "UpdateFolderPermissions",
    "UpdateInboxRules",
  ]),
};

// E5 (Audit Premium) mailboxes additionally get MailItemsAccessed on every logon type and Send for Admin and Owner.
const premiumDefaults: Record<LogonType, readonly string[]> = {
  Admin: freezeSorted([...standardDefaults.Admin, "MailItemsAccessed", "Send"]),
  Delegate: freezeSorted([...standardDefaults.Delegate, "MailItemsAccessed"]),
  Owner: freezeSorted([...standardDefaults.Owner, "MailItemsAccessed", "Send"]),
};

const groupMailboxActions: Record<LogonType, readonly string[]> = {
  Admin: freezeSorted(["Create", "HardDelete", "MoveToDeletedItems", "SendAs", "SendOnBehalf", "SoftDelete", "Update"]),
  Delegate: freezeSorted([
    "Create",
    "HardDelete",
    "MoveToDeletedItems",
    "SendAs",
    "SendOnBehalf",
    "SoftDelete",
    "Update",
  ]),
  Owner: freezeSorted(["HardDelete", "MoveToDeletedItems", "SoftDelete", "Update"]),
};

/**
 * Microsoft's managed default set for a logon type. The arrays are frozen and shared between mailboxes
 * (the generator builds 100,000 of them); handlers replace a mailbox's list, they never mutate it.
 */
export function defaultAuditActions(
  logonType: LogonType,
  recipientTypeDetails: RecipientTypeDetails,
  auditPremiumLicensed: boolean,
): string[] {
  const sets =
    recipientTypeDetails === "GroupMailbox"
      ? groupMailboxActions
      : auditPremiumLicensed
        ? premiumDefaults
        : standardDefaults;
  return sets[logonType] as string[];
}

/** The canonical casing of an action name, or undefined when Exchange has no such action. */
export function canonicalAction(name: string): string | undefined {
  const index = orderIndex.get(name.trim().toLowerCase());
  return index === undefined ? undefined : OPERATION_ORDER[index];
}

/** De-duplicates and orders actions as Exchange lists them. Names must already be canonical. */
export function sortActions(actions: Iterable<string>): string[] {
  return [...new Set(actions)].sort(
    (a, b) => (orderIndex.get(a.toLowerCase()) ?? 0) - (orderIndex.get(b.toLowerCase()) ?? 0),
  );
}

function freezeSorted(actions: string[]): readonly string[] {
  return Object.freeze(sortActions(actions));
}
