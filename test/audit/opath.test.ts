/** OPATH filter building: quoting, dates in Microsoft's en-US form, identity validation; tables of cases. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedSinceFilter, identityFilter, opathDate, opathString, parseMailboxIdentities } from "../../shared/audit/opath";

test("opathString: single quotes doubled, control characters refused", () => {
  assert.equal(opathString("o'brien"), "'o''brien'");
  assert.equal(opathString("a''b"), "'a''''b'");
  assert.equal(opathString(""), "''");
  for (const bad of ["a\u0000b", "line\nbreak", "tab\t", "\u001f", "del\u007f"]) assert.throws(() => opathString(bad), RangeError, JSON.stringify(bad));
  assert.equal(opathString("\u0020ok\u0080"), "' ok\u0080'");
});

test("opathDate: en-US, 12-hour clock, UTC, milliseconds dropped", () => {
  const cases: [string, string][] = [
    ["2017-08-01T14:00:00.999Z", "'8/1/2017 2:00:00 PM'"],
    ["2026-12-31T00:05:09Z", "'12/31/2026 12:05:09 AM'"],
    ["2026-01-02T12:00:00Z", "'1/2/2026 12:00:00 PM'"],
    ["2026-01-02T11:59:59Z", "'1/2/2026 11:59:59 AM'"],
    ["2026-01-02T23:07:00Z", "'1/2/2026 11:07:00 PM'"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(opathDate(input), expected, input);
    assert.equal(opathDate(new Date(input)), expected, `${input} as a Date`);
  }
  assert.throws(() => opathDate("not a date"), /Not a valid date: not a date/);
  assert.throws(() => opathDate(new Date(Number.NaN)), RangeError);
});

test("changedSinceFilter", () => {
  assert.equal(changedSinceFilter("2026-06-01T09:30:00Z"), "WhenChangedUTC -ge '6/1/2026 9:30:00 AM'");
});

test("parseMailboxIdentities: GUIDs (lower-cased) and addresses, every rejection named at once", () => {
  assert.deepEqual(parseMailboxIdentities([" 0A1B2C3D-0000-4000-8000-00000000000F ", "o'brien@contoso.com", "a.b+c@mail.contoso.co.uk"]), [
    { kind: "guid", value: "0a1b2c3d-0000-4000-8000-00000000000f" },
    { kind: "address", value: "o'brien@contoso.com" },
    { kind: "address", value: "a.b+c@mail.contoso.co.uk" },
  ]);
  assert.deepEqual(parseMailboxIdentities([]), []);
  const rejected = ["x' -or Name -like '*", "nodomain@", "a@b", "@contoso.com", "a..b@contoso.com", "0a1b2c3d-0000-4000-8000-00000000000", "a@-contoso.com", `${"a".repeat(310)}@contoso.com`, "x0a1b2c3d-0000-4000-8000-00000000000f"];
  assert.throws(
    () => parseMailboxIdentities(["ok@contoso.com", ...rejected]),
    (error: unknown) => error instanceof RangeError && rejected.every((value) => error.message.includes(JSON.stringify(value))) && !error.message.includes("ok@contoso.com"),
  );
  assert.deepEqual(parseMailboxIdentities([`${"a".repeat(300)}@contoso.com`]).length, 1, "320 characters is the limit");
});

test("parseMailboxIdentities: the edges of each form", () => {
  const cases: [string, "guid" | "address" | "rejected"][] = [
    ["0a1b2c3d-0000-4000-8000-00000000000f", "guid"],
    ["0a1b2c3d-0000-4000-8000-00000000000f0", "rejected"], // 13 digits in the last group
    ["x@b.contoso.com", "address"], // a one-character first domain label
    ["x@contoso.b.com", "address"], // and a later one
    ["x@contoso.c", "address"],
    [`${"a".repeat(308)}@contoso.com`, "address"], // 320 characters: the limit
    [`${"a".repeat(309)}@contoso.com`, "rejected"], // 321
  ];
  for (const [input, expected] of cases) {
    let kind: string;
    try {
      kind = parseMailboxIdentities([input])[0]?.kind ?? "none";
    } catch {
      kind = "rejected";
    }
    assert.equal(kind, expected, `${input.length} characters: ${input.slice(0, 40)}`);
  }
  assert.throws(() => parseMailboxIdentities(["a@b", "ok@contoso.com", "nodomain@"]), {
    name: "RangeError",
    message: 'Not an SMTP address, UPN or GUID: "a@b", "nodomain@"',
  });
});

test("identityFilter: ORs ExternalDirectoryObjectId and PrimarySmtpAddress clauses, quoted", () => {
  assert.equal(
    identityFilter([{ kind: "guid", value: "0a1b" }, { kind: "address", value: "o'brien@contoso.com" }]),
    "ExternalDirectoryObjectId -eq '0a1b' -or PrimarySmtpAddress -eq 'o''brien@contoso.com'",
  );
  assert.equal(identityFilter([{ kind: "address", value: "a@b.c" }]), "PrimarySmtpAddress -eq 'a@b.c'");
  assert.throws(() => identityFilter([]), /at least one identity/);
});
