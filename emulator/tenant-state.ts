/**
 * In-memory state of an emulated Microsoft 365 tenant. Property names are Exchange's own (as the admin
 * REST endpoint returns them), so cmdlet handlers can return objects straight from here.
 * Times are ISO-8601 UTC strings. Lists of audit actions keep Exchange's casing.
 */

export type RecipientTypeDetails =
  | "UserMailbox"
  | "SharedMailbox"
  | "RoomMailbox"
  | "EquipmentMailbox"
  | "DiscoveryMailbox"
  | "GroupMailbox";

export type LogonType = "Admin" | "Delegate" | "Owner";

export interface EmulatedMailbox {
  /** Exchange object GUID. */
  Guid: string;
  /** Entra ID object id of the mailbox's account (also the Graph user / group id). */
  ExternalDirectoryObjectId: string;
  Identity: string;
  Name: string;
  Alias: string;
  DisplayName: string;
  PrimarySmtpAddress: string;
  UserPrincipalName: string;
  RecipientTypeDetails: RecipientTypeDetails;
  AuditEnabled: boolean;
  /** `dd.hh:mm:ss`, e.g. `90.00:00:00`. */
  AuditLogAgeLimit: string;
  AuditAdmin: string[];
  AuditDelegate: string[];
  AuditOwner: string[];
  /** Logon types still on Microsoft's managed default set. */
  DefaultAuditSet: LogonType[];
  HiddenFromAddressListsEnabled: boolean;
  WhenCreatedUTC: string;
  WhenChangedUTC: string;
  /** Not an Exchange property: whether the account holds the Audit (Premium) plan (M365_ADVANCED_AUDITING). */
  auditPremiumLicensed: boolean;
  /** Not an Exchange property: any licence at all (drives the 50 GB / 100 GB quota). */
  licensed: boolean;
  /** Not an Exchange property: mailbox size and item count for Get-MailboxStatistics. */
  totalItemSizeInBytes: number;
  itemCount: number;
}

export interface EmulatedBypassAssociation {
  /** Identity of the account (mailbox identity or a user/service account name). */
  Identity: string;
  Name: string;
  /** The account object's GUID (for a mailbox's account, the mailbox's Guid). */
  Guid: string;
  AuditBypassEnabled: boolean;
  WhenChangedUTC: string;
}

export interface EmulatedMailboxPermission {
  /** Mailbox identity the permission is on. */
  Identity: string;
  /** Trustee, e.g. `NT AUTHORITY\SELF` or a group/user name or address. */
  User: string;
  AccessRights: string[];
  IsInherited: boolean;
  Deny: boolean;
  /** Not returned by Exchange: whether AutoMapping was requested when granted. */
  autoMapping: boolean;
}

export interface EmulatedGroup {
  /** Entra ID object id. */
  ExternalDirectoryObjectId: string;
  Identity: string;
  Name: string;
  DisplayName: string;
  /** Empty for a non-mail-enabled security group. */
  PrimarySmtpAddress: string;
  /** `MailUniversalSecurityGroup`, `MailUniversalDistributionGroup`, or `SecurityGroup` (not mail-enabled). */
  RecipientTypeDetails: "MailUniversalSecurityGroup" | "MailUniversalDistributionGroup" | "SecurityGroup";
  securityEnabled: boolean;
  mailEnabled: boolean;
}

/** A transport (mail flow) rule. Only the properties the product reads or writes are modelled. */
export interface EmulatedTransportRule {
  Guid: string;
  Identity: string;
  Name: string;
  Priority: number;
  /** `Enforce` | `Audit` | `AuditAndNotify`. */
  Mode: string;
  /** `Enabled` | `Disabled`. */
  State: string;
  Comments: string;
  StopRuleProcessing: boolean;
  /** `Ignore` | `Defer`. */
  RuleErrorAction: string;
  /** `Header` | `Envelope` | `HeaderOrEnvelope`. */
  SenderAddressLocation: string;
  FromScope: string | null;
  SentToScope: string | null;
  From: string[] | null;
  SentTo: string[] | null;
  ExceptIfFrom: string[] | null;
  ExceptIfSentTo: string[] | null;
  ExceptIfFromScope: string | null;
  ExceptIfSentToScope: string | null;
  ExceptIfHeaderContainsMessageHeader: string | null;
  ExceptIfHeaderContainsWords: string[] | null;
  ExceptIfMessageTypeMatches: string | null;
  BlindCopyTo: string[] | null;
  CopyTo: string[] | null;
  AddToRecipients: string[] | null;
  RedirectMessageTo: string[] | null;
  DeleteMessage: boolean;
  SetHeaderName: string | null;
  SetHeaderValue: string | null;
  WhenChangedUTC: string;
}

