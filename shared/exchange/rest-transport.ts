/**
 * `ExchangeTransport` over the Exchange admin REST endpoint the ExchangeOnlineManagement v3 module uses:
 * `POST {base}/adminapi/beta/{tenant}/InvokeCommand` and `$batch` (see /work/shared/reference/exchange-online.md §1).
 *
 * Every wire detail (URLs, headers, paging, error shape, batch envelope) lives in this file, so a cmdlet can
 * move to the supported `adminapi/v2.0` endpoints without touching any caller.
 */
import { randomUUID } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { isRestError, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { z } from "zod";
import { createServicePipeline, jsonRequest, responseRequestId, type ServicePipeline } from "../http/pipeline";
import { decideRetry, DEFAULT_RETRY_BUDGET, type RetryBudget } from "../http/retry";
import { runBatchSchedule, type EnvelopeItem, type ItemVerdict } from "./batch-scheduler";
import { ExchangeError } from "./errors";
import { notSentError, type BatchItemResult, type BatchOptions, type CmdletRequest, type CmdletResult, type ExchangeTransport, type PageOptions } from "./transport";

export const EXCHANGE_SCOPE = "https://outlook.office365.com/.default";
export const MAX_PAGE_SIZE = 1000;
export const MAX_BATCH_SIZE = 10;
/** The call-count key of `$batch` envelopes. */
export const BATCH_CALL_KEY = "$batch";

/**
 * X-AnchorMailbox routing (app-only): the system mailbox a cmdlet's request is anchored to. Most cmdlets run on any
 * server reached through the default system mailbox; `Set-AdminAuditLogConfig` must reach the server that holds the
 * audit log mailbox, or Exchange answers `CmdletProxyNotAvailableException` ("Cmdlet needs proxy"). Evidence per row:
 * docs/exchange-wire-contract.md. A cmdlet not in the table that answers the proxy error is sent once more to the
 * audit log mailbox (and routed there from then on), so an unlisted cmdlet with the same need still works.
 */
const DEFAULT_ANCHOR_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
export const AUDIT_LOG_ANCHOR_MAILBOX = "SystemMailbox{8cc370d3-822a-4ab8-a926-bb94bd0641a9}";
const CMDLET_ANCHOR_MAILBOXES: ReadonlyMap<string, string> = new Map([["set-adminauditlogconfig", AUDIT_LOG_ANCHOR_MAILBOX]]);
const PROXY_NOT_AVAILABLE = "CmdletProxyNotAvailableException";

/** The `X-AnchorMailbox` value of a system mailbox in a tenant: `APP:<system mailbox>@<tenant>`. */
export function anchorMailbox(systemMailbox: string, tenantId: string): string {
  return `APP:${systemMailbox}@${tenantId}`;
}

/** Exchange's answer to a cmdlet sent to a server that cannot run it ("Cmdlet needs proxy"). */
export function isProxyNotAvailable(error: ExchangeError): boolean {
  return error.exceptionType.endsWith(PROXY_NOT_AVAILABLE) || /cmdlet needs proxy/i.test(error.text);
}

/** One HTTP call the transport made (every attempt: first calls, retries and pages). */
export interface ExchangeCall {
  /** Cmdlet name, or `$batch` for a batch envelope. */
  readonly cmdlet: string;
  /** Undefined when no response arrived. */
  readonly status?: number;
  readonly durationInMs: number;
  readonly clientRequestId: string;
  /** Exchange's `request-id`, when a response arrived. */
  readonly requestId?: string;
}

export interface RestExchangeTransportOptions {
  /** Tenant GUID or `*.onmicrosoft.com` domain. */
  readonly tenantId: string;
  /** `https://outlook.office365.com`, or the emulator's URL. */
  readonly baseUrl: string;
  readonly credential: TokenCredential;
  /** Concurrent Exchange calls for this tenant across the whole process (default 3). */
  readonly maxConcurrency?: number;
  readonly retryBudget?: Partial<RetryBudget>;
  readonly timeoutInMs?: number;
  readonly extraCaPem?: string;
  /** Default `Prefer: odata.maxpagesize` (1..1000, default 1000). */
  readonly pageSize?: number;
  /** Called after every HTTP call, for logging and accounting. */
  readonly onCall?: (call: ExchangeCall) => void;
  /** Injected randomness for jitter (tests). */
  readonly random?: () => number;
  /** The wait taken before a retry, given the one decided (calls and `$batch` sub-requests); tests observe it (`ServicePipelineOptions`). */
  readonly retryDelay?: (decidedDelayInMs: number) => number;
}

const warningsSchema = z.array(z.string()).optional();

const invokeResponseSchema = z.looseObject({
  value: z.array(z.record(z.string(), z.unknown())).optional(),
  "@odata.nextLink": z.string().optional(),
  /** The OData v3 / minimal-metadata spelling of the same continuation. */
  "odata.nextLink": z.string().optional(),
  "@adminapi.warnings": warningsSchema,
  /** Non-terminating errors: the cmdlet answered 200 but did not do (all of) its work. */
  "@adminapi.errors": z.array(z.unknown()).optional(),
});

const NEXT_LINK_ANNOTATIONS = new Set(["@odata.nextLink", "odata.nextLink"]);
/** Any other key that looks like a continuation: refused rather than read as the end of the list. */
const CONTINUATION_LIKE = /next.?link|skip.?token|delta.?link|^__next$/i;

const errorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.string().optional(),
    message: z.string().optional(),
    details: z.array(z.looseObject({ message: z.string().optional() })).optional(),
    innererror: z
      .looseObject({
        message: z.string().optional(),
        type: z.string().optional(),
        internalexception: z.looseObject({ message: z.string().optional(), type: z.string().optional() }).optional(),
      })
      .optional(),
  }),
});

