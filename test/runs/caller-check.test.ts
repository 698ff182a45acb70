import { test } from "node:test";
import assert from "node:assert/strict";
import { callerPolicy, checkCaller, type CallerAccess, type CallerPolicy } from "../../shared/runs/caller-check";
import {
  encodePrincipal as principal,
  OBJECT_ID_CLAIM as OID,
  principalWithRoles as withRoles,
} from "../functions/client-principal";

const ALLOWED = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const OTHER = "11111111-2222-4333-8444-555555555555";
const ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

const keyAlone: CallerPolicy = { mode: "function-key", allowedObjectIds: [], easyAuthEnabled: false };
const entra: CallerPolicy = { mode: "entra", allowedObjectIds: [], easyAuthEnabled: true };
const listed: CallerPolicy = { ...entra, allowedObjectIds: [ALLOWED] };

test("the caller check: Easy Auth principal, app roles, allow-list, fail closed", () => {
  const cases: {
    name: string;
    header?: string;
    policy: CallerPolicy;
    access: CallerAccess;
    reason?: RegExp;
    cause?: "configuration" | "caller";
  }[] = [
    { name: "function key alone: no header needed", policy: keyAlone, access: "operate" },
    { name: "function key alone ignores a forged header", header: "%%%", policy: keyAlone, access: "operate" },
    {
      name: "Easy Auth off: a forged principal is refused without being read",
      header: withRoles(ALLOWED, "MailboxAudit.Operate"),
      policy: { ...listed, easyAuthEnabled: false },
      access: "operate",
      reason: /App Service Authentication is not enabled/,
      cause: "configuration",
    },
    { name: "missing header", policy: entra, access: "read", reason: /missing/ },
    {
      name: "not base64 JSON",
      header: "%%%",
      policy: entra,
      access: "read",
      reason: /not a base64-encoded JSON principal/,
    },
    {
      name: "JSON but not a principal",
      header: Buffer.from("null").toString("base64"),
      policy: entra,
      access: "read",
      reason: /not a base64-encoded JSON principal/,
    },
    {
      name: "another identity provider",
      header: principal(
        [
          { typ: OID, val: ALLOWED },
          { typ: "roles", val: "MailboxAudit.Operate" },
        ],
        { auth_typ: "github" },
      ),
      policy: entra,
      access: "read",
      reason: /not authenticated by Entra ID/,
    },
    {
      name: "no object id claim",
      header: principal([{ typ: "roles", val: "MailboxAudit.Operate" }]),
      policy: entra,
      access: "read",
      reason: /no object id/,
    },
    { name: "reader may read", header: withRoles(OTHER, "MailboxAudit.Read"), policy: entra, access: "read" },
    {
      name: "reader may not operate",
      header: withRoles(OTHER, "MailboxAudit.Read"),
      policy: entra,
      access: "operate",
      reason: /lacks the MailboxAudit\.Operate app role/,
    },
    {
      name: "operator may operate",
      header: withRoles(OTHER, "MailboxAudit.Operate"),
      policy: entra,
      access: "operate",
    },
    { name: "operator may read", header: withRoles(OTHER, "MailboxAudit.Operate"), policy: entra, access: "read" },
    {
      name: "no role",
      header: withRoles(OTHER),
      policy: entra,
      access: "read",
      reason: /lacks the MailboxAudit\.Read app role/,
    },
    {
      name: "a role of another app",
      header: withRoles(OTHER, "Directory.Read.All"),
      policy: entra,
      access: "read",
      reason: /lacks/,
    },
    {
      name: "role names are exact",
      header: withRoles(OTHER, "mailboxaudit.operate"),
      policy: entra,
      access: "operate",
      reason: /lacks/,
    },
    {
      name: "the long role claim type",
      header: principal([
        { typ: OID, val: OTHER },
        { typ: ROLE, val: "MailboxAudit.Read" },
      ]),
      policy: entra,
      access: "read",
    },
    {
      name: "the principal's own role_typ",
      header: principal(
        [
          { typ: "oid", val: OTHER },
          { typ: "custom-role", val: "MailboxAudit.Read" },
        ],
        { role_typ: "custom-role" },
      ),
      policy: entra,
      access: "read",
    },
    {
      name: "a role in a name claim is not a role",
      header: principal([
        { typ: OID, val: OTHER },
        { typ: "name", val: "MailboxAudit.Operate" },
      ]),
      policy: entra,
      access: "read",
      reason: /lacks/,
    },
    {
      name: "listed and holding the role (upper-case oid)",
      header: withRoles(ALLOWED.toUpperCase(), "MailboxAudit.Operate"),
      policy: listed,
      access: "operate",
    },
    {
      name: "holding the role but not listed",
      header: withRoles(OTHER, "MailboxAudit.Operate"),
      policy: listed,
      access: "operate",
      reason: /not in ALLOWED_CALLER_OBJECT_IDS/,
    },
    {
      name: "listed but without the role",
      header: withRoles(ALLOWED),
      policy: listed,
      access: "read",
      reason: /lacks/,
    },
  ];
  for (const { name, header, policy, access, reason, cause } of cases) {
    const result = checkCaller(header, policy, access);
    assert.equal(result.allowed, reason === undefined, name);
    if (!result.allowed) {
      assert.match(result.reason, reason ?? /never/, name);
      assert.equal(result.cause, cause ?? "caller", name);
    }
  }
});

test("the caller policy from the settings: only a blank or function-key CALLER_AUTH without an allow-list is the key alone", () => {
  const cases: {
    name: string;
    list: string[];
    settings: Record<string, string>;
    mode: CallerPolicy["mode"];
    easyAuth: boolean;
  }[] = [
    { name: "nothing set", list: [], settings: {}, mode: "function-key", easyAuth: false },
    {
      name: "function-key",
      list: [],
      settings: { CALLER_AUTH: " Function-Key " },
      mode: "function-key",
      easyAuth: false,
    },
    {
      name: "entra",
      list: [],
      settings: { CALLER_AUTH: "entra", WEBSITE_AUTH_ENABLED: "True" },
      mode: "entra",
      easyAuth: true,
    },
    { name: "an allow-list implies entra", list: [ALLOWED], settings: {}, mode: "entra", easyAuth: false },
    {
      name: "an allow-list overrides function-key",
      list: [ALLOWED],
      settings: { CALLER_AUTH: "function-key" },
      mode: "entra",
      easyAuth: false,
    },
    {
      name: "a typo is stricter, not looser",
      list: [],
      settings: { CALLER_AUTH: "entra-id" },
      mode: "entra",
      easyAuth: false,
    },
    {
      name: "WEBSITE_AUTH_ENABLED other than true",
      list: [],
      settings: { CALLER_AUTH: "entra", WEBSITE_AUTH_ENABLED: "1" },
      mode: "entra",
      easyAuth: false,
    },
  ];
  for (const { name, list, settings, mode, easyAuth } of cases) {
    const policy = callerPolicy(list, settings);
    assert.equal(policy.mode, mode, name);
    assert.equal(policy.easyAuthEnabled, easyAuth, name);
    assert.deepEqual(policy.allowedObjectIds, list, name);
  }
});
