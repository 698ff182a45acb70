/** The doctor's pure parts: token claims, permission and role verdicts, the exit code. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { doctorExitCode, type Check, type TokenSummary } from "../../shared/doctor/check";
import { roleCheck, type RoleLookup } from "../../shared/doctor/rbac";
import { requiredExchangeRoles, requiredGraphPermissions } from "../../shared/doctor/requirements";
import { decodeTokenClaims, tokenChecks, tokenWarnings } from "../../shared/doctor/tokens";
import { parseCaptureSettings } from "../../shared/capture/settings";

function jwt(payload: unknown): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(payload)}.signature`;
}

const token = (roles: string[]): TokenSummary => ({ scope: "https://graph.microsoft.com/.default", acquired: true, roles });

describe("decodeTokenClaims", () => {
  it("reads roles, appid (or azp) and oid without checking the signature", () => {
    assert.deepEqual(decodeTokenClaims(jwt({ roles: ["User.Read.All"], appid: "app", oid: "sp" })), { roles: ["User.Read.All"], appId: "app", objectId: "sp" });
    assert.deepEqual(decodeTokenClaims(jwt({ azp: "app" })), { roles: [], appId: "app" });
  });

  it("returns undefined for anything that is not a JWT", () => {
    for (const value of ["opaque-token", "a.b", `x.${Buffer.from("not json").toString("base64url")}.y`, jwt({ roles: "User.Read.All" })]) {
      assert.equal(decodeTokenClaims(value), undefined, value);
    }
  });
});

describe("tokenChecks", () => {
  const exchange: TokenSummary = { scope: "https://outlook.office365.com/.default", acquired: true, roles: ["Exchange.ManageAsApp"] };
  const statusOf = (checks: Check[], title: string) => checks.find((check) => check.title === title)?.status;

  it("ok for each required permission, also through a higher-privileged one", () => {
    const checks = tokenChecks({ exchange, graph: token(["Directory.Read.All"]) }, requiredGraphPermissions(undefined, { auditEvidence: false }));
    assert.deepEqual(checks.map((check) => check.status), ["ok", "ok", "ok"]);
    assert.match(checks[1]?.detail ?? "", /through Directory\.Read\.All/);
  });

  it("a problem naming the permission to grant", () => {
    const checks = tokenChecks({ exchange: { ...exchange, roles: [] }, graph: token(["User.Read.All"]) }, requiredGraphPermissions(undefined, { auditEvidence: false }));
    assert.equal(statusOf(checks, "Graph token has Organization.Read.All"), "problem");
    assert.match(checks.find((check) => check.title === "Graph token has Organization.Read.All")?.fix ?? "", /Microsoft Graph application permission Organization\.Read\.All/);
    assert.match(checks[0]?.fix ?? "", /Office 365 Exchange Online application permission Exchange\.ManageAsApp/);
  });

  it("one problem for a token that could not be obtained", () => {
    const failed: TokenSummary = { scope: "s", acquired: false, roles: [], error: "AADSTS700016" };
    const checks = tokenChecks({ exchange, graph: failed }, requiredGraphPermissions(undefined, { auditEvidence: false }));
    assert.deepEqual(checks.map((check) => [check.title, check.status]), [["Exchange token has Exchange.ManageAsApp", "ok"], ["Graph token", "problem"]]);
  });

  it("warns about Entra Mail.Send, which the product never needs", () => {
    assert.equal(tokenWarnings(token(["Mail.Send"])).length, 1);
    assert.deepEqual(tokenWarnings(token(["User.Read.All"])), []);
  });
});

describe("the audit-log evidence's permission", () => {
  const exchange: TokenSummary = { scope: "https://outlook.office365.com/.default", acquired: true, roles: ["Exchange.ManageAsApp"] };
  const check = (roles: string[], auditEvidence = true) =>
    tokenChecks({ exchange, graph: token(roles) }, requiredGraphPermissions(undefined, { auditEvidence })).find(
      (each) => each.title === "Graph token has AuditLogsQuery-Exchange.Read.All",
    );

  it("is required while AUDIT_EVIDENCE is on, and not otherwise", () => {
    assert.deepEqual(requiredGraphPermissions(undefined, { auditEvidence: true }).map((entry) => entry.permission), [
      "User.Read.All",
      "Organization.Read.All",
      "AuditLogsQuery-Exchange.Read.All",
    ]);
    assert.equal(check([], false), undefined);
  });

  it("missing: a problem (exit 1) naming the grant, how to give it, and how to do without", () => {
    const missing = check(["User.Read.All", "Organization.Read.All"]);
    assert.equal(missing?.status, "problem");
    assert.match(missing?.detail ?? "", /needed for the audit-log evidence/);
    assert.equal(
      missing?.fix,
      "grant the Microsoft Graph application permission AuditLogsQuery-Exchange.Read.All and give admin consent (infra/tenant-setup/Grant-TenantAccess.ps1 does both), or set AUDIT_EVIDENCE=off to run without the audit-log evidence",
    );
    assert.equal(doctorExitCode({ checks: [missing] }), 1);
  });

  it("granted, or through the all-services AuditLogsQuery.Read.All; another service's permission does not do", () => {
    assert.deepEqual([check(["AuditLogsQuery-Exchange.Read.All"])?.status, check(["AuditLogsQuery-Exchange.Read.All"])?.detail], ["ok", "granted"]);
    assert.equal(check(["AuditLogsQuery.Read.All"])?.detail, "granted through AuditLogsQuery.Read.All");
    assert.equal(check(["AuditLogsQuery-Entra.Read.All", "AuditLog.Read.All"])?.status, "problem");
  });
});

describe("requirements follow CAPTURE_MODE", () => {
  it("capture permissions and roles only in transport-rules mode; New-Mailbox only when it may create the mailbox", () => {
    const transportRules = (createIfMissing: boolean) =>
      parseCaptureSettings({ mode: "transport-rules", captureMailbox: { address: "capture@contoso.com", createIfMissing }, accessGroup: "SOC" });
    assert.deepEqual(requiredGraphPermissions(undefined, { auditEvidence: false }).map((entry) => entry.permission), ["User.Read.All", "Organization.Read.All"]);
    assert.equal(requiredGraphPermissions(transportRules(false), { auditEvidence: false }).length, 4);
    assert.ok(!requiredExchangeRoles(transportRules(false)).some((entry) => entry.cmdlet === "New-Mailbox"));
    assert.ok(requiredExchangeRoles(transportRules(true)).some((entry) => entry.cmdlet === "New-Mailbox"));
    assert.ok(!requiredExchangeRoles(undefined).some((entry) => entry.role === "Transport Rules"));
  });
});

describe("roleCheck", () => {
  const requirement = { cmdlet: "Set-MailboxAuditBypassAssociation", parameters: ["AuditBypassEnabled"], role: "Audit Logs" };
  const roles = (...names: string[]): RoleLookup => ({ roles: names });
  const cases: { name: string; held: RoleLookup; holders: RoleLookup; status: Check["status"]; fix?: RegExp }[] = [
    { name: "held", held: roles("Audit Logs", "View-Only Configuration"), holders: roles("audit logs"), status: "ok" },
    { name: "the setup's role missing", held: roles("View-Only Configuration"), holders: roles("Audit Logs"), status: "problem", fix: /add role 'Audit Logs'/ },
    { name: "only other roles hold it", held: roles(), holders: roles("Organization Management"), status: "problem", fix: /one of the roles 'Organization Management'/ },
    { name: "no role holds it", held: roles("Audit Logs"), holders: roles(), status: "problem", fix: /exist in this tenant/ },
    { name: "assignments unreadable", held: { unreadable: "refused" }, holders: roles("Audit Logs"), status: "unknown" },
    { name: "roles unreadable", held: roles("Audit Logs"), holders: { unreadable: "refused" }, status: "unknown" },
  ];
  for (const entry of cases) {
    it(entry.name, () => {
      const check = roleCheck(requirement, entry.held, entry.holders);
      assert.equal(check.status, entry.status);
      if (entry.fix) assert.match(check.fix ?? "", entry.fix);
    });
  }
});

describe("doctorExitCode", () => {
  const check = (status: Check["status"]): Check => ({ area: "read", title: "t", status, detail: "" });
  it("0 all ok, 1 any problem, 2 unknown without problems", () => {
    assert.equal(doctorExitCode({ checks: [check("ok")] }), 0);
    assert.equal(doctorExitCode({ checks: [check("ok"), check("unknown"), check("problem")] }), 1);
    assert.equal(doctorExitCode({ checks: [check("ok"), check("unknown")] }), 2);
  });
});
