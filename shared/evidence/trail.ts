/**
 * Pure: what an earlier run's changes should have left in the unified audit log, and whether a record is one of
 * them. No I/O, no clock: the times come in as arguments.
 *
 * A change is a `remediated` outcome (changed, then read back matching the policy). It is found when one
 * `exchangeAdmin` record inside the run's window has one of the operations that kind of target is changed with
 * (the cmdlets the reconcilers send) and names the object. How Exchange names the object in `objectId` is not
 * documented (assumed: the object's name, or a path ending in it), so a record names the object when its `objectId`
 * equals, or ends in `/` or `\` followed by, any name the target is known by (its id, display name, addresses and
 * names kept in `before`/`after`, an address's local part), or when its `Parameters` carry an `Identity` equal to one
 * of them; all case-insensitive.
 */
import { z } from "zod";
import type { TargetKind, TargetOutcome } from "../domain/outcome";
import type { AuditRecord } from "./audit-search";

/** The cmdlets each kind of target is changed with (shared/reconcile and shared/capture). */
export const OPERATIONS_BY_KIND: Readonly<Partial<Record<TargetKind, readonly string[]>>> = Object.freeze({
  mailbox: ["Set-Mailbox"],
  "bypass-association": ["Set-MailboxAuditBypassAssociation"],
  organization: ["Set-OrganizationConfig", "Set-AdminAuditLogConfig", "Enable-OrganizationCustomization", "Set-TransportConfig"],
  "transport-rule": ["New-TransportRule", "Set-TransportRule", "Enable-TransportRule", "Remove-TransportRule"],
  "journal-rule": ["New-JournalRule", "Set-JournalRule", "Enable-JournalRule"],
  "capture-mailbox": ["New-Mailbox", "Set-Mailbox", "Add-MailboxPermission", "Remove-MailboxPermission"],
});

/**
 * The operations a finding's setting is changed with, for kinds whose targets are changed by several cmdlets. An
 * empty list: the setting is changed outside Exchange (the capture account's sign-in is blocked through Graph,
 * which leaves no Exchange admin record).
 */
const OPERATIONS_BY_SETTING: Readonly<Partial<Record<TargetKind, Readonly<Record<string, readonly string[]>>>>> = {
  organization: {
    AuditDisabled: ["Set-OrganizationConfig"],
    UnifiedAuditLogIngestionEnabled: ["Set-AdminAuditLogConfig", "Enable-OrganizationCustomization"],
    JournalingReportNdrTo: ["Set-TransportConfig"],
  },
  "capture-mailbox": {
    Present: ["New-Mailbox"],
    HiddenFromAddressListsEnabled: ["Set-Mailbox"],
    FullAccess: ["Add-MailboxPermission", "Remove-MailboxPermission"],
    AccountEnabled: [],
  },
};

/** Targets there is only one of in a tenant: any record of their operations in the window is theirs. */
const SINGLETON_KINDS: ReadonlySet<TargetKind> = new Set(["organization"]);

/** `before`/`after` properties that hold a name of the object. */
const NAME_PROPERTIES = ["Identity", "Name", "Alias", "Guid", "PrimarySmtpAddress", "ExternalDirectoryObjectId", "UserPrincipalName", "DisplayName", "DistinguishedName"];

/** One change an earlier run made, as the audit log should show it. */
export interface ExpectedChange {
  readonly kind: TargetKind;
  readonly targetId: string;
  readonly displayName: string;
  /** Cmdlets that may have made it (one record of any of them is enough). */
  readonly operations: readonly string[];
  /** Lower-cased names the object may be recorded under. */
  readonly names: readonly string[];
  /** Matched on the operation alone (there is one such target per tenant). */
  readonly singleton: boolean;
}

/** Key of a change within its run. */
export function changeKey(change: Pick<ExpectedChange, "kind" | "targetId">): string {
  return `${change.kind}|${change.targetId.toLowerCase()}`;
}

function namesOf(outcome: TargetOutcome): string[] {
  const names = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value !== "string") return;
    const name = value.trim().toLowerCase();
    if (name === "" || name === "unknown") return;
    names.add(name);
    const at = name.indexOf("@");
    if (at > 0) names.add(name.slice(0, at));
  };
  add(outcome.targetId);
  add(outcome.displayName);
  for (const state of [outcome.before, outcome.after]) {
    for (const property of NAME_PROPERTIES) add(state?.[property]);
  }
  return [...names];
}

function operationsOf(outcome: TargetOutcome): readonly string[] {
  const all = OPERATIONS_BY_KIND[outcome.kind] ?? [];
  const bySetting = OPERATIONS_BY_SETTING[outcome.kind];
  if (!bySetting) return all;
  const known = outcome.findings.map((finding) => bySetting[finding.setting]).filter((operations) => operations !== undefined);
  // Findings name no setting we know (a policy added one): any of the kind's cmdlets.
  if (known.length === 0) return all;
  return [...new Set(known.flat())];
}

/**
 * The change a remediated outcome stands for; undefined when it leaves no Exchange admin record (not remediated, a
 * kind the audit log does not cover, or a change made only through Graph).
 */
