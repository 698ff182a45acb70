/**
 * Recipient resolution shared by the capture cmdlets, and Get-Recipient / Get-DistributionGroup / New-MailContact.
 * Only mail-enabled objects are recipients: a non-mail-enabled security group resolves nowhere here,
 * which is why Exchange cannot grant it mailbox access. An Entra user with a mail address and no Exchange Online
 * mailbox is a mail user (as a hybrid tenant's on-premises mailboxes appear in Exchange Online).
 */
import { randomUUID } from "node:crypto";
import { CmdletFailure, notFound, type CmdletDefinition } from "../cmdlet";
import { findMailbox } from "../lookup";
import type { EmulatedGroup, EmulatedMailbox, EmulatedUser, TenantState } from "../tenant-state";
import { isSmtpAddress, limited, lookupIdentity, matchEnum, optionalString, optionalStringList, requiredString, resultSize } from "./capture-parameters";

/** A mail contact: an external address in the tenant's address book. */
export interface EmulatedMailContact {
  Guid: string;
  Identity: string;
  Name: string;
  DisplayName: string;
  ExternalEmailAddress: string;
}

/** Mail contacts are not part of the shared tenant state; they exist here, per tenant, once New-MailContact made them. */
const mailContacts = new WeakMap<TenantState, EmulatedMailContact[]>();

function contactsOf(tenant: TenantState): EmulatedMailContact[] {
  let contacts = mailContacts.get(tenant);
  if (!contacts) {
    contacts = [];
    mailContacts.set(tenant, contacts);
  }
  return contacts;
}

export type Recipient =
  | { kind: "mailbox"; mailbox: EmulatedMailbox }
  | { kind: "group"; group: EmulatedGroup }
  | { kind: "mailUser"; user: EmulatedUser & { mail: string } }
  | { kind: "contact"; contact: EmulatedMailContact };

/** Finds any group, mail-enabled or not, by object id, Identity, Name, DisplayName or address. */
export function findGroup(tenant: TenantState, identity: string): EmulatedGroup | undefined {
  const byId = tenant.groups.get(identity);
  if (byId) return byId;
  const wanted = identity.toLowerCase();
  for (const group of tenant.groups.values()) {
    if (
      group.ExternalDirectoryObjectId.toLowerCase() === wanted ||
      group.Identity.toLowerCase() === wanted ||
      group.Name.toLowerCase() === wanted ||
      group.DisplayName.toLowerCase() === wanted ||
      (group.PrimarySmtpAddress !== "" && group.PrimarySmtpAddress.toLowerCase() === wanted)
    ) {
      return group;
    }
  }
  return undefined;
}

function isMailEnabled(group: EmulatedGroup): boolean {
  return group.mailEnabled && group.PrimarySmtpAddress !== "";
}

/** Entra users with a mail address and no Exchange Online mailbox. */
function mailUsers(tenant: TenantState): (EmulatedUser & { mail: string })[] {
  return [...tenant.users.values()].filter(
    (user): user is EmulatedUser & { mail: string } => user.mail !== null && user.mail !== "" && !tenant.mailboxes.has(user.id),
  );
}

function findMailUser(tenant: TenantState, identity: string): (EmulatedUser & { mail: string }) | undefined {
  const wanted = identity.toLowerCase();
  return mailUsers(tenant).find((user) =>
    [user.id, user.userPrincipalName, user.mail, user.displayName].some((value) => value.toLowerCase() === wanted),
  );
}

function findContact(tenant: TenantState, identity: string): EmulatedMailContact | undefined {
  const wanted = identity.toLowerCase();
  return contactsOf(tenant).find((contact) =>
    [contact.Guid, contact.Identity, contact.Name, contact.DisplayName, contact.ExternalEmailAddress].some((value) => value.toLowerCase() === wanted),
  );
}

/** Resolves a mailbox, a mail-enabled group, a mail user or a mail contact. */
export function findRecipient(tenant: TenantState, identity: string): Recipient | undefined {
  const mailbox = findMailbox(tenant, identity);
  if (mailbox) return { kind: "mailbox", mailbox };
  const group = findGroup(tenant, identity);
  if (group && isMailEnabled(group)) return { kind: "group", group };
  const user = findMailUser(tenant, identity);
  if (user) return { kind: "mailUser", user };
  const contact = findContact(tenant, identity);
  return contact ? { kind: "contact", contact } : undefined;
}

