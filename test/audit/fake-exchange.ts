/**
 * An in-memory fake of the ExchangeTransport PORT for reconciler unit tests: just enough Exchange semantics
 * (paging, the two filter shapes the reconciler builds, Set-Mailbox Add/replace, licence rejection) plus faults.
 */
import { ensureError, ExchangeError } from "../../shared/exchange/errors";
import type { BatchItemResult, BatchOptions, CmdletRequest, CmdletResult, ExchangeTransport } from "../../shared/exchange/transport";
import { answerInGroups } from "../support/batch-groups";
import type { ObservedBypass, ObservedMailbox } from "../../shared/audit/observed";
import type { AuditStore } from "../../shared/audit/ports";
import type { RunSummary, TargetOutcome } from "../../shared/domain/outcome";

const GATED = ["MailItemsAccessed", "Send", "SearchQueryInitiated"];

export class FakeClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export class FakeExchange implements ExchangeTransport {
  readonly mailboxes = new Map<string, ObservedMailbox>();
  /** Exchange's own licence truth (may disagree with the licence input). */
  readonly licensed = new Set<string>();
  organization = { AuditDisabled: false, UnifiedAuditLogIngestionEnabled: true };
  bypass: ObservedBypass[] = [];
  readonly calls: CmdletRequest[] = [];
  readonly callCounts: Record<string, number> = {};
  pageSize = 2;
  /** Set-Mailbox identities whose sub-request fails with this error. */
  readonly failSet = new Map<string, ExchangeError>();
  /** Set-Mailbox identities acknowledged but not changed (verify must catch it). */
  readonly dropWrite = new Set<string>();
  /** Identities whose Set-Mailbox lands and then answers with this error (a retried write whose first attempt landed). */
  readonly landThenFail = new Map<string, ExchangeError>();
  /**
   * Writes Exchange acknowledges (WhenChangedUTC moves) of which one property does not stick, each used once: the
   * emulator's lossy-write fault. A list loses the first item the write added, any other value keeps its old one.
   */
  readonly lossyWrites: { cmdlet: string; property: string; identity?: string }[] = [];
  /** A cmdlet whose read throws (run-level failure). */
  throwOnRead: string | undefined;
  /** Answers a bypass look-up by identity with every association, as Microsoft documents for a non-existent identity. */
  bypassLookupListsAll = false;

  constructor(private readonly clock: FakeClock) {}

  add(mailbox: ObservedMailbox, licensed = false): void {
    this.mailboxes.set(mailbox.Guid ?? "", structuredClone(mailbox));
    if (licensed) this.licensed.add(mailbox.ExternalDirectoryObjectId ?? "");
  }

  byTargetId(id: string): ObservedMailbox | undefined {
    return [...this.mailboxes.values()].find((mailbox) => mailbox.ExternalDirectoryObjectId === id);
  }

  private count(cmdlet: string): void {
    this.callCounts[cmdlet] = (this.callCounts[cmdlet] ?? 0) + 1;
  }

  async *pages<T>(request: CmdletRequest): AsyncIterable<T[]> {
    const { value: rows } = await this.invoke<T>(request);
    for (let index = 0; index < rows.length; index += this.pageSize) yield rows.slice(index, index + this.pageSize);
  }

