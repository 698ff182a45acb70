/**
 * Observed Exchange state, validated at the boundary. Property names are Exchange's own; only the properties the
 * baseline needs are requested (`$select`) and modelled.
 */
import { z } from "zod";

const multiValued = z
  .union([z.array(z.string()), z.string(), z.null()])
  .optional()
  .transform((value) => (value == null ? [] : typeof value === "string" ? value.split(/[,\s]+/).filter(Boolean) : value));

export const observedMailboxSchema = z.object({
  ExternalDirectoryObjectId: z.string().nullish(),
  Guid: z.string().nullish(),
  PrimarySmtpAddress: z.string().nullish(),
  UserPrincipalName: z.string().nullish(),
  DisplayName: z.string().nullish(),
  RecipientTypeDetails: z.string().min(1),
  AuditEnabled: z.boolean(),
  AuditLogAgeLimit: z.string(),
  AuditAdmin: multiValued,
  AuditDelegate: multiValued,
  AuditOwner: multiValued,
  DefaultAuditSet: multiValued,
  WhenChangedUTC: z.string().nullish(),
});
export type ObservedMailbox = z.output<typeof observedMailboxSchema>;

/** `$select` for mailbox reads (Get-Mailbox and Get-Mailbox -GroupMailbox): the audit properties, identities and WhenChangedUTC. */
export const MAILBOX_SELECT: readonly string[] = Object.keys(observedMailboxSchema.shape);

export const observedOrganizationSchema = z.object({
  /** Get-OrganizationConfig. */
  AuditDisabled: z.boolean(),
  /** Get-OrganizationConfig: the tenant's name, for people reading the output (absent: the tenant id alone). */
  DisplayName: z.string().nullish(),
  Identity: z.string().nullish(),
  /** Get-AdminAuditLogConfig. */
  UnifiedAuditLogIngestionEnabled: z.boolean(),
});
export type ObservedOrganization = z.output<typeof observedOrganizationSchema>;

export const observedBypassSchema = z.object({
  Identity: z.string().min(1),
  Name: z.string().nullish(),
  /** The account's GUID: associations are looked up and written by it (unique, unlike names). */
  Guid: z.string().nullish(),
  AuditBypassEnabled: z.boolean(),
});
export type ObservedBypass = z.output<typeof observedBypassSchema>;
export const BYPASS_SELECT: readonly string[] = Object.keys(observedBypassSchema.shape);

/** Stable target id of a mailbox: its Entra object id, else its Exchange GUID (system mailboxes have no Entra id). */
export function mailboxTargetId(mailbox: Pick<ObservedMailbox, "ExternalDirectoryObjectId" | "Guid" | "PrimarySmtpAddress">): string {
  return mailbox.ExternalDirectoryObjectId || mailbox.Guid || mailbox.PrimarySmtpAddress || "unknown";
}

/** The identity to write with: Exchange's own GUID when present (always unique), else the target id. */
export function mailboxWriteIdentity(mailbox: ObservedMailbox): string {
  return mailbox.Guid || mailboxTargetId(mailbox);
}
