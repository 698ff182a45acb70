/** What the emulator served, for tests to inspect. */

export interface CallRecord {
  /** `exchange` for InvokeCommand (direct or in a batch), `graph` for Graph requests. */
  readonly api: "exchange" | "graph";
  /** Cmdlet name as the client sent it (Exchange), or `<METHOD> <route>` such as `GET /v1.0/users/delta` (Graph). */
  readonly cmdlet: string;
  /** Cmdlet parameters as sent (Exchange), or the query and body (Graph). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** HTTP status of the (sub-)response. */
  readonly status: number;
  readonly viaBatch: boolean;
  /** True when this request followed an `@odata.nextLink` (the cmdlet did not run again). */
  readonly continuation: boolean;
  /** ISO-8601 time the call was answered (emulator clock). */
  readonly at: string;
  readonly clientRequestId?: string;
  /** The request's `X-AnchorMailbox` (Exchange). */
  readonly anchorMailbox?: string;
  /** The request's `X-CmdletName` (Exchange). */
  readonly cmdletNameHeader?: string;
  /** The access token's client id (`appid`) (Exchange). */
  readonly appId?: string;
  /** The access token's `oid`: the calling service principal (Exchange). */
  readonly callerObjectId?: string;
}

export class CallLog {
  readonly #records: CallRecord[] = [];
  readonly #listeners: ((call: CallRecord) => void)[] = [];
  #httpRequests = 0;

  /** Every call, in the order answered. */
  get records(): readonly CallRecord[] {
    return this.#records;
  }

  /** HTTP requests received on the HTTPS server (batch envelopes and refused requests included). */
  get httpRequests(): number {
    return this.#httpRequests;
  }

  countHttpRequest(): void {
    this.#httpRequests += 1;
  }

  record(call: CallRecord): void {
    this.#records.push(call);
    for (const listener of this.#listeners) listener(call);
  }

  /** Calls `listener` with every call recorded from now on (the audit log's records of writes; `reset` keeps listeners). */
  subscribe(listener: (call: CallRecord) => void): void {
    this.#listeners.push(listener);
  }

  /** Executions per cmdlet (or Graph route); page continuations are not counted. */
  countsByCmdlet(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.#records) {
      if (!call.continuation) counts[call.cmdlet] = (counts[call.cmdlet] ?? 0) + 1;
    }
    return counts;
  }

  reset(): void {
    this.#records.length = 0;
    this.#httpRequests = 0;
  }
}
