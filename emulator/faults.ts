/**
 * Faults injected from tests: throttling and transient failures, held (timed-out) requests, and latency.
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

export type Fault = StatusFault | TimeoutFault;

export interface FaultTarget {
  readonly cmdlet: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly viaBatch: boolean;
}

/** Latency per execution: fixed, or uniformly random in [min, max]. */
export type Latency = number | { readonly min: number; readonly max: number };

export class FaultInjector {
  readonly #pending: { fault: Fault; remaining: number }[] = [];
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
    };
  }

  clear(): void {
    this.#pending.length = 0;
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

  /** Consumes and returns the first fault matching the call, if any: before it runs, or (`after`) once it has run. */
  take(target: FaultTarget, phase: "before" | "after" = "before"): Fault | undefined {
    const entry = this.#pending.find(
      ({ fault, remaining }) =>
        remaining > 0 &&
        (fault.afterExecution ?? false) === (phase === "after") &&
        (fault.cmdlet === undefined || fault.cmdlet.toLowerCase() === target.cmdlet.toLowerCase()) &&
        (fault.inBatch === undefined || fault.inBatch === target.viaBatch) &&
        (fault.when === undefined || fault.when(target)),
    );
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#pending.splice(this.#pending.indexOf(entry), 1);
    return entry.fault;
  }
}
