/**
 * The Exchange Online admin transport: the one small seam between the product and the wire.
 *
 * Today every cmdlet goes through the undocumented `adminapi/beta/{tenant}/InvokeCommand` endpoint the
 * ExchangeOnlineManagement module uses. When Microsoft's supported `adminapi/v2.0` endpoints cover a cmdlet,
 * an implementation of this interface can route that cmdlet there without touching any caller.
 */
import { ExchangeError } from "./errors";

/** One cmdlet invocation, as the `CmdletInput` body carries it. */
export interface CmdletRequest {
  /** e.g. `Get-Mailbox`. */
  readonly cmdlet: string;
  /**
   * Cmdlet parameters by name. Plain JSON values; a hashtable parameter (Add/Remove form) is
   * `{ "@odata.type": "#Exchange.GenericHashTable", Add: [...], Remove: [...] }` — see `hashtable()`.
   */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** Properties to return (`?$select=`); omitted = the cmdlet's default property set. */
  readonly select?: readonly string[];
}

/** What one cmdlet invocation returned. */
export interface CmdletResult<T = Record<string, unknown>> {
  /** Output objects (all pages concatenated for `invoke`). */
  readonly value: T[];
  /** `@adminapi.warnings`, e.g. "...no settings of 'x' have been modified." (idempotent success). */
  readonly warnings: string[];
  /** The `request-id` Exchange returned for the (last) HTTP call, for correlation. */
  readonly requestId?: string;
}

/** One entry of a batch answer, in the order of the requests. */
export type BatchItemResult<T = Record<string, unknown>> =
  | { readonly ok: true; readonly result: CmdletResult<T> }
  | { readonly ok: false; readonly error: ExchangeError };

/** Why a gated `batch` call stopped sending (an `OutcomeError` is one). */
export interface BatchHalt {
  readonly message: string;
}

/** How one `batch` call goes out. */
export interface BatchOptions {
  readonly abortSignal?: AbortSignal;
  /**
   * The requests in consecutive groups that go out all-or-nothing (a planned change's requests): the number of
   * requests in each group, in order, summing to the number of requests. Default: every request is its own group.
   */
  readonly groups?: readonly number[];
  /**
   * Awaited once per group, in order, before the group's first request is put into an envelope; envelopes already in
   * flight go on meanwhile. A halt ends the sending: that group and every later one is never sent, and each of their
   * requests fails with `notSentError`.
   */
  readonly beforeGroup?: (groupIndex: number) => Promise<BatchHalt | undefined>;
}

/** The failure of a request a `batch` halt left unsent. */
export function notSentError(cmdlet: string, halt: BatchHalt): ExchangeError {
  return new ExchangeError({ errorId: "NotSent", exceptionType: "", text: `Not sent: ${halt.message}`, status: 0, cmdlet });
}

export interface PageOptions {
  /** `Prefer: odata.maxpagesize=N` (1..1000). */
  readonly pageSize?: number;
  readonly abortSignal?: AbortSignal;
}

export interface ExchangeTransport {
  /**
   * Runs a cmdlet and yields its output page by page, following `@odata.nextLink`
   * (only to the configured Exchange host). Throws `ExchangeError` when the cmdlet fails.
   */
  pages<T = Record<string, unknown>>(request: CmdletRequest, options?: PageOptions): AsyncIterable<T[]>;
  /** Runs a cmdlet and returns all of its output. Throws `ExchangeError` when the cmdlet fails. */
  invoke<T = Record<string, unknown>>(request: CmdletRequest, options?: { abortSignal?: AbortSignal }): Promise<CmdletResult<T>>;
  /**
   * Runs independent cmdlets through `$batch` (any number: sent in envelopes of at most 10, a few in flight at once).
   * Never throws for a failed sub-request: each result, in the order of the requests, says whether it succeeded.
   * Sub-responses that are throttled (429 / Retry-After / "maximum number of concurrent requests per tenant") or
   * transient are retried by the transport, each within its own retry budget, before being reported as failed; a
   * sub-request waiting to be retried holds up no other. `groups` and `beforeGroup` gate the sending (`BatchOptions`).
   */
  batch<T = Record<string, unknown>>(requests: readonly CmdletRequest[], options?: BatchOptions): Promise<BatchItemResult<T>[]>;
}

/** A `#Exchange.GenericHashTable` parameter value: add and remove entries without replacing the list. */
export function hashtable(change: { add?: readonly string[]; remove?: readonly string[] }): Record<string, unknown> {
  return { "@odata.type": "#Exchange.GenericHashTable", Add: [...(change.add ?? [])], Remove: [...(change.remove ?? [])] };
}
