/**
 * The capture mailbox: New-Mailbox -Shared, its FullAccess permissions and its statistics.
 */
import { randomUUID } from "node:crypto";
import { CmdletFailure, type CmdletDefinition } from "../cmdlet";
import { findMailbox, requireMailbox } from "../lookup";
import type { EmulatedMailbox, EmulatedMailboxPermission, TenantState } from "../tenant-state";
import {
  exchangeProperties,
  has,
  isSmtpAddress,
  lookupIdentity,
  matchEnum,
  missingMandatory,
  optionalBoolean,
  optionalEnum,
  optionalString,
  optionalStringList,
  requiredString,
} from "./capture-parameters";
import { DEFAULT_AUDIT_LOG_AGE_LIMIT, defaultAuditActions } from "../audit-actions";
import { findGroup } from "./capture-recipients";

/**
 * Microsoft's managed default audit actions for a mailbox without Audit (Premium)
 * ("Manage mailbox auditing": MailItemsAccessed and Send are added where the licence allows).
 */
export const SELF_TRUSTEE = "NT AUTHORITY\\SELF";

function proxyAddressInUse(address: string, owner: string): CmdletFailure {
  return new CmdletFailure(
    "ProxyAddressExists",
    "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
    `The proxy address "SMTP:${address}" is already being used by the proxy addresses or LegacyExchangeDN of "${owner}". Please choose another proxy address.`,
  );
}

/** Exchange derives an alias from the name by dropping characters an alias cannot hold. */
function aliasFromName(name: string): string {
  return name.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, "");
}

/** Every SMTP address a recipient holds: its primary address and the alias at the initial domain. */
function addressOwners(tenant: TenantState): Map<string, string> {
  const owners = new Map<string, string>();
  for (const mailbox of tenant.mailboxes.values()) {
    owners.set(mailbox.PrimarySmtpAddress.toLowerCase(), mailbox.Name);
    owners.set(`${mailbox.Alias}@${tenant.initialDomain}`.toLowerCase(), mailbox.Name);
  }
  for (const group of tenant.groups.values()) {
    if (group.PrimarySmtpAddress !== "") owners.set(group.PrimarySmtpAddress.toLowerCase(), group.Name);
  }
  return owners;
}

const newMailbox: CmdletDefinition = {
  name: "New-Mailbox",
  parameters: ["Shared", "Name", "DisplayName", "Alias", "PrimarySmtpAddress"],
  handle(parameters, context) {
    const { tenant } = context;
    if (optionalBoolean(parameters, "Shared") !== true) throw missingMandatory("MicrosoftOnlineServicesID", "Password");
    const name = requiredString(parameters, "Name");
    const alias = optionalString(parameters, "Alias") ?? aliasFromName(name);
    const primarySmtpAddress = optionalString(parameters, "PrimarySmtpAddress") ?? `${alias}@${tenant.initialDomain}`;
    if (!isSmtpAddress(primarySmtpAddress)) {
      throw new CmdletFailure(
        "ParameterArgumentTransformationError",
        "System.Management.Automation.ParameterBindingException",
        `Cannot process argument transformation on parameter 'PrimarySmtpAddress'. "${primarySmtpAddress}" is not a valid SMTP address.`,
      );
    }
    const nameTaken = [...tenant.mailboxes.values(), ...tenant.groups.values()].some(
      (existing) => existing.Name.toLowerCase() === name.toLowerCase(),
    );
    if (nameTaken) {
      throw new CmdletFailure(
        "NameExists",
        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        `The name "${name}" is already being used. Please try another name.`,
      );
    }
    const owners = addressOwners(tenant);
    for (const address of [primarySmtpAddress, `${alias}@${tenant.initialDomain}`]) {
      const owner = owners.get(address.toLowerCase());
      if (owner !== undefined) throw proxyAddressInUse(address, owner);
    }

    const timestamp = context.now().toISOString();
    const mailbox: EmulatedMailbox = {
      Guid: randomUUID(),
      ExternalDirectoryObjectId: randomUUID(),
      Identity: name,
      Name: name,
      Alias: alias,
      DisplayName: optionalString(parameters, "DisplayName") ?? name,
      PrimarySmtpAddress: primarySmtpAddress,
      UserPrincipalName: primarySmtpAddress,
      RecipientTypeDetails: "SharedMailbox",
      AuditEnabled: true,
      AuditLogAgeLimit: DEFAULT_AUDIT_LOG_AGE_LIMIT,
      // A new shared mailbox is unlicensed: Microsoft's standard defaults, without the Audit (Premium) actions.
      AuditAdmin: [...defaultAuditActions("Admin", "SharedMailbox", false)],
      AuditDelegate: [...defaultAuditActions("Delegate", "SharedMailbox", false)],
      AuditOwner: [...defaultAuditActions("Owner", "SharedMailbox", false)],
      DefaultAuditSet: ["Admin", "Delegate", "Owner"],
      HiddenFromAddressListsEnabled: false,
      WhenCreatedUTC: timestamp,
      WhenChangedUTC: timestamp,
      auditPremiumLicensed: false,
      licensed: false,
      totalItemSizeInBytes: 0,
      itemCount: 0,
    };
    tenant.mailboxes.set(mailbox.ExternalDirectoryObjectId, mailbox);
    // Exchange creates the shared mailbox's Entra account enabled; blocking sign-in is the admin's job.
    tenant.users.set(mailbox.ExternalDirectoryObjectId, {
      id: mailbox.ExternalDirectoryObjectId,
      userPrincipalName: mailbox.UserPrincipalName,
      displayName: mailbox.DisplayName,
      mail: mailbox.PrimarySmtpAddress,
      accountEnabled: true,
      assignedPlans: [],
      lastModifiedDateTime: timestamp,
    });
    tenant.mailboxPermissions.push({
      Identity: mailbox.Identity,
      User: SELF_TRUSTEE,
      AccessRights: ["FullAccess", "ReadPermission"],
      IsInherited: false,
      Deny: false,
      autoMapping: false,
    });
    return { value: [exchangeProperties(mailbox)] };
  },
};

