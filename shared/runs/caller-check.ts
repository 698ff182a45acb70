/**
 * The optional Entra ID caller check on top of the function key: App Service Authentication (Easy Auth) validates
 * the caller's token and passes its claims in `x-ms-client-principal` (base64 JSON); the app then requires the
 * caller's object id to be listed. The header is trusted only because Easy Auth strips it from incoming requests
 * and sets it itself — so this check is meaningful only with Easy Auth enabled (docs/operations.md). Pure.
 */

export const CLIENT_PRINCIPAL_HEADER = "x-ms-client-principal";
const OBJECT_ID_CLAIMS = new Set(["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"]);

export type CallerCheck = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** Checks the header against the allowed object ids (lower case); with none configured, every caller passes. */
export function checkCaller(header: string | null | undefined, allowedObjectIds: readonly string[]): CallerCheck {
  if (allowedObjectIds.length === 0) return { allowed: true };
  if (!header) return { allowed: false, reason: `${CLIENT_PRINCIPAL_HEADER} is missing (Entra ID authentication is required)` };
  let principal: unknown;
  try {
    principal = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch {
    return { allowed: false, reason: `${CLIENT_PRINCIPAL_HEADER} is not base64 JSON` };
  }
  const claims = (principal as { claims?: unknown }).claims;
  const objectId = Array.isArray(claims)
    ? (claims as { typ?: unknown; val?: unknown }[]).find((claim) => typeof claim.typ === "string" && OBJECT_ID_CLAIMS.has(claim.typ))?.val
    : undefined;
  if (typeof objectId !== "string") return { allowed: false, reason: "the caller's principal carries no object id" };
  return allowedObjectIds.includes(objectId.toLowerCase())
    ? { allowed: true }
    : { allowed: false, reason: "the caller is not allowed to start runs" };
}
