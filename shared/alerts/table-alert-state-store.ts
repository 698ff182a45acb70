import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import { TARGET_KINDS } from "../domain/outcome";
import { storageStatus } from "../storage/errors";
import { createTableClient, tableCreator, type TableConnection } from "../storage/table-connection";
import { encodeKeyComponent } from "../storage/table-keys";
import type { AlertChannelName, AlertStateChanges, AlertTargetState } from "./alert-decision";
import type { AlertStateStore } from "./alert-state-store";

/**
 * `AlertStateStore` over Azure Table Storage: PartitionKey = tenant, RowKey = target key, both encoded by
 * `table-keys` (target keys contain `|` and ids may contain characters Table keys forbid); the readable key
 * is kept as a property. A tenant's state is one partition scan; writes are whole-row upserts in
 * transactions of at most 100.
 */

export const DEFAULT_ALERT_TABLE_NAME = "alerts";

export interface TableAlertStateStoreOptions {
  readonly connection: TableConnection;
  /** Default `alerts`. */
  readonly tableName?: string;
}

const MAX_TRANSACTION_ACTIONS = 100;
/** Readable names are for people; the key carries identity. */
const MAX_DISPLAY_NAME_LENGTH = 1024;

const CHANNELS = ["webhook", "email"] as const satisfies readonly AlertChannelName[];

const rowSchema = z.object({
  key: z.string(),
  kind: z.enum([...TARGET_KINDS, "run"]),
  targetId: z.string(),
  displayName: z.string(),
  failingSince: z.string().optional(),
  notifiedAt: z.string().transform((text, context) => {
    try {
      return z.partialRecord(z.enum(CHANNELS), z.string()).parse(JSON.parse(text));
    } catch {
      context.addIssue({ code: "custom", message: "notifiedAt is not a channel map" });
      return z.NEVER;
    }
  }),
});

export class TableAlertStateStore implements AlertStateStore {
  private readonly client: TableClient;
  private readonly ensureTable: () => Promise<void>;

  constructor(options: TableAlertStateStoreOptions) {
    this.client = createTableClient(options.connection, options.tableName ?? DEFAULT_ALERT_TABLE_NAME);
    this.ensureTable = tableCreator(this.client);
  }

  /** Rows that do not parse (written by something else) are skipped: the next run rewrites them. */
  async *list(tenantId: string): AsyncIterable<AlertTargetState> {
    await this.ensureTable();
    const entities = this.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${encodeKeyComponent(tenantId)}` },
    });
    for await (const entity of entities) {
      const row = rowSchema.safeParse(entity);
      if (!row.success) continue;
      const { failingSince, ...rest } = row.data;
      yield { ...rest, ...(failingSince !== undefined ? { failingSince } : {}) };
    }
  }

  async update(tenantId: string, changes: AlertStateChanges): Promise<void> {
    if (changes.put.length === 0 && changes.remove.length === 0) return;
    await this.ensureTable();
    const partitionKey = encodeKeyComponent(tenantId);
    const upserts: TransactionAction[] = changes.put.map((state) => [
      "upsert",
      {
        partitionKey,
        rowKey: encodeKeyComponent(state.key),
        tenantId,
        key: state.key,
        kind: state.kind,
        targetId: state.targetId,
        displayName: state.displayName.slice(0, MAX_DISPLAY_NAME_LENGTH),
        ...(state.failingSince !== undefined ? { failingSince: state.failingSince } : {}),
        notifiedAt: JSON.stringify(state.notifiedAt),
      },
      "Replace",
    ]);
    for (let start = 0; start < upserts.length; start += MAX_TRANSACTION_ACTIONS) {
      await this.client.submitTransaction(upserts.slice(start, start + MAX_TRANSACTION_ACTIONS));
    }
    // Deleted one by one: in a transaction, one row already gone (a concurrent run) would fail them all.
    for (const key of changes.remove) {
      try {
        await this.client.deleteEntity(partitionKey, encodeKeyComponent(key));
      } catch (error) {
        if (storageStatus(error) !== 404) throw error;
      }
    }
  }
}
