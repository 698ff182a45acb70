/** `doctor` against the emulator: healthy, then every injected gap named with its grant; only reads, ever. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { PRODUCT_GRAPH_PERMISSIONS } from "../../emulator/app-permissions";
import type { Check, DoctorReport } from "../../shared/doctor/check";
import { CAPTURE_ENV, JOURNALING_ENV, startDoctorStack } from "./doctor-stack";

function checksWith(report: DoctorReport, status: Check["status"]): Check[] {
  return report.checks.filter((check) => check.status === status);
}

function onlyProblemsNaming(report: DoctorReport, grant: string): void {
  const problems = checksWith(report, "problem");
  assert.ok(problems.length > 0, "a problem is reported");
  for (const problem of problems) assert.match(problem.fix ?? "", new RegExp(grant.replaceAll(".", "\\.")), `${problem.title}: ${problem.fix ?? ""}`);
}

describe("doctor on a fully permitted tenant", async () => {
  const stack = await startDoctorStack();

  it("passes every check, in every capture mode, and exits 0", async () => {
    for (const extraEnv of [{}, CAPTURE_ENV, JOURNALING_ENV]) {
      const { exitCode, report } = await stack.doctor(extraEnv);
      assert.deepEqual(report.checks.filter((check) => check.status !== "ok"), [], JSON.stringify(extraEnv));
      assert.equal(exitCode, 0);
    }
  });

  it("reports the tenant's size, each read's latency and no throttling", async () => {
    const { report } = await stack.doctor();
    const mailboxes = [...stack.emulator.state.mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails !== "GroupMailbox");
    assert.equal(report.tenant.mailboxesOnFirstPage, mailboxes.length);
    assert.equal(report.tenant.moreMailboxesLikely, false);
    assert.equal(report.tenant.groupMailboxesOnFirstPage, 1);
    assert.ok(checksWith(report, "ok").filter((check) => check.area === "read").every((check) => typeof check.latencyInMs === "number"));
    assert.equal(report.exchangeCalls.throttled, 0);
    assert.deepEqual(report.tokens.exchange.roles, ["Exchange.ManageAsApp"]);
    assert.equal(report.checks.find((check) => check.title === "Graph token has AuditLogsQuery-Exchange.Read.All")?.status, "ok");
    assert.equal(report.tokens.exchange.objectId, stack.emulator.state.servicePrincipal?.ObjectId);
  });

  it("makes only Get-* Exchange calls and Graph GETs, and never prints a token", async () => {
    stack.emulator.calls.reset();
    const { text } = await stack.doctor(CAPTURE_ENV);
    const calls = stack.emulator.calls.records;
    assert.ok(calls.length > 0);
    const writes = calls.filter((call) => (call.api === "exchange" ? !/^Get-/.test(call.cmdlet) : !call.cmdlet.startsWith("GET ")));
    assert.deepEqual(writes, []);
    assert.doesNotMatch(text, /eyJ[\w-]+\.[\w-]+\./, "no JWT in the output");
    // The capture's reads, as the capture makes them: the access group, the mailbox, and (once it exists) by its Guid.
    for (const cmdlet of ["Get-DistributionGroup", "Get-Mailbox"]) assert.ok(calls.some((call) => call.cmdlet === cmdlet && call.parameters["Identity"] !== undefined), cmdlet);
  });

  it("reports throttling: a 429 is retried and counted", async () => {
    stack.emulator.faults.add({ cmdlet: "Get-OrganizationConfig", status: 429, retryAfterInSeconds: 0, times: 1 });
    const { exitCode, report } = await stack.doctor();
    assert.equal(report.exchangeCalls.throttled, 1);
    assert.equal(exitCode, 0, "a retried 429 is not a problem");
  });
});

describe("doctor names the missing Graph permission", async () => {
  for (const permission of PRODUCT_GRAPH_PERMISSIONS) {
    const stack = await startDoctorStack({ permissions: [permission] });
    it(`without ${permission}: exit 1, every problem says to grant it`, async () => {
      const { exitCode, report } = await stack.doctor(CAPTURE_ENV);
      assert.equal(exitCode, 1);
      onlyProblemsNaming(report, permission);
      assert.ok(report.checks.some((check) => check.title === `Graph token has ${permission}` && check.status === "problem"));
    });
  }

  it("without AuditLogsQuery-Exchange.Read.All: the evidence's grant (how, or AUDIT_EVIDENCE=off); nothing else; no search started", async () => {
    const stack = await startDoctorStack({ permissions: ["AuditLogsQuery-Exchange.Read.All"] });
    stack.emulator.calls.reset();
    const { exitCode, report } = await stack.doctor();
    assert.equal(exitCode, 1);
    assert.deepEqual(
      checksWith(report, "problem").map((check) => [check.title, check.fix]),
      [
        [
          "Graph token has AuditLogsQuery-Exchange.Read.All",
          "grant the Microsoft Graph application permission AuditLogsQuery-Exchange.Read.All and give admin consent (infra/tenant-setup/Grant-TenantAccess.ps1 does both), or set AUDIT_EVIDENCE=off to run without the audit-log evidence",
        ],
      ],
    );
    assert.ok(!report.tokens.graph.roles.includes("AuditLogsQuery-Exchange.Read.All"));
    assert.deepEqual(stack.emulator.calls.records.filter((call) => call.cmdlet.includes("auditLog")), [], "doctor creates no audit search");
    const off = await stack.doctor({ AUDIT_EVIDENCE: "off" });
    assert.equal(off.exitCode, 0, "with the evidence off the permission is not needed");
    assert.ok(!off.report.checks.some((check) => check.title.includes("AuditLogsQuery")));
  });

  it("Graph itself refuses the read with Authorization_RequestDenied", async () => {
    const stack = await startDoctorStack({ permissions: ["Organization.Read.All"] });
    const { report } = await stack.doctor();
    const skus = report.checks.find((check) => check.title === "GET /v1.0/subscribedSkus");
    assert.equal(skus?.status, "problem");
    assert.match(skus.detail, /403 Authorization_RequestDenied: Insufficient privileges to complete the operation\./);
  });
});

describe("doctor without Exchange.ManageAsApp", async () => {
  const stack = await startDoctorStack({ permissions: ["Exchange.ManageAsApp"] });

  it("says to grant it, for the token and for every refused read; the roles cannot be read", async () => {
    const { exitCode, report } = await stack.doctor();
    assert.equal(exitCode, 1);
    onlyProblemsNaming(report, "Exchange.ManageAsApp");
    assert.ok(report.checks.filter((check) => check.area === "read" && check.title.startsWith("Get-")).every((check) => check.status === "problem"));
    assert.ok(report.checks.filter((check) => check.area === "role").every((check) => check.status === "unknown"));
  });
});

describe("doctor names the missing Exchange role", async () => {
  const cases = [
    { role: "Audit Logs", env: {} },
    { role: "Organization Configuration", env: {} },
    { role: "Mail Recipients", env: CAPTURE_ENV },
    { role: "Mail Recipient Creation", env: CAPTURE_ENV },
    { role: "Transport Rules", env: CAPTURE_ENV },
    { role: "Journaling", env: JOURNALING_ENV },
  ];
  for (const { role, env } of cases) {
    const stack = await startDoctorStack({ roles: [role] });
    it(`without '${role}': exit 1, "add role '${role}'"`, async () => {
      const { exitCode, report } = await stack.doctor(env);
      assert.equal(exitCode, 1);
      onlyProblemsNaming(report, `add role '${role}'`);
    });
  }

  it("when the app cannot read its role assignments, every role check is unknown (exit 2), never ok or a problem", async () => {
    const stack = await startDoctorStack({ roles: ["View-Only Configuration"] });
    const { exitCode, report } = await stack.doctor();
    const roleChecks = report.checks.filter((check) => check.area === "role");
    assert.ok(roleChecks.length > 0);
    for (const check of roleChecks) {
      assert.equal(check.status, "unknown");
      assert.match(check.detail, /Get-ManagementRoleAssignment was refused: .*is not recognized/);
    }
    assert.deepEqual(checksWith(report, "problem"), []);
    assert.equal(exitCode, 2);
  });
});

describe("mailbox-audit doctor (the CLI process)", async () => {
  const stack = await startDoctorStack({ roles: ["Audit Logs"] });
  const cli = (env: Record<string, string>, ...args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      execFile(process.execPath, [join(__dirname, "../../cli/main.js"), "doctor", ...args], { env }, (error, stdout) => {
        if (!error) resolve({ code: 0, stdout });
        else if (typeof error.code === "number") resolve({ code: error.code, stdout });
        else reject(new Error(error.message, { cause: error }));
      });
    });

  it("exits 1 and prints the checklist with the fix", async () => {
    const { code, stdout } = await cli(stack.env);
    assert.equal(code, 1);
    assert.match(stdout, /PROBLEM +Set-Mailbox -AuditEnabled .*\n +-> add role 'Audit Logs'/);
  });

  it("--json prints the report", async () => {
    const { code, stdout } = await cli(stack.env, "--json");
    assert.equal(code, 1);
    assert.equal((JSON.parse(stdout) as DoctorReport).tenantId, stack.env["TENANT_ID"]);
  });

  it("exits 78 on a configuration error", async () => {
    const env = { ...stack.env };
    delete env["TENANT_ID"];
    assert.equal((await cli(env)).code, 78);
  });
});
