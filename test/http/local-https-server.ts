/** A tiny HTTPS server with a throw-away certificate, for testing clients without the emulator. */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/core-auth";
import { generateServerCertificate } from "../../emulator/certificate";

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

export interface LocalHttpsServer {
  readonly baseUrl: string;
  readonly caPem: string;
  readonly received: ReceivedRequest[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startLocalHttpsServer(): Promise<LocalHttpsServer> {
  const { certificatePem, privateKeyPem } = await generateServerCertificate();
  const received: ReceivedRequest[] = [];
  let handler: Handler = (_request, response) => {
    response.end();
  };
  const server: Server = createServer({ cert: certificatePem, key: privateKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(request);
      void Promise.resolve(handler(request, res)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `https://127.0.0.1:${port}`,
    caPem: certificatePem,
    received,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** A credential that hands out a fixed token and counts requests for it. */
export function staticCredential(token = "test-token"): TokenCredential & { scopesRequested: string[] } {
  const scopesRequested: string[] = [];
  return {
    scopesRequested,
    getToken: (scopes) => {
      scopesRequested.push(...(Array.isArray(scopes) ? scopes : [scopes]));
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}
