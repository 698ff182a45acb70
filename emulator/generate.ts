/**
 * Builds emulated tenants: deterministically from a seed (tests, demo, benchmark) or from a JSON fixture.
 * A clean mailbox carries Microsoft's current defaults; a drifted one carries the kinds of drift the
 * product must repair (missing actions, AuditEnabled off, short age limit, logon types taken off the default set).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { DEFAULT_AUDIT_LOG_AGE_LIMIT, LOGON_TYPES, defaultAuditActions } from "./audit-actions";
import {
  AUDIT_PREMIUM_PLAN_ID,
  AUDIT_PREMIUM_PLAN_NAME,
  type EmulatedGroup,
  type EmulatedMailbox,
  type EmulatedUser,
  type EmulatedSku,
  type LogonType,
  type RecipientTypeDetails,
  type TenantState,
} from "./tenant-state";

export interface MailboxCounts {
  user: number;
  shared: number;
  room: number;
  equipment: number;
  discovery: number;
  /** Microsoft 365 Group mailboxes (no Graph user behind them). */
  group: number;
}

export interface TenantGenerationOptions {
  /** Same seed and options, same tenant. */
  seed: number;
  /** Default: a GUID derived from the seed. */
  tenantId?: string;
  /** Default `contoso.onmicrosoft.com`. */
  initialDomain?: string;
  /** Missing types default to 0. */
  counts: Partial<MailboxCounts>;
  /** 0..1 share of mailboxes (of every type) with drifted audit settings; exact count = round(share × type count). Default 0. */
  driftShare?: number;
  /** Number of user/shared mailbox accounts with AuditBypassEnabled. Default 0. */
  bypassCount?: number;
  /** Org-wide `AuditDisabled`. Default false. */
  orgAuditDisabled?: boolean;
  /** Default true. */
  unifiedAuditLogIngestionEnabled?: boolean;
  /** Whether Set-AdminAuditLogConfig first needs Enable-OrganizationCustomization. Default false. */
  dehydrated?: boolean;
  /** How long Enable-OrganizationCustomization takes to take effect, in ms. Default 0. */
  customizationDelayInMs?: number;
  /** 0..1 share of user mailboxes whose account holds Audit (Premium); exact count = round(share × users). Default 0. */
  auditPremiumShare?: number;
  /** Latest WhenChanged/WhenCreated the generator uses. Default 2026-01-01T00:00:00Z. */
  now?: Date;
}

/** Display name of the generated mail-enabled security group (the capture mailbox's readers). */
export const GENERATED_MAIL_ENABLED_GROUP = "SOC Capture Readers";
/** Display name of the generated security group that is not mail-enabled. */
export const GENERATED_SECURITY_GROUP = "SOC Analysts";

const EXCHANGE_PLAN_ID = "efb87545-963c-4e0d-99df-69c6916d9eb0";
const E3_SKU_ID = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const E5_SKU_ID = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";
const DAY_IN_MS = 86_400_000;

const typeOrder: { key: keyof MailboxCounts; type: RecipientTypeDetails; prefix: string; label: string }[] = [
  { key: "user", type: "UserMailbox", prefix: "user", label: "User" },
  { key: "shared", type: "SharedMailbox", prefix: "shared", label: "Shared" },
  { key: "room", type: "RoomMailbox", prefix: "room", label: "Room" },
  { key: "equipment", type: "EquipmentMailbox", prefix: "equipment", label: "Equipment" },
  { key: "discovery", type: "DiscoveryMailbox", prefix: "discovery", label: "Discovery" },
  { key: "group", type: "GroupMailbox", prefix: "group", label: "Group" },
];

