/**
 * The mailbox audit baseline reconciler: observe (streamed, page by page) -> diff/plan (pure) -> apply (batched)
 * -> verify (one read-back per source) -> record (outcomes in chunks, one summary per run).
 *
 * Memory: only the current page and the targets changed in this run (awaiting verification) are held, so a
 * 100,000-mailbox tenant is never in memory at once. The caller gets the summary and a bounded sample of outcomes
 * (non-compliant first); the full set is in the store.
 *
 * Scope of a run:
 * - `mailboxes` (named identities): the organisation and those mailboxes; bypass associations are left to sweeps.
 * - `incremental`: the organisation, every *enabled* bypass association, and mailboxes changed since the watermark
 *   minus the overlap.
 * - `full`: the organisation, every bypass association and every mailbox. Chosen when asked, when there is no
 *   watermark, or when the last full sweep is older than the policy's `scan.fullSweepIntervalInDays`.
 * Watermarks advance (to the run's start) only after an apply run with no run error and no failed target.
 *
 * Fan-out: with a `mailboxSink`, an apply run hands each page's mailbox changes to the sink instead of sending
 * them (organisation and bypass changes stay inline) and leaves the watermarks to whoever completes those changes;
 * `applyMailboxChanges` then applies, verifies (one identity-filtered read per 20 mailboxes) and records them.
 */
import { outcomeErrorOf } from "../exchange/outcome-error";
import { ensureError, isNotFoundError } from "../exchange/errors";
import { hasProperty, identifiedRow } from "../exchange/lookup";
import type { CmdletRequest, ExchangeTransport } from "../exchange/transport";
import { ALREADY_AUDITED_TEXT, LICENCE_REJECTION_TEXT } from "./audit-actions";
import { diffMailbox, diffOrganization, GROUP_MAILBOX } from "./diff";
import {
  BYPASS_SELECT,
  MAILBOX_SELECT,
  mailboxTargetId,
  observedBypassSchema,
  observedMailboxSchema,
  observedOrganizationSchema,
  type ObservedBypass,
  type ObservedMailbox,
} from "./observed";
import { changedSinceFilter, identityFilter, parseMailboxIdentities, type MailboxIdentity } from "./opath";
import {
  callsSince,
  tallyOutcome,
  type Finding,
  type FindingKind,
  type OutcomeError,
  type OutcomeStatus,
  type RunMode,
  type RunScope,
  type RunSummary,
  type TargetOutcome,
} from "../domain/outcome";
import { planRun, type PlannedAction, type PlannedTarget } from "./plan";
import type { AuditPolicy } from "./policy";
import type { AuditLogger, AuditProgress, AuditStore, Clock, DeferredMailboxChange, LicenceSource, MailboxChangeSink } from "./ports";

export const INCREMENTAL_WATERMARK = "mailbox-audit";
export const FULL_SWEEP_WATERMARK = "mailbox-audit-full";
/** When this tenant's Enable-OrganizationCustomization was run (a pending customization is not requested again). */
export const CUSTOMIZATION_REQUESTED = "organization-customization-requested";
/** A customization still not in effect this long after it was requested fails the organisation target. */
const CUSTOMIZATION_PENDING_LIMIT_IN_MS = 4 * 3_600_000;
const VERIFY_WINDOW_IN_MS = 5 * 60_000;
/** Changed mailboxes whose bypass state an incremental run looks up one by one; beyond this it lists them all. */
const CHANGED_BYPASS_LOOKUPS = 200;
/** Changed mailboxes held for read-back before a verify read is made mid-run (bounds memory). */
const VERIFY_WINDOW_TARGETS = 2000;
/** Outcomes recorded per store call: big enough that history rows share Table transactions. */
const OUTCOME_CHUNK_SIZE = 500;
const IDENTITIES_PER_FILTER = 20;
const DEFAULT_SAMPLE_SIZE = 100;
/** `setting` of the licence-gap finding added when Exchange rejected gated actions the licence input allowed. */
const LICENCE_REJECTION_SETTING = "AuditAdmin,AuditDelegate,AuditOwner";

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
  /** Apply mode: hand mailbox changes here instead of sending them (see the module comment). */
  readonly mailboxSink?: MailboxChangeSink;
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
  readonly summary: RunSummary;
  /** A bounded sample of this run's outcomes, non-compliant ones first; all outcomes are in the store. */
  readonly outcomes: readonly TargetOutcome[];
  /** Whether the run produced more outcomes than `outcomes` holds. */
  readonly outcomesTruncated: boolean;
  /** Mailbox changes handed to `mailboxSink` (not in `summary.counts`; watermarks left as they were when > 0). */
  readonly deferredChanges: number;
}

/** What `applyMailboxChanges` did: one outcome per change, all recorded under the run. */
export interface MailboxChangesResult {
  readonly counts: Readonly<Record<OutcomeStatus, number>>;
  readonly findingCounts: Readonly<Partial<Record<FindingKind, number>>>;
  readonly outcomes: readonly TargetOutcome[];
}

/** Raised (as a rejected promise) for an invalid request, before any Exchange call. */
export class AuditRequestError extends RangeError {
  override readonly name = "AuditRequestError";
}

