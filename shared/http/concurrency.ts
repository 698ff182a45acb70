/**
 * Per-tenant concurrency limits shared by every client in the process.
 *
 * Exchange refuses more than a few concurrent calls per tenant ("maximum number of concurrent requests
 * per tenant"), whoever makes them; so the limit lives in a process-wide registry keyed by tenant and
 * service, and every pipeline that talks to that tenant and service takes its slot from the same limiter.
 */
import { AbortError, type AbortSignalLike } from "@azure/abort-controller";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";

export const DEFAULT_MAX_CONCURRENCY = 3;

interface Waiter {
  resolve(release: () => void): void;
  reject(error: Error): void;
}

/** A counting semaphore with FIFO waiters. */
export class ConcurrencyLimiter {
  private activeCount = 0;
  private limit: number;
  private readonly waiters: Waiter[] = [];

  constructor(maxConcurrency: number) {
    this.limit = validateLimit(maxConcurrency);
  }

  get active(): number {
    return this.activeCount;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get maxConcurrency(): number {
    return this.limit;
  }

  set maxConcurrency(value: number) {
    this.limit = validateLimit(value);
    this.drain();
  }

  /** Waits for a slot; the returned function releases it (idempotent). */
  acquire(abortSignal?: AbortSignalLike): Promise<() => void> {
    if (abortSignal?.aborted) return Promise.reject(new AbortError("Aborted while waiting for a concurrency slot."));
    if (this.activeCount < this.limit && this.waiters.length === 0) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new AbortError("Aborted while waiting for a concurrency slot."));
      };
      const waiter: Waiter = {
        resolve: (release) => {
          abortSignal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
        reject,
      };
      abortSignal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Runs `task` while holding a slot. */
  async run<T>(task: () => Promise<T>, abortSignal?: AbortSignalLike): Promise<T> {
    const release = await this.acquire(abortSignal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  private take(): () => void {
    this.activeCount += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.activeCount -= 1;
      this.drain();
    };
  }

  private drain(): void {
    while (this.activeCount < this.limit && this.waiters.length > 0) {
      const next = this.waiters.shift();
      next?.resolve(this.take());
    }
  }
}

function validateLimit(value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`maxConcurrency must be a positive integer, got ${value}`);
  return value;
}

const sharedLimiters = new Map<string, ConcurrencyLimiter>();

/**
 * The process-wide limiter for one tenant and service (`exchange`, `graph`). The latest `maxConcurrency`
 * given for a key wins, so a reloaded config applies to every client of that tenant.
 */
export function sharedConcurrencyLimiter(
  tenantId: string,
  service: string,
  maxConcurrency = DEFAULT_MAX_CONCURRENCY,
): ConcurrencyLimiter {
  const key = `${tenantId.trim().toLowerCase()}|${service}`;
  const existing = sharedLimiters.get(key);
  if (existing) {
    if (existing.maxConcurrency !== maxConcurrency) existing.maxConcurrency = maxConcurrency;
    return existing;
  }
  const limiter = new ConcurrencyLimiter(maxConcurrency);
  sharedLimiters.set(key, limiter);
  return limiter;
}

export const concurrencyLimitPolicyName = "concurrencyLimitPolicy";

/** Holds a slot of `limiter` for the duration of each HTTP attempt (so retries and pages each take one). */
export function concurrencyLimitPolicy(limiter: ConcurrencyLimiter): PipelinePolicy {
  return {
    name: concurrencyLimitPolicyName,
    sendRequest: (request, next) => limiter.run(() => next(request), request.abortSignal),
  };
}
