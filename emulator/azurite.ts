import { randomUUID } from "node:crypto";

/**
 * Azurite, the real Azure Storage emulator, started in this process on random loopback ports with in-memory
 * persistence: no files, no telemetry, no logging. Used by integration tests and the CLI's local demo.
 */

export type AzuriteService = "table" | "queue" | "blob";

export interface AzuriteOptions {
  /** Services to start; default table and queue. */
  readonly services?: readonly AzuriteService[];
}

export interface RunningAzurite {
  /** Connection string for the well-known devstoreaccount1 account, naming only the started services. */
  readonly connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` when table was started. */
  readonly tableEndpoint?: string;
  readonly queueEndpoint?: string;
  readonly blobEndpoint?: string;
  /** Stops every started service and closes their sockets. Safe to call more than once. */
  stop(): Promise<void>;
}

/** The emulator's published development account (not a secret: it is the same in every Azurite). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// Azurite ships no type definitions: these are the parts of its server classes used here.
interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerClass = new (configuration: unknown) => AzuriteServer;
type ConfigurationClass = new (...args: unknown[]) => unknown;
type ChunkStoreClass = new (sizeLimitInBytes: number) => unknown;

const LOOPBACK = "127.0.0.1";
/** Port 0: the OS picks a free port, so parallel test processes never collide. */
const ANY_PORT = 0;
/** Cap on in-memory blob/queue message bodies per instance. */
const EXTENT_MEMORY_LIMIT_IN_BYTES = 256 * 1024 * 1024;

function load<T>(path: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path) as { default: T }).default;
}

function loadChunkStore(): ChunkStoreClass {
  return (
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("azurite/dist/src/common/persistence/MemoryExtentStore") as { MemoryExtentChunkStore: ChunkStoreClass }
  ).MemoryExtentChunkStore;
}

/** Constructor arguments mirror Azurite's own `main.js` for each service (positional, as Azurite defines them). */
function createServer(service: AzuriteService): AzuriteServer {
  const dbName = (suffix: string): string => `azurite-${service}-${suffix}-${randomUUID()}.json`;
  const keepAliveTimeoutInSeconds = 5;
  const [enableDebugLog, enableAccessLog, loose, skipApiVersionCheck] = [false, false, false, true];
  const [cert, key, pwd, oauth, disableProductStyleUrl, inMemoryPersistence] = ["", "", "", undefined, false, true];
  switch (service) {
    case "table": {
      const Configuration = load<ConfigurationClass>("azurite/dist/src/table/TableConfiguration");
      const Server = load<ServerClass>("azurite/dist/src/table/TableServer");
      return new Server(
        new Configuration(
          LOOPBACK,
          ANY_PORT,
          keepAliveTimeoutInSeconds,
          dbName("db"),
          enableDebugLog,
          enableAccessLog,
          undefined,
          undefined,
          loose,
          skipApiVersionCheck,
          cert,
          key,
          pwd,
          oauth,
          disableProductStyleUrl,
          inMemoryPersistence,
        ),
      );
    }
    case "queue":
    case "blob": {
      const prefix = service === "queue" ? "queue/Queue" : "blob/Blob";
      const Configuration = load<ConfigurationClass>(`azurite/dist/src/${prefix}Configuration`);
      const Server = load<ServerClass>(`azurite/dist/src/${prefix}Server`);
      const ChunkStore = loadChunkStore();
      // A private chunk store per instance: Azurite's default is one shared by every server in the process.
      return new Server(
        new Configuration(
          LOOPBACK,
          ANY_PORT,
          keepAliveTimeoutInSeconds,
          dbName("db"),
          dbName("extents"),
          [],
          enableAccessLog,
          undefined,
          enableDebugLog,
          undefined,
          loose,
          skipApiVersionCheck,
          cert,
          key,
          pwd,
          oauth,
          disableProductStyleUrl,
          inMemoryPersistence,
          new ChunkStore(EXTENT_MEMORY_LIMIT_IN_BYTES),
        ),
      );
    }
  }
}

const DEFAULT_SERVICES: readonly AzuriteService[] = ["table", "queue"];

const CONNECTION_STRING_KEY: Record<AzuriteService, string> = {
  table: "TableEndpoint",
  queue: "QueueEndpoint",
  blob: "BlobEndpoint",
};

/** Starts the requested Azurite services in this process. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const services: AzuriteService[] = [...new Set(options.services ?? DEFAULT_SERVICES)];
  const started: AzuriteServer[] = [];
  const endpoints: Partial<Record<AzuriteService, string>> = {};
  try {
    for (const service of services) {
      const server = createServer(service);
      await server.start();
      started.push(server);
      endpoints[service] = `${server.getHttpServerAddress()}/${AZURITE_ACCOUNT_NAME}`;
    }
  } catch (error) {
    await Promise.allSettled(started.map((server) => server.close()));
    throw error;
  }

  const connectionString = [
    "DefaultEndpointsProtocol=http",
    `AccountName=${AZURITE_ACCOUNT_NAME}`,
    `AccountKey=${AZURITE_ACCOUNT_KEY}`,
    ...services.map((service) => `${CONNECTION_STRING_KEY[service]}=${endpoints[service]}`),
  ].join(";");

  let stopping: Promise<void> | undefined;
  return {
    connectionString: `${connectionString};`,
    ...(endpoints.table && { tableEndpoint: endpoints.table }),
    ...(endpoints.queue && { queueEndpoint: endpoints.queue }),
    ...(endpoints.blob && { blobEndpoint: endpoints.blob }),
    stop() {
      stopping ??= Promise.all(started.map((server) => server.close())).then(() => undefined);
      return stopping;
    },
  };
}
