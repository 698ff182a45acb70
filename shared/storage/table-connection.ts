import type { TokenCredential } from "@azure/core-auth";
import { TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import { storageStatus } from "./errors";

/**
 * How to reach Table Storage: a connection string locally (Azurite), the table endpoint plus an Entra
 * credential in Azure (managed identity; the storage account has shared keys disabled).
 */
export type TableConnection =
  { readonly connectionString: string } | { readonly endpoint: string; readonly credential: TokenCredential };

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Plain HTTP is allowed only for a loopback emulator; everything else must be HTTPS. */
export function isLoopbackHttp(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === "http:" && LOOPBACK_HOSTS.has(parsed.hostname);
}

function tableEndpointOf(connectionString: string): string {
  const settings = new Map(
    connectionString
      .split(";")
      .filter((part) => part.includes("="))
      .map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()] as const;
      }),
  );
  if (settings.get("usedevelopmentstorage") === "true") return "http://127.0.0.1:10002/devstoreaccount1";
  const explicit = settings.get("tableendpoint");
  if (explicit) return explicit;
  const protocol = settings.get("defaultendpointsprotocol") ?? "https";
  return `${protocol}://${settings.get("accountname") ?? ""}.table.${settings.get("endpointsuffix") ?? "core.windows.net"}`;
}

export function createTableClient(connection: TableConnection, tableName: string): TableClient {
  const endpoint =
    "connectionString" in connection ? tableEndpointOf(connection.connectionString) : connection.endpoint;
  const options: TableServiceClientOptions = { allowInsecureConnection: isLoopbackHttp(endpoint) };
  return "connectionString" in connection
    ? TableClient.fromConnectionString(connection.connectionString, tableName, options)
    : new TableClient(endpoint, tableName, connection.credential, options);
}

/**
 * Returns a function that creates the table once per client (idempotent across instances: 409 is success).
 * A failed creation is retried by the next call.
 */
export function tableCreator(client: TableClient): () => Promise<void> {
  let created: Promise<void> | undefined;
  return () => {
    created ??= client.createTable().catch((error: unknown) => {
      // 409: it exists. 403: a reader may not create tables (the infra created them); a missing table still fails the read.
      if (storageStatus(error) === 409 || storageStatus(error) === 403) return;
      created = undefined;
      throw error;
    });
    return created;
  };
}