/** Runs the baseline once for a tenant. Rejects only for an invalid request or when the run cannot be recorded. */
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
  return new AuditRun(deps, request, identities).run();
}

/**
 * Applies changes a fan-out run deferred: sends them (with the licence fallback), reads exactly those mailboxes
 * back and records their outcomes under the run (`runStartedAt` keys them with the run's other outcomes).
 * Records no run summary and moves no watermark. Rejects only when the outcomes cannot be recorded.
 */
export async function applyMailboxChanges(
  deps: Omit<AuditBaselineDeps, "mailboxSink">,
  run: { readonly tenantId: string; readonly runId: string; readonly runStartedAt: string },
  changes: readonly DeferredMailboxChange[],
): Promise<MailboxChangesResult> {
  const auditRun = new AuditRun(
    deps,
    { tenantId: run.tenantId, runId: run.runId, mode: "apply", sampleSize: changes.length },
    undefined,
    new Date(run.runStartedAt),
  );
  return auditRun.applyDeferred(changes);
}

interface PendingMailbox {
  readonly observed: ObservedMailbox;
  readonly licensed: boolean | undefined;
  readonly outcome: TargetOutcome;
}

class AuditRun {
  private readonly startedAt: Date;
  private readonly callsAtStart: Readonly<Record<string, number>>;
  private readonly counts: Record<OutcomeStatus, number> = {
    compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0,
  };
  private readonly findingCounts: Partial<Record<FindingKind, number>> = {};
  private readonly buffer: TargetOutcome[] = [];
  private readonly sample: TargetOutcome[] = [];
  private readonly sampleSize: number;
  private produced = 0;
  private recordFailure: OutcomeError | undefined;
  private changesLeft: number;
  private changesSent = 0;
  private applyStartedAt: Date | undefined;
  /** The latest WhenChangedUTC a verification read returned (Exchange's clock). */
  private verifiedThrough: Date | undefined;
  private readonly pendingMailboxes = new Map<string, PendingMailbox>();
  /** Written associations awaiting read-back, by target id, with the identity (GUID) the write used. */
  private readonly pendingBypass = new Map<string, { outcome: TargetOutcome; writtenAs: string }>();
  private pendingOrganization: TargetOutcome | undefined;
  /** The outcome recording in flight (see `flush`); never rejects. */
  private recording: Promise<void> = Promise.resolve();
  private deferredChanges = 0;
  /** Incremental runs: accounts of the changed mailboxes (undefined once past `CHANGED_BYPASS_LOOKUPS`). */
  private changedAccounts: string[] | undefined = [];
  /** Deferred changes are verified by reading exactly their mailboxes, not every mailbox changed since apply. */
  private readonly verifyByIdentity: boolean;

  constructor(
    private readonly deps: AuditBaselineDeps,
    private readonly request: AuditBaselineRequest,
    private readonly identities: readonly MailboxIdentity[] | undefined,
    runStartedAt?: Date,
  ) {
    this.startedAt = runStartedAt ?? deps.clock.now();
    this.verifyByIdentity = runStartedAt !== undefined;
    this.callsAtStart = { ...(deps.exchangeCalls?.() ?? {}) };
    this.sampleSize = request.sampleSize ?? DEFAULT_SAMPLE_SIZE;
    this.changesLeft = request.changeLimit ?? Number.POSITIVE_INFINITY;
  }

  async run(): Promise<AuditBaselineResult> {
    const { store, logger } = this.deps;
    const { tenantId } = this.request;
    let scope: RunScope = "mailboxes";
    let runError: OutcomeError | undefined;
    let incremental: { value: string; etag: string } | undefined;
    let fullSweep: { value: string; etag: string } | undefined;
    try {
      if (!this.identities) {
        incremental = await store.getWatermark(tenantId, INCREMENTAL_WATERMARK);
        fullSweep = await store.getWatermark(tenantId, FULL_SWEEP_WATERMARK);
        scope = this.request.full || !incremental || this.fullSweepDue(fullSweep) ? "full" : "incremental";
      }
      logger?.info({ tenantId, runId: this.request.runId, mode: this.request.mode, scope }, "audit baseline run started");
      await this.reconcileOrganization();
      if (scope === "full") await this.reconcileBypass(true);
      await this.reconcileMailboxes(scope, incremental);
      if (scope === "incremental") await this.reconcileChangedBypass();
      await this.verify();
    } catch (error) {
      runError = outcomeErrorOf(error);
      logger?.error({ tenantId, runId: this.request.runId, err: ensureError(error) }, "audit baseline run failed");
      // Targets written before the failure cannot be confirmed without a read-back.
      this.failPending({ code: "RunAborted", message: `The run failed before verification: ${runError.message}` });
    }
    this.progress("record");
    await this.drain();
    runError ??= this.recordFailure;

    // A failed target keeps the watermark where it was, so the next incremental run reads it again (its WhenChanged
    // may not have moved) and finishes the job; a full sweep bounds how far back that window can grow.
    const complete = this.deferredChanges === 0;
    if (!runError && complete && this.counts.failed === 0 && this.request.mode === "apply" && scope !== "mailboxes") {
      await this.advanceWatermarks(scope, incremental, fullSweep);
    }
    const finishedAt = this.deps.clock.now();
    const summary: RunSummary = {
      runId: this.request.runId,
      tenantId,
      mode: this.request.mode,
      scope,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      counts: { ...this.counts },
      findingCounts: { ...this.findingCounts },
      exchangeCalls: this.callsSinceStart(),
      durationInMs: finishedAt.getTime() - this.startedAt.getTime(),
      ...(runError ? { error: runError } : {}),
    };
    await store.recordRun(summary);
    logger?.info({ tenantId, runId: this.request.runId, counts: summary.counts, durationInMs: summary.durationInMs }, "audit baseline run finished");
    return {
      summary,
      outcomes: this.sample,
      outcomesTruncated: this.produced > this.sample.length,
      deferredChanges: this.deferredChanges,
    };
  }

