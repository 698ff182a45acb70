import type { ControlMapping } from "../domain/controls";
import type { Finding, FindingKind, OutcomeError, OutcomeStatus, RunSummary, TargetKind } from "../domain/outcome";
import type { OutcomeStore, RecordedOutcome, TruncatableField } from "../storage/outcome-store";
import { auditActivityEvidence, auditTrailEvidence, type AuditActivityEvidence, type AuditTrailEvidence } from "./audit-evidence";
import { ControlTally, controlsOf, type ControlRow } from "./controls";

/**
 * The tenant report: the latest recorded state of every target, summarised for people and auditors. Built in one
 * pass over the store's latest-state partition: counts are aggregated while streaming, and only the rows worth
 * reading (failures, drift, exemptions, licence gaps, substitutions, hazards) are kept, each list bounded.
 * Every row is an outcome the enforcement recorded from state read back from Exchange.
 */

/** One target in a section of the report. */
export interface ReportRow {
  readonly kind: TargetKind;
  readonly targetId: string;
  readonly displayName: string;
  readonly recipientType?: string;
  readonly status: OutcomeStatus;
  /** The run that recorded this state, and when that run started. */
  readonly runId: string;
  readonly runStartedAt: string;
  /**
   * When this state was last verified: the recording run, or a later completed full sweep that saw the same state
   * and did not record it again (the recorded-state digest).
   */
  readonly lastVerifiedAt?: string;
  /** The findings that put the target in this section (all findings for failures and drift). */
  readonly findings: readonly Finding[];
  /** Exchange error id or product code, message and Exchange `request-id`, for failures. */
  readonly error?: OutcomeError;
  /** Fields the store shortened to fit its limits. */
  readonly truncated?: readonly TruncatableField[];
  /** The controls (`framework id`) that this row's findings, or its failure, bear on. */
  readonly controls?: readonly string[];
}

/** A capture target (mailbox or rule) with its settings as last read from Exchange. */
export interface CaptureRow extends ReportRow {
  readonly state?: Readonly<Record<string, unknown>>;
}

export interface FailureRow extends ReportRow {
  /**
   * Start of the oldest run of the unbroken series of failed outcomes ending with the latest one, from the
   * target's history. Undefined when the history was not read (`failingSinceLookups` exhausted).
   */
  readonly failingSince?: string;
  /** Consecutive failed runs found; when it equals `historyDepth`, the failure may be older than `failingSince`. */
  readonly consecutiveFailedRuns?: number;
}

/** An earlier run's changes looked for in the unified audit log (`audit-trail`). */
export interface AuditTrailRow extends ReportRow {
  readonly evidence: AuditTrailEvidence;
}

/** The mailbox audit records the unified audit log received over the last 24 hours (`audit-activity`). */
export interface AuditActivityRow extends ReportRow {
  readonly evidence: AuditActivityEvidence;
}

/** What the unified audit log shows: the audited runs' changes (failures first, then newest) and the activity count. */
export interface AuditEvidence {
  readonly trails: ReportSection<AuditTrailRow>;
  /** The latest mailbox-activity count; absent when no run has recorded one. */
  readonly activity?: AuditActivityRow;
}

/** A bounded list: `total` targets qualified, the first `rows.length` of them are listed. */
export interface ReportSection<Row extends ReportRow = ReportRow> {
  readonly total: number;
  readonly rows: readonly Row[];
}

/** The mailboxes missing the same licence-gated actions on the same setting. */
export interface LicenceGapGroup extends ReportSection {
  /** The setting, e.g. `AuditOwner`. */
  readonly setting: string;
  /** The actions the licence does not cover, e.g. `MailItemsAccessed, Send` (empty: Exchange refused them). */
  readonly actions: readonly string[];
}

export type StatusCounts = Record<OutcomeStatus, number>;

