/**
 * The work-item queue: `run` messages (observe + plan, fanning changes out) and `changes` work items (apply,
 * verify, record). A handler that throws leaves the message to be retried, up to maxDequeueCount (host.json),
 * after which the poison handler records it.
 */
import { app, type InvocationContext } from "@azure/functions";
import { createInvocationLogger } from "../shared/logging";
import { processChangesMessage, processPoisonMessage, processRunMessage } from "../shared/runs/orchestrator";
import { runsApp } from "../shared/runs/runs-app";
import { parseWorkMessage } from "../shared/runs/work-messages";
import { QUEUE_NAMES } from "../shared/storage/storage-layout";

export async function workQueue(queueItem: unknown, context: InvocationContext): Promise<void> {
  const runs = await runsApp();
  const message = parseWorkMessage(queueItem);
  const logger = createInvocationLogger(
    context,
    { runId: message.runId, tenant: message.tenantId, dequeueCount: context.triggerMetadata?.["dequeueCount"], ...(message.kind === "changes" ? { itemId: message.itemId } : {}) },
    runs.config.logLevel,
  );
  if (message.kind === "run") await processRunMessage(runs, message, logger);
  else await processChangesMessage(runs, message, logger);
}

export async function workQueuePoison(queueItem: unknown, context: InvocationContext): Promise<void> {
  const runs = await runsApp();
  const message = parseWorkMessage(queueItem);
  const logger = createInvocationLogger(context, { runId: message.runId, tenant: message.tenantId }, runs.config.logLevel);
  await processPoisonMessage(runs, message, logger);
}

app.storageQueue("work-queue", { queueName: QUEUE_NAMES.workItems, connection: "AzureWebJobsStorage", handler: workQueue });
app.storageQueue("work-queue-poison", { queueName: QUEUE_NAMES.workItemsPoison, connection: "AzureWebJobsStorage", handler: workQueuePoison });
