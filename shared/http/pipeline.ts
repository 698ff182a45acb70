/**
 * The HTTP pipeline every Exchange and Graph call goes through, built from `@azure/core-rest-pipeline`:
 *
 *   client-request-id -> TLS (extra CA) -> retry (pure `decideRetry`, finite budget) -> bearer token
 *   -> per-tenant concurrency slot -> per-attempt timeout -> attempt hook -> HTTP client
 *
 * The slot and the timeout sit inside the retry policy, so each attempt holds a slot only while it is
 * on the wire (never while backing off) and a timed-out attempt is retried like a socket error.
 */
import { rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  isRestError,
  RestError,
  retryPolicy,
  setClientRequestIdPolicy,
  tlsPolicy,
  type HttpClient,
  type HttpMethods,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type RetryStrategy,
} from "@azure/core-rest-pipeline";
import { concurrencyLimitPolicy, sharedConcurrencyLimiter, type ConcurrencyLimiter } from "./concurrency";
import { decideRetry, DEFAULT_RETRY_BUDGET, REQUEST_TIMEOUT_CODE, type RetryBudget } from "./retry";

export const DEFAULT_REQUEST_TIMEOUT_IN_MS = 120_000;

/** One HTTP attempt, as seen on the wire (retries and pages are separate attempts). */
export interface HttpAttempt {
  readonly request: PipelineRequest;
  /** Undefined when no response arrived (socket error, timeout, abort). */
  readonly status?: number;
  readonly error?: unknown;
  readonly durationInMs: number;
  /** The service's `request-id`, when a response arrived. */
  readonly requestId?: string;
}

export interface ServicePipelineOptions {
  readonly credential: TokenCredential;
  /** Token scope(s), e.g. `https://outlook.office365.com/.default`. */
  readonly scopes: string | string[];
  /** Tenant and service key the shared concurrency limiter. */
  readonly tenantId: string;
  readonly service: string;
  /** Concurrent attempts allowed per tenant and service across the whole process (default 3). */
  readonly maxConcurrency?: number;
  readonly retryBudget?: Partial<RetryBudget>;
  /** Per attempt, including reading the body (default 120 s). */
  readonly timeoutInMs?: number;
  /** A PEM CA trusted in addition to the public roots (the local emulator's certificate). */
  readonly extraCaPem?: string;
  /** Called after every HTTP attempt. */
  readonly onAttempt?: (attempt: HttpAttempt) => void;
  /** Replaces the default Node HTTP client (tests). */
  readonly httpClient?: HttpClient;
  /** Injected randomness for jitter (tests). */
  readonly random?: () => number;
  /**
   * The wait taken before a retry, given the one the retry decision chose (default: exactly that). Tests record the
   * decided wait (the server's `Retry-After`) and return 0, so they prove it is honoured without sleeping.
   */
  readonly retryDelay?: (decidedDelayInMs: number) => number;
}

export interface ServicePipeline {
  readonly limiter: ConcurrencyLimiter;
  /** Sends a request through the pipeline; never throws for an HTTP status, only when no response came. */
  sendRequest(request: PipelineRequest): Promise<PipelineResponse>;
}

export function createServicePipeline(options: ServicePipelineOptions): ServicePipeline {
  const budget: RetryBudget = { ...DEFAULT_RETRY_BUDGET, ...options.retryBudget };
  const limiter = sharedConcurrencyLimiter(options.tenantId, options.service, options.maxConcurrency);
  const pipeline: Pipeline = createEmptyPipeline();
  pipeline.addPolicy(setClientRequestIdPolicy("client-request-id"));
  if (options.extraCaPem) {
    // Node's `ca` replaces the default roots, so the public roots are kept alongside the extra CA.
    pipeline.addPolicy(tlsPolicy({ ca: [...rootCertificates, options.extraCaPem] }));
  }
  pipeline.addPolicy(budgetedRetryPolicy(budget, options.random ?? Math.random, options.retryDelay), { phase: "Retry" });
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: options.scopes }), {
    phase: "Sign",
  });
  pipeline.addPolicy(concurrencyLimitPolicy(limiter), { afterPhase: "Sign" });
  pipeline.addPolicy(attemptTimeoutPolicy(options.timeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS), {
    afterPhase: "Sign",
  });
  if (options.onAttempt) pipeline.addPolicy(attemptHookPolicy(options.onAttempt), { afterPhase: "Sign" });
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  return { limiter, sendRequest: (request) => pipeline.sendRequest(httpClient, request) };
}

