/**
 * Recipient resolution shared by the capture cmdlets, and Get-Recipient / Get-DistributionGroup.
 * Only mail-enabled objects are recipients: a non-mail-enabled security group resolves nowhere here,
 * which is why Exchange cannot grant it mailbox access.
 */
import { CmdletFailure, notFound, type CmdletDefinition } from "../cmdlet";
import { findMailbox } from "../lookup";
import type { EmulatedGroup, EmulatedMailbox, TenantState } from "../tenant-state";
import { limited, matchEnum, optionalString, optionalStringList, resultSize } from "./capture-parameters";

export type Recipient = { kind: "mailbox"; mailbox: EmulatedMailbox } | { kind: "group"; group: EmulatedGroup };

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

/** Resolves a mailbox or a mail-enabled group. */
export function findRecipient(tenant: TenantState, identity: string): Recipient | undefined {
  const mailbox = findMailbox(tenant, identity);
  if (mailbox) return { kind: "mailbox", mailbox };
  const group = findGroup(tenant, identity);
  if (group && isMailEnabled(group)) return { kind: "group", group };
  return undefined;
}

export function recipientAddress(recipient: Recipient): string {
  return recipient.kind === "mailbox" ? recipient.mailbox.PrimarySmtpAddress : recipient.group.PrimarySmtpAddress;
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
    ExternalDirectoryObjectId: group.ExternalDirectoryObjectId,
    RecipientType: group.RecipientTypeDetails,
    RecipientTypeDetails: group.RecipientTypeDetails,
  };
}

function recipientOutput(recipient: Recipient): Record<string, unknown> {
  return recipient.kind === "mailbox" ? mailboxAsRecipient(recipient.mailbox) : groupAsRecipient(recipient.group);
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
    const identity = optionalString(parameters, "Identity");
    const size = resultSize(parameters);
    const wantedTypes = optionalStringList(parameters, "RecipientTypeDetails")?.map((value) =>
      matchEnum("RecipientTypeDetails", value, "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails", recipientTypeDetailsValues),
    );
    let recipients: Recipient[];
    if (identity !== undefined) {
      const recipient = findRecipient(tenant, identity);
      if (!recipient) throw notFound(identity);
      recipients = [recipient];
    } else {
      recipients = [
        ...[...tenant.mailboxes.values()].map((mailbox): Recipient => ({ kind: "mailbox", mailbox })),
        ...[...tenant.groups.values()].filter(isMailEnabled).map((group): Recipient => ({ kind: "group", group })),
      ];
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
    const identity = optionalString(parameters, "Identity");
    const size = resultSize(parameters);
    if (identity !== undefined) {
      const group = findGroup(tenant, identity);
      if (!group || !isMailEnabled(group)) throw notFound(identity);
      return { value: [groupAsRecipient(group)] };
    }
    return limited([...tenant.groups.values()].filter(isMailEnabled).map(groupAsRecipient), size);
  },
};

export const recipientCmdlets: CmdletDefinition[] = [getRecipient, getDistributionGroup];
