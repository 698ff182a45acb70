/**
 * The audit baseline's run, as a pipeline of visible phases:
 *
 *   desired state (policy) -> observe (observe.ts) -> diff + plan (shared/audit, pure) -> apply + verify (apply.ts)
 *   -> record (recorder.ts; the summary and watermarks: finish.ts, called by whoever finishes the run)
 *
 * Observation is streamed page by page; only the current page and the changes awaiting read-back are held, so a
 * 100,000-mailbox tenant is never in memory at once. Mailbox changes go through a `ChangeSink`: applied inline (the
 * CLI, small Function runs) or handed over as work items carrying target ids only, whose workers re-read the
 * targets and run this same pipeline on them (`reconcileMailboxTargets`). Organisation and bypass changes are
 * always applied inline.
 *
 * Scope of a run:
 * - `mailboxes` (named identities): the organisation and those mailboxes; bypass associations are left to sweeps.
 * - `incremental`: the organisation, the bypass state of the changed mailboxes' accounts, and mailboxes changed
 *   since the watermark minus the overlap.
 * - `full`: the organisation, every bypass association and every mailbox. Chosen when asked, when there is no
 *   watermark, or when the last full sweep is older than the policy's `scan.fullSweepIntervalInDays`.
 */
import { identityFilter, changedSinceFilter, parseMailboxIdentities, type MailboxIdentity } from "../audit/opath";
import { mailboxTargetId, type ObservedBypass, type ObservedMailbox } from "../audit/observed";
import { planRun, type PlannedAction, type PlannedTarget } from "../audit/plan";
import type { AuditPolicy } from "../audit/policy";
import type { AuditLogger, AuditProgress, AuditStore, Clock, LicenceSource } from "../audit/ports";
import { diffOrganization, GROUP_MAILBOX } from "../audit/diff";
import { callsSince, type Finding, type FindingKind, type OutcomeError, type OutcomeStatus, type RunMode, type RunScope, type RunSummary, type TargetOutcome } from "../domain/outcome";
import { ensureError } from "../exchange/errors";
import { outcomeErrorOf } from "../exchange/outcome-error";
import type { ExchangeTransport } from "../exchange/transport";
import { MailboxApplier, sendActions, type ApplyDeps, type MailboxChange } from "./apply";
import { FULL_SWEEP_WATERMARK, INCREMENTAL_WATERMARK, type WatermarkState } from "./finish";
import { bypassPages, lookupBypass, mailboxPages, MAILBOX_SOURCES, matchesIdentity, readOrganization } from "./observe";
import { RunRecorder } from "./recorder";
import { EMPTY_DIGEST, RunDigest } from "../storage/recorded-digest";
import { INLINE_SINK, type ChangeSink } from "./sink";
import { failed, mismatch, missingFromReadBack, needsOrganizationCustomization, notFoundOutcome } from "./verdicts";

/** When this tenant's Enable-OrganizationCustomization was run (a pending customization is not requested again). */
export const CUSTOMIZATION_REQUESTED = "organization-customization-requested";
/** A customization still not in effect this long after it was requested fails the organisation target. */
const CUSTOMIZATION_PENDING_LIMIT_IN_MS = 4 * 3_600_000;
/** Changed mailboxes whose bypass state an incremental run looks up one by one; beyond this it lists them all. */
const CHANGED_BYPASS_LOOKUPS = 200;
const IDENTITIES_PER_FILTER = 20;

export interface AuditBaselineDeps {
  readonly transport: ExchangeTransport;
  readonly store: AuditStore;
  readonly policy: AuditPolicy;
  readonly licences: LicenceSource;
  readonly clock: Clock;
  readonly logger?: AuditLogger;
  readonly onProgress?: (progress: AuditProgress) => void;
  /** Cumulative Exchange HTTP calls by cmdlet (from the transport); the run reports the difference. */
  readonly exchangeCalls?: () => Readonly<Record<string, number>>;
  /** Where mailbox changes go (default: applied inline). */
  readonly sink?: ChangeSink;
}

export interface AuditBaselineRequest {
  readonly tenantId: string;
  readonly runId: string;
  readonly mode: RunMode;
  /** Force a full sweep. */
  readonly full?: boolean;
  /** Named mailboxes (SMTP address, UPN or GUID only); anything else is rejected before any call. */
  readonly mailboxes?: readonly string[];
  /** At most this many targets changed per run; undefined = unlimited. */
  readonly changeLimit?: number;
  /** Size of the outcome sample returned (default 100). */
  readonly sampleSize?: number;
}