  async applyDeferred(changes: readonly DeferredMailboxChange[]): Promise<MailboxChangesResult> {
    const byTargetId = new Map(changes.map((change) => [change.action.targetId, change]));
    try {
      await this.handlePlan(
        { targets: changes.map(({ outcome, action }) => ({ outcome, action })), actions: changes.map((change) => change.action) },
        (targetId) => {
          const change = byTargetId.get(targetId);
          return change ? { observed: change.observed, licensed: change.licensed } : undefined;
        },
      );
      await this.verify();
    } catch (error) {
      this.failPending({ code: "RunAborted", message: `Failed before verification: ${outcomeErrorOf(error).message}` });
    }
    await this.drain();
    if (this.recordFailure) throw new Error(`Outcomes not recorded: ${this.recordFailure.message}`);
    return { counts: { ...this.counts }, findingCounts: { ...this.findingCounts }, outcomes: this.sample };
  }

  private fullSweepDue(fullSweep: { value: string } | undefined): boolean {
    if (!fullSweep) return true;
    const lastInMs = Date.parse(fullSweep.value);
    const intervalInMs = this.deps.policy.scan.fullSweepIntervalInDays * 86_400_000;
    return Number.isNaN(lastInMs) || this.startedAt.getTime() - lastInMs >= intervalInMs;
  }

  private async advanceWatermarks(
    scope: RunScope,
    incremental: { etag: string } | undefined,
    fullSweep: { etag: string } | undefined,
  ): Promise<void> {
    const value = this.startedAt.toISOString();
    const { store, logger } = this.deps;
    const { tenantId } = this.request;
    try {
      await store.setWatermark(tenantId, INCREMENTAL_WATERMARK, value, incremental?.etag);
      if (scope === "full") await store.setWatermark(tenantId, FULL_SWEEP_WATERMARK, value, fullSweep?.etag);
    } catch (error) {
      // A concurrent run moved it; the next run starts from whichever watermark won, which is safe.
      logger?.warn({ tenantId, runId: this.request.runId, err: ensureError(error) }, "watermark not advanced");
    }
  }

  private callsSinceStart(): Record<string, number> {
    return callsSince(this.callsAtStart, this.deps.exchangeCalls?.() ?? {});
  }

  // ---- observe + plan + apply, per source -------------------------------------------------------------------

  private async reconcileOrganization(): Promise<void> {
    const organization = await this.readOrganization();
    await this.handlePlan(this.plan({ organization }));
  }

  private async readOrganization() {
    const { transport } = this.deps;
    const [config, auditLog] = await Promise.all([
      transport.invoke({ cmdlet: "Get-OrganizationConfig", select: ["AuditDisabled"] }),
      transport.invoke({ cmdlet: "Get-AdminAuditLogConfig", select: ["UnifiedAuditLogIngestionEnabled"] }),
    ]);
    return observedOrganizationSchema.parse({ ...config.value[0], ...auditLog.value[0] });
  }

  private async reconcileBypass(full: boolean): Promise<void> {
    for await (const page of this.bypassPages()) {
      const bypassAssociations = page.filter((association) => full || association.AuditBypassEnabled);
      await this.handlePlan(this.plan({ bypassAssociations }));
      await this.flush();
    }
  }

  /**
   * Incremental runs check the bypass state of the accounts whose mailboxes changed (setting a bypass changes the
   * account, which moves its mailbox's WhenChanged), one batched lookup each, so a night with no change costs no
   * bypass call at all. Past `CHANGED_BYPASS_LOOKUPS` changed mailboxes one listing is cheaper, so the run lists
   * every association instead. Accounts without a mailbox (service accounts) are listed by every full sweep.
   */
  private async reconcileChangedBypass(): Promise<void> {
    if (this.changedAccounts === undefined) {
      await this.reconcileBypass(false);
      return;
    }
    if (this.changedAccounts.length === 0) return;
    const bypassAssociations = (await this.lookupBypass(this.changedAccounts)).filter((association) => association.AuditBypassEnabled);
    await this.handlePlan(this.plan({ bypassAssociations }));
    await this.flush();
  }

