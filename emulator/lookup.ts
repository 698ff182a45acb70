import { notFound } from "./cmdlet";
import type { EmulatedMailbox, TenantState } from "./tenant-state";

/**
 * Resolves a mailbox identity as Exchange does: Guid, ExternalDirectoryObjectId, Identity, Name, Alias,
 * DisplayName, PrimarySmtpAddress or UserPrincipalName (case-insensitive).
 */
export function findMailbox(tenant: TenantState, identity: string): EmulatedMailbox | undefined {
  const byId = tenant.mailboxes.get(identity);
  if (byId) return byId;
  const wanted = identity.toLowerCase();
  const indexed = identityIndex(tenant).get(wanted);
  // Identity properties are set at creation; the scan below still covers a mailbox a test edited in place.
  if (indexed && tenant.mailboxes.get(indexed.ExternalDirectoryObjectId) === indexed) return indexed;
  for (const mailbox of tenant.mailboxes.values()) {
    if (
      mailbox.Guid.toLowerCase() === wanted ||
      mailbox.ExternalDirectoryObjectId.toLowerCase() === wanted ||
      mailbox.Identity.toLowerCase() === wanted ||
      mailbox.Name.toLowerCase() === wanted ||
      mailbox.Alias.toLowerCase() === wanted ||
      mailbox.DisplayName.toLowerCase() === wanted ||
      mailbox.PrimarySmtpAddress.toLowerCase() === wanted ||
      mailbox.UserPrincipalName.toLowerCase() === wanted
    ) {
      return mailbox;
    }
  }
  return undefined;
}

interface IdentityIndex {
  readonly size: number;
  readonly byIdentity: Map<string, EmulatedMailbox>;
}

const indexes = new WeakMap<TenantState["mailboxes"], IdentityIndex>();

/** Lower-cased identities -> mailbox, rebuilt when mailboxes are added or removed (a 100,000-mailbox tenant is not scanned per call). */
function identityIndex(tenant: TenantState): Map<string, EmulatedMailbox> {
  const cached = indexes.get(tenant.mailboxes);
  if (cached && cached.size === tenant.mailboxes.size) return cached.byIdentity;
  const byIdentity = new Map<string, EmulatedMailbox>();
  for (const mailbox of tenant.mailboxes.values()) {
    for (const key of [mailbox.Guid, mailbox.ExternalDirectoryObjectId, mailbox.Identity, mailbox.Name, mailbox.Alias, mailbox.DisplayName, mailbox.PrimarySmtpAddress, mailbox.UserPrincipalName]) {
      const lower = key.toLowerCase();
      if (!byIdentity.has(lower)) byIdentity.set(lower, mailbox);
    }
  }
  indexes.set(tenant.mailboxes, { size: tenant.mailboxes.size, byIdentity });
  return byIdentity;
}

/** Like `findMailbox`, failing as Exchange does for an unknown identity. */
export function requireMailbox(tenant: TenantState, identity: string): EmulatedMailbox {
  const mailbox = findMailbox(tenant, identity);
  if (!mailbox) throw notFound(identity);
  return mailbox;
}
