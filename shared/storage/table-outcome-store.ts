import {
  odata,
  type GetTableEntityResponse,
  type TableClient,
  type TableEntity,
  type TableEntityResult,
  type TransactionAction,
} from "@azure/data-tables";
import { createHash } from "node:crypto";
import { z } from "zod";
import { TARGET_KINDS, type FindingKind, type OutcomeStatus, type RunSummary, type TargetOutcome } from "../domain/outcome";
import {
  assertEntityWithinLimits,
  clipJson,
  clipString,
  entitySizeInBytes,
  MAX_ENTITY_SIZE_IN_BYTES,
  MAX_STRING_LENGTH,
  MAX_TRANSACTION_SIZE_IN_BYTES,
  type EntityShape,
} from "./entity-limits";
import { storageStatus, WatermarkConflictError } from "./errors";
import type {
  ListHistoryOptions,
  ListRunChangesOptions,
  ListRunsOptions,
  OutcomeStore,
  RecordedOutcome,
  TruncatableField,
  Watermark,
} from "./outcome-store";
import { compositeKey, invertedTimeKey, KEY_SEPARATOR } from "./table-keys";
import { DIGEST_ENTRY_CHARS, lastVerifiedAt, type DigestBucketSnapshot, type DigestBucketWrite, type RecordedDigestSnapshot } from "./recorded-digest";
import { FULL_SWEEP_WATERMARK } from "./watermark-names";
import { createTableClient, tableCreator, type TableConnection } from "./table-connection";

/**
 * `OutcomeStore` over Azure Table Storage.
 *
 * Layout (keys encoded by `table-keys`; readable values are properties):
 * - runs:       PK tenant | RK `id|<run>` (point read) and `time|<inverted start>|<run>` (newest-first list),
 *               both written in one transaction.
 * - latest:     PK `<tenant>|<bucket>` | RK `<kind>|<target>`, one of 64 buckets from the target id: the tenant's
 *               state is one query over the key range of its partitions; no single partition carries a whole
 *               tenant (Table's per-partition throughput, and Azurite, which slows as one partition grows).
 * - history:    PK `<tenant>|<bucket>` | RK `<target>|<inverted run start>|<run>|<kind>`, same buckets: one
 *               target's history is one key range of one partition, newest first, and a run's history rows are
 *               written as transactions per bucket (not one request per target).
 * - changes:    in the history table, PK `<tenant>|run|<run>` | RK `<kind>|<target>`: the run's `remediated`
 *               outcomes (the changes it made), one partition per run, so the audit-log evidence lists one run's
 *               changes with one partition query. Written with the history rows; never removed by a re-recording.
 * - watermarks: PK tenant | RK name.
 * - recorded-state digest (recorded-digest.ts), in the watermarks table: PK `<tenant>|recorded-digest` | RK `header`
 *               (the run that opened it, empty when closed) and `b000`…`b255`, one entity per bucket, its packed
 *               entries in properties `d0`, `d1`… of at most 31,968 characters; the whole digest is one partition
 *               query, and a run writes back only the buckets that changed, in transactions, the header last.
 * All keys are deterministic, and writes are upserts that replace the whole entity, so re-recording a run
 * rewrites the same rows.
 */

export interface OutcomeTableNames {
  readonly runs: string;
  readonly latest: string;
  readonly history: string;
  readonly watermarks: string;
}

export const DEFAULT_OUTCOME_TABLE_NAMES: OutcomeTableNames = {
  runs: "auditruns",
  latest: "auditlatest",
  history: "audithistory",
  watermarks: "auditwatermarks",
};

export interface TableOutcomeStoreOptions {
  readonly connection: TableConnection;
  readonly tableNames?: Partial<OutcomeTableNames>;
  /** Table requests in flight at once while recording outcomes; default 8. */
  readonly concurrency?: number;
}

