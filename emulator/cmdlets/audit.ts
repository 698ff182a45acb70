/**
 * The audit cmdlets of the emulated Exchange Online: organisation and unified audit log switches, mailbox
 * listing (Get-Mailbox; Get-EXOMailbox is the PowerShell module's own and InvokeCommand does not know it), Set-Mailbox's audit parameters and audit bypass associations.
 * Texts follow /work/shared/reference/exchange-online.md; where a text is only community-observed or the
 * emulator's own, the comment beside it says so.
 *
 * Bypass associations: Exchange has one for every mail-enabled account. The state keeps only the ones that
 * were ever set (keyed by the association's Identity, which for a mailbox is the mailbox's Identity); every
 * other non-group mailbox is listed as not bypassed.
 */
import { CmdletFailure, notFound, type CmdletContext, type CmdletDefinition } from "../cmdlet";
import {
  LOGON_TYPES,
  PREMIUM_ACTIONS,
  VALID_ACTIONS,
  canonicalAction,
  defaultAuditActions,
  sortActions,
} from "../audit-actions";
import { findMailbox } from "../lookup";
import { compileOpathFilter, type MailboxPredicate } from "../opath";
import type {
  EmulatedBypassAssociation,
  EmulatedMailbox,
  LogonType,
  RecipientTypeDetails,
  TenantState,
} from "../tenant-state";
import {
  limited,
  matchEnum,
  missingMandatory,
  noChangeWarning,
  optionalBoolean,
  optionalString,
  requiredString,
  resultSize,
} from "./capture-parameters";

const bindingFailure = "System.Management.Automation.ParameterBindingException";
const validationFailure = "Microsoft.Exchange.Data.DataValidationException";
const ADMIN_AUDIT_LOG_IDENTITY = "Admin Audit Log Settings";

const RECIPIENT_TYPES: readonly RecipientTypeDetails[] = [
  "UserMailbox",
  "SharedMailbox",
  "RoomMailbox",
  "EquipmentMailbox",
  "DiscoveryMailbox",
  "GroupMailbox",
];

// ---- organisation ----

const getOrganizationConfig: CmdletDefinition = {
  name: "Get-OrganizationConfig",
  parameters: [],
  handle: (_parameters, context) => {
    isDehydrated(context);
    return { value: [organizationOutput(context.tenant)] };
  },
};

const setOrganizationConfig: CmdletDefinition = {
  name: "Set-OrganizationConfig",
  parameters: ["AuditDisabled", "Force", "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const auditDisabled = optionalBoolean(parameters, "AuditDisabled");
    const config = tenant.organizationConfig;
    if (auditDisabled === undefined || auditDisabled === config.AuditDisabled) {
      return { warnings: [noChangeWarning(tenant.initialDomain)] };
    }
    config.AuditDisabled = auditDisabled;
    config.WhenChangedUTC = context.now().toISOString();
    return {};
  },
};

const enableOrganizationCustomization: CmdletDefinition = {
  name: "Enable-OrganizationCustomization",
  parameters: ["Confirm"],
  handle(_parameters, context) {
    const { tenant } = context;
    const config = tenant.organizationConfig;
    if (!isDehydrated(context) || config.customizationEffectiveAt !== undefined) {
      // Community-observed wording; said too while a requested customization has not taken effect yet (assumed).
      throw new CmdletFailure(
        "InvalidOperation",
        "System.InvalidOperationException",
        "This operation is not required. Organization is already enabled for customization.",
      );
    }
    const now = context.now();
    config.customizationEffectiveAt = new Date(now.getTime() + (config.customizationDelayInMs ?? 0)).toISOString();
    config.WhenChangedUTC = now.toISOString();
    isDehydrated(context);
    return {};
  },
};

/** Whether the tenant is still dehydrated: a requested customization takes effect once its time has come. */
function isDehydrated(context: CmdletContext): boolean {
  const config = context.tenant.organizationConfig;
  if (config.isDehydrated && config.customizationEffectiveAt !== undefined && context.now().getTime() >= Date.parse(config.customizationEffectiveAt)) {
    config.isDehydrated = false;
  }
  return config.isDehydrated;
}

