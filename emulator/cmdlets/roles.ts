/**
 * Exchange RBAC, read-only: which built-in management roles hold which cmdlets and parameters, the app's role
 * assignments (through the product's role group), and the cmdlets that read them (`Get-ManagementRole`,
 * `Get-ManagementRoleAssignment`). A cmdlet outside the caller's roles does not exist for it: Exchange answers as
 * for an unknown cmdlet (`rbacRefusal`).
 *
 * The role map is a model of the built-in roles, limited to the cmdlets the product runs; it is not Exchange's
 * complete role definition.
 */
import { CmdletFailure, notFound, type CmdletContext, type CmdletDefinition } from "../cmdlet";
import { PRODUCT_EXCHANGE_ROLES, PRODUCT_ROLE_GROUP } from "../app-permissions";
import type { TenantState } from "../tenant-state";
import { optionalBoolean, optionalString, optionalStringList } from "./capture-parameters";

/** Every parameter of the cmdlet. */
const ALL = "*";

type RoleEntries = Readonly<Record<string, readonly string[] | typeof ALL>>;

const AUDIT_MAILBOX_PARAMETERS = ["Identity", "GroupMailbox", "AuditEnabled", "AuditAdmin", "AuditDelegate", "AuditOwner", "AuditLogAgeLimit", "DefaultAuditSet"];

/** Built-in roles: cmdlet -> the parameters the role holds. */
const BUILT_IN_ROLES: Readonly<Record<string, RoleEntries>> = {
  "View-Only Recipients": {
    "Get-Mailbox": ALL,
    "Get-MailboxStatistics": ALL,
    "Get-MailboxPermission": ALL,
    "Get-Recipient": ALL,
    "Get-DistributionGroup": ALL,
  },
  "View-Only Configuration": {
    "Get-OrganizationConfig": ALL,
    "Get-AdminAuditLogConfig": ALL,
    "Get-MailboxAuditBypassAssociation": ALL,
    "Get-TransportRule": ALL,
    "Get-JournalRule": ALL,
    "Get-TransportConfig": ALL,
    "Get-ManagementRole": ALL,
    "Get-ManagementRoleAssignment": ALL,
  },
  "Role Management": {
    "Get-ManagementRole": ALL,
    "Get-ManagementRoleAssignment": ALL,
  },
  "Audit Logs": {
    "Set-Mailbox": [...AUDIT_MAILBOX_PARAMETERS, "Confirm", "Force"],
    "Get-MailboxAuditBypassAssociation": ALL,
    "Set-MailboxAuditBypassAssociation": ["Identity", "AuditBypassEnabled", "Confirm"],
    "Get-AdminAuditLogConfig": ALL,
    "Set-AdminAuditLogConfig": ["UnifiedAuditLogIngestionEnabled", "Force", "Confirm"],
  },
  "Organization Configuration": {
    "Get-OrganizationConfig": ALL,
    "Set-OrganizationConfig": ALL,
    "Enable-OrganizationCustomization": ALL,
  },
  "Mail Recipient Creation": {
    "New-Mailbox": ALL,
    "New-MailContact": ALL,
  },
  "Mail Recipients": {
    "Get-Mailbox": ALL,
    "Set-Mailbox": ["Identity", "HiddenFromAddressListsEnabled", "DisplayName", "Confirm", "Force"],
    "Get-MailboxStatistics": ALL,
    "Get-MailboxPermission": ALL,
    "Add-MailboxPermission": ALL,
    "Remove-MailboxPermission": ALL,
  },
  "Transport Rules": {
    "Get-TransportRule": ALL,
    "New-TransportRule": ALL,
    "Set-TransportRule": ALL,
    "Enable-TransportRule": ALL,
    "Disable-TransportRule": ALL,
    "Remove-TransportRule": ALL,
  },
  Journaling: {
    "Get-JournalRule": ALL,
    "New-JournalRule": ALL,
    "Set-JournalRule": ALL,
    "Enable-JournalRule": ALL,
    "Remove-JournalRule": ALL,
    "Get-TransportConfig": ALL,
    "Set-TransportConfig": ["JournalingReportNdrTo", "Confirm"],
  },
};

/** Whether `role` holds `cmdlet` with every one of `parameters` (names case-insensitive, as PowerShell's). */
function roleHolds(role: string, cmdlet: string, parameters: readonly string[]): boolean {
  const entries = BUILT_IN_ROLES[role] ?? {};
  const entry = Object.entries(entries).find(([name]) => name.toLowerCase() === cmdlet.toLowerCase())?.[1];
  if (entry === undefined) return false;
  if (entry === ALL) return true;
  const held = new Set(entry.map((name) => name.toLowerCase()));
  return parameters.every((name) => held.has(name.toLowerCase()));
}

/** The Exchange roles the tenant's app holds (fully permitted when the tenant has no app yet). */
function heldRoles(tenant: TenantState): readonly string[] {
  return tenant.servicePrincipal?.roles ?? PRODUCT_EXCHANGE_ROLES;
}

