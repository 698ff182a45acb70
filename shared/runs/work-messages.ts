/**
 * Messages on the work-item queue (QUEUE_NAMES.workItems). Two kinds share the queue: `run` starts one run
 * (observe + plan, fanning mailbox changes out), `changes` names at most 20 mailboxes of a run whose changes a worker
 * makes. Work items carry **intent only** — tenant, run, target ids, policy — never a cmdlet or a value: the worker
 * re-reads the targets and plans from what Exchange shows and its own policy, so nothing on a queue can make the app
 * send what the policy does not ask for. On the wire each is base64-encoded JSON, as the Functions queue trigger
 * expects; the trigger hands the handler the parsed JSON, validated here strictly (unknown fields refused).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { AuditPolicy } from "../audit/policy";

/** Mailboxes per work item: one identity-filtered read-back per source covers them. */
export const MAX_TARGETS_PER_ITEM = 20;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tenant and run ids are short tokens (a GUID or domain; the run id of `newRunId`). */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9.:_-]{0,127}$/;

export interface RunMessage {
  readonly kind: "run";
  readonly tenantId: string;
  readonly runId: string;
}

export interface ChangesMessage {
  readonly kind: "changes";
  readonly tenantId: string;
  readonly runId: string;
  /** Derived from the run and the targets (`workItemId`): a re-sent item has the same id. */
  readonly itemId: string;
  /** Entra object ids (ExternalDirectoryObjectId) of the mailboxes to reconcile. */
  readonly targetIds: readonly string[];
  /** The policy the run planned with (`name@version`); a worker with another policy does not act on the item. */
  readonly policy: string;
}

export type WorkMessage = RunMessage | ChangesMessage;

const token = z.string().regex(TOKEN, "not a valid id");

const messageSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("run"), tenantId: token, runId: token }),
  z.strictObject({
    kind: z.literal("changes"),
    tenantId: token,
    runId: token,
    itemId: z.string().regex(/^[0-9a-f]{32}$/, "not a work item id"),
    targetIds: z.array(z.string().regex(GUID, "not an object id")).min(1).max(MAX_TARGETS_PER_ITEM),
    policy: z.string().min(1).max(200),
  }),
]);

/** A message that is not one of ours: rejected (recorded), never acted on. */
export class WorkMessageRejected extends Error {
  override readonly name = "WorkMessageRejected";
}

/** Validates a message as the trigger delivers it (parsed JSON, or a string if it was not JSON). */
export function parseWorkMessage(value: unknown): WorkMessage {
  let json = value;
  if (typeof value === "string") {
    try {
      json = JSON.parse(value) as unknown;
    } catch {
      throw new WorkMessageRejected("The work item is not JSON");
    }
  }
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) throw new WorkMessageRejected(`Not a work item: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "(message)"}: ${issue.message}`).join("; ")}`);
  return parsed.data;
}

/** How a message travels: base64 of its JSON. */
export function encodeWorkMessage(message: WorkMessage): string {
  return Buffer.from(JSON.stringify(message), "utf8").toString("base64");
}

/** A work item's id: the same run and targets give the same id, so a redelivered run re-sends, never duplicates. */
export function workItemId(runId: string, targetIds: readonly string[]): string {
  const targets = [...targetIds].map((id) => id.toLowerCase()).sort();
  return createHash("sha256").update(JSON.stringify([runId, targets])).digest("hex").slice(0, 32);
}

/** Splits target ids into work items of at most `MAX_TARGETS_PER_ITEM`. */
export function packTargets(targetIds: readonly string[]): string[][] {
  const items: string[][] = [];
  for (let index = 0; index < targetIds.length; index += MAX_TARGETS_PER_ITEM) items.push(targetIds.slice(index, index + MAX_TARGETS_PER_ITEM));
  return items;
}

/** The policy a run plans with, as items name it: its name and version and a digest of the effective settings. */
export function policyFingerprint(policy: AuditPolicy): string {
  const digest = createHash("sha256").update(JSON.stringify(policy)).digest("hex").slice(0, 16);
  return `${policy.name}@${policy.version}#${digest}`;
}