function organizationOutput(tenant: TenantState): Record<string, unknown> {
  const config = tenant.organizationConfig;
  return {
    Identity: tenant.initialDomain,
    Name: tenant.initialDomain,
    DisplayName: tenant.initialDomain.split(".")[0],
    ExternalDirectoryOrganizationId: tenant.tenantId,
    AuditDisabled: config.AuditDisabled,
    IsDehydrated: config.isDehydrated,
    WhenChangedUTC: config.WhenChangedUTC,
  };
}

// ---- unified audit log ----

const getAdminAuditLogConfig: CmdletDefinition = {
  name: "Get-AdminAuditLogConfig",
  parameters: [],
  handle: (_parameters, { tenant }) => ({
    value: [
      {
        Identity: ADMIN_AUDIT_LOG_IDENTITY,
        Name: ADMIN_AUDIT_LOG_IDENTITY,
        AdminAuditLogEnabled: true,
        UnifiedAuditLogIngestionEnabled: tenant.adminAuditLogConfig.UnifiedAuditLogIngestionEnabled,
        WhenChangedUTC: tenant.adminAuditLogConfig.WhenChangedUTC,
      },
    ],
  }),
};

const setAdminAuditLogConfig: CmdletDefinition = {
  name: "Set-AdminAuditLogConfig",
  parameters: ["UnifiedAuditLogIngestionEnabled", "Force", "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    if (isDehydrated(context)) {
      // Community-observed wording of the dehydrated-tenant failure.
      throw new CmdletFailure(
        "InvalidOperationInDehydratedContext",
        "Microsoft.Exchange.Configuration.Tasks.InvalidOperationInDehydratedContextException",
        "The command you tried to run isn't currently allowed in your organization. To run this command, you first need to run the command: Enable-OrganizationCustomization.",
      );
    }
    const enabled = optionalBoolean(parameters, "UnifiedAuditLogIngestionEnabled");
    const config = tenant.adminAuditLogConfig;
    if (enabled === undefined || enabled === config.UnifiedAuditLogIngestionEnabled) {
      return { warnings: [noChangeWarning(ADMIN_AUDIT_LOG_IDENTITY)] };
    }
    config.UnifiedAuditLogIngestionEnabled = enabled;
    config.WhenChangedUTC = context.now().toISOString();
    return {};
  },
};

// ---- listing mailboxes ----

/** A mailbox as Get-Mailbox shows it: Exchange property names only, lists copied out of the state. */
function mailboxOutput(mailbox: EmulatedMailbox): Record<string, unknown> {
  return {
    Identity: mailbox.Identity,
    Id: mailbox.Identity,
    Name: mailbox.Name,
    Alias: mailbox.Alias,
    DisplayName: mailbox.DisplayName,
    PrimarySmtpAddress: mailbox.PrimarySmtpAddress,
    UserPrincipalName: mailbox.UserPrincipalName,
    EmailAddresses: [`SMTP:${mailbox.PrimarySmtpAddress}`],
    ExternalDirectoryObjectId: mailbox.ExternalDirectoryObjectId,
    Guid: mailbox.Guid,
    RecipientType: "UserMailbox",
    RecipientTypeDetails: mailbox.RecipientTypeDetails,
    AuditEnabled: mailbox.AuditEnabled,
    AuditLogAgeLimit: mailbox.AuditLogAgeLimit,
    AuditAdmin: [...mailbox.AuditAdmin],
    AuditDelegate: [...mailbox.AuditDelegate],
    AuditOwner: [...mailbox.AuditOwner],
    DefaultAuditSet: [...mailbox.DefaultAuditSet],
    HiddenFromAddressListsEnabled: mailbox.HiddenFromAddressListsEnabled,
    // The emulator's server clock is UTC, so local and UTC times are the same instant and text.
    WhenCreated: mailbox.WhenCreatedUTC,
    WhenChanged: mailbox.WhenChangedUTC,
    WhenMailboxCreated: mailbox.WhenCreatedUTC,
    WhenCreatedUTC: mailbox.WhenCreatedUTC,
    WhenChangedUTC: mailbox.WhenChangedUTC,
  };
}
interface MailboxQuery {
  identity: string | undefined;
  filter: MailboxPredicate | undefined;
  types: ReadonlySet<RecipientTypeDetails> | undefined;
  groupMailboxes: boolean;
  size: number;
}

