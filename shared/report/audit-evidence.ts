/**
 * The audit-log evidence of a run, read back from the outcomes the evidence phase records: per earlier run, whether
 * the unified audit log holds an Exchange admin record of each change it made (`audit-trail`), and how many mailbox
 * audit records the log received over the last 24 hours (`audit-activity`). The `after` of those outcomes is parsed
 * here, leniently: a field that is missing or malformed is left out, never guessed, and every string in it came
 * from Graph or Exchange (object ids, display names), so renderers escape it like any other tenant data.
 */
import { z } from "zod";
import type { TargetOutcome } from "../domain/outcome";

/** One change of the audited run whose admin audit record the log did not hold. */
export interface MissingChange {
  readonly kind: string;
  readonly targetId: string;
  readonly displayName: string;
  /** The cmdlets whose records were looked for, e.g. `Set-Mailbox`. */
  readonly operations: readonly string[];
}

/** `audit-trail`: N of N changes of one earlier run found in the unified audit log. */
export interface AuditTrailEvidence {
  readonly auditedRunId: string;
  readonly auditedRunFinishedAt?: string;
  /** Changes the audited run made (and verified) that should each have an admin audit record. */
  readonly expected?: number;
  readonly found?: number;
  /** The first missing changes (the engine keeps at most 20). */
  readonly missing: readonly MissingChange[];
  /** More changes are missing than `missing` lists. */
  readonly missingTruncated: boolean;
  readonly queryId?: string;
  readonly windowStart?: string;
  readonly windowEnd?: string;
  /** The run's changes beyond the engine's cap, not looked for. */
  readonly notChecked?: number;
  /** The Graph application permission the run's token lacked (the outcome is then `not-applicable`). */
  readonly permissionMissing?: string;
}

/** `audit-activity`: mailbox audit records the log received in the window (the last 24 hours). */
export interface AuditActivityEvidence {
  readonly records?: number;
  /** The query stopped counting at a limit: there are at least `records`. */
  readonly atLeast: boolean;
  readonly windowStart?: string;
  readonly windowEnd?: string;
  /** The record types counted, e.g. `exchangeItem`, `exchangeItemGroup`, `exchangeItemAggregated`. */
  readonly recordTypes: readonly string[];
  readonly queryId?: string;
  readonly permissionMissing?: string;
}

/** The Graph application permission the audit-log queries need (the least privileged for Exchange records). */
export const AUDIT_QUERY_PERMISSION = "AuditLogsQuery-Exchange.Read.All";

const text = z.string().min(1);
const count = z.number().int().nonnegative();

/** Each field parsed on its own: one malformed field does not hide the others. */
function field<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const missingChangeSchema = z.looseObject({
  kind: z.string(),
  targetId: z.string(),
  displayName: z.string().optional(),
  operations: z.array(z.string()).optional(),
});

function missingChanges(value: unknown): MissingChange[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    const parsed = missingChangeSchema.safeParse(entry);
    if (!parsed.success) return [];
    const { kind, targetId, displayName, operations } = parsed.data;
    return [{ kind, targetId, displayName: displayName ?? targetId, operations: operations ?? [] }];
  });
}

const defined = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, each]) => each !== undefined)) as T;

/** The evidence of an `audit-trail` outcome; undefined for any other kind. */
export function auditTrailEvidence(outcome: Pick<TargetOutcome, "kind" | "targetId" | "after">): AuditTrailEvidence | undefined {
  if (outcome.kind !== "audit-trail") return undefined;
  const after = outcome.after ?? {};
  return defined({
    auditedRunId: field(text, after["auditedRunId"]) ?? outcome.targetId,
    auditedRunFinishedAt: field(text, after["auditedRunFinishedAt"]),
    expected: field(count, after["expected"]),
    found: field(count, after["found"]),
    missing: missingChanges(after["missing"]),
    missingTruncated: after["missingTruncated"] === true,
    queryId: field(text, after["queryId"]),
    windowStart: field(text, after["windowStart"]),
    windowEnd: field(text, after["windowEnd"]),
    notChecked: field(count, after["notChecked"]),
    permissionMissing: field(text, after["permissionMissing"]),
  });
}