const MAX_TRANSACTION_ACTIONS = 100;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 1000;
const DEFAULT_CHANGES_LIMIT = 500;
const MAX_CHANGES_LIMIT = 5000;
/** Readable identity properties are cut here; they are for people, the keys carry identity. */
const MAX_READABLE_LENGTH = 1024;

const RUN_ID_ROW = "id";
const RUN_TIME_ROW = "time";
/** The first character after `KEY_SEPARATOR`, bounding a RowKey prefix range. */
const AFTER_SEPARATOR = String.fromCharCode(KEY_SEPARATOR.charCodeAt(0) + 1);

type Table = { readonly client: TableClient; readonly ensure: () => Promise<void> };

export class TableOutcomeStore implements OutcomeStore {
  private readonly runs: Table;
  private readonly latest: Table;
  private readonly history: Table;
  private readonly watermarks: Table;
  private readonly concurrency: number;

  constructor(options: TableOutcomeStoreOptions) {
    const names = { ...DEFAULT_OUTCOME_TABLE_NAMES, ...options.tableNames };
    const table = (name: string): Table => {
      const client = createTableClient(options.connection, name);
      return { client, ensure: tableCreator(client) };
    };
    this.runs = table(names.runs);
    this.latest = table(names.latest);
    this.history = table(names.history);
    this.watermarks = table(names.watermarks);
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  async recordRun(summary: RunSummary): Promise<void> {
    await this.runs.ensure();
    const partitionKey = compositeKey(summary.tenantId);
    const idRowKey = compositeKey(RUN_ID_ROW, summary.runId);
    const properties = runProperties(summary);
    const idRow = { partitionKey, rowKey: idRowKey, ...properties };
    const timeRow = { partitionKey, rowKey: runTimeRowKey(summary.startedAt, summary.runId), ...properties };
    const actions: TransactionAction[] = [upsert(idRow), upsert(timeRow)];
    // A re-recorded run whose start time changed would otherwise leave its old time row behind.
    const previous = await getEntityOrUndefined(this.runs.client, partitionKey, idRowKey);
    if (previous && typeof previous["startedAt"] === "string" && previous["startedAt"] !== summary.startedAt) {
      actions.push(["delete", { partitionKey, rowKey: runTimeRowKey(previous["startedAt"], summary.runId) }]);
    }
    await this.runs.client.submitTransaction(actions);
  }

  async recordOutcomes(
    tenantId: string,
    runId: string,
    runStartedAt: string,
    outcomes: readonly TargetOutcome[],
  ): Promise<void> {
    const inverted = invertedTimeKey(runStartedAt);
    const unique = new Map<string, TargetOutcome>();
    for (const outcome of outcomes) unique.set(compositeKey(outcome.kind, outcome.targetId), outcome);
    if (unique.size === 0) return;
    await Promise.all([this.latest.ensure(), this.history.ensure()]);

    const latestRows: EntityShape[] = [];
    const historyRows: EntityShape[] = [];
    const changeRows: EntityShape[] = [];
    for (const [latestRowKey, outcome] of unique) {
      const properties = outcomeProperties(tenantId, runId, runStartedAt, outcome);
      const partitionKey = bucketPartition(tenantId, outcome.targetId);
      latestRows.push({ partitionKey, rowKey: latestRowKey, ...properties });
      historyRows.push({
        partitionKey,
        rowKey: `${compositeKey(outcome.targetId)}${KEY_SEPARATOR}${inverted}${KEY_SEPARATOR}${compositeKey(runId, outcome.kind)}`,
        ...properties,
      });
      if (outcome.status === "remediated") changeRows.push({ partitionKey: runChangesPartition(tenantId, runId), rowKey: latestRowKey, ...properties });
    }
    const writes = [
      ...transactionsOf(latestRows).map((rows) => () => writeRows(this.latest.client, rows)),
      ...transactionsOf([...historyRows, ...changeRows]).map((rows) => () => writeRows(this.history.client, rows)),
    ];
    await runWithConcurrency(writes, this.concurrency);
  }

  async *listLatest(tenantId: string): AsyncIterable<RecordedOutcome> {
    await this.latest.ensure();
    const [digest, fullSweep] = await Promise.all([this.loadRecordedDigest(tenantId), this.getWatermark(tenantId, FULL_SWEEP_WATERMARK)]);
    const entities = this.latest.client.listEntities<TableEntity>({
      // Every bucket of the tenant: `}` is the character after the `|` separator.
      queryOptions: { filter: odata`PartitionKey ge ${`${compositeKey(tenantId)}${KEY_SEPARATOR}`} and PartitionKey lt ${`${compositeKey(tenantId)}}`}` },
    });
    for await (const entity of entities) {
      const outcome = toRecordedOutcome(entity);
      yield { ...outcome, lastVerifiedAt: lastVerifiedAt(digest, fullSweep?.value || undefined, outcome) };
    }
  }

