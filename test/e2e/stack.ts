/**
 * End-to-end harness: Azurite and the tenant emulator in-process, the production runtime built from the environment
 * exactly as the CLI and the Functions build it, and an independent check of the emulated tenant against the policy
 * (read from the emulator's state, not from the engine's own outcomes).
 */
import { after } from "node:test";
import { randomUUID } from "node:crypto";
import { startLocalStack, type LocalStack } from "../../emulator/local-stack";
import type { EmulatorOptions } from "../../emulator/server";
import type { EmulatedMailbox, TenantState } from "../../emulator/tenant-state";
import { loadConfig } from "../../shared/config";
import { runEnforcement, type EnforcementRequest, type EnforcementResult } from "../../shared/enforcement";
import { createRuntime, type Runtime } from "../../shared/runtime";
import policy from "../../policy/audit-baseline.v1.json";

export interface E2eStack {
  readonly stack: LocalStack;
  readonly tenant: TenantState;
  readonly runtime: Runtime;
  run(request: Omit<EnforcementRequest, "runId">): Promise<EnforcementResult>;
  /** Exchange write cmdlets the emulator executed since the last `resetCalls()` (batch sub-requests included). */
  writes(): string[];
  resetCalls(): void;
}

const READ_CMDLET = /^(Get-|Enable-OrganizationCustomization$)/;

/** Starts the stack for `tenant` (stopped after the file's tests), with `extraEnv` on top of the stack's settings. */
export async function startE2e(tenant: TenantState, extraEnv: Record<string, string> = {}, options: Omit<EmulatorOptions, "tenant"> = {}): Promise<E2eStack> {
  const stack = await startLocalStack({ tenant, ...options });
  const restoreEnv = stack.applyEnv();
  after(async () => {
    restoreEnv();
    await stack.stop();
  });
  // Retries wait a hundredth of what they decided: what is waited is pinned in test/http and test/exchange, and here
  // only the outcomes count (a permanent 5xx would otherwise cost the whole backoff, about a minute).
  const runtime = await createRuntime(loadConfig({ ...process.env, ...stack.env, LOG_LEVEL: "silent", ...extraEnv }), { exchangeRetryDelay: (decidedInMs) => decidedInMs / 100 });
  return {
    stack,
    tenant,
    runtime,
    run: (request) => runEnforcement(runtime.enforcementServices(), { runId: randomUUID(), ...request }),
    writes: () =>
      stack.emulator.calls.records
        .filter((call) => call.api === "exchange" && !call.continuation && !READ_CMDLET.test(call.cmdlet) && call.cmdlet !== "$batch")
        .map((call) => call.cmdlet),
    resetCalls: () => stack.emulator.calls.reset(),
  };
}

const GATED = new Set(["MailItemsAccessed", "Send", "SearchQueryInitiated"]);
const DAY_IN_MS = 86_400_000;
type LogonType = keyof typeof policy.mailboxes.actions;

function ageInDays(limit: string): number {
  const match = /^(\d+)\.(\d{2}):(\d{2}):(\d{2})$/.exec(limit);
  if (!match) return Number.NaN;
  const [, days, hours, minutes, seconds] = match.map(Number) as [number, number, number, number, number];
  return days + (hours * 3600 + minutes * 60 + seconds) / (DAY_IN_MS / 1000);
}

/** What the policy requires of one mailbox, in plain words; empty when it complies. */
export function policyGaps(mailbox: EmulatedMailbox): string[] {
  const gaps: string[] = [];
  const name = mailbox.PrimarySmtpAddress;
  if (ageInDays(mailbox.AuditLogAgeLimit) < policy.mailboxes.minimumAuditLogAgeInDays) gaps.push(`${name}: AuditLogAgeLimit ${mailbox.AuditLogAgeLimit}`);
  if (mailbox.RecipientTypeDetails === "GroupMailbox") {
    for (const logonType of Object.keys(policy.groupMailboxes.expectedActions) as LogonType[]) {
      const expected = policy.groupMailboxes.expectedActions[logonType];
      const actual = mailbox[`Audit${logonType}`];
      if (expected.some((action) => !actual.includes(action))) gaps.push(`${name}: group Audit${logonType} ${actual.join(",")}`);
    }
    return gaps;
  }
  if (!mailbox.AuditEnabled) gaps.push(`${name}: AuditEnabled false`);
  if (!policy.mailboxes.actionRecipientTypes.includes(mailbox.RecipientTypeDetails)) return gaps;
  for (const logonType of Object.keys(policy.mailboxes.actions) as LogonType[]) {
    const actual = new Set(mailbox[`Audit${logonType}`]);
    for (const wanted of policy.mailboxes.actions[logonType]) {
      const action = wanted === "MessageBind" ? "MailItemsAccessed" : wanted;
      if (GATED.has(action) && !mailbox.auditPremiumLicensed) continue;
      if (!actual.has(action)) gaps.push(`${name}: Audit${logonType} lacks ${action}`);
    }
  }
  return gaps;
}

/** Every way the emulated tenant falls short of the policy (organisation, bypass, every mailbox). */
export function tenantGaps(tenant: TenantState, allowedBypass: readonly string[] = []): string[] {
  const gaps: string[] = [];
  if (tenant.organizationConfig.AuditDisabled) gaps.push("organization: AuditDisabled");
  if (!tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled) gaps.push("organization: unified audit log off");
  for (const association of tenant.bypassAssociations.values()) {
    if (association.AuditBypassEnabled && !allowedBypass.includes(association.Identity)) gaps.push(`bypass: ${association.Identity}`);
  }
  for (const mailbox of tenant.mailboxes.values()) gaps.push(...policyGaps(mailbox));
  return gaps;
}
