import type { TenantState } from "./tenant-state";

/**
 * Faults injected from tests: throttling and transient failures, held (timed-out) requests, lossy writes, and latency.
 * A fault matches a call by cmdlet name (case-insensitive; `$batch` fails a whole batch envelope; a Graph route such as `GET /v1.0/users/delta`
 * also works), by whether the call is a batch sub-request, and by an optional predicate; it fires `times` times.
 */

export interface StatusFault {
  readonly kind?: "status";
  readonly cmdlet?: string;
  /** 400: a permanent cmdlet failure (Exchange's "Error executing cmdlet"); the others are throttling and transient. */
  readonly status: 400 | 429 | 500 | 503 | 504;
  /** Sent as `Retry-After` (default 1 for 429, none otherwise). */
  readonly retryAfterInSeconds?: number;
  /** The error text (default per status). */
  readonly text?: string;
  readonly times: number;
  /** true: only batch sub-requests; false: only direct requests; omitted: both. */
  readonly inBatch?: boolean;
  readonly when?: (call: FaultTarget) => boolean;
  /** true: the cmdlet runs (its change lands) and then the answer is lost to this fault, as after a gateway timeout. */
  readonly afterExecution?: boolean;
}

export interface TimeoutFault {
  readonly kind: "timeout";
  readonly cmdlet?: string;
  readonly times: number;
  readonly inBatch?: boolean;
  readonly when?: (call: FaultTarget) => boolean;
  /** true: the cmdlet runs (its change lands) and then the connection is held, so the client times out. */
  readonly afterExecution?: boolean;
}

/**
 * A write Exchange acknowledges (its real answer, `WhenChangedUTC` moved) but one property of which does not stick:
 * the cmdlet runs with all its parameters, then `property` (Exchange's name, as the Get- cmdlets show it) of the
 * first object the call changed is put back. A list loses one item (the first one the call added: one audit action,
 * one address, one access right; a permission left with no rights is gone); any other value gets its old value
 * back (a created object's becomes null). Read-backs then still differ from what was written.
 */
export interface LossyWriteFault {
  readonly kind: "lossy";
  readonly cmdlet?: string;
  readonly property: string;
  readonly times: number;
  readonly inBatch?: boolean;
  readonly when?: (call: FaultTarget) => boolean;
  readonly afterExecution?: undefined;
}

export type Fault = StatusFault | TimeoutFault | LossyWriteFault;

export interface FaultTarget {
  readonly cmdlet: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly viaBatch: boolean;
}

/** Latency per execution: fixed, or uniformly random in [min, max]. */
export type Latency = number | { readonly min: number; readonly max: number };

export class FaultInjector {
  readonly #pending: { fault: Fault; remaining: number }[] = [];
  readonly #spentWaiters: (() => void)[] = [];
  #latency: Latency;

  constructor(latency: Latency = 0) {
    this.#latency = latency;
  }

  /** Adds a fault; returns a function that removes it. */
  add(fault: Fault): () => void {
    const entry = { fault, remaining: fault.times };
    this.#pending.push(entry);
    return () => {
      const index = this.#pending.indexOf(entry);
      if (index >= 0) this.#pending.splice(index, 1);
      this.#notifySpent();
    };
  }

  clear(): void {
    this.#pending.length = 0;
    this.#notifySpent();
  }

  /** Resolves once every fault added has fired all its times (at once when none is pending): synchronisation for tests. */
  spent(): Promise<void> {
    return this.#pending.length === 0 ? Promise.resolve() : new Promise((resolve) => this.#spentWaiters.push(resolve));
  }

  #notifySpent(): void {
    if (this.#pending.length === 0) for (const resolve of this.#spentWaiters.splice(0)) resolve();
  }

  /** Faults that have not fired all their times yet. */
  get pending(): number {
    return this.#pending.length;
  }

  setLatency(latency: Latency): void {
    this.#latency = latency;
  }

  get latency(): Latency {
    return this.#latency;
  }

  /** A delay for one execution, in ms. */
  nextDelayInMs(): number {
    const latency = this.#latency;
    if (typeof latency === "number") return latency;
    return latency.min + Math.random() * (latency.max - latency.min);
  }

