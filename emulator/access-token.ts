/**
 * Access tokens the emulator issues (from its managed identity endpoint) and accepts (on its Exchange and
 * Graph endpoints). They are JWT-shaped (`header.payload.signature`, base64url) and HMAC-signed.
 *
 * The signing key is per PROCESS, not per emulator instance, on purpose: @azure/msal-node keeps its managed
 * identity source and its token cache in static fields, so a `ManagedIdentityCredential` created for a second
 * emulator in the same process still talks to the first identity endpoint and may hand back a cached token.
 * Every emulator in the process therefore accepts every token the process issued (the tenant is not checked),
 * and a token from another process, a different key or a forged signature is refused.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { tokenRoles } from "./app-permissions";

export const EXCHANGE_AUDIENCE = "https://outlook.office365.com";
export const GRAPH_AUDIENCE = "https://graph.microsoft.com";

/** The default token lifetime, close to what Entra ID issues to managed identities. */
export const DEFAULT_TOKEN_LIFETIME_IN_SECONDS = 24 * 60 * 60;

const signingKey = randomBytes(32);

export interface AccessTokenClaims {
  /** Audience: the resource the token is for, without a trailing slash. */
  aud: string;
  /** The managed identity's client id. */
  appid: string;
  /** Object id of the app's service principal (Entra ID's `oid` for app-only tokens). */
  oid: string;
  /** The application permissions granted to the app on this resource (Entra ID's `roles` claim). */
  roles: string[];
  /** Expiry, unix seconds. */
  exp: number;
  /** Issued at, unix seconds. */
  iat: number;
  /** Unique token id. */
  uti: string;
}

/** Normalises a resource or audience (`https://graph.microsoft.com/`, `.../.default`) to its bare form. */
export function normaliseAudience(resource: string): string {
  return resource.replace(/\/\.default$/, "").replace(/\/+$/, "").toLowerCase();
}

/** Which of the emulated services a resource or audience names. */
export function resourceKind(resource: string): "exchange" | "graph" {
  return normaliseAudience(resource) === normaliseAudience(GRAPH_AUDIENCE) ? "graph" : "exchange";
}

/** Issues a token for `resource`. `lifetimeInSeconds` may be negative to mint an already expired token (tests). */
export function issueAccessToken(options: {
  resource: string;
  clientId: string;
  /** Default: the client id. */
  objectId?: string;
  /** Default: everything the product needs on this resource. */
  roles?: readonly string[];
  lifetimeInSeconds?: number;
  nowInMs?: number;
}): { token: string; claims: AccessTokenClaims } {
  const iat = Math.floor((options.nowInMs ?? Date.now()) / 1000);
  const aud = normaliseAudience(options.resource);
  const claims: AccessTokenClaims = {
    aud,
    appid: options.clientId,
    oid: options.objectId ?? options.clientId,
    roles: [...(options.roles ?? tokenRoles(undefined, resourceKind(aud)))],
    iat,
    exp: iat + (options.lifetimeInSeconds ?? DEFAULT_TOKEN_LIFETIME_IN_SECONDS),
    uti: randomUUID(),
  };
  const header = encode({ alg: "HS256", typ: "JWT" });
  const payload = encode(claims);
  return { token: `${header}.${payload}.${sign(`${header}.${payload}`)}`, claims };
}

export type TokenCheck =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly reason: "missing" | "malformed" | "signature" | "expired" | "audience" };

/** Checks an `Authorization` header value: a Bearer token this process issued, unexpired, for `audience`. */
export function checkBearerToken(authorization: string | undefined, audience: string, nowInMs = Date.now()): TokenCheck {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!match?.[1]) return { ok: false, reason: "missing" };
  const parts = match[1].split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [header, payload, signature] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${header}.${payload}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "signature" };
  let claims: AccessTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as AccessTokenClaims;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!Array.isArray(claims.roles)) return { ok: false, reason: "malformed" };
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= nowInMs) return { ok: false, reason: "expired" };
  if (claims.aud !== normaliseAudience(audience)) return { ok: false, reason: "audience" };
  return { ok: true, claims };
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function sign(data: string): string {
  return createHmac("sha256", signingKey).update(data).digest("base64url");
}