export function generateTenant(options: TenantGenerationOptions): TenantState {
  const random = mulberry32(options.seed);
  const guid = (): string => randomGuid(random);
  const nowInMs = (options.now ?? new Date("2026-01-01T00:00:00Z")).getTime();
  const nowIso = new Date(nowInMs).toISOString();
  const tenantId = options.tenantId ?? guid();
  const domain = options.initialDomain ?? "contoso.onmicrosoft.com";
  const driftShare = clampShare(options.driftShare ?? 0);
  const premiumShare = clampShare(options.auditPremiumShare ?? 0);

  const mailboxes = new Map<string, EmulatedMailbox>();
  const users = new Map<string, EmulatedUser>();
  const standardPlans = Object.freeze([plan(EXCHANGE_PLAN_ID, "exchange", nowIso)]);
  const premiumPlans = Object.freeze([...standardPlans, plan(AUDIT_PREMIUM_PLAN_ID, "M365AdvancedAuditing", nowIso)]);
  let premiumUsers = 0;
  let standardUsers = 0;

  for (const { key, type, prefix, label } of typeOrder) {
    const count = Math.max(0, Math.floor(options.counts[key] ?? 0));
    if (count === 0) continue;
    const drifted = pickExactly(count, Math.round(driftShare * count), random);
    const premium =
      type === "UserMailbox" ? pickExactly(count, Math.round(premiumShare * count), random) : new Uint8Array(count);
    for (let index = 0; index < count; index++) {
      const alias = `${prefix}${index + 1}`;
      const address = `${alias}@${domain}`;
      const createdInMs = nowInMs - Math.floor(random() * 365) * DAY_IN_MS - Math.floor(random() * DAY_IN_MS);
      const changedInMs = createdInMs + Math.floor(random() * (nowInMs - createdInMs));
      const auditPremiumLicensed = premium[index] === 1;
      const licensed = type === "UserMailbox";
      const mailbox: EmulatedMailbox = {
        Guid: guid(),
        ExternalDirectoryObjectId: guid(),
        Identity: alias,
        Name: alias,
        Alias: alias,
        DisplayName: `${label} ${index + 1}`,
        PrimarySmtpAddress: address,
        UserPrincipalName: address,
        RecipientTypeDetails: type,
        AuditEnabled: true,
        AuditLogAgeLimit: DEFAULT_AUDIT_LOG_AGE_LIMIT,
        AuditAdmin: defaultAuditActions("Admin", type, auditPremiumLicensed),
        AuditDelegate: defaultAuditActions("Delegate", type, auditPremiumLicensed),
        AuditOwner: defaultAuditActions("Owner", type, auditPremiumLicensed),
        DefaultAuditSet: ["Admin", "Delegate", "Owner"],
        HiddenFromAddressListsEnabled: false,
        WhenCreatedUTC: new Date(createdInMs).toISOString(),
        WhenChangedUTC: new Date(changedInMs).toISOString(),
        auditPremiumLicensed,
        licensed,
        totalItemSizeInBytes: Math.floor(random() * 5_000_000_000),
        itemCount: Math.floor(random() * 50_000),
      };
      if (drifted[index] === 1) applyDrift(mailbox, random);
      mailboxes.set(mailbox.ExternalDirectoryObjectId, mailbox);
      if (type === "GroupMailbox") continue;
      if (licensed && auditPremiumLicensed) premiumUsers++;
      else if (licensed) standardUsers++;
      users.set(mailbox.ExternalDirectoryObjectId, {
        id: mailbox.ExternalDirectoryObjectId,
        userPrincipalName: address,
        displayName: mailbox.DisplayName,
        mail: address,
        accountEnabled: true,
        assignedPlans: (licensed
          ? auditPremiumLicensed
            ? premiumPlans
            : standardPlans
          : []) as EmulatedUser["assignedPlans"],
        lastModifiedDateTime: mailbox.WhenChangedUTC,
      });
    }
  }

  const bypassAssociations: TenantState["bypassAssociations"] = new Map();
  const bypassable = [...mailboxes.values()].filter((mailbox) => mailbox.RecipientTypeDetails !== "GroupMailbox");
  const bypassed = pickExactly(bypassable.length, Math.min(options.bypassCount ?? 0, bypassable.length), random);
  bypassable.forEach((mailbox, index) => {
    if (bypassed[index] !== 1) return;
    bypassAssociations.set(mailbox.Identity, {
      Identity: mailbox.Identity,
      Name: mailbox.Name,
      Guid: mailbox.Guid,
      AuditBypassEnabled: true,
      WhenChangedUTC: mailbox.WhenChangedUTC,
    });
  });

  return {
    tenantId,
    initialDomain: domain,
    organizationConfig: {
      AuditDisabled: options.orgAuditDisabled ?? false,
      isDehydrated: options.dehydrated ?? false,
      ...(options.customizationDelayInMs ? { customizationDelayInMs: options.customizationDelayInMs } : {}),
      WhenChangedUTC: nowIso,
    },
    adminAuditLogConfig: {
      UnifiedAuditLogIngestionEnabled: options.unifiedAuditLogIngestionEnabled ?? true,
      WhenChangedUTC: nowIso,
    },
    transportConfig: { JournalingReportNdrTo: null },
    mailboxes,
    bypassAssociations,
    mailboxPermissions: [],
    groups: securityGroups(guid, domain),
    transportRules: [],
    journalRules: [],
    users,
    skus: skus(standardUsers, premiumUsers),
    sentMail: [],
  };
}