  /** Notes a changed mailbox's account for `reconcileChangedBypass`; past the lookup limit, a listing takes over. */
  private noteChangedAccount(mailbox: ObservedMailbox): void {
    if (this.changedAccounts === undefined || mailbox.RecipientTypeDetails === GROUP_MAILBOX) return;
    // The account is looked up by its GUID (the mailbox's) and the answer checked against it; without one, a listing.
    if (this.changedAccounts.length >= CHANGED_BYPASS_LOOKUPS || !mailbox.Guid) this.changedAccounts = undefined;
    else this.changedAccounts.push(mailbox.Guid);
  }

  /** The changed associations read back: one lookup each (by the GUID written to) while they are few, else one listing. */
  private async *bypassReadBack(): AsyncGenerator<ObservedBypass[]> {
    if (this.pendingBypass.size > CHANGED_BYPASS_LOOKUPS) {
      yield* this.bypassPages();
      return;
    }
    yield this.lookupBypass([...this.pendingBypass.values()].map((pending) => pending.writtenAs));
  }

  /**
   * Associations by GUID, batched; each answer must be the association asked for (a non-existent identity lists
   * every association, Microsoft documents). An account gone since it was read has nothing left to bypass.
   */
  private async lookupBypass(guids: readonly string[]): Promise<ObservedBypass[]> {
    // (An association listed without a GUID was written, and is read back, by its Identity.)
    const requests = guids.map(bypassLookup);
    const associations: ObservedBypass[] = [];
    for (const [index, result] of (await this.deps.transport.batch(requests)).entries()) {
      if (!result.ok && isNotFoundError(result.error)) continue;
      if (!result.ok) throw result.error;
      const request = requests[index] as CmdletRequest;
      const row = identifiedRow(request, result.result, hasProperty(guids[index] ?? "", "Guid", "Identity"));
      if (row) associations.push(observedBypassSchema.parse(row));
    }
    return associations;
  }

  private async *bypassPages(): AsyncGenerator<ObservedBypass[]> {
    const request: CmdletRequest = {
      cmdlet: "Get-MailboxAuditBypassAssociation",
      parameters: { ResultSize: "Unlimited" },
      select: BYPASS_SELECT,
    };
    for await (const page of this.deps.transport.pages(request)) {
      yield page.map((row) => observedBypassSchema.parse(row));
    }
  }

  private async reconcileMailboxes(scope: RunScope, incremental: { value: string } | undefined): Promise<void> {
    if (this.identities) {
      for (let index = 0; index < this.identities.length; index += IDENTITIES_PER_FILTER) {
        const chunk = this.identities.slice(index, index + IDENTITIES_PER_FILTER);
        const found = new Set<MailboxIdentity>();
        for (const request of mailboxReads(identityFilter(chunk))) {
          await this.reconcileMailboxPages(request, (mailbox) => {
            for (const identity of chunk) if (matchesIdentity(mailbox, identity)) found.add(identity);
          });
        }
        for (const identity of chunk) if (!found.has(identity)) this.emit(notFoundOutcome(identity));
      }
      return;
    }
    let filter: string | undefined;
    if (scope === "incremental" && incremental) {
      const overlapInMs = this.deps.policy.scan.watermarkOverlapInMinutes * 60_000;
      filter = changedSinceFilter(new Date(Date.parse(incremental.value) - overlapInMs));
    }
    const onMailbox = scope === "incremental" ? (mailbox: ObservedMailbox) => this.noteChangedAccount(mailbox) : undefined;
    for (const request of mailboxReads(filter)) await this.reconcileMailboxPages(request, onMailbox);
  }

  private async reconcileMailboxPages(request: CmdletRequest, onMailbox?: (mailbox: ObservedMailbox) => void): Promise<void> {
    for await (const page of this.deps.transport.pages(request)) {
      const mailboxes: ObservedMailbox[] = [];
      for (const row of page) {
        const parsed = observedMailboxSchema.safeParse(row);
        if (parsed.success) {
          mailboxes.push(parsed.data);
          onMailbox?.(parsed.data);
        } else {
          this.emit(invalidRowOutcome(row, parsed.error.message));
        }
      }
      const licences = await this.licencesFor(mailboxes);
      const byTargetId = new Map(mailboxes.map((mailbox) => [mailboxTargetId(mailbox), mailbox]));
      await this.handlePlan(this.plan({ mailboxes, licences }), (targetId) => {
        const observed = byTargetId.get(targetId);
        return observed ? { observed, licensed: licences.get(targetId) } : undefined;
      });
      // Verify in windows so memory stays bounded however many mailboxes a run changes: one read-back of what
      // changed since the window's first write, then the next window starts with the next write.
      if (!this.verifyByIdentity && this.pendingMailboxes.size >= VERIFY_WINDOW_TARGETS) {
        await this.verifyMailboxes();
        this.applyStartedAt = undefined;
      }
      await this.flush();
    }
  }

  private async licencesFor(mailboxes: readonly ObservedMailbox[]): Promise<ReadonlyMap<string, boolean>> {
    const source = this.deps.licences;
    if (typeof source !== "function") return source;
    const ids = mailboxes.filter((mailbox) => mailbox.RecipientTypeDetails !== GROUP_MAILBOX).map(mailboxTargetId);
    return ids.length > 0 ? source(ids) : new Map();
  }

