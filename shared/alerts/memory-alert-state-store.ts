import type { AlertStateChanges, AlertTargetState } from "./alert-decision";
import type { AlertStateStore } from "./alert-state-store";

/** `AlertStateStore` in process memory: for the CLI's local runs and for tests. */
export class MemoryAlertStateStore implements AlertStateStore {
  private readonly tenants = new Map<string, Map<string, AlertTargetState>>();

  // eslint-disable-next-line @typescript-eslint/require-await -- memory has nothing to wait for; the port is async
  async *list(tenantId: string): AsyncIterable<AlertTargetState> {
    // A snapshot, so updates made while a caller iterates do not disturb it.
    yield* [...(this.tenants.get(tenantId)?.values() ?? [])];
  }

  update(tenantId: string, changes: AlertStateChanges): Promise<void> {
    let rows = this.tenants.get(tenantId);
    if (!rows) this.tenants.set(tenantId, (rows = new Map<string, AlertTargetState>()));
    for (const state of changes.put) rows.set(state.key, state);
    for (const key of changes.remove) rows.delete(key);
    return Promise.resolve();
  }
}
