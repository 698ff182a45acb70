import type { ObservedMailbox } from "../../shared/audit/observed";
import baselineDocument from "../../policy/audit-baseline.v1.json";
import { parseAuditPolicy, type AuditPolicy, type BypassExemption } from "../../shared/audit/policy";

/** Microsoft's default audit set for a new E3/E5 user mailbox (no MessageBind, no RecordDelete for Owner…). */
export const MICROSOFT_DEFAULT = {
  AuditAdmin: ["Update", "MoveToDeletedItems", "SoftDelete", "HardDelete", "SendAs", "SendOnBehalf", "Create", "UpdateCalendarDelegation", "UpdateFolderPermissions", "UpdateInboxRules", "ApplyRecord"],
  AuditDelegate: ["Update", "MoveToDeletedItems", "SoftDelete", "HardDelete", "SendAs", "SendOnBehalf", "Create", "UpdateFolderPermissions", "UpdateInboxRules", "ApplyRecord"],
  AuditOwner: ["Update", "MoveToDeletedItems", "SoftDelete", "HardDelete", "UpdateCalendarDelegation", "UpdateFolderPermissions", "UpdateInboxRules", "ApplyRecord"],
};

export const GROUP_FIXED_SET = {
  AuditAdmin: ["Create", "HardDelete", "MoveToDeletedItems", "SendAs", "SendOnBehalf", "SoftDelete", "Update"],
  AuditDelegate: ["Create", "HardDelete", "MoveToDeletedItems", "SendAs", "SendOnBehalf", "SoftDelete", "Update"],
  AuditOwner: ["HardDelete", "MoveToDeletedItems", "SoftDelete", "Update"],
};

let sequence = 0;

export function mailbox(overrides: Partial<ObservedMailbox> = {}): ObservedMailbox {
  sequence += 1;
  const id = `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`;
  return {
    ExternalDirectoryObjectId: id,
    Guid: `11111111-0000-4000-8000-${String(sequence).padStart(12, "0")}`,
    PrimarySmtpAddress: `user${sequence}@contoso.com`,
    UserPrincipalName: `user${sequence}@contoso.com`,
    DisplayName: `User ${sequence}`,
    RecipientTypeDetails: "UserMailbox",
    AuditEnabled: true,
    AuditLogAgeLimit: "90.00:00:00",
    ...MICROSOFT_DEFAULT,
    DefaultAuditSet: ["Admin", "Delegate", "Owner"],
    WhenChangedUTC: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

export function groupMailbox(overrides: Partial<ObservedMailbox> = {}): ObservedMailbox {
  return mailbox({ RecipientTypeDetails: "GroupMailbox", ...GROUP_FIXED_SET, ...overrides });
}

/**
 * The shipped policy document as plain JSON (literals widened), so a test can also make it invalid. Its
 * allow-list is empty in the file, which TypeScript would otherwise type as `never[]`.
 */
export type PolicyDocument = Omit<typeof baselineDocument, "bypass"> & { bypass: { allowList: BypassExemption[] } };

/** The shipped policy, optionally edited before validation. */
export function policy(edit: (document: PolicyDocument) => void = () => {}): AuditPolicy {
  const document: PolicyDocument = structuredClone(baselineDocument);
  edit(document);
  return parseAuditPolicy(document);
}