/**
 * The failure Exchange gives the app for a cmdlet (or parameter) none of its roles hold, or undefined when one does:
 * outside the caller's roles a cmdlet is not in its session, so InvokeCommand answers as for an unknown cmdlet.
 * The hook for the InvokeCommand layer: call it before running a known cmdlet.
 */
export function rbacRefusal(tenant: TenantState, cmdlet: string, parameters: readonly string[]): CmdletFailure | undefined {
  // A cmdlet no built-in role knows is not Exchange's (the test suite's own cmdlets): no role decides it.
  const known = Object.keys(BUILT_IN_ROLES).some((role) => roleHolds(role, cmdlet, []));
  if (!known || heldRoles(tenant).some((role) => roleHolds(role, cmdlet, parameters))) return undefined;
  return new CmdletFailure(
    "CommandNotFoundException",
    "System.Management.Automation.CommandNotFoundException",
    `The term '${cmdlet}' is not recognized as the name of a cmdlet, function, script file, or operable program. ` +
      "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
  );
}

function refuseOutsideRoles(context: CmdletContext, cmdlet: string, parameters: Record<string, unknown>): void {
  const refusal = rbacRefusal(context.tenant, cmdlet, Object.keys(parameters));
  if (refusal) throw refusal;
}

function roleOutput(name: string): Record<string, unknown> {
  return { Name: name, Identity: name, RoleType: name.replaceAll(/[^A-Za-z]/g, ""), IsRootRole: true };
}

const getManagementRole: CmdletDefinition = {
  name: "Get-ManagementRole",
  parameters: ["Identity", "Cmdlet", "CmdletParameters"],
  handle(parameters, context) {
    refuseOutsideRoles(context, "Get-ManagementRole", parameters);
    const identity = optionalString(parameters, "Identity");
    const cmdlet = optionalString(parameters, "Cmdlet");
    const cmdletParameters = (optionalStringList(parameters, "CmdletParameters") ?? []).flatMap((value) => value.split(","));
    let roles = Object.keys(BUILT_IN_ROLES);
    if (identity !== undefined) {
      roles = roles.filter((role) => role.toLowerCase() === identity.toLowerCase());
      if (roles.length === 0) throw notFound(identity, "management role");
    }
    if (cmdlet !== undefined) roles = roles.filter((role) => roleHolds(role, cmdlet, cmdletParameters.map((name) => name.trim())));
    return { value: roles.map(roleOutput) };
  },
};

/** The app's assignments: one regular assignment per role of its role group, organisation-wide. */
function assignmentsOf(tenant: TenantState, effectiveUser: string | undefined): Record<string, unknown>[] {
  return heldRoles(tenant).map((role) => ({
    Name: `${role}-${PRODUCT_ROLE_GROUP}`,
    Identity: `${role}-${PRODUCT_ROLE_GROUP}`,
    Role: role,
    RoleAssignee: PRODUCT_ROLE_GROUP,
    RoleAssigneeName: PRODUCT_ROLE_GROUP,
    RoleAssigneeType: "RoleGroup",
    AssignmentMethod: "RoleGroup",
    RoleAssignmentDelegationType: "Regular",
    Enabled: true,
    RecipientWriteScope: "Organization",
    ConfigWriteScope: "OrganizationConfig",
    CustomRecipientWriteScope: null,
    ...(effectiveUser === undefined ? {} : { EffectiveUserName: effectiveUser }),
  }));
}

/** Whether `assignee` names the tenant's app (object id, app id, display name or identity) or its role group. */
function namesApp(tenant: TenantState, assignee: string): boolean {
  const app = tenant.servicePrincipal;
  const names = [PRODUCT_ROLE_GROUP, app?.ObjectId, app?.AppId, app?.DisplayName, app?.Identity];
  return names.some((name) => name?.toLowerCase() === assignee.toLowerCase());
}

const getManagementRoleAssignment: CmdletDefinition = {
  name: "Get-ManagementRoleAssignment",
  parameters: ["RoleAssignee", "Role", "Delegating", "Enabled", "GetEffectiveUsers"],
  handle(parameters, context) {
    refuseOutsideRoles(context, "Get-ManagementRoleAssignment", parameters);
    const assignee = optionalString(parameters, "RoleAssignee");
    if (assignee !== undefined && !namesApp(context.tenant, assignee)) throw notFound(assignee);
    const effectiveUser = optionalBoolean(parameters, "GetEffectiveUsers") ? context.tenant.servicePrincipal?.DisplayName : undefined;
    const role = optionalString(parameters, "Role")?.toLowerCase();
    // The app's assignments are all regular (not delegating) and enabled.
    const excluded = optionalBoolean(parameters, "Delegating") === true || optionalBoolean(parameters, "Enabled") === false;
    const value = excluded ? [] : assignmentsOf(context.tenant, effectiveUser).filter((entry) => role === undefined || String(entry["Role"]).toLowerCase() === role);
    return { value };
  },
};

/** The RBAC cmdlets the emulator serves. */
export const roleCmdlets: CmdletDefinition[] = [getManagementRole, getManagementRoleAssignment];
