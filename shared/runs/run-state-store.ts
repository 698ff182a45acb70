/**
 * Run orchestration state in Table Storage (table `runstate`):
 * - one row per run (partition: tenant; row: run id): request, status, item count, final summary;
 * - per run (partition: tenant|run id): one completion row per work item (`item|<id>`, created once: a redelivered
 *   item finds its row and does nothing) and the `finalised` claim, created once so that of two workers finishing
 *   together exactly one finalises.
 */
import { randomUUID } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { FindingKind, OutcomeError, OutcomeStatus, RunMode, RunSummary } from "../domain/outcome";
import type { WatermarkState } from "../reconcile/finish";
import { storageStatus } from "../storage/errors";
import { createTableClient, tableCreator, type TableConnection } from "../storage/table-connection";
import { compositeKey } from "../storage/table-keys";

export type RunStatus =
  /** Accepted; the lease is held; the run message is on the queue. */
  | "queued"
  /** Observing and planning (and fanning changes out). */
  | "running"
  /** Observation done; `itemCount` work items are being applied. */
  | "dispatched"
  | "completed"
  | "failed"
  /** Superseded: its lease expired and another run of the tenant started. */
  | "abandoned";

export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "dispatched"];

export interface RunRecord {
  readonly tenantId: string;
  readonly runId: string;
  readonly status: RunStatus;
  readonly trigger: "http" | "timer";
  /** Who asked for an on-demand run (the caller's Entra object id, or "function key"). */
  readonly requestedBy?: string;
  readonly mode: RunMode;
  readonly full: boolean;
  /** Named mailboxes; undefined = the whole tenant. */
  readonly mailboxes?: readonly string[];
  /** Most targets the run may change; undefined = unlimited. */
  readonly changeLimit?: number;
  readonly requestedAt: string;
  readonly startedAt?: string;
  /** Work items to wait for (known once the run is dispatched). */
  readonly itemCount?: number;
  readonly deferredChanges?: number;
  /** The observing part's summary while dispatched; the whole run's once finished. */
  readonly summary?: RunSummary;
  /** The watermarks as the run read them and whether its audit part lets them advance (for the finaliser). */
  readonly watermarks?: WatermarkState;
  readonly error?: OutcomeError;
}

export interface ItemResult {
  readonly counts: Readonly<Record<OutcomeStatus, number>>;
  readonly findingCounts: Readonly<Partial<Record<FindingKind, number>>>;
  /** The worker's recorded-state digest entries (packed), for the finaliser to adopt; kept only when they fit one property. */
  readonly digestEntries?: string;
}

/** Strings in a Table property hold at most 32K UTF-16 characters: long lists are split over several. */
const CHUNK_CHARS = 30_000;
const MAX_CHUNKS = 20;

function runKeys(tenantId: string, runId: string) {
  return { partitionKey: compositeKey(tenantId), rowKey: compositeKey(runId) };
}

function itemPartition(tenantId: string, runId: string): string {
  return compositeKey(tenantId, runId);
}

function toEntity(record: Partial<RunRecord>): Record<string, unknown> {
  const { mailboxes, summary, error, watermarks, ...plain } = record;
  const entity: Record<string, unknown> = { ...plain };
  if (mailboxes) {
    const text = JSON.stringify(mailboxes);
    const chunks = Math.ceil(text.length / CHUNK_CHARS);
    if (chunks > MAX_CHUNKS) throw new RangeError("Too many mailboxes to record with the run");
    for (let index = 0; index < chunks; index++) entity[`mailboxes${index}`] = text.slice(index * CHUNK_CHARS, (index + 1) * CHUNK_CHARS);
  }
  if (summary) entity["summary"] = JSON.stringify(summary);
  if (watermarks) entity["watermarks"] = JSON.stringify(watermarks);
  if (error) entity["error"] = JSON.stringify(error);
  return entity;
}

