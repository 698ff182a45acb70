/**
 * The audit-log evidence phase: proves, from the unified audit log, that earlier runs' changes were recorded
 * (`audit-trail`, one target per earlier run) and that mailbox audit records arrive (`audit-activity`).
 *
 * It is split in two so the searches run while the run does its own work: `startAuditEvidence` (at the start of
 * the run) reads what is due and creates the searches; `finish` (after the run's work) polls them within the poll
 * budget, reads their records, records the outcomes in the run and remembers the settled runs. Neither throws:
 * whatever goes wrong becomes a failed or pending evidence outcome (or, for storage, a logged error), never a
 * failure of the enforcement itself.
 */
import type { AuditLogger, Clock } from "../audit/ports";
import type { OutcomeError, RunSummary, TargetOutcome } from "../domain/outcome";
import { ensureError } from "../exchange/errors";
import type { OutcomeStore } from "../storage/outcome-store";
import { ADMIN_RECORD_TYPE, AuditSearchDeniedError, MAILBOX_ACTIVITY_RECORD_TYPES, type AuditQueryState, type AuditRecord, type AuditSearchPort } from "./audit-search";
import { changeKey, expectedChange, operationsToSearch, TrailMatcher, type ExpectedChange } from "./trail";
import {
  activityWindow,
  auditActivityOutcome,
  auditTrailVerdict,
  dueRuns,
  nextEvidenceMemory,
  parseEvidenceMemory,
  runWindow,
  type AuditEvidenceSettings,
  type EvidenceMemory,
  type SearchResult,
} from "./verdicts";

/** Watermark under which the phase keeps its memory (settled runs, the last full sweep's mailboxes). */
export const EVIDENCE_WATERMARK = "audit-evidence";

/** The `graphCalls` keys of the run summary. */
export const GRAPH_ROUTES = Object.freeze({
  create: "POST /security/auditLog/queries",
  get: "GET /security/auditLog/queries/{id}",
  records: "GET /security/auditLog/queries/{id}/records",
});

/** Runs listed to find the earlier runs due (newest first). */
const RUNS_LISTED = 200;
/** Pages read of the activity search when Graph gives no count: enough to say "at least N". */
const ACTIVITY_PAGES = 2;
const FIRST_POLL_INTERVAL_IN_MS = 2_000;
const MAX_POLL_INTERVAL_IN_MS = 15_000;

