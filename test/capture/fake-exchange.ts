/**
 * A small stateful fake of the Exchange cmdlets and the Graph port the capture reconciler uses. It keeps
 * Exchange's behaviours that matter to the reconciler: unique contiguous rule priorities (insert/move shifts
 * the others), not-found errors, case-insensitive identities, FullAccess entries per trustee.
 */
import { ensureError, ExchangeError } from "../../shared/exchange/errors";
import type { BatchItemResult, BatchOptions, CmdletRequest, CmdletResult, ExchangeTransport } from "../../shared/exchange/transport";
import { answerInGroups } from "../support/batch-groups";
import type { CaptureGraphPort } from "../../shared/capture/run-capture";
import type { CaptureAccount } from "../../shared/capture/capture-mailbox";

type Row = Record<string, unknown>;

export interface FakeTenant {
  rules: Row[];
  mailboxes: Row[];
  groups: Row[];
  permissions: { Identity: string; User: string; AccessRights: string[]; IsInherited: boolean; Deny: boolean }[];
  /** By mailbox address (lower case). */
  statistics: Map<string, { TotalItemSize: string; ItemCount: number }>;
  journalRules: Row[];
  transportConfig: Row;
  /** Recipients other than mailboxes and groups (mail users, mail contacts), as Get-Recipient shows them. */
  otherRecipients?: Row[];
  users: Map<string, CaptureAccount>;
}

const RULE_DEFAULTS: Row = {
  Mode: "Enforce",
  State: "Enabled",
  Comments: "",
  StopRuleProcessing: false,
  RuleErrorAction: "Ignore",
  SenderAddressLocation: "Header",
  FromScope: null,
  SentToScope: null,
  From: null,
  SentTo: null,
  ExceptIfFrom: null,
  ExceptIfSentTo: null,
  ExceptIfFromScope: null,
  ExceptIfSentToScope: null,
  BlindCopyTo: null,
  CopyTo: null,
  RedirectMessageTo: null,
  DeleteMessage: false,
};

let nextId = 1;
function newGuid(): string {
  return `00000000-0000-4000-8000-${String(nextId++).padStart(12, "0")}`;
}

export function transportRule(fields: Row): Row {
  return { ...RULE_DEFAULTS, Guid: newGuid(), ...fields, Identity: fields["Name"] };
}

export function sharedMailbox(address: string, fields: Row = {}): Row {
  const alias = address.split("@")[0];
  return {
    ExternalDirectoryObjectId: newGuid(),
    Guid: newGuid(),
    Identity: alias,
    Name: alias,
    Alias: alias,
    DisplayName: "Capture",
    PrimarySmtpAddress: address,
    UserPrincipalName: address,
    RecipientTypeDetails: "SharedMailbox",
    HiddenFromAddressListsEnabled: true,
    ...fields,
  };
}

function notFound(cmdlet: string, identity: unknown): ExchangeError {
  return new ExchangeError({
    errorId: "ManagementObjectNotFound",
    exceptionType: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    text: `The operation couldn't be performed because object '${String(identity)}' couldn't be found on 'FAKE01DC001.PROD.OUTLOOK.COM'.`,
    status: 404,
    cmdlet,
  });
}

function same(left: unknown, right: unknown): boolean {
  return typeof left === "string" && typeof right === "string" && left.toLowerCase() === right.toLowerCase();
}

function matches(row: Row, identity: unknown, properties: readonly string[]): boolean {
  return properties.some((property) => same(row[property], identity));
}

const MAILBOX_IDS = ["ExternalDirectoryObjectId", "Guid", "Identity", "Name", "Alias", "PrimarySmtpAddress", "UserPrincipalName"];