  invoke<T>(request: CmdletRequest): Promise<CmdletResult<T>> {
    this.calls.push(request);
    this.count(request.cmdlet);
    try {
      if (request.cmdlet.startsWith("Get-")) return Promise.resolve({ value: this.read(request) as T[], warnings: [] });
      this.write(request);
      return Promise.resolve({ value: [], warnings: [] });
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  batch<T>(requests: readonly CmdletRequest[], options: BatchOptions = {}): Promise<BatchItemResult<T>[]> {
    let answered = 0;
    return answerInGroups(requests, options, (request): BatchItemResult<T> => {
      if (answered++ % 10 === 0) this.count("$batch");
      this.calls.push(request);
      try {
        if (request.cmdlet.startsWith("Get-")) return { ok: true, result: { value: this.read(request) as T[], warnings: [] } };
        this.write(request);
        return { ok: true, result: { value: [], warnings: [] } };
      } catch (error) {
        return { ok: false, error: error as ExchangeError };
      }
    });
  }

  private read(request: CmdletRequest): Record<string, unknown>[] {
    if (request.cmdlet === this.throwOnRead) {
      throw new ExchangeError({ errorId: "ServerBusy", exceptionType: "Transient", text: "boom", status: 503, cmdlet: request.cmdlet });
    }
    const parameters = request.parameters ?? {};
    switch (request.cmdlet) {
      case "Get-OrganizationConfig":
        return [{ AuditDisabled: this.organization.AuditDisabled }];
      case "Get-AdminAuditLogConfig":
        return [{ UnifiedAuditLogIngestionEnabled: this.organization.UnifiedAuditLogIngestionEnabled }];
      case "Get-MailboxAuditBypassAssociation": {
        const identity = parameters["Identity"] as string | undefined;
        if (identity === undefined || this.bypassLookupListsAll) return this.bypass.map((association) => ({ ...association }));
        const association = this.association(identity);
        return [{ Guid: identity, ...(association ?? { Identity: this.accountOf(identity), AuditBypassEnabled: false }) }];
      }
      case "Get-Mailbox": {
        const groups = parameters["GroupMailbox"] === true;
        const filter = parameters["Filter"] as string | undefined;
        return [...this.mailboxes.values()]
          .filter((mailbox) => (mailbox.RecipientTypeDetails === "GroupMailbox") === groups)
          .filter((mailbox) => filter === undefined || matchesFilter(mailbox, filter))
          .map((mailbox) => structuredClone(mailbox));
      }
      default:
        throw new Error(`fake: unexpected read ${request.cmdlet}`);
    }
  }

  /** A mailbox's account is looked up by the mailbox Guid; in this fake its association is named by the UPN. */
  private accountOf(identity: string): string {
    return [...this.mailboxes.values()].find((mailbox) => mailbox.Guid === identity)?.UserPrincipalName ?? identity;
  }

  private association(identity: string): ObservedBypass | undefined {
    const account = this.accountOf(identity);
    return this.bypass.find((candidate) => candidate.Guid === identity || candidate.Identity === account);
  }

  private write(request: CmdletRequest): void {
    const parameters = request.parameters ?? {};
    const identity = typeof parameters["Identity"] === "string" ? parameters["Identity"] : "";
    const lossy = this.lossyWrites.findIndex((write) => write.cmdlet === request.cmdlet && (write.identity === undefined || write.identity === identity));
    if (lossy < 0) return this.writeThrough(request.cmdlet, identity, parameters);
    const [{ property } = { property: "" }] = this.lossyWrites.splice(lossy, 1);
    const target = (): Record<string, unknown> | undefined =>
      request.cmdlet === "Set-Mailbox" ? this.mailboxes.get(identity) : request.cmdlet === "Set-MailboxAuditBypassAssociation" ? this.association(identity) : this.organization;
    const before = structuredClone(target());
    this.writeThrough(request.cmdlet, identity, parameters);
    const after = target();
    if (before && after) loseProperty(before, after, property);
  }

  private writeThrough(cmdlet: string, identity: string, parameters: Readonly<Record<string, unknown>>): void {
    switch (cmdlet) {
      case "Set-OrganizationConfig":
        this.organization.AuditDisabled = parameters["AuditDisabled"] as boolean;
        return;
      case "Set-AdminAuditLogConfig":
        this.organization.UnifiedAuditLogIngestionEnabled = parameters["UnifiedAuditLogIngestionEnabled"] as boolean;
        return;
      case "Set-MailboxAuditBypassAssociation": {
        const association = this.association(identity);
        if (association) association.AuditBypassEnabled = parameters["AuditBypassEnabled"] as boolean;
        return;
      }
      case "Set-Mailbox":
        return this.setMailbox(identity, parameters);
      default:
        throw new Error(`fake: unexpected write ${cmdlet}`);
    }
  }

  private setMailbox(identity: string, parameters: Readonly<Record<string, unknown>>): void {
    const failure = this.failSet.get(identity);
    if (failure) throw failure;
    const mailbox = this.mailboxes.get(identity);
    if (!mailbox) {
      // Exchange's answer (test/reference/fixtures/not-found.json).
      throw new ExchangeError({
        errorId: "ManagementObjectNotFound",
        exceptionType: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        text: `The operation couldn't be performed because object '${identity}' couldn't be found on 'FAKE01DC001.PROD.OUTLOOK.COM'.`,
        status: 404,
      });
    }
    const next = structuredClone(mailbox);
    for (const [name, value] of Object.entries(parameters)) {
      if (name === "AuditEnabled") next.AuditEnabled = value as boolean;
      else if (name === "AuditLogAgeLimit") next.AuditLogAgeLimit = value as string;
      else if (name === "AuditAdmin" || name === "AuditDelegate" || name === "AuditOwner") {
        if (next.RecipientTypeDetails === "GroupMailbox") throw new Error("fake: group mailbox actions written");
        // A GenericHashTable's keys are PowerShell's, case-insensitive: CIPP sends `add` (test/reference).
        const actions = Array.isArray(value) ? (value as string[]) : hashtableAdd(value as Record<string, unknown>);
        if (actions.some((action) => GATED.includes(action)) && !this.licensed.has(next.ExternalDirectoryObjectId ?? "")) {
          throw new ExchangeError({
            errorId: "0x1A2B",
            exceptionType: "Microsoft.Exchange.Management.Tasks.InvalidOperationException",
            text: "Auditing of MailItemsAccessed event is only available for users with appropriate license.",
            status: 400,
            requestId: "req-licence",
          });
        }
        next[name] = Array.isArray(value) ? [...actions] : [...new Set([...next[name], ...actions])];
        next.DefaultAuditSet = next.DefaultAuditSet.filter((type) => `Audit${type}` !== name);
      }
    }
    if (this.dropWrite.has(identity)) return;
    next.WhenChangedUTC = this.clock.now().toISOString();
    this.mailboxes.set(identity, next);
    const lateFailure = this.landThenFail.get(identity);
    if (lateFailure) throw lateFailure;
  }
}

function hashtableAdd(table: Readonly<Record<string, unknown>>): string[] {
  const add = Object.entries(table).find(([key]) => key.toLowerCase() === "add")?.[1];
  return Array.isArray(add) ? (add as string[]) : [];
}

/** Puts one property back: a list loses the first item the write added, any other value gets its old value. */
function loseProperty(before: Readonly<Record<string, unknown>>, after: Record<string, unknown>, property: string): void {
  const was = before[property];
  const now = after[property];
  const added = Array.isArray(now) ? now.filter((item: unknown) => !(Array.isArray(was) && was.includes(item))) : [];
  after[property] = added.length > 0 ? (now as unknown[]).filter((item) => item !== added[0]) : structuredClone(was);
}

function matchesFilter(mailbox: ObservedMailbox, filter: string): boolean {
  const since = /^WhenChangedUTC -ge '([^']+)'$/.exec(filter);
  // Microsoft's en-US filter date form, a UTC instant (V8 parses it with an explicit zone).
  if (since) return Date.parse(mailbox.WhenChangedUTC ?? "") >= Date.parse(`${since[1] ?? ""} UTC`);
  const clauses = [...filter.matchAll(/(\w+) -eq '((?:[^']|'')*)'/g)];
  if (clauses.length === 0) throw new Error(`fake: unsupported filter ${filter}`);
  return clauses.some(([, property, value]) => {
    const actual = (mailbox as Record<string, unknown>)[property ?? ""];
    return typeof actual === "string" && actual.toLowerCase() === (value ?? "").replace(/''/g, "'").toLowerCase();
  });
}

