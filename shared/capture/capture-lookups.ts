/**
 * The capture's reads by identity, each checked: Microsoft documents for every Get- cmdlet that "the value $null or
 * a non-existent value for the Identity parameter returns all objects", so a row is used only when it is the object
 * asked for (`lookupByIdentity`). Once the capture mailbox is found, its permissions and statistics are read by its
 * Guid, not by the configured address, and rows that name another mailbox are refused.
 */
import { ExchangeError } from "../exchange/errors";
import { assertIdentity, hasProperty, lookupByIdentity } from "../exchange/lookup";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import { asText } from "./target-plan";

type Row = Record<string, unknown>;

export interface LookupContext {
  readonly transport: ExchangeTransport;
  readonly abortSignal?: AbortSignal;
}

/** Properties a Get- cmdlet shows a mailbox or group by. */
const NAME_PROPERTIES = ["Name", "Alias", "DisplayName", "PrimarySmtpAddress", "EmailAddresses", "Identity", "Guid", "ExternalDirectoryObjectId", "DistinguishedName"];

const MAILBOX_PROPERTIES = [
  "ExternalDirectoryObjectId",
  "Guid",
  "Identity",
  "Name",
  "Alias",
  "DisplayName",
  "DistinguishedName",
  "PrimarySmtpAddress",
  "EmailAddresses",
  "UserPrincipalName",
  "RecipientTypeDetails",
  "HiddenFromAddressListsEnabled",
  "ProhibitSendReceiveQuota",
];

function lookup(context: LookupContext, request: CmdletRequest, isWanted: (row: Readonly<Row>) => boolean): Promise<Row | undefined> {
  return lookupByIdentity(context.transport, request, isWanted, context.abortSignal ? { abortSignal: context.abortSignal } : {});
}

/** The access group by any of its names or addresses; undefined when Exchange does not know it as a distribution group. */
export function getAccessGroup(context: LookupContext, name: string): Promise<Row | undefined> {
  return lookup(context, { cmdlet: "Get-DistributionGroup", parameters: { Identity: name } }, hasProperty(name, ...NAME_PROPERTIES));
}

/** The capture mailbox by its address; undefined when it does not exist. */
export function getCaptureMailbox(context: LookupContext, address: string): Promise<Row | undefined> {
  return lookup(
    context,
    { cmdlet: "Get-Mailbox", parameters: { Identity: address }, select: MAILBOX_PROPERTIES },
    hasProperty(address, "PrimarySmtpAddress", "EmailAddresses", "UserPrincipalName"),
  );
}

/** A recipient of the tenant by address (its `RecipientTypeDetails` tells a mailbox from a mail user or contact). */
export function getRecipient(context: LookupContext, address: string): Promise<Row | undefined> {
  return lookup(
    context,
    { cmdlet: "Get-Recipient", parameters: { Identity: address }, select: ["Identity", "PrimarySmtpAddress", "EmailAddresses", "RecipientTypeDetails"] },
    hasProperty(address, "PrimarySmtpAddress", "EmailAddresses"),
  );
}

/** Every value the mailbox is known by, lower-cased: what an output row's `Identity` may show. */
function mailboxNames(mailbox: Readonly<Row>): Set<string> {
  return new Set(
    [...NAME_PROPERTIES, "UserPrincipalName"].flatMap((property) => {
      const value = mailbox[property];
      return (Array.isArray(value) ? value : [value]).map((item) => asText(item).replace(/^smtp:/i, "").toLowerCase()).filter((item) => item !== "");
    }),
  );
}

function identityMismatch(request: CmdletRequest, found: number, text: string): ExchangeError {
  return new ExchangeError({
    errorId: "IdentityMismatch",
    exceptionType: "",
    text: `${request.cmdlet} -Identity ${JSON.stringify(request.parameters?.["Identity"])} returned ${found} row(s) ${text}; nothing is assumed.`,
    status: 200,
    cmdlet: request.cmdlet,
  });
}

/** `Get-MailboxPermission` by the mailbox's Guid; every row must be this mailbox's (its `Identity` one of its names). */
export async function listMailboxPermissions(context: LookupContext, mailbox: Readonly<Row>): Promise<Row[]> {
  const request: CmdletRequest = { cmdlet: "Get-MailboxPermission", parameters: { Identity: asText(mailbox["Guid"]) } };
  assertIdentity(request);
  const rows = (await context.transport.invoke(request, context.abortSignal ? { abortSignal: context.abortSignal } : {})).value;
  const names = mailboxNames(mailbox);
  const foreign = rows.filter((row) => row["Identity"] !== undefined && !names.has(asText(row["Identity"]).toLowerCase()));
  if (foreign.length > 0) throw identityMismatch(request, foreign.length, "of another mailbox");
  return rows;
}

/** `Get-MailboxStatistics` by the mailbox's Guid; the row must carry that `MailboxGuid` when it shows one. */
export function getMailboxStatistics(context: LookupContext, mailbox: Readonly<Row>): Promise<Row | undefined> {
  const guid = asText(mailbox["Guid"]);
  const isThisMailbox = hasProperty(guid, "MailboxGuid");
  return lookup(
    context,
    { cmdlet: "Get-MailboxStatistics", parameters: { Identity: guid }, select: ["MailboxGuid", "TotalItemSize", "ItemCount"] },
    (row) => row["MailboxGuid"] === undefined || isThisMailbox(row),
  );
}
