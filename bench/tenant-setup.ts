/**
 * Bench tenants: a generated tenant first brought onto the audit policy (so that "clean" means compliant, not
 * Microsoft's defaults, which the ASD lists exceed), then a chosen share of it drifted. Works on the emulator's
 * state directly, through its own Set-Mailbox handler, so setting up costs no Exchange calls and is not measured.
 * Also the fault suite's injected failures of batch sub-requests.
 */
import { cmdlets } from "../emulator/cmdlets/index";
import type { FaultInjector, FaultTarget } from "../emulator/faults";
import type { EmulatedMailbox, TenantState } from "../emulator/tenant-state";
import { defaultAuditPolicy, parseAuditPolicy, type AuditPolicy } from "../shared/audit";
import { diffMailbox } from "../shared/audit/diff";
import { observedMailboxSchema } from "../shared/audit/observed";
import { injectedStatus, requestDraw, seededRandom } from "./scenario";

/** The shipped baseline with the bench's age limit (the same override the bench passes as AUDIT_LOG_AGE_LIMIT_DAYS). */
export function benchPolicy(auditLogAgeLimitDays: number): AuditPolicy {
  const policy = defaultAuditPolicy();
  return parseAuditPolicy({ ...policy, mailboxes: { ...policy.mailboxes, minimumAuditLogAgeInDays: auditLogAgeLimitDays } });
}

/** Applies the policy's writes to every mailbox (no Audit (Premium) licences), keeping each WhenChangedUTC. */
export function bringOntoPolicy(state: TenantState, policy: AuditPolicy): void {
  const setMailbox = cmdlets.get("set-mailbox");
  if (!setMailbox) throw new Error("The emulator has no Set-Mailbox");
  const context = { tenant: state, now: () => new Date() };
  for (const mailbox of state.mailboxes.values()) {
    const change = diffMailbox(policy, observedMailboxSchema.parse(mailbox), { licensed: false }).change;
    if (!change) continue;
    const whenChanged = mailbox.WhenChangedUTC;
    // The emulator's key, not the engine's write identity (Guid): any other identity is a scan of the whole tenant
    // (emulator/lookup.ts), which makes setting up 100,000 mailboxes take ~15 minutes instead of seconds.
    setMailbox.handle({ ...change.parameters, Identity: mailbox.ExternalDirectoryObjectId }, context);
    mailbox.WhenChangedUTC = whenChanged;
  }
}

/**
 * Drifts exactly round(share × mailboxes) mailboxes, as administrators do: auditing switched off, the age limit cut,
 * or an admin action removed (group mailboxes: only the age limit can drift). WhenChangedUTC moves to `whenChanged`.
 * Deterministic for a seed. Returns how many mailboxes drifted.
 */
export function driftMailboxes(state: TenantState, share: number, whenChanged: Date, seed: number): number {
  const mailboxes = [...state.mailboxes.values()];
  const wanted = Math.min(mailboxes.length, Math.round(mailboxes.length * share));
  const next = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < wanted) picked.add(Math.floor(next() * mailboxes.length));
  for (const index of picked) {
    const mailbox = mailboxes[index] as EmulatedMailbox;
    const kind = mailbox.RecipientTypeDetails === "GroupMailbox" ? 1 : index % 3;
    if (kind === 0) mailbox.AuditEnabled = false;
    else if (kind === 1) mailbox.AuditLogAgeLimit = "30.00:00:00";
    else mailbox.AuditAdmin = mailbox.AuditAdmin.slice(0, -1);
    mailbox.WhenChangedUTC = whenChanged.toISOString();
  }
  return picked.size;
}

/**
 * Answers `share` of all batch sub-requests 500 and another `share` 429 with `Retry-After: 1`, for the rest of the
 * emulator's life. Each attempt of a request (its cmdlet and parameters) draws once from `requestDraw`, so which
 * attempts fail depends on the seed only, not on the order concurrent batches arrive in. The emulator answers both
 * before the cmdlet runs and before its latency, and logs them with their status (see `executed` in scenario.ts).
 */
export function injectSubRequestFaults(faults: FaultInjector, share: number, seed: number): void {
  const attempts = new Map<string, number>();
  // The injector offers one sub-request to each fault in turn (the same target object): one draw serves both.
  const drawn = new WeakMap<FaultTarget, 500 | 429 | undefined>();
  const statusOf = (target: FaultTarget): 500 | 429 | undefined => {
    if (!drawn.has(target)) {
      const key = `${target.cmdlet} ${JSON.stringify(target.parameters)}`;
      const attempt = attempts.get(key) ?? 0;
      attempts.set(key, attempt + 1);
      drawn.set(target, injectedStatus(requestDraw(seed, key, attempt), share));
    }
    return drawn.get(target);
  };
  faults.add({ status: 500, times: Number.POSITIVE_INFINITY, inBatch: true, when: (target) => statusOf(target) === 500 });
  faults.add({ status: 429, retryAfterInSeconds: 1, times: Number.POSITIVE_INFINITY, inBatch: true, when: (target) => statusOf(target) === 429 });
}
