/**
 * The Functions' change sink: a run applies its mailbox changes itself while they are few (up to
 * `RUN_FANOUT_THRESHOLD`); past that it hands them out as work items that name their targets and nothing else.
 * Each item is registered in the run's state before it is sent, with an id derived from the run and its targets, so a
 * redelivered run re-sends the same items (never duplicates), and the run completes only when every registered
 * item is done.
 */
import type { MailboxChange } from "../reconcile/apply";
import type { ApplyInline, ChangeSink } from "../reconcile/sink";
import type { RunStateStore } from "./run-state-store";
import type { WorkQueue } from "./work-queue";
import { packTargets, workItemId } from "./work-messages";

export interface FanOutOptions {
  readonly runState: Pick<RunStateStore, "registerItem">;
  readonly queue: Pick<WorkQueue, "send">;
  readonly tenantId: string;
  readonly runId: string;
  /** The policy the run plans with (`policyFingerprint`). */
  readonly policy: string;
  /** Changes the run applies itself; beyond this many, every change of the run is handed out. */
  readonly threshold: number;
}

export class FanOutSink implements ChangeSink {
  private held: MailboxChange[] = [];
  private fannedOut = false;
  private handedOut = 0;

  constructor(private readonly options: FanOutOptions) {}

  async accept(changes: readonly MailboxChange[], inline: ApplyInline): Promise<void> {
    // A mailbox without an Entra object id cannot be named in a work item: the run applies it itself.
    const [nameable, local] = partition(changes, (change) => Boolean(change.observed.ExternalDirectoryObjectId));
    if (local.length > 0) await inline(local);
    this.held.push(...nameable);
    if (!this.fannedOut && this.held.length <= this.options.threshold) return;
    this.fannedOut = true;
    await this.handOut();
  }

  async finish(inline: ApplyInline): Promise<number> {
    if (this.fannedOut) await this.handOut();
    else await inline(this.held.splice(0));
    return this.handedOut;
  }

  private async handOut(): Promise<void> {
    const { runState, queue, tenantId, runId, policy } = this.options;
    const targetIds = this.held.splice(0).map((change) => (change.observed.ExternalDirectoryObjectId ?? "").toLowerCase());
    for (const targets of packTargets(targetIds)) {
      const itemId = workItemId(runId, targets);
      await runState.registerItem(tenantId, runId, itemId, targets);
      await queue.send({ kind: "changes", tenantId, runId, itemId, targetIds: targets, policy });
      this.handedOut += targets.length;
    }
  }
}

function partition<T>(items: readonly T[], keep: (item: T) => boolean): [T[], T[]] {
  const kept: T[] = [];
  const rest: T[] = [];
  for (const item of items) (keep(item) ? kept : rest).push(item);
  return [kept, rest];
}
