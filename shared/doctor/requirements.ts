/**
 * What the product needs granted in a tenant, as data (docs/deployment.md §2): the application permissions its
 * tokens must carry and the Exchange cmdlets and parameters its writes use, each with the built-in role the tenant
 * setup grants for it. Pure: derived from the capture settings only.
 */
import type { CaptureSettings } from "../capture/settings";

export const EXCHANGE_MANAGE_AS_APP = "Exchange.ManageAsApp";

export interface PermissionRequirement {
  readonly permission: string;
  /** What the product uses it for. */
  readonly usedFor: string;
  /** Higher-privileged permissions that also allow it (granted instead, they satisfy the check). */
  readonly alsoSatisfiedBy: readonly string[];
  /** Added to the fix when it is missing, e.g. the setting that makes it unnecessary. */
  readonly otherwise?: string;
}

export interface RoleRequirement {
  readonly cmdlet: string;
  readonly parameters: readonly string[];
  /** The built-in role the tenant setup grants for it. */
  readonly role: string;
}

const USER_READ: PermissionRequirement = {
  permission: "User.Read.All",
  usedFor: "users/delta and users/{id} (Audit Premium licences)",
  alsoSatisfiedBy: ["User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
};
const ORGANIZATION_READ: PermissionRequirement = {
  permission: "Organization.Read.All",
  usedFor: "subscribedSkus (does the tenant own Audit Premium)",
  alsoSatisfiedBy: ["Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
};
const GROUP_MEMBER_READ: PermissionRequirement = {
  permission: "GroupMember.Read.All",
  usedFor: "the capture access group and its members",
  alsoSatisfiedBy: ["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
};
const ENABLE_DISABLE_ACCOUNT: PermissionRequirement = {
  permission: "User.EnableDisableAccount.All",
  usedFor: "blocking sign-in of the capture mailbox's account",
  alsoSatisfiedBy: ["User.ReadWrite.All", "Directory.ReadWrite.All"],
};

/**
 * The Purview Audit Search API (Graph v1.0 `security/auditLog/queries`): the least privileged permission that reads
 * Exchange's audit records; `AuditLogsQuery.Read.All` (every service's audit log) also allows it.
 */
export const AUDIT_LOG_QUERY_PERMISSION = "AuditLogsQuery-Exchange.Read.All";

const AUDIT_LOG_QUERY: PermissionRequirement = {
  permission: AUDIT_LOG_QUERY_PERMISSION,
  usedFor: "the audit-log evidence: Purview audit searches for the admin records of the product's changes and for mailbox audit records",
  alsoSatisfiedBy: ["AuditLogsQuery.Read.All"],
  otherwise: "or set AUDIT_EVIDENCE=off to run without the audit-log evidence",
};

/**
 * Graph application permissions the product needs with this configuration. `Mail.Send` never: alert mail uses
 * Exchange RBAC for Applications.
 */
export function requiredGraphPermissions(
  capture: CaptureSettings | undefined,
  options: { readonly auditEvidence: boolean },
): PermissionRequirement[] {
  const always = [USER_READ, ORGANIZATION_READ, ...(options.auditEvidence ? [AUDIT_LOG_QUERY] : [])];
  return capture?.mode === "transport-rules" ? [...always, GROUP_MEMBER_READ, ENABLE_DISABLE_ACCOUNT] : always;
}

const AUDIT_ROLES: readonly RoleRequirement[] = [
  {
    cmdlet: "Set-Mailbox",
    parameters: ["AuditEnabled", "AuditAdmin", "AuditDelegate", "AuditOwner", "AuditLogAgeLimit", "DefaultAuditSet"],
    role: "Audit Logs",
  },
  { cmdlet: "Set-MailboxAuditBypassAssociation", parameters: ["AuditBypassEnabled"], role: "Audit Logs" },
  { cmdlet: "Set-AdminAuditLogConfig", parameters: ["UnifiedAuditLogIngestionEnabled"], role: "Audit Logs" },
  { cmdlet: "Set-OrganizationConfig", parameters: ["AuditDisabled"], role: "Organization Configuration" },
  { cmdlet: "Enable-OrganizationCustomization", parameters: [], role: "Organization Configuration" },
];

const TRANSPORT_RULE_ROLES: readonly RoleRequirement[] = [
  { cmdlet: "Set-Mailbox", parameters: ["HiddenFromAddressListsEnabled"], role: "Mail Recipients" },
  { cmdlet: "Add-MailboxPermission", parameters: ["AccessRights", "AutoMapping"], role: "Mail Recipients" },
  { cmdlet: "Remove-MailboxPermission", parameters: ["AccessRights"], role: "Mail Recipients" },
  ...["New-TransportRule", "Set-TransportRule", "Enable-TransportRule", "Remove-TransportRule"].map((cmdlet) => ({
    cmdlet,
    parameters: [],
    role: "Transport Rules",
  })),
];

const JOURNALING_ROLES: readonly RoleRequirement[] = [
  ...["New-JournalRule", "Set-JournalRule", "Enable-JournalRule"].map((cmdlet) => ({ cmdlet, parameters: [], role: "Journaling" })),
  { cmdlet: "Set-TransportConfig", parameters: ["JournalingReportNdrTo"], role: "Journaling" },
];

/** The write cmdlets (and parameters) the product runs with this configuration. */
export function requiredExchangeRoles(capture: CaptureSettings | undefined): RoleRequirement[] {
  if (capture?.mode === "journaling") return [...AUDIT_ROLES, ...JOURNALING_ROLES];
  if (capture?.mode !== "transport-rules") return [...AUDIT_ROLES];
  const create = capture.captureMailbox?.createIfMissing
    ? [{ cmdlet: "New-Mailbox", parameters: ["Shared"], role: "Mail Recipient Creation" }]
    : [];
  return [...AUDIT_ROLES, ...create, ...TRANSPORT_RULE_ROLES];
}
