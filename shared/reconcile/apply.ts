/**
 * Apply (and the verify that belongs to it): the one path by which mailbox changes reach Exchange, whoever planned
 * them — the CLI's run, a Function's run below the fan-out threshold, or a work item's worker after re-reading its
 * targets. The changes of each apply stream through one `$batch` call (envelopes kept in flight, a recorder checkpoint
 * gating each round of 60 changes while the envelopes before it go on); a licence rejection gets the change's single
 * fallback; every sent change waits for a read-back, and only the read-back decides its outcome.
 */
import { mailboxTargetId, type ObservedMailbox } from "../audit/observed";
import { changedSinceFilter, identityFilter } from "../audit/opath";
import type { PlannedAction } from "../audit/plan";
import type { AuditPolicy } from "../audit/policy";
import type { AuditProgress, Clock } from "../audit/ports";
import type { OutcomeError, TargetOutcome } from "../domain/outcome";
import { ensureError } from "../exchange/errors";
import { outcomeErrorOf } from "../exchange/outcome-error";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import { mailboxPages, MAILBOX_SOURCES, readBackIdentity } from "./observe";
import type { RunRecorder } from "./recorder";
import { failed, isAlreadyAudited, isLicenceRejection, missingFromReadBack, readBackFindings, verifiedOutcome, withLicenceRejection } from "./verdicts";

/** Changes per round: the recorder is asked whether to go on before each round's first change goes out. */
const CHANGES_PER_ROUND = 60;
/** Changed mailboxes held for read-back before a verify read is made (bounds memory). */
const VERIFY_WINDOW_TARGETS = 2000;
/** Up to this many pending mailboxes are read back by identity; more, by what changed since the writes began. */
const IDENTITY_READ_BACK_LIMIT = 60;
const IDENTITIES_PER_FILTER = 20;
const VERIFY_WINDOW_SLACK_IN_MS = 5 * 60_000;

/** A planned mailbox change and what it was planned from. */
export interface MailboxChange {
  readonly action: PlannedAction;
  /** The outcome expected once the read-back confirms the change (`remediated`). */
  readonly outcome: TargetOutcome;
  readonly observed: ObservedMailbox;
  /** Audit (Premium) licence as planned; undefined when unknown. */
  readonly licensed: boolean | undefined;
}

export interface ApplyDeps {
  readonly transport: ExchangeTransport;
  readonly recorder: RunRecorder;
  readonly clock: Clock;
  readonly onProgress?: (phase: AuditProgress["phase"], changesSent: number) => void;
}

/**
 * Sends each action's requests, all through one `$batch` call (each action's requests go out all-or-nothing); an
 * action's error is the first failure among its requests. Before each round of `CHANGES_PER_ROUND` actions goes out
 * the recorder's checkpoint (`RunRecorder.checkpoint`) hands what was emitted since to the store and waits until
 * everything handed over before the last hand-over is recorded — the checkpoint gates the round, so the envelopes of the rounds before keep flowing while it runs; once
 * recording has failed nothing more is sent, and the remaining actions fail as not sent.
 * Each round is reported as sent once its checkpoint has passed.
 */
export async function sendActions(deps: ApplyDeps, actions: readonly PlannedAction[]): Promise<{ error?: OutcomeError }[]> {
  if (actions.length === 0) return [];
  // No gate is asked after a halt, so the first is the only one.
  let halted: { readonly from: number; readonly error: OutcomeError } | undefined;
  const results = await sendAll(deps, actions, async (index) => {
    if (index % CHANGES_PER_ROUND !== 0) return undefined;
    const halt = await deps.recorder.checkpoint();
    if (halt) halted = { from: index, error: { code: "NotSent", message: `Not sent: ${halt.message}` } };
    else deps.onProgress?.("apply", Math.min(CHANGES_PER_ROUND, actions.length - index));
    return halt;
  });
  if (!halted) return results;
  const { from, error } = halted;
  return [...results.slice(0, from), ...actions.slice(from).map(() => ({ error }))];
}

/** One batch call with every action's requests, action `index` behind `beforeAction(index)`. */
async function sendAll(
  deps: ApplyDeps,
  actions: readonly PlannedAction[],
  beforeAction: (index: number) => Promise<OutcomeError | undefined>,
): Promise<{ error?: OutcomeError }[]> {
  let answers: Awaited<ReturnType<ExchangeTransport["batch"]>>;
  try {
    answers = await deps.transport.batch(
      actions.flatMap((action) => action.requests),
      { groups: actions.map((action) => action.requests.length), beforeGroup: beforeAction },
    );
  } catch (error) {
    const outcomeError = outcomeErrorOf(error);
    return actions.map(() => ({ error: outcomeError }));
  }
  let offset = 0;
  return actions.map((action) => {
    const mine = answers.slice(offset, offset + action.requests.length);
    offset += action.requests.length;
    if (mine.length < action.requests.length) return { error: { code: "NoResponse", message: "No batch response for this change" } };
    const failure = mine.find((result) => !result.ok);
    return failure && !failure.ok ? { error: outcomeErrorOf(failure.error) } : {};
  });
}

interface PendingMailbox {
  readonly observed: ObservedMailbox;
  readonly licensed: boolean | undefined;
  readonly outcome: TargetOutcome;
}