export interface AuditBaselineResult {
  /** The run's summary so far; not recorded here (see finish.ts). */
  readonly summary: RunSummary;
  /** A bounded sample of this run's outcomes, non-compliant ones first; all outcomes are in the store. */
  readonly outcomes: readonly TargetOutcome[];
  readonly outcomesTruncated: boolean;
  /** Mailbox changes handed over by the sink (not in `summary.counts`: their outcomes come from the work items). */
  readonly deferredChanges: number;
  readonly watermarks: WatermarkState;
  /** Mailbox outcomes the run emitted (recorded or unchanged since recorded; handed-over changes not included). */
  readonly mailboxesSeen: number;
  /** The organisation's outcome, when the run got that far. */
  readonly organization?: TargetOutcome;
}

/** What `reconcileMailboxTargets` did: one outcome per target, all recorded under the run. */
export interface MailboxTargetsResult {
  readonly counts: Readonly<Record<OutcomeStatus, number>>;
  readonly findingCounts: Readonly<Partial<Record<FindingKind, number>>>;
  readonly outcomes: readonly TargetOutcome[];
  /** Set when outcomes could not be recorded (the work item must be retried). */
  readonly recordFailure?: OutcomeError;
  /**
   * The recorded-state digest entries of the recorded outcomes (packed, `RunDigest.entries`), when the store keeps
   * a digest: the run's finaliser adopts them, so the night after a fanned-out apply does not record these again.
   */
  readonly digestEntries?: string;
}

/** Raised (as a rejected promise) for an invalid request, before any Exchange call. */
export class AuditRequestError extends RangeError {
  override readonly name = "AuditRequestError";
}

/** Runs the baseline once for a tenant. Rejects only for an invalid request. */
export async function runAuditBaseline(deps: AuditBaselineDeps, request: AuditBaselineRequest): Promise<AuditBaselineResult> {
  let identities: MailboxIdentity[] | undefined;
  try {
    identities = request.mailboxes ? parseMailboxIdentities(request.mailboxes) : undefined;
  } catch (error) {
    throw new AuditRequestError(ensureError(error).message);
  }
  if (identities?.length === 0) throw new AuditRequestError("No mailboxes named");
  if (request.changeLimit !== undefined && !(Number.isInteger(request.changeLimit) && request.changeLimit >= 0)) {
    throw new AuditRequestError(`changeLimit must be a non-negative integer, got ${request.changeLimit}`);
  }
  return new AuditRun(deps, request, deps.clock.now()).run(identities);
}

/**
 * A work item's targets (Entra object ids, validated by the caller): re-read from Exchange, planned from what was
 * read and the policy, applied, verified and recorded under the run. Nothing but the ids comes from the item.
 */
export async function reconcileMailboxTargets(
  deps: Omit<AuditBaselineDeps, "sink">,
  run: { readonly tenantId: string; readonly runId: string; readonly runStartedAt: string },
  objectIds: readonly string[],
): Promise<MailboxTargetsResult> {
  const auditRun = new AuditRun(deps, { tenantId: run.tenantId, runId: run.runId, mode: "apply", sampleSize: objectIds.length }, new Date(run.runStartedAt));
  return auditRun.runTargets(objectIds.map((value) => ({ kind: "guid", value: value.toLowerCase() })));
}

class AuditRun {
  private readonly callsAtStart: Readonly<Record<string, number>>;
  private readonly recorder: RunRecorder;
  private readonly applier: MailboxApplier;
  private readonly applyDeps: ApplyDeps;
  private readonly sink: ChangeSink;
  private changesLeft: number;
  private changesSent = 0;
  private changesHeldBack = 0;
  private deferredChanges = 0;
  /** Incremental runs: accounts (GUIDs) of the mailboxes changed since recorded (undefined once past `CHANGED_BYPASS_LOOKUPS`). */
  private changedAccounts: string[] | undefined = [];
  /** Written bypass associations awaiting read-back, by target id, with the identity (GUID) the write used. */
  private readonly pendingBypass = new Map<string, { outcome: TargetOutcome; writtenAs: string }>();