export interface TenantReport {
  readonly generatedAt: string;
  readonly tenant: string;
  /** Set when the report was restricted to the targets whose latest state was recorded by this run. */
  readonly runId?: string;
  /** The latest runs, newest first. */
  readonly runs: readonly RunSummary[];
  /** Targets in the report. */
  readonly targets: number;
  readonly counts: {
    readonly byStatus: StatusCounts;
    readonly byKind: Readonly<Partial<Record<TargetKind, StatusCounts>>>;
    /** Mailboxes (and other recipients) by Exchange recipient type. */
    readonly byRecipientType: Readonly<Record<string, StatusCounts>>;
    /** Targets with at least one finding of each kind (custom audit sets are counted here, not listed). */
    readonly byFinding: Readonly<Partial<Record<FindingKind, number>>>;
  };
  readonly failures: ReportSection<FailureRow>;
  readonly drift: ReportSection;
  /** Exempt targets and partial exemptions, with the allow-list reasons in the findings' messages. */
  readonly exemptions: ReportSection;
  readonly licenceGaps: ReportSection;
  /** The licence gaps grouped by setting and missing actions, largest group first. */
  readonly licenceGapGroups: readonly LicenceGapGroup[];
  readonly substitutions: ReportSection;
  /** Things outside the product's control that defeat the policy (capture: shadowing transport rules, capacity). */
  readonly hazards: ReportSection;
  /** Every capture target: the capture mailbox and the transport or journal rules. */
  readonly capture: ReportSection<CaptureRow>;
  /** The audit trail read back from the unified audit log: the audited runs and the mailbox-activity count. */
  readonly auditEvidence: AuditEvidence;
  /** Every control of the policies' mapping with the evidence the targets give of it. */
  readonly controls: readonly ControlRow[];
  /** Targets with a field the store shortened; their full values are not available. */
  readonly truncatedTargets: number;
}

export interface TenantReportOptions {
  readonly now: Date;
  /** Only targets whose latest state this run recorded. */
  readonly runId?: string;
  /** Rows kept per section; default 500. */
  readonly rowLimit?: number;
  /** Runs listed; default 10. */
  readonly runLimit?: number;
  /** Failed targets whose history is read to find since when they fail; default 50. */
  readonly failingSinceLookups?: number;
  /** History entries read per failed target; default 20. */
  readonly historyDepth?: number;
  /** The control mapping of the policies in force (their `controls` sections); default none. */
  readonly controls?: readonly ControlMapping[];
}

const DEFAULT_ROW_LIMIT = 500;
const DEFAULT_RUN_LIMIT = 10;
const DEFAULT_FAILING_SINCE_LOOKUPS = 50;
const DEFAULT_HISTORY_DEPTH = 20;

export function emptyStatusCounts(): StatusCounts {
  return { compliant: 0, remediated: 0, drift: 0, exempt: 0, "not-applicable": 0, failed: 0 };
}

const CAPTURE_KINDS: ReadonlySet<TargetKind> = new Set(["capture-mailbox", "transport-rule", "journal-rule"]);

function reportRow(outcome: RecordedOutcome, findings: readonly Finding[], controls: readonly string[]): ReportRow {
  return {
    kind: outcome.kind,
    targetId: outcome.targetId,
    displayName: outcome.displayName,
    ...(outcome.recipientType !== undefined && { recipientType: outcome.recipientType }),
    status: outcome.status,
    runId: outcome.runId,
    runStartedAt: outcome.runStartedAt,
    lastVerifiedAt: outcome.lastVerifiedAt ?? outcome.runStartedAt,
    findings,
    ...(outcome.error && { error: outcome.error }),
    ...(outcome.truncated.length > 0 && { truncated: outcome.truncated }),
    ...(controls.length > 0 && { controls }),
  };
}

class SectionBuilder<Row extends ReportRow = ReportRow> {
  private total = 0;
  private readonly rows: Row[] = [];
  constructor(private readonly limit: number) {}
  add(row: () => Row): void {
    this.total += 1;
    if (this.rows.length < this.limit) this.rows.push(row());
  }
  build(): ReportSection<Row> {
    return { total: this.total, rows: this.rows };
  }
}