const batchResponseSchema = z.object({
  responses: z.array(
    z.looseObject({
      id: z.string(),
      status: z.number().int(),
      headers: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      body: z.unknown().optional(),
    }),
  ),
});

type SubResponse = z.infer<typeof batchResponseSchema>["responses"][number];

interface Page {
  readonly value: Record<string, unknown>[];
  readonly warnings: string[];
  readonly requestId?: string;
  readonly nextLink?: string;
}

const GENERIC_MESSAGE = /^\s*Error executing cmdlet\s*$/i;

/** True for Exchange's "nothing to change" warning, which is idempotent success. */
export function isNoChangeWarning(warning: string): boolean {
  return /no settings of .* have been modified/i.test(warning);
}

/**
 * Parses an Exchange error body (`details[0].message` = `<ErrorId>|<ExceptionType>|<text>`, fallback
 * `innererror`, then the top-level message, then a non-JSON body such as a 401/403 page).
 */
export function parseExchangeError(init: {
  status: number;
  bodyText: string;
  requestId?: string | undefined;
  cmdlet?: string;
}): ExchangeError {
  const { status, bodyText } = init;
  const common = {
    status,
    ...(init.requestId ? { requestId: init.requestId } : {}),
    ...(init.cmdlet ? { cmdlet: init.cmdlet } : {}),
  };
  const parsed = errorBodySchema.safeParse(tryParseJson(bodyText));
  if (parsed.success) {
    const { error } = parsed.data;
    const detail = error.details?.[0]?.message;
    if (detail && detail.includes("|")) {
      const [errorId = "", exceptionType = "", ...text] = detail.split("|");
      return new ExchangeError({ errorId, exceptionType, text: text.join("|") || error.message || detail, ...common });
    }
    const inner = error.innererror?.internalexception ?? error.innererror;
    // The top-level message is usually the generic "Error executing cmdlet"; when it is not (the proxy error has
    // been seen there), it is the text that says what happened.
    const specific = error.message && !GENERIC_MESSAGE.test(error.message) ? error.message : undefined;
    if (inner?.message) {
      return new ExchangeError({
        errorId: error.code ?? "",
        exceptionType: inner.type ?? "",
        text: GENERIC_MESSAGE.test(inner.message) && specific ? specific : inner.message,
        ...common,
      });
    }
    return new ExchangeError({
      errorId: error.code ?? `Http${status}`,
      exceptionType: "",
      text: detail ?? error.message ?? `HTTP ${status}`,
      ...common,
    });
  }
  const snippet = bodyText.trim().slice(0, 500);
  const text =
    status === 401 || status === 403
      ? `Access denied by Exchange (HTTP ${status}): check Exchange.ManageAsApp and the app's Exchange role.${snippet ? ` ${snippet}` : ""}`
      : snippet || `HTTP ${status} with an empty body`;
  return new ExchangeError({ errorId: `Http${status}`, exceptionType: "", text, ...common });
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class RestExchangeTransport implements ExchangeTransport {
  private readonly http: ServicePipeline;
  private readonly base: URL;
  private readonly invokeUrl: string;
  private readonly batchUrl: string;
  private readonly pageSize: number;
  private readonly budget: RetryBudget;
  private readonly random: () => number;
  private readonly counts = new Map<string, number>();
  /** Cmdlets that answered the proxy error at the default anchor and are routed to the audit log mailbox since. */
  private readonly rerouted = new Set<string>();
  /** Which cmdlet each in-flight request carries, for per-cmdlet call accounting. */
  private readonly cmdletOf = new WeakMap<PipelineRequest, string>();

  constructor(private readonly options: RestExchangeTransportOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== "https:") throw new TypeError(`Exchange base URL must be https: ${options.baseUrl}`);
    const tenantPath = `${this.base.origin}/adminapi/beta/${encodeURIComponent(options.tenantId)}`;
    this.invokeUrl = `${tenantPath}/InvokeCommand`;
    this.batchUrl = `${tenantPath}/$batch`;
    this.pageSize = validatePageSize(options.pageSize ?? MAX_PAGE_SIZE);
    this.budget = { ...DEFAULT_RETRY_BUDGET, ...options.retryBudget };
    this.random = options.random ?? Math.random;
    this.http = createServicePipeline({
      credential: options.credential,
      scopes: EXCHANGE_SCOPE,
      tenantId: options.tenantId,
      service: "exchange",
      retryBudget: this.budget,
      random: this.random,
      ...(options.retryDelay ? { retryDelay: options.retryDelay } : {}),
      ...(options.maxConcurrency !== undefined ? { maxConcurrency: options.maxConcurrency } : {}),
      ...(options.timeoutInMs !== undefined ? { timeoutInMs: options.timeoutInMs } : {}),
      ...(options.extraCaPem ? { extraCaPem: options.extraCaPem } : {}),
      onAttempt: ({ request, status, durationInMs, requestId }) => {
        const cmdlet = this.cmdletOf.get(request) ?? "(unknown)";
        this.counts.set(cmdlet, (this.counts.get(cmdlet) ?? 0) + 1);
        this.options.onCall?.({
          cmdlet,
          durationInMs,
          clientRequestId: request.headers.get("client-request-id") ?? request.requestId,
          ...(status !== undefined ? { status } : {}),
          ...(requestId ? { requestId } : {}),
        });
      },
    });
  }

  /** HTTP calls made so far per cmdlet (retries and pages included; batch envelopes under `$batch`). */
  callCounts(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counts);
  }

  async *pages<T = Record<string, unknown>>(request: CmdletRequest, options: PageOptions = {}): AsyncIterable<T[]> {
    for await (const page of this.pageResponses(request, options)) yield page.value as T[];
  }

  async invoke<T = Record<string, unknown>>(
    request: CmdletRequest,
    options: { abortSignal?: AbortSignal } = {},
  ): Promise<CmdletResult<T>> {
    const value: Record<string, unknown>[] = [];
    const warnings: string[] = [];
    let requestId: string | undefined;
    for await (const page of this.pageResponses(request, options)) {
      value.push(...page.value);
      warnings.push(...page.warnings);
      requestId = page.requestId ?? requestId;
    }
    return { value: value as T[], warnings, ...(requestId ? { requestId } : {}) };
  }

  /**
   * `$batch` through the pipelined schedule (./batch-scheduler.ts): at most the tenant's concurrency limit of this
   * call's envelopes in flight, each formed when it is sent from the ready sub-requests that share one anchor mailbox
   * (so the envelope and every sub-request are routed alike, whether Exchange routes a batch by the envelope or by each
   * sub-request). A throttled or transient sub-response waits in the queue for its own retry, within its own budget
   * (retries and time from its first attempt); a proxy error sends the cmdlet once more, rerouted.
   */
  async batch<T = Record<string, unknown>>(requests: readonly CmdletRequest[], options: BatchOptions = {}): Promise<BatchItemResult<T>[]> {
    const request = (index: number) => requests[index] as CmdletRequest;
    const results = await runBatchSchedule<BatchItemResult>({
      count: requests.length,
      groups: options.groups,
      beforeGroup: options.beforeGroup,
      abortSignal: options.abortSignal,
      maxInFlight: this.http.limiter.maxConcurrency,
      maxPerEnvelope: MAX_BATCH_SIZE,
      envelopeKey: (index) => this.anchorFor(request(index).cmdlet),
      send: (items) => this.sendEnvelope(requests, items, options.abortSignal),
      notSent: (index, halt) => ({ ok: false, error: notSentError(request(index).cmdlet, halt) }),
    });
    return results as BatchItemResult<T>[];
  }

  /** Sends one envelope and decides each of its sub-requests: a result (its paging followed), or another attempt. */
  private async sendEnvelope(
    requests: readonly CmdletRequest[],
    items: readonly EnvelopeItem[],
    abortSignal: AbortSignal | undefined,
  ): Promise<ItemVerdict<BatchItemResult>[]> {
    const envelope = items.map((item) => requests[item.index] as CmdletRequest);
    const answers = await this.sendBatch(envelope, abortSignal);
    return Promise.all(items.map((item, position) => this.verdict(item, envelope[position] as CmdletRequest, answers[position] as SubAnswer, abortSignal)));
  }

  /** A sub-response's verdict: retried as `decideRetry` says (the wait through `retryDelay`), rerouted once on a proxy error, else final. */
  private async verdict(
    item: EnvelopeItem,
    request: CmdletRequest,
    answer: SubAnswer,
    abortSignal: AbortSignal | undefined,
  ): Promise<ItemVerdict<BatchItemResult>> {
    if (answer.kind === "ok") {
      return this.completePaging(request, answer.page, { abortSignal }).then(
        (result) => ({ result: { ok: true, result } }),
        (error: unknown) => {
          if (error instanceof ExchangeError) return { result: { ok: false, error } };
          throw error;
        },
      );
    }
    if (answer.kind === "failed") {
      const nowInMs = Date.now();
      const decision = decideRetry(
        {
          retryCount: item.retryCount,
          elapsedInMs: nowInMs - item.firstSentAt,
          nowInMs,
          status: answer.status,
          headers: answer.headers,
          bodyText: answer.bodyText,
        },
        this.budget,
        this.random,
      );
      if (decision.retry) return { retryInMs: this.options.retryDelay?.(decision.delayInMs) ?? decision.delayInMs };
    }
    const error = answer.kind === "error" ? answer.error : parseExchangeError({ ...answer, cmdlet: request.cmdlet });
    return this.reroute(request.cmdlet, error) ? { retryInMs: 0 } : { result: { ok: false, error } };
  }

  private async *pageResponses(request: CmdletRequest, options: PageOptions): AsyncIterable<Page> {
    const pageSize = validatePageSize(options.pageSize ?? this.pageSize);
    const body = cmdletBody(request);
    let url: string | undefined = this.commandUrl(request);
    let first = true;
    while (url) {
      const response = await this.send(
        request.cmdlet,
        jsonRequest({ method: "POST", url, body, headers: this.headers(request.cmdlet, pageSize), abortSignal: options.abortSignal }),
      );
      let page: Page;
      try {
        page = this.parsePage(request.cmdlet, response);
      } catch (error) {
        if (first && error instanceof ExchangeError && this.reroute(request.cmdlet, error)) continue;
        throw error;
      }
      first = false;
      yield page;
      url = page.nextLink === undefined ? undefined : this.checkNextLink(request.cmdlet, page.nextLink);
    }
  }

  /** A batch sub-response carries only its first page; the rest is fetched with ordinary InvokeCommand calls. */
  private async completePaging(
    request: CmdletRequest,
    first: Page,
    options: { abortSignal?: AbortSignal },
  ): Promise<CmdletResult> {
    const value = [...first.value];
    const warnings = [...first.warnings];
    let requestId = first.requestId;
    let next = first.nextLink;
    while (next !== undefined) {
      const url = this.checkNextLink(request.cmdlet, next);
      const response = await this.send(
        request.cmdlet,
        jsonRequest({
          method: "POST",
          url,
          body: cmdletBody(request),
          headers: this.headers(request.cmdlet, this.pageSize),
          abortSignal: options.abortSignal,
        }),
      );
      const page = this.parsePage(request.cmdlet, response);
      value.push(...page.value);
      warnings.push(...page.warnings);
      requestId = page.requestId ?? requestId;
      next = page.nextLink;
    }
    return { value, warnings, ...(requestId ? { requestId } : {}) };
  }

  private async sendBatch(
    requests: readonly CmdletRequest[],
    abortSignal: AbortSignal | undefined,
  ): Promise<SubAnswer[]> {
    const subRequests = requests.map((request) => ({
      id: randomUUID(),
      method: "POST",
      url: this.commandUrl(request),
      headers: {
        "Content-Type": "application/json",
        ...this.headers(request.cmdlet, this.pageSize),
        "client-request-id": randomUUID(),
      },
      body: cmdletBody(request),
    }));
    let response: PipelineResponse;
    try {
      response = await this.send(
        BATCH_CALL_KEY,
        jsonRequest({
          method: "POST",
          url: this.batchUrl,
          body: { requests: subRequests },
          headers: { "X-AnchorMailbox": this.anchorFor(requests[0]?.cmdlet ?? ""), Prefer: "odata.continue-on-error" },
          abortSignal,
        }),
      );
    } catch (error) {
      if (error instanceof ExchangeError)
        return requests.map((request) => ({ kind: "error", error: withCmdlet(error, request.cmdlet) }));
      throw error;
    }
    const requestId = responseRequestId(response);
    if (response.status < 200 || response.status >= 300) {
      // The pipeline already spent the retry budget on the envelope itself.
      const bodyText = response.bodyAsText ?? "";
      return requests.map((request) => ({
        kind: "error",
        error: parseExchangeError({ status: response.status, bodyText, requestId, cmdlet: request.cmdlet }),
      }));
    }
    const parsed = batchResponseSchema.safeParse(tryParseJson(response.bodyAsText ?? ""));
    if (!parsed.success) {
      const error = new ExchangeError({
        errorId: "InvalidBatchResponse",
        exceptionType: "",
        text: `Unexpected $batch response: ${parsed.error.message}`,
        status: response.status,
        ...(requestId ? { requestId } : {}),
      });
      return requests.map((request) => ({ kind: "error", error: withCmdlet(error, request.cmdlet) }));
    }
    const byId = new Map(parsed.data.responses.map((sub) => [sub.id, sub]));
    return subRequests.map((sub, position) => {
      const cmdlet = (requests[position] as CmdletRequest).cmdlet;
      const answer = byId.get(sub.id);
      if (!answer) {
        const error = new ExchangeError({
          errorId: "MissingBatchResponse",
          exceptionType: "",
          text: "The $batch response has no answer for this request.",
          status: response.status,
          cmdlet,
          ...(requestId ? { requestId } : {}),
        });
        return { kind: "error", error };
      }
      return this.subAnswer(cmdlet, answer, requestId);
    });
  }

  private subAnswer(cmdlet: string, sub: SubResponse, batchRequestId: string | undefined): SubAnswer {
    const headers = Object.fromEntries(
      Object.entries(sub.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
    );
    const requestId = headers["request-id"] ?? batchRequestId;
    const bodyText = typeof sub.body === "string" ? sub.body : sub.body === undefined ? "" : JSON.stringify(sub.body);
    if (sub.status < 200 || sub.status >= 300)
      return { kind: "failed", status: sub.status, headers, bodyText, requestId };
    try {
      return { kind: "ok", page: this.parseBody(cmdlet, sub.status, bodyText, requestId) };
    } catch (error) {
      if (error instanceof ExchangeError) return { kind: "error", error };
      throw error;
    }
  }

  /** Sends one request, tagged with its cmdlet for accounting; a request that got no response becomes an `ExchangeError` with status 0. */
  private async send(cmdlet: string, request: PipelineRequest): Promise<PipelineResponse> {
    this.cmdletOf.set(request, cmdlet);
    try {
      return await this.http.sendRequest(request);
    } catch (error) {
      if (isRestError(error) && error.statusCode === undefined) {
        throw new ExchangeError({
          errorId: error.code ?? "RequestFailed",
          exceptionType: "",
          text: error.message,
          status: 0,
          cmdlet,
          cause: error,
        });
      }
      throw error;
    }
  }

  private parsePage(cmdlet: string, response: PipelineResponse): Page {
    const requestId = responseRequestId(response);
    const bodyText = response.bodyAsText ?? "";
    if (response.status < 200 || response.status >= 300)
      throw parseExchangeError({ status: response.status, bodyText, requestId, cmdlet });
    return this.parseBody(cmdlet, response.status, bodyText, requestId);
  }

  private parseBody(cmdlet: string, status: number, bodyText: string, requestId: string | undefined): Page {
    // A Set-* cmdlet can answer 204 or an empty body.
    const parsed = invokeResponseSchema.safeParse(bodyText.trim() === "" ? {} : tryParseJson(bodyText));
    if (!parsed.success) {
      throw new ExchangeError({
        errorId: "InvalidResponse",
        exceptionType: "",
        text: `Unexpected InvokeCommand response: ${parsed.error.message}`,
        status,
        cmdlet,
        ...(requestId ? { requestId } : {}),
      });
    }
    const data = parsed.data;
    const failure = (errorId: string, text: string) =>
      new ExchangeError({ errorId, exceptionType: "", text, status, cmdlet, ...(requestId ? { requestId } : {}) });
    const errors = data["@adminapi.errors"] ?? [];
    if (errors.length > 0) throw failure("NonTerminatingError", errors.map(errorText).join("; "));
    const unknownContinuation = Object.keys(data).find((key) => CONTINUATION_LIKE.test(key) && !NEXT_LINK_ANNOTATIONS.has(key));
    if (unknownContinuation !== undefined)
      throw failure("UnsupportedContinuation", `The response continues with '${unknownContinuation}', which this client does not follow; the list would be incomplete.`);
    const nextLink = data["@odata.nextLink"] ?? data["odata.nextLink"];
    return {
      value: data.value ?? [],
      warnings: data["@adminapi.warnings"] ?? [],
      ...(requestId ? { requestId } : {}),
      ...(nextLink !== undefined ? { nextLink } : {}),
    };
  }

  /** Paging is followed only to the configured Exchange origin: a nextLink elsewhere would receive our token. */
  private checkNextLink(cmdlet: string, nextLink: string): string {
    let url: URL | undefined;
    try {
      url = new URL(nextLink, this.base);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== this.base.origin) {
      throw new ExchangeError({
        errorId: "ForeignNextLink",
        exceptionType: "",
        text: `Refusing to follow @odata.nextLink outside ${this.base.origin}: ${nextLink}`,
        status: 0,
        cmdlet,
      });
    }
    return url.toString();
  }

  private commandUrl(request: CmdletRequest): string {
    if (!request.select || request.select.length === 0) return this.invokeUrl;
    for (const property of request.select) {
      if (!/^[A-Za-z0-9_]+$/.test(property)) throw new TypeError(`Invalid $select property: ${property}`);
    }
    return `${this.invokeUrl}?$select=${request.select.join(",")}`;
  }

  private anchorFor(cmdlet: string): string {
    const name = cmdlet.toLowerCase();
    const mailbox = this.rerouted.has(name) ? AUDIT_LOG_ANCHOR_MAILBOX : (CMDLET_ANCHOR_MAILBOXES.get(name) ?? DEFAULT_ANCHOR_MAILBOX);
    return anchorMailbox(mailbox, this.options.tenantId);
  }

  /** Learns from a proxy error at the default anchor: true when the cmdlet should be sent again, rerouted. */
  private reroute(cmdlet: string, error: ExchangeError): boolean {
    const name = cmdlet.toLowerCase();
    if (!isProxyNotAvailable(error) || this.rerouted.has(name) || CMDLET_ANCHOR_MAILBOXES.has(name)) return false;
    this.rerouted.add(name);
    return true;
  }

  /** Per call and per sub-request: the cmdlet's anchor, its name (as the module and public clients send) and the page size. */
  private headers(cmdlet: string, pageSize: number): Record<string, string> {
    return { "X-AnchorMailbox": this.anchorFor(cmdlet), "X-CmdletName": cmdlet, Prefer: `odata.maxpagesize=${pageSize}` };
  }
}

