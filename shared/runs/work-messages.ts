/**
 * Messages on the work-item queue (QUEUE_NAMES.workItems). Two kinds share the queue: `run` starts one run
 * (observe + plan, fanning mailbox changes out), `changes` carries at most 20 deferred mailbox changes of a run.
 * On the wire each is base64-encoded JSON, as the Functions queue trigger expects; the trigger hands the handler
 * the parsed JSON, validated here.
 */
import { z } from "zod";
import type { DeferredMailboxChange } from "../audit/ports";

/** Mailbox changes per work item: one identity-filtered read-back covers them. */
export const MAX_CHANGES_PER_ITEM = 20;
/** Raw JSON bytes per message: base64 makes 4/3 of it, under the queue's 64 KiB. */
export const MAX_MESSAGE_JSON_BYTES = 45_000;

export interface RunMessage {
  readonly kind: "run";
  readonly tenantId: string;
  readonly runId: string;
}

export interface ChangesMessage {
  readonly kind: "changes";
  readonly tenantId: string;
  readonly runId: string;
  readonly runStartedAt: string;
  readonly itemId: string;
  readonly changes: readonly DeferredMailboxChange[];
}

export type WorkMessage = RunMessage | ChangesMessage;

const changeSchema = z.object({
  action: z.object({ targetKind: z.literal("mailbox"), targetId: z.string(), requests: z.array(z.looseObject({ cmdlet: z.string() })) }).loose(),
  outcome: z.object({ kind: z.string(), targetId: z.string(), displayName: z.string(), status: z.string(), findings: z.array(z.unknown()) }).loose(),
  observed: z.looseObject({ RecipientTypeDetails: z.string() }),
  licensed: z.boolean().optional(),
});

const messageSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("run"), tenantId: z.string().min(1), runId: z.string().min(1) }),
  z.object({
    kind: z.literal("changes"),
    tenantId: z.string().min(1),
    runId: z.string().min(1),
    runStartedAt: z.string(),
    itemId: z.string().min(1),
    changes: z.array(changeSchema).min(1).max(MAX_CHANGES_PER_ITEM),
  }),
]);

/** Validates a message as the trigger delivers it (parsed JSON, or a string if it was not JSON). */
export function parseWorkMessage(value: unknown): WorkMessage {
  const json = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  // The shapes of the changes were produced by this app's own planner; the schema checks the envelope.
  return messageSchema.parse(json) as unknown as WorkMessage;
}

/** How a message travels: base64 of its JSON. */
export function encodeWorkMessage(message: WorkMessage): string {
  return Buffer.from(JSON.stringify(message), "utf8").toString("base64");
}

/**
 * Splits a run's changes into work items of at most `MAX_CHANGES_PER_ITEM` changes and `MAX_MESSAGE_JSON_BYTES`.
 * Returns the groups of changes; a single change larger than the budget travels alone.
 */
export function packChanges(changes: readonly DeferredMailboxChange[]): DeferredMailboxChange[][] {
  const items: DeferredMailboxChange[][] = [];
  let current: DeferredMailboxChange[] = [];
  let bytes = 0;
  for (const change of changes) {
    const size = Buffer.byteLength(JSON.stringify(change), "utf8") + 1;
    if (current.length > 0 && (current.length === MAX_CHANGES_PER_ITEM || bytes + size > MAX_MESSAGE_JSON_BYTES - 1_000)) {
      items.push(current);
      current = [];
      bytes = 0;
    }
    current.push(change);
    bytes += size;
  }
  if (current.length > 0) items.push(current);
  return items;
}
