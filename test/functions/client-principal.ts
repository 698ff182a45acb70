/** Easy Auth `x-ms-client-principal` headers for tests: base64 JSON `{ auth_typ, claims: [{ typ, val }] }`. */

export const OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier";

export function encodePrincipal(
  claims: readonly { typ: string; val: string }[],
  extra: Record<string, unknown> = {},
): string {
  return Buffer.from(JSON.stringify({ auth_typ: "aad", claims, ...extra })).toString("base64");
}

/** A principal with an object id and the given app roles (`roles` claims). */
export function principalWithRoles(objectId: string, ...roles: string[]): string {
  return encodePrincipal([
    { typ: OBJECT_ID_CLAIM, val: objectId },
    ...roles.map((role) => ({ typ: "roles", val: role })),
  ]);
}