export interface EmulatedJournalRule {
  Guid: string;
  Identity: string;
  Name: string;
  JournalEmailAddress: string;
  /** `Global` | `Internal` | `External`. */
  Scope: string;
  Recipient: string | null;
  Enabled: boolean;
}

/** A Graph user (also the account behind each user/shared/resource mailbox). */
export interface EmulatedUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  mail: string | null;
  accountEnabled: boolean;
  assignedPlans: { assignedDateTime: string; capabilityStatus: string; service: string; servicePlanId: string }[];
  /** For users/delta. */
  lastModifiedDateTime: string;
}

export interface EmulatedSku {
  skuId: string;
  skuPartNumber: string;
  servicePlans: { servicePlanId: string; servicePlanName: string; provisioningStatus: string; appliesTo: string }[];
  prepaidUnits: { enabled: number; suspended: number; warning: number };
  consumedUnits: number;
}

export interface SentMail {
  from: string;
  message: unknown;
  saveToSentItems: boolean;
  sentAtUTC: string;
}

export interface TenantState {
  tenantId: string;
  /** e.g. `contoso.onmicrosoft.com`. */
  initialDomain: string;
  organizationConfig: {
    AuditDisabled: boolean;
    /** Not Exchange: a dehydrated tenant needs Enable-OrganizationCustomization before Set-AdminAuditLogConfig. */
    isDehydrated: boolean;
    /**
     * Not Exchange: how long Enable-OrganizationCustomization takes to take effect (reported: minutes to an hour).
     * Default 0 (at once).
     */
    customizationDelayInMs?: number;
    /** Not Exchange: when a requested customization takes effect. */
    customizationEffectiveAt?: string;
    WhenChangedUTC: string;
  };
  adminAuditLogConfig: { UnifiedAuditLogIngestionEnabled: boolean; WhenChangedUTC: string };
  transportConfig: { JournalingReportNdrTo: string | null };
  /** Keyed by ExternalDirectoryObjectId; insertion order is listing order. */
  mailboxes: Map<string, EmulatedMailbox>;
  bypassAssociations: Map<string, EmulatedBypassAssociation>;
  mailboxPermissions: EmulatedMailboxPermission[];
  groups: Map<string, EmulatedGroup>;
  transportRules: EmulatedTransportRule[];
  journalRules: EmulatedJournalRule[];
  users: Map<string, EmulatedUser>;
  skus: EmulatedSku[];
  sentMail: SentMail[];
  /** The product's app; `startEmulator` adds a fully permitted one when absent. */
  servicePrincipal?: EmulatedServicePrincipal;
}

/** Audit (Premium) service plan. */
export const AUDIT_PREMIUM_PLAN_ID = "2f442157-a11c-46b9-ae5b-6e39ff4e5849";
export const AUDIT_PREMIUM_PLAN_NAME = "M365_ADVANCED_AUDITING";

/**
 * The app registration (or managed identity) the product runs as, as Exchange's `Get-ServicePrincipal` shows it, plus
 * what Entra ID and Exchange grant it. Not Exchange properties: `exchangePermissions` and `graphPermissions` (the
 * `roles` claim of its tokens per resource) and `roles` (the Exchange management roles its role group holds).
 */
export interface EmulatedServicePrincipal {
  AppId: string;
  ObjectId: string;
  DisplayName: string;
  Identity: string;
  exchangePermissions: string[];
  graphPermissions: string[];
  roles: string[];
}
