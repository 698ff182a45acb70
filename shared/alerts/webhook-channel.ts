import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  defaultRetryPolicy,
  isRestError,
  type HttpClient,
} from "@azure/core-rest-pipeline";
import { isLoopbackHttp } from "../storage/table-connection";
import { AlertDeliveryError, type AlertChannel } from "./alert-channel";
import type { SecretSource } from "./secret-source";
import { formatWebhookBody, type WebhookFormat } from "./webhook-formats";

/**
 * The webhook channel: POSTs one JSON body per alert to a URL kept in Key Vault (or the local secret source).
 * The URL is a credential (anyone holding it can post to the channel), so it is read per delivery through
 * the (cached) secret source and never appears in logs or errors.
 *
 * Retries use the SDK's default policy (429/503 honouring `Retry-After`, other 5xx and socket errors with
 * exponential backoff) within one overall deadline; redirects are not followed. Anything but a 2xx is a
 * delivery failure.
 */

export interface WebhookChannelOptions {
  readonly secrets: SecretSource;
  /** Name of the secret holding the URL, e.g. `alert-webhook-url`. */
  readonly secretName: string;
  readonly format: WebhookFormat;
  readonly maxListedEvents?: number;
  /** Deadline of one delivery, retries included; default 30 s. */
  readonly timeoutInMs?: number;
  /** Default 3. */
  readonly maxRetries?: number;
  /** First backoff step; default 1 s. */
  readonly retryDelayInMs?: number;
  /** Replaces the default Node HTTP client (tests). */
  readonly httpClient?: HttpClient;
}

export const DEFAULT_WEBHOOK_TIMEOUT_IN_MS = 30_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_RETRY_DELAY_IN_MS = 1_000;

export function webhookChannel(options: WebhookChannelOptions): AlertChannel {
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(
    defaultRetryPolicy({
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      retryDelayInMs: options.retryDelayInMs ?? DEFAULT_RETRY_DELAY_IN_MS,
    }),
    { phase: "Retry" },
  );
  const httpClient = options.httpClient ?? createDefaultHttpClient();

  return {
    name: "webhook",
    async deliver(alert) {
      const url = await options.secrets.getSecret(options.secretName);
      const loopbackHttp = isLoopbackHttpUrl(url);
      if (!loopbackHttp && !isHttpsUrl(url)) throw new AlertDeliveryError("webhook", undefined, "InsecureWebhookUrl");
      const request = createPipelineRequest({
        method: "POST",
        url,
        headers: createHttpHeaders({ "content-type": "application/json", accept: "application/json" }),
        body: JSON.stringify(
          formatWebhookBody(
            options.format,
            alert,
            options.maxListedEvents !== undefined ? { maxListedEvents: options.maxListedEvents } : {},
          ),
        ),
        allowInsecureConnection: loopbackHttp,
        abortSignal: AbortSignal.timeout(options.timeoutInMs ?? DEFAULT_WEBHOOK_TIMEOUT_IN_MS),
      });
      let status: number;
      try {
        status = (await pipeline.sendRequest(httpClient, request)).status;
      } catch (error) {
        // Only the code travels on: SDK errors carry the request, and so the URL.
        throw new AlertDeliveryError("webhook", undefined, errorCodeOf(error));
      }
      if (status < 200 || status >= 300) throw new AlertDeliveryError("webhook", status, "HttpStatus");
    },
  };
}

function isHttpsUrl(url: string): boolean {
  return URL.canParse(url) && new URL(url).protocol === "https:";
}

function isLoopbackHttpUrl(url: string): boolean {
  return URL.canParse(url) && isLoopbackHttp(url);
}

function errorCodeOf(error: unknown): string {
  if (isRestError(error) && error.code) return error.code;
  if (error instanceof Error && error.name === "AbortError") return "Timeout";
  return "RequestFailed";
}
