/**
 * `POST /api/runs` starts a run (202 + run id + status URL) and `GET /api/runs/{runId}` reports it. Function key
 * (authLevel 'function'), plus, with Entra caller authentication, an Easy Auth principal holding the app role:
 * `MailboxAudit.Operate` to start a run, `MailboxAudit.Read` (or Operate) to read one (docs/security.md).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { createInvocationLogger, type Logger } from "../shared/logging";
import { checkCaller, CLIENT_PRINCIPAL_HEADER, type CallerAccess } from "../shared/runs/caller-check";
import { RunInProgressError, startRun } from "../shared/runs/orchestrator";
import { isJsonContentType, isRunId, MAX_RUN_REQUEST_BYTES, parseRunRequest, RunRequestError } from "../shared/runs/run-request";
import { runsApp, type RunsApp } from "../shared/runs/runs-app";

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "cache-control": "no-store", ...headers } };
}

function statusUrl(request: HttpRequest, runId: string): string {
  return new URL(`/api/runs/${encodeURIComponent(runId)}`, request.url).toString();
}

/** A refusal, or who the caller is (an Entra object id, or "function key"). */
function refuseCaller(request: HttpRequest, runs: RunsApp, access: CallerAccess, logger: Logger): HttpResponseInit | { readonly caller: string } {
  const policy = runs.config.runs.callers;
  const check = checkCaller(request.headers.get(CLIENT_PRINCIPAL_HEADER), policy, access);
  if (check.allowed) return { caller: check.caller ?? "function key" };
  logger[check.cause === "configuration" ? "error" : "warn"]({ access, reason: check.reason }, "caller refused");
  return json(403, { error: "Forbidden", message: check.reason });
}

/** Reads at most MAX_RUN_REQUEST_BYTES + 1 bytes: an oversized body is refused without buffering it whole. */
async function readBody(request: HttpRequest): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_RUN_REQUEST_BYTES) return "x".repeat(MAX_RUN_REQUEST_BYTES + 1);
  if (!request.body) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    const buffer = Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.length;
    if (size > MAX_RUN_REQUEST_BYTES) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

export async function postRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runs = await runsApp();
  const logger = createInvocationLogger(context, {}, runs.config.logLevel);
  const caller = refuseCaller(request, runs, "operate", logger);
  if (!("caller" in caller)) return caller;
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return json(415, { error: "UnsupportedMediaType", message: "content-type: must be application/json" });
  }
  let parsed;
  try {
    parsed = parseRunRequest(await readBody(request));
  } catch (error) {
    if (error instanceof RunRequestError) return json(400, { error: "BadRequest", message: error.message, problems: error.problems });
    throw error;
  }
  const tenants = runs.config.runs.tenants;
  const tenant = parsed.tenant ? runs.tenant(parsed.tenant) : tenants.length === 1 ? tenants[0] : undefined;
  if (!tenant) {
    const message = parsed.tenant ? `tenant: ${parsed.tenant} is not configured` : "tenant: is required when several tenants are configured";
    return json(400, { error: "BadRequest", message, problems: [message] });
  }
  try {
    const record = await startRun(
      runs,
      {
        tenantId: tenant.tenantId,
        mode: parsed.mode,
        full: parsed.full,
        ...(parsed.scope !== "tenant" ? { mailboxes: parsed.scope.mailboxes } : {}),
        ...(parsed.changeLimit !== undefined ? { changeLimit: parsed.changeLimit } : {}),
        trigger: "http",
        requestedBy: caller.caller,
      },
      logger,
    );
    const location = statusUrl(request, record.runId);
    return json(202, { runId: record.runId, tenantId: record.tenantId, status: record.status, statusUrl: location }, { location });
  } catch (error) {
    if (error instanceof RunInProgressError) {
      return json(409, { error: "RunInProgress", message: error.message, runId: error.runningRunId, statusUrl: statusUrl(request, error.runningRunId) });
    }
    throw error;
  }
}

export async function getRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runs = await runsApp();
  const logger = createInvocationLogger(context, {}, runs.config.logLevel);
  const refused = refuseCaller(request, runs, "read", logger);
  if (!("caller" in refused)) return refused;
  const runId = request.params["runId"] ?? "";
  if (!isRunId(runId)) return json(404, { error: "NotFound", message: "runId: not a run id" });
  const tenantIds = runs.config.runs.tenants.map((tenant) => tenant.tenantId);
  const record = await runs.runState.find(tenantIds, runId);
  if (!record) return json(404, { error: "NotFound", message: `No run ${runId}` });
  logger.debug({ runId, tenant: record.tenantId }, "run status read");
  const itemsDone = record.status === "dispatched" ? (await runs.runState.listItems(record.tenantId, record.runId)).length : undefined;
  const { etag, ...run } = record;
  void etag; // storage detail, not part of the API
  return json(200, {
    ...run,
    progress: {
      ...(record.itemCount !== undefined ? { itemCount: record.itemCount } : {}),
      ...(itemsDone !== undefined ? { itemsDone } : {}),
    },
  });
}

app.http("runs-post", { methods: ["POST"], authLevel: "function", route: "runs", handler: postRun });
app.http("runs-get", { methods: ["GET"], authLevel: "function", route: "runs/{runId}", handler: getRun });