export function recipientAddress(recipient: Recipient): string {
  switch (recipient.kind) {
    case "mailbox":
      return recipient.mailbox.PrimarySmtpAddress;
    case "group":
      return recipient.group.PrimarySmtpAddress;
    case "mailUser":
      return recipient.user.mail;
    case "contact":
      return recipient.contact.ExternalEmailAddress;
  }
}

/** Exchange's failure for a recipient parameter (RecipientIdParameter) that resolves to nothing. */
export function recipientNotFound(identity: string): CmdletFailure {
  return new CmdletFailure(
    "ManagementObjectNotFound",
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    `Couldn't find object "${identity}". Please make sure that it was spelled correctly or specify a different object.`,
    404,
  );
}

/** The domains the tenant's recipients use: an address outside them is an external recipient. */
export function isInternalDomain(tenant: TenantState, address: string): boolean {
  const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
  if (domain === tenant.initialDomain.toLowerCase()) return true;
  const addresses = [
    ...[...tenant.mailboxes.values()].map((mailbox) => mailbox.PrimarySmtpAddress),
    ...[...tenant.groups.values()].map((group) => group.PrimarySmtpAddress),
  ];
  return addresses.some((known) => known.toLowerCase().endsWith(`@${domain}`));
}

function mailboxRecipientType(mailbox: EmulatedMailbox): string {
  return mailbox.RecipientTypeDetails === "GroupMailbox" ? "MailUniversalDistributionGroup" : "UserMailbox";
}

function mailboxAsRecipient(mailbox: EmulatedMailbox): Record<string, unknown> {
  return {
    Identity: mailbox.Identity,
    Name: mailbox.Name,
    DisplayName: mailbox.DisplayName,
    Alias: mailbox.Alias,
    PrimarySmtpAddress: mailbox.PrimarySmtpAddress,
    EmailAddresses: [`SMTP:${mailbox.PrimarySmtpAddress}`],
    ExternalDirectoryObjectId: mailbox.ExternalDirectoryObjectId,
    Guid: mailbox.Guid,
    RecipientType: mailboxRecipientType(mailbox),
    RecipientTypeDetails: mailbox.RecipientTypeDetails,
    HiddenFromAddressListsEnabled: mailbox.HiddenFromAddressListsEnabled,
    WhenChangedUTC: mailbox.WhenChangedUTC,
  };
}

function groupAsRecipient(group: EmulatedGroup): Record<string, unknown> {
  return {
    Identity: group.Identity,
    Name: group.Name,
    DisplayName: group.DisplayName,
    PrimarySmtpAddress: group.PrimarySmtpAddress,
    EmailAddresses: [`SMTP:${group.PrimarySmtpAddress}`],
    ExternalDirectoryObjectId: group.ExternalDirectoryObjectId,
    RecipientType: group.RecipientTypeDetails,
    RecipientTypeDetails: group.RecipientTypeDetails,
  };
}

function mailUserAsRecipient(user: EmulatedUser & { mail: string }): Record<string, unknown> {
  return {
    Identity: user.displayName,
    Name: user.displayName,
    DisplayName: user.displayName,
    PrimarySmtpAddress: user.mail,
    EmailAddresses: [`SMTP:${user.mail}`],
    ExternalDirectoryObjectId: user.id,
    RecipientType: "MailUser",
    RecipientTypeDetails: "MailUser",
  };
}

function contactAsRecipient(contact: EmulatedMailContact): Record<string, unknown> {
  return {
    Identity: contact.Identity,
    Name: contact.Name,
    DisplayName: contact.DisplayName,
    Guid: contact.Guid,
    PrimarySmtpAddress: contact.ExternalEmailAddress,
    EmailAddresses: [`SMTP:${contact.ExternalEmailAddress}`],
    ExternalEmailAddress: `SMTP:${contact.ExternalEmailAddress}`,
    RecipientType: "MailContact",
    RecipientTypeDetails: "MailContact",
  };
}