function applyDrift(mailbox: EmulatedMailbox, random: () => number): void {
  if (mailbox.RecipientTypeDetails === "GroupMailbox") {
    // Only the age limit of a group mailbox can drift: its actions are fixed by Microsoft.
    mailbox.AuditLogAgeLimit = "30.00:00:00";
    return;
  }
  const kind = Math.floor(random() * 4);
  const logonType = LOGON_TYPES[Math.floor(random() * LOGON_TYPES.length)] as LogonType;
  const property = `Audit${logonType}` as const;
  switch (kind) {
    case 0: {
      const actions = mailbox[property];
      const keep = Math.max(1, actions.length - 1 - Math.floor(random() * 3));
      mailbox[property] = actions.slice(0, keep);
      mailbox.DefaultAuditSet = mailbox.DefaultAuditSet.filter((type) => type !== logonType);
      break;
    }
    case 1:
      mailbox.AuditEnabled = false;
      break;
    case 2:
      mailbox.AuditLogAgeLimit = random() < 0.5 ? "7.00:00:00" : "30.00:00:00";
      break;
    default:
      // Same actions today, but customised: Microsoft's future additions will not reach this logon type.
      mailbox.DefaultAuditSet = mailbox.DefaultAuditSet.filter((type) => type !== logonType);
  }
}

function securityGroups(guid: () => string, domain: string): Map<string, EmulatedGroup> {
  const mailEnabled: EmulatedGroup = {
    ExternalDirectoryObjectId: guid(),
    Identity: GENERATED_MAIL_ENABLED_GROUP,
    Name: GENERATED_MAIL_ENABLED_GROUP,
    DisplayName: GENERATED_MAIL_ENABLED_GROUP,
    PrimarySmtpAddress: `soc-capture-readers@${domain}`,
    RecipientTypeDetails: "MailUniversalSecurityGroup",
    securityEnabled: true,
    mailEnabled: true,
  };
  const securityOnly: EmulatedGroup = {
    ExternalDirectoryObjectId: guid(),
    Identity: GENERATED_SECURITY_GROUP,
    Name: GENERATED_SECURITY_GROUP,
    DisplayName: GENERATED_SECURITY_GROUP,
    PrimarySmtpAddress: "",
    RecipientTypeDetails: "SecurityGroup",
    securityEnabled: true,
    mailEnabled: false,
  };
  return new Map([mailEnabled, securityOnly].map((group) => [group.ExternalDirectoryObjectId, group]));
}

function skus(standardUsers: number, premiumUsers: number): EmulatedSku[] {
  const exchangePlan = {
    servicePlanId: EXCHANGE_PLAN_ID,
    servicePlanName: "EXCHANGE_S_ENTERPRISE",
    provisioningStatus: "Success",
    appliesTo: "User",
  };
  const result: EmulatedSku[] = [];
  if (standardUsers > 0) {
    result.push({
      skuId: E3_SKU_ID,
      skuPartNumber: "SPE_E3",
      servicePlans: [exchangePlan],
      prepaidUnits: { enabled: standardUsers, suspended: 0, warning: 0 },
      consumedUnits: standardUsers,
    });
  }
  if (premiumUsers > 0) {
    result.push({
      skuId: E5_SKU_ID,
      skuPartNumber: "SPE_E5",
      servicePlans: [
        exchangePlan,
        {
          servicePlanId: AUDIT_PREMIUM_PLAN_ID,
          servicePlanName: AUDIT_PREMIUM_PLAN_NAME,
          provisioningStatus: "Success",
          appliesTo: "User",
        },
      ],
      prepaidUnits: { enabled: premiumUsers, suspended: 0, warning: 0 },
      consumedUnits: premiumUsers,
    });
  }
  return result;
}

function plan(servicePlanId: string, service: string, assignedDateTime: string): EmulatedUser["assignedPlans"][number] {
  return Object.freeze({ assignedDateTime, capabilityStatus: "Enabled", service, servicePlanId });
}

function clampShare(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}