const accessRightValues = ["ChangeOwner", "ChangePermission", "DeleteItem", "ExternalAccount", "FullAccess", "ReadPermission"] as const;
const inheritanceTypeValues = ["None", "All", "Descendents", "SelfAndChildren", "Children"] as const;

/** InheritanceType is not part of the shared state contract; grants made here remember it, others show `All`. */
const inheritanceTypes = new WeakMap<EmulatedMailboxPermission, string>();

function trusteeNotFound(identity: string): CmdletFailure {
  return new CmdletFailure(
    "ManagementObjectNotFound",
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    `User or group "${identity}" wasn't found. Please make sure you've typed it correctly.`,
    404,
  );
}

/**
 * Resolves a trustee (SecurityPrincipalIdParameter) to the name Get-MailboxPermission shows:
 * a mailbox or Entra user by UPN, a mail-enabled group by name. A group that is not mail-enabled is
 * not a recipient in Exchange Online, so it does not resolve.
 */
function findTrustee(tenant: TenantState, identity: string): string | undefined {
  if (identity.toLowerCase() === SELF_TRUSTEE.toLowerCase()) return SELF_TRUSTEE;
  const mailbox = findMailbox(tenant, identity);
  if (mailbox) return mailbox.UserPrincipalName;
  const group = findGroup(tenant, identity);
  if (group) return group.mailEnabled && group.PrimarySmtpAddress !== "" ? group.Name : undefined;
  const wanted = identity.toLowerCase();
  for (const user of tenant.users.values()) {
    if (
      user.id.toLowerCase() === wanted ||
      user.userPrincipalName.toLowerCase() === wanted ||
      user.mail?.toLowerCase() === wanted ||
      user.displayName.toLowerCase() === wanted
    ) {
      return user.userPrincipalName;
    }
  }
  return undefined;
}

function requireTrustee(tenant: TenantState, identity: string): string {
  const trustee = findTrustee(tenant, identity);
  if (trustee === undefined) throw trusteeNotFound(identity);
  return trustee;
}

function sameTrustee(tenant: TenantState, stored: string, trustee: string): boolean {
  return stored.toLowerCase() === trustee.toLowerCase() || findTrustee(tenant, stored) === trustee;
}

function permissionsOf(tenant: TenantState, mailbox: EmulatedMailbox): EmulatedMailboxPermission[] {
  return tenant.mailboxPermissions.filter((permission) => findMailbox(tenant, permission.Identity) === mailbox);
}

function permissionOutput(mailbox: EmulatedMailbox, permission: EmulatedMailboxPermission): Record<string, unknown> {
  return {
    Identity: mailbox.Identity,
    User: permission.User,
    AccessRights: [...permission.AccessRights],
    IsInherited: permission.IsInherited,
    Deny: permission.Deny,
    InheritanceType: inheritanceTypes.get(permission) ?? "All",
  };
}

function accessRights(parameters: Record<string, unknown>): string[] {
  const rights = optionalStringList(parameters, "AccessRights");
  if (!rights || rights.length === 0) throw missingMandatory("AccessRights");
  const matched = rights.map((right) =>
    matchEnum("AccessRights", right, "Microsoft.Exchange.Management.RecipientTasks.MailboxRights[]", accessRightValues),
  );
  return [...new Set(matched)];
}

/** The mailboxes a Get- cmdlet reads: the one named, or every mailbox for an empty or null -Identity. */
function mailboxesFor(tenant: TenantState, parameters: Record<string, unknown>): EmulatedMailbox[] {
  const identity = lookupIdentity(parameters);
  return identity === undefined ? [...tenant.mailboxes.values()] : [requireMailbox(tenant, identity)];
}

const getMailboxPermission: CmdletDefinition = {
  name: "Get-MailboxPermission",
  parameters: ["Identity", "User"],
  handle(parameters, { tenant }) {
    const mailboxes = mailboxesFor(tenant, parameters);
    const user = optionalString(parameters, "User");
    const trustee = user === undefined ? undefined : requireTrustee(tenant, user);
    const value = mailboxes.flatMap((mailbox) =>
      permissionsOf(tenant, mailbox)
        .filter((permission) => trustee === undefined || sameTrustee(tenant, permission.User, trustee))
        .map((permission) => permissionOutput(mailbox, permission)),
    );
    return { value };
  },
};

