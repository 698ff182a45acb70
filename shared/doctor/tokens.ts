/**
 * The tokens the product's credential obtains, read for their `roles` claim (Entra ID's application permissions).
 * The JWT payload is decoded without checking the signature (the service checks it; here it only says what was
 * granted); the token itself is never logged, printed or kept.
 */
import type { TokenCredential } from "@azure/core-auth";
import { z } from "zod";
import type { Check, TokenSummary } from "./check";
import { EXCHANGE_MANAGE_AS_APP, type PermissionRequirement } from "./requirements";

const claimsSchema = z.looseObject({
  roles: z.array(z.string()).optional(),
  appid: z.string().optional(),
  azp: z.string().optional(),
  oid: z.string().optional(),
});

/** The claims of a JWT's payload that say who the app is and what it was granted; undefined when it is not a JWT. */
export function decodeTokenClaims(token: string): { roles: string[]; appId?: string; objectId?: string } | undefined {
  const payload = token.split(".")[1];
  if (token.split(".").length !== 3 || !payload) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = claimsSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const appId = parsed.data.appid ?? parsed.data.azp;
  return {
    roles: parsed.data.roles ?? [],
    ...(appId ? { appId } : {}),
    ...(parsed.data.oid ? { objectId: parsed.data.oid } : {}),
  };
}

/** Obtains a token for `scope` and keeps only its roles and identifiers. */
export async function readToken(credential: TokenCredential, scope: string): Promise<TokenSummary> {
  let token: string | undefined;
  try {
    token = (await credential.getToken(scope))?.token;
  } catch (error) {
    return { scope, acquired: false, roles: [], error: error instanceof Error ? error.message : String(error) };
  }
  if (!token) return { scope, acquired: false, roles: [], error: "the credential returned no token" };
  const claims = decodeTokenClaims(token);
  if (!claims) return { scope, acquired: true, roles: [], error: "the token is not a JWT: its roles cannot be read" };
  return { scope, acquired: true, ...claims };
}

function unreadable(title: string, token: TokenSummary): Check {
  return {
    area: "token",
    title,
    status: token.acquired ? "unknown" : "problem",
    detail: token.error ?? "no token",
    fix: token.acquired
      ? "check the token with a JWT decoder"
      : "check TENANT_ID, AZURE_CLIENT_ID and the certificate (or the managed identity) and that admin consent was given",
  };
}

function roleCheck(title: string, token: TokenSummary, requirement: PermissionRequirement, api: string): Check {
  const held = [requirement.permission, ...requirement.alsoSatisfiedBy].find((permission) => token.roles.includes(permission));
  if (held) return { area: "token", title, status: "ok", detail: held === requirement.permission ? "granted" : `granted through ${held}` };
  return {
    area: "token",
    title,
    status: "problem",
    detail: `the token's roles do not include it (needed for ${requirement.usedFor})`,
    fix: `grant the ${api} application permission ${requirement.permission} and give admin consent (infra/tenant-setup/Grant-TenantAccess.ps1 does both)${requirement.otherwise ? `, ${requirement.otherwise}` : ""}`,
  };
}

const MANAGE_AS_APP: PermissionRequirement = {
  permission: EXCHANGE_MANAGE_AS_APP,
  usedFor: "every call to the Exchange admin API",
  alsoSatisfiedBy: [],
};

/** One check per permission the tokens must carry (one for a token that could not be read). */
export function tokenChecks(
  tokens: { exchange: TokenSummary; graph: TokenSummary },
  graphRequirements: readonly PermissionRequirement[],
): Check[] {
  const exchange = tokens.exchange.error
    ? unreadable("Exchange token", tokens.exchange)
    : roleCheck(`Exchange token has ${EXCHANGE_MANAGE_AS_APP}`, tokens.exchange, MANAGE_AS_APP, "Office 365 Exchange Online");
  const graph = tokens.graph.error
    ? [unreadable("Graph token", tokens.graph)]
    : graphRequirements.map((requirement) => roleCheck(`Graph token has ${requirement.permission}`, tokens.graph, requirement, "Microsoft Graph"));
  return [exchange, ...graph];
}

/** Grants that work against least privilege: Entra `Mail.Send` lets the app send as every mailbox. */
export function tokenWarnings(graph: TokenSummary): string[] {
  return graph.roles.includes("Mail.Send")
    ? ["The Graph token carries Mail.Send: the product does not need it (alert mail uses Exchange RBAC for Applications); remove it."]
    : [];
}
