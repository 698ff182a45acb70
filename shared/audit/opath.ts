/**
 * OPATH filter building. Every value that reaches a `-Filter` goes through `opathString` (quotes doubled, control
 * characters refused) or `opathDate` (a real date, normalised), so no input can change a filter's structure.
 */

/** A single-quoted OPATH string literal: `o'brien` -> `'o''brien'`. */
export function opathString(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new RangeError("OPATH value contains a control character");
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * A quoted OPATH date-time literal of a UTC instant, written as Microsoft's filter documentation writes dates
 * (`'8/1/2017 2:00:00 PM'`, en-US, no zone: compared with a *UTC property such as WhenChangedUTC). Milliseconds are
 * dropped, which moves the instant earlier: a `-ge` filter then reads a superset, never less.
 */
export function opathDate(value: Date | string): string {
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a valid date: ${String(value)}`);
  const hours = date.getUTCHours();
  const time = [hours % 12 || 12, pad(date.getUTCMinutes()), pad(date.getUTCSeconds())].join(":");
  return opathString(`${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()} ${time} ${hours < 12 ? "AM" : "PM"}`);
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** `WhenChangedUTC -ge '<since>'`. */
export function changedSinceFilter(since: Date | string): string {
  return `WhenChangedUTC -ge ${opathDate(since)}`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 5321 dot-atom local part (apostrophes are legal, hence the escaping) and a dotted DNS domain.
const ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export type MailboxIdentity = { readonly kind: "guid" | "address"; readonly value: string };

/**
 * Validates named mailbox identities: an SMTP address / UPN (same shape) or a GUID, nothing else.
 * Throws a RangeError naming every rejected entry, before any call is made.
 */
export function parseMailboxIdentities(identities: readonly string[]): MailboxIdentity[] {
  const rejected: string[] = [];
  const parsed: MailboxIdentity[] = [];
  for (const raw of identities) {
    const value = raw.trim();
    if (GUID.test(value)) parsed.push({ kind: "guid", value: value.toLowerCase() });
    else if (value.length <= 320 && ADDRESS.test(value)) parsed.push({ kind: "address", value });
    else rejected.push(JSON.stringify(raw));
  }
  if (rejected.length > 0) {
    throw new RangeError(`Not an SMTP address, UPN or GUID: ${rejected.join(", ")}`);
  }
  return parsed;
}

/**
 * An ORed filter matching the identities by ExternalDirectoryObjectId (GUIDs) or PrimarySmtpAddress (addresses;
 * a UPN matches when it is also the primary SMTP address, as it usually is in cloud tenants).
 */
export function identityFilter(identities: readonly MailboxIdentity[]): string {
  if (identities.length === 0) throw new RangeError("identityFilter needs at least one identity");
  return identities
    .map((identity) =>
      identity.kind === "guid"
        ? `ExternalDirectoryObjectId -eq ${opathString(identity.value)}`
        : `PrimarySmtpAddress -eq ${opathString(identity.value)}`,
    )
    .join(" -or ");
}