/** See `FakeExchange.lossyWrites`. */
function loseProperty(before: FakeTenant, after: FakeTenant, property: string): void {
  const byKey = (rows: readonly Row[], keyOf: (row: Row) => string) => new Map(rows.map((row) => [keyOf(row), row]));
  const guid = (row: Row) => String(row["Guid"]);
  const permission = (row: Row) => `${String(row["Identity"])}|${String(row["User"])}`.toLowerCase();
  const pairs: [Row | undefined, Row, boolean][] = [[before.transportConfig, after.transportConfig, false]];
  for (const [previous, current, keyOf, isPermission] of [
    [before.rules, after.rules, guid, false],
    [before.mailboxes, after.mailboxes, guid, false],
    [before.journalRules, after.journalRules, guid, false],
    [before.permissions, after.permissions, permission, true],
  ] as [Row[], Row[], (row: Row) => string, boolean][]) {
    const old = byKey(previous, keyOf);
    for (const row of current) pairs.push([old.get(keyOf(row)), row, isPermission]);
  }
  for (const [previous, current, isPermission] of pairs) {
    const now = current[property];
    const was = previous?.[property];
    if (!(property in current) || JSON.stringify(now) === JSON.stringify(was)) continue;
    const added = Array.isArray(now) ? now.filter((item: unknown) => !(Array.isArray(was) && was.includes(item))) : [];
    current[property] = added.length > 0 ? (now as unknown[]).filter((item) => item !== added[0]) : previous ? structuredClone(was) : null;
    if (isPermission && Array.isArray(current[property]) && (current[property] as unknown[]).length === 0) {
      after.permissions = after.permissions.filter((entry) => (entry as unknown) !== current);
    }
    return;
  }
}

export class FakeExchange implements ExchangeTransport, CaptureGraphPort {
  readonly calls: string[] = [];
  readonly requests: CmdletRequest[] = [];
  readonly writeCalls: string[] = [];
  /** Cmdlet name (lower case) -> error to throw once. */
  readonly failNext = new Map<string, ExchangeError>();
  /**
   * Writes acknowledged of which one property does not stick, each used once (the emulator's lossy-write fault):
   * on the first object the write changed, a list loses the first item it added (a permission left with no
   * rights is gone), any other value gets its old one back (a created object's becomes null).
   */
  readonly lossyWrites: { cmdlet: string; property: string }[] = [];

  constructor(readonly tenant: FakeTenant) {}

  getUser(userId: string): Promise<CaptureAccount | undefined> {
    const user = this.tenant.users.get(userId);
    return Promise.resolve(user ? { ...user } : undefined);
  }

  blockSignIn(userId: string): Promise<void> {
    this.writeCalls.push("graph:blockSignIn");
    const user = this.tenant.users.get(userId);
    if (!user) return Promise.reject(new Error(`user ${userId} not found`));
    this.tenant.users.set(userId, { ...user, accountEnabled: false });
    return Promise.resolve();
  }

  async *pages<T>(request: CmdletRequest): AsyncIterable<T[]> {
    yield (await this.invoke<T>(request)).value;
  }

  batch<T>(requests: readonly CmdletRequest[], options: BatchOptions = {}): Promise<BatchItemResult<T>[]> {
    return answerInGroups(requests, options, (request) =>
      this.invoke<T>(request).then(
        (result): BatchItemResult<T> => ({ ok: true, result }),
        (error: unknown): BatchItemResult<T> => ({ ok: false, error: error as ExchangeError }),
      ),
    );
  }

