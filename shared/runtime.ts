/**
 * The composition root: turns the validated configuration into the production clients (credential, Exchange
 * transport, Graph client, Table Storage stores) and the services one enforcement run needs. The CLI, every
 * Function and the end-to-end tests build their dependencies here, so all of them run the production path.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { Logger } from "pino";
import { defaultAuditPolicy, parseAuditPolicy, type AuditPolicy } from "./audit";
import type { CaptureGraphPort } from "./capture/run-capture";
import type { AppConfig, TenantConfig } from "./config";
import { appIdentityCredential, createCredential, readExtraCaPem } from "./credentials";
import type { EnforcementServices } from "./enforcement";
import { GraphClient } from "./graph/client";
import { GraphError } from "./graph/errors";
import { RestExchangeTransport, type ExchangeCall } from "./exchange/rest-transport";
import { graphLicenceSource } from "./licences";
import { graphAuditSearch } from "./evidence/graph-audit-search";
import { DEFAULT_EVIDENCE_LIMITS } from "./evidence/verdicts";
import type { AuditLogger } from "./audit/ports";
import { TableLeaseStore } from "./storage/table-lease";
import { MemoryOutcomeStore } from "./storage/memory-outcome-store";
import type { OutcomeStore } from "./storage/outcome-store";
import { TableOutcomeStore } from "./storage/table-outcome-store";
import type { TableConnection } from "./storage/table-connection";
import { TABLE_NAMES } from "./storage/storage-layout";
import { readFile } from "node:fs/promises";

export interface Runtime {
  readonly config: AppConfig;
  readonly credential: TokenCredential;
  readonly transport: RestExchangeTransport;
  readonly graph: GraphClient;
  /** Table Storage; in memory when no storage is configured (the CLI only: nothing outlives the process). */
  readonly store: OutcomeStore;
  readonly leases: TableLeaseStore;
  readonly tableConnection: TableConnection;
  readonly auditPolicy: AuditPolicy;
  /** The services of one enforcement run (a fresh licence cache per run). */
  enforcementServices(logger?: AuditLogger): EnforcementServices;
}

export interface RuntimeOptions {
  /** Called after every Exchange HTTP call (logging, accounting); default: a debug line on `logger`. */
  readonly onExchangeCall?: (call: ExchangeCall) => void;
  /** Receives one debug line per Exchange call: cmdlet, status, duration, client-request-id and Exchange's request-id. */
  readonly logger?: Pick<Logger, "debug">;
  /** The leases' clock (tests advance it instead of waiting for a lease to expire); default: the wall clock. */
  readonly leaseClock?: () => Date;
  /** The Exchange transport's wait before a retry, from the wait it decided (tests shorten it; default: as decided). */
  readonly exchangeRetryDelay?: (decidedDelayInMs: number) => number;
}

function storageConnection(config: AppConfig): TableConnection {
  const storage = config.storage;
  if (!storage) throw new Error("Table Storage is not configured (AzureWebJobsStorage or AzureWebJobsStorage__tableServiceUri).");
  if (storage.kind === "connectionString") return { connectionString: storage.connectionString };
  const credential = appIdentityCredential({ managedIdentity: storage.clientId !== undefined, clientId: storage.clientId });
  return { endpoint: storage.tableServiceUri, credential };
}

/** The policy file (or the shipped baseline) with the app settings' overrides applied, validated again. */
async function loadAuditPolicy(config: AppConfig): Promise<AuditPolicy> {
  const policy = config.auditPolicyPath
    ? parseAuditPolicy(JSON.parse(await readFile(config.auditPolicyPath, "utf8")) as unknown)
    : defaultAuditPolicy();
  return parseAuditPolicy({
    ...policy,
    mailboxes: { ...policy.mailboxes, minimumAuditLogAgeInDays: config.auditLogAgeLimitDays ?? policy.mailboxes.minimumAuditLogAgeInDays },
    scan: { ...policy.scan, fullSweepIntervalInDays: config.fullSweepIntervalDays ?? policy.scan.fullSweepIntervalInDays },
  });
}

/** Adapts the Graph client to the capture's port: a 404 means the account is unknown. */
function captureGraphPort(graph: GraphClient): CaptureGraphPort {
  return {
    async getUser(userId) {
      try {
        const user = await graph.getUser(userId, { select: ["id", "accountEnabled", "userPrincipalName"] });
        return { id: user.id, accountEnabled: user.accountEnabled ?? true };
      } catch (error) {
        if (error instanceof GraphError && error.status === 404) return undefined;
        throw error;
      }
    },
    blockSignIn: (userId) => graph.updateUser(userId, { accountEnabled: false }),
  };
}