  /**
   * Consumes and returns the first status or timeout fault matching the call, if any: before it runs, or (`after`)
   * once it has run. Lossy-write faults are only taken by `takeBeforeExecution`.
   */
  take(target: FaultTarget, phase: "before" | "after" = "before"): StatusFault | TimeoutFault | undefined {
    return this.#take(target, phase, false) as StatusFault | TimeoutFault | undefined;
  }

  /** As `take` before a cmdlet runs, lossy-write faults included (only InvokeCommand can honour them). */
  takeBeforeExecution(target: FaultTarget): Fault | undefined {
    return this.#take(target, "before", true);
  }

  #take(target: FaultTarget, phase: "before" | "after", lossy: boolean): Fault | undefined {
    const entry = this.#pending.find(
      ({ fault, remaining }) =>
        remaining > 0 &&
        (lossy || fault.kind !== "lossy") &&
        (fault.afterExecution ?? false) === (phase === "after") &&
        (fault.cmdlet === undefined || fault.cmdlet.toLowerCase() === target.cmdlet.toLowerCase()) &&
        (fault.inBatch === undefined || fault.inBatch === target.viaBatch) &&
        (fault.when === undefined || fault.when(target)),
    );
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#pending.splice(this.#pending.indexOf(entry), 1);
    this.#notifySpent();
    return entry.fault;
  }
}

type Row = Record<string, unknown>;

/**
 * Puts `property` back on the first object that differs between `before` (a copy of the state taken before the
 * call) and `after` (the state now); see `LossyWriteFault`. Returns what was lost, or undefined when the call
 * changed nothing under that name.
 */
export function loseProperty(before: TenantState, after: TenantState, property: string): { object: string; was: unknown; now: unknown } | undefined {
  const singletons: [string, Row, Row][] = [
    ["OrganizationConfig", before.organizationConfig, after.organizationConfig],
    ["AdminAuditLogConfig", before.adminAuditLogConfig, after.adminAuditLogConfig],
    ["TransportConfig", before.transportConfig, after.transportConfig],
  ];
  const keyed = <T extends object>(name: string, previous: Iterable<[string, T]>, current: Iterable<[string, T]>): [string, Row | undefined, Row][] => {
    const old = new Map(previous);
    return [...current].map(([key, value]) => [`${name} ${key}`, old.get(key) as Row | undefined, value as Row]);
  };
  const byGuid = <T extends { Guid: string }>(items: readonly T[]): [string, T][] => items.map((item) => [item.Guid, item]);
  const permissionKey = (permission: { Identity: string; User: string }): string => `${permission.Identity}|${permission.User}`.toLowerCase();
  const candidates: [string, Row | undefined, Row][] = [
    ...singletons,
    ...keyed("Mailbox", before.mailboxes, after.mailboxes),
    ...keyed("MailboxAuditBypassAssociation", before.bypassAssociations, after.bypassAssociations),
    ...keyed("TransportRule", byGuid(before.transportRules), byGuid(after.transportRules)),
    ...keyed("JournalRule", byGuid(before.journalRules), byGuid(after.journalRules)),
    ...keyed(
      "MailboxPermission",
      before.mailboxPermissions.map((permission) => [permissionKey(permission), permission]),
      after.mailboxPermissions.map((permission) => [permissionKey(permission), permission]),
    ),
  ];
  for (const [object, previous, current] of candidates) {
    if (!(property in current)) continue;
    const now = current[property];
    const was = previous?.[property];
    if (JSON.stringify(now) === JSON.stringify(was)) continue;
    const added = Array.isArray(now) ? now.filter((item: unknown) => !(Array.isArray(was) && was.includes(item))) : [];
    current[property] = added.length > 0 ? (now as unknown[]).filter((item) => item !== added[0]) : previous ? structuredClone(was) : null;
    if (object.startsWith("MailboxPermission") && Array.isArray(current[property]) && (current[property] as unknown[]).length === 0) {
      after.mailboxPermissions = after.mailboxPermissions.filter((permission) => (permission as unknown) !== current);
    }
    return { object, was, now: current[property] };
  }
  return undefined;
}
