/**
 * The Exchange admin REST endpoint (`/adminapi/beta/{tenant}/InvokeCommand` and `$batch`), as
 * /work/shared/reference/exchange-online.md §1 describes it: CmdletInput bodies, paging with
 * `Prefer: odata.maxpagesize` and `@odata.nextLink`, `$select`, `@adminapi.warnings`, and Exchange's error shape.
 */
import { randomUUID } from "node:crypto";
import { CmdletFailure, type CmdletDefinition } from "./cmdlet";
import { rbacRefusal } from "./cmdlets/roles";
import type { CallLog } from "./call-log";
import { loseProperty, type FaultInjector, type LossyWriteFault, type StatusFault } from "./faults";
import { HELD, headerValue, requestHeaders, jsonAnswer, preferredPageSize, project, selectList, withCorrelation, type HttpAnswer } from "./http-answer";
import type { TenantState } from "./tenant-state";

export const MAX_PAGE_SIZE = 1000;
export const MAX_BATCH_REQUESTS = 10;
export const CONCURRENCY_LIMIT_TEXT =
  "You have reached the maximum number of concurrent requests per tenant. Please wait and try again.";

const ODATA_SERVICE_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException";

/**
 * Cmdlets Exchange runs only on the server that holds a particular system mailbox; anchored anywhere else they answer
 * `CmdletProxyNotAvailableException`. The emulator's own table, from the evidence in docs/exchange-wire-contract.md
 * (kept apart from the client's on purpose, so the two are checked against each other).
 */
const AUDIT_LOG_SYSTEM_MAILBOX = "SystemMailbox{8cc370d3-822a-4ab8-a926-bb94bd0641a9}";
const REQUIRED_ANCHORS: ReadonlyMap<string, string> = new Map([["set-adminauditlogconfig", AUDIT_LOG_SYSTEM_MAILBOX]]);

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "BadRequest",
  404: "NotFound",
  405: "MethodNotAllowed",
  429: "TooManyRequests",
  500: "InternalServerError",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

const DEFAULT_FAULT_TEXT: Readonly<Record<number, string>> = {
  400: "The operation couldn't be performed because of an Active Directory error.",
  429: CONCURRENCY_LIMIT_TEXT,
  500: "An internal server error occurred. The operation failed.",
  503: "The service is currently unavailable. This issue may be transient, please try again.",
  504: "The operation timed out. This issue may be transient, please try again.",
};

/**
 * Exchange's error body. Observed live (public client fixtures): the top-level message is generic, the
 * useful text is in `details[0].message` as `<ErrorId>|<ExceptionType>|<text>` and in
 * `innererror.internalexception`, and an empty warnings array rides inside `error`.
 */
export function exchangeError(
  status: number,
  failure: { errorId: string; exceptionType: string; text: string; message?: string },
  headers: Record<string, string> = {},
): HttpAnswer {
  const message = failure.message ?? "Error executing cmdlet";
  return jsonAnswer(
    status,
    {
      error: {
        code: STATUS_CODES[status] ?? "BadRequest",
        message,
        details: [{ code: "Client", target: "", message: `${failure.errorId}|${failure.exceptionType}|${failure.text}` }],
        innererror: {
          message,
          type: ODATA_SERVICE_EXCEPTION,
          stacktrace: "",
          internalexception: { message: failure.text, type: failure.exceptionType, stacktrace: "" },
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
      },
    },
    headers,
  );
}

/** The answer to a request over the per-tenant concurrency limit. */
export function concurrencyLimitAnswer(retryAfterInSeconds: number): HttpAnswer {
  return throttled(retryAfterInSeconds, CONCURRENCY_LIMIT_TEXT);
}

function throttled(retryAfterInSeconds: number, text: string): HttpAnswer {
  return exchangeError(
    429,
    { errorId: "TooManyRequests", exceptionType: ODATA_SERVICE_EXCEPTION, text, message: text },
    { "Retry-After": String(retryAfterInSeconds) },
  );
}

function invalidRequest(text: string, status = 400): HttpAnswer {
  return exchangeError(status, { errorId: "", exceptionType: ODATA_SERVICE_EXCEPTION, text, message: "Invalid Operation" });
}

export interface ExchangeApiOptions {
  readonly tenant: TenantState;
  readonly cmdlets: ReadonlyMap<string, CmdletDefinition>;
  readonly calls: CallLog;
  readonly faults: FaultInjector;
  readonly now: () => Date;
  /** `https://127.0.0.1:<port>`, for absolute `@odata.nextLink`s. */
  readonly baseUrl: () => string;
}

/** One InvokeCommand request, direct or from a batch. Header names lower-cased. */
export interface InvokeRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  readonly viaBatch: boolean;
  /** The `$batch` envelope's headers, for a sub-request. */
  readonly envelopeHeaders?: Readonly<Record<string, string | string[] | undefined>>;
  /** Who called, from the access token (kept in the call log, for the audit log's records). */
  readonly caller?: Caller;
}