/** Failed first, then pending (drift), not applicable, compliant; within each, the newest audited run first. */
const EVIDENCE_RANK: Readonly<Record<OutcomeStatus, number>> = {
  failed: 0,
  drift: 1,
  "not-applicable": 2,
  exempt: 3,
  remediated: 4,
  compliant: 5,
};

function compareTrails(a: AuditTrailRow, b: AuditTrailRow): number {
  const finished = (row: AuditTrailRow) => row.evidence.auditedRunFinishedAt ?? row.runStartedAt;
  return (
    EVIDENCE_RANK[a.status] - EVIDENCE_RANK[b.status] ||
    finished(b).localeCompare(finished(a)) ||
    a.targetId.localeCompare(b.targetId)
  );
}

/** The audit-trail rows: every one counted, the `limit` most important kept (failures first), whatever the order read. */
class AuditTrailSection {
  private total = 0;
  private rows: AuditTrailRow[] = [];
  constructor(private readonly limit: number) {}
  add(row: AuditTrailRow): void {
    this.total += 1;
    this.rows.push(row);
    // Trimmed in batches: memory stays bounded by twice the limit, sorting stays rare.
    if (this.rows.length > Math.max(2 * this.limit, 1)) this.rows = this.rows.sort(compareTrails).slice(0, this.limit);
  }
  build(): ReportSection<AuditTrailRow> {
    return { total: this.total, rows: this.rows.sort(compareTrails).slice(0, this.limit) };
  }
}

const ofKind = (outcome: RecordedOutcome, kind: FindingKind): Finding[] =>
  outcome.findings.filter((finding) => finding.kind === kind);

/** Groups licence-gap rows by setting and missing actions, each group's rows bounded like a section. */
class LicenceGapGrouper {
  private readonly groups = new Map<string, { setting: string; actions: string[]; section: SectionBuilder }>();
  constructor(private readonly limit: number) {}
  add(gap: Finding, row: () => ReportRow): void {
    const actions = Array.isArray(gap.desired) ? gap.desired.map(String).sort() : [];
    const key = JSON.stringify([gap.setting, actions]);
    let group = this.groups.get(key);
    if (!group) {
      group = { setting: gap.setting, actions, section: new SectionBuilder(this.limit) };
      this.groups.set(key, group);
    }
    group.section.add(row);
  }
  build(): LicenceGapGroup[] {
    return [...this.groups.values()]
      .map(({ setting, actions, section }) => ({ setting, actions, ...section.build() }))
      .sort((a, b) => b.total - a.total || a.setting.localeCompare(b.setting));
  }
}

/** Builds the tenant report in one pass over the latest state of its targets. */
export async function buildTenantReport(
  store: OutcomeStore,
  tenantId: string,
  options: TenantReportOptions,
): Promise<TenantReport> {
  const stream = streamTenantReport(store, tenantId, options);
  for (;;) {
    const next = await stream.next();
    if (next.done) return next.value;
  }
}

/**
 * Yields every target of the report as it streams past (so the JSON and CSV writers can write rows without
 * holding them), then returns the report.
 */