  private plan(observed: Parameters<typeof planRun>[1]) {
    const plan = planRun(this.deps.policy, observed, {
      now: this.startedAt,
      mode: this.request.mode,
      ...(Number.isFinite(this.changesLeft) ? { changeLimit: this.changesLeft } : {}),
    });
    this.changesLeft -= plan.actions.length;
    return plan;
  }

  /** Emits final outcomes, and in apply mode sends the actions and parks their targets for verification. */
  private async handlePlan(
    plan: { targets: readonly PlannedTarget[]; actions: readonly PlannedAction[] },
    observedFor?: (targetId: string) => { observed: ObservedMailbox; licensed: boolean | undefined } | undefined,
  ): Promise<void> {
    const applying = this.request.mode === "apply";
    for (const target of plan.targets) if (!(applying && target.action)) this.emit(target.outcome);
    this.progress("observe");
    if (!applying || plan.actions.length === 0) return;

    const expected = new Map(plan.targets.filter((target) => target.action).map((target) => [target.outcome.targetId, target.outcome]));
    const actions = await this.deferMailboxChanges(plan.actions, expected, observedFor);
    const results = await this.send(actions);
    const retries: { action: PlannedAction; outcome: TargetOutcome }[] = [];
    for (const [index, action] of actions.entries()) {
      const outcome = expected.get(action.targetId);
      const result = results[index];
      if (!outcome || result === undefined) continue;
      if (result.error === undefined || isAlreadyAudited(result.error)) {
        // "Already being audited" answers a write whose earlier attempt landed (a retried timeout, a crashed run
        // re-sending): nothing is assumed either way; the read-back decides the outcome.
        this.park(action, outcome, observedFor);
      } else if (action.targetKind === "organization" && needsOrganizationCustomization(result.error)) {
        await this.customizeOrganizationAndRetry(action, outcome);
      } else if (action.licenceFallback !== undefined && isLicenceRejection(result.error)) {
        retries.push({ action, outcome: withLicenceRejection(outcome, result.error) });
      } else {
        this.emit(failed(outcome, result.error));
      }
    }
    if (retries.length === 0) return;

    const fallbacks = retries.flatMap(({ action }) => (action.licenceFallback ? [{ ...action, requests: [action.licenceFallback] }] : []));
    const fallbackResults = await this.send(fallbacks);
    for (const { action, outcome } of retries) {
      const unlicensed = (targetId: string) => {
        const found = observedFor?.(targetId);
        return found ? { observed: found.observed, licensed: false } : undefined;
      };
      if (!action.licenceFallback) {
        // Only gated actions were missing: nothing else to write, so the observed state stands.
        const found = unlicensed(action.targetId);
        this.emit(found ? verifiedOutcome(this.deps.policy, outcome, found.observed, false, false) : outcome);
        continue;
      }
      const index = fallbacks.findIndex((fallback) => fallback.targetId === action.targetId);
      const error = fallbackResults[index]?.error;
      if (error === undefined) this.park(action, outcome, unlicensed);
      else this.emit(failed(outcome, error));
    }
  }

