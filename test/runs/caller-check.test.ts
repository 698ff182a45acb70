import { test } from "node:test";
import assert from "node:assert/strict";
import { checkCaller } from "../../shared/runs/caller-check";

const ALLOWED = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const principal = (claims: { typ: string; val: string }[]) => Buffer.from(JSON.stringify({ auth_typ: "aad", claims })).toString("base64");
const OID = "http://schemas.microsoft.com/identity/claims/objectidentifier";

test("the Easy Auth caller check", () => {
  const cases: { name: string; header: string | undefined; allowed: readonly string[]; expected: boolean; reason?: RegExp }[] = [
    { name: "no allow-list: the function key alone", header: undefined, allowed: [], expected: true },
    { name: "missing header", header: undefined, allowed: [ALLOWED], expected: false, reason: /missing/ },
    { name: "not base64 JSON", header: "%%%", allowed: [ALLOWED], expected: false, reason: /not base64 JSON/ },
    { name: "no object id claim", header: principal([{ typ: "name", val: "x" }]), allowed: [ALLOWED], expected: false, reason: /no object id/ },
    { name: "listed oid (long claim name)", header: principal([{ typ: OID, val: ALLOWED.toUpperCase() }]), allowed: [ALLOWED], expected: true },
    { name: "listed oid (short claim name)", header: principal([{ typ: "oid", val: ALLOWED }]), allowed: [ALLOWED], expected: true },
    { name: "another caller", header: principal([{ typ: OID, val: "11111111-2222-4333-8444-555555555555" }]), allowed: [ALLOWED], expected: false, reason: /not allowed/ },
  ];
  for (const { name, header, allowed, expected, reason } of cases) {
    const result = checkCaller(header, allowed);
    assert.equal(result.allowed, expected, name);
    if (!result.allowed && reason) assert.match(result.reason, reason, name);
  }
});