  async listHistory(tenantId: string, targetId: string, options: ListHistoryOptions = {}): Promise<RecordedOutcome[]> {
    await this.history.ensure();
    const partitionKey = bucketPartition(tenantId, targetId);
    // The target's rows are the key range `<target>|...`; `}` is the character after the `|` separator.
    const from = `${compositeKey(targetId)}${KEY_SEPARATOR}`;
    const to = `${compositeKey(targetId)}}`;
    const filter =
      options.kind === undefined
        ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${from} and RowKey lt ${to}`
        : odata`PartitionKey eq ${partitionKey} and RowKey ge ${from} and RowKey lt ${to} and kind eq ${options.kind}`;
    const entities = await firstEntities(this.history.client, filter, listLimit(options.limit));
    return entities.map(toRecordedOutcome);
  }

  async listRunChanges(tenantId: string, runId: string, options: ListRunChangesOptions = {}): Promise<RecordedOutcome[]> {
    await this.history.ensure();
    const filter = odata`PartitionKey eq ${runChangesPartition(tenantId, runId)}`;
    const limit = Math.min(MAX_CHANGES_LIMIT, Math.max(1, Math.floor(options.limit ?? DEFAULT_CHANGES_LIMIT)));
    const entities = await firstEntities(this.history.client, filter, limit);
    return entities.map(toRecordedOutcome);
  }

  async getRun(tenantId: string, runId: string): Promise<RunSummary | undefined> {
    await this.runs.ensure();
    const entity = await getEntityOrUndefined(
      this.runs.client,
      compositeKey(tenantId),
      compositeKey(RUN_ID_ROW, runId),
    );
    return entity && toRunSummary(entity);
  }

  async listRuns(tenantId: string, options: ListRunsOptions = {}): Promise<RunSummary[]> {
    await this.runs.ensure();
    const prefix = `${RUN_TIME_ROW}${KEY_SEPARATOR}`;
    const end = `${RUN_TIME_ROW}${AFTER_SEPARATOR}`;
    const filter = odata`PartitionKey eq ${compositeKey(tenantId)} and RowKey gt ${prefix} and RowKey lt ${end}`;
    const entities = await firstEntities(this.runs.client, filter, listLimit(options.limit));
    return entities.map(toRunSummary);
  }

  async getWatermark(tenantId: string, name: string): Promise<Watermark | undefined> {
    await this.watermarks.ensure();
    const entity = await getEntityOrUndefined(this.watermarks.client, compositeKey(tenantId), compositeKey(name));
    if (!entity) return undefined;
    return { value: z.string().parse(entity["value"]), etag: z.string().parse(entity.etag) };
  }

  async setWatermark(tenantId: string, name: string, value: string, etag?: string): Promise<string> {
    await this.watermarks.ensure();
    const entity = { partitionKey: compositeKey(tenantId), rowKey: compositeKey(name), tenantId, name, value };
    assertEntityWithinLimits(entity);
    if (etag === undefined) return requireEtag((await this.watermarks.client.upsertEntity(entity, "Replace")).etag);
    try {
      return requireEtag((await this.watermarks.client.updateEntity(entity, "Replace", { etag })).etag);
    } catch (error) {
      const status = storageStatus(error);
      if (status === 412 || status === 404) throw new WatermarkConflictError(tenantId, name, { cause: error });
      throw error;
    }
  }

  async loadRecordedDigest(tenantId: string): Promise<RecordedDigestSnapshot> {
    await this.watermarks.ensure();
    const buckets = new Map<number, DigestBucketSnapshot>();
    let openedBy: string | undefined;
    let headerEtag: string | undefined;
    const entities = this.watermarks.client.listEntities<TableEntity>({ queryOptions: { filter: odata`PartitionKey eq ${digestPartition(tenantId)}` } });
    for await (const entity of entities) {
      if (entity.rowKey === DIGEST_HEADER_ROW) {
        headerEtag = entity.etag;
        const opener = entity["openedBy"];
        if (typeof opener === "string" && opener !== "") openedBy = opener;
        continue;
      }
      const index = Number.parseInt((entity.rowKey ?? "").slice(1), 10);
      if (!Number.isInteger(index)) continue;
      let packed = "";
      for (let part = 0; typeof entity[`d${part}`] === "string"; part += 1) packed += entity[`d${part}`] as string;
      buckets.set(index, { packed, ...(entity.etag !== undefined ? { etag: entity.etag } : {}) });
    }
    return { buckets, ...(openedBy !== undefined ? { openedBy } : {}), ...(headerEtag !== undefined ? { headerEtag } : {}) };
  }

  async openRecordedDigest(tenantId: string, runId: string, headerEtag: string | undefined): Promise<string> {
    await this.watermarks.ensure();
    const entity = { partitionKey: digestPartition(tenantId), rowKey: DIGEST_HEADER_ROW, openedBy: runId };
    // Without an etag (no header yet, or a digest that could not be read) unconditionally: the lease keeps runs apart.
    const response = headerEtag === undefined ? await this.watermarks.client.upsertEntity(entity, "Replace") : await this.watermarks.client.updateEntity(entity, "Replace", { etag: headerEtag });
    return requireEtag(response.etag);
  }

  async commitRecordedDigest(tenantId: string, buckets: readonly DigestBucketWrite[], headerEtag: string | undefined): Promise<void> {
    await this.watermarks.ensure();
    const partitionKey = digestPartition(tenantId);
    const actions: { action: TransactionAction; size: number }[] = buckets.map((bucket) => {
      const entity = bucketEntity(partitionKey, bucket);
      const action: TransactionAction = bucket.etag === undefined ? ["create", entity] : ["update", entity, "Replace", { etag: bucket.etag }];
      return { action, size: entitySizeInBytes(entity) };
    });
    const header = { partitionKey, rowKey: DIGEST_HEADER_ROW, openedBy: "" };
    actions.push({ action: headerEtag === undefined ? ["upsert", header, "Replace"] : ["update", header, "Replace", { etag: headerEtag }], size: entitySizeInBytes(header) });
    // One partition: transactions of at most 100 actions and the body limit, in order, the header in the last.
    let current: TransactionAction[] = [];
    let currentSize = 0;
    for (const { action, size } of actions) {
      if (current.length === MAX_TRANSACTION_ACTIONS || (current.length > 0 && currentSize + size > MAX_TRANSACTION_SIZE_IN_BYTES)) {
        await this.watermarks.client.submitTransaction(current);
        current = [];
        currentSize = 0;
      }
      current.push(action);
      currentSize += size;
    }
    if (current.length > 0) await this.watermarks.client.submitTransaction(current);
  }
}

const DIGEST_HEADER_ROW = "header";
/** A multiple of the entry width below the property limit: entries are never split across properties. */
const DIGEST_PART_CHARS = Math.floor(MAX_STRING_LENGTH / DIGEST_ENTRY_CHARS) * DIGEST_ENTRY_CHARS;
/** Parts per bucket entity, within the 1 MiB entity limit; entries past it are dropped (they are re-recorded). */
const MAX_DIGEST_PARTS = Math.floor((MAX_ENTITY_SIZE_IN_BYTES - 4096) / (DIGEST_PART_CHARS * 2 + 32));

function digestPartition(tenantId: string): string {
  return compositeKey(tenantId, "recorded-digest");
}

function bucketEntity(partitionKey: string, bucket: DigestBucketWrite): TableEntity & EntityShape {
  const entity: Record<string, string | number> = { partitionKey, rowKey: `b${String(bucket.index).padStart(3, "0")}` };
  const parts = Math.min(MAX_DIGEST_PARTS, Math.ceil(bucket.packed.length / DIGEST_PART_CHARS));
  for (let part = 0; part < parts; part += 1) entity[`d${part}`] = bucket.packed.slice(part * DIGEST_PART_CHARS, (part + 1) * DIGEST_PART_CHARS);
  entity["entries"] = Math.floor(Math.min(bucket.packed.length, parts * DIGEST_PART_CHARS) / DIGEST_ENTRY_CHARS);
  const shaped = entity as TableEntity & EntityShape;
  assertEntityWithinLimits(shaped);
  return shaped;
}

function runTimeRowKey(startedAt: string, runId: string): string {
  return `${RUN_TIME_ROW}${KEY_SEPARATOR}${invertedTimeKey(startedAt)}${KEY_SEPARATOR}${compositeKey(runId)}`;
}

function listLimit(limit: number | undefined): number {
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit ?? DEFAULT_LIST_LIMIT)));
}

function requireEtag(etag: string | undefined): string {
  if (etag === undefined) throw new Error("Table Storage returned no etag for a write");
  return etag;
}

function upsert(entity: EntityShape): TransactionAction {
  assertEntityWithinLimits(entity);
  return ["upsert", withoutUndefined(entity), "Replace"];
}

function withoutUndefined(entity: EntityShape): TableEntity {
  return Object.fromEntries(Object.entries(entity).filter(([, value]) => value !== undefined)) as TableEntity;
}

async function writeRows(client: TableClient, rows: readonly EntityShape[]): Promise<void> {
  const [only] = rows;
  if (rows.length === 1 && only) {
    assertEntityWithinLimits(only);
    await client.upsertEntity(withoutUndefined(only), "Replace");
    return;
  }
  await client.submitTransaction(rows.map(upsert));
}

/** Splits rows into transactions: one partition each, at most 100 actions and within the body size limit. */
const BUCKETS = 64;

/** The partition of one run's changes (remediated outcomes), in the history table; never a bucket's (`b..`). */
function runChangesPartition(tenantId: string, runId: string): string {
  return compositeKey(tenantId, "run", runId);
}

/** The latest-state and history partition of a target: the tenant and one of 64 buckets from a hash of its id. */
function bucketPartition(tenantId: string, targetId: string): string {
  const bucket = createHash("sha256").update(targetId, "utf8").digest()[0]! % BUCKETS;
  return compositeKey(tenantId, `b${bucket.toString(16).padStart(2, "0")}`);
}

function transactionsOf(rows: readonly EntityShape[]): EntityShape[][] {
  const byPartition = new Map<string, EntityShape[]>();
  for (const row of rows) {
    const partition = byPartition.get(row.partitionKey);
    if (partition) partition.push(row);
    else byPartition.set(row.partitionKey, [row]);
  }
  const transactions: EntityShape[][] = [];
  for (const partition of byPartition.values()) {
    let current: EntityShape[] = [];
    let currentSize = 0;
    for (const row of partition) {
      const size = entitySizeInBytes(row);
      if (
        current.length === MAX_TRANSACTION_ACTIONS ||
        (current.length > 0 && currentSize + size > MAX_TRANSACTION_SIZE_IN_BYTES)
      ) {
        transactions.push(current);
        current = [];
        currentSize = 0;
      }
      current.push(row);
      currentSize += size;
    }
    if (current.length > 0) transactions.push(current);
  }
  return transactions;
}

async function runWithConcurrency(tasks: readonly (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (task) await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

async function getEntityOrUndefined(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<GetTableEntityResponse<TableEntityResult<Record<string, unknown>>> | undefined> {
  try {
    return await client.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (storageStatus(error) === 404) return undefined;
    throw error;
  }
}

/** The first `limit` entities of a query, in key order, reading no more pages than needed. */
async function firstEntities(client: TableClient, filter: string, limit: number): Promise<TableEntity[]> {
  const result: TableEntity[] = [];
  const pages = client.listEntities<TableEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(limit, MAX_LIST_LIMIT) });
  for await (const page of pages) {
    for (const entity of page) {
      result.push(entity);
      if (result.length === limit) return result;
    }
  }
  return result;
}

function outcomeProperties(
  tenantId: string,
  runId: string,
  runStartedAt: string,
  outcome: TargetOutcome,
): Record<string, string | number | undefined> {
  const truncated: TruncatableField[] = [];
  const text = (field: TruncatableField, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const clipped = clipString(value, MAX_READABLE_LENGTH);
    if (clipped.truncated) truncated.push(field);
    return clipped.value;
  };
  const json = (field: TruncatableField, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    const clipped = clipJson(value);
    if (clipped.truncated) truncated.push(field);
    return clipped.value;
  };
  const properties = {
    tenantId: clipString(tenantId, MAX_READABLE_LENGTH).value,
    runId: clipString(runId, MAX_READABLE_LENGTH).value,
    runStartedAt,
    kind: outcome.kind,
    targetId: text("targetId", outcome.targetId),
    displayName: text("displayName", outcome.displayName),
    status: outcome.status,
    recipientType: text("recipientType", outcome.recipientType),
    findingCount: outcome.findings.length,
    findingsJson: json("findings", outcome.findings),
    beforeJson: json("before", outcome.before),
    afterJson: json("after", outcome.after),
    errorJson: json("error", outcome.error),
  };
  return { ...properties, truncated: truncated.join(",") };
}

const STATUSES: Record<OutcomeStatus, true> = {
  compliant: true,
  remediated: true,
  drift: true,
  exempt: true,
  "not-applicable": true,
  failed: true,
};
const FINDING_KINDS: Record<FindingKind, true> = {
  drift: true,
  substitution: true,
  "licence-gap": true,
  exemption: true,
  "custom-audit-set": true,
  hazard: true,
  pending: true,
};
const TRUNCATABLE: Record<TruncatableField, true> = {
  targetId: true,
  displayName: true,
  recipientType: true,
  findings: true,
  before: true,
  after: true,
  error: true,
};

const oneOf = <T extends string>(values: Record<T, true>) =>
  z.string().refine((value): value is T => Object.hasOwn(values, value), "unknown value") as unknown as z.ZodType<T>;

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, context): z.output<T> => {
    try {
      return schema.parse(JSON.parse(text));
    } catch (error) {
      context.addIssue({ code: "custom", message: `invalid stored JSON: ${String(error)}` });
      return z.NEVER;
    }
  });

const recordSchema = z.record(z.string(), z.unknown());
const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  requestId: z.string().optional(),
  status: z.number().optional(),
});
const findingSchema = z.object({
  kind: z.string(),
  setting: z.string(),
  current: z.unknown().optional(),
  desired: z.unknown().optional(),
  message: z.string(),
});

const outcomeEntitySchema = z.object({
  tenantId: z.string(),
  runId: z.string(),
  runStartedAt: z.string(),
  kind: z.enum(TARGET_KINDS),
  targetId: z.string(),
  displayName: z.string(),
  status: oneOf(STATUSES),
  recipientType: z.string().optional(),
  findingsJson: jsonOf(z.array(findingSchema)),
  beforeJson: jsonOf(recordSchema).optional(),
  afterJson: jsonOf(recordSchema).optional(),
  errorJson: jsonOf(errorSchema).optional(),
  truncated: z.string().optional(),
});

function toRecordedOutcome(entity: object): RecordedOutcome {
  const stored = outcomeEntitySchema.parse(entity);
  const truncated = (stored.truncated ?? "")
    .split(",")
    .filter((field): field is TruncatableField => Object.hasOwn(TRUNCATABLE, field));
  return {
    tenantId: stored.tenantId,
    runId: stored.runId,
    runStartedAt: stored.runStartedAt,
    kind: stored.kind,
    targetId: stored.targetId,
    displayName: stored.displayName,
    status: stored.status,
    findings: stored.findingsJson as RecordedOutcome["findings"],
    ...(stored.recipientType !== undefined && { recipientType: stored.recipientType }),
    ...(stored.beforeJson !== undefined && { before: stored.beforeJson }),
    ...(stored.afterJson !== undefined && { after: stored.afterJson }),
    ...(stored.errorJson !== undefined && { error: stored.errorJson }),
    truncated,
  };
}

function runProperties(summary: RunSummary): Record<string, string | number | undefined> {
  return {
    tenantId: summary.tenantId,
    runId: summary.runId,
    mode: summary.mode,
    scope: summary.scope,
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    durationInMs: summary.durationInMs,
    countsJson: JSON.stringify(summary.counts),
    findingCountsJson: summary.findingCounts === undefined ? undefined : JSON.stringify(summary.findingCounts),
    exchangeCallsJson: JSON.stringify(summary.exchangeCalls),
    graphCallsJson: summary.graphCalls === undefined ? undefined : JSON.stringify(summary.graphCalls),
    errorJson: summary.error === undefined ? undefined : clipJson(summary.error).value,
    triggerJson: summary.trigger === undefined ? undefined : clipJson(summary.trigger).value,
    changesHeldBack: summary.changesHeldBack,
  };
}

const runEntitySchema = z.object({
  tenantId: z.string(),
  runId: z.string(),
  mode: z.enum(["plan", "apply"]),
  scope: z.enum(["incremental", "full", "mailboxes"]),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationInMs: z.number(),
  countsJson: jsonOf(z.record(oneOf(STATUSES), z.number())),
  findingCountsJson: jsonOf(z.partialRecord(oneOf(FINDING_KINDS), z.number())).optional(),
  exchangeCallsJson: jsonOf(z.record(z.string(), z.number())),
  graphCallsJson: jsonOf(z.record(z.string(), z.number())).optional(),
  errorJson: jsonOf(errorSchema).optional(),
  triggerJson: jsonOf(z.object({ kind: z.enum(["timer", "http", "cli"]), by: z.string().optional() })).optional(),
  changesHeldBack: z.number().optional(),
});

function toRunSummary(entity: object): RunSummary {
  const stored = runEntitySchema.parse(entity);
  return {
    runId: stored.runId,
    tenantId: stored.tenantId,
    mode: stored.mode,
    scope: stored.scope,
    startedAt: stored.startedAt,
    finishedAt: stored.finishedAt,
    durationInMs: stored.durationInMs,
    counts: stored.countsJson,
    ...(stored.findingCountsJson !== undefined && { findingCounts: stored.findingCountsJson }),
    exchangeCalls: stored.exchangeCallsJson,
    ...(stored.graphCallsJson !== undefined && { graphCalls: stored.graphCallsJson }),
    ...(stored.errorJson !== undefined && { error: stored.errorJson }),
    ...(stored.triggerJson !== undefined && { trigger: stored.triggerJson }),
    ...(stored.changesHeldBack !== undefined && { changesHeldBack: stored.changesHeldBack }),
  };
}