  /** With a sink, hands the mailbox changes over and returns the actions still to send inline. */
  private async deferMailboxChanges(
    actions: readonly PlannedAction[],
    expected: ReadonlyMap<string, TargetOutcome>,
    observedFor?: (targetId: string) => { observed: ObservedMailbox; licensed: boolean | undefined } | undefined,
  ): Promise<readonly PlannedAction[]> {
    const sink = this.deps.mailboxSink;
    if (!sink || !observedFor) return actions;
    const deferred: DeferredMailboxChange[] = [];
    const inline: PlannedAction[] = [];
    for (const action of actions) {
      const found = action.targetKind === "mailbox" ? observedFor(action.targetId) : undefined;
      const outcome = expected.get(action.targetId);
      if (found && outcome) {
        deferred.push({ action, outcome, observed: found.observed, ...(found.licensed !== undefined ? { licensed: found.licensed } : {}) });
      } else {
        inline.push(action);
      }
    }
    if (deferred.length > 0) {
      await sink.accept(deferred);
      this.deferredChanges += deferred.length;
      this.changesSent += deferred.length;
      this.progress("apply");
    }
    return inline;
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
          this.emit(failed(outcome, outcomeErrorOf(error)));
          return;
        }
      }
      requestedAt = this.deps.clock.now().getTime();
      await store.setWatermark(tenantId, CUSTOMIZATION_REQUESTED, new Date(requestedAt).toISOString(), requested?.etag);
    }
    const since = new Date(requestedAt).toISOString();
    const finding: Finding = {
      kind: "drift",
      setting: "IsDehydrated",
      current: true,
      desired: false,
      message: `The tenant was dehydrated: Enable-OrganizationCustomization was run (${since}) so the unified audit log could be turned on`,
    };
    const customized = { ...outcome, findings: [...outcome.findings, finding] };
    const [retry] = await this.send([action]);
    if (retry?.error === undefined) {
      // In effect: a later dehydration (should one happen) gets a fresh request.
      await store.setWatermark(tenantId, CUSTOMIZATION_REQUESTED, "");
      this.park(action, customized);
      return;
    }
    if (!needsOrganizationCustomization(retry.error)) {
      this.emit(failed(customized, retry.error));
      return;
    }
    const waitedInMs = this.deps.clock.now().getTime() - requestedAt;
    if (waitedInMs >= CUSTOMIZATION_PENDING_LIMIT_IN_MS) {
      const hours = Math.floor(waitedInMs / 3_600_000);
      this.emit(failed(customized, {
        code: "OrganizationCustomizationPending",
        message: `Enable-OrganizationCustomization was run ${hours} hours ago (${since}) and Exchange still refuses Set-AdminAuditLogConfig: ${retry.error.message}`,
      }));
      return;
    }
    const pending: Finding = {
      kind: "pending",
      setting: "UnifiedAuditLogIngestionEnabled",
      current: false,
      desired: true,
      message: `Waiting for Enable-OrganizationCustomization (run ${since}) to take effect; Exchange can take up to an hour. Retried next run.`,
    };
    this.emit({ ...customized, status: "drift", findings: [...customized.findings, pending] });
  }

  private park(
    action: PlannedAction,
    outcome: TargetOutcome,
    observedFor?: (targetId: string) => { observed: ObservedMailbox; licensed: boolean | undefined } | undefined,
  ): void {
    if (action.targetKind === "organization") this.pendingOrganization = outcome;
    else if (action.targetKind === "bypass-association") this.pendingBypass.set(action.targetId, { outcome, writtenAs: writtenIdentity(action) });
    else {
      const found = observedFor?.(action.targetId);
      if (found) this.pendingMailboxes.set(action.targetId, { ...found, outcome });
    }
  }

  /** Sends each action's requests in one batch call; an action's error is the first failure among its requests. */
  private async send(actions: readonly PlannedAction[]): Promise<{ error?: OutcomeError }[]> {
    if (actions.length === 0) return [];
    this.applyStartedAt ??= this.deps.clock.now();
    const requests = actions.flatMap((action) => action.requests);
    this.changesSent += actions.length;
    this.progress("apply");
    let results: Awaited<ReturnType<ExchangeTransport["batch"]>>;
    try {
      results = await this.deps.transport.batch(requests);
    } catch (error) {
      const outcomeError = outcomeErrorOf(error);
      return actions.map(() => ({ error: outcomeError }));
    }
    let offset = 0;
    return actions.map((action) => {
      const mine = results.slice(offset, offset + action.requests.length);
      offset += action.requests.length;
      if (mine.length < action.requests.length) return { error: { code: "NoResponse", message: "No batch response for this change" } };
      const failure = mine.find((result) => !result.ok);
      return failure && !failure.ok ? { error: outcomeErrorOf(failure.error) } : {};
    });
  }

  // ---- verify -----------------------------------------------------------------------------------------------

  private async verify(): Promise<void> {
    if (this.pendingOrganization) {
      const expected = this.pendingOrganization;
      this.pendingOrganization = undefined;
      await this.verifyOrganization(expected);
    }
    if (this.pendingBypass.size > 0) await this.verifyBypass();
    if (this.pendingMailboxes.size > 0) await this.verifyMailboxes();
  }

  private async verifyOrganization(expected: TargetOutcome): Promise<void> {
    this.progress("verify");
    try {
      const after = await this.readOrganization();
      const diff = diffOrganization(this.deps.policy, after);
      this.emit(diff.changes.length === 0 ? { ...expected, after: diff.before } : mismatch(expected, diff.before, diff.findings));
    } catch (error) {
      this.emit(failed(expected, { code: "VerifyReadFailed", message: ensureError(error).message }));
    }
  }

  private async verifyBypass(): Promise<void> {
    this.progress("verify");
    try {
      for await (const page of this.bypassReadBack()) {
        for (const association of page) {
          const expected = this.pendingBypass.get(association.Identity)?.outcome;
          if (!expected) continue;
          this.pendingBypass.delete(association.Identity);
          const after = { AuditBypassEnabled: association.AuditBypassEnabled };
          this.emit(association.AuditBypassEnabled ? mismatch(expected, after, []) : { ...expected, after });
        }
      }
    } catch (error) {
      this.failPending({ code: "VerifyReadFailed", message: ensureError(error).message });
    }
    for (const { outcome } of this.pendingBypass.values()) this.emit(missingFromReadBack(outcome));
    this.pendingBypass.clear();
  }

  private async verifyMailboxes(): Promise<void> {
    this.progress("verify");
    try {
      for (const request of this.readBackRequests()) {
        for await (const page of this.deps.transport.pages(request)) {
          for (const row of page) {
            const parsed = observedMailboxSchema.safeParse(row);
            if (!parsed.success) continue;
            this.noteVerifiedThrough(parsed.data.WhenChangedUTC);
            const targetId = mailboxTargetId(parsed.data);
            const pending = this.pendingMailboxes.get(targetId);
            if (!pending) continue;
            this.pendingMailboxes.delete(targetId);
            this.emit(verifiedOutcome(this.deps.policy, pending.outcome, parsed.data, pending.licensed, true));
          }
        }
      }
    } catch (error) {
      this.failPending({ code: "VerifyReadFailed", message: ensureError(error).message });
    }
    for (const pending of this.pendingMailboxes.values()) this.emit(missingFromReadBack(pending.outcome));
    this.pendingMailboxes.clear();
  }

  /**
   * The reads that find the pending mailboxes again: every mailbox changed since the apply started (one stream,
   * for a whole run), or exactly the pending ones by identity, 20 per filter (for deferred changes).
   */
  private readBackRequests(): CmdletRequest[] {
    const pending = [...this.pendingMailboxes.values()].map((entry) => entry.observed);
    const readsFor = (filter: string, mailboxes: readonly ObservedMailbox[]): CmdletRequest[] => {
      const [others, groups] = mailboxReads(filter);
      return [
        ...(mailboxes.some((mailbox) => mailbox.RecipientTypeDetails !== GROUP_MAILBOX) ? [others] : []),
        ...(mailboxes.some((mailbox) => mailbox.RecipientTypeDetails === GROUP_MAILBOX) ? [groups] : []),
      ];
    };
    if (!this.verifyByIdentity) {
      // After a first window, the next starts at the latest change Exchange showed (its own clock): every later
      // write is newer, so windows do not re-read each other's writes.
      const since = this.verifiedThrough ?? new Date((this.applyStartedAt ?? this.startedAt).getTime() - VERIFY_WINDOW_IN_MS);
      return readsFor(changedSinceFilter(since), pending);
    }
    const requests: CmdletRequest[] = [];
    for (let index = 0; index < pending.length; index += IDENTITIES_PER_FILTER) {
      const chunk = pending.slice(index, index + IDENTITIES_PER_FILTER);
      requests.push(...readsFor(identityFilter(chunk.map(readBackIdentity)), chunk));
    }
    return requests;
  }

  private noteVerifiedThrough(whenChanged: string | null | undefined): void {
    const changedAt = whenChanged ? Date.parse(whenChanged) : Number.NaN;
    if (!Number.isNaN(changedAt) && changedAt > (this.verifiedThrough?.getTime() ?? 0)) this.verifiedThrough = new Date(changedAt);
  }

  private failPending(error: OutcomeError): void {
    if (this.pendingOrganization) this.emit(failed(this.pendingOrganization, error));
    this.pendingOrganization = undefined;
    for (const { outcome } of this.pendingBypass.values()) this.emit(failed(outcome, error));
    this.pendingBypass.clear();
    for (const pending of this.pendingMailboxes.values()) this.emit(failed(pending.outcome, error));
    this.pendingMailboxes.clear();
  }

  // ---- record -----------------------------------------------------------------------------------------------

  private emit(outcome: TargetOutcome): void {
    tallyOutcome(this.counts, this.findingCounts, outcome);
    this.produced += 1;
    this.keepSample(outcome);
    this.buffer.push(outcome);
  }

  private keepSample(outcome: TargetOutcome): void {
    if (this.sample.length < this.sampleSize) {
      this.sample.push(outcome);
      return;
    }
    if (outcome.status === "compliant") return;
    const compliantIndex = this.sample.findIndex((kept) => kept.status === "compliant");
    if (compliantIndex >= 0) this.sample.splice(compliantIndex, 1, outcome);
  }

  private progress(phase: AuditProgress["phase"]): void {
    this.deps.onProgress?.({ phase, targetsSeen: this.produced, changesSent: this.changesSent });
  }

  /**
   * Called between pages: hands the buffered outcomes to the store without waiting for them, so recording a page
   * overlaps observing and applying the next one (Table writes stay off the Exchange critical path). At most one
   * page is being recorded while the next is buffered, which keeps memory bounded.
   */
  private async flush(): Promise<void> {
    await this.recording;
    const outcomes = this.buffer.splice(0);
    this.recording = this.record(outcomes);
  }

  /** Called at the end: every outcome recorded (or its failure noted in `recordFailure`). */
  private async drain(): Promise<void> {
    await this.flush();
    await this.recording;
  }

  private async record(outcomes: readonly TargetOutcome[]): Promise<void> {
    for (let index = 0; index < outcomes.length; index += OUTCOME_CHUNK_SIZE) {
      const chunk = outcomes.slice(index, index + OUTCOME_CHUNK_SIZE);
      try {
        await this.deps.store.recordOutcomes(this.request.tenantId, this.request.runId, this.startedAt.toISOString(), chunk);
      } catch (error) {
        this.recordFailure ??= { code: "RecordFailed", message: ensureError(error).message };
        this.deps.logger?.error({ tenantId: this.request.tenantId, runId: this.request.runId, err: ensureError(error) }, "outcomes not recorded");
      }
    }
  }
}