  constructor(
    private readonly deps: AuditBaselineDeps,
    private readonly request: AuditBaselineRequest,
    private readonly startedAt: Date,
  ) {
    this.callsAtStart = { ...(deps.exchangeCalls?.() ?? {}) };
    this.changesLeft = request.changeLimit ?? Number.POSITIVE_INFINITY;
    this.sink = deps.sink ?? INLINE_SINK;
    this.recorder = new RunRecorder({
      store: deps.store,
      tenantId: request.tenantId,
      runId: request.runId,
      runStartedAt: startedAt.toISOString(),
      ...(request.sampleSize !== undefined ? { sampleSize: request.sampleSize } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
      probe: () => deps.store.getWatermark(request.tenantId, INCREMENTAL_WATERMARK),
    });
    this.applyDeps = {
      transport: deps.transport,
      recorder: this.recorder,
      clock: deps.clock,
      onProgress: (phase, sent) => {
        this.changesSent += sent;
        this.progress(phase);
      },
    };
    this.applier = new MailboxApplier({ ...this.applyDeps, policy: deps.policy });
  }

  async run(identities: readonly MailboxIdentity[] | undefined): Promise<AuditBaselineResult> {
    const { store, logger } = this.deps;
    const { tenantId, runId, mode } = this.request;
    let scope: RunScope = "mailboxes";
    let runError: OutcomeError | undefined;
    let incremental: { value: string; etag: string } | undefined;
    let fullSweep: { value: string; etag: string } | undefined;
    try {
      if (!identities) {
        incremental = await store.getWatermark(tenantId, INCREMENTAL_WATERMARK);
        fullSweep = await store.getWatermark(tenantId, FULL_SWEEP_WATERMARK);
        scope = this.request.full || !incremental || this.fullSweepDue(fullSweep) ? "full" : "incremental";
      }
      await this.loadDigest();
      logger?.info({ tenantId, runId, mode, scope }, "audit baseline run started");
      await this.reconcileOrganization();
      if (scope === "full") await this.reconcileBypass(true);
      if (identities) await this.reconcileNamed(identities);
      else await this.reconcileChanged(scope, incremental);
      if (scope === "incremental") await this.reconcileChangedBypass();
      await this.verifyBypass();
      this.deferredChanges = await this.sink.finish((changes) => this.applier.apply(changes));
      await this.applier.finish();
    } catch (error) {
      runError = outcomeErrorOf(error);
      logger?.error({ tenantId, runId, err: ensureError(error) }, "audit baseline run failed");
      // Changes written before the failure cannot be confirmed without a read-back.
      const aborted = { code: "RunAborted", message: `The run failed before verification: ${runError.message}` };
      this.applier.failPending(aborted);
      for (const { outcome } of this.pendingBypass.values()) this.recorder.emit(failed(outcome, aborted));
      this.pendingBypass.clear();
    }
    this.progress("record");
    await this.recorder.drain();
    runError ??= this.recorder.recordFailure;
    // A full sweep that saw everything keeps only what it saw; its watermark moves only once that is written.
    const digestCommitted = await this.recorder.commitDigest({ fullSweep: scope === "full" && runError === undefined });
    const summary = this.summary(scope, runError);
    logger?.info({ tenantId, runId, counts: summary.counts, durationInMs: summary.durationInMs }, "audit baseline run observed");
    return {
      summary,
      outcomes: this.recorder.sample,
      outcomesTruncated: this.recorder.truncated,
      deferredChanges: this.deferredChanges,
      mailboxesSeen: this.recorder.kindCounts.mailbox ?? 0,
      ...(this.recorder.organization ? { organization: this.recorder.organization } : {}),
      watermarks: {
        // Targets the change limit held back are read again by the next run.
        mayAdvance: mode === "apply" && scope !== "mailboxes" && runError === undefined && summary.counts.failed === 0 && this.changesHeldBack === 0 && (digestCommitted || !this.usesDigest),
        ...(incremental ? { incrementalEtag: incremental.etag } : {}),
        ...(fullSweep ? { fullSweepEtag: fullSweep.etag } : {}),
      },
    };
  }

  async runTargets(identities: readonly MailboxIdentity[]): Promise<MailboxTargetsResult> {
    if (this.deps.store.loadRecordedDigest) this.recorder.useDigest(new RunDigest(EMPTY_DIGEST, this.startedAt.toISOString()), { collectOnly: true });
    try {
      await this.reconcileNamed(identities);
      await this.applier.finish();
    } catch (error) {
      this.applier.failPending({ code: "RunAborted", message: `Failed before verification: ${outcomeErrorOf(error).message}` });
    }
    await this.recorder.drain();
    const { counts, findingCounts, sample, recordFailure, digestEntries } = this.recorder;
    return {
      counts: { ...counts },
      findingCounts: { ...findingCounts },
      outcomes: sample,
      ...(recordFailure ? { recordFailure } : {}),
      ...(digestEntries ? { digestEntries } : {}),
    };
  }

  private summary(scope: RunScope, error: OutcomeError | undefined): RunSummary {
    const finishedAt = this.deps.clock.now();
    return {
      runId: this.request.runId,
      tenantId: this.request.tenantId,
      mode: this.request.mode,
      scope,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      counts: { ...this.recorder.counts },
      findingCounts: { ...this.recorder.findingCounts },
      exchangeCalls: callsSince(this.callsAtStart, this.deps.exchangeCalls?.() ?? {}),
      durationInMs: finishedAt.getTime() - this.startedAt.getTime(),
      ...(this.changesHeldBack > 0 ? { changesHeldBack: this.changesHeldBack } : {}),
      ...(error ? { error } : {}),
    };
  }

  private usesDigest = false;

  /**
   * The recorded-state digest, when the store keeps one. One that cannot be read is not trusted (everything is
   * recorded and the digest rebuilt from this run), never ignored: recording without opening it could leave an entry
   * that contradicts what is recorded.
   */
  private async loadDigest(): Promise<void> {
    const { store, logger } = this.deps;
    if (!store.loadRecordedDigest) return;
    const { tenantId, runId } = this.request;
    let snapshot: Awaited<ReturnType<NonNullable<AuditStore["loadRecordedDigest"]>>>;
    try {
      snapshot = await store.loadRecordedDigest(tenantId);
    } catch (error) {
      logger?.warn({ tenantId, runId, err: ensureError(error) }, "recorded-state digest not read: every outcome is recorded");
      snapshot = { buckets: new Map(), openedBy: "unreadable" };
    }
    if (snapshot.kept === false) return;
    this.recorder.useDigest(new RunDigest(snapshot, this.startedAt.toISOString()));
    this.usesDigest = true;
  }

  private fullSweepDue(fullSweep: { value: string } | undefined): boolean {
    if (!fullSweep) return true;
    const lastInMs = Date.parse(fullSweep.value);
    const intervalInMs = this.deps.policy.scan.fullSweepIntervalInDays * 86_400_000;
    return Number.isNaN(lastInMs) || this.startedAt.getTime() - lastInMs >= intervalInMs;
  }

  private progress(phase: AuditProgress["phase"]): void {
    this.deps.onProgress?.({ phase, targetsSeen: countOf(this.recorder.counts), changesSent: this.changesSent });
  }

  private plan(observed: Parameters<typeof planRun>[1]) {
    const plan = planRun(this.deps.policy, observed, {
      now: this.startedAt,
      mode: this.request.mode,
      ...(Number.isFinite(this.changesLeft) ? { changeLimit: this.changesLeft } : {}),
    });
    this.changesLeft -= plan.actions.length;
    this.changesHeldBack += plan.heldBack;
    return plan;
  }

  /**
   * Emits the outcomes of targets without an action (and of every target in plan mode); returns the targets to
   * change. `unchanged` collects the ids of targets whose state is exactly the one last recorded.
   */
  private settlePlan(targets: readonly PlannedTarget[], unchanged?: Set<string>): { outcome: TargetOutcome; action: PlannedAction }[] {
    const applying = this.request.mode === "apply";
    const changing: { outcome: TargetOutcome; action: PlannedAction }[] = [];
    for (const target of targets) {
      if (applying && target.action) changing.push({ outcome: target.outcome, action: target.action });
      else if (!this.recorder.emit(target.outcome)) unchanged?.add(target.outcome.targetId);
    }
    this.progress("observe");
    return changing;
  }

  // ---- organisation -----------------------------------------------------------------------------------------

  private async reconcileOrganization(): Promise<void> {
    const organization = await readOrganization(this.deps.transport);
    const [change] = this.settlePlan(this.plan({ organization }).targets);
    if (!change) return;
    const [result] = await sendActions(this.applyDeps, [change.action]);
    const error = result?.error;
    if (error === undefined) await this.verifyOrganization(change.outcome);
    else if (needsOrganizationCustomization(error)) await this.customizeOrganizationAndRetry(change.action, change.outcome);
    else this.recorder.emit(failed(change.outcome, error));
  }

  private async verifyOrganization(expected: TargetOutcome): Promise<void> {
    this.progress("verify");
    try {
      const diff = diffOrganization(this.deps.policy, await readOrganization(this.deps.transport));
      if (diff.changes.length === 0) this.recorder.emit({ ...expected, after: diff.before }, { findings: diff.findings });
      else this.recorder.emit(mismatch(expected, diff.before, diff.findings));
    } catch (error) {
      this.recorder.emit(failed(expected, { code: "VerifyReadFailed", message: ensureError(error).message }));
    }
  }

  /**
   * A dehydrated tenant refuses Set-AdminAuditLogConfig until Enable-OrganizationCustomization has taken effect, which
   * can take up to an hour. Apply runs it once (its time kept under the `CUSTOMIZATION_REQUESTED` watermark) and
   * resends the change; while it has not taken effect the organisation is `drift` with a `pending` finding, retried
   * every run, and past `CUSTOMIZATION_PENDING_LIMIT_IN_MS` it fails (and alerts).
   */
  private async customizeOrganizationAndRetry(action: PlannedAction, outcome: TargetOutcome): Promise<void> {
    const { store, transport } = this.deps;
    const { tenantId } = this.request;
    const requested = await store.getWatermark(tenantId, CUSTOMIZATION_REQUESTED);
    let requestedAt = requested ? Date.parse(requested.value) : Number.NaN;
    if (Number.isNaN(requestedAt)) {
      try {
        await transport.invoke({ cmdlet: "Enable-OrganizationCustomization" });
      } catch (error) {
        if (!/already enabled/i.test(ensureError(error).message)) {
          this.recorder.emit(failed(outcome, outcomeErrorOf(error)));
          return;
        }
      }
      requestedAt = this.deps.clock.now().getTime();
      await store.setWatermark(tenantId, CUSTOMIZATION_REQUESTED, new Date(requestedAt).toISOString(), requested?.etag);
    }
    const since = new Date(requestedAt).toISOString();
    const customized = { ...outcome, findings: [...outcome.findings, customizationFinding(since)] };
    const [retry] = await sendActions(this.applyDeps, [action]);
    const error = retry?.error;
    if (error === undefined) {
      // In effect: a later dehydration (should one happen) gets a fresh request.
      await store.setWatermark(tenantId, CUSTOMIZATION_REQUESTED, "");
      await this.verifyOrganization(customized);
      return;
    }
    if (!needsOrganizationCustomization(error)) {
      this.recorder.emit(failed(customized, error));
      return;
    }
    const waitedInMs = this.deps.clock.now().getTime() - requestedAt;
    if (waitedInMs >= CUSTOMIZATION_PENDING_LIMIT_IN_MS) {
      this.recorder.emit(failed(customized, {
        code: "OrganizationCustomizationPending",
        message: `Enable-OrganizationCustomization was run ${Math.floor(waitedInMs / 3_600_000)} hours ago (${since}) and Exchange still refuses Set-AdminAuditLogConfig: ${error.message}`,
      }));
      return;
    }
    this.recorder.emit({ ...customized, status: "drift", findings: [...customized.findings, pendingCustomization(since)] });
  }

  // ---- bypass associations ----------------------------------------------------------------------------------

  private async reconcileBypass(full: boolean): Promise<void> {
    for await (const page of bypassPages(this.deps.transport)) {
      await this.applyBypass(page.filter((association) => full || association.AuditBypassEnabled));
      await this.recorder.flush();
    }
  }

  /**
   * Incremental runs check the bypass state of the accounts whose mailboxes changed (setting a bypass changes the
   * account, which moves its mailbox's WhenChanged), one batched look-up each, so a night with no change costs no
   * bypass call at all. A mailbox read again in exactly the state last recorded for it (WhenChangedUTC included:
   * the engine's own verified write, re-read inside the watermark's overlap) has not changed since, so its account
   * is not looked up: the night after an apply costs no bypass call for the mailboxes the apply wrote. Past
   * `CHANGED_BYPASS_LOOKUPS` changed mailboxes one listing is cheaper, so the run lists every association instead. Accounts without a mailbox (service accounts) are listed by every full sweep.
   */
  private async reconcileChangedBypass(): Promise<void> {
    if (this.changedAccounts === undefined) {
      await this.reconcileBypass(false);
      return;
    }
    if (this.changedAccounts.length === 0) return;
    const associations = await lookupBypass(this.deps.transport, this.changedAccounts);
    await this.applyBypass(associations.filter((association) => association.AuditBypassEnabled));
    await this.recorder.flush();
  }

  /** Notes a changed mailbox's account for `reconcileChangedBypass`; past the look-up limit, a listing takes over. */
  private noteChangedAccount(mailbox: ObservedMailbox): void {
    if (this.changedAccounts === undefined || mailbox.RecipientTypeDetails === GROUP_MAILBOX) return;
    // The account is looked up by its GUID (the mailbox's) and the answer checked against it; without one, a listing.
    if (this.changedAccounts.length >= CHANGED_BYPASS_LOOKUPS || !mailbox.Guid) this.changedAccounts = undefined;
    else this.changedAccounts.push(mailbox.Guid);
  }

  /** Plans and writes (by the association's GUID); the written associations wait for `verifyBypass`. */
  private async applyBypass(bypassAssociations: readonly ObservedBypass[]): Promise<void> {
    const changes = this.settlePlan(this.plan({ bypassAssociations }).targets);
    if (changes.length === 0) return;
    const results = await sendActions(this.applyDeps, changes.map((change) => change.action));
    for (const [index, change] of changes.entries()) {
      const error = results[index]?.error;
      if (error === undefined) this.pendingBypass.set(change.action.targetId, { outcome: change.outcome, writtenAs: writtenIdentity(change.action) });
      else this.recorder.emit(failed(change.outcome, error));
    }
  }

  /** The written associations read back: one look-up each (by the GUID written to) while they are few, else one listing. */
  private async verifyBypass(): Promise<void> {
    const written = this.pendingBypass;
    if (written.size === 0) return;
    this.progress("verify");
    try {
      const readBack = written.size > CHANGED_BYPASS_LOOKUPS ? bypassPages(this.deps.transport) : oneBatch(lookupBypass(this.deps.transport, [...written.values()].map((entry) => entry.writtenAs)));
      for await (const page of readBack) {
        for (const association of page) {
          const expected = written.get(association.Identity)?.outcome;
          if (!expected) continue;
          written.delete(association.Identity);
          const after = { AuditBypassEnabled: association.AuditBypassEnabled };
          if (association.AuditBypassEnabled) this.recorder.emit(mismatch(expected, after, []));
          else this.recorder.emit({ ...expected, after }, { findings: [] });
        }
      }
    } catch (error) {
      for (const { outcome } of written.values()) this.recorder.emit(failed(outcome, { code: "VerifyReadFailed", message: ensureError(error).message }));
      written.clear();
      return;
    }
    for (const { outcome } of written.values()) this.recorder.emit(missingFromReadBack(outcome));
    written.clear();
  }

  // ---- mailboxes --------------------------------------------------------------------------------------------

  /** Named mailboxes, 20 identities per filter, from every source; a name nothing matched is a failed target. */
  private async reconcileNamed(identities: readonly MailboxIdentity[]): Promise<void> {
    for (let index = 0; index < identities.length; index += IDENTITIES_PER_FILTER) {
      const chunk = identities.slice(index, index + IDENTITIES_PER_FILTER);
      const found = new Set<MailboxIdentity>();
      const filter = identityFilter(chunk);
      for (const source of MAILBOX_SOURCES) {
        await this.reconcileMailboxPages(source.request(filter), {
          onMailbox: (mailbox) => {
            for (const identity of chunk) if (matchesIdentity(mailbox, identity)) found.add(identity);
          },
        });
      }
      for (const identity of chunk) if (!found.has(identity)) this.recorder.emit(notFoundOutcome(identity));
    }
  }

  private async reconcileChanged(scope: RunScope, incremental: { value: string } | undefined): Promise<void> {
    let filter: string | undefined;
    if (scope === "incremental" && incremental) {
      const overlapInMs = this.deps.policy.scan.watermarkOverlapInMinutes * 60_000;
      filter = changedSinceFilter(new Date(Date.parse(incremental.value) - overlapInMs));
    }
    const hooks = scope === "incremental" ? { onChanged: (mailbox: ObservedMailbox) => this.noteChangedAccount(mailbox) } : {};
    for (const source of MAILBOX_SOURCES) await this.reconcileMailboxPages(source.request(filter), hooks);
  }

  /**
   * Observe a page -> plan it -> its changes to the sink; record the page while the next one is read. `onMailbox`
   * sees every mailbox read; `onChanged` those whose state is not the one last recorded.
   */
  private async reconcileMailboxPages(
    request: Parameters<typeof mailboxPages>[1],
    hooks: { readonly onMailbox?: (mailbox: ObservedMailbox) => void; readonly onChanged?: (mailbox: ObservedMailbox) => void } = {},
  ): Promise<void> {
    for await (const page of mailboxPages(this.deps.transport, request)) {
      if (this.recorder.halted) break;
      for (const outcome of page.invalid) this.recorder.emit(outcome);
      if (hooks.onMailbox) page.mailboxes.forEach(hooks.onMailbox);
      const licences = await this.licencesFor(page.mailboxes);
      const byTargetId = new Map(page.mailboxes.map((mailbox) => [mailboxTargetId(mailbox), mailbox]));
      const unchanged = new Set<string>();
      const changes: MailboxChange[] = this.settlePlan(this.plan({ mailboxes: page.mailboxes, licences }).targets, unchanged).flatMap(({ outcome, action }) => {
        const observed = byTargetId.get(action.targetId);
        return observed ? [{ outcome, action, observed, licensed: licences.get(action.targetId) }] : [];
      });
      if (hooks.onChanged) for (const mailbox of page.mailboxes) if (!unchanged.has(mailboxTargetId(mailbox))) hooks.onChanged(mailbox);
      if (changes.length > 0) await this.handToSink(changes);
      await this.recorder.flush();
    }
  }

  /**
   * A page's changes to the sink. A change the sink hands to a worker is recorded by that worker, so its target's
   * digest entry is deleted first (an inline change gets its entry back when its outcome is emitted).
   */
  private async handToSink(changes: readonly MailboxChange[]): Promise<void> {
    if (this.sink !== INLINE_SINK && !(await this.recorder.handOver(changes.map((change) => change.outcome)))) {
      const halt = this.recorder.recordFailure ?? { code: "RecordFailed", message: "Outcomes could not be recorded" };
      for (const change of changes) this.recorder.emit(failed(change.outcome, { code: "NotSent", message: `Not sent: ${halt.message}` }));
      return;
    }
    await this.sink.accept(changes, (inline) => this.applier.apply(inline));
  }

  private async licencesFor(mailboxes: readonly ObservedMailbox[]): Promise<ReadonlyMap<string, boolean>> {
    const source = this.deps.licences;
    if (typeof source !== "function") return source;
    const ids = mailboxes.filter((mailbox) => mailbox.RecipientTypeDetails !== GROUP_MAILBOX).map(mailboxTargetId);
    return ids.length > 0 ? source(ids) : new Map();
  }
}

function countOf(counts: Readonly<Record<OutcomeStatus, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

async function* oneBatch<T>(page: Promise<T[]>): AsyncGenerator<T[]> {
  yield await page;
}

/** The -Identity an action's (first) write used. */
function writtenIdentity(action: PlannedAction): string {
  const identity = action.requests[0]?.parameters?.["Identity"];
  return typeof identity === "string" ? identity : action.targetId;
}

function customizationFinding(since: string): Finding {
  return {
    kind: "drift",
    setting: "IsDehydrated",
    current: true,
    desired: false,
    message: `The tenant was dehydrated: Enable-OrganizationCustomization was run (${since}) so the unified audit log could be turned on`,
  };
}

function pendingCustomization(since: string): Finding {
  return {
    kind: "pending",
    setting: "UnifiedAuditLogIngestionEnabled",
    current: false,
    desired: true,
    message: `Waiting for Enable-OrganizationCustomization (run ${since}) to take effect; Exchange can take up to an hour. Retried next run.`,
  };
}