function readMailboxQuery(
  parameters: Record<string, unknown>,
  identity: string | undefined,
  groupMailboxes: boolean,
): MailboxQuery {
  const filterText = optionalString(parameters, "Filter");
  if (identity !== undefined && filterText !== undefined) {
    throw new CmdletFailure(
      "AmbiguousParameterSet",
      bindingFailure,
      "Parameter set cannot be resolved using the specified named parameters.",
    );
  }
  const typeNames = listParameter(parameters, "RecipientTypeDetails");
  return {
    identity,
    filter: filterText === undefined ? undefined : compileOpathFilter(filterText),
    types:
      typeNames === undefined
        ? undefined
        : new Set(
            typeNames.map((name) =>
              matchEnum(
                "RecipientTypeDetails",
                name,
                "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails",
                RECIPIENT_TYPES,
              ),
            ),
          ),
    groupMailboxes,
    size: resultSize(parameters),
  };
}

/**
 * Runs a listing; group mailboxes are a separate population, returned only when asked for. Collects one
 * mailbox past ResultSize so `limited` can add Exchange's "more results available" warning.
 */
function listMailboxes(
  tenant: TenantState,
  query: MailboxQuery,
  project: (mailbox: EmulatedMailbox) => Record<string, unknown>,
) {
  const inPopulation = (mailbox: EmulatedMailbox): boolean =>
    (mailbox.RecipientTypeDetails === "GroupMailbox") === query.groupMailboxes;
  if (query.identity !== undefined) {
    const mailbox = findMailbox(tenant, query.identity);
    if (!mailbox || !inPopulation(mailbox)) throw notFound(query.identity);
    return { value: [project(mailbox)] };
  }
  const found: Record<string, unknown>[] = [];
  for (const mailbox of tenant.mailboxes.values()) {
    if (found.length > query.size) break;
    if (!inPopulation(mailbox)) continue;
    if (query.types && !query.types.has(mailbox.RecipientTypeDetails)) continue;
    if (query.filter && !query.filter(mailbox)) continue;
    found.push(project(mailbox));
  }
  return limited(found, query.size);
}

const getMailbox: CmdletDefinition = {
  name: "Get-Mailbox",
  parameters: ["Identity", "ResultSize", "Filter", "RecipientTypeDetails", "GroupMailbox"],
  handle(parameters, { tenant }) {
    const query = readMailboxQuery(
      parameters,
      optionalString(parameters, "Identity"),
      optionalBoolean(parameters, "GroupMailbox") ?? false,
    );
    return listMailboxes(tenant, query, mailboxOutput);
  },
};

// ---- Set-Mailbox ----

type ActionChange = { kind: "replace"; actions: string[] } | { kind: "update"; add: string[]; remove: string[] };