/** The caller an access token names: its client id (`appid`) and service principal object id (`oid`). */
export interface Caller {
  readonly appId: string;
  readonly objectId: string;
}

interface StoredOutput {
  readonly cmdlet: string;
  readonly values: readonly Record<string, unknown>[];
  readonly offset: number;
  readonly pageSize: number;
}

export class ExchangeApi {
  readonly #options: ExchangeApiOptions;
  /** Remaining output per skip token. Tokens stay valid so a throttled page request can be retried. */
  readonly #pages = new Map<string, StoredOutput>();

  constructor(options: ExchangeApiOptions) {
    this.#options = options;
  }

  /** Whether a `{tenantId}` path segment names this tenant: its GUID or its initial domain. */
  isTenantSegment(segment: string): boolean {
    const wanted = decodeURIComponent(segment).toLowerCase();
    const { tenant } = this.#options;
    return wanted === tenant.tenantId.toLowerCase() || wanted === tenant.initialDomain.toLowerCase();
  }

  /** Parses `/adminapi/beta/{tenant}/{operation}`; undefined for any other path. */
  route(url: URL): { tenantSegment: string; operation: string } | undefined {
    const match = /^\/adminapi\/beta\/([^/]+)\/([^/]+)$/i.exec(url.pathname);
    if (!match?.[1] || !match[2]) return undefined;
    return { tenantSegment: match[1], operation: decodeURIComponent(match[2]) };
  }

  /** The cmdlet name in a request body, for logging requests refused before they are parsed properly. */
  cmdletNameOf(body: unknown): string {
    const name = asRecord(asRecord(body)?.["CmdletInput"])?.["CmdletName"];
    return typeof name === "string" ? name : "(unknown)";
  }

