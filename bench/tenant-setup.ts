/**
 * Bench tenants: a generated tenant first brought onto the audit policy (so that "clean" means compliant, not
 * Microsoft's defaults, which the ASD lists exceed), then a chosen share of it drifted. Works on the emulator's
 * state directly, through its own Set-Mailbox handler, so setting up costs no Exchange calls and is not measured.
 */
import { cmdlets } from "../emulator/cmdlets/index";
import type { EmulatedMailbox, TenantState } from "../emulator/tenant-state";
import { defaultAuditPolicy, parseAuditPolicy, type AuditPolicy } from "../shared/audit";
import { diffMailbox } from "../shared/audit/diff";
import { observedMailboxSchema } from "../shared/audit/observed";

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
  let random = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: enough to spread the picks; not for anything else.
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    return (random >>> 0) / 0x1_0000_0000;
  };
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