export async function* streamTenantReport(
  store: OutcomeStore,
  tenantId: string,
  options: TenantReportOptions,
): AsyncGenerator<RecordedOutcome, TenantReport, void> {
  const limit = Math.max(0, options.rowLimit ?? DEFAULT_ROW_LIMIT);
  const runs = await store.listRuns(tenantId, { limit: options.runLimit ?? DEFAULT_RUN_LIMIT });
  const byStatus = emptyStatusCounts();
  const byKind: Partial<Record<TargetKind, StatusCounts>> = {};
  const byRecipientType = new Map<string, StatusCounts>();
  const byFinding: Partial<Record<FindingKind, number>> = {};
  const failures = new SectionBuilder<ReportRow>(limit);
  const drift = new SectionBuilder(limit);
  const exemptions = new SectionBuilder(limit);
  const licenceGaps = new SectionBuilder(limit);
  const substitutions = new SectionBuilder(limit);
  const hazards = new SectionBuilder(limit);
  const capture = new SectionBuilder<CaptureRow>(limit);
  const gapGroups = new LicenceGapGrouper(limit);
  const trails = new AuditTrailSection(limit);
  let activity: AuditActivityRow | undefined;
  const mapping = options.controls ?? [];
  const controls = new ControlTally(mapping);
  let targets = 0;
  let truncatedTargets = 0;

  for await (const outcome of store.listLatest(tenantId)) {
    if (options.runId !== undefined && outcome.runId !== options.runId) continue;
    targets += 1;
    byStatus[outcome.status] += 1;
    (byKind[outcome.kind] ??= emptyStatusCounts())[outcome.status] += 1;
    if (outcome.recipientType !== undefined) {
      const counts = byRecipientType.get(outcome.recipientType) ?? emptyStatusCounts();
      counts[outcome.status] += 1;
      byRecipientType.set(outcome.recipientType, counts);
    }
    for (const kind of new Set(outcome.findings.map((finding) => finding.kind)))
      byFinding[kind] = (byFinding[kind] ?? 0) + 1;
    if (outcome.truncated.length > 0) truncatedTargets += 1;
    controls.add(outcome);

    const row = (findings: readonly Finding[]) => () =>
      reportRow(outcome, findings, controlsOf(mapping, outcome, findings));
    if (outcome.status === "failed") failures.add(row(outcome.findings));
    if (outcome.status === "drift") drift.add(row(outcome.findings));
    const exempted = ofKind(outcome, "exemption");
    if (outcome.status === "exempt" || exempted.length > 0) exemptions.add(row(exempted));
    const gaps = ofKind(outcome, "licence-gap");
    if (gaps.length > 0) licenceGaps.add(row(gaps));
    for (const gap of gaps) gapGroups.add(gap, row([gap]));
    const substituted = ofKind(outcome, "substitution");
    if (substituted.length > 0) substitutions.add(row(substituted));
    const hazardous = ofKind(outcome, "hazard");
    if (hazardous.length > 0) hazards.add(row(hazardous));
    if (CAPTURE_KINDS.has(outcome.kind)) capture.add(() => captureRow(outcome, row(outcome.findings)()));
    const trail = auditTrailEvidence(outcome);
    if (trail) trails.add({ ...row(outcome.findings)(), evidence: trail });
    const counted = auditActivityEvidence(outcome);
    if (counted && (!activity || outcome.runStartedAt > activity.runStartedAt))
      activity = { ...row(outcome.findings)(), evidence: counted };
    yield outcome;
  }

  const failed = failures.build();
  return {
    generatedAt: options.now.toISOString(),
    tenant: tenantId,
    ...(options.runId !== undefined && { runId: options.runId }),
    runs,
    targets,
    // fromEntries defines own properties, so a recipient type read from Exchange can never reach a prototype.
    counts: { byStatus, byKind, byRecipientType: Object.fromEntries(byRecipientType), byFinding },
    failures: { total: failed.total, rows: await withFailingSince(store, tenantId, failed.rows, options) },
    drift: drift.build(),
    exemptions: exemptions.build(),
    licenceGaps: licenceGaps.build(),
    licenceGapGroups: gapGroups.build(),
    substitutions: substitutions.build(),
    hazards: hazards.build(),
    capture: capture.build(),
    auditEvidence: { trails: trails.build(), ...(activity && { activity }) },
    controls: controls.build(),
    truncatedTargets,
  };
}

function captureRow(outcome: RecordedOutcome, row: ReportRow): CaptureRow {
  const state = outcome.after ?? outcome.before;
  return state === undefined ? row : { ...row, state };
}