/** The evidence of an `audit-activity` outcome; undefined for any other kind. */
export function auditActivityEvidence(outcome: Pick<TargetOutcome, "kind" | "after">): AuditActivityEvidence | undefined {
  if (outcome.kind !== "audit-activity") return undefined;
  const after = outcome.after ?? {};
  return defined({
    records: field(count, after["records"]),
    atLeast: after["atLeast"] === true,
    windowStart: field(text, after["windowStart"]),
    windowEnd: field(text, after["windowEnd"]),
    recordTypes: field(z.array(z.string()), after["recordTypes"]) ?? [],
    queryId: field(text, after["queryId"]),
    permissionMissing: field(text, after["permissionMissing"]),
  });
}

/** `3 of 5 changes found in the audit log`; `changes not counted` when the outcome carries no counts. */
export function trailCountLine(evidence: AuditTrailEvidence): string {
  if (evidence.expected === undefined || evidence.found === undefined) return "changes not counted";
  return `${evidence.found} of ${evidence.expected} ${evidence.expected === 1 ? "change" : "changes"} found in the audit log`;
}

type Verdict = Pick<TargetOutcome, "status" | "error">;

const plural = (count: number, word: string): string => `${count} ${count === 1 ? word : `${word}s`}`;

/**
 * One line on what the log showed of an audited run, for the outcome's status: `3 of 5 changes found in the audit
 * log`; `not checked` (no permission), `no changes to look for`; `the audit search failed` or `the audit search had
 * not finished` when nothing was read (their `found` is no count of anything).
 */
export function trailSummary(outcome: Verdict, evidence: AuditTrailEvidence): string {
  const notChecked = evidence.notChecked ? ` (${plural(evidence.notChecked, "more change")} not looked for)` : "";
  if (outcome.status === "not-applicable")
    return evidence.permissionMissing === undefined && evidence.expected === 0 ? "no changes to look for" : "not checked";
  const looked = evidence.expected === undefined ? "its changes" : plural(evidence.expected, "change");
  if (outcome.status === "failed" && outcome.error?.code !== "AuditTrailMissing")
    return `the audit search failed: ${looked} not looked for${notChecked}`;
  const read = evidence.missing.length > 0 || evidence.found === evidence.expected;
  if (outcome.status === "drift" && !read) return `the audit search had not finished: ${looked} to look for${notChecked}`;
  return `${trailCountLine(evidence)}${notChecked}`;
}

/** One line on the mailbox-activity count, for the outcome's status (a failed or unfinished search counted nothing). */
export function activitySummary(outcome: Verdict, evidence: AuditActivityEvidence): string {
  if (outcome.status === "not-applicable")
    return evidence.permissionMissing === undefined ? "not checked: no mailboxes known yet" : "not checked";
  if (outcome.status === "failed" && outcome.error?.code !== "AuditActivityMissing") return "the audit search failed";
  // Pending: a search that had not finished counted nothing; a count of zero is pending while auditing is off.
  if (outcome.status === "drift")
    return evidence.records === undefined ? "the audit search had not finished" : `${activityCountLine(evidence)}: pending while tenant-wide auditing is off`;
  return activityCountLine(evidence);
}

/** `1,234 mailbox audit records`, `at least 10,000 ...`; `not counted` when the outcome carries no count. */
export function activityCountLine(evidence: AuditActivityEvidence): string {
  if (evidence.records === undefined) return "mailbox audit records not counted";
  const records = evidence.records.toLocaleString("en-AU");
  return `${evidence.atLeast ? "at least " : ""}${records} mailbox audit ${evidence.records === 1 ? "record" : "records"}`;
}

/** `Set-Mailbox on adele@contoso.com (mailbox 0f0e...)`. */
export function missingChangeLine(change: MissingChange): string {
  const operations = change.operations.length > 0 ? change.operations.join(", ") : "a change";
  const who = change.displayName === change.targetId ? change.targetId : `${change.displayName} (${change.targetId})`;
  return `${operations} on ${change.kind} ${who}`;
}

/** What to grant when the evidence is not-applicable for want of a permission. */
export function grantHint(permission: string): string {
  return `grant the Microsoft Graph application permission ${permission} (infra/tenant-setup/Grant-TenantAccess.ps1 does it) and give admin consent`;
}
