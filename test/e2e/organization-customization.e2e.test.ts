/**
 * A dehydrated tenant, end to end: Enable-OrganizationCustomization takes time to take effect (reported: up to an
 * hour), so the organisation is reported pending (drift), not failed, until it does; the customization is requested
 * once; a customization still not in effect hours later fails the target.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateTenant } from "../../emulator/generate";
import { CUSTOMIZATION_REQUESTED } from "../../shared/reconcile/reconcile";
import type { EnforcementResult } from "../../shared/enforcement";
import { startE2e } from "./stack";

const HOUR_IN_MS = 3_600_000;

function organizationOf(result: EnforcementResult) {
  const outcome = result.outcomes.find((candidate) => candidate.kind === "organization");
  assert.ok(outcome, "the organisation has an outcome");
  return outcome;
}

describe("organisation customization end to end", async () => {
  let offsetInMs = 0;
  const tenant = generateTenant({
    seed: 5,
    counts: { user: 3 },
    unifiedAuditLogIngestionEnabled: false,
    dehydrated: true,
    customizationDelayInMs: HOUR_IN_MS,
  });
  const e2e = await startE2e(tenant, {}, { now: () => new Date(Date.now() + offsetInMs) });
  const enableCalls = () => e2e.stack.emulator.calls.records.filter((call) => call.cmdlet === "Enable-OrganizationCustomization").length;

  it("is pending (drift, not failed) while Enable-OrganizationCustomization has not taken effect, and is requested once", async () => {
    const first = await e2e.run({ mode: "apply", full: true });
    const organization = organizationOf(first);
    assert.equal(organization.status, "drift");
    assert.ok(organization.findings.some((finding) => finding.kind === "pending" && finding.setting === "UnifiedAuditLogIngestionEnabled"));
    assert.equal(first.summary.counts.failed, 0);
    assert.equal(enableCalls(), 1);
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, false);

    const second = await e2e.run({ mode: "apply", full: true });
    assert.equal(organizationOf(second).status, "drift");
    assert.equal(enableCalls(), 1, "a pending customization is not requested again");
  });

  it("is remediated once the customization is in effect", async () => {
    offsetInMs += 2 * HOUR_IN_MS;
    const result = await e2e.run({ mode: "apply", full: true });
    assert.equal(organizationOf(result).status, "remediated");
    assert.equal(tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled, true);
    assert.equal(tenant.organizationConfig.isDehydrated, false);
  });

  it("fails (and so alerts) when a customization is still not in effect hours after it was requested", async () => {
    tenant.organizationConfig.isDehydrated = true;
    tenant.organizationConfig.customizationEffectiveAt = new Date(Date.now() + offsetInMs + 24 * HOUR_IN_MS).toISOString();
    tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled = false;
    const requestedAt = new Date(Date.now() - 5 * HOUR_IN_MS).toISOString();
    await e2e.runtime.store.setWatermark(tenant.tenantId, CUSTOMIZATION_REQUESTED, requestedAt);
    const result = await e2e.run({ mode: "apply", full: true });
    const organization = organizationOf(result);
    assert.equal(organization.status, "failed");
    assert.equal(organization.error?.code, "OrganizationCustomizationPending");
    assert.match(organization.error?.message ?? "", /5 hours ago/);
  });
});
