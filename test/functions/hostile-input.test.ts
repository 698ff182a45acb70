/**
 * Hostile input to every HTTP function, one table per function: each case asserts the status, the message, and that
 * nothing was started or changed — no queue message, no table entity, no Exchange or Graph request — against
 * in-process Azurite and the tenant emulator through the production runtime. docs/security.md quotes the counts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HttpRequest, InvocationContext, type HttpResponseInit } from "@azure/functions";
import { TableClient, TableServiceClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { generateTenant } from "../../emulator/generate";
import { startLocalStack, type LocalStack } from "../../emulator/local-stack";
import { createReportHandler } from "../../functions/report-http";
import { getRun, postRun } from "../../functions/runs-http";
import type { CallerPolicy } from "../../shared/runs/caller-check";
import { RunStateStore } from "../../shared/runs/run-state-store";
import { resetRunsApp } from "../../shared/runs/runs-app";
import { QUEUE_NAMES, TABLE_NAMES } from "../../shared/storage/storage-layout";
import { TableOutcomeStore } from "../../shared/storage/table-outcome-store";
import { encodePrincipal, OBJECT_ID_CLAIM, principalWithRoles } from "./client-principal";

const OPERATOR = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const READER = "7a2b3c4d-5e6f-4a70-8b9c-1d2e3f4a5b6c";
const STRANGER = "11111111-2222-4333-8444-555555555555";
const OPERATE = principalWithRoles(OPERATOR, "MailboxAudit.Operate");
const READ = principalWithRoles(READER, "MailboxAudit.Read");

const tenant = generateTenant({ seed: 11, counts: { user: 4, shared: 1 }, driftShare: 0.5 });
const ADDED_ENV = {
  LOG_LEVEL: "silent",
  ALLOWED_CALLER_OBJECT_IDS: `${OPERATOR},${READER}`,
  CALLER_AUTH: "entra",
  WEBSITE_AUTH_ENABLED: "True",
};
let stack: LocalStack;
let restoreEnv: () => void;
let queue: QueueClient;
let runLookups = 0;

before(async () => {
  stack = await startLocalStack({ tenant });
  restoreEnv = stack.applyEnv();
  Object.assign(process.env, ADDED_ENV);
  resetRunsApp();
  queue = new QueueClient(stack.azurite.connectionString, QUEUE_NAMES.workItems);
  await queue.createIfNotExists();
  // Counted on the class: the app is built again whenever a case changes the settings.
  const prototype = RunStateStore.prototype;
  const find = Object.getOwnPropertyDescriptor(prototype, "find")?.value as RunStateStore["find"];
  prototype.find = function (tenantIds, runId) {
    runLookups += 1;
    return find.call(this, tenantIds, runId);
  };
});

after(async () => {
  for (const name of Object.keys(ADDED_ENV)) delete process.env[name];
  restoreEnv();
  resetRunsApp();
  await stack.stop();
});

interface Snapshot {
  readonly queued: number;
  readonly entities: Readonly<Record<string, number>>;
  readonly exchangeAndGraphRequests: number;
}

async function entityCount(table: string): Promise<number> {
  let count = 0;
  for await (const entity of TableClient.fromConnectionString(stack.azurite.connectionString, table, {
    allowInsecureConnection: true,
  }).listEntities()) {
    if (entity) count += 1;
  }
  return count;
}

async function snapshot(): Promise<Snapshot> {
  const service = TableServiceClient.fromConnectionString(stack.azurite.connectionString, {
    allowInsecureConnection: true,
  });
  const tables: string[] = [];
  for await (const table of service.listTables()) if (table.name) tables.push(table.name);
  const counts = await Promise.all(tables.map(async (table) => [table, await entityCount(table)] as const));
  return {
    queued: (await queue.getProperties()).approximateMessagesCount ?? 0,
    entities: Object.fromEntries(counts.filter(([, count]) => count > 0)),
    exchangeAndGraphRequests: stack.emulator.calls.httpRequests,
  };
}

/** The principal header for `principal` (undefined: the default caller's; null: none). */
function principalHeader(principal: string | null | undefined, byDefault: string): Record<string, string> {
  const value = principal === undefined ? byDefault : principal;
  return value === null ? {} : { "x-ms-client-principal": value };
}

