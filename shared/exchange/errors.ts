/**
 * A failed Exchange cmdlet, parsed from the admin API's error shape:
 * `{"error":{"code","message","details":[{"message":"<ErrorId>|<ExceptionType>|<text>"}],"innererror":{...}}}`.
 */
export class ExchangeError extends Error {
  override readonly name = "ExchangeError";
  /** Exchange's error id (first `|` field of `details[0].message`), e.g. `[Server=...]...` or a GUID-like id. */
  readonly errorId: string;
  /** .NET exception type, e.g. `Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException`. */
  readonly exceptionType: string;
  /** The human text Exchange gave. */
  readonly text: string;
  /** HTTP status of the (sub-)response; 0 when no response was received. */
  readonly status: number;
  /** `request-id` response header, when present. */
  readonly requestId?: string;
  /** The cmdlet that failed. */
  readonly cmdlet?: string;

  constructor(init: {
    errorId: string;
    exceptionType: string;
    text: string;
    status: number;
    requestId?: string;
    cmdlet?: string;
    cause?: unknown;
  }) {
    super(init.cmdlet ? `${init.cmdlet} failed: ${init.text}` : init.text, { cause: init.cause });
    this.errorId = init.errorId;
    this.exceptionType = init.exceptionType;
    this.text = init.text;
    this.status = init.status;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.cmdlet !== undefined) this.cmdlet = init.cmdlet;
  }
}

/** Normalises anything caught into an `Error`. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : JSON.stringify(value));
}

/**
 * Exchange's "not found", recognised by its exception type and text whatever the HTTP status (observed as 404
 * `NotFound`, but the body is what Exchange documents and public clients match).
 */
export function isNotFoundError(error: unknown): error is ExchangeError {
  return (
    error instanceof ExchangeError &&
    /ManagementObjectNotFoundException|couldn't be found|could not be found/i.test(`${error.exceptionType} ${error.text}`)
  );
}

/** Exchange's answer to creating what already exists (a retried write whose first attempt landed). */
export function isAlreadyExistsError(error: unknown): error is ExchangeError {
  return (
    error instanceof ExchangeError &&
    /already exists|is already being used|already present|already has|ProxyAddressExistsException|NameAlreadyExists/i.test(`${error.exceptionType} ${error.text}`)
  );
}
