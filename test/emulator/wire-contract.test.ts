/**
 * The emulator's side of docs/exchange-wire-contract.md, pinned over HTTPS with Exchange's real cmdlet set: what
 * InvokeCommand refuses (module-only cmdlets and parameters, a misrouted audit log cmdlet) and how it answers.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EXCHANGE_AUDIENCE, issueAccessToken } from "../../emulator/access-token";
import { loadTenantFixture } from "../../emulator/generate";
import { rawRequest, withEmulator, type RawResponse } from "../support/emulator";

const fixture: unknown = JSON.parse(readFileSync(resolve(__dirname, "../../../emulator/fixtures/example-tenant.json"), "utf8"));
const DEFAULT_ANCHOR = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
const AUDIT_LOG_ANCHOR = "SystemMailbox{8cc370d3-822a-4ab8-a926-bb94bd0641a9}";

function errorParts(response: RawResponse): { exceptionType: string; text: string } {
  const body = response.json as { error?: { details?: { message?: string }[] } };
  const [, exceptionType = "", ...text] = (body.error?.details?.[0]?.message ?? "").split("|");
  return { exceptionType, text: text.join("|") };
}

describe("Exchange wire contract (emulator)", async () => {
  const tenant = loadTenantFixture(fixture);
  tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled = false;
  tenant.organizationConfig.isDehydrated = false;
  const emulator = await withEmulator(tenant);
  const base = `${emulator.exchangeBaseUrl}/adminapi/beta/${tenant.initialDomain}`;
  const anchor = (mailbox: string) => `APP:${mailbox}@${tenant.initialDomain}`;
  const token = issueAccessToken({ resource: EXCHANGE_AUDIENCE, clientId: "contract" }).token;

  function invoke(cmdlet: string, parameters: Record<string, unknown> = {}, anchorMailbox = anchor(DEFAULT_ANCHOR)): Promise<RawResponse> {
    return rawRequest(emulator, {
      url: `${base}/InvokeCommand`,
      headers: { authorization: `Bearer ${token}`, "x-anchormailbox": anchorMailbox, "x-cmdletname": cmdlet },
      body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } },
    });
  }

  function batch(envelopeAnchor: string, subAnchor: string, cmdlet: string, parameters: Record<string, unknown>): Promise<RawResponse> {
    return rawRequest(emulator, {
      url: `${base}/$batch`,
      headers: { authorization: `Bearer ${token}`, "x-anchormailbox": envelopeAnchor, prefer: "odata.continue-on-error" },
      body: {
        requests: [{ id: "1", method: "POST", url: `${base}/InvokeCommand`, headers: { "X-AnchorMailbox": subAnchor, "X-CmdletName": cmdlet }, body: { CmdletInput: { CmdletName: cmdlet, Parameters: parameters } } }],
      },
    });
  }

  it("answers the module's client-side cmdlets as any unknown cmdlet: 400 CommandNotFoundException", async () => {
    for (const cmdlet of ["Get-EXOMailbox", "Get-EXOMailboxStatistics", "Get-EXORecipient"]) {
      const response = await invoke(cmdlet, { Identity: "ben" });
      assert.equal(response.status, 400, cmdlet);
      assert.equal(errorParts(response).exceptionType, "System.Management.Automation.CommandNotFoundException");
      assert.match(errorParts(response).text, new RegExp(`^The term '${cmdlet}' is not recognized`));
    }
  });

  it("refuses the module's parameters on Get-Mailbox; serves Get-Mailbox and Get-MailboxStatistics", async () => {
    const refused = await invoke("Get-Mailbox", { PropertySets: ["Audit"], ResultSize: "Unlimited" });
    assert.equal(refused.status, 400);
    assert.match(errorParts(refused).text, /Invalid cmdlet parameters specified\. PropertySets$/);
    assert.equal((await invoke("Get-Mailbox", { ResultSize: "Unlimited" })).status, 200);
    assert.equal((await invoke("Get-MailboxStatistics", { Identity: "soc-capture" })).status, 200);
  });

  it("Set-AdminAuditLogConfig answers CmdletProxyNotAvailableException unless anchored to the audit log mailbox", async () => {
    const misrouted = await invoke("Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true });
    assert.equal(misrouted.status, 400);
    assert.equal(errorParts(misrouted).exceptionType, "Microsoft.Exchange.Configuration.Tasks.CmdletProxyNotAvailableException");
    assert.match(errorParts(misrouted).text, /^Cmdlet needs proxy\. Current Server FQDN : \S+, Required Server FQDN : \S+$/);
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false, "nothing changed");

    const inBatch = await batch(anchor(DEFAULT_ANCHOR), anchor(DEFAULT_ANCHOR), "Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true });
    const envelopeMisrouted = await batch(anchor(DEFAULT_ANCHOR), anchor(AUDIT_LOG_ANCHOR), "Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true });
    for (const response of [inBatch, envelopeMisrouted]) {
      const [sub] = (response.json as { responses: { status: number }[] }).responses;
      assert.equal(sub?.status, 400);
    }
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false, "nothing changed");

    assert.equal((await invoke("Set-AdminAuditLogConfig", { UnifiedAuditLogIngestionEnabled: true }, anchor(AUDIT_LOG_ANCHOR))).status, 200);
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, true);
  });

  it("Get-AdminAuditLogConfig and Enable-OrganizationCustomization run at the default anchor (as public clients call them)", async () => {
    assert.equal((await invoke("Get-AdminAuditLogConfig")).status, 200);
    assert.notEqual(errorParts(await invoke("Enable-OrganizationCustomization")).exceptionType, "Microsoft.Exchange.Configuration.Tasks.CmdletProxyNotAvailableException");
  });

  it("compares WhenChangedUTC with a date in the en-US form Microsoft's filter documentation shows", async () => {
    const names = async (since: string) =>
      ((await invoke("Get-Mailbox", { ResultSize: "Unlimited", Filter: `WhenChangedUTC -ge '${since}'` })).json as { value: { Name: string }[] }).value.map((row) => row.Name);
    assert.ok((await names("12/15/2025 9:00:00 AM")).includes("ben"), "ben changed at 2025-12-15T09:00:00Z");
    assert.ok(!(await names("12/15/2025 9:00:01 AM")).includes("ben"));
    assert.ok(!(await names("12/15/2025 9:00:00 PM")).includes("ben"));
  });

  it("bypass associations carry Guid and are found by it; an empty -Identity lists every association (Microsoft's caution)", async () => {
    const ben = [...tenant.mailboxes.values()].find((mailbox) => mailbox.Name === "ben");
    assert.ok(ben);
    const byGuid = (await invoke("Get-MailboxAuditBypassAssociation", { Identity: ben.Guid })).json as { value: { Identity: string; Guid: string }[] };
    assert.deepEqual(byGuid.value.map((row) => [row.Identity, row.Guid]), [["ben", ben.Guid]]);
    const empty = (await invoke("Get-MailboxAuditBypassAssociation", { Identity: "" })).json as { value: unknown[] };
    assert.ok(empty.value.length > 1);
  });

  it("records each call's X-AnchorMailbox and X-CmdletName", async () => {
    emulator.calls.reset();
    await invoke("Get-OrganizationConfig");
    const [call] = emulator.calls.records;
    assert.deepEqual([call?.anchorMailbox, call?.cmdletNameHeader], [anchor(DEFAULT_ANCHOR), "Get-OrganizationConfig"]);
  });
});
