/**
 * The on-demand run request, pure: run ids, the content type, and the body (size, JSON, repeated keys, the schema,
 * the scope); tables of cases, each refusal with its exact problems. The HTTP function's own refusals are in
 * test/functions/hostile-input.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  isJsonContentType,
  isRunId,
  MAX_RUN_REQUEST_BYTES,
  parseRunRequest,
  RunRequestError,
  type RunRequest,
} from "../../shared/runs/run-request";

/** The problems `parseRunRequest` refused `body` with (fails the test when it was accepted or threw something else). */
function problemsOf(body: string): readonly string[] {
  try {
    parseRunRequest(body);
  } catch (error) {
    assert.ok(error instanceof RunRequestError, String(error));
    return error.problems;
  }
  assert.fail(`accepted: ${body.slice(0, 80)}`);
}

test("isRunId: a letter or digit, then up to 127 of letters, digits and . _ : -", () => {
  const cases: [string, boolean][] = [
    ["2026-01-01T02:00:00.000Z-5f3a1b2c", true],
    ["a", true],
    ["9", true],
    ["a._:-Z", true],
    [`a${"b".repeat(127)}`, true],
    [`a${"b".repeat(128)}`, false],
    ["", false],
    ["-run", false],
    [".run", false],
    ["tenant|run", false],
    ["run id", false],
    ["rün", false],
    ["run\n", false],
    ["\nrun", false],
    ["../leases", false],
  ];
  for (const [value, expected] of cases) assert.equal(isRunId(value), expected, JSON.stringify(value));
});

test("isJsonContentType: application/json, with no charset or UTF-8", () => {
  const cases: [string | null, boolean][] = [
    ["application/json", true],
    ["Application/JSON", true],
    [" application/json ", true],
    ["application/json; charset=utf-8", true],
    ["application/json;charset=UTF-8", true],
    ['application/json; charset="utf-8"', true],
    ["application/json; odata.metadata=minimal", true],
    ["application/json; odata.metadata=minimal; charset=utf-8", true],
    ["application/json; charset=utf-16", false],
    ["application/json; charset=utf-8x", false],
    ["application/json; charset=xutf-8", false],
    ["application/json; charset=utf-8; charset=latin1", false],
    ["application/json-patch+json", false],
    ["text/plain", false],
    ["text/plain; charset=utf-8", false],
    ["application/x-www-form-urlencoded", false],
    ["", false],
    [null, false],
  ];
  for (const [value, expected] of cases) assert.equal(isJsonContentType(value), expected, String(value));
});

test("parseRunRequest: what is accepted, exactly as read", () => {
  const cases: [string, RunRequest][] = [
    ['{"mode":"plan","scope":"tenant"}', { mode: "plan", scope: "tenant", full: false }],
    [
      '{"mode":"apply","scope":"tenant","full":true,"changeLimit":0,"tenant":"contoso.onmicrosoft.com"}',
      { mode: "apply", scope: "tenant", full: true, changeLimit: 0, tenant: "contoso.onmicrosoft.com" },
    ],
    ['{"mode":"apply","scope":"tenant","changeLimit":10000000}', { mode: "apply", scope: "tenant", full: false, changeLimit: 10_000_000 }],
    [
      '{"mode":"plan","scope":{"mailboxes":[" Adele@contoso.com ","0A1B2C3D-0000-4000-8000-00000000000F"]},"full":false}',
      { mode: "plan", scope: { mailboxes: ["Adele@contoso.com", "0A1B2C3D-0000-4000-8000-00000000000F"] }, full: false },
    ],
    [JSON.stringify({ mode: "plan", scope: "tenant", tenant: "t".repeat(256) }), { mode: "plan", scope: "tenant", full: false, tenant: "t".repeat(256) }],
  ];
  for (const [body, expected] of cases) assert.deepEqual(parseRunRequest(body), expected, body.slice(0, 80));
  const most = Array.from({ length: 1_000 }, (_, index) => `user${index}@contoso.com`);
  assert.deepEqual(parseRunRequest(JSON.stringify({ mode: "plan", scope: { mailboxes: most } })).scope, { mailboxes: most });
});

