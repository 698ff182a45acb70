/**
 * Who may call the HTTP functions, beyond the function key. With Entra caller authentication on, App Service
 * Authentication (Easy Auth) validates the caller's token and passes its claims in `x-ms-client-principal` (base64
 * JSON `{ auth_typ, claims: [{ typ, val }], role_typ }`); the app then requires an app role of its registration in
 * the `roles` claim (`MailboxAudit.Read` to read, `MailboxAudit.Operate` to start runs, which includes reading)
 * and, when ALLOWED_CALLER_OBJECT_IDS is set, the caller's object id in that list.
 *
 * The header is trustworthy only because Easy Auth strips it from incoming requests and sets it itself, so the check
 * fails closed: when Entra callers are required and the platform does not report Easy Auth enabled
 * (`WEBSITE_AUTH_ENABLED`), every request is refused and the header is never read. Pure.
 */

import { z } from "zod";

export const CLIENT_PRINCIPAL_HEADER = "x-ms-client-principal";

/** The app roles of the API's app registration (infra/tenant-setup/Register-ApiApplication.ps1 creates them). */
export const APP_ROLES = { read: "MailboxAudit.Read", operate: "MailboxAudit.Operate" } as const;

/** What a request needs: `read` (report, run status) or `operate` (start plan/apply runs). */
export type CallerAccess = keyof typeof APP_ROLES;

/** `CALLER_AUTH` values: the function key alone, or the function key plus an Entra caller with an app role. */
export const CALLER_AUTH_MODES = ["function-key", "entra"] as const;

export interface CallerPolicy {
  readonly mode: (typeof CALLER_AUTH_MODES)[number];
  /** Object ids allowed besides the role (lower case); empty: every caller holding the role. */
  readonly allowedObjectIds: readonly string[];
  /** App Service Authentication is on for this app (the platform's `WEBSITE_AUTH_ENABLED`). */
  readonly easyAuthEnabled: boolean;
}

export type CallerCheck =
  | { readonly allowed: true; /** The Entra object id of the caller (entra mode); undefined with the function key alone. */ readonly caller?: string }
  | {
      readonly allowed: false;
      readonly reason: string;
      /** `configuration`: the app cannot verify any caller (an operator must fix it); `caller`: this caller is refused. */
      readonly cause: "configuration" | "caller";
    };

/**
 * The caller policy from the settings. Anything but a blank or `function-key` CALLER_AUTH means Entra callers, and
 * so does an allow-list (it cannot be checked without them): a typo or a contradiction makes the check stricter.
 */
export function callerPolicy(
  allowedObjectIds: readonly string[],
  settings: { readonly CALLER_AUTH?: string | undefined; readonly WEBSITE_AUTH_ENABLED?: string | undefined },
): CallerPolicy {
  const requested = (settings.CALLER_AUTH ?? "").trim().toLowerCase();
  const keyAlone = (requested === "" || requested === "function-key") && allowedObjectIds.length === 0;
  return {
    mode: keyAlone ? "function-key" : "entra",
    allowedObjectIds,
    easyAuthEnabled: (settings.WEBSITE_AUTH_ENABLED ?? "").trim().toLowerCase() === "true",
  };
}

const OBJECT_ID_CLAIMS = new Set(["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"]);
const ROLE_CLAIMS = ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];

const principalSchema = z.object({
  auth_typ: z.string(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
  role_typ: z.string().nullish(),
});

type ClientPrincipal = z.infer<typeof principalSchema>;

function decodePrincipal(header: string): ClientPrincipal | undefined {
  try {
    return principalSchema.parse(JSON.parse(Buffer.from(header, "base64").toString("utf8")));
  } catch {
    return undefined;
  }
}

function rolesOf(principal: ClientPrincipal): Set<string> {
  const types = new Set([...ROLE_CLAIMS, ...(principal.role_typ ? [principal.role_typ] : [])]);
  return new Set(principal.claims.filter((claim) => types.has(claim.typ)).map((claim) => claim.val));
}

const refuse = (reason: string, cause: "configuration" | "caller" = "caller"): CallerCheck => ({
  allowed: false,
  reason,
  cause,
});

/** Checks a request's principal header against the policy for the access it needs. */
export function checkCaller(
  header: string | null | undefined,
  policy: CallerPolicy,
  access: CallerAccess,
): CallerCheck {
  if (policy.mode === "function-key") return { allowed: true };
  if (!policy.easyAuthEnabled) {
    return refuse(
      `Entra caller authentication is configured but App Service Authentication is not enabled for the app, so ${CLIENT_PRINCIPAL_HEADER} cannot be trusted`,
      "configuration",
    );
  }
  if (!header) return refuse(`${CLIENT_PRINCIPAL_HEADER} is missing (Entra ID authentication is required)`);
  const principal = decodePrincipal(header);
  if (!principal) return refuse(`${CLIENT_PRINCIPAL_HEADER} is not a base64-encoded JSON principal`);
  if (principal.auth_typ !== "aad") return refuse("the caller was not authenticated by Entra ID");
  const objectId = principal.claims.find((claim) => OBJECT_ID_CLAIMS.has(claim.typ))?.val.toLowerCase();
  if (!objectId) return refuse("the caller's principal carries no object id");
  if (policy.allowedObjectIds.length > 0 && !policy.allowedObjectIds.includes(objectId)) {
    return refuse("the caller is not in ALLOWED_CALLER_OBJECT_IDS");
  }
  const roles = rolesOf(principal);
  const granted = roles.has(APP_ROLES.operate) || (access === "read" && roles.has(APP_ROLES.read));
  return granted ? { allowed: true, caller: objectId } : refuse(`the caller lacks the ${APP_ROLES[access]} app role`);
}
