/**
 * The emulated app's grants: the application permissions (app roles) Entra ID puts in its tokens' `roles` claim,
 * and the Exchange management roles its role group holds. The default holds everything the product needs, so an
 * emulator started without options is fully permitted; tests and `mailbox-audit emulator --missing-*` remove some.
 */
import { randomUUID } from "node:crypto";
import type { EmulatedServicePrincipal } from "./tenant-state";

/** The Office 365 Exchange Online application permission that lets an app call the Exchange admin API. */
export const EXCHANGE_MANAGE_AS_APP = "Exchange.ManageAsApp";

/** The Graph application permissions the product is granted (docs/deployment.md §2). */
export const PRODUCT_GRAPH_PERMISSIONS: readonly string[] = [
  "User.Read.All",
  "Organization.Read.All",
  "GroupMember.Read.All",
  "User.EnableDisableAccount.All",
  "AuditLogsQuery-Exchange.Read.All",
];

/** The Exchange roles the product's role group holds (docs/deployment.md §2). */
export const PRODUCT_EXCHANGE_ROLES: readonly string[] = [
  "View-Only Recipients",
  "View-Only Configuration",
  "Audit Logs",
  "Organization Configuration",
  "Mail Recipient Creation",
  "Mail Recipients",
  "Transport Rules",
  "Journaling",
];

/** The role group the tenant setup script creates; the service principal is its only member. */
export const PRODUCT_ROLE_GROUP = "Mailbox Audit Enforcer";

/** Every application permission the emulator knows, for validating `--missing-permission`. */
export const KNOWN_PERMISSIONS: readonly string[] = [EXCHANGE_MANAGE_AS_APP, ...PRODUCT_GRAPH_PERMISSIONS];

/** The Purview Audit Search API's permissions (one per Microsoft 365 service, and one for all audit logs). */
const AUDIT_LOG_QUERY_PERMISSIONS: readonly string[] = [
  "AuditLogsQuery-Exchange.Read.All",
  "AuditLogsQuery.Read.All",
  "AuditLogsQuery-Entra.Read.All",
  "AuditLogsQuery-SharePoint.Read.All",
  "AuditLogsQuery-OneDrive.Read.All",
  "AuditLogsQuery-Endpoint.Read.All",
  "AuditLogsQuery-CRM.Read.All",
];

/**
 * Graph application permissions that allow each route (any one suffices: the least privileged first, then the
 * higher-privileged ones Microsoft's API pages list). Routes not listed are not checked (sendMail is authorised
 * by Exchange RBAC for Applications, not by a token role).
 */
const GRAPH_ROUTE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  "GET /v1.0/users/delta": ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  "GET /v1.0/users/{id}": ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  "PATCH /v1.0/users/{id}": ["User.EnableDisableAccount.All", "User.ReadWrite.All", "Directory.ReadWrite.All"],
  "GET /v1.0/subscribedSkus": ["Organization.Read.All", "Organization.ReadWrite.All", "LicenseAssignment.Read.All", "Directory.Read.All"],
  "GET /v1.0/groups": ["GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"],
  "GET /v1.0/groups/{id}": ["GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All"],
  // Queries: any permission of the AuditLogsQuery family (Microsoft's table, per service); records of Exchange: the
  // Exchange one or the all-logs one (assumed: without them, 403 rather than a list without Exchange's records).
  ...Object.fromEntries(
    ["v1.0", "beta"].flatMap((version) => [
      [`POST /${version}/security/auditLog/queries`, AUDIT_LOG_QUERY_PERMISSIONS],
      [`GET /${version}/security/auditLog/queries`, AUDIT_LOG_QUERY_PERMISSIONS],
      [`GET /${version}/security/auditLog/queries/{id}`, AUDIT_LOG_QUERY_PERMISSIONS],
      [`GET /${version}/security/auditLog/queries/{id}/records`, ["AuditLogsQuery-Exchange.Read.All", "AuditLogsQuery.Read.All"]],
    ]),
  ),
};

/** A service principal holding everything the product needs, minus the named permissions and roles. */
export function createServicePrincipal(
  options: { missingPermissions?: readonly string[]; missingRoles?: readonly string[] } = {},
): EmulatedServicePrincipal {
  const missing = (names: readonly string[] | undefined) => new Set((names ?? []).map((name) => name.toLowerCase()));
  const missingPermissions = missing(options.missingPermissions);
  const missingRoles = missing(options.missingRoles);
  const objectId = randomUUID();
  return {
    AppId: randomUUID(),
    ObjectId: objectId,
    DisplayName: "Mailbox Audit Enforcer",
    Identity: objectId,
    exchangePermissions: [EXCHANGE_MANAGE_AS_APP].filter((name) => !missingPermissions.has(name.toLowerCase())),
    graphPermissions: PRODUCT_GRAPH_PERMISSIONS.filter((name) => !missingPermissions.has(name.toLowerCase())),
    roles: PRODUCT_EXCHANGE_ROLES.filter((name) => !missingRoles.has(name.toLowerCase())),
  };
}

/** The `roles` claim of a token for `audience` (`https://outlook.office365.com` or `https://graph.microsoft.com`). */
export function tokenRoles(servicePrincipal: EmulatedServicePrincipal | undefined, audience: "exchange" | "graph"): string[] {
  if (audience === "exchange") return [...(servicePrincipal?.exchangePermissions ?? [EXCHANGE_MANAGE_AS_APP])];
  return [...(servicePrincipal?.graphPermissions ?? PRODUCT_GRAPH_PERMISSIONS)];
}

/** True when `route` is checked and the token's roles hold none of the permissions that allow it. */
export function graphRouteDenied(route: string, roles: readonly string[]): boolean {
  const allowing = GRAPH_ROUTE_PERMISSIONS[route];
  return allowing !== undefined && !allowing.some((permission) => roles.includes(permission));
}
