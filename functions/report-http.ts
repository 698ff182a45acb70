import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { z } from "zod";
import { loadConfig, type LogLevel } from "../shared/config";
import { createInvocationLogger } from "../shared/logging";
import { isMailboxIdentifier, REPORT_CSP_HEADER, reportChunks, type ReportRequest } from "../shared/report";
import { checkCaller, CLIENT_PRINCIPAL_HEADER, type CallerPolicy } from "../shared/runs/caller-check";
import { isRunId } from "../shared/runs/run-request";
import { createRuntime } from "../shared/runtime";
import type { OutcomeStore } from "../shared/storage/outcome-store";

/**
 * `GET /api/report?format=json|csv|html[&tenant=<tenant>][&mailbox=<GUID or SMTP address>][&runId=<run>]`: the latest
 * recorded state of every target (or one mailbox's history) for auditors. Function-key protected and, with Entra
 * caller authentication, open only to callers holding `MailboxAudit.Read` (or Operate). The body streams from the
 * store when the host streams HTTP; otherwise the worker buffers it.
 */

export interface ReportDependencies {
  readonly store: OutcomeStore;
  /** Tenants this app enforces; a `tenant` parameter must name one of them (case-insensitively). */
  readonly tenants: readonly string[];
  /** Who may read the report beyond the function key. */
  readonly callers: CallerPolicy;
  readonly logLevel: LogLevel;
}

const PARAMETERS = ["format", "tenant", "mailbox", "runId"] as const;
/** Read by the Functions host (a function key in the URL), never by the report. */
const HOST_PARAMETERS = ["code"];
const CONTROL_CHARACTER = /\p{Cc}/u;
const noControlCharacters = (value: string): boolean => !CONTROL_CHARACTER.test(value);

const querySchema = z
  .object({
    format: z.enum(["json", "csv", "html"], { error: "must be json, csv or html" }).default("json"),
    tenant: z.string().max(256).refine(noControlCharacters, "must not contain control characters").optional(),
    mailbox: z
      .string()
      .refine(noControlCharacters, "must not contain control characters")
      .refine(isMailboxIdentifier, "must be a mailbox object id (GUID) or an SMTP address")
      .optional(),
    runId: z.string().refine(isRunId, "must be a run id").optional(),
  })
  .refine((query) => query.mailbox === undefined || query.runId === undefined, {
    message: "mailbox history covers every run: give mailbox or runId, not both",
    path: ["runId"],
  });

const problem = (status: number, detail: string, extra: Record<string, unknown> = {}): HttpResponseInit => ({
  status,
  jsonBody: { status, detail, ...extra },
});

/** Parses the query into a report request and the tenant (as configured), or the 400 that answers it. */
export function parseReportQuery(
  query: URLSearchParams,
  tenants: readonly string[],
): { request: ReportRequest; tenantId: string } | { response: HttpResponseInit } {
  const known: readonly string[] = [...PARAMETERS, ...HOST_PARAMETERS];
  const unknown = [...new Set(query.keys())].filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    return {
      response: problem(400, `Unknown query parameter: ${unknown.join(", ")} (known: ${PARAMETERS.join(", ")})`),
    };
  }
  const repeated = PARAMETERS.filter((name) => query.getAll(name).length > 1);
  if (repeated.length > 0) return { response: problem(400, `Repeated query parameter: ${repeated.join(", ")}`) };
  const parsed = querySchema.safeParse(
    Object.fromEntries(PARAMETERS.flatMap((name) => (query.has(name) ? [[name, query.get(name)?.trim()]] : []))),
  );
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => `${issue.path.map(String).join(".")}: ${issue.message}`);
    return { response: problem(400, "Invalid query", { errors }) };
  }
  const { format, tenant, mailbox, runId } = parsed.data;
  const tenantId =
    tenant === undefined ? tenants[0] : tenants.find((known) => known.toLowerCase() === tenant.toLowerCase());
  if (tenantId === undefined) return { response: problem(400, "tenant: not a tenant this app enforces") };
  return {
    tenantId,
    request: { format, ...(mailbox !== undefined && { mailbox }), ...(runId !== undefined && { runId }) },
  };
}

/** The query with `format` set (when absent). */
function withFormat(query: URLSearchParams, format: string): URLSearchParams {
  const copy = new URLSearchParams(query);
  if (!copy.has("format")) copy.set("format", format);
  return copy;
}