test("parseRunRequest: every refusal with its exact problems", () => {
  const tooMany = Array.from({ length: 1_001 }, (_, index) => `user${index}@contoso.com`);
  const cases: [string, string, string[]][] = [
    ["not JSON", "mode=plan", ["body: not valid JSON"]],
    ["empty", "", ["body: not valid JSON"]],
    ["an array", '[{"a":1},{"a":2}]', ["body: Invalid input: expected object, received array"]],
    ["null", "null", ["body: Invalid input: expected object, received null"]],
    ["nothing in it", "{}", ["mode: must be 'plan' or 'apply'", "scope: must be 'tenant' or { mailboxes: [...] }"]],
    ["a mode in another case", '{"mode":"Apply","scope":"tenant"}', ["mode: must be 'plan' or 'apply'"]],
    ["an unknown scope", '{"mode":"plan","scope":"all"}', ["scope: must be 'tenant' or { mailboxes: [...] }"]],
    ["a list as the scope", '{"mode":"plan","scope":[]}', ["scope: must be 'tenant' or { mailboxes: [...] }"]],
    ["an unknown key", '{"mode":"plan","scope":"tenant","dryRun":true}', ['body: Unrecognized key: "dryRun"']],
    ["full as a string", '{"mode":"plan","scope":"tenant","full":"yes"}', ["full: Invalid input: expected boolean, received string"]],
    ["a fractional change limit", '{"mode":"apply","scope":"tenant","changeLimit":1.5}', ["changeLimit: must be a whole number of targets"]],
    ["a change limit as a string", '{"mode":"apply","scope":"tenant","changeLimit":"5"}', ["changeLimit: must be a whole number of targets"]],
    ["a negative change limit", '{"mode":"apply","scope":"tenant","changeLimit":-1}', ["changeLimit: must be 0 or more"]],
    ["a change limit past the largest", '{"mode":"apply","scope":"tenant","changeLimit":10000001}', ["changeLimit: must be at most 10000000"]],
    ["an empty tenant", '{"mode":"plan","scope":"tenant","tenant":""}', ["tenant: Too small: expected string to have >=1 characters"]],
    [
      "a 257-character tenant",
      JSON.stringify({ mode: "plan", scope: "tenant", tenant: "t".repeat(257) }),
      ["tenant: Too big: expected string to have <=256 characters"],
    ],
    [
      "two problems at once, in order",
      '{"mode":"run","scope":"tenant","full":1}',
      ["mode: must be 'plan' or 'apply'", "full: Invalid input: expected boolean, received number"],
    ],
    ["no mailboxes", '{"mode":"plan","scope":{"mailboxes":[]}}', ["scope.mailboxes: must name at least one mailbox"]],
    ["an empty scope object", '{"mode":"plan","scope":{}}', ["scope.mailboxes: must be a list of mailbox identities"]],
    ["an unknown key in the scope", '{"mode":"plan","scope":{"mailboxes":["a@contoso.com"],"x":1}}', ['scope: Unrecognized key: "x"']],
    ["one mailbox, not a list", '{"mode":"plan","scope":{"mailboxes":"a@contoso.com"}}', ["scope.mailboxes: must be a list of mailbox identities"]],
    ["a number as a mailbox", '{"mode":"plan","scope":{"mailboxes":[1]}}', ["scope.mailboxes.0: Invalid input: expected string, received number"]],
    ["1,001 mailboxes", JSON.stringify({ mode: "plan", scope: { mailboxes: tooMany } }), ["scope.mailboxes: must name at most 1000 mailboxes"]],
    [
      "not a mailbox identity",
      '{"mode":"plan","scope":{"mailboxes":["a@contoso.com","nope"]}}',
      ['scope.mailboxes: Not an SMTP address, UPN or GUID: "nope"'],
    ],
    ["a full sweep of named mailboxes", '{"mode":"plan","scope":{"mailboxes":["a@contoso.com"]},"full":true}', ["full: applies only to scope 'tenant'"]],
  ];
  for (const [name, body, expected] of cases) assert.deepEqual(problemsOf(body), expected, name);
});