  invoke<T>(request: CmdletRequest): Promise<CmdletResult<T>> {
    this.calls.push(request.cmdlet);
    this.requests.push(request);
    if (!request.cmdlet.startsWith("Get-")) this.writeCalls.push(request.cmdlet);
    const failure = this.failNext.get(request.cmdlet.toLowerCase());
    if (failure) {
      this.failNext.delete(request.cmdlet.toLowerCase());
      return Promise.reject(failure);
    }
    const lossy = this.lossyWrites.findIndex((write) => write.cmdlet.toLowerCase() === request.cmdlet.toLowerCase());
    const before = lossy >= 0 ? structuredClone(this.tenant) : undefined;
    try {
      const value = this.handle(request.cmdlet, { ...(request.parameters ?? {}) });
      if (before) loseProperty(before, this.tenant, this.lossyWrites.splice(lossy, 1)[0]?.property ?? "");
      return Promise.resolve({ value: structuredClone(value) as T[], warnings: [] });
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  private handle(cmdlet: string, parameters: Row): Row[] {
    const identity = parameters["Identity"];
    delete parameters["Identity"];
    const tenant = this.tenant;
    switch (cmdlet) {
      case "Get-TransportRule":
        return [...tenant.rules].sort((a, b) => Number(a["Priority"]) - Number(b["Priority"]));
      case "New-TransportRule": {
        const { Priority, Enabled, ...rest } = parameters;
        if (tenant.rules.some((rule) => same(rule["Name"], rest["Name"]))) throw new Error(`rule ${String(rest["Name"])} exists`);
        const rule = transportRule({ ...rest, State: Enabled === false ? "Disabled" : "Enabled" });
        this.placeRule(rule, Priority === undefined ? tenant.rules.length : Number(Priority));
        return [rule];
      }
      case "Set-TransportRule": {
        const rule = this.rule(cmdlet, identity);
        const { Priority, ...rest } = parameters;
        Object.assign(rule, rest);
        if (Priority !== undefined) this.placeRule(rule, Number(Priority));
        return [];
      }
      case "Enable-TransportRule":
      case "Disable-TransportRule":
        this.rule(cmdlet, identity)["State"] = cmdlet.startsWith("Enable") ? "Enabled" : "Disabled";
        return [];
      case "Remove-TransportRule": {
        const removed = this.rule(cmdlet, identity);
        tenant.rules = tenant.rules.filter((rule) => rule !== removed);
        this.renumber(tenant.rules.sort((a, b) => Number(a["Priority"]) - Number(b["Priority"])));
        return [];
      }
      case "Get-Mailbox":
        return [this.mailbox(cmdlet, identity)];
      case "Set-Mailbox":
        Object.assign(this.mailbox(cmdlet, identity), parameters);
        return [];
      case "New-Mailbox": {
        if (parameters["Shared"] !== true) throw new Error("only shared mailboxes are faked");
        const mailbox = sharedMailbox(String(parameters["PrimarySmtpAddress"]), { DisplayName: parameters["DisplayName"], HiddenFromAddressListsEnabled: false });
        tenant.mailboxes.push(mailbox);
        tenant.users.set(String(mailbox["ExternalDirectoryObjectId"]), { id: String(mailbox["ExternalDirectoryObjectId"]), accountEnabled: true });
        tenant.permissions.push({ Identity: String(mailbox["Identity"]), User: "NT AUTHORITY\\SELF", AccessRights: ["FullAccess", "ReadPermission"], IsInherited: false, Deny: false });
        tenant.statistics.set(String(mailbox["PrimarySmtpAddress"]).toLowerCase(), { TotalItemSize: "0 B (0 bytes)", ItemCount: 0 });
        return [mailbox];
      }
      case "Get-MailboxPermission": {
        const mailbox = this.mailbox(cmdlet, identity);
        return tenant.permissions.filter((entry) => matches(mailbox, entry.Identity, MAILBOX_IDS));
      }
      case "Add-MailboxPermission": {
        const mailbox = this.mailbox(cmdlet, identity);
        const group = tenant.groups.find((each) => matches(each, parameters["User"], ["Name", "PrimarySmtpAddress", "Identity"]));
        if (group && group["RecipientTypeDetails"] !== "MailUniversalSecurityGroup") throw new Error("not a mail-enabled security group");
        tenant.permissions.push({ Identity: String(mailbox["Identity"]), User: String(group?.["Name"] ?? parameters["User"]), AccessRights: ["FullAccess"], IsInherited: false, Deny: false });
        return [];
      }
      case "Remove-MailboxPermission": {
        const mailbox = this.mailbox(cmdlet, identity);
        tenant.permissions = tenant.permissions
          .map((entry) =>
            matches(mailbox, entry.Identity, MAILBOX_IDS) && same(entry.User, parameters["User"]) && !entry.IsInherited
              ? { ...entry, AccessRights: entry.AccessRights.filter((right) => right !== "FullAccess") }
              : entry,
          )
          .filter((entry) => entry.AccessRights.length > 0);
        return [];
      }
      case "Get-DistributionGroup": {
        const group = tenant.groups.find((each) => matches(each, identity, ["Name", "PrimarySmtpAddress", "Identity", "DisplayName"]));
        if (!group || group["RecipientTypeDetails"] === "SecurityGroup") throw notFound(cmdlet, identity);
        return [group];
      }
      case "Get-MailboxStatistics": {
        const mailbox = this.mailbox(cmdlet, identity);
        const statistics = tenant.statistics.get(String(mailbox["PrimarySmtpAddress"]).toLowerCase());
        if (!statistics) throw notFound(cmdlet, identity);
        return [{ MailboxGuid: mailbox["Guid"], ...statistics }];
      }
      case "Get-JournalRule":
        return tenant.journalRules;
      case "Get-Recipient": {
        const recipient = [...tenant.mailboxes, ...tenant.groups, ...(tenant.otherRecipients ?? [])].find((each) => matches(each, identity, MAILBOX_IDS));
        if (!recipient) throw notFound(cmdlet, identity);
        return [recipient];
      }
      case "New-JournalRule":
        if (!tenant.transportConfig["JournalingReportNdrTo"]) throw new Error("Before you create a journal rule, you must specify an email account to receive journal reports that can't be delivered to the journal destination.");
        tenant.journalRules.push({ Guid: newGuid(), Identity: parameters["Name"], Recipient: null, ...parameters });
        return [];
      case "Set-JournalRule":
        Object.assign(this.journalRule(cmdlet, identity), parameters);
        return [];
      case "Enable-JournalRule":
        this.journalRule(cmdlet, identity)["Enabled"] = true;
        return [];
      case "Get-TransportConfig":
        return [tenant.transportConfig];
      case "Set-TransportConfig":
        Object.assign(tenant.transportConfig, parameters);
        return [];
      default:
        throw new Error(`fake does not implement ${cmdlet}`);
    }
  }

  private rule(cmdlet: string, identity: unknown): Row {
    const rule = this.tenant.rules.find((each) => matches(each, identity, ["Guid", "Name", "Identity"]));
    if (!rule) throw notFound(cmdlet, identity);
    return rule;
  }

  private journalRule(cmdlet: string, identity: unknown): Row {
    const rule = this.tenant.journalRules.find((each) => matches(each, identity, ["Guid", "Name", "Identity"]));
    if (!rule) throw notFound(cmdlet, identity);
    return rule;
  }

  private mailbox(cmdlet: string, identity: unknown): Row {
    const mailbox = this.tenant.mailboxes.find((each) => matches(each, identity, MAILBOX_IDS));
    if (!mailbox) throw notFound(cmdlet, identity);
    return mailbox;
  }

  /** Exchange keeps priorities unique and contiguous: placing a rule at p shifts the rules from p down. */
  private placeRule(rule: Row, priority: number): void {
    const others = this.tenant.rules.filter((each) => each !== rule).sort((a, b) => Number(a["Priority"]) - Number(b["Priority"]));
    others.splice(Math.min(Math.max(priority, 0), others.length), 0, rule);
    this.tenant.rules = others;
    this.renumber(others);
  }

  private renumber(rules: Row[]): void {
    rules.forEach((rule, index) => {
      rule["Priority"] = index;
    });
  }
}
