/** The emulator's app grants: roles in tokens, Exchange's 401 and Graph's 403 for missing ones, and Exchange RBAC reads. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import { createServicePrincipal } from "../../emulator/app-permissions";
import { rbacRefusal } from "../../emulator/cmdlets/roles";
import type { RunningEmulator } from "../../emulator/server";
import { createEmptyTenant, rawRequest, withEmulator } from "../support/emulator";

function invoke(emulator: RunningEmulator, cmdlet: string, parameters: Record<string, unknown>, roles?: string[]) {
  const token = issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "test", ...(roles ? { roles } : {}) }).token;
  return rawRequest(emulator, {
    url: `${emulator.exchangeBaseUrl}/adminapi/beta/${emulator.tenantId}/InvokeCommand`,
    headers: { authorization: `Bearer ${token}` },
    body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
  });
}

const values = (json: unknown): Record<string, unknown>[] => (json as { value: Record<string, unknown>[] }).value;

describe("emulator app grants", async () => {
  const tenant = createEmptyTenant({ servicePrincipal: createServicePrincipal({ missingRoles: ["Audit Logs"] }) });
  const emulator = await withEmulator(tenant);
  const app = tenant.servicePrincipal;

  it("refuses an Exchange token without Exchange.ManageAsApp with an empty 401 and a Bearer challenge", async () => {
    const response = await invoke(emulator, "Get-OrganizationConfig", {}, ["User.Read.All"]);
    assert.equal(response.status, 401);
    assert.equal(response.text, "");
    assert.match(String(response.headers["www-authenticate"]), /^Bearer /);
    assert.equal((await invoke(emulator, "Get-OrganizationConfig", {})).status, 200);
  });

  it("refuses a Graph call whose permission the token lacks with 403 Authorization_RequestDenied", async () => {
    const get = (roles: string[]) =>
      rawRequest(emulator, {
        method: "GET",
        url: `${emulator.graphBaseUrl}/v1.0/subscribedSkus`,
        headers: { authorization: `Bearer ${issueAccessToken({ resource: GRAPH_AUDIENCE, clientId: "test", roles }).token}` },
      });
    const denied = await get(["User.Read.All"]);
    assert.equal(denied.status, 403);
    const error = (denied.json as { error: { code: string; message: string; innerError: Record<string, string> } }).error;
    assert.equal(error.code, "Authorization_RequestDenied");
    assert.equal(error.message, "Insufficient privileges to complete the operation.");
    assert.ok(error.innerError["request-id"]);
    assert.equal((await get(["Directory.Read.All"])).status, 200, "a higher-privileged permission also allows it");
  });

  it("Get-ManagementRole -Cmdlet -CmdletParameters lists only the roles holding the cmdlet with all the parameters", async () => {
    const names = async (parameters: Record<string, unknown>) => values((await invoke(emulator, "Get-ManagementRole", parameters)).json).map((role) => role["Name"]);
    assert.deepEqual(await names({ Cmdlet: "Set-Mailbox", CmdletParameters: ["AuditEnabled", "AuditOwner"] }), ["Audit Logs"]);
    assert.deepEqual(await names({ Cmdlet: "Set-Mailbox", CmdletParameters: ["HiddenFromAddressListsEnabled"] }), ["Mail Recipients"]);
    assert.deepEqual(await names({ Cmdlet: "Set-Mailbox", CmdletParameters: ["AuditEnabled", "HiddenFromAddressListsEnabled"] }), []);
    assert.deepEqual(await names({ Cmdlet: "Get-ManagementRoleAssignment" }), ["View-Only Configuration", "Role Management"]);
  });

  it("Get-ManagementRoleAssignment -RoleAssignee <service principal> lists the role group's regular assignments", async () => {
    const assignments = values((await invoke(emulator, "Get-ManagementRoleAssignment", { RoleAssignee: app?.ObjectId, Delegating: false })).json);
    assert.deepEqual(assignments.map((entry) => entry["Role"]), app?.roles);
    assert.ok(!assignments.some((entry) => entry["Role"] === "Audit Logs"));
    assert.deepEqual([...new Set(assignments.map((entry) => entry["RoleAssigneeType"]))], ["RoleGroup"]);
    assert.deepEqual(values((await invoke(emulator, "Get-ManagementRoleAssignment", { RoleAssignee: app?.AppId, Delegating: true })).json), []);
    const unknown = await invoke(emulator, "Get-ManagementRoleAssignment", { RoleAssignee: "someone-else" });
    assert.equal(unknown.status, 404);
  });

  it("rbacRefusal: a cmdlet or parameter outside the app's roles is an unknown cmdlet", () => {
    assert.equal(rbacRefusal(tenant, "Get-Mailbox", ["ResultSize"]), undefined);
    assert.equal(rbacRefusal(tenant, "Set-Mailbox", ["HiddenFromAddressListsEnabled"]), undefined);
    const refusal = rbacRefusal(tenant, "Set-Mailbox", ["AuditEnabled"]);
    assert.equal(refusal?.exceptionType, "System.Management.Automation.CommandNotFoundException");
    assert.match(refusal.text, /^The term 'Set-Mailbox' is not recognized as the name of a cmdlet/);
  });

  it("InvokeCommand answers a cmdlet or parameter outside the app's roles as an unknown cmdlet, and changes nothing", async () => {
    const held = await invoke(emulator, "Get-OrganizationConfig", {});
    assert.equal(held.status, 200, "View-Only Configuration is held");
    const outside = await invoke(emulator, "Set-MailboxAuditBypassAssociation", { Identity: "x", AuditBypassEnabled: false });
    assert.equal(outside.status, 400);
    assert.match(String((outside.json as { error: { details: { message: string }[] } }).error.details[0]?.message), /CommandNotFoundException\|The term 'Set-MailboxAuditBypassAssociation' is not recognized/);
  });

  it("issues tokens with the app's roles and its object id from the managed identity endpoint", async () => {
    const response = await fetch(`${emulator.identityEndpoint}?resource=${GRAPH_AUDIENCE}&api-version=2019-08-01&client_id=${app?.AppId ?? ""}`, {
      headers: { "X-IDENTITY-HEADER": emulator.identityHeader },
    });
    const token = String(((await response.json()) as Record<string, unknown>)["access_token"]);
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    assert.deepEqual(claims["roles"], app?.graphPermissions);
    assert.equal(claims["oid"], app?.ObjectId);
    assert.equal(emulator.env()["AZURE_CLIENT_ID"], app?.AppId);
  });
});
