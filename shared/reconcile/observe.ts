/**
 * Observe: every read of Exchange state the audit baseline makes, validated at the boundary. Mailboxes come from a
 * table of sources (Get-Mailbox, and Get-Mailbox -GroupMailbox for Microsoft 365 Group mailboxes: Exchange keeps
 * them apart), so a source is one row here, not a code path.
 */
import { GROUP_MAILBOX } from "../audit/diff";
import {
  BYPASS_SELECT,
  MAILBOX_SELECT,
  observedBypassSchema,
  observedMailboxSchema,
  observedOrganizationSchema,
  type ObservedBypass,
  type ObservedMailbox,
  type ObservedOrganization,
} from "../audit/observed";
import type { MailboxIdentity } from "../audit/opath";
import type { TargetOutcome } from "../domain/outcome";
import { isNotFoundError } from "../exchange/errors";
import { hasProperty, identifiedRow } from "../exchange/lookup";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import { invalidRowOutcome } from "./verdicts";

/** Where mailboxes are read from. */
export interface MailboxSource {
  readonly name: string;
  /** The read, with an optional OPATH filter. */
  request(filter?: string): CmdletRequest;
  /** Whether a mailbox belongs to this source (to read it back from the same one). */
  holds(mailbox: Pick<ObservedMailbox, "RecipientTypeDetails">): boolean;
}

/**
 * Get-Mailbox serves user, shared, room, equipment and discovery mailboxes; group mailboxes only with -GroupMailbox.
 * Both are server-side cmdlets InvokeCommand runs (Get-EXOMailbox and its -PropertySets belong to the PowerShell
 * module); `$select` trims the output to the audit properties.
 */
export const MAILBOX_SOURCES: readonly MailboxSource[] = [
  {
    name: "mailboxes",
    request: (filter) => ({ cmdlet: "Get-Mailbox", parameters: { ResultSize: "Unlimited", ...filterParameter(filter) }, select: MAILBOX_SELECT }),
    holds: (mailbox) => mailbox.RecipientTypeDetails !== GROUP_MAILBOX,
  },
  {
    name: "group mailboxes",
    request: (filter) => ({ cmdlet: "Get-Mailbox", parameters: { GroupMailbox: true, ResultSize: "Unlimited", ...filterParameter(filter) }, select: MAILBOX_SELECT }),
    holds: (mailbox) => mailbox.RecipientTypeDetails === GROUP_MAILBOX,
  },
];

function filterParameter(filter: string | undefined): { Filter?: string } {
  return filter === undefined ? {} : { Filter: filter };
}

/** One page of mailboxes: the rows that validate, and an outcome for each row that does not. */
export interface MailboxPage {
  readonly mailboxes: ObservedMailbox[];
  readonly invalid: TargetOutcome[];
}

/** Mailbox pages, parsed; the next page is read while the caller works on this one (`readAhead`). */
export async function* mailboxPages(transport: ExchangeTransport, request: CmdletRequest): AsyncGenerator<MailboxPage> {
  for await (const rows of readAhead(transport.pages(request))) {
    const page: MailboxPage = { mailboxes: [], invalid: [] };
    for (const row of rows) {
      const parsed = observedMailboxSchema.safeParse(row);
      if (parsed.success) page.mailboxes.push(parsed.data);
      else page.invalid.push(invalidRowOutcome(row, parsed.error.message));
    }
    yield page;
  }
}

/**
 * The items of `source`, asking it for the next one as soon as one is handed out: a page's planning, apply and
 * recording overlap Exchange's time for the next page (one page ahead, so memory stays one page more). A failure
 * of the read ahead surfaces where that page is taken; a caller that stops early closes the source once the read
 * ahead has settled.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const result = await next;
      if (result.done) {
        finished = true;
        return;
      }
      next = iterator.next();
      // Handled where it is awaited; a caller that stops early must not leave it unhandled.
      next.catch(() => undefined);
      yield result.value;
    }
  } finally {
    if (!finished) {
      const pending = await next.then(
        (result) => result,
        () => ({ done: true as const, value: undefined }),
      );
      if (!pending.done) await iterator.return?.();
    }
  }
}

/** The organisation switches: Get-OrganizationConfig and Get-AdminAuditLogConfig. */
export async function readOrganization(transport: ExchangeTransport): Promise<ObservedOrganization> {
  const [config, auditLog] = await Promise.all([
    transport.invoke({ cmdlet: "Get-OrganizationConfig", select: ["AuditDisabled", "DisplayName", "Identity"] }),
    transport.invoke({ cmdlet: "Get-AdminAuditLogConfig", select: ["UnifiedAuditLogIngestionEnabled"] }),
  ]);
  return observedOrganizationSchema.parse({ ...config.value[0], ...auditLog.value[0] });
}

/** Every bypass association, page by page (read one ahead, as mailbox pages). */
export async function* bypassPages(transport: ExchangeTransport): AsyncGenerator<ObservedBypass[]> {
  const request: CmdletRequest = { cmdlet: "Get-MailboxAuditBypassAssociation", parameters: { ResultSize: "Unlimited" }, select: BYPASS_SELECT };
  for await (const page of readAhead(transport.pages(request))) yield page.map((row) => observedBypassSchema.parse(row));
}

function bypassLookup(identity: string): CmdletRequest {
  return { cmdlet: "Get-MailboxAuditBypassAssociation", parameters: { Identity: identity }, select: BYPASS_SELECT };
}

/**
 * Associations by GUID (or, for one listed without a GUID, by its Identity), batched; each answer must be the
 * association asked for (a non-existent identity lists every association, Microsoft documents). An account gone
 * since it was read has nothing left to bypass.
 */
export async function lookupBypass(transport: ExchangeTransport, identities: readonly string[]): Promise<ObservedBypass[]> {
  const requests = identities.map(bypassLookup);
  const associations: ObservedBypass[] = [];
  for (const [index, result] of (await transport.batch(requests)).entries()) {
    if (!result.ok && isNotFoundError(result.error)) continue;
    if (!result.ok) throw result.error;
    const row = identifiedRow(requests[index] as CmdletRequest, result.result, hasProperty(identities[index] ?? "", "Guid", "Identity"));
    if (row) associations.push(observedBypassSchema.parse(row));
  }
  return associations;
}

/** The identity that finds a mailbox again: its Entra object id, else its primary address. */
export function readBackIdentity(mailbox: ObservedMailbox): MailboxIdentity {
  return mailbox.ExternalDirectoryObjectId
    ? { kind: "guid", value: mailbox.ExternalDirectoryObjectId.toLowerCase() }
    : { kind: "address", value: mailbox.PrimarySmtpAddress ?? "" };
}

/** Whether a mailbox is the one an identity names (object id or Exchange GUID; primary address or UPN). */
export function matchesIdentity(mailbox: ObservedMailbox, identity: MailboxIdentity): boolean {
  const wanted = identity.value.toLowerCase();
  const candidates = identity.kind === "guid" ? [mailbox.ExternalDirectoryObjectId, mailbox.Guid] : [mailbox.PrimarySmtpAddress, mailbox.UserPrincipalName];
  return candidates.some((candidate) => candidate?.toLowerCase() === wanted);
}