function context(functionName: string): InvocationContext {
  return new InvocationContext({ invocationId: randomUUID(), functionName });
}

/** Sets `env` (undefined deletes) around `action`; settings are read at start-up, so the app is built again around it. */
async function withEnv<T>(env: Readonly<Record<string, string | undefined>>, action: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const apply = (values: Readonly<Record<string, string | undefined>>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(env);
  resetRunsApp();
  try {
    return await action();
  } finally {
    apply(saved);
    resetRunsApp();
  }
}

const messageOf = (response: HttpResponseInit): string => {
  const body = response.jsonBody as { message?: string; detail?: string; errors?: string[] } | undefined;
  return [body?.message, body?.detail, ...(body?.errors ?? [])].filter(Boolean).join(" | ");
};

interface HostileCase {
  readonly name: string;
  readonly status: number;
  readonly message: RegExp;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Runs each case and checks its status, its message and that nothing changed; returns the count. */
async function refuseAll<T extends HostileCase>(
  cases: readonly T[],
  send: (hostile: T) => Promise<HttpResponseInit>,
): Promise<number> {
  const before = await snapshot();
  for (const hostile of cases) {
    const response = await withEnv(hostile.env ?? {}, () => send(hostile));
    assert.equal(response.status, hostile.status, `${hostile.name}: ${JSON.stringify(response.jsonBody)}`);
    assert.match(messageOf(response), hostile.message, hostile.name);
    assert.deepEqual(await snapshot(), before, `${hostile.name}: nothing started or changed`);
  }
  return cases.length;
}

interface PostCase extends HostileCase {
  readonly body: string | object;
  readonly headers?: Readonly<Record<string, string>>;
  /** The principal header; default: an operator's. null: none. */
  readonly principal?: string | null;
}

const json = (value: unknown): string => JSON.stringify(value);
const many = (count: number) => Array.from({ length: count }, (_, index) => `u${index}@contoso.com`);

const postCases: PostCase[] = [
  // Who may call
  {
    name: "forged operator principal while Easy Auth is off",
    env: { WEBSITE_AUTH_ENABLED: undefined },
    body: { mode: "apply", scope: "tenant" },
    status: 403,
    message: /App Service Authentication is not enabled/,
  },
  {
    name: "forged principal, CALLER_AUTH=function-key but a caller list set",
    env: { WEBSITE_AUTH_ENABLED: undefined, CALLER_AUTH: "function-key" },
    body: { mode: "apply", scope: "tenant" },
    status: 403,
    message: /App Service Authentication is not enabled/,
  },
  {
    name: "no principal",
    principal: null,
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /x-ms-client-principal is missing/,
  },
  {
    name: "principal not base64 JSON",
    principal: "eyJub3QganNvbg",
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /not a base64-encoded JSON principal/,
  },
  {
    name: "principal of another identity provider",
    principal: encodePrincipal(
      [
        { typ: OBJECT_ID_CLAIM, val: OPERATOR },
        { typ: "roles", val: "MailboxAudit.Operate" },
      ],
      { auth_typ: "facebook" },
    ),
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /not authenticated by Entra ID/,
  },
  {
    name: "principal without an object id",
    principal: encodePrincipal([{ typ: "roles", val: "MailboxAudit.Operate" }]),
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /no object id/,
  },
  {
    name: "operator role, caller not listed",
    principal: principalWithRoles(STRANGER, "MailboxAudit.Operate"),
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /not in ALLOWED_CALLER_OBJECT_IDS/,
  },
  {
    name: "a reader starting a run",
    principal: READ,
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /lacks the MailboxAudit\.Operate app role/,
  },
  {
    name: "listed caller without a role",
    principal: principalWithRoles(OPERATOR),
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /lacks the MailboxAudit\.Operate app role/,
  },
  {
    name: "role name in another claim",
    principal: encodePrincipal([
      { typ: OBJECT_ID_CLAIM, val: OPERATOR },
      { typ: "name", val: "MailboxAudit.Operate" },
    ]),
    body: { mode: "plan", scope: "tenant" },
    status: 403,
    message: /lacks/,
  },
  // Media type: only application/json, which a browser cannot send cross-site without a preflight
  {
    name: "text/plain",
    headers: { "content-type": "text/plain" },
    body: { mode: "apply", scope: "tenant" },
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "form post",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "mode=apply&scope=tenant",
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "multipart form",
    headers: { "content-type": "multipart/form-data; boundary=x" },
    body: '--x\r\nContent-Disposition: form-data; name="mode"\r\n\r\napply\r\n--x--',
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "text/json",
    headers: { "content-type": "text/json" },
    body: { mode: "apply", scope: "tenant" },
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "application/jsonp",
    headers: { "content-type": "application/jsonp" },
    body: { mode: "apply", scope: "tenant" },
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "JSON in another charset",
    headers: { "content-type": "application/json; charset=iso-8859-1" },
    body: { mode: "apply", scope: "tenant" },
    status: 415,
    message: /must be application\/json/,
  },
  {
    name: "empty content type",
    headers: { "content-type": "" },
    body: { mode: "apply", scope: "tenant" },
    status: 415,
    message: /must be application\/json/,
  },
  // Duplicate keys: JSON.parse keeps the last one
  {
    name: "mode twice (plan, then apply)",
    body: '{"mode":"plan","scope":"tenant","mode":"apply"}',
    status: 400,
    message: /the key "mode" appears more than once/,
  },
  {
    name: "mode twice, once escaped",
    body: '{"mode":"plan","scope":"tenant","\\u006dode":"apply"}',
    status: 400,
    message: /the key "mode" appears more than once/,
  },
  {
    name: "mailboxes twice inside scope",
    body: '{"mode":"plan","scope":{"mailboxes":["a@contoso.com"],"mailboxes":["b@contoso.com"]}}',
    status: 400,
    message: /the key "mailboxes" appears more than once/,
  },
  {
    name: "scope twice (mailboxes, then tenant)",
    body: '{"mode":"apply","scope":{"mailboxes":["a@contoso.com"]},"scope":"tenant"}',
    status: 400,
    message: /the key "scope" appears more than once/,
  },
  // Not a run request
  { name: "malformed JSON", body: "{not json", status: 400, message: /not valid JSON/ },
  { name: "empty body", body: "", status: 400, message: /not valid JSON/ },
  { name: "JSON array", body: "[]", status: 400, message: /body/ },
  { name: "JSON null", body: "null", status: 400, message: /body/ },
  { name: "JSON string", body: '"apply"', status: 400, message: /body/ },
  {
    name: "unknown field",
    body: { mode: "apply", scope: "tenant", extra: 1 },
    status: 400,
    message: /extra|Unrecognized/i,
  },
  {
    name: "__proto__ smuggling",
    body: '{"mode":"plan","scope":"tenant","__proto__":{"full":true}}',
    status: 400,
    message: /__proto__|Unrecognized/i,
  },
  {
    name: "unknown mode",
    body: { mode: "destroy", scope: "tenant" },
    status: 400,
    message: /mode: must be 'plan' or 'apply'/,
  },
  {
    name: "mode in capitals",
    body: { mode: "APPLY", scope: "tenant" },
    status: 400,
    message: /mode: must be 'plan' or 'apply'/,
  },
  { name: "mode missing", body: { scope: "tenant" }, status: 400, message: /mode/ },
  { name: "scope missing", body: { mode: "plan" }, status: 400, message: /scope/ },
  {
    name: "unknown scope",
    body: { mode: "plan", scope: "organisation" },
    status: 400,
    message: /scope: must be 'tenant' or \{ mailboxes/,
  },
  {
    name: "no mailboxes",
    body: { mode: "plan", scope: { mailboxes: [] } },
    status: 400,
    message: /at least one mailbox/,
  },
  {
    name: "1,001 mailboxes",
    body: { mode: "plan", scope: { mailboxes: many(1001) } },
    status: 400,
    message: /at most 1000/,
  },
  {
    name: "OPATH injection",
    body: { mode: "plan", scope: { mailboxes: ["a' -or Name -like '*"] } },
    status: 400,
    message: /Not an SMTP address, UPN or GUID/,
  },
  {
    name: "NUL in a mailbox",
    body: { mode: "plan", scope: { mailboxes: ["adele\u0000@contoso.com"] } },
    status: 400,
    message: /scope\.mailboxes/,
  },
  {
    name: "mailbox not a string",
    body: { mode: "plan", scope: { mailboxes: [42] } },
    status: 400,
    message: /scope\.mailboxes/,
  },
  {
    name: "extra key in scope",
    body: { mode: "plan", scope: { mailboxes: ["a@contoso.com"], all: true } },
    status: 400,
    message: /scope/,
  },
  {
    name: "full with named mailboxes",
    body: { mode: "apply", scope: { mailboxes: ["a@contoso.com"] }, full: true },
    status: 400,
    message: /full: applies only to scope 'tenant'/,
  },
  { name: "full not a boolean", body: { mode: "apply", scope: "tenant", full: "yes" }, status: 400, message: /full/ },
  { name: "changeLimit a string", body: { mode: "apply", scope: "tenant", changeLimit: "500" }, status: 400, message: /changeLimit: must be a whole number/ },
  { name: "changeLimit a fraction", body: { mode: "apply", scope: "tenant", changeLimit: 2.5 }, status: 400, message: /changeLimit: must be a whole number/ },
  { name: "changeLimit negative", body: { mode: "apply", scope: "tenant", changeLimit: -1 }, status: 400, message: /changeLimit: must be 0 or more/ },
  { name: "changeLimit huge", body: { mode: "apply", scope: "tenant", changeLimit: 1e300 }, status: 400, message: /changeLimit: must be at most 10000000/ },
  { name: "changeLimit twice", body: '{"mode":"apply","scope":"tenant","changeLimit":1,"changeLimit":99999}', status: 400, message: /the key "changeLimit" appears more than once/ },
  {
    name: "unknown tenant",
    body: { mode: "apply", scope: "tenant", tenant: "fabrikam.onmicrosoft.com" },
    status: 400,
    message: /tenant: fabrikam\.onmicrosoft\.com is not configured/,
  },
  { name: "empty tenant", body: { mode: "apply", scope: "tenant", tenant: "" }, status: 400, message: /tenant/ },
  {
    name: "body over 64 KiB",
    body: `{"mode":"plan","scope":"tenant","pad":"${"x".repeat(70_000)}"}`,
    status: 400,
    message: /larger than 65536 bytes/,
  },
  {
    name: "declared length over 64 KiB",
    headers: { "content-length": "70000" },
    body: { mode: "plan", scope: "tenant" },
    status: 400,
    message: /larger than 65536 bytes/,
  },
];

function post(hostile: Pick<PostCase, "body" | "headers" | "principal">): Promise<HttpResponseInit> {
  const headers = {
    "content-type": "application/json",
    ...principalHeader(hostile.principal, OPERATE),
    ...hostile.headers,
  };
  const text = typeof hostile.body === "string" ? hostile.body : json(hostile.body);
  return postRun(
    new HttpRequest({ method: "POST", url: "https://app.example/api/runs", body: { string: text }, headers }),
    context("runs-post"),
  );
}

interface GetCase extends HostileCase {
  readonly runId: string;
  readonly principal?: string | null;
  /** Run look-ups in storage the case may make (default none: refused before any storage call). */
  readonly lookups?: number;
}

const getCases: GetCase[] = [
  {
    name: "Easy Auth off",
    env: { WEBSITE_AUTH_ENABLED: undefined },
    runId: "2026-01-01T02:00:00Z-5f3a1b2c",
    status: 403,
    message: /App Service Authentication is not enabled/,
  },
  { name: "no principal", principal: null, runId: "2026-01-01T02:00:00Z-5f3a1b2c", status: 403, message: /missing/ },
  {
    name: "no role",
    principal: principalWithRoles(READER),
    runId: "2026-01-01T02:00:00Z-5f3a1b2c",
    status: 403,
    message: /lacks the MailboxAudit\.Read app role/,
  },
  { name: "16,000-character id", runId: "a".repeat(16_000), status: 404, message: /runId: not a run id/ },
  { name: "129-character id", runId: "a".repeat(129), status: 404, message: /runId: not a run id/ },
  { name: "empty id", runId: "", status: 404, message: /runId: not a run id/ },
  { name: "OData injection", runId: "x' or RowKey ne '", status: 404, message: /runId: not a run id/ },
  { name: "path traversal", runId: "../leases", status: 404, message: /runId: not a run id/ },
  { name: "NUL", runId: "run\u0000id", status: 404, message: /runId: not a run id/ },
  { name: "Table key separator", runId: "tenant|run", status: 404, message: /runId: not a run id/ },
  { name: "leading hyphen", runId: "-run", status: 404, message: /runId: not a run id/ },
  { name: "non-ASCII", runId: "rün", status: 404, message: /runId: not a run id/ },
  {
    name: "well-formed, never recorded",
    runId: "2026-01-01T02:00:00Z-5f3a1b2c",
    lookups: 1,
    status: 404,
    message: /No run 2026-01-01T02:00:00Z-5f3a1b2c/,
  },
];

function get(hostile: Pick<GetCase, "runId" | "principal">): Promise<HttpResponseInit> {
  const url = `https://app.example/api/runs/${encodeURIComponent(hostile.runId)}`;
  const headers = principalHeader(hostile.principal, READ);
  return getRun(
    new HttpRequest({ method: "GET", url, params: { runId: hostile.runId }, headers }),
    context("runs-get"),
  );
}

interface ReportCase extends HostileCase {
  readonly query: string;
  readonly principal?: string | null;
  readonly callers?: CallerPolicy;
}

const ENTRA: CallerPolicy = { mode: "entra", allowedObjectIds: [], easyAuthEnabled: true };
const reportCases: ReportCase[] = [
  {
    name: "Easy Auth off",
    callers: { ...ENTRA, easyAuthEnabled: false },
    query: "",
    status: 403,
    message: /App Service Authentication is not enabled/,
  },
  { name: "no principal", principal: null, query: "", status: 403, message: /missing/ },
  {
    name: "no role",
    principal: principalWithRoles(READER),
    query: "",
    status: 403,
    message: /lacks the MailboxAudit\.Read app role/,
  },
  {
    name: "not listed",
    callers: { ...ENTRA, allowedObjectIds: [OPERATOR] },
    query: "",
    status: 403,
    message: /not in ALLOWED_CALLER_OBJECT_IDS/,
  },
  { name: "typo formt=csv", query: "?formt=csv", status: 400, message: /Unknown query parameter: formt/ },
  { name: "unknown parameter", query: "?format=csv&debug=1", status: 400, message: /Unknown query parameter: debug/ },
  { name: "parameter in another case", query: "?Format=csv", status: 400, message: /Unknown query parameter: Format/ },
  { name: "unknown format", query: "?format=xml", status: 400, message: /format: must be json, csv or html/ },
  {
    name: "repeated format",
    query: "?format=csv&format=json",
    status: 400,
    message: /Repeated query parameter: format/,
  },
  {
    name: "NUL in a mailbox",
    query: "?mailbox=adele%00@contoso.com",
    status: 400,
    message: /mailbox: must not contain control characters/,
  },
  {
    name: "BEL in a mailbox",
    query: "?mailbox=adele%07@contoso.com",
    status: 400,
    message: /mailbox: must not contain control characters/,
  },
  {
    name: "DEL in a mailbox",
    query: "?mailbox=adele%7F@contoso.com",
    status: 400,
    message: /mailbox: must not contain control characters/,
  },
  {
    name: "NUL in the tenant",
    query: `?tenant=${encodeURIComponent(`${tenant.tenantId}\u0000`)}`,
    status: 400,
    message: /tenant: must not contain control characters/,
  },
  {
    name: "formula as a mailbox",
    query: "?mailbox=%3D1%2B1",
    status: 400,
    message: /mailbox: must be a mailbox object id/,
  },
  {
    name: "mailbox over 320 characters",
    query: `?mailbox=${"a".repeat(310)}@contoso.com`,
    status: 400,
    message: /mailbox: must be a mailbox object id/,
  },
  {
    name: "mailbox and runId",
    query: "?mailbox=adele@contoso.com&runId=r1",
    status: 400,
    message: /give mailbox or runId, not both/,
  },
  {
    name: "16,000-character runId",
    query: `?runId=${"a".repeat(16_000)}`,
    status: 400,
    message: /runId: must be a run id/,
  },
  {
    name: "OData injection in runId",
    query: `?runId=${encodeURIComponent("x' or true or '")}`,
    status: 400,
    message: /runId: must be a run id/,
  },
  {
    name: "unknown tenant",
    query: "?tenant=fabrikam.onmicrosoft.com",
    status: 400,
    message: /tenant: not a tenant this app enforces/,
  },
  {
    name: "run never recorded",
    query: "?runId=2026-01-01T02:00:00Z-5f3a1b2c",
    status: 404,
    message: /runId: no run 2026-01-01T02:00:00Z-5f3a1b2c/,
  },
];

function report(hostile: Pick<ReportCase, "query" | "principal" | "callers">): Promise<HttpResponseInit> {
  const store = new TableOutcomeStore({
    connection: { connectionString: stack.azurite.connectionString },
    tableNames: TABLE_NAMES,
  });
  const handler = createReportHandler(() =>
    Promise.resolve({
      store,
      tenants: [tenant.tenantId],
      callers: hostile.callers ?? ENTRA,
      logLevel: "silent" as const,
    }),
  );
  const headers = principalHeader(hostile.principal, READ);
  return handler(
    new HttpRequest({ method: "GET", url: `https://app.example/api/report${hostile.query}`, headers }),
    context("report"),
  );
}

const refused: Record<string, number> = {};

test("POST /api/runs: every hostile request is refused with its status and message, nothing started", async () => {
  refused["POST /api/runs"] = await refuseAll(postCases, post);
  assert.equal(runLookups, 0);
});

test("GET /api/runs/{runId}: every hostile request is refused, malformed ids without a storage call", async () => {
  for (const hostile of getCases) {
    const lookupsBefore = runLookups;
    await refuseAll([hostile], get);
    assert.equal(runLookups - lookupsBefore, hostile.lookups ?? 0, `${hostile.name}: storage look-ups`);
  }
  refused["GET /api/runs/{runId}"] = getCases.length;
});

test("GET /api/report: every hostile request is refused with its status and message, nothing changed", async () => {
  refused["GET /api/report"] = await refuseAll(reportCases, report);
});

test("the same requests, well formed and from the right callers, are accepted (the refusals above are not incidental)", async () => {
  assert.equal((await report({ query: "?format=csv" })).status, 200, "a reader reads the report");
  assert.equal(
    (await report({ query: "?format=csv", principal: OPERATE })).status,
    200,
    "an operator reads the report",
  );
  const accepted = await post({
    body: '{"mode":"plan","scope":"tenant"}',
    headers: { "content-type": "application/json; charset=utf-8" },
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.jsonBody));
  const { runId } = accepted.jsonBody as { runId: string };
  const status = await get({ runId });
  assert.equal(status.status, 200);
  assert.equal((status.jsonBody as { mode: string }).mode, "plan");
  const total = Object.values(refused).reduce((sum, count) => sum + count, 0);
  assert.ok(total >= 50, `${total} hostile cases: ${JSON.stringify(refused)}`);
});
