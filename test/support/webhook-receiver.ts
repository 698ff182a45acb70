import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local webhook receiver for tests: HTTP on 127.0.0.1 at a random port. Records every POST (including
 * the ones it fails) and can be told to fail the next N posts with a given status.
 */

export interface ReceivedPost {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodyText: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly body: unknown;
  /** The status this receiver answered; 0 when it stalled. */
  readonly status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook/<random>`: the random path stands in for the secret token of a real URL. */
  readonly url: string;
  /** Posts received so far, oldest first. */
  readonly posts: readonly ReceivedPost[];
  /** Posts answered with 2xx. */
  readonly accepted: readonly ReceivedPost[];
  /** Answers the next `count` posts with `status` (default 500) instead of 200. */
  failNext(count: number, status?: number): void;
  /** Never answers the next `count` posts (until `close`): for client timeouts. Recorded with status 0. */
  stallNext(count: number): void;
  /** Forgets the recorded posts and any failures still pending. */
  clear(): void;
  close(): Promise<void>;
}

const STALL = 0;

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const posts: ReceivedPost[] = [];
  /** Pending answers: an HTTP status, or `STALL`. */
  const failures: number[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method !== "POST") {
        response.writeHead(405).end();
        return;
      }
      const bodyText = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = undefined;
      }
      const status = failures.shift() ?? 200;
      posts.push({ path: request.url ?? "/", headers: request.headers, bodyText, body, status });
      if (status === STALL) return;
      response.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "1" : "failed");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const token = Math.random().toString(36).slice(2);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/hook/${token}`,
    get posts() {
      return [...posts];
    },
    get accepted() {
      return posts.filter((post) => post.status >= 200 && post.status < 300);
    },
    failNext(count, status = 500) {
      for (let index = 0; index < count; index += 1) failures.push(status);
    },
    stallNext(count) {
      for (let index = 0; index < count; index += 1) failures.push(STALL);
    },
    clear() {
      posts.length = 0;
      failures.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
