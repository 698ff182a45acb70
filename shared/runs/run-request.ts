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

/** Largest `changeLimit` accepted (far above any tenant's mailbox count; omit it for no limit). */
export const MAX_CHANGE_LIMIT = 10_000_000;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** True for a string shaped like a run id (the orchestrator's `<ISO time>-<hex>`, or a recorded run's id). */
export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

/**
 * True for `application/json`, with no charset or UTF-8. Anything else is refused (415): a browser sends
 * `text/plain` and form bodies cross-site without a preflight, `application/json` never.
 */
export function isJsonContentType(value: string | null): boolean {
  const [mediaType = "", ...parameters] = (value ?? "").split(";").map((part) => part.trim().toLowerCase());
  return (
    mediaType === "application/json" &&
    parameters.every((parameter) => !parameter.startsWith("charset=") || /^charset="?utf-8"?$/.test(parameter))
  );
}

export interface RunRequest {
  readonly mode: RunMode;
  /** Every mailbox of the tenant, or the named ones (SMTP addresses / UPNs / GUIDs). */
  readonly scope: "tenant" | { readonly mailboxes: readonly string[] };
  /** Force a full sweep (tenant scope). */
  readonly full: boolean;
  /** Most targets the run may change (an operator approving what a limited night held back); undefined = unlimited. */
  readonly changeLimit?: number;
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
  changeLimit: z
    .number({ error: "must be a whole number of targets" })
    .int("must be a whole number of targets")
    .min(0, "must be 0 or more")
    .max(MAX_CHANGE_LIMIT, `must be at most ${MAX_CHANGE_LIMIT}`)
    .optional(),
  tenant: z.string().min(1).max(256).optional(),
});

interface ObjectFrame {
  readonly keys: Set<string>;
  expectingKey: boolean;
}

/** End index (exclusive) of the JSON string starting with the quote at `start`. */
function stringEnd(text: string, start: number): number {
  let index = start + 1;
  while (text[index] !== '"') index += text[index] === "\\" ? 2 : 1;
  return index + 1;
}

/**
 * The first key repeated within one object of `text`, which must be valid JSON (parse it first). `JSON.parse` keeps
 * the last of repeated keys, so `{"mode":"plan","mode":"apply"}` would run as apply while a reviewer, a log line or
 * a proxy reads plan: such a body is refused. Keys are compared decoded (`"mode"` and `"\u006dode"` are the same).
 */
function findDuplicateKey(text: string): string | undefined {
  const frames: (ObjectFrame | "array")[] = [];
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    const frame = frames[frames.length - 1];
    if (char === '"') {
      const end = stringEnd(text, index);
      if (frame !== undefined && frame !== "array" && frame.expectingKey) {
        const key = JSON.parse(text.slice(index, end)) as string;
        if (frame.keys.has(key)) return key;
        frame.keys.add(key);
        frame.expectingKey = false;
      }
      index = end - 1;
    } else if (char === "{") frames.push({ keys: new Set(), expectingKey: true });
    else if (char === "[") frames.push("array");
    else if (char === "}" || char === "]") frames.pop();
    else if (char === "," && frame !== undefined && frame !== "array") frame.expectingKey = true;
  }
  return undefined;
}

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
  const duplicate = findDuplicateKey(bodyText);
  if (duplicate !== undefined) throw new RunRequestError([`body: the key ${JSON.stringify(duplicate.slice(0, 64))} appears more than once`]);
  const parsed = bodySchema.safeParse(json);
  if (!parsed.success) {
    throw new RunRequestError(parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`));
  }
  const { mode, full, changeLimit, tenant } = parsed.data;
  const scopeParsed = mailboxScopeSchema.safeParse(parsed.data.scope);
  if (parsed.data.scope !== "tenant" && !scopeParsed.success) {
    throw new RunRequestError(scopeParsed.error.issues.map((issue) => `${["scope", ...issue.path.map(String)].join(".")}: ${issue.message}`));
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
    ...(changeLimit !== undefined ? { changeLimit } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
  };
}