/** Reads the history of the first failed targets (one small partition query each) to date their failures. */
async function withFailingSince(
  store: OutcomeStore,
  tenantId: string,
  rows: readonly ReportRow[],
  options: TenantReportOptions,
): Promise<FailureRow[]> {
  const lookups = Math.max(0, options.failingSinceLookups ?? DEFAULT_FAILING_SINCE_LOOKUPS);
  const limit = Math.max(1, options.historyDepth ?? DEFAULT_HISTORY_DEPTH);
  const dated: FailureRow[] = [];
  for (const [index, row] of rows.entries()) {
    if (index >= lookups) {
      dated.push(row);
      continue;
    }
    const history = await store.listHistory(tenantId, row.targetId, { limit, kind: row.kind });
    dated.push({ ...row, ...failingSince(history) });
  }
  return dated;
}

/** The unbroken series of failed outcomes at the head of a newest-first history. */
export function failingSince(
  history: readonly RecordedOutcome[],
): Pick<FailureRow, "failingSince" | "consecutiveFailedRuns"> {
  let oldest: RecordedOutcome | undefined;
  let consecutiveFailedRuns = 0;
  for (const outcome of history) {
    if (outcome.status !== "failed") break;
    oldest = outcome;
    consecutiveFailedRuns += 1;
  }
  return oldest ? { failingSince: oldest.runStartedAt, consecutiveFailedRuns } : {};
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A pragmatic SMTP address check (local@domain.tld, no spaces or angle brackets): identifiers, not mail parsing. */
const SMTP_ADDRESS = /^[^\s@<>()",;:]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;

/** True for the mailbox identifiers the report accepts: an Entra object id (GUID) or an SMTP address. */
export function isMailboxIdentifier(value: string): boolean {
  return value.length <= 320 && (GUID.test(value) || SMTP_ADDRESS.test(value));
}

export interface MailboxHistory {
  readonly tenant: string;
  /** The identifier asked for, and the target id it resolved to (undefined: no such mailbox recorded). */
  readonly mailbox: string;
  readonly targetId?: string;
  readonly displayName?: string;
  /** Newest first: mailbox outcomes and, for the capture mailbox, its capture outcomes. */
  readonly entries: readonly RecordedOutcome[];
}

const MAILBOX_KINDS: ReadonlySet<TargetKind> = new Set(["mailbox", "capture-mailbox"]);

/**
 * The recorded history of one mailbox, newest first. A GUID is the target id (the Entra object id); an SMTP
 * address is resolved through the latest state (one partition scan), where mailboxes carry their address as
 * display name.
 */
export async function mailboxHistory(
  store: OutcomeStore,
  tenantId: string,
  mailbox: string,
  options: { readonly limit?: number } = {},
): Promise<MailboxHistory> {
  const resolved = GUID.test(mailbox) ? { targetId: mailbox } : await resolveAddress(store, tenantId, mailbox);
  if (!resolved) return { tenant: tenantId, mailbox, entries: [] };
  const entries = (await store.listHistory(tenantId, resolved.targetId, { limit: options.limit ?? 50 })).filter(
    (entry) => MAILBOX_KINDS.has(entry.kind),
  );
  const displayName = entries[0]?.displayName;
  return {
    tenant: tenantId,
    mailbox,
    targetId: resolved.targetId,
    ...(displayName !== undefined && { displayName }),
    entries,
  };
}

async function resolveAddress(
  store: OutcomeStore,
  tenantId: string,
  address: string,
): Promise<{ targetId: string } | undefined> {
  const wanted = address.toLowerCase();
  for await (const outcome of store.listLatest(tenantId)) {
    if (!MAILBOX_KINDS.has(outcome.kind)) continue;
    if (outcome.displayName.toLowerCase() === wanted || outcome.targetId.toLowerCase() === wanted) {
      return { targetId: outcome.targetId };
    }
  }
  return undefined;
}