function recipientOutput(recipient: Recipient): Record<string, unknown> {
  switch (recipient.kind) {
    case "mailbox":
      return mailboxAsRecipient(recipient.mailbox);
    case "group":
      return groupAsRecipient(recipient.group);
    case "mailUser":
      return mailUserAsRecipient(recipient.user);
    case "contact":
      return contactAsRecipient(recipient.contact);
  }
}

function allRecipients(tenant: TenantState): Recipient[] {
  return [
    ...[...tenant.mailboxes.values()].map((mailbox): Recipient => ({ kind: "mailbox", mailbox })),
    ...[...tenant.groups.values()].filter(isMailEnabled).map((group): Recipient => ({ kind: "group", group })),
    ...mailUsers(tenant).map((user): Recipient => ({ kind: "mailUser", user })),
    ...contactsOf(tenant).map((contact): Recipient => ({ kind: "contact", contact })),
  ];
}

/** The RecipientTypeDetails values the emulator models (Exchange's enumeration has many more). */
const recipientTypeDetailsValues = [
  "UserMailbox",
  "SharedMailbox",
  "RoomMailbox",
  "EquipmentMailbox",
  "DiscoveryMailbox",
  "GroupMailbox",
  "MailUniversalSecurityGroup",
  "MailUniversalDistributionGroup",
  "MailUser",
  "MailContact",
] as const;

const getRecipient: CmdletDefinition = {
  name: "Get-Recipient",
  parameters: ["Identity", "RecipientTypeDetails", "ResultSize"],
  handle(parameters, { tenant }) {
    const identity = lookupIdentity(parameters);
    const size = resultSize(parameters);
    const wantedTypes = optionalStringList(parameters, "RecipientTypeDetails")?.map((value) =>
      matchEnum("RecipientTypeDetails", value, "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails", recipientTypeDetailsValues),
    );
    let recipients = allRecipients(tenant);
    if (identity !== undefined) {
      const recipient = findRecipient(tenant, identity);
      if (!recipient) throw notFound(identity);
      recipients = [recipient];
    }
    const output = recipients
      .map(recipientOutput)
      .filter((recipient) => !wantedTypes || wantedTypes.includes(recipient["RecipientTypeDetails"] as never));
    return limited(output, size);
  },
};

const getDistributionGroup: CmdletDefinition = {
  name: "Get-DistributionGroup",
  parameters: ["Identity", "ResultSize"],
  handle(parameters, { tenant }) {
    const identity = lookupIdentity(parameters);
    const size = resultSize(parameters);
    if (identity !== undefined) {
      const group = findGroup(tenant, identity);
      if (!group || !isMailEnabled(group)) throw notFound(identity);
      return { value: [groupAsRecipient(group)] };
    }
    return limited([...tenant.groups.values()].filter(isMailEnabled).map(groupAsRecipient), size);
  },
};

const newMailContact: CmdletDefinition = {
  name: "New-MailContact",
  parameters: ["Name", "DisplayName", "ExternalEmailAddress"],
  handle(parameters, { tenant }) {
    const name = requiredString(parameters, "Name");
    const address = requiredString(parameters, "ExternalEmailAddress").replace(/^smtp:/i, "");
    if (!isSmtpAddress(address)) {
      throw new CmdletFailure(
        "ParameterArgumentTransformationError",
        "System.Management.Automation.ParameterBindingException",
        `Cannot process argument transformation on parameter 'ExternalEmailAddress'. "${address}" is not a valid SMTP address.`,
      );
    }
    if (findRecipient(tenant, name) || findRecipient(tenant, address)) {
      throw new CmdletFailure("NameExists", "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException", `The name "${name}" is already being used. Please try another name.`);
    }
    const contact: EmulatedMailContact = {
      Guid: randomUUID(),
      Identity: name,
      Name: name,
      DisplayName: optionalString(parameters, "DisplayName") ?? name,
      ExternalEmailAddress: address,
    };
    contactsOf(tenant).push(contact);
    return { value: [contactAsRecipient(contact)] };
  },
};

export const recipientCmdlets: CmdletDefinition[] = [getRecipient, getDistributionGroup, newMailContact];