function fromEntity(entity: Record<string, unknown>): RunRecord & { etag: string } {
  let mailboxText = "";
  for (let index = 0; typeof entity[`mailboxes${index}`] === "string"; index++) mailboxText += String(entity[`mailboxes${index}`]);
  const text = (name: string) => (typeof entity[name] === "string" ? String(entity[name]) : undefined);
  const number = (name: string) => (typeof entity[name] === "number" ? Number(entity[name]) : undefined);
  const startedAt = text("startedAt");
  const itemCount = number("itemCount");
  const changeLimit = number("changeLimit");
  const deferredChanges = number("deferredChanges");
  const summary = text("summary");
  const watermarks = text("watermarks");
  const error = text("error");
  return {
    tenantId: String(entity["tenantId"]),
    runId: String(entity["runId"]),
    status: String(entity["status"]) as RunStatus,
    trigger: String(entity["trigger"]) as RunRecord["trigger"],
    mode: String(entity["mode"]) as RunMode,
    full: entity["full"] === true,
    requestedAt: String(entity["requestedAt"]),
    ...(typeof entity["requestedBy"] === "string" ? { requestedBy: entity["requestedBy"] } : {}),
    ...(mailboxText ? { mailboxes: JSON.parse(mailboxText) as string[] } : {}),
    ...(changeLimit !== undefined ? { changeLimit } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(itemCount !== undefined ? { itemCount } : {}),
    ...(deferredChanges !== undefined ? { deferredChanges } : {}),
    ...(summary ? { summary: JSON.parse(summary) as RunSummary } : {}),
    ...(watermarks ? { watermarks: JSON.parse(watermarks) as WatermarkState } : {}),
    ...(error ? { error: JSON.parse(error) as OutcomeError } : {}),
    etag: String(entity["etag"]),
  };
}

export class RunStateStore {
  private readonly client: TableClient;
  private readonly ensure: () => Promise<void>;

  constructor(connection: TableConnection, tableName: string) {
    this.client = createTableClient(connection, tableName);
    this.ensure = tableCreator(this.client);
  }

  async create(record: RunRecord): Promise<void> {
    await this.ensure();
    await this.client.createEntity({ ...runKeys(record.tenantId, record.runId), ...toEntity(record) });
  }

  async get(tenantId: string, runId: string): Promise<(RunRecord & { etag: string }) | undefined> {
    await this.ensure();
    try {
      const { partitionKey, rowKey } = runKeys(tenantId, runId);
      return fromEntity(await this.client.getEntity<Record<string, unknown>>(partitionKey, rowKey));
    } catch (error) {
      if (storageStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** A run by id in any of `tenantIds` (for `GET /api/runs/{id}`): one point read per tenant, never a table scan. */
  async find(tenantIds: readonly string[], runId: string): Promise<(RunRecord & { etag: string }) | undefined> {
    for (const tenantId of tenantIds) {
      const record = await this.get(tenantId, runId);
      if (record) return record;
    }
    return undefined;
  }

  /** Merges `patch` into the run's row; with `etag`, only if unchanged since read (412 otherwise). */
  async update(tenantId: string, runId: string, patch: Partial<Omit<RunRecord, "tenantId" | "runId">>, etag?: string): Promise<void> {
    await this.client.updateEntity({ ...runKeys(tenantId, runId), ...toEntity(patch) }, "Merge", etag ? { etag } : {});
  }

  /** The tenant's runs that are not finished. */
  async listActive(tenantId: string): Promise<(RunRecord & { etag: string })[]> {
    await this.ensure();
    const runs: (RunRecord & { etag: string })[] = [];
    const partitionKey = compositeKey(tenantId);
    const filter = odata`PartitionKey eq ${partitionKey} and (status eq 'queued' or status eq 'running' or status eq 'dispatched')`;
    for await (const entity of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) runs.push(fromEntity(entity));
    return runs;
  }

  /**
   * Registers a work item the run dispatches, before it is sent (created once: a re-dispatch of the same targets finds
   * it). The run completes only when every registered item has its completion row.
   */
  async registerItem(tenantId: string, runId: string, itemId: string, targetIds: readonly string[]): Promise<void> {
    await this.ensure();
    try {
      await this.client.createEntity({ partitionKey: itemPartition(tenantId, runId), rowKey: compositeKey("dispatched", itemId), itemId, targetIds: JSON.stringify(targetIds) });
    } catch (error) {
      if (storageStatus(error) !== 409) throw error;
    }
  }

  /** The targets of a registered work item, or undefined when the run never dispatched it. */
  async registeredItem(tenantId: string, runId: string, itemId: string): Promise<readonly string[] | undefined> {
    await this.ensure();
    try {
      const entity = await this.client.getEntity<Record<string, unknown>>(itemPartition(tenantId, runId), compositeKey("dispatched", itemId));
      return JSON.parse(String(entity["targetIds"])) as string[];
    } catch (error) {
      if (storageStatus(error) === 404) return undefined;
      throw error;
    }
  }

  /** Registered work items that have no completion row yet, with their targets. */
  async pendingItems(tenantId: string, runId: string): Promise<{ itemId: string; targetIds: string[] }[]> {
    await this.ensure();
    const partitionKey = itemPartition(tenantId, runId);
    const done = new Set<string>();
    const dispatched: { itemId: string; targetIds: string[] }[] = [];
    for await (const entity of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) {
      const itemId = typeof entity["itemId"] === "string" ? entity["itemId"] : "";
      if (String(entity.rowKey).startsWith("item|")) done.add(itemId);
      else if (String(entity.rowKey).startsWith("dispatched|")) dispatched.push({ itemId, targetIds: JSON.parse(String(entity["targetIds"])) as string[] });
    }
    return dispatched.filter((item) => !done.has(item.itemId));
  }

  /** Records a work message that was not acted on (malformed, unknown run or tenant, never dispatched), for audit. */
  async recordRejected(entry: { readonly reason: string; readonly tenantId?: string; readonly runId?: string; readonly itemId?: string; readonly at: string }): Promise<void> {
    await this.ensure();
    const fields = Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== undefined));
    await this.client.createEntity({ partitionKey: "rejected", rowKey: compositeKey(entry.at, randomUUID()), ...fields });
  }

  /** Records a work item's completion once; false when it was already recorded. */
  async recordItem(tenantId: string, runId: string, itemId: string, result: ItemResult): Promise<boolean> {
    await this.ensure();
    try {
      await this.client.createEntity({
        partitionKey: itemPartition(tenantId, runId),
        rowKey: compositeKey("item", itemId),
        itemId,
        counts: JSON.stringify(result.counts),
        findingCounts: JSON.stringify(result.findingCounts),
        // Entries that do not fit are left out: those targets are recorded again by the next run (never hidden).
        ...(result.digestEntries && result.digestEntries.length <= CHUNK_CHARS ? { digestEntries: result.digestEntries } : {}),
      });
      return true;
    } catch (error) {
      if (storageStatus(error) === 409) return false;
      throw error;
    }
  }

  async hasItem(tenantId: string, runId: string, itemId: string): Promise<boolean> {
    await this.ensure();
    try {
      await this.client.getEntity(itemPartition(tenantId, runId), compositeKey("item", itemId));
      return true;
    } catch (error) {
      if (storageStatus(error) === 404) return false;
      throw error;
    }
  }

  async listItems(tenantId: string, runId: string): Promise<ItemResult[]> {
    await this.ensure();
    const partitionKey = itemPartition(tenantId, runId);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge 'item|' and RowKey lt 'item}'`;
    const items: ItemResult[] = [];
    for await (const entity of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const digestEntries = entity["digestEntries"];
      items.push({
        counts: JSON.parse(String(entity["counts"])) as ItemResult["counts"],
        findingCounts: JSON.parse(String(entity["findingCounts"])) as ItemResult["findingCounts"],
        ...(typeof digestEntries === "string" ? { digestEntries } : {}),
      });
    }
    return items;
  }

  /** Claims the run's finalisation; true for exactly one caller. */
  async claimFinalise(tenantId: string, runId: string): Promise<boolean> {
    await this.ensure();
    try {
      await this.client.createEntity({ partitionKey: itemPartition(tenantId, runId), rowKey: "finalised" });
      return true;
    } catch (error) {
      if (storageStatus(error) === 409) return false;
      throw error;
    }
  }
}
