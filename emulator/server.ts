/**
 * The local tenant emulator: Exchange admin REST and a Graph subset over HTTPS on 127.0.0.1, plus the App
 * Service managed identity endpoint, so the production clients run unchanged against an in-memory tenant.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, checkBearerToken } from "./access-token";
import { EXCHANGE_MANAGE_AS_APP, createServicePrincipal } from "./app-permissions";
import { AuditSearch, type AuditSearchSettings } from "./audit-search";
import { CallLog } from "./call-log";
import { generateServerCertificate } from "./certificate";
import type { CmdletDefinition } from "./cmdlet";
import { cmdlets as defaultCmdlets } from "./cmdlets/index";
import { ExchangeApi, concurrencyLimitAnswer, exchangeError, unknownTenant } from "./exchange-api";
import { FaultInjector, type Latency } from "./faults";
import { GraphApi, graphError } from "./graph";
import { headerValue, requestHeaders, withCorrelation, type HttpAnswer } from "./http-answer";
import { ensureIdentityEndpoint, registerServicePrincipal } from "./identity-endpoint";
import type { TenantState } from "./tenant-state";

export const DEFAULT_MAX_CONCURRENT_REQUESTS_PER_TENANT = 3;
/** Retry-After sent with a concurrency 429. */
const CONCURRENCY_RETRY_AFTER_IN_SECONDS = 1;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface EmulatorOptions {
  readonly tenant: TenantState;
  /** Cmdlets by lower-cased name; defaults to every cmdlet the emulator implements. */
  readonly cmdlets?: ReadonlyMap<string, CmdletDefinition>;
  /** 0 (default) = a free port. */
  readonly port?: number;
  /** Delay per cmdlet execution (also changeable later with `faults.setLatency`). */
  readonly latencyInMs?: Latency;
  /** In-flight Exchange requests allowed per tenant (a `$batch` counts as one); more are answered 429. */
  readonly maxConcurrentRequestsPerTenant?: number;
  /** The emulator's clock (cmdlet context, logs, Graph delta, audit search). Tokens are checked against the real clock. */
  readonly now?: () => Date;
  /**
   * The emulated unified audit log (Graph `security/auditLog/queries`): ingestion delay, lost records, mailbox activity,
   * polls until a query completes. Changeable later with `auditSearch.configure`.
   */
  readonly auditSearch?: Partial<AuditSearchSettings>;
}

