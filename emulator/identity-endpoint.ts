/**
 * The App Service managed identity endpoint (the `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` protocol,
 * api-version 2019-08-01) on plain HTTP 127.0.0.1, as the Functions host exposes it to the app.
 *
 * There is ONE endpoint per process, started on first use and never stopped (its server and sockets are
 * unref'd so it never keeps the process alive): @azure/msal-node caches the endpoint URL and header it
 * read first in a static field, so an endpoint that moved or disappeared when one emulator stopped would
 * break every later `ManagedIdentityCredential` in the same process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { issueAccessToken, resourceKind } from "./access-token";
import { tokenRoles } from "./app-permissions";
import type { EmulatedServicePrincipal } from "./tenant-state";

export const IDENTITY_API_VERSION = "2019-08-01";

export interface IdentityEndpoint {
  /** `http://127.0.0.1:<port>/msi/token`, the value of IDENTITY_ENDPOINT. */
  readonly endpoint: string;
  /** The value of IDENTITY_HEADER, to be sent back as `X-IDENTITY-HEADER`. */
  readonly header: string;
  /** Client id reported for the system-assigned identity (no client_id in the request). */
  readonly systemAssignedClientId: string;
  /** Token requests answered so far (all emulators in the process). */
  readonly tokenRequests: number;
}

let started: Promise<IdentityEndpoint> | undefined;
/** Service principals by client id: their tokens carry their grants; any other client id gets the product's full grants. */
const servicePrincipals = new Map<string, EmulatedServicePrincipal>();

/** Makes the endpoint issue tokens for `servicePrincipal.AppId` with its grants (read at each token request). */
export function registerServicePrincipal(servicePrincipal: EmulatedServicePrincipal): void {
  servicePrincipals.set(servicePrincipal.AppId.toLowerCase(), servicePrincipal);
}

/** The process-wide identity endpoint, started if needed. */
export function ensureIdentityEndpoint(): Promise<IdentityEndpoint> {
  started ??= startIdentityEndpoint();
  return started;
}

async function startIdentityEndpoint(): Promise<IdentityEndpoint> {
  const header = randomBytes(24).toString("hex");
  const systemAssignedClientId = randomUUID();
  const state = { endpoint: "", header, systemAssignedClientId, tokenRequests: 0 };
  const server = createServer((request, response) => {
    state.tokenRequests += 1;
    answerTokenRequest(request, response, state);
  });
  server.on("connection", (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.unref();
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
  return state;
}

function answerTokenRequest(request: IncomingMessage, response: ServerResponse, endpoint: IdentityEndpoint): void {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const fail = (statusCode: number, message: string): void => {
    response.writeHead(statusCode, { "content-type": "application/json" });
    response.end(JSON.stringify({ statusCode, message, correlationId: randomUUID() }));
  };
  if (request.method !== "GET" || url.pathname !== "/msi/token") return fail(404, "Not found");
  if (request.headers["x-identity-header"] !== endpoint.header) {
    return fail(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.");
  }
  if (url.searchParams.get("api-version") !== IDENTITY_API_VERSION) {
    return fail(400, `Unsupported api-version; expected ${IDENTITY_API_VERSION}.`);
  }
  const resource = url.searchParams.get("resource");
  if (!resource) return fail(400, "The resource parameter is required.");
  const clientId = url.searchParams.get("client_id") ?? endpoint.systemAssignedClientId;
  const servicePrincipal = servicePrincipals.get(clientId.toLowerCase());
  const { token, claims } = issueAccessToken({
    resource,
    clientId,
    roles: tokenRoles(servicePrincipal, resourceKind(resource)),
    ...(servicePrincipal ? { objectId: servicePrincipal.ObjectId } : {}),
  });
  response.writeHead(200, { "content-type": "application/json" });
  response.end(
    JSON.stringify({
      access_token: token,
      expires_on: String(claims.exp),
      resource,
      token_type: "Bearer",
      client_id: clientId,
    }),
  );
}