/** One sub-request's answer: success, a final failure, or a failed sub-response that may be retried. */
type SubAnswer =
  | { readonly kind: "ok"; readonly page: Page }
  | { readonly kind: "error"; readonly error: ExchangeError }
  | {
      readonly kind: "failed";
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly bodyText: string;
      readonly requestId: string | undefined;
    };

/** The text of one `@adminapi.errors` entry (a string, or an object with a message). */
function errorText(entry: unknown): string {
  if (typeof entry === "string") return entry;
  const record = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : {};
  const message = record["message"] ?? record["Message"] ?? record["Exception"];
  return typeof message === "string" ? message : JSON.stringify(entry);
}

function cmdletBody(request: CmdletRequest): unknown {
  return { CmdletInput: { CmdletName: request.cmdlet, Parameters: request.parameters ?? {} } };
}

function validatePageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
    throw new RangeError(`pageSize must be 1..${MAX_PAGE_SIZE}, got ${pageSize}`);
  return pageSize;
}

function withCmdlet(error: ExchangeError, cmdlet: string): ExchangeError {
  if (error.cmdlet === cmdlet) return error;
  return new ExchangeError({
    errorId: error.errorId,
    exceptionType: error.exceptionType,
    text: error.text,
    status: error.status,
    cmdlet,
    cause: error,
    ...(error.requestId ? { requestId: error.requestId } : {}),
  });
}