test("parseRunRequest: a body larger than 64 KiB is refused by its UTF-8 size, before it is parsed", () => {
  const minimal = '{"mode":"plan","scope":"tenant"}';
  const padded = (bytes: number) => minimal.slice(0, -1) + " ".repeat(bytes - minimal.length) + "}";
  assert.equal(Buffer.byteLength(padded(MAX_RUN_REQUEST_BYTES)), 65_536);
  assert.equal(parseRunRequest(padded(MAX_RUN_REQUEST_BYTES)).mode, "plan", "exactly the limit");
  assert.deepEqual(problemsOf(padded(MAX_RUN_REQUEST_BYTES + 1)), ["body: larger than 65536 bytes"]);
  // 40,000 characters of two bytes each: under the limit in characters, over it in bytes.
  const wide = JSON.stringify({ mode: "plan", scope: "tenant", tenant: "ü".repeat(40_000) });
  assert.ok(wide.length < MAX_RUN_REQUEST_BYTES);
  assert.deepEqual(problemsOf(wide), ["body: larger than 65536 bytes"]);
  assert.deepEqual(problemsOf(`not JSON${" ".repeat(MAX_RUN_REQUEST_BYTES)}`), ["body: larger than 65536 bytes"], "size first");
});

test("parseRunRequest: a key repeated within one object is refused, compared decoded; the same key elsewhere is not", () => {
  const cases: [string, string | undefined][] = [
    ['{"mode":"plan","scope":"tenant","mode":"apply"}', "mode"],
    ['{ "mode" : "plan" , "mode" : "apply" , "scope" : "tenant" }', "mode"],
    ['{"mode":"plan","\\u006dode":"apply","scope":"tenant"}', "mode"],
    ['{"mode":"plan","scope":{"mailboxes":["a@contoso.com"],"mailboxes":["b@contoso.com"]}}', "mailboxes"],
    ['{"scope":{"mailboxes":["a@contoso.com","b@contoso.com"]},"scope":"tenant","mode":"plan"}', "scope"],
    ['{"mode":"plan","scope":"tenant","x":[{"k":1},{"k":2,"k":3}]}', "k"],
    ['{"mode":"plan","scope":"tenant","tenant":"x\\\\","mode":"apply"}', "mode"],
    ['{"mode":"plan","scope":"tenant","tenant":"a\\"mode\\":\\"b"}', undefined],
    ['{"tenant":"mode","mode":"plan","scope":"tenant"}', undefined],
    ['{"scope":{"mailboxes":["mode@contoso.com","scope@contoso.com"]},"mode":"plan"}', undefined],
    ['{"mode":"plan","scope":{"mailboxes":["a@contoso.com"]},"tenant":"scope"}', undefined],
  ];
  for (const [body, duplicate] of cases) {
    if (duplicate === undefined) assert.doesNotThrow(() => parseRunRequest(body), body);
    else assert.deepEqual(problemsOf(body), [`body: the key "${duplicate}" appears more than once`], body);
  }
  const long = "k".repeat(100);
  assert.deepEqual(problemsOf(`{"${long}":1,"${long}":2}`), [`body: the key "${"k".repeat(64)}" appears more than once`], "named by its first 64 characters");
  assert.deepEqual(problemsOf('[{"k":1},{"k":2}]'), ["body: Invalid input: expected object, received array"], "one key per object");
});

test("RunRequestError: every problem in its message", () => {
  const error = new RunRequestError(["mode: a", "scope: b"]);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "RunRequestError");
  assert.equal(error.message, "Invalid run request: mode: a; scope: b");
  assert.deepEqual(error.problems, ["mode: a", "scope: b"]);
  assert.throws(() => parseRunRequest("{}"), {
    name: "RunRequestError",
    message: "Invalid run request: mode: must be 'plan' or 'apply'; scope: must be 'tenant' or { mailboxes: [...] }",
  });
});
