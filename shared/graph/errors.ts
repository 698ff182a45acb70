/** A failed Microsoft Graph call: `{"error":{"code","message","innerError":{"request-id"}}}`. */
export class GraphError extends Error {
  override readonly name: string = "GraphError";
  /** Graph's error code, e.g. `Request_ResourceNotFound`; `Http<status>` when the body had none. */
  readonly code: string;
  /** HTTP status; 0 when no response was received. */
  readonly status: number;
  readonly requestId?: string;

  constructor(init: {
    code: string;
    message: string;
    status: number;
    requestId?: string | undefined;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    if (init.requestId !== undefined) this.requestId = init.requestId;
  }
}

/** The delta token expired or is unknown (`syncStateNotFound`): start a full resync without a deltaLink. */
export class GraphSyncStateNotFoundError extends GraphError {
  override readonly name = "GraphSyncStateNotFoundError";
}
