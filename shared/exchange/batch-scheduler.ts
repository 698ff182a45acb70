/**
 * The pipelined schedule of one `$batch` call (`RestExchangeTransport.batch`): sub-requests wait in a queue, and an
 * envelope is formed from the ready ones only when one of the call's send slots is free, so no sub-request is
 * committed to an envelope that still waits for a slot. A sub-request to be retried goes back into the queue with the
 * time it is due and joins a later envelope, while the other envelopes keep flowing; when only waiting sub-requests
 * remain, the call sleeps until the earliest is due.
 *
 * Requests join the queue a group at a time, each group behind its gate (`BatchOptions.beforeGroup`), and only when
 * the next envelope needs more requests: the envelopes in flight go on while a gate is pending, and a halt at a gate
 * leaves that group and every later one unsent.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BatchHalt } from "./transport";

/** A sub-request as it goes into an envelope. */
export interface EnvelopeItem {
  /** Its position in the call's requests. */
  readonly index: number;
  /** Times it was sent before (0 on its first attempt). */
  readonly retryCount: number;
  /** When it first went into an envelope (epoch ms): its retry budget's time counts from here. */
  readonly firstSentAt: number;
}

/** What became of one sub-request of an envelope: its result, or another attempt once the wait is over. */
export type ItemVerdict<R> = { readonly result: R } | { readonly retryInMs: number };

export interface BatchSchedule<R> {
  /** How many requests the call has. */
  readonly count: number;
  /** Sizes of consecutive groups of requests, each behind its gate (default: one request per group). */
  readonly groups?: readonly number[] | undefined;
  readonly beforeGroup?: ((groupIndex: number) => Promise<BatchHalt | undefined>) | undefined;
  readonly abortSignal?: AbortSignal | undefined;
  /** Envelopes of this call in flight at once. */
  readonly maxInFlight: number;
  readonly maxPerEnvelope: number;
  /** Sub-requests share an envelope only when their keys are equal (read as the envelope is formed). */
  readonly envelopeKey: (index: number) => string;
  /** Sends one envelope; resolves to a verdict per item, in order. */
  readonly send: (items: readonly EnvelopeItem[]) => Promise<ItemVerdict<R>[]>;
  /** The result of a request a halt left unsent. */
  readonly notSent: (index: number, halt: BatchHalt) => R;
}

/** Runs a call's schedule: one result per request, in the order of the requests. Throws what a gate or an envelope threw. */
export function runBatchSchedule<R>(schedule: BatchSchedule<R>): Promise<R[]> {
  return new Scheduler(schedule).run();
}

/** A sub-request in the queue: ready, or waiting until `dueAt`. */
interface Queued {
  readonly index: number;
  readonly retryCount: number;
  readonly firstSentAt?: number;
  readonly dueAt: number;
}

class Scheduler<R> {
  private readonly results: (R | undefined)[];
  private readonly groupSizes: readonly number[];
  private readonly queue: Queued[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private nextGroup = 0;
  /** The first request of the next group. */
  private nextRequest = 0;
  private halted = false;
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly schedule: BatchSchedule<R>) {
    this.results = new Array<R | undefined>(schedule.count);
    this.groupSizes = schedule.groups ?? Array.from({ length: schedule.count }, () => 1);
    const total = this.groupSizes.reduce((sum, size) => sum + size, 0);
    if (this.groupSizes.some((size) => !Number.isInteger(size) || size < 0) || total !== schedule.count)
      throw new RangeError(`batch groups must be sizes adding up to the ${schedule.count} requests, got [${this.groupSizes.join(", ")}]`);
  }

  async run(): Promise<R[]> {
    for (;;) {
      await this.fillSlots();
      this.throwIfStopped();
      // Nothing ready and no group left to admit: done once nothing is in flight or waiting.
      if (this.inFlight.size === 0 && this.queue.length === 0) return this.results as R[];
      await this.nextEvent();
      this.throwIfStopped();
    }
  }

