/**
 * Issue 14, unit level: an acknowledged write whose read-back still differs (WhenChangedUTC moved, one property did
 * not stick) is failed `VerifyMismatch`, never remediated, for every audit target kind. Driven through
 * `runEnforcement` only (the engine's entry point), over the fake Exchange, so it holds across the engine's phases.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultAuditPolicy } from "../../shared/audit/policy";
import type { TargetOutcome } from "../../shared/domain/outcome";
import type { BatchOptions, CmdletRequest } from "../../shared/exchange/transport";
import { runEnforcement } from "../../shared/enforcement";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";
import { FakeClock, FakeExchange } from "./fake-exchange";
import { mailbox } from "./fixtures";

const TENANT = "contoso.onmicrosoft.com";

function setup() {
  const clock = new FakeClock(new Date("2026-06-01T00:00:00Z"));
  const exchange = new FakeExchange(clock);
  const user = mailbox({ AuditEnabled: false, AuditLogAgeLimit: "30.00:00:00" });
  exchange.add(user, true);
  exchange.organization = { AuditDisabled: true, UnifiedAuditLogIngestionEnabled: false };
  exchange.bypass = [{ Identity: "mallory", AuditBypassEnabled: true }];
  const transport = {
    pages: <T>(request: CmdletRequest) => exchange.pages<T>(request),
    invoke: <T>(request: CmdletRequest) => exchange.invoke<T>(request),
    batch: <T>(requests: readonly CmdletRequest[], options?: BatchOptions) => exchange.batch<T>(requests, options),
    callCounts: () => ({ ...exchange.callCounts }),
  };
  const services = {
    tenantId: TENANT,
    transport,
    store: new MemoryOutcomeStore(),
    auditPolicy: defaultAuditPolicy(),
    licences: new Map([[user.ExternalDirectoryObjectId ?? "", true]]),
    clock,
  };
  const apply = async (): Promise<readonly TargetOutcome[]> => {
    clock.advance(60_000);
    const { outcomes } = await runEnforcement(services, { runId: `run-${clock.now().getTime()}`, mode: "apply", full: true, sampleSize: 100 });
    return outcomes;
  };
  return { exchange, user, apply };
}

function only(outcomes: readonly TargetOutcome[], kind: TargetOutcome["kind"]): TargetOutcome {
  const found = outcomes.filter((outcome) => outcome.kind === kind && outcome.status !== "compliant");
  assert.equal(found.length, 1, JSON.stringify(outcomes));
  return found[0]!;
}

function assertVerifyMismatch(outcome: TargetOutcome, setting: RegExp): void {
  assert.equal(outcome.status, "failed", JSON.stringify(outcome));
  assert.equal(outcome.error?.code, "VerifyMismatch");
  assert.match(outcome.error?.message ?? "", setting);
}

test("the fake's lossy write is acknowledged, moves WhenChangedUTC and loses only the named property", async () => {
  const { exchange, user, apply } = setup();
  exchange.lossyWrites.push({ cmdlet: "Set-Mailbox", property: "AuditLogAgeLimit" });
  await apply();
  const after = exchange.byTargetId(user.ExternalDirectoryObjectId ?? "");
  assert.equal(exchange.lossyWrites.length, 0, "used");
  assert.equal(after?.AuditEnabled, true);
  assert.equal(after?.AuditLogAgeLimit, "30.00:00:00");
  assert.notEqual(after?.WhenChangedUTC, user.WhenChangedUTC);
});

const cases: { name: string; cmdlet: string; property: string; kind: TargetOutcome["kind"]; setting: RegExp }[] = [
  { name: "mailbox: the age limit", cmdlet: "Set-Mailbox", property: "AuditLogAgeLimit", kind: "mailbox", setting: /AuditLogAgeLimit/ },
  { name: "mailbox: one audit action", cmdlet: "Set-Mailbox", property: "AuditOwner", kind: "mailbox", setting: /AuditOwner/ },
  { name: "mailbox: AuditEnabled", cmdlet: "Set-Mailbox", property: "AuditEnabled", kind: "mailbox", setting: /AuditEnabled/ },
  { name: "bypass association", cmdlet: "Set-MailboxAuditBypassAssociation", property: "AuditBypassEnabled", kind: "bypass-association", setting: /./ },
  { name: "organisation: AuditDisabled", cmdlet: "Set-OrganizationConfig", property: "AuditDisabled", kind: "organization", setting: /AuditDisabled/ },
  { name: "organisation: unified audit log", cmdlet: "Set-AdminAuditLogConfig", property: "UnifiedAuditLogIngestionEnabled", kind: "organization", setting: /UnifiedAuditLogIngestionEnabled/ },
];

for (const { name, cmdlet, property, kind, setting } of cases) {
  test(`${name} acknowledged but not stuck: failed VerifyMismatch, never remediated; the next apply repairs it`, async () => {
    const { exchange, apply } = setup();
    exchange.lossyWrites.push({ cmdlet, property });
    assertVerifyMismatch(only(await apply(), kind), setting);
    assert.equal(exchange.lossyWrites.length, 0, "the lossy write happened");
    assert.equal(only(await apply(), kind).status, "remediated");
  });
}
