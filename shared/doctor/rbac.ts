/**
 * Do the app's Exchange roles hold the write cmdlets and parameters the product runs? Read-only, as Microsoft's
 * "Find the permissions required to run any Exchange cmdlet" does it:
 *   `Get-ManagementRoleAssignment -RoleAssignee <service principal object id> -Delegating $false` -> the app's roles
 *     (direct and through role groups), and, per requirement,
 *   `Get-ManagementRole -Cmdlet <cmdlet> -CmdletParameters <parameters>` -> the roles that hold all of them.
 * A call that is itself refused makes the requirement `unknown`, never ok and never a problem.
 */
import { ExchangeError } from "../exchange/errors";
import type { ExchangeTransport } from "../exchange/transport";
import type { Check } from "./check";
import { ROLE_GROUP_HINT } from "./probes";
import type { RoleRequirement } from "./requirements";

/** Roles, or why they could not be read. */
export type RoleLookup = { readonly roles: readonly string[] } | { readonly unreadable: string };

const READ_ROLES_FIX = `add role 'View-Only Configuration' (it holds Get-ManagementRole and Get-ManagementRoleAssignment) to ${ROLE_GROUP_HINT}`;

function describe(requirement: RoleRequirement): string {
  return [requirement.cmdlet, ...requirement.parameters.map((name) => `-${name}`)].join(" ");
}

/** The verdict on one requirement from the app's roles and the roles that hold it. Pure. */
export function roleCheck(requirement: RoleRequirement, held: RoleLookup, holders: RoleLookup): Check {
  const title = describe(requirement);
  if (!("roles" in held) || !("roles" in holders)) {
    const reason = "unreadable" in held ? held.unreadable : "unreadable" in holders ? holders.unreadable : "";
    return { area: "role", title, status: "unknown", detail: reason, fix: READ_ROLES_FIX };
  }
  const holding = holders.roles.filter((role) => held.roles.some((name) => name.toLowerCase() === role.toLowerCase()));
  if (holding.length > 0) return { area: "role", title, status: "ok", detail: `held through ${holding.join(", ")}` };
  if (holders.roles.length === 0)
    return {
      area: "role",
      title,
      status: "problem",
      detail: "no role in this tenant holds it",
      fix: "check that the cmdlet and parameters exist in this tenant's Exchange Online plan",
    };
  const expected = holders.roles.some((role) => role.toLowerCase() === requirement.role.toLowerCase());
  return {
    area: "role",
    title,
    status: "problem",
    detail: `none of the app's roles holds it (roles that do: ${holders.roles.join(", ")})`,
    fix: expected
      ? `add role '${requirement.role}' to ${ROLE_GROUP_HINT}`
      : `add one of the roles ${holders.roles.map((role) => `'${role}'`).join(", ")} to ${ROLE_GROUP_HINT}`,
  };
}

async function roleNames(transport: ExchangeTransport, cmdlet: string, parameters: Record<string, unknown>, property: string): Promise<RoleLookup> {
  try {
    const { value } = await transport.invoke({ cmdlet, parameters, select: [property] });
    return { roles: [...new Set(value.map((entry) => String(entry[property])))] };
  } catch (error) {
    if (!(error instanceof ExchangeError)) throw error;
    return { unreadable: `${cmdlet} was refused: HTTP ${error.status} ${error.text}` };
  }
}

/** The roles assigned to the app's service principal (enabled, regular assignments). */
export function assignedRoles(transport: ExchangeTransport, objectId: string | undefined): Promise<RoleLookup> {
  if (!objectId) return Promise.resolve({ unreadable: "the Exchange token has no oid claim (the app's service principal is unknown)" });
  return roleNames(transport, "Get-ManagementRoleAssignment", { RoleAssignee: objectId, Delegating: false, Enabled: true }, "Role");
}

/** One check per requirement, asking the tenant which roles hold each. */
export async function roleChecks(transport: ExchangeTransport, objectId: string | undefined, requirements: readonly RoleRequirement[]): Promise<Check[]> {
  const held = await assignedRoles(transport, objectId);
  const checks: Check[] = [];
  for (const requirement of requirements) {
    const parameters = requirement.parameters.length > 0 ? { CmdletParameters: requirement.parameters } : {};
    const holders = "unreadable" in held ? held : await roleNames(transport, "Get-ManagementRole", { Cmdlet: requirement.cmdlet, ...parameters }, "Name");
    checks.push(roleCheck(requirement, held, holders));
  }
  return checks;
}