const setMailbox: CmdletDefinition = {
  name: "Set-Mailbox",
  parameters: [
    "Identity",
    "AuditEnabled",
    "AuditAdmin",
    "AuditDelegate",
    "AuditOwner",
    "DefaultAuditSet",
    "AuditLogAgeLimit",
    "HiddenFromAddressListsEnabled",
    "GroupMailbox",
    "Force",
    "Confirm",
  ],
  handle(parameters, context: CmdletContext) {
    const { tenant } = context;
    const identity = requiredString(parameters, "Identity");
    const groupSwitch = optionalBoolean(parameters, "GroupMailbox") ?? false;
    const mailbox = findMailbox(tenant, identity);
    // Without -GroupMailbox Exchange does not look among group mailboxes, and with it only among them.
    if (!mailbox || (mailbox.RecipientTypeDetails === "GroupMailbox") !== groupSwitch) throw notFound(identity);

    // Everything is validated into a draft first, so a failing call changes nothing.
    const draft: EmulatedMailbox = { ...mailbox, DefaultAuditSet: [...mailbox.DefaultAuditSet] };
    const changes = new Map<LogonType, ActionChange>();
    for (const logonType of LOGON_TYPES) {
      const change = readActionChange(parameters, `Audit${logonType}`);
      if (change) changes.set(logonType, change);
    }
    const defaultTypes = listParameter(parameters, "DefaultAuditSet")?.filter((name) => name.toLowerCase() !== "none");
    if (groupSwitch && (changes.size > 0 || defaultTypes !== undefined)) {
      // Emulator's own wording: Microsoft documents the restriction, not the error text.
      throw new CmdletFailure(
        "InvalidOperation",
        validationFailure,
        "The audited actions of a Microsoft 365 Group mailbox can't be changed. Only AuditLogAgeLimit can be set.",
      );
    }

    for (const [logonType, change] of changes) {
      draft[`Audit${logonType}`] = applyActionChange(
        logonType,
        mailbox[`Audit${logonType}`],
        change,
        mailbox.auditPremiumLicensed,
      );
      draft.DefaultAuditSet = draft.DefaultAuditSet.filter((type) => type !== logonType);
    }
    for (const name of defaultTypes ?? []) {
      const logonType = matchEnum(
        "DefaultAuditSet",
        name,
        "Microsoft.Exchange.Data.Directory.MailboxAuditLogonType",
        LOGON_TYPES,
      );
      if (changes.has(logonType)) {
        // Emulator's own wording for asking to both customise and revert one logon type.
        throw new CmdletFailure(
          "InvalidOperation",
          validationFailure,
          `Audit${logonType} and DefaultAuditSet ${logonType} can't be specified together.`,
        );
      }
      draft[`Audit${logonType}`] = defaultAuditActions(
        logonType,
        mailbox.RecipientTypeDetails,
        mailbox.auditPremiumLicensed,
      );
      draft.DefaultAuditSet.push(logonType);
    }
    draft.DefaultAuditSet = LOGON_TYPES.filter((type) => draft.DefaultAuditSet.includes(type));

    const auditEnabled = optionalBoolean(parameters, "AuditEnabled");
    if (auditEnabled !== undefined) draft.AuditEnabled = auditEnabled;
    const hidden = optionalBoolean(parameters, "HiddenFromAddressListsEnabled");
    if (hidden !== undefined) draft.HiddenFromAddressListsEnabled = hidden;
    const ageLimit = optionalString(parameters, "AuditLogAgeLimit");
    if (ageLimit !== undefined) draft.AuditLogAgeLimit = parseAgeLimit(ageLimit);

    if (!auditSettingsDiffer(mailbox, draft)) return { warnings: [noChangeWarning(mailbox.Identity)] };
    Object.assign(mailbox, draft, { WhenChangedUTC: context.now().toISOString() });
    return {};
  },
};

function auditSettingsDiffer(before: EmulatedMailbox, after: EmulatedMailbox): boolean {
  return (
    before.AuditEnabled !== after.AuditEnabled ||
    before.AuditLogAgeLimit !== after.AuditLogAgeLimit ||
    before.HiddenFromAddressListsEnabled !== after.HiddenFromAddressListsEnabled ||
    LOGON_TYPES.some((type) => before[`Audit${type}`].join() !== after[`Audit${type}`].join()) ||
    before.DefaultAuditSet.join() !== after.DefaultAuditSet.join()
  );
}

/** Replace form (list or comma-separated text; `None` or null clears) or the GenericHashTable Add/Remove form. */
function readActionChange(parameters: Record<string, unknown>, name: string): ActionChange | undefined {
  const entry = Object.entries(parameters).find(([key]) => key.toLowerCase() === name.toLowerCase());
  if (!entry) return undefined;
  const value = entry[1];
  if (value === null) return { kind: "replace", actions: [] };
  if (typeof value === "object" && !Array.isArray(value)) {
    const table = value as Record<string, unknown>;
    const add: string[] = [];
    const remove: string[] = [];
    for (const [key, item] of Object.entries(table)) {
      const lower = key.toLowerCase();
      if (lower === "@odata.type") continue;
      if (lower === "add") add.push(...splitList(name, item));
      else if (lower === "remove") remove.push(...splitList(name, item));
      else throw cannotConvertActions(name, JSON.stringify(value));
    }
    return { kind: "update", add, remove };
  }
  return { kind: "replace", actions: splitList(name, value) };
}

