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

/** Like `findMailbox`, failing as Exchange does for an unknown identity. */
export function requireMailbox(tenant: TenantState, identity: string): EmulatedMailbox {
  const mailbox = findMailbox(tenant, identity);
  if (!mailbox) throw notFound(identity);
  return mailbox;
}