  private throwIfStopped(): void {
    if (this.failure) throw this.failure.error;
    this.schedule.abortSignal?.throwIfAborted();
  }

  /** Forms and sends envelopes while a slot is free and sub-requests are ready (or a group can be admitted). */
  private async fillSlots(): Promise<void> {
    while (!this.failure && !this.schedule.abortSignal?.aborted && this.inFlight.size < this.schedule.maxInFlight) {
      const envelope = await this.nextEnvelope();
      if (envelope.length === 0) return;
      this.launch(envelope);
    }
  }

  /** The ready sub-requests of the first one's key, in input order; groups are admitted until an envelope's worth is ready. */
  private async nextEnvelope(): Promise<EnvelopeItem[]> {
    let ready = this.ready();
    while (ready.length < this.schedule.maxPerEnvelope && (await this.admitGroup())) ready = this.ready();
    const first = ready[0];
    if (!first) return [];
    const key = this.schedule.envelopeKey(first.index);
    const members = ready.filter((entry) => this.schedule.envelopeKey(entry.index) === key).slice(0, this.schedule.maxPerEnvelope);
    const now = Date.now();
    for (const member of members) this.queue.splice(this.queue.indexOf(member), 1);
    return members.map((entry) => ({ index: entry.index, retryCount: entry.retryCount, firstSentAt: entry.firstSentAt ?? now }));
  }

  private ready(): Queued[] {
    const now = Date.now();
    return this.queue.filter((entry) => entry.dueAt <= now).sort((a, b) => a.index - b.index);
  }

  /** Passes the next group's gate: its requests join the queue (true), or a halt leaves it and every later group unsent. */
  private async admitGroup(): Promise<boolean> {
    if (this.halted || this.nextGroup >= this.groupSizes.length) return false;
    const halt = await this.schedule.beforeGroup?.(this.nextGroup);
    if (halt) {
      this.halted = true;
      for (let index = this.nextRequest; index < this.schedule.count; index += 1) this.results[index] = this.schedule.notSent(index, halt);
      return false;
    }
    const size = this.groupSizes[this.nextGroup] ?? 0;
    for (let index = this.nextRequest; index < this.nextRequest + size; index += 1) this.queue.push({ index, retryCount: 0, dueAt: 0 });
    this.nextRequest += size;
    this.nextGroup += 1;
    return true;
  }

  private launch(envelope: readonly EnvelopeItem[]): void {
    const sending: Promise<void> = this.schedule
      .send(envelope)
      .then(
        (verdicts) => verdicts.forEach((verdict, position) => this.settle(envelope[position] as EnvelopeItem, verdict)),
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private settle(item: EnvelopeItem, verdict: ItemVerdict<R>): void {
    if ("result" in verdict) this.results[item.index] = verdict.result;
    else this.queue.push({ index: item.index, retryCount: item.retryCount + 1, firstSentAt: item.firstSentAt, dueAt: Date.now() + verdict.retryInMs });
  }

  /** Waits until an envelope comes back or, with a slot free, the earliest waiting sub-request is due (or the call is aborted). */
  private async nextEvent(): Promise<void> {
    const events: Promise<unknown>[] = [...this.inFlight];
    const timer = new AbortController();
    const stopTimer = () => timer.abort();
    if (this.inFlight.size < this.schedule.maxInFlight && this.queue.length > 0) {
      const dueInMs = Math.min(...this.queue.map((entry) => entry.dueAt)) - Date.now();
      events.push(sleep(Math.max(0, dueInMs), undefined, { signal: timer.signal }).catch(() => undefined));
    }
    this.schedule.abortSignal?.addEventListener("abort", stopTimer, { once: true });
    try {
      await Promise.race(events);
    } finally {
      this.schedule.abortSignal?.removeEventListener("abort", stopTimer);
      stopTimer();
    }
  }
}
