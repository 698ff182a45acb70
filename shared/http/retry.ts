/**
 * Retry decisions for Exchange and Graph calls, as pure functions of what one attempt produced.
 *
 * The same decision serves the pipeline's retry policy (whole HTTP calls) and the Exchange `$batch`
 * sub-responses, so both honour throttling identically.
 */

/** The finite retry budget of one logical call. */
export interface RetryBudget {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** No retry is started if it would begin later than this after the first attempt started. */
  readonly maxElapsedInMs: number;
  /** First exponential backoff step. */
  readonly baseDelayInMs: number;
  /** Cap of one exponential backoff step. */
  readonly maxDelayInMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudget = Object.freeze({
  maxRetries: 6,
  maxElapsedInMs: 5 * 60_000,
  baseDelayInMs: 1_000,
  maxDelayInMs: 60_000,
});

/** What one attempt produced. */
export interface AttemptOutcome {
  /** Retries already made before this attempt (0 = this was the first attempt). */
  readonly retryCount: number;
  /** Time since the first attempt started, now. */
  readonly elapsedInMs: number;
  /** Wall clock now (epoch ms), to read an HTTP-date `Retry-After`. */
  readonly nowInMs: number;
  /** HTTP status; undefined when no response arrived. */
  readonly status?: number;
  /** Response headers, keys lower-cased. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly bodyText?: string;
  /** Socket error code (`ECONNRESET`...) or `REQUEST_TIMEOUT` when no response arrived. */
  readonly errorCode?: string;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayInMs: number; readonly reason: "throttled" | "transient" }
  | { readonly retry: false; readonly reason: "success" | "permanent" | "budget-exhausted" };

/** Error code the timeout policy gives a request that ran out of time. */
export const REQUEST_TIMEOUT_CODE = "REQUEST_TIMEOUT";

const TRANSIENT_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  REQUEST_TIMEOUT_CODE,
]);

const CONCURRENCY_THROTTLE_TEXT = "maximum number of concurrent requests per tenant";

/** True when a body carries Exchange's per-tenant concurrency refusal (an error body, whatever its status). */
export function isConcurrencyThrottle(bodyText: string | undefined): boolean {
  return bodyText !== undefined && bodyText.toLowerCase().includes(CONCURRENCY_THROTTLE_TEXT);
}

/**
 * The server-requested wait: `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After`
 * (delta-seconds or HTTP-date). Undefined when absent or unparseable.
 */
export function parseRetryAfterInMs(
  headers: Readonly<Record<string, string>> | undefined,
  nowInMs: number,
): number | undefined {
  if (!headers) return undefined;
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const value = headers[name];
    if (value !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value));
  }
  const retryAfter = headers["retry-after"]?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}

/** Exponential backoff with "equal jitter": half the step is fixed, half random, so waits never collapse to 0. */
export function backoffDelayInMs(retryCount: number, budget: RetryBudget, random: () => number): number {
  const step = Math.min(budget.maxDelayInMs, budget.baseDelayInMs * 2 ** retryCount);
  return Math.round(step / 2 + (step / 2) * random());
}

function isTransientStatus(status: number): boolean {
  return status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * Whether and when to retry. Throttling (429, 503, or the concurrency text) waits what the server asked,
 * else backs off; transient failures (other 5xx, 408, socket errors, timeouts) back off with jitter.
 * Never retries past `maxRetries` or when the wait would end beyond `maxElapsedInMs`.
 */
export function decideRetry(
  outcome: AttemptOutcome,
  budget: RetryBudget,
  random: () => number = Math.random,
): RetryDecision {
  const { status } = outcome;
  if (status !== undefined && status < 400) return { retry: false, reason: "success" };
  const throttled =
    status === 429 || status === 503 || (status !== undefined && isConcurrencyThrottle(outcome.bodyText));
  let delayInMs: number;
  let reason: "throttled" | "transient";
  if (throttled) {
    reason = "throttled";
    delayInMs =
      parseRetryAfterInMs(outcome.headers, outcome.nowInMs) ?? backoffDelayInMs(outcome.retryCount, budget, random);
  } else if (status !== undefined ? isTransientStatus(status) : TRANSIENT_ERROR_CODES.has(outcome.errorCode ?? "")) {
    reason = "transient";
    delayInMs = backoffDelayInMs(outcome.retryCount, budget, random);
  } else {
    return { retry: false, reason: "permanent" };
  }
  if (outcome.retryCount >= budget.maxRetries || outcome.elapsedInMs + delayInMs > budget.maxElapsedInMs) {
    return { retry: false, reason: "budget-exhausted" };
  }
  return { retry: true, delayInMs, reason };
}