  async invokeCommand(request: InvokeRequest): Promise<HttpAnswer> {
    const clientRequestId = headerValue(request.headers, "client-request-id");
    const input = asRecord(asRecord(request.body)?.["CmdletInput"]);
    const cmdletName = input?.["CmdletName"];
    const rawParameters = input?.["Parameters"] ?? {};
    const skipToken = request.url.searchParams.get("$skiptoken");
    const continuation = skipToken !== null;
    let parameters: Record<string, unknown> = {};
    const answer = await (async (): Promise<HttpAnswer> => {
      if (typeof cmdletName !== "string" || cmdletName.length === 0) {
        return invalidRequest("The request body must be {\"CmdletInput\":{\"CmdletName\":\"...\",\"Parameters\":{...}}}.");
      }
      const parameterRecord = asRecord(rawParameters);
      if (!parameterRecord) return invalidRequest("CmdletInput.Parameters must be an object.");
      parameters = parameterRecord;
      const target = { cmdlet: cmdletName, parameters, viaBatch: request.viaBatch };
      const fault = this.#options.faults.takeBeforeExecution(target);
      if (fault?.kind === "timeout") return HELD;
      if (fault && fault.kind !== "lossy") return faultAnswer(fault);
      await delay(this.#options.faults.nextDelayInMs());
      if (skipToken !== null) return this.#continuePaging(skipToken, cmdletName, request.url);
      const misrouted = this.#misrouted(cmdletName, request);
      if (misrouted) return misrouted;
      const executed = fault?.kind === "lossy" ? this.#executeLossy(fault, cmdletName, parameters, request) : this.#execute(cmdletName, parameters, request);
      // The change has landed; the answer may still be lost on the way back.
      const lost = this.#options.faults.take(target, "after");
      if (lost?.kind === "timeout") return HELD;
      return lost ? faultAnswer(lost) : executed;
    })();
    if (!answer.hold) {
      this.#options.calls.record({
        api: "exchange",
        cmdlet: typeof cmdletName === "string" ? cmdletName : "(unknown)",
        parameters,
        status: answer.status,
        viaBatch: request.viaBatch,
        continuation,
        at: this.#options.now().toISOString(),
        ...(clientRequestId ? { clientRequestId } : {}),
        ...requestHeaders(request.headers),
        ...(request.caller ? { appId: request.caller.appId, callerObjectId: request.caller.objectId } : {}),
      });
    }
    return answer;
  }

  /**
   * A cmdlet that must run where a particular system mailbox lives, anchored elsewhere (by the request, or by the
   * `$batch` envelope that carries it), answers Exchange's proxy error with both servers named.
   */
  #misrouted(cmdletName: string, request: InvokeRequest): HttpAnswer | undefined {
    const required = REQUIRED_ANCHORS.get(cmdletName.toLowerCase());
    if (!required) return undefined;
    const anchors = [request.headers, ...(request.envelopeHeaders ? [request.envelopeHeaders] : [])].map((headers) =>
      headerValue(headers, "x-anchormailbox") ?? "",
    );
    if (anchors.every((anchor) => this.#isAnchor(anchor, required))) return undefined;
    const server = (mailbox: string) => `${mailbox.replace(/[^a-f0-9]/gi, "").slice(0, 8).toUpperCase()}.PROD.OUTLOOK.COM`;
    const text = `Cmdlet needs proxy. Current Server FQDN : ${server(anchors.find((anchor) => !this.#isAnchor(anchor, required)) ?? "none")}, Required Server FQDN : ${server(required)}`;
    // Unlike most failures, the top-level message is the text itself (pnp/cli-microsoft365 #4677; test/reference).
    return exchangeError(400, {
      errorId: "",
      exceptionType: "Microsoft.Exchange.Configuration.Tasks.CmdletProxyNotAvailableException",
      text,
      message: text,
    });
  }

  /** `APP:<system mailbox>@<this tenant's GUID or initial domain>`. */
  #isAnchor(anchor: string, systemMailbox: string): boolean {
    const match = /^APP:(.+)@([^@]+)$/i.exec(anchor.trim());
    return match?.[1]?.toLowerCase() === systemMailbox.toLowerCase() && this.isTenantSegment(match[2] ?? "");
  }

  /** Runs the sub-requests of a `$batch` body one after another; the envelope is always 200 when well formed. */
  async batch(body: unknown, batchUrl: URL, envelopeHeaders: InvokeRequest["headers"] = {}, caller?: Caller): Promise<HttpAnswer> {
    const requests = asRecord(body)?.["requests"];
    if (!Array.isArray(requests)) return invalidRequest("The batch request body must have a 'requests' array.");
    if (requests.length === 0 || requests.length > MAX_BATCH_REQUESTS) {
      return invalidRequest(`A batch must contain between 1 and ${MAX_BATCH_REQUESTS} requests; it has ${requests.length}.`);
    }
    const ids = new Set<string>();
    const subRequests: { id: string; method: string; url: string; headers: Record<string, string>; body: unknown }[] = [];
    for (const item of requests) {
      const sub = asRecord(item);
      const id = sub?.["id"];
      const url = sub?.["url"];
      if (!sub || typeof id !== "string" || typeof url !== "string") {
        return invalidRequest("Every batch request needs a string 'id' and 'url'.");
      }
      if (ids.has(id)) return invalidRequest(`The batch request id '${id}' is used more than once.`);
      ids.add(id);
      const headers = Object.fromEntries(
        Object.entries(asRecord(sub["headers"]) ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      );
      const method = typeof sub["method"] === "string" ? sub["method"].toUpperCase() : "GET";
      subRequests.push({ id, method, url, headers, body: sub["body"] });
    }
    // The envelope itself can fail (a gateway 503, a held connection) before any sub-request runs.
    const envelopeFault = this.#options.faults.take({ cmdlet: "$batch", parameters: {}, viaBatch: false });
    if (envelopeFault?.kind === "timeout") return HELD;
    if (envelopeFault) return faultAnswer(envelopeFault);
    const responses: unknown[] = [];
    for (const sub of subRequests) {
      const answer = await this.#batchItem(sub, batchUrl, envelopeHeaders, caller);
      if (answer.hold) return HELD;
      const { headers, status, body: subBody } = withCorrelation(answer, sub.headers["client-request-id"]);
      responses.push({ id: sub.id, status, headers, body: subBody });
    }
    return jsonAnswer(200, { responses });
  }

  async #batchItem(
    sub: { method: string; url: string; headers: Record<string, string>; body: unknown },
    batchUrl: URL,
    envelopeHeaders: InvokeRequest["headers"],
    caller: Caller | undefined,
  ): Promise<HttpAnswer> {
    let url: URL;
    try {
      url = new URL(sub.url, batchUrl);
    } catch {
      return invalidRequest(`The batch request url '${sub.url}' is not valid.`);
    }
    const route = this.route(url);
    if (!route || route.operation.toLowerCase() !== "invokecommand") {
      return invalidRequest(`The batch request url '${sub.url}' is not an InvokeCommand url.`, 404);
    }
    if (!this.isTenantSegment(route.tenantSegment)) return unknownTenant(route.tenantSegment);
    if (sub.method !== "POST") return invalidRequest(`Method '${sub.method}' is not allowed; use POST.`, 405);
    let body = sub.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        return invalidRequest("The batch request body is not valid JSON.");
      }
    }
    return this.invokeCommand({ url, headers: sub.headers, body, viaBatch: true, envelopeHeaders, ...(caller ? { caller } : {}) });
  }

  /** Runs the cmdlet as usual, then loses one property of what it changed; the answer is the real one. */
  #executeLossy(fault: LossyWriteFault, cmdletName: string, parameters: Record<string, unknown>, request: InvokeRequest): HttpAnswer {
    const before = structuredClone(this.#options.tenant);
    const answer = this.#execute(cmdletName, parameters, request);
    if (answer.status === 200) loseProperty(before, this.#options.tenant, fault.property);
    return answer;
  }

  #execute(cmdletName: string, parameters: Record<string, unknown>, request: InvokeRequest): HttpAnswer {
    const definition = this.#options.cmdlets.get(cmdletName.toLowerCase());
    if (!definition) {
      return exchangeError(400, {
        errorId: "CommandNotFoundException",
        exceptionType: "System.Management.Automation.CommandNotFoundException",
        text:
          `The term '${cmdletName}' is not recognized as the name of a cmdlet, function, script file, or operable program. ` +
          "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
        message: "Invalid Operation",
      });
    }
    const normalised: Record<string, unknown> = {};
    const unknown: string[] = [];
    for (const [name, value] of Object.entries(parameters)) {
      const spelling = definition.parameters.find((known) => known.toLowerCase() === name.toLowerCase());
      if (spelling === undefined) unknown.push(name);
      else normalised[spelling] = value;
    }
    if (unknown.length > 0) {
      // The wording Exchange's REST endpoint was observed to use for an unknown parameter (PowerShell's own
      // "A parameter cannot be found that matches parameter name" is what the module prints locally).
      return exchangeError(400, {
        errorId: "",
        exceptionType: "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
        text: `Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet parameters specified. ${unknown.join(", ")}`,
        message: "Invalid Operation",
      });
    }
    // A cmdlet outside the app's Exchange roles is not in its session at all.
    const refusal = rbacRefusal(this.#options.tenant, definition.name, Object.keys(normalised));
    if (refusal) return exchangeError(400, { errorId: refusal.errorId, exceptionType: refusal.exceptionType, text: refusal.text, message: "Invalid Operation" });
    let output;
    try {
      output = definition.handle(normalised, { tenant: this.#options.tenant, now: this.#options.now });
    } catch (error) {
      if (error instanceof CmdletFailure) {
        return exchangeError(error.status, { errorId: error.errorId, exceptionType: error.exceptionType, text: error.text });
      }
      return exchangeError(500, {
        errorId: "",
        exceptionType: "System.Exception",
        text: error instanceof Error ? error.message : String(error),
      });
    }
    const select = selectList(request.url);
    const values = output.value?.map((value) => project(value, select));
    const pageSize = preferredPageSize(headerValue(request.headers, "prefer"), MAX_PAGE_SIZE, MAX_PAGE_SIZE);
    return this.#page(definition.name, values, 0, pageSize, output.warnings ?? [], request.url);
  }

  #continuePaging(skipToken: string, cmdletName: string, url: URL): HttpAnswer {
    const stored = this.#pages.get(skipToken);
    if (!stored) return invalidRequest(`The skip token '${skipToken}' is not valid or has expired.`);
    if (stored.cmdlet.toLowerCase() !== cmdletName.toLowerCase()) {
      return invalidRequest(`The skip token was issued for ${stored.cmdlet}, not ${cmdletName}; send the same body.`);
    }
    return this.#page(stored.cmdlet, stored.values, stored.offset, stored.pageSize, [], url);
  }

  #page(
    cmdlet: string,
    values: readonly Record<string, unknown>[] | undefined,
    offset: number,
    pageSize: number,
    warnings: readonly string[],
    url: URL,
  ): HttpAnswer {
    const route = this.route(url);
    const tenantSegment = route?.tenantSegment ?? this.#options.tenant.tenantId;
    const endpoint = `${this.#options.baseUrl()}/adminapi/beta/${tenantSegment}`;
    const body: Record<string, unknown> = {
      "@odata.context": `${endpoint}/$metadata#Collection(Exchange.GenericHashTable)`,
      "adminapi.warnings@odata.type": "#Collection(String)",
      "@adminapi.warnings": [...warnings],
    };
    if (values) {
      body["value"] = values.slice(offset, offset + pageSize);
      if (offset + pageSize < values.length) {
        const token = randomUUID().replaceAll("-", "");
        this.#pages.set(token, { cmdlet, values, offset: offset + pageSize, pageSize });
        const select = url.searchParams.get("$select");
        const query = `${select ? `$select=${encodeURIComponent(select)}&` : ""}$skiptoken=${token}`;
        body["@odata.nextLink"] = `${endpoint}/InvokeCommand?${query}`;
      }
    }
    return jsonAnswer(200, body, { "Preference-Applied": `odata.maxpagesize=${pageSize}` });
  }
}

export function unknownTenant(segment: string): HttpAnswer {
  return invalidRequest(`The tenant '${decodeURIComponent(segment)}' could not be found.`, 404);
}

function faultAnswer(fault: StatusFault): HttpAnswer {
  const text = fault.text ?? DEFAULT_FAULT_TEXT[fault.status] ?? "The operation failed.";
  if (fault.status === 429) return throttled(fault.retryAfterInSeconds ?? 1, text);
  const headers: Record<string, string> =
    fault.retryAfterInSeconds === undefined ? {} : { "Retry-After": String(fault.retryAfterInSeconds) };
  if (fault.status === 400) {
    return exchangeError(400, { errorId: "[Server=EMULATOR]", exceptionType: "Microsoft.Exchange.Configuration.Tasks.TaskException", text }, headers);
  }
  return exchangeError(fault.status, { errorId: "", exceptionType: ODATA_SERVICE_EXCEPTION, text, message: text }, headers);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