export function expectedChange(outcome: TargetOutcome): ExpectedChange | undefined {
  if (outcome.status !== "remediated") return undefined;
  const operations = operationsOf(outcome);
  if (operations.length === 0) return undefined;
  return {
    kind: outcome.kind,
    targetId: outcome.targetId,
    displayName: outcome.displayName,
    operations,
    names: namesOf(outcome),
    singleton: SINGLETON_KINDS.has(outcome.kind),
  };
}

/** Every operation of these changes, once, sorted: the query's operation filter. */
export function operationsToSearch(changes: readonly ExpectedChange[]): string[] {
  return [...new Set(changes.flatMap((change) => change.operations))].sort();
}

/** Who may have made a record, and the time window a run's records fall in. */
export interface TrailMatchContext {
  /** Epoch ms, inclusive. */
  readonly windowStartInMs: number;
  readonly windowEndInMs: number;
  /** The app ids this product acts as (lower case); empty: none known, so no record is ruled out by its app. */
  readonly ownAppIds: readonly string[];
}

const parametersSchema = z.array(z.looseObject({ Name: z.string(), Value: z.unknown() }));
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The `Identity` parameter the cmdlet was given, when the record carries its parameters. */
function identityParameter(auditData: AuditRecord["auditData"]): string | undefined {
  const parsed = parametersSchema.safeParse(auditData?.["Parameters"]);
  if (!parsed.success) return undefined;
  const identity = parsed.data.find((parameter) => parameter.Name.toLowerCase() === "identity")?.Value;
  return typeof identity === "string" && identity.trim() !== "" ? identity.trim().toLowerCase() : undefined;
}

/** A record made by an app known not to be this one, or recording a cmdlet that failed, proves nothing of ours. */
function couldBeOurs(record: AuditRecord, ownAppIds: readonly string[]): boolean {
  const data = record.auditData ?? {};
  const result = data["ResultStatus"] ?? data["Succeeded"];
  if (result === false || (typeof result === "string" && ["false", "failed", "failure"].includes(result.toLowerCase()))) return false;
  if (ownAppIds.length === 0) return true;
  for (const property of ["AppId", "ClientAppId"]) {
    const appId = data[property];
    if (typeof appId === "string" && GUID.test(appId.trim()) && !ownAppIds.includes(appId.trim().toLowerCase())) return false;
  }
  return true;
}

/** The names a record gives its object: the whole `objectId`, its last path segment, and the `Identity` parameter. */
function recordNames(record: AuditRecord): string[] {
  const names: string[] = [];
  const objectId = record.objectId?.trim().toLowerCase();
  if (objectId) {
    names.push(objectId);
    const cut = Math.max(objectId.lastIndexOf("/"), objectId.lastIndexOf("\\"));
    if (cut >= 0 && cut < objectId.length - 1) names.push(objectId.slice(cut + 1));
  }
  const identity = identityParameter(record.auditData);
  if (identity) names.push(identity);
  return names;
}

/**
 * Finds the changes of one run in a stream of records, page by page: `add` each page, then `found` holds the keys
 * (`changeKey`) of the changes seen. Indexed by name, so a page costs its length whatever the number of changes.
 */
export class TrailMatcher {
  private readonly byOperationAndName = new Map<string, ExpectedChange[]>();
  private readonly singletonsByOperation = new Map<string, ExpectedChange[]>();
  readonly found = new Set<string>();

  constructor(
    readonly changes: readonly ExpectedChange[],
    private readonly context: TrailMatchContext,
  ) {
    const push = (map: Map<string, ExpectedChange[]>, key: string, change: ExpectedChange): void => {
      const list = map.get(key);
      if (list) list.push(change);
      else map.set(key, [change]);
    };
    for (const change of changes) {
      for (const operation of change.operations) {
        const op = operation.toLowerCase();
        if (change.singleton) push(this.singletonsByOperation, op, change);
        else for (const name of change.names) push(this.byOperationAndName, `${op}|${name}`, change);
      }
    }
  }

  add(records: readonly AuditRecord[]): void {
    for (const record of records) {
      const operation = record.operation?.trim().toLowerCase();
      if (!operation) continue;
      if (record.auditLogRecordType && record.auditLogRecordType.toLowerCase() !== "exchangeadmin") continue;
      const time = Date.parse(record.createdDateTime);
      if (Number.isNaN(time) || time < this.context.windowStartInMs || time > this.context.windowEndInMs) continue;
      if (!couldBeOurs(record, this.context.ownAppIds)) continue;
      for (const change of this.singletonsByOperation.get(operation) ?? []) this.found.add(changeKey(change));
      for (const name of recordNames(record)) {
        for (const change of this.byOperationAndName.get(`${operation}|${name}`) ?? []) this.found.add(changeKey(change));
      }
    }
  }

  /** Every change has been found: reading further records cannot change the answer. */
  get complete(): boolean {
    return this.found.size >= new Set(this.changes.map(changeKey)).size;
  }

  missing(): ExpectedChange[] {
    const seen = new Set<string>();
    return this.changes.filter((change) => {
      const key = changeKey(change);
      if (this.found.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
}