export interface RunningEmulator {
  /** `https://127.0.0.1:<port>`: the Exchange host (requests go to `/adminapi/beta/{tenant}/...`). */
  readonly exchangeBaseUrl: string;
  /** `https://127.0.0.1:<port>`: the Graph host (requests go to `/v1.0/...`, and `/beta/...` for the audit search). */
  readonly graphBaseUrl: string;
  /** The managed identity endpoint (IDENTITY_ENDPOINT). Shared by every emulator in the process. */
  readonly identityEndpoint: string;
  /** IDENTITY_HEADER. */
  readonly identityHeader: string;
  readonly tenantId: string;
  /** The server's self-signed certificate: trust it as a CA. */
  readonly caCertificatePem: string;
  /** IDENTITY_ENDPOINT, IDENTITY_HEADER, AZURE_CLIENT_ID (the tenant's app), TENANT_ID, EXCHANGE_BASE_URL, GRAPH_BASE_URL. */
  env(): Record<string, string>;
  /** The live tenant state (mutate it to arrange a scenario, read it to assert). */
  readonly state: TenantState;
  readonly calls: CallLog;
  /** Peak number of accepted in-flight Exchange requests. */
  readonly maxObservedConcurrency: number;
  /** Accepted Exchange requests in flight now (held ones included, until their client gives up). */
  readonly inFlight: number;
  /** Resolves once no accepted Exchange request is in flight (at once when none is): synchronisation for tests. */
  idle(): Promise<void>;
  readonly faults: FaultInjector;
  /** The emulated unified audit log: `configure({...})` at runtime, `adminEvents` to inspect the records of writes. */
  readonly auditSearch: AuditSearch;
  /** Stops the HTTPS server (idempotent). The process-wide identity endpoint keeps running. */
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const [certificate, identity] = await Promise.all([generateServerCertificate(), ensureIdentityEndpoint()]);
  const now = options.now ?? (() => new Date());
  const maxConcurrent = options.maxConcurrentRequestsPerTenant ?? DEFAULT_MAX_CONCURRENT_REQUESTS_PER_TENANT;
  const servicePrincipal = (options.tenant.servicePrincipal ??= createServicePrincipal());
  // Its own client id per emulator: MSAL caches tokens per client id for the whole process.
  registerServicePrincipal(servicePrincipal);
  const calls = new CallLog();
  const faults = new FaultInjector(options.latencyInMs ?? 0);
  let baseUrl = "";
  const shared = { tenant: options.tenant, calls, faults, now, baseUrl: () => baseUrl };
  const cmdlets = options.cmdlets ?? defaultCmdlets;
  const exchange = new ExchangeApi({ ...shared, cmdlets });
  const auditSearch = new AuditSearch({ ...shared, cmdlets, ...(options.auditSearch ? { settings: options.auditSearch } : {}) });
  const graph = new GraphApi({ ...shared, auditSearch });
  const concurrency = { inFlight: 0, peak: 0 };
  const idleWaiters: (() => void)[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    calls.countHttpRequest();
    const clientRequestId = headerValue(request.headers, "client-request-id");
    const send = (answer: HttpAnswer): void => writeAnswer(response, withCorrelation(answer, clientRequestId));
    const url = new URL(request.url ?? "/", baseUrl);
    const method = (request.method ?? "GET").toUpperCase();
    const rawBody = await readBody(request);
    const isGraph = url.pathname.startsWith("/v1.0/") || url.pathname.startsWith("/beta/");
    const exchangeRoute = exchange.route(url);

    if (isGraph) {
      const token = checkBearerToken(request.headers.authorization, GRAPH_AUDIENCE);
      if (!token.ok) return send(graphError(401, "InvalidAuthenticationToken", graphTokenMessage(token.reason), now()));
      const body = parseJson(rawBody);
      if (body === INVALID_JSON) return send(graphError(400, "BadRequest", "Unable to read JSON request payload.", now()));
      const answer = graph.handle(method, url, request.headers, body, token.claims.roles);
      return answer.hold ? holdUntilClosed(request) : send(answer);
    }
    if (!exchangeRoute) return send({ status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" });

    const token = checkBearerToken(request.headers.authorization, EXCHANGE_AUDIENCE);
    if (!token.ok) return send(exchangeUnauthorized(token.reason));
    // Assumed (no public capture found): a valid app token without Exchange.ManageAsApp is refused like a bad token.
    if (!token.claims.roles.includes(EXCHANGE_MANAGE_AS_APP)) return send(exchangeUnauthorized(`no ${EXCHANGE_MANAGE_AS_APP} role`));
    if (!exchange.isTenantSegment(exchangeRoute.tenantSegment)) return send(unknownTenant(exchangeRoute.tenantSegment));
    const operation = exchangeRoute.operation.toLowerCase();
    if (method !== "POST" || (operation !== "invokecommand" && operation !== "$batch")) {
      return send(exchangeError(405, { errorId: "", exceptionType: "", text: `${method} ${url.pathname} is not supported.` }));
    }
    const body = parseJson(rawBody);
    if (body === INVALID_JSON) {
      return send(
        exchangeError(400, {
          errorId: "",
          exceptionType: "Microsoft.OData.ODataException",
          text: "The request body is not valid JSON.",
          message: "Invalid Operation",
        }),
      );
    }

    if (concurrency.inFlight >= maxConcurrent) {
      const answer = concurrencyLimitAnswer(CONCURRENCY_RETRY_AFTER_IN_SECONDS);
      calls.record({
        api: "exchange",
        cmdlet: operation === "$batch" ? "$batch" : exchange.cmdletNameOf(body),
        parameters: {},
        status: 429,
        viaBatch: false,
        continuation: url.searchParams.has("$skiptoken"),
        at: now().toISOString(),
        ...(clientRequestId ? { clientRequestId } : {}),
        ...requestHeaders(request.headers),
      });
      return send(answer);
    }
    const caller = { appId: token.claims.appid, objectId: token.claims.oid };
    concurrency.inFlight += 1;
    concurrency.peak = Math.max(concurrency.peak, concurrency.inFlight);
    let released = false;
    const release = (): void => {
      if (!released) concurrency.inFlight -= 1;
      released = true;
      if (concurrency.inFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    };
    // A client that gives up (abort, socket timeout) frees its slot, as the service's accounting would.
    response.once("close", release);
    const answer =
      operation === "$batch"
        ? await exchange.batch(body, url, request.headers, caller)
        : await exchange.invokeCommand({ url, headers: request.headers, body, viaBatch: false, caller });
    if (answer.hold) return holdUntilClosed(request);
    send(answer);
    release();
  };

  const server: Server = createServer({ key: certificate.privateKeyPem, cert: certificate.certificatePem }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        writeAnswer(response, withCorrelation(exchangeError(500, { errorId: "", exceptionType: "System.Exception", text: String(error) }), undefined));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped: Promise<void> | undefined;

  return {
    exchangeBaseUrl: baseUrl,
    graphBaseUrl: baseUrl,
    identityEndpoint: identity.endpoint,
    identityHeader: identity.header,
    tenantId: options.tenant.tenantId,
    caCertificatePem: certificate.certificatePem,
    env: () => ({
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      AZURE_CLIENT_ID: servicePrincipal.AppId,
      TENANT_ID: options.tenant.tenantId,
      EXCHANGE_BASE_URL: baseUrl,
      GRAPH_BASE_URL: baseUrl,
    }),
    state: options.tenant,
    calls,
    get maxObservedConcurrency() {
      return concurrency.peak;
    },
    get inFlight() {
      return concurrency.inFlight;
    },
    idle: () => (concurrency.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    faults,
    auditSearch,
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Held (timeout-fault) and keep-alive connections would otherwise keep close() waiting.
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

const INVALID_JSON = Symbol("invalid JSON");

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error("Request body too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A timeout fault: never answer; the slot is released when the client closes the socket. */
function holdUntilClosed(request: IncomingMessage): void {
  request.socket.setTimeout(0);
}

function writeAnswer(response: ServerResponse, answer: HttpAnswer): void {
  const body =
    answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
  response.writeHead(answer.status, answer.headers);
  response.end(body);
}

/** Exchange answers an unauthenticated call with an empty, non-JSON body and a WWW-Authenticate challenge. */
function exchangeUnauthorized(reason: string): HttpAnswer {
  return {
    status: 401,
    headers: {
      "WWW-Authenticate":
        'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", ' +
        'trusted_issuers="00000001-0000-0000-c000-000000000000@*", ' +
        'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"',
      "x-ms-diagnostics": `2000001;reason="${reason}";error_category="invalid_token"`,
    },
    body: "",
  };
}

function graphTokenMessage(reason: string): string {
  switch (reason) {
    case "missing":
      return "Access token is empty.";
    case "expired":
      return "Lifetime validation failed, the token is expired.";
    case "audience":
      return "Access token validation failure. Invalid audience.";
    default:
      return "Access token validation failure.";
  }
}