/** One account's bypass association, looked up by identity (sent in batches). */
function bypassLookup(identity: string): CmdletRequest {
  return { cmdlet: "Get-MailboxAuditBypassAssociation", parameters: { Identity: identity }, select: BYPASS_SELECT };
}

/**
 * Get-Mailbox (user, shared, resource, discovery…) and Get-Mailbox -GroupMailbox, with an optional filter. Both are
 * server-side cmdlets InvokeCommand serves; `$select` trims the output to the audit properties (Get-EXOMailbox and
 * its -PropertySets belong to the PowerShell module, not to InvokeCommand).
 */
function mailboxReads(filter: string | undefined): [CmdletRequest, CmdletRequest] {
  const filterParameter = filter === undefined ? {} : { Filter: filter };
  return [
    { cmdlet: "Get-Mailbox", parameters: { ResultSize: "Unlimited", ...filterParameter }, select: MAILBOX_SELECT },
    { cmdlet: "Get-Mailbox", parameters: { GroupMailbox: true, ResultSize: "Unlimited", ...filterParameter }, select: MAILBOX_SELECT },
  ];
}

/** The -Identity an action's (first) write used. */
function writtenIdentity(action: PlannedAction): string {
  const identity = action.requests[0]?.parameters?.["Identity"];
  return typeof identity === "string" ? identity : action.targetId;
}

