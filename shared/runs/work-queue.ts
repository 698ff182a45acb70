import { QueueClient } from "@azure/storage-queue";
import { appIdentityCredential } from "../credentials";
import type { StorageConfig } from "../config";
import { storageStatus } from "../storage/errors";
import { encodeWorkMessage, type WorkMessage } from "./work-messages";

/** Port: puts work on the queue the work-item function is triggered by. */
export interface WorkQueue {
  send(message: WorkMessage): Promise<void>;
}

/** The Storage Queue (created on first use), reached like the tables: connection string locally, identity in Azure. */
export function createWorkQueue(storage: StorageConfig, queueName: string): WorkQueue {
  const client =
    storage.kind === "connectionString"
      ? new QueueClient(storage.connectionString, queueName)
      : new QueueClient(
          `${storage.queueServiceUri}/${queueName}`,
          appIdentityCredential({ managedIdentity: storage.clientId !== undefined, clientId: storage.clientId }),
        );
  let created: Promise<unknown> | undefined;
  return {
    async send(message) {
      created ??= client.createIfNotExists().catch((error: unknown) => {
        created = undefined;
        if (storageStatus(error) !== 409) throw error;
      });
      await created;
      await client.sendMessage(encodeWorkMessage(message));
    },
  };
}
