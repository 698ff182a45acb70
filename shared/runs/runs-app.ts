/**
 * The dependencies of run orchestration, built once per process from the configuration: the run state table, the
 * work queue, the alert state table, and one runtime (credential, Exchange transport and limiter, Graph client,
 * stores) per configured tenant, built on first use.
 */
import { TableAlertStateStore } from "../alerts/table-alert-state-store";
import type { AlertStateStore } from "../alerts/alert-state-store";
import { loadConfig, type AppConfig, type TenantConfig } from "../config";
import { configForTenant, createRuntime, type Runtime } from "../runtime";
import { QUEUE_NAMES, TABLE_NAMES } from "../storage/storage-layout";
import { RunStateStore } from "./run-state-store";
import { createWorkQueue, type WorkQueue } from "./work-queue";

export interface RunsApp {
  readonly config: AppConfig;
  readonly runState: RunStateStore;
  readonly queue: WorkQueue;
  readonly alertState: AlertStateStore;
  /** The configured tenant matching `tenantId` (case-insensitive), or undefined. */
  tenant(tenantId: string): TenantConfig | undefined;
  /** The tenant's runtime, built once. */
  runtimeFor(tenantId: string): Promise<Runtime>;
  now(): Date;
}

export interface RunsAppOptions {
  /** The leases' clock in every tenant's runtime (tests: expire a lease without waiting); default: the wall clock. */
  readonly leaseClock?: () => Date;
}

export async function createRunsApp(config: AppConfig, options: RunsAppOptions = {}): Promise<RunsApp> {
  if (!config.storage) throw new Error("Storage is not configured");
  const tenants = config.runs.tenants;
  const runtimeOptions = options.leaseClock ? { leaseClock: options.leaseClock } : {};
  const home = await createRuntime(configForTenant(config, tenants[0] ?? { tenantId: config.tenantId }), runtimeOptions);
  const runtimes = new Map<string, Promise<Runtime>>([[home.config.tenantId.toLowerCase(), Promise.resolve(home)]]);
  const find = (tenantId: string) => tenants.find((tenant) => tenant.tenantId.toLowerCase() === tenantId.toLowerCase());
  return {
    config,
    runState: new RunStateStore(home.tableConnection, TABLE_NAMES.runState),
    queue: createWorkQueue(config.storage, QUEUE_NAMES.workItems),
    alertState: new TableAlertStateStore({ connection: home.tableConnection, tableName: TABLE_NAMES.alerts }),
    tenant: find,
    runtimeFor(tenantId) {
      const tenant = find(tenantId);
      if (!tenant) return Promise.reject(new Error(`Tenant ${tenantId} is not configured`));
      const key = tenant.tenantId.toLowerCase();
      let runtime = runtimes.get(key);
      if (!runtime) {
        runtime = createRuntime(configForTenant(config, tenant), runtimeOptions);
        runtime.catch(() => runtimes.delete(key));
        runtimes.set(key, runtime);
      }
      return runtime;
    },
    now: () => new Date(),
  };
}

let shared: Promise<RunsApp> | undefined;
let sharedOptions: RunsAppOptions = {};

/** The process's orchestration dependencies, from `process.env` (Function handlers). */
export function runsApp(): Promise<RunsApp> {
  shared ??= createRunsApp(loadConfig(process.env), sharedOptions).catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** Forgets the process's dependencies, so the next `runsApp()` reads the environment again, built with `options` (tests). */
export function resetRunsApp(options: RunsAppOptions = {}): void {
  shared = undefined;
  sharedOptions = options;
}