/**
 * The configuration of one managed tenant: the app's own credential (the managed identity, home tenant only), or
 * the tenant's app registration with its PEM certificate read from the app's Key Vault.
 */
export function configForTenant(config: AppConfig, tenant: TenantConfig): AppConfig {
  if (!tenant.appCredential) return { ...config, tenantId: tenant.tenantId };
  if (!config.runs.keyVaultUrl) throw new Error(`Tenant ${tenant.tenantId} has an app certificate but KEY_VAULT_URL is not set`);
  // The managed identity acts only in its home tenant: this tenant uses its app registration instead.
  const rest: AppConfig = { ...config };
  delete (rest as { managedIdentity?: unknown }).managedIdentity;
  return {
    ...rest,
    tenantId: tenant.tenantId,
    azureClientId: tenant.appCredential.clientId,
    certificate: { kind: "keyVault", vaultUrl: config.runs.keyVaultUrl, secretName: tenant.appCredential.certificateSecretName },
  };
}

function tableStores(tableConnection: TableConnection, leaseClock?: () => Date) {
  return {
    tableConnection,
    store: new TableOutcomeStore({
      connection: tableConnection,
      tableNames: { runs: TABLE_NAMES.runs, latest: TABLE_NAMES.latest, history: TABLE_NAMES.history, watermarks: TABLE_NAMES.watermarks },
    }),
    leases: new TableLeaseStore({ connection: tableConnection, tableName: TABLE_NAMES.leases, ...(leaseClock ? { now: leaseClock } : {}) }),
  };
}

/** Builds the production clients from the configuration. */
export async function createRuntime(config: AppConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  // On first use: a reader with storage access only (mailbox-audit report) needs no Exchange credential.
  const credential = lazyCredential(() => createCredential(config));
  const extraCaPem = await readExtraCaPem(config);
  const common = { tenantId: config.tenantId, credential, ...(extraCaPem ? { extraCaPem } : {}) };
  const transport = new RestExchangeTransport({
    ...common,
    baseUrl: config.exchangeBaseUrl,
    maxConcurrency: config.exchangeMaxConcurrency,
    ...(options.exchangeRetryDelay ? { retryDelay: options.exchangeRetryDelay } : {}),
    ...(options.onExchangeCall || options.logger
      ? { onCall: options.onExchangeCall ?? ((call: ExchangeCall) => options.logger?.debug({ exchangeCall: call }, "exchange call")) }
      : {}),
  });
  const graph = new GraphClient({ ...common, baseUrl: config.graphBaseUrl });
  const tables = config.storage ? tableStores(storageConnection(config), options.leaseClock) : undefined;
  const requireTables = (): NonNullable<typeof tables> => {
    if (!tables) throw new Error("Table Storage is not configured (AzureWebJobsStorage or AzureWebJobsStorage__tableServiceUri).");
    return tables;
  };
  const store: OutcomeStore = tables?.store ?? new MemoryOutcomeStore({ retain: "run" });
  const auditPolicy = await loadAuditPolicy(config);
  const capture = config.capture ? { settings: config.capture, graph: captureGraphPort(graph) } : undefined;
  const evidence = config.auditEvidence.enabled
    ? {
        search: graphAuditSearch(graph),
        settings: {
          ...DEFAULT_EVIDENCE_LIMITS,
          ingestionDelayInMs: config.auditEvidence.ingestionDelayInMs,
          missingAfterInMs: config.auditEvidence.missingAfterInMs,
          pollBudgetInMs: config.auditEvidence.pollBudgetInMs,
          // The app's client id (user-assigned identity or app registration); unknown for a system-assigned identity.
          ownAppIds: config.azureClientId ? [config.azureClientId] : [],
        },
      }
    : undefined;
  return {
    config,
    credential,
    transport,
    graph,
    store,
    get leases() {
      return requireTables().leases;
    },
    get tableConnection() {
      return requireTables().tableConnection;
    },
    auditPolicy,
    enforcementServices: (logger) => ({
      tenantId: config.tenantId,
      transport,
      store,
      auditPolicy,
      licences: graphLicenceSource(graph),
      clock: { now: () => new Date() },
      ...(capture ? { capture } : {}),
      ...(evidence ? { evidence } : {}),
      ...(logger ? { logger } : {}),
    }),
  };
}

/** A credential built when a token is first asked for (and built again after a failure). */
function lazyCredential(create: () => Promise<TokenCredential>): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= create().catch((error: unknown) => {
        credential = undefined;
        throw error;
      });
      return (await credential).getToken(scopes, options);
    },
  };
}
