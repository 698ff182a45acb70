import type { AlertStateChanges, AlertTargetState } from "./alert-decision";

/**
 * Port: the alert state of each tenant (one `AlertTargetState` per target that failed and is not yet
 * settled). `TableAlertStateStore` keeps it in Table Storage; `MemoryAlertStateStore` in memory.
 */
export interface AlertStateStore {
  /** Every state row of the tenant, in no particular order. */
  list(tenantId: string): AsyncIterable<AlertTargetState>;
  /** Writes `put` (replacing whole rows) and deletes `remove`; deleting a missing row is not an error. */
  update(tenantId: string, changes: AlertStateChanges): Promise<void>;
}