/** Real time for the poll budget (the run's clock may be frozen at its start, as the orchestrator's is). */
export interface EvidenceTimer {
  elapsedInMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemTimer = (): EvidenceTimer => {
  const startedAt = performance.now();
  return {
    elapsedInMs: () => performance.now() - startedAt,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
};

export interface EvidencePorts {
  readonly search: AuditSearchPort;
  readonly store: Pick<OutcomeStore, "listRuns" | "listRunChanges" | "getWatermark" | "setWatermark" | "recordOutcomes">;
  /** The run's clock: the verdicts' "now". */
  readonly clock: Clock;
  readonly timer?: EvidenceTimer;
  readonly logger?: AuditLogger;
}

export interface EvidenceRequest {
  readonly tenantId: string;
  readonly runId: string;
  /** The run's start (ISO): its outcomes are recorded under it. */
  readonly runStartedAt: string;
}

/** What the run knows, by the end of its own work, about the tenant's mailboxes. */
export interface EvidenceFinishInput {
  /** Mailboxes this run recorded or handed out. */
  readonly mailboxesSeen: number;
  /** The run was a full sweep: `mailboxesSeen` is the tenant's mailbox total. */
  readonly fullSweep: boolean;
  /** This run found tenant-wide auditing off (zero mailbox activity is then expected, not a failure). */
  readonly auditingWasOff?: boolean;
}

export interface EvidenceResult {
  readonly outcomes: readonly TargetOutcome[];
  /** Graph calls made, by route (`GRAPH_ROUTES`). */
  readonly graphCalls: Readonly<Record<string, number>>;
  /** The outcomes could not be recorded (they are still returned and counted). */
  readonly recordError?: OutcomeError;
}

export interface AuditEvidencePhase {
  finish(input: EvidenceFinishInput): Promise<EvidenceResult>;
}

/** A search in flight, from its creation to its records. */
interface Search {
  readonly label: string;
  state?: AuditQueryState;
  result?: SearchResult;
}

interface TrailCheck {
  readonly run: RunSummary;
  readonly changes: readonly ExpectedChange[];
  readonly changesNotChecked: number;
  readonly outsideExchange: number;
  readonly window: { start: string; end: string };
  readonly search?: Search;
  matcher?: TrailMatcher;
}

function errorOf(error: unknown): OutcomeError {
  const failure = ensureError(error) as Error & { code?: unknown; status?: unknown; requestId?: unknown };
  return {
    code: typeof failure.code === "string" ? failure.code : failure.name,
    message: failure.message,
    ...(typeof failure.requestId === "string" ? { requestId: failure.requestId } : {}),
    ...(typeof failure.status === "number" && failure.status > 0 ? { status: failure.status } : {}),
  };
}

const TERMINAL_FAILURES = new Set(["failed", "cancelled"]);

class EvidenceRun implements AuditEvidencePhase {
  private readonly calls: Record<string, number> = {};
  private readonly timer: EvidenceTimer;
  private memory: EvidenceMemory = { settled: {} };
  private memoryEtag: string | undefined;
  private memoryRead = false;
  private denied = false;
  private trails: TrailCheck[] = [];
  private activity: Search | undefined;
  private activityWindow: { start: string; end: string };

  constructor(
    private readonly ports: EvidencePorts,
    private readonly settings: AuditEvidenceSettings,
    private readonly request: EvidenceRequest,
  ) {
    this.timer = ports.timer ?? systemTimer();
    this.activityWindow = activityWindow(ports.clock.now());
  }

  private count(route: string): void {
    this.calls[route] = (this.calls[route] ?? 0) + 1;
  }

  private log(level: "info" | "warn" | "error", fields: object, message: string): void {
    this.ports.logger?.[level]({ tenantId: this.request.tenantId, runId: this.request.runId, ...fields }, message);
  }

  async start(): Promise<void> {
    const now = this.ports.clock.now();
    const { tenantId } = this.request;
    try {
      const stored = await this.ports.store.getWatermark(tenantId, EVIDENCE_WATERMARK);
      this.memory = parseEvidenceMemory(stored?.value);
      this.memoryEtag = stored?.etag;
      this.memoryRead = true;
      const runs = await this.ports.store.listRuns(tenantId, { limit: RUNS_LISTED });
      const { due, deferred } = dueRuns(runs, this.memory, now, this.settings, this.request.runId);
      if (deferred > 0) this.log("warn", { deferred, checked: due.length }, `audit trail: ${deferred} earlier run(s) are due but at most ${this.settings.maxRunsPerCheck} are checked per run; the oldest go first, the rest wait for the next run`);
      for (const run of due) this.trails.push(await this.trailCheck(run, now));
    } catch (error) {
      // Storage: the trail cannot be checked this run (nothing is settled, so the next run looks again).
      this.log("error", { err: ensureError(error) }, "audit trail not checked: the earlier runs could not be read");
      this.trails = [];
    }
    this.activity = await this.create("mailbox activity", {
      displayName: `mailbox-audit-enforcer: mailbox audit records ${this.activityWindow.start} to ${this.activityWindow.end}`,
      start: this.activityWindow.start,
      end: this.activityWindow.end,
      recordTypes: [...MAILBOX_ACTIVITY_RECORD_TYPES],
    });
    for (const [index, trail] of this.trails.entries()) {
      if (trail.changes.length === 0) continue;
      this.trails[index] = {
        ...trail,
        search: await this.create(`changes of run ${trail.run.runId}`, {
          displayName: `mailbox-audit-enforcer: changes of run ${trail.run.runId}`,
          start: trail.window.start,
          end: trail.window.end,
          recordTypes: [ADMIN_RECORD_TYPE],
          operations: operationsToSearch(trail.changes),
        }),
      };
    }
  }

  private async trailCheck(run: RunSummary, now: Date): Promise<TrailCheck> {
    const cap = this.settings.maxChangesPerRun;
    const remediated = await this.ports.store.listRunChanges(this.request.tenantId, run.runId, { limit: cap + 1 });
    const checked = remediated.slice(0, cap);
    const changes = checked.map(expectedChange).filter((change): change is ExpectedChange => change !== undefined);
    // Past the cap the run's own count says how many are left (at least the one listed beyond it).
    const changesNotChecked = remediated.length > cap ? Math.max(1, run.counts.remediated - cap) : 0;
    if (remediated.length > cap) this.log("warn", { auditedRunId: run.runId, cap }, `audit trail: run ${run.runId} made more than ${cap} changes; only the first ${cap} are looked for`);
    return { run, changes, changesNotChecked, outsideExchange: checked.length - changes.length, window: runWindow(run, now) };
  }

  /** Creates one search; a 403 marks the tenant as lacking the permission and no further search is created. */
  private async create(label: string, spec: Parameters<AuditSearchPort["createQuery"]>[0]): Promise<Search> {
    if (this.denied) return { label, result: { kind: "denied" } };
    this.count(GRAPH_ROUTES.create);
    try {
      const state = await this.ports.search.createQuery(spec);
      return { label, state };
    } catch (error) {
      if (error instanceof AuditSearchDeniedError) {
        this.denied = true;
        this.log("warn", { requestId: error.requestId }, `audit search refused (403): grant the application permission AuditLogsQuery-Exchange.Read.All; evidence outcomes are not-applicable until then`);
        return { label, result: { kind: "denied" } };
      }
      this.log("error", { err: ensureError(error), search: label }, "audit search could not be created");
      return { label, result: { kind: "failed", error: errorOf(error) } };
    }
  }

  private searches(): Search[] {
    return [...(this.activity ? [this.activity] : []), ...this.trails.flatMap((trail) => (trail.search ? [trail.search] : []))];
  }

  /** Polls until every search has finished or the budget is spent. */
  private async poll(): Promise<void> {
    const started = this.timer.elapsedInMs();
    let interval = FIRST_POLL_INTERVAL_IN_MS;
    for (;;) {
      const waiting = this.searches().filter((search) => search.result === undefined && search.state !== undefined && search.state.status !== "succeeded");
      for (const search of waiting) {
        const state = search.state;
        if (!state) continue;
        this.count(GRAPH_ROUTES.get);
        try {
          search.state = await this.ports.search.getQuery(state.id);
        } catch (error) {
          this.log("error", { err: ensureError(error), search: search.label, queryId: state.id }, "audit search status could not be read");
          search.result = { kind: "failed", error: errorOf(error), queryId: state.id };
          continue;
        }
        if (search.state.id !== state.id) {
          search.result = { kind: "failed", error: { code: "InvalidResponse", message: `Asked for audit search ${state.id}, Graph answered ${search.state.id}` }, queryId: state.id };
        } else if (TERMINAL_FAILURES.has(search.state.status)) {
          search.result = { kind: "failed", error: { code: "AuditQueryFailed", message: `the search ended ${search.state.status}` }, queryId: state.id };
        }
      }
      const left = this.searches().some((search) => search.result === undefined && search.state?.status !== "succeeded");
      const spent = this.timer.elapsedInMs() - started;
      if (!left || spent >= this.settings.pollBudgetInMs) break;
      await this.timer.sleep(Math.min(interval, this.settings.pollBudgetInMs - spent));
      interval = Math.min(interval * 2, MAX_POLL_INTERVAL_IN_MS);
    }
    for (const search of this.searches()) {
      if (search.result === undefined && search.state && search.state.status !== "succeeded") {
        search.result = { kind: "unfinished", queryId: search.state.id, status: search.state.status };
      }
    }
  }

  /** Reads a succeeded search's records, page by page, handing each to `take`; stops early when `take` says so. */
  private async read(search: Search, maxPages: number, take: (records: readonly AuditRecord[]) => boolean): Promise<void> {
    const state = search.state;
    if (search.result !== undefined || !state) return;
    let pages = 0;
    let complete = true;
    try {
      const iterator = this.ports.search.listRecordPages(state.id)[Symbol.asyncIterator]();
      for (;;) {
        if (pages >= maxPages) {
          complete = false;
          break;
        }
        let next: IteratorResult<readonly AuditRecord[]>;
        try {
          next = await iterator.next();
        } catch (error) {
          this.count(GRAPH_ROUTES.records);
          throw error;
        }
        // The listing ends after its last page without another call.
        if (next.done) break;
        this.count(GRAPH_ROUTES.records);
        pages += 1;
        if (take(next.value)) {
          complete = true;
          break;
        }
      }
      await iterator.return?.();
      search.result = { kind: "read", queryId: state.id, complete };
    } catch (error) {
      this.log("error", { err: ensureError(error), search: search.label, queryId: state.id }, "audit search records could not be read");
      search.result = { kind: "failed", error: errorOf(error), queryId: state.id };
    }
  }

  async finish(input: EvidenceFinishInput): Promise<EvidenceResult> {
    const now = this.ports.clock.now();
    await this.poll();
    const outcomes: TargetOutcome[] = [];
    const settled: Record<string, string> = {};

    for (const trail of this.trails) {
      const matcher = new TrailMatcher(trail.changes, {
        windowStartInMs: Date.parse(trail.window.start),
        windowEndInMs: Date.parse(trail.window.end),
        ownAppIds: this.settings.ownAppIds.map((id) => id.toLowerCase()),
      });
      if (trail.search) {
        await this.read(trail.search, this.settings.maxRecordPages, (records) => {
          matcher.add(records);
          return matcher.complete;
        });
      }
      const missing = matcher.missing();
      const verdict = auditTrailVerdict({
        run: trail.run,
        changes: trail.changes,
        changesNotChecked: trail.changesNotChecked,
        outsideExchange: trail.outsideExchange,
        window: trail.window,
        ...(trail.search?.result ? { result: trail.search.result } : {}),
        found: new Set(trail.changes.map(changeKey).filter((key) => matcher.found.has(key))),
        missing,
        now,
        missingAfterInMs: this.settings.missingAfterInMs,
      });
      outcomes.push(verdict.outcome);
      if (verdict.settled) settled[trail.run.runId] = trail.run.startedAt;
    }

    // A full sweep counts them; any other run knows at least the last sweep's count and what it saw itself.
    const remembered = this.memory.mailboxes;
    let mailboxes: number | undefined;
    if (input.fullSweep) mailboxes = input.mailboxesSeen;
    else if (remembered !== undefined) mailboxes = Math.max(remembered, input.mailboxesSeen);
    else if (input.mailboxesSeen > 0) mailboxes = input.mailboxesSeen;
    if (this.activity) {
      let records = 0;
      let atLeast = false;
      const approximate = this.activity.state?.approximateRecordCount;
      if (this.activity.result === undefined && approximate !== undefined && approximate > 0) {
        records = approximate;
        this.activity.result = { kind: "read", queryId: this.activity.state?.id ?? "", complete: true };
      } else {
        await this.read(this.activity, ACTIVITY_PAGES, (page) => {
          records += page.length;
          return false;
        });
        atLeast = this.activity.result?.kind === "read" && !this.activity.result.complete;
      }
      outcomes.push(auditActivityOutcome({ window: this.activityWindow, result: this.activity.result ?? { kind: "failed", error: { code: "AuditQueryFailed", message: "not searched" } }, records, atLeast, mailboxes, auditingWasOff: input.auditingWasOff === true }));
    }

    let recordError: OutcomeError | undefined;
    try {
      await this.ports.store.recordOutcomes(this.request.tenantId, this.request.runId, this.request.runStartedAt, outcomes);
      if (this.memoryRead) {
        const next = nextEvidenceMemory(this.memory, { settled, ...(mailboxes !== undefined ? { mailboxes } : {}) }, now, this.settings.lookbackInMs);
        await this.ports.store.setWatermark(this.request.tenantId, EVIDENCE_WATERMARK, JSON.stringify(next), this.memoryEtag);
      }
    } catch (error) {
      // Nothing is settled without its record: the next run looks at the same runs again.
      recordError = { code: "RecordFailed", message: `Evidence outcomes could not be recorded: ${ensureError(error).message}` };
      this.log("error", { err: ensureError(error) }, "audit evidence outcomes not recorded");
    }
    const found = outcomes.filter((outcome) => outcome.kind === "audit-trail");
    this.log("info", { graphCalls: this.calls, trails: found.map((outcome) => `${outcome.targetId}:${outcome.status}`), activity: outcomes.find((outcome) => outcome.kind === "audit-activity")?.status }, "audit evidence checked");
    return { outcomes, graphCalls: { ...this.calls }, ...(recordError ? { recordError } : {}) };
  }
}

/**
 * Starts the phase: reads which earlier runs are due and creates the audit searches. Never throws; the returned
 * phase's `finish` gives the outcomes.
 */
export async function startAuditEvidence(ports: EvidencePorts, settings: AuditEvidenceSettings, request: EvidenceRequest): Promise<AuditEvidencePhase> {
  const phase = new EvidenceRun(ports, settings, request);
  try {
    await phase.start();
  } catch (error) {
    ports.logger?.error({ tenantId: request.tenantId, runId: request.runId, err: ensureError(error) }, "audit evidence could not start");
  }
  return phase;
}