function applyActionChange(
  logonType: LogonType,
  current: readonly string[],
  change: ActionChange,
  premium: boolean,
): string[] {
  if (change.kind === "replace")
    return sortActions(change.actions.filter(isNotNone).map((action) => validAction(logonType, action, premium)));
  const added = change.add.filter(isNotNone).map((action) => validAction(logonType, action, premium));
  const removed = new Set(change.remove.filter(isNotNone).map((action) => knownAction(logonType, action)));
  if (added.some((action) => current.includes(action))) {
    // Community-observed wording.
    throw new CmdletFailure(
      "InvalidOperation",
      validationFailure,
      "The input operation(s) is/are already being audited",
    );
  }
  return sortActions([...current.filter((action) => !removed.has(action)), ...added]);
}

/** Validates an action being set: known, valid for the logon type, not deprecated, licensed. */
function validAction(logonType: LogonType, name: string, premium: boolean): string {
  const action = knownAction(logonType, name);
  if (action === "MessageBind") {
    throw new CmdletFailure(
      "InvalidOperation",
      validationFailure,
      "MessageBind audit operation type is deprecated. Use MailItemsAccessed audit operation type instead.",
    );
  }
  if (!VALID_ACTIONS[logonType].includes(action)) throw invalidOperation(logonType);
  if (!premium && PREMIUM_ACTIONS.includes(action)) {
    throw new CmdletFailure(
      "InvalidOperation",
      validationFailure,
      `Auditing of ${action} event is only available for users with appropriate license.`,
    );
  }
  return action;
}

/** An action being removed need only exist: a legacy mailbox may still hold MessageBind. */
function knownAction(logonType: LogonType, name: string): string {
  const action = canonicalAction(name);
  if (!action) throw invalidOperation(logonType);
  return action;
}

function invalidOperation(logonType: LogonType): CmdletFailure {
  const actions = ["None", ...VALID_ACTIONS[logonType]];
  const list = `${actions.slice(0, -1).join(", ")} and ${actions[actions.length - 1]}`;
  // Exchange names the owner logon type "Mailbox Owner" in this text.
  const label = logonType === "Owner" ? "Mailbox Owner" : logonType;
  return new CmdletFailure(
    "InvalidOperation",
    validationFailure,
    `Invalid audit operation specified. Supported audit operations for ${label} are ${list}.`,
  );
}

function isNotNone(action: string): boolean {
  return action.toLowerCase() !== "none";
}

