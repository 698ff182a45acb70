/**
 * The on-demand run request (`POST /api/runs`): validated strictly, every problem reported, before anything starts.
 * Pure: no clients.
 */
import { z } from "zod";
import { parseMailboxIdentities } from "../audit/opath";
import type { RunMode } from "../domain/outcome";

/** Largest accepted request body, in bytes (far above 1,000 addresses of ordinary length). */
export const MAX_RUN_REQUEST_BYTES = 64 * 1024;
/** Most mailboxes one request may name. */
export const MAX_RUN_MAILBOXES = 1_000;

export interface RunRequest {
  readonly mode: RunMode;
  /** Every mailbox of the tenant, or the named ones (SMTP addresses / UPNs / GUIDs). */
  readonly scope: "tenant" | { readonly mailboxes: readonly string[] };
  /** Force a full sweep (tenant scope). */
  readonly full: boolean;
  /** Required when several tenants are configured. */
  readonly tenant?: string;
}

const mailboxScopeSchema = z.strictObject({
  mailboxes: z
    .array(z.string(), { error: "must be a list of mailbox identities" })
    .min(1, "must name at least one mailbox")
    .max(MAX_RUN_MAILBOXES, `must name at most ${MAX_RUN_MAILBOXES} mailboxes`),
});

const bodySchema = z.strictObject({
  mode: z.enum(["plan", "apply"], { error: "must be 'plan' or 'apply'" }),
  // An object scope is checked on its own, so its own problem (too many mailboxes...) is what the caller reads.
  scope: z.union([z.literal("tenant"), z.looseObject({})], { error: "must be 'tenant' or { mailboxes: [...] }" }),
  full: z.boolean().default(false),
  tenant: z.string().min(1).max(256).optional(),
});

/** A request that must be refused with 400; `problems` lists every reason. */
export class RunRequestError extends Error {
  override readonly name = "RunRequestError";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid run request: ${problems.join("; ")}`);
  }
}

/** Parses the raw body text. Throws `RunRequestError`. */
export function parseRunRequest(bodyText: string): RunRequest {
  if (Buffer.byteLength(bodyText, "utf8") > MAX_RUN_REQUEST_BYTES) {
    throw new RunRequestError([`body: larger than ${MAX_RUN_REQUEST_BYTES} bytes`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    throw new RunRequestError(["body: not valid JSON"]);
  }
  const parsed = bodySchema.safeParse(json);
  if (!parsed.success) {
    throw new RunRequestError(parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`));
  }
  const { mode, full, tenant } = parsed.data;
  const scopeParsed = mailboxScopeSchema.safeParse(parsed.data.scope);
  if (parsed.data.scope !== "tenant" && !scopeParsed.success) {
    throw new RunRequestError(scopeParsed.error.issues.map((issue) => `scope.${issue.path.map(String).join(".")}: ${issue.message}`));
  }
  const scope = scopeParsed.success ? scopeParsed.data : "tenant";
  if (scope !== "tenant") {
    try {
      parseMailboxIdentities(scope.mailboxes);
    } catch (error) {
      throw new RunRequestError([`scope.mailboxes: ${(error as Error).message}`]);
    }
    if (full) throw new RunRequestError(["full: applies only to scope 'tenant'"]);
  }
  return {
    mode,
    scope: scope === "tenant" ? "tenant" : { mailboxes: scope.mailboxes.map((identity) => identity.trim()) },
    full,
    ...(tenant !== undefined ? { tenant } : {}),
  };
}