const addMailboxPermission: CmdletDefinition = {
  name: "Add-MailboxPermission",
  parameters: ["Identity", "User", "AccessRights", "AutoMapping", "InheritanceType", "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const mailbox = requireMailbox(tenant, requiredString(parameters, "Identity"));
    const trustee = requireTrustee(tenant, requiredString(parameters, "User"));
    const rights = accessRights(parameters);
    const inheritanceType =
      optionalEnum(parameters, "InheritanceType", "System.DirectoryServices.ActiveDirectorySecurityInheritance", inheritanceTypeValues) ?? "All";
    const autoMapping = optionalBoolean(parameters, "AutoMapping") ?? true;

    const existing = permissionsOf(tenant, mailbox).find(
      (permission) => !permission.IsInherited && !permission.Deny && sameTrustee(tenant, permission.User, trustee),
    );
    const added = rights.filter((right) => !existing?.AccessRights.includes(right));
    if (existing && added.length === 0) {
      // A grant that is already there changes nothing; Exchange says so in a warning (shown in yellow), not an error.
      return {
        warnings: [`The appropriate access control entry is already present on the object "${mailbox.Identity}" for account "${trustee}".`],
      };
    }
    if (existing) {
      existing.AccessRights.push(...added);
      if (has(parameters, "AutoMapping")) existing.autoMapping = autoMapping;
    } else {
      const permission: EmulatedMailboxPermission = {
        Identity: mailbox.Identity,
        User: trustee,
        AccessRights: rights,
        IsInherited: false,
        Deny: false,
        autoMapping,
      };
      inheritanceTypes.set(permission, inheritanceType);
      tenant.mailboxPermissions.push(permission);
    }
    if (added.length > 0) mailbox.WhenChangedUTC = context.now().toISOString();
    return {
      value: [{ Identity: mailbox.Identity, User: trustee, AccessRights: rights, IsInherited: false, Deny: false, InheritanceType: inheritanceType }],
    };
  },
};

const removeMailboxPermission: CmdletDefinition = {
  name: "Remove-MailboxPermission",
  parameters: ["Identity", "User", "AccessRights", "InheritanceType", "Confirm"],
  handle(parameters, context) {
    const { tenant } = context;
    const mailbox = requireMailbox(tenant, requiredString(parameters, "Identity"));
    const user = requiredString(parameters, "User");
    const trustee = requireTrustee(tenant, user);
    const rights = accessRights(parameters);
    optionalEnum(parameters, "InheritanceType", "System.DirectoryServices.ActiveDirectorySecurityInheritance", inheritanceTypeValues);

    const explicit = permissionsOf(tenant, mailbox).filter(
      (permission) =>
        !permission.IsInherited &&
        !permission.Deny &&
        sameTrustee(tenant, permission.User, trustee) &&
        permission.AccessRights.some((right) => rights.includes(right)),
    );
    if (explicit.length === 0) {
      return {
        warnings: [
          `Can't remove the access control entry on the object "${mailbox.Identity}" for account "${trustee}" because the ACE doesn't exist on the object.`,
        ],
      };
    }
    for (const permission of explicit) {
      permission.AccessRights = permission.AccessRights.filter((right) => !rights.includes(right));
    }
    tenant.mailboxPermissions = tenant.mailboxPermissions.filter((permission) => permission.AccessRights.length > 0);
    mailbox.WhenChangedUTC = context.now().toISOString();
    return {};
  },
};

const byteUnits = ["B", "KB", "MB", "GB", "TB"] as const;

/** Exchange's ByteQuantifiedSize display string, e.g. `1.716 GB (1,842,418,543 bytes)`. */
export function formatByteQuantifiedSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(bytes) : String(Number(value.toPrecision(4)));
  return `${shown} ${byteUnits[unit]} (${bytes.toLocaleString("en-US")} bytes)`;
}

/** Get-MailboxStatistics (the server cmdlet InvokeCommand serves; Get-EXOMailboxStatistics is the module's own). */
const getMailboxStatistics: CmdletDefinition = {
  name: "Get-MailboxStatistics",
  parameters: ["Identity", "Archive", "IncludeSoftDeletedRecipients"],
  handle(parameters, { tenant }) {
    const value = mailboxesFor(tenant, parameters).map((mailbox) => ({
      DisplayName: mailbox.DisplayName,
      MailboxGuid: mailbox.Guid,
      ItemCount: mailbox.itemCount,
      TotalItemSize: formatByteQuantifiedSize(mailbox.totalItemSizeInBytes),
    }));
    return { value };
  },
};

export const mailboxCmdlets: CmdletDefinition[] = [
  newMailbox,
  getMailboxPermission,
  addMailboxPermission,
  removeMailboxPermission,
  getMailboxStatistics,
];