/** `dd.hh:mm:ss`, `hh:mm:ss` or whole days, normalised to the text Exchange shows (`90.00:00:00`). */
export function parseAgeLimit(text: string): string {
  const match = /^\s*(?:(\d+)|(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?)\s*$/.exec(text);
  const [, wholeDays, days, hours, minutes, seconds] = match ?? [];
  const values = [
    Number(wholeDays ?? days ?? 0),
    Number(hours ?? 0),
    Number(minutes ?? 0),
    Number(seconds ?? 0),
  ] as const;
  if (!match || values[1] > 23 || values[2] > 59 || values[3] > 59) {
    throw new CmdletFailure(
      "ParameterArgumentTransformationError",
      bindingFailure,
      `Cannot process argument transformation on parameter 'AuditLogAgeLimit'. Cannot convert value "${text}" to type "Microsoft.Exchange.Data.EnhancedTimeSpan". Error: "String was not recognized as a valid TimeSpan."`,
    );
  }
  const time = values
    .slice(1)
    .map((value) => String(value).padStart(2, "0"))
    .join(":");
  return values[0] > 0 ? `${values[0]}.${time}` : time;
}

// ---- audit bypass ----

const getMailboxAuditBypassAssociation: CmdletDefinition = {
  name: "Get-MailboxAuditBypassAssociation",
  parameters: ["Identity", "ResultSize"],
  handle(parameters, { tenant }) {
    const identity = optionalString(parameters, "Identity");
    const size = resultSize(parameters);
    // Microsoft documents that a $null or empty -Identity lists every object, as if no identity were given.
    if (identity !== undefined && identity.trim() !== "") return { value: [bypassOutput(resolveBypass(tenant, identity))] };
    const associations: EmulatedBypassAssociation[] = [];
    const listed = new Set<string>();
    for (const mailbox of tenant.mailboxes.values()) {
      if (mailbox.RecipientTypeDetails === "GroupMailbox") continue;
      listed.add(mailbox.Identity);
      associations.push(tenant.bypassAssociations.get(mailbox.Identity) ?? implicitBypass(mailbox));
      if (associations.length > size) break;
    }
    for (const association of tenant.bypassAssociations.values()) {
      if (associations.length > size) break;
      if (!listed.has(association.Identity)) associations.push(association);
    }
    return limited(associations.map(bypassOutput), size);
  },
};

const setMailboxAuditBypassAssociation: CmdletDefinition = {
  name: "Set-MailboxAuditBypassAssociation",
  parameters: ["Identity", "AuditBypassEnabled", "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const identity = requiredString(parameters, "Identity");
    const enabled = optionalBoolean(parameters, "AuditBypassEnabled");
    if (enabled === undefined) throw missingMandatory("AuditBypassEnabled");
    const association = resolveBypass(tenant, identity);
    if (association.AuditBypassEnabled === enabled) return { warnings: [noChangeWarning(association.Identity)] };
    const changedAt = context.now().toISOString();
    tenant.bypassAssociations.set(association.Identity, { ...association, AuditBypassEnabled: enabled, WhenChangedUTC: changedAt });
    // The bypass flag is an attribute of the account, so changing it changes the account's mailbox object too.
    const mailbox = findMailbox(tenant, association.Identity);
    if (mailbox && mailbox.RecipientTypeDetails !== "GroupMailbox") mailbox.WhenChangedUTC = changedAt;
    return {};
  },
};

function resolveBypass(tenant: TenantState, identity: string): EmulatedBypassAssociation {
  const mailbox = findMailbox(tenant, identity);
  if (mailbox && mailbox.RecipientTypeDetails !== "GroupMailbox") {
    return tenant.bypassAssociations.get(mailbox.Identity) ?? implicitBypass(mailbox);
  }
  const wanted = identity.toLowerCase();
  for (const association of tenant.bypassAssociations.values()) {
    if ([association.Identity, association.Name, association.Guid].some((value) => value.toLowerCase() === wanted)) return association;
  }
  throw notFound(identity);
}

function implicitBypass(mailbox: EmulatedMailbox): EmulatedBypassAssociation {
  return {
    Identity: mailbox.Identity,
    Name: mailbox.Name,
    Guid: mailbox.Guid,
    AuditBypassEnabled: false,
    WhenChangedUTC: mailbox.WhenChangedUTC,
  };
}

function bypassOutput(association: EmulatedBypassAssociation): Record<string, unknown> {
  return {
    Identity: association.Identity,
    Name: association.Name,
    Guid: association.Guid,
    AuditBypassEnabled: association.AuditBypassEnabled,
    WhenChangedUTC: association.WhenChangedUTC,
  };
}

// ---- parameter helpers ----

/** A multi-valued parameter given as a JSON list or as comma-separated text. */
function listParameter(parameters: Record<string, unknown>, name: string): string[] | undefined {
  const entry = Object.entries(parameters).find(([key]) => key.toLowerCase() === name.toLowerCase());
  if (!entry || entry[1] === undefined) return undefined;
  return splitList(name, entry[1]);
}

function splitList(name: string, value: unknown): string[] {
  if (value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => {
    if (typeof item !== "string") throw cannotConvertActions(name, JSON.stringify(item));
    return item
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "");
  });
}

function cannotConvertActions(name: string, value: string): CmdletFailure {
  return new CmdletFailure(
    "ParameterArgumentTransformationError",
    bindingFailure,
    `Cannot process argument transformation on parameter '${name}'. Cannot convert value "${value}" to type "Microsoft.Exchange.Data.MultiValuedProperty".`,
  );
}

export const auditCmdlets: CmdletDefinition[] = [
  getOrganizationConfig,
  setOrganizationConfig,
  enableOrganizationCustomization,
  getAdminAuditLogConfig,
  setAdminAuditLogConfig,
  getMailbox,
  setMailbox,
  getMailboxAuditBypassAssociation,
  setMailboxAuditBypassAssociation,
];
