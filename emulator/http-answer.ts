import { randomUUID } from "node:crypto";

/** One HTTP answer (a response, or a `$batch` sub-response) before it is written. */
export interface HttpAnswer {
  readonly status: number;
  /** Header names as they are sent; `request-id` and `client-request-id` are added by `withCorrelation`. */
  readonly headers: Record<string, string>;
  /** A JSON value, or a string sent as is (non-JSON bodies), or nothing. */
  readonly body?: unknown;
  /** A timeout fault: hold the request and never answer. */
  readonly hold?: true;
}

export const HELD: HttpAnswer = { status: 0, headers: {}, hold: true };

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { "content-type": "application/json; odata.metadata=minimal; charset=utf-8", ...headers }, body };
}

/** Adds a fresh `request-id` and echoes `client-request-id`, as Exchange and Graph do on every response. */
export function withCorrelation(answer: HttpAnswer, clientRequestId: string | undefined): HttpAnswer {
  const headers: Record<string, string> = { ...answer.headers, "request-id": randomUUID() };
  if (clientRequestId) headers["client-request-id"] = clientRequestId;
  return { ...answer, headers };
}

/** Reads a header from a lower-cased header map (Node's `IncomingHttpHeaders` or a batch sub-request's). */
export function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The routing headers a call log record keeps: `X-AnchorMailbox` and `X-CmdletName`. */
export function requestHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): { anchorMailbox?: string; cmdletNameHeader?: string } {
  const anchorMailbox = headerValue(headers, "x-anchormailbox");
  const cmdletNameHeader = headerValue(headers, "x-cmdletname");
  return { ...(anchorMailbox ? { anchorMailbox } : {}), ...(cmdletNameHeader ? { cmdletNameHeader } : {}) };
}

/** Page size from `Prefer: odata.maxpagesize=N`, clamped to 1..max. */
export function preferredPageSize(prefer: string | undefined, fallback: number, max: number): number {
  const match = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer ?? "");
  if (!match?.[1]) return fallback;
  return Math.min(max, Math.max(1, Number(match[1])));
}

/** Keeps only the `select`ed properties (matched case-insensitively, spelled as the object spells them). */
export function project(value: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select || select.length === 0) return value;
  const wanted = new Set(select.map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(value).filter(([name]) => wanted.has(name.toLowerCase())));
}

/** `?$select=A,B` as a list; undefined when absent or empty. */
export function selectList(url: URL): string[] | undefined {
  const names = (url.searchParams.get("$select") ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return names.length > 0 ? names : undefined;
}