/** A JSON request for `sendRequest`. */
export function jsonRequest(init: {
  method: HttpMethods;
  url: string;
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
  abortSignal?: AbortSignal | undefined;
}): PipelineRequest {
  const headers = createHttpHeaders({ accept: "application/json", ...init.headers });
  if (init.body !== undefined) headers.set("content-type", "application/json");
  return createPipelineRequest({
    method: init.method,
    url: init.url,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.abortSignal ? { abortSignal: init.abortSignal } : {}),
  });
}

/** The `request-id` a Microsoft service returned (Exchange and Graph both send it). */
export function responseRequestId(response: PipelineResponse): string | undefined {
  return response.headers.get("request-id") ?? response.headers.get("x-ms-request-id") ?? undefined;
}

/** The SDK's `retryPolicy` driven by the pure `decideRetry`, with the elapsed time measured per logical call. */
function budgetedRetryPolicy(
  budget: RetryBudget,
  random: () => number,
  retryDelay: (decidedDelayInMs: number) => number = (decidedDelayInMs) => decidedDelayInMs,
): PipelinePolicy {
  const startedAt = new WeakMap<PipelineRequest, number>();
  const strategy: RetryStrategy = {
    name: "budgetedRetryStrategy",
    retry({ retryCount, response, responseError }) {
      const request = response?.request ?? responseError?.request;
      const nowInMs = Date.now();
      const decision = decideRetry(
        {
          retryCount,
          nowInMs,
          elapsedInMs: request ? nowInMs - (startedAt.get(request) ?? nowInMs) : 0,
          ...(response
            ? { status: response.status, headers: response.headers.toJSON(), bodyText: response.bodyAsText ?? "" }
            : {}),
          ...(responseError?.code ? { errorCode: responseError.code } : {}),
        },
        budget,
        random,
      );
      if (decision.retry) return { retryAfterInMs: retryDelay(decision.delayInMs) };
      return responseError && !response ? { errorToThrow: responseError } : { skipStrategy: true };
    },
  };
  const inner = retryPolicy([strategy], { maxRetries: budget.maxRetries });
  return {
    name: "budgetedRetryPolicy",
    sendRequest(request, next) {
      startedAt.set(request, Date.now());
      return inner.sendRequest(request, next);
    },
  };
}

/**
 * Aborts an attempt that takes longer than `timeoutInMs` (headers and body) and reports it as a
 * `RestError` with code `REQUEST_TIMEOUT`, which the retry policy treats as transient. The SDK's own
 * `request.timeout` covers only the headers and surfaces as an `AbortError` that is never retried.
 */
function attemptTimeoutPolicy(timeoutInMs: number): PipelinePolicy {
  return {
    name: "attemptTimeoutPolicy",
    async sendRequest(request, next) {
      const callerSignal = request.abortSignal;
      const controller = new AbortController();
      const onCallerAbort = (): void => controller.abort();
      callerSignal?.addEventListener("abort", onCallerAbort);
      if (callerSignal?.aborted) controller.abort();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutInMs);
      request.abortSignal = controller.signal;
      try {
        return await next(request);
      } catch (error) {
        if (timedOut && !callerSignal?.aborted) {
          throw new RestError(`Request timed out after ${timeoutInMs} ms`, { code: REQUEST_TIMEOUT_CODE, request });
        }
        throw error;
      } finally {
        clearTimeout(timer);
        callerSignal?.removeEventListener("abort", onCallerAbort);
        // The retry policy checks the caller's signal on this same request object.
        if (callerSignal) request.abortSignal = callerSignal;
        else delete request.abortSignal;
      }
    },
  };
}

function attemptHookPolicy(onAttempt: (attempt: HttpAttempt) => void): PipelinePolicy {
  return {
    name: "attemptHookPolicy",
    async sendRequest(request, next) {
      const started = Date.now();
      try {
        const response = await next(request);
        const requestId = responseRequestId(response);
        onAttempt({
          request,
          status: response.status,
          durationInMs: Date.now() - started,
          ...(requestId ? { requestId } : {}),
        });
        return response;
      } catch (error) {
        const status = isRestError(error) ? error.statusCode : undefined;
        onAttempt({ request, ...(status !== undefined ? { status } : {}), error, durationInMs: Date.now() - started });
        throw error;
      }
    },
  };
}