/** The identity that finds a mailbox again: its Entra object id, else its primary address. */
function readBackIdentity(mailbox: ObservedMailbox): MailboxIdentity {
  return mailbox.ExternalDirectoryObjectId
    ? { kind: "guid", value: mailbox.ExternalDirectoryObjectId.toLowerCase() }
    : { kind: "address", value: mailbox.PrimarySmtpAddress ?? "" };
}

function matchesIdentity(mailbox: ObservedMailbox, identity: MailboxIdentity): boolean {
  const wanted = identity.value.toLowerCase();
  const candidates = identity.kind === "guid"
    ? [mailbox.ExternalDirectoryObjectId, mailbox.Guid]
    : [mailbox.PrimarySmtpAddress, mailbox.UserPrincipalName];
  return candidates.some((candidate) => candidate?.toLowerCase() === wanted);
}


function needsOrganizationCustomization(error: OutcomeError): boolean {
  return error.message.includes("Enable-OrganizationCustomization");
}

function isAlreadyAudited(error: OutcomeError): boolean {
  return error.message.toLowerCase().includes(ALREADY_AUDITED_TEXT);
}

function isLicenceRejection(error: OutcomeError): boolean {
  return error.message.toLowerCase().includes(LICENCE_REJECTION_TEXT);
}

function withLicenceRejection(outcome: TargetOutcome, error: OutcomeError): TargetOutcome {
  const finding: Finding = {
    kind: "licence-gap",
    setting: LICENCE_REJECTION_SETTING,
    message: `Exchange rejected licence-gated actions (${error.message}); retried without them`,
  };
  return { ...outcome, findings: [...outcome.findings, finding] };
}

function failed(outcome: TargetOutcome, error: OutcomeError): TargetOutcome {
  return { ...outcome, status: "failed", error };
}

function mismatch(expected: TargetOutcome, after: Readonly<Record<string, unknown>>, remaining: readonly Finding[]): TargetOutcome {
  const settings = remaining.map((finding) => finding.setting).join(", ");
  return {
    ...expected,
    status: "failed",
    after,
    error: { code: "VerifyMismatch", message: `Read back still drifted${settings ? `: ${settings}` : ""}` },
  };
}

function missingFromReadBack(expected: TargetOutcome): TargetOutcome {
  return { ...expected, status: "failed", error: { code: "VerifyMismatch", message: "The change was not found in the read-back" } };
}

/**
 * A mailbox's outcome from state read after the run's writes: remediated (written) or compliant (nothing was left
 * to write after a licence rejection) when no writable drift remains; drift when only report-only drift remains.
 */
function verifiedOutcome(
  policy: AuditPolicy,
  expected: TargetOutcome,
  readBack: ObservedMailbox,
  licensed: boolean | undefined,
  written: boolean,
): TargetOutcome {
  const diff = diffMailbox(policy, readBack, licensed === undefined ? {} : { licensed });
  if (diff.change) return mismatch(expected, diff.before, diff.findings.filter((finding) => finding.kind === "drift"));
  const status: OutcomeStatus = diff.reportOnlyDrift ? "drift" : written ? "remediated" : "compliant";
  if (written) return { ...expected, status, after: diff.before };
  const rejections = expected.findings.filter((finding) => finding.setting === LICENCE_REJECTION_SETTING);
  return { ...expected, status, findings: [...diff.findings, ...rejections] };
}

function notFoundOutcome(identity: MailboxIdentity): TargetOutcome {
  return {
    kind: "mailbox",
    targetId: identity.value,
    displayName: identity.value,
    status: "failed",
    findings: [],
    error: { code: "MailboxNotFound", message: `No mailbox matched '${identity.value}'` },
  };
}

function invalidRowOutcome(row: Record<string, unknown>, message: string): TargetOutcome {
  const id = [row["ExternalDirectoryObjectId"], row["Guid"], row["PrimarySmtpAddress"]].find((value) => typeof value === "string" && value);
  return {
    kind: "mailbox",
    targetId: typeof id === "string" ? id : "unknown",
    displayName: typeof row["PrimarySmtpAddress"] === "string" ? row["PrimarySmtpAddress"] : "unknown",
    status: "failed",
    findings: [],
    error: { code: "InvalidResponse", message },
  };
}