const encoder = new TextEncoder();

async function* encoded(chunks: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield encoder.encode(chunk);
}

/**
 * The handler over the given dependencies (tests pass a store over Azurite). `signedIn`: the view a reader reaches
 * through App Service Authentication's sign-in, without the function key — served only with Entra caller
 * authentication, as HTML only.
 */
export function createReportHandler(
  dependencies: () => Promise<ReportDependencies>,
  options: { readonly signedIn?: boolean } = {},
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context): Promise<HttpResponseInit> => {
    const { store, tenants, callers, logLevel } = await dependencies();
    if (options.signedIn && callers.mode !== "entra") {
      return problem(403, "The signed-in report view needs Entra caller authentication (CALLER_AUTH=entra with App Service Authentication on); use GET /api/report with the function key");
    }
    if (options.signedIn && (request.query.get("format") ?? "html") !== "html") return problem(400, "format: the signed-in view serves html only");
    const caller = checkCaller(request.headers.get(CLIENT_PRINCIPAL_HEADER), callers, "read");
    if (!caller.allowed) {
      const log = createInvocationLogger(context, {}, logLevel);
      log[caller.cause === "configuration" ? "error" : "warn"](
        { access: "read", reason: caller.reason },
        "caller refused",
      );
      return problem(403, caller.reason);
    }
    const parsed = parseReportQuery(options.signedIn ? withFormat(request.query, "html") : request.query, tenants);
    if ("response" in parsed) return parsed.response;
    const { tenantId, request: reportRequest } = parsed;
    const logger = createInvocationLogger(context, { tenant: tenantId }, logLevel);
    if (reportRequest.runId !== undefined && !(await store.getRun(tenantId, reportRequest.runId))) {
      return problem(404, `runId: no run ${reportRequest.runId} is recorded for this tenant`);
    }
    logger.info(
      { format: reportRequest.format, mailbox: reportRequest.mailbox, runId: reportRequest.runId },
      "report requested",
    );
    const now = new Date();
    const body = encoded(reportChunks(store, tenantId, { ...reportRequest, now }));
    if (reportRequest.format === "json") {
      return { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body };
    }
    if (reportRequest.format === "html") {
      const headers = {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": REPORT_CSP_HEADER,
        "x-content-type-options": "nosniff",
      };
      return { status: 200, headers, body };
    }
    const subject = reportRequest.mailbox === undefined ? "tenant" : "mailbox-history";
    const stamp = now.toISOString().replace(/[:.]/g, "-");
    return {
      status: 200,
      headers: {
        "content-type": "text/csv; charset=utf-8; header=present",
        // The tenant is a validated GUID or *.onmicrosoft.com name, so the file name needs no escaping.
        "content-disposition": `attachment; filename="mailbox-audit-${subject}-${tenantId}-${stamp}.csv"`,
        "x-content-type-options": "nosniff",
      },
      body,
    };
  };
}

let runtimeDependencies: Promise<ReportDependencies> | undefined;

/** The production dependencies: configuration and clients built once per process, on first use. */
function productionDependencies(): Promise<ReportDependencies> {
  runtimeDependencies ??= (async () => {
    const config = loadConfig(process.env);
    const runtime = await createRuntime(config);
    return {
      store: runtime.store,
      // Every tenant the runs functions enforce (TENANTS), the home tenant first: their outcomes share the store.
      tenants: [...new Set([runtime.config.tenantId, ...config.runs.tenants.map((tenant) => tenant.tenantId)])],
      callers: config.runs.callers,
      logLevel: config.logLevel,
    };
  })().catch((error: unknown) => {
    runtimeDependencies = undefined;
    throw error;
  });
  return runtimeDependencies;
}

export const reportHttp = createReportHandler(productionDependencies);

/**
 * `GET /api/report/view[?tenant=<tenant>]`: the HTML report for a reader signed in through App Service Authentication
 * (the alert's link goes through `/.auth/login/aad` to here). No function key: it is served only with Entra caller
 * authentication (Easy Auth on, fail closed), to a principal holding MailboxAudit.Read or Operate.
 */
export const reportView = createReportHandler(productionDependencies, { signedIn: true });

app.http("report", { methods: ["GET"], authLevel: "function", route: "report", handler: reportHttp });
app.http("report-view", { methods: ["GET"], authLevel: "anonymous", route: "report/view", handler: reportView });