/** Marks exactly `wanted` of `count` positions (partial Fisher-Yates), so shares are exact, not approximate. */
function pickExactly(count: number, wanted: number, random: () => number): Uint8Array {
  const picked = new Uint8Array(count);
  if (wanted <= 0) return picked;
  const indices = new Uint32Array(count);
  for (let index = 0; index < count; index++) indices[index] = index;
  for (let index = 0; index < wanted; index++) {
    const swap = index + Math.floor(random() * (count - index));
    const chosen = indices[swap] as number;
    indices[swap] = indices[index] as number;
    indices[index] = chosen;
    picked[chosen] = 1;
  }
  return picked;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function randomGuid(random: () => number): string {
  const bytes = new Array<number>(16);
  for (let word = 0; word < 4; word++) {
    const value = Math.floor(random() * 4_294_967_296);
    for (let shift = 0; shift < 4; shift++) bytes[word * 4 + shift] = (value >>> (shift * 8)) & 0xff;
  }
  // Version 4 and RFC 4122 variant bits, so the ids look like the GUIDs Entra ID issues.
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  let text = "";
  for (let index = 0; index < 16; index++) {
    text += BYTE_HEX[bytes[index] as number];
    if (index === 3 || index === 5 || index === 7 || index === 9) text += "-";
  }
  return text;
}

// ---- JSON fixtures ----

const isoTime = z.iso.datetime({ offset: true });
const logonTypeSchema = z.enum(["Admin", "Delegate", "Owner"]);
const recipientTypeSchema = z.enum([
  "UserMailbox",
  "SharedMailbox",
  "RoomMailbox",
  "EquipmentMailbox",
  "DiscoveryMailbox",
  "GroupMailbox",
]);

const mailboxSchema = z
  .object({
    Guid: z.string().min(1),
    ExternalDirectoryObjectId: z.string().min(1),
    Name: z.string().min(1),
    PrimarySmtpAddress: z.string().includes("@"),
    RecipientTypeDetails: recipientTypeSchema,
    Identity: z.string().optional(),
    Alias: z.string().optional(),
    DisplayName: z.string().optional(),
    UserPrincipalName: z.string().optional(),
    AuditEnabled: z.boolean().default(true),
    AuditLogAgeLimit: z
      .string()
      .regex(/^(\d+\.)?\d{2}:\d{2}:\d{2}$/)
      .default(DEFAULT_AUDIT_LOG_AGE_LIMIT),
    AuditAdmin: z.array(z.string()).optional(),
    AuditDelegate: z.array(z.string()).optional(),
    AuditOwner: z.array(z.string()).optional(),
    DefaultAuditSet: z.array(logonTypeSchema).default(["Admin", "Delegate", "Owner"]),
    HiddenFromAddressListsEnabled: z.boolean().default(false),
    WhenCreatedUTC: isoTime,
    WhenChangedUTC: isoTime,
    auditPremiumLicensed: z.boolean().default(false),
    licensed: z.boolean().optional(),
    totalItemSizeInBytes: z.number().nonnegative().default(0),
    itemCount: z.number().int().nonnegative().default(0),
  })
  .transform((mailbox): EmulatedMailbox => ({
    ...mailbox,
    Identity: mailbox.Identity ?? mailbox.Name,
    Alias: mailbox.Alias ?? mailbox.Name,
    DisplayName: mailbox.DisplayName ?? mailbox.Name,
    UserPrincipalName: mailbox.UserPrincipalName ?? mailbox.PrimarySmtpAddress,
    // Omitted lists mean "Microsoft's default for this mailbox", as on a fresh mailbox.
    AuditAdmin: mailbox.AuditAdmin ?? [
      ...defaultAuditActions("Admin", mailbox.RecipientTypeDetails, mailbox.auditPremiumLicensed),
    ],
    AuditDelegate: mailbox.AuditDelegate ?? [
      ...defaultAuditActions("Delegate", mailbox.RecipientTypeDetails, mailbox.auditPremiumLicensed),
    ],
    AuditOwner: mailbox.AuditOwner ?? [
      ...defaultAuditActions("Owner", mailbox.RecipientTypeDetails, mailbox.auditPremiumLicensed),
    ],
    licensed: mailbox.licensed ?? mailbox.RecipientTypeDetails === "UserMailbox",
  }));

const fixtureSchema = z.object({
  tenantId: z.string().min(1),
  initialDomain: z.string().endsWith(".onmicrosoft.com"),
  organizationConfig: z.object({
    AuditDisabled: z.boolean(),
    isDehydrated: z.boolean().default(false),
    WhenChangedUTC: isoTime,
  }),
  adminAuditLogConfig: z.object({ UnifiedAuditLogIngestionEnabled: z.boolean(), WhenChangedUTC: isoTime }),
  transportConfig: z.object({ JournalingReportNdrTo: z.string().nullable() }).default({ JournalingReportNdrTo: null }),
  mailboxes: z.array(mailboxSchema),
  bypassAssociations: z
    .array(
      z.object({
        Identity: z.string().min(1),
        Name: z.string().min(1),
        /** Default: the Guid of the mailbox with that identity, else one derived from the identity. */
        Guid: z.string().min(1).optional(),
        AuditBypassEnabled: z.boolean(),
        WhenChangedUTC: isoTime,
      }),
    )
    .default([]),
  mailboxPermissions: z
    .array(
      z.object({
        Identity: z.string(),
        User: z.string(),
        AccessRights: z.array(z.string()),
        IsInherited: z.boolean(),
        Deny: z.boolean(),
        autoMapping: z.boolean(),
      }),
    )
    .default([]),
  groups: z
    .array(
      z.object({
        ExternalDirectoryObjectId: z.string().min(1),
        Identity: z.string(),
        Name: z.string(),
        DisplayName: z.string(),
        PrimarySmtpAddress: z.string(),
        RecipientTypeDetails: z.enum(["MailUniversalSecurityGroup", "MailUniversalDistributionGroup", "SecurityGroup"]),
        securityEnabled: z.boolean(),
        mailEnabled: z.boolean(),
      }),
    )
    .default([]),
  // Transport and journal rules are owned by the capture cmdlets; a fixture passes them through as Exchange shows them.
  transportRules: z
    .array(z.custom<TenantState["transportRules"][number]>((value) => typeof value === "object" && value !== null))
    .default([]),
  journalRules: z
    .array(z.custom<TenantState["journalRules"][number]>((value) => typeof value === "object" && value !== null))
    .default([]),
  users: z
    .array(
      z.object({
        id: z.string().min(1),
        userPrincipalName: z.string(),
        displayName: z.string(),
        mail: z.string().nullable(),
        accountEnabled: z.boolean(),
        assignedPlans: z.array(
          z.object({
            assignedDateTime: isoTime,
            capabilityStatus: z.string(),
            service: z.string(),
            servicePlanId: z.string(),
          }),
        ),
        lastModifiedDateTime: isoTime,
      }),
    )
    .default([]),
  skus: z
    .array(
      z.object({
        skuId: z.string(),
        skuPartNumber: z.string(),
        servicePlans: z.array(
          z.object({
            servicePlanId: z.string(),
            servicePlanName: z.string(),
            provisioningStatus: z.string(),
            appliesTo: z.string(),
          }),
        ),
        prepaidUnits: z.object({ enabled: z.number(), suspended: z.number(), warning: z.number() }),
        consumedUnits: z.number(),
      }),
    )
    .default([]),
});

/** The JSON shape of a tenant fixture (Maps of the state are arrays here). */
export type TenantFixture = z.input<typeof fixtureSchema>;

/** Validates a parsed JSON fixture and builds tenant state from it; throws a `ZodError` listing every problem. */
export function loadTenantFixture(json: unknown): TenantState {
  const fixture = fixtureSchema.parse(json);
  return {
    tenantId: fixture.tenantId,
    initialDomain: fixture.initialDomain,
    organizationConfig: fixture.organizationConfig,
    adminAuditLogConfig: fixture.adminAuditLogConfig,
    transportConfig: fixture.transportConfig,
    mailboxes: new Map(fixture.mailboxes.map((mailbox) => [mailbox.ExternalDirectoryObjectId, mailbox])),
    bypassAssociations: new Map(
      fixture.bypassAssociations.map((association) => [
        association.Identity,
        { ...association, Guid: association.Guid ?? accountGuid(fixture.mailboxes, association.Identity) },
      ]),
    ),
    mailboxPermissions: fixture.mailboxPermissions,
    groups: new Map(fixture.groups.map((group) => [group.ExternalDirectoryObjectId, group])),
    transportRules: fixture.transportRules,
    journalRules: fixture.journalRules,
    users: new Map(fixture.users.map((user) => [user.id, user])),
    skus: fixture.skus,
    sentMail: [],
  };
}

/** The GUID of a fixture account: its mailbox's, or (a service account without one) a stable one from its identity. */
function accountGuid(mailboxes: readonly { Identity: string; Guid: string }[], identity: string): string {
  const mailbox = mailboxes.find((candidate) => candidate.Identity.toLowerCase() === identity.toLowerCase());
  if (mailbox) return mailbox.Guid;
  const hex = createHash("sha256").update(identity.toLowerCase()).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
