import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CmdletFailure } from "../../emulator/cmdlet";
import { compileOpathFilter, parseFilterDate } from "../../emulator/opath";
import type { EmulatedMailbox } from "../../emulator/tenant-state";

function mailbox(overrides: Partial<EmulatedMailbox>): EmulatedMailbox {
  return {
    Guid: "g",
    ExternalDirectoryObjectId: "11111111-1111-4111-8111-111111111111",
    Identity: "adele",
    Name: "adele",
    Alias: "adele",
    DisplayName: "Adele",
    PrimarySmtpAddress: "adele@contoso.onmicrosoft.com",
    UserPrincipalName: "adele@contoso.onmicrosoft.com",
    RecipientTypeDetails: "UserMailbox",
    AuditEnabled: true,
    AuditLogAgeLimit: "90.00:00:00",
    AuditAdmin: [],
    AuditDelegate: [],
    AuditOwner: [],
    DefaultAuditSet: ["Admin", "Delegate", "Owner"],
    HiddenFromAddressListsEnabled: false,
    WhenCreatedUTC: "2026-01-10T00:00:00.000Z",
    WhenChangedUTC: "2026-11-24T12:00:00.000Z",
    auditPremiumLicensed: false,
    licensed: true,
    totalItemSizeInBytes: 0,
    itemCount: 0,
    ...overrides,
  };
}

const adele = mailbox({});
const quoted = mailbox({ Name: "x' -or Name -like '*", Alias: "o'neil", RecipientTypeDetails: "SharedMailbox" });

describe("compileOpathFilter", () => {
  const cases: [filter: string, onAdele: boolean][] = [
    ["WhenChangedUTC -gt '2026-11-24T00:00:00Z'", true],
    ["WhenChangedUTC -gt '2026-11-25T00:00:00Z'", false],
    ["WhenChangedUTC -ge '2026-11-24T12:00:00Z'", true],
    ["WhenChangedUTC -gt '2026-11-24T12:00:00Z'", false],
    ["WhenChangedUTC -eq '2026-11-24T22:00:00+10:00'", true],
    ["WhenChangedUTC -lt '11/25/2026'", true],
    ["WhenChanged -le '11/24/2026 12:00:00 PM'", true],
    ["WhenChanged -le '11/24/2026 11:59:59 AM'", false],
    ['WhenCreatedUTC -lt "2026-02-01"', true],
    ["WhenCreated -ne '2026-01-10T00:00:00Z'", false],
    ["RecipientTypeDetails -eq 'UserMailbox'", true],
    ["recipienttypedetails -EQ usermailbox", true],
    ["RecipientTypeDetails -ne 'UserMailbox'", false],
    ["PrimarySmtpAddress -like '*@contoso.onmicrosoft.com'", true],
    ["PrimarySmtpAddress -like 'ADELE@*'", true],
    ["Alias -like 'ad?le'", false],
    ["ExternalDirectoryObjectId -eq '11111111-1111-4111-8111-111111111111'", true],
    ["Name -eq 'adele' -and Alias -eq 'nobody'", false],
    ["Name -eq 'adele' -and Alias -eq 'nobody' -or Alias -eq 'adele'", true],
    ["Name -eq 'adele' -and (Alias -eq 'nobody' -or Alias -eq 'adele')", true],
    ["-not (Name -eq 'adele')", false],
    ["-not Name -eq 'bob' -and ((Alias -like 'a*'))", true],
    ["Name -gt 'ab' -and Name -lt 'ae'", true],
  ];
  for (const [filter, expected] of cases) {
    it(`${filter} -> ${expected}`, () => assert.equal(compileOpathFilter(filter)(adele), expected));
  }

  it("keeps an escaped injection attempt a literal value", () => {
    const filter = "Name -eq 'x'' -or Name -like ''*'";
    assert.equal(compileOpathFilter(filter)(adele), false);
    assert.equal(compileOpathFilter(filter)(quoted), true);
    assert.equal(compileOpathFilter("Alias -eq 'o''neil'")(quoted), true);
    assert.equal(compileOpathFilter('Alias -eq "o\'neil"')(quoted), true);
    assert.equal(compileOpathFilter('Name -like "x\' -or*"')(quoted), true);
  });

  const syntaxErrors: [filter: string, position: number][] = [
    ["Name -eq 'x' -or Name -like '*", 29],
    ["Name -eq 'x", 10],
    // Unescaped injection: the doubled quote swallows the rest until a lone quote is left unbalanced at the end.
    ["Name -eq 'x'' -or Name -like '*'", 32],
    ["Name -eq", 9],
    ["Name 'x'", 6],
    ["(Name -eq 'x'", 14],
    ["Name -eq 'x')", 13],
    ["Name -eq 'x' Alias -eq 'y'", 14],
    ["Name -contains 'x'", 6],
    ["", 1],
    ["-and", 1],
  ];
  for (const [filter, position] of syntaxErrors) {
    it(`rejects ${JSON.stringify(filter)} as invalid syntax`, () => {
      assert.throws(
        () => compileOpathFilter(filter),
        (error: unknown) =>
          error instanceof CmdletFailure &&
          error.text ===
            `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n"${filter}" at position ${position}."`,
      );
    });
  }

  it("rejects an unknown property and a value that is not a date", () => {
    assert.throws(
      () => compileOpathFilter("AuditEnabled -eq 'True'"),
      (error: unknown) =>
        error instanceof CmdletFailure && error.text.includes('"AuditEnabled" is not a recognized filterable property'),
    );
    assert.throws(
      () => compileOpathFilter("WhenChangedUTC -gt 'yesterday'"),
      (error: unknown) =>
        error instanceof CmdletFailure &&
        error.text.includes('The value "yesterday" could not be converted to type System.DateTime'),
    );
    assert.throws(() => compileOpathFilter("WhenChangedUTC -gt '2/30/2026'"), CmdletFailure);
  });
});

describe("parseFilterDate", () => {
  it("reads ISO and en-US dates as UTC instants", () => {
    assert.equal(parseFilterDate("2026-11-24"), Date.UTC(2026, 10, 24));
    assert.equal(parseFilterDate("2026-11-24T01:02:03"), Date.UTC(2026, 10, 24, 1, 2, 3));
    assert.equal(parseFilterDate("2026-11-24T01:02:03+01:00"), Date.UTC(2026, 10, 24, 0, 2, 3));
    assert.equal(parseFilterDate("11/24/2026 1:02:03 PM"), Date.UTC(2026, 10, 24, 13, 2, 3));
    assert.equal(parseFilterDate("11/24/2026 12:00 AM"), Date.UTC(2026, 10, 24, 0, 0, 0));
    assert.equal(parseFilterDate("13/01/2026"), undefined);
    assert.equal(parseFilterDate("soon"), undefined);
  });
});