export class FakeStore implements AuditStore {
  readonly watermarks = new Map<string, { value: string; etag: string }>();
  readonly outcomes: TargetOutcome[] = [];
  readonly chunkSizes: number[] = [];
  readonly runs: RunSummary[] = [];
  failRecordOutcomes = false;
  private etag = 0;

  getWatermark(tenantId: string, name: string): Promise<{ value: string; etag: string } | undefined> {
    return Promise.resolve(this.watermarks.get(`${tenantId}/${name}`));
  }
  setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<void> {
    const key = `${tenantId}/${name}`;
    if (etag !== undefined && this.watermarks.get(key)?.etag !== etag) return Promise.reject(new Error("etag mismatch"));
    this.etag += 1;
    this.watermarks.set(key, { value, etag: `e${this.etag}` });
    return Promise.resolve();
  }
  recordOutcomes(_tenantId: string, _runId: string, _startedAt: string, outcomes: readonly TargetOutcome[]): Promise<void> {
    if (this.failRecordOutcomes) return Promise.reject(new Error("table unavailable"));
    this.chunkSizes.push(outcomes.length);
    this.outcomes.push(...outcomes);
    return Promise.resolve();
  }
  recordRun(summary: RunSummary): Promise<void> {
    this.runs.push(summary);
    return Promise.resolve();
  }
}
