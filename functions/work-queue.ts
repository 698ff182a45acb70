/**
 * The work-item queue: `run` messages (observe + plan, handing changes out) and `changes` work items (re-read,
 * reconcile, record). Whatever arrives is validated first: a message that is not one of ours is recorded as rejected,
 * never acted on. A handler that throws leaves the message to be retried, up to maxDequeueCount (host.json), after
 * which the poison handler records it.
 */
import { app, type InvocationContext } from "@azure/functions";
import { createInvocationLogger } from "../shared/logging";
import { handleWorkMessage, processPoisonMessage } from "../shared/runs/orchestrator";
import { runsApp } from "../shared/runs/runs-app";
import { QUEUE_NAMES } from "../shared/storage/storage-layout";

export async function workQueue(queueItem: unknown, context: InvocationContext): Promise<void> {
  const runs = await runsApp();
  const logger = createInvocationLogger(context, { dequeueCount: context.triggerMetadata?.["dequeueCount"] }, runs.config.logLevel);
  await handleWorkMessage(runs, queueItem, logger);
}

export async function workQueuePoison(queueItem: unknown, context: InvocationContext): Promise<void> {
  const runs = await runsApp();
  const logger = createInvocationLogger(context, {}, runs.config.logLevel);
  await processPoisonMessage(runs, queueItem, logger);
}

app.storageQueue("work-queue", { queueName: QUEUE_NAMES.workItems, connection: "AzureWebJobsStorage", handler: workQueue });
app.storageQueue("work-queue-poison", { queueName: QUEUE_NAMES.workItemsPoison, connection: "AzureWebJobsStorage", handler: workQueuePoison });