/**
 * Applies mailbox changes and verifies them by reading back: a few by identity, many by what changed since the
 * writes began (in windows of `VERIFY_WINDOW_TARGETS`, each window starting at the latest change the previous one
 * saw, on Exchange's clock). Every change ends as exactly one outcome on the recorder.
 */
export class MailboxApplier {
  private readonly pending = new Map<string, PendingMailbox>();
  private applyStartedAt: Date | undefined;
  private verifiedThrough: Date | undefined;

  constructor(private readonly deps: ApplyDeps & { readonly policy: AuditPolicy }) {}

  async apply(changes: readonly MailboxChange[]): Promise<void> {
    if (changes.length === 0) return;
    this.applyStartedAt ??= this.deps.clock.now();
    const results = await sendActions(this.deps, changes.map((change) => change.action));
    const retries: MailboxChange[] = [];
    for (const [index, change] of changes.entries()) {
      const error = results[index]?.error;
      // "Already being audited" answers a write whose earlier attempt landed: the read-back decides.
      if (error === undefined || isAlreadyAudited(error)) this.park(change, change.licensed);
      else if (change.action.licenceFallback !== undefined && isLicenceRejection(error)) retries.push({ ...change, outcome: withLicenceRejection(change.outcome, error) });
      else this.deps.recorder.emit(failed(change.outcome, error));
    }
    await this.applyFallbacks(retries);
    if (this.pending.size >= VERIFY_WINDOW_TARGETS) await this.verify();
  }

  /** Verifies what is still pending; after this every change has its outcome. */
  async finish(): Promise<void> {
    await this.verify();
  }

  /** Fails every change still awaiting its read-back (the run could not get that far). */
  failPending(error: OutcomeError): void {
    for (const pending of this.pending.values()) this.deps.recorder.emit(failed(pending.outcome, error));
    this.pending.clear();
  }

  private park(change: MailboxChange, licensed: boolean | undefined): void {
    this.pending.set(change.action.targetId, { observed: change.observed, licensed, outcome: change.outcome });
  }

  /** Licence-rejected changes: the fallback without gated actions, or (nothing else to write) the observed state stands. */
  private async applyFallbacks(retries: readonly MailboxChange[]): Promise<void> {
    const { recorder, policy } = this.deps;
    const withFallback = retries.filter((change) => change.action.licenceFallback);
    for (const change of retries.filter((candidate) => !candidate.action.licenceFallback)) {
      recorder.emit(verifiedOutcome(policy, change.outcome, change.observed, false, false));
    }
    const actions = withFallback.map((change) => ({ ...change.action, requests: [change.action.licenceFallback as CmdletRequest] }));
    const results = await sendActions(this.deps, actions);
    for (const [index, change] of withFallback.entries()) {
      const error = results[index]?.error;
      if (error === undefined) this.park(change, false);
      else recorder.emit(failed(change.outcome, error));
    }
  }

  private async verify(): Promise<void> {
    if (this.pending.size === 0) return;
    this.deps.onProgress?.("verify", 0);
    try {
      for (const request of this.readBackRequests()) {
        for await (const page of mailboxPages(this.deps.transport, request)) {
          for (const mailbox of page.mailboxes) this.settle(mailbox);
        }
      }
    } catch (error) {
      this.failPending({ code: "VerifyReadFailed", message: ensureError(error).message });
    }
    for (const pending of this.pending.values()) this.deps.recorder.emit(missingFromReadBack(pending.outcome));
    this.pending.clear();
    this.applyStartedAt = undefined;
  }

  private settle(mailbox: ObservedMailbox): void {
    const changedAt = mailbox.WhenChangedUTC ? Date.parse(mailbox.WhenChangedUTC) : Number.NaN;
    if (!Number.isNaN(changedAt) && changedAt > (this.verifiedThrough?.getTime() ?? 0)) this.verifiedThrough = new Date(changedAt);
    const targetId = mailboxTargetId(mailbox);
    const pending = this.pending.get(targetId);
    if (!pending) return;
    this.pending.delete(targetId);
    this.deps.recorder.emit(verifiedOutcome(this.deps.policy, pending.outcome, mailbox, pending.licensed, true), readBackFindings(this.deps.policy, mailbox, pending.licensed));
  }

  /** The reads that find the pending mailboxes again, from the sources that hold them. */
  private readBackRequests(): CmdletRequest[] {
    const pending = [...this.pending.values()].map((entry) => entry.observed);
    const readsFor = (filter: string, mailboxes: readonly ObservedMailbox[]) =>
      MAILBOX_SOURCES.filter((source) => mailboxes.some((mailbox) => source.holds(mailbox))).map((source) => source.request(filter));
    if (pending.length > IDENTITY_READ_BACK_LIMIT) {
      // After a first window, the next starts at the latest change Exchange showed (its own clock): every later
      // write is newer, so windows do not re-read each other's writes.
      const since = this.verifiedThrough ?? new Date((this.applyStartedAt ?? this.deps.clock.now()).getTime() - VERIFY_WINDOW_SLACK_IN_MS);
      return readsFor(changedSinceFilter(since), pending);
    }
    const requests: CmdletRequest[] = [];
    for (let index = 0; index < pending.length; index += IDENTITIES_PER_FILTER) {
      const chunk = pending.slice(index, index + IDENTITIES_PER_FILTER);
      requests.push(...readsFor(identityFilter(chunk.map(readBackIdentity)), chunk));
    }
    return requests;
  }
}

