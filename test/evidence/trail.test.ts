/** The pure part of the audit trail: which operations a change leaves, and which records are its. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { TargetOutcome } from "../../shared/domain/outcome";
import type { AuditRecord } from "../../shared/evidence/audit-search";
import { changeKey, expectedChange, operationsToSearch, TrailMatcher, type ExpectedChange } from "../../shared/evidence/trail";

const OID = "6f1c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const OUR_APP = "11111111-2222-4333-8444-555555555555";
const OTHER_APP = "99999999-8888-4777-8666-555555555555";

function remediated(kind: TargetOutcome["kind"], targetId: string, displayName: string, extra: Partial<TargetOutcome> = {}): TargetOutcome {
  return { kind, targetId, displayName, status: "remediated", findings: [], ...extra };
}

const drift = (setting: string) => ({ kind: "drift" as const, setting, message: setting });

describe("expectedChange: the operations each kind of change leaves", () => {
  const cases: [string, TargetOutcome, readonly string[] | undefined][] = [
    ["mailbox", remediated("mailbox", OID, "ann@contoso.com"), ["Set-Mailbox"]],
    ["bypass association", remediated("bypass-association", "svc-backup", "svc-backup"), ["Set-MailboxAuditBypassAssociation"]],
    ["organisation, AuditDisabled", remediated("organization", "organization", "Organisation", { findings: [drift("AuditDisabled")] }), ["Set-OrganizationConfig"]],
    [
      "organisation, unified audit log (with customisation)",
      remediated("organization", "organization", "Organisation", { findings: [drift("UnifiedAuditLogIngestionEnabled")] }),
      ["Set-AdminAuditLogConfig", "Enable-OrganizationCustomization"],
    ],
    ["transport config NDR", remediated("organization", "transport-config", "Transport config", { findings: [drift("JournalingReportNdrTo")] }), ["Set-TransportConfig"]],
    [
      "organisation, a setting not known here: every cmdlet of the kind",
      remediated("organization", "organization", "Organisation", { findings: [drift("SomethingNew")] }),
      ["Set-OrganizationConfig", "Set-AdminAuditLogConfig", "Enable-OrganizationCustomization", "Set-TransportConfig"],
    ],
    ["transport rule", remediated("transport-rule", "capture all mail", "capture all mail"), ["New-TransportRule", "Set-TransportRule", "Enable-TransportRule", "Remove-TransportRule"]],
    ["journal rule", remediated("journal-rule", "journal", "journal"), ["New-JournalRule", "Set-JournalRule", "Enable-JournalRule"]],
    ["capture mailbox created", remediated("capture-mailbox", "soc@contoso.com", "soc@contoso.com", { findings: [drift("Present")] }), ["New-Mailbox"]],
    [
      "capture mailbox hidden and access fixed",
      remediated("capture-mailbox", OID, "soc@contoso.com", { findings: [drift("HiddenFromAddressListsEnabled"), drift("FullAccess")] }),
      ["Set-Mailbox", "Add-MailboxPermission", "Remove-MailboxPermission"],
    ],
    ["capture mailbox: only its sign-in blocked (Graph): nothing in the Exchange admin log", remediated("capture-mailbox", OID, "soc@contoso.com", { findings: [drift("AccountEnabled")] }), undefined],
    ["not remediated", { ...remediated("mailbox", OID, "ann@contoso.com"), status: "compliant" }, undefined],
    ["failed (a write that did not verify is no proven change)", { ...remediated("mailbox", OID, "ann@contoso.com"), status: "failed" }, undefined],
    ["evidence targets are no change", remediated("audit-trail", "run-1", "Changes of run run-1"), undefined],
  ];
  for (const [name, outcome, operations] of cases) {
    test(name, () => assert.deepEqual(expectedChange(outcome)?.operations, operations));
  }

  test("names: id, display name, address local part and names kept in before/after, lower case, no blanks", () => {
    const change = expectedChange(
      remediated("capture-mailbox", OID, "SOC@Contoso.com", {
        findings: [drift("Present")],
        before: { Present: false, Name: "" },
        after: { Alias: "soc-capture", Guid: "A0B1C2D3-0000-4000-8000-000000000001", Identity: "unknown" },
      }),
    );
    assert.deepEqual(change?.names, [OID, "soc@contoso.com", "soc", "soc-capture", "a0b1c2d3-0000-4000-8000-000000000001"]);
  });

  test("only the organisation is a singleton", () => {
    assert.equal(expectedChange(remediated("organization", "organization", "Organisation"))?.singleton, true);
    assert.equal(expectedChange(remediated("mailbox", OID, "ann@contoso.com"))?.singleton, false);
  });

  test("operationsToSearch: each operation once, sorted", () => {
    const changes = [remediated("mailbox", OID, "a@b.com"), remediated("bypass-association", "x", "x"), remediated("mailbox", "m2", "c@d.com")].map((outcome) => expectedChange(outcome)!);
    assert.deepEqual(operationsToSearch(changes), ["Set-Mailbox", "Set-MailboxAuditBypassAssociation"]);
  });
});

describe("TrailMatcher: which records are the run's changes", () => {
  const window = { windowStartInMs: Date.parse("2026-03-01T02:00:00Z"), windowEndInMs: Date.parse("2026-03-01T03:00:00Z") };
  const mailbox = expectedChange(remediated("mailbox", OID, "ann@contoso.com"))!;
  const organisation = expectedChange(remediated("organization", "organization", "Organisation", { findings: [drift("AuditDisabled")] }))!;
  const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
    id: "r-1",
    createdDateTime: "2026-03-01T02:30:00Z",
    auditLogRecordType: "exchangeAdmin",
    operation: "Set-Mailbox",
    objectId: OID,
    auditData: { AppId: OUR_APP },
    ...overrides,
  });
  const found = (changes: readonly ExpectedChange[], records: readonly AuditRecord[], ownAppIds: readonly string[] = [OUR_APP]): string[] => {
    const matcher = new TrailMatcher(changes, { ...window, ownAppIds });
    matcher.add(records);
    return [...matcher.found];
  };
  const key = changeKey(mailbox);

  const cases: [string, Partial<AuditRecord>, boolean][] = [
    ["objectId is the object id", {}, true],
    ["objectId is the id in another case", { objectId: OID.toUpperCase() }, true],
    ["objectId is a path ending in the id", { objectId: `EURPR01A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/${OID}` }, true],
    ["objectId is a path ending in the address's local part", { objectId: "contoso.onmicrosoft.com\\ann" }, true],
    ["objectId is the address", { objectId: "Ann@Contoso.com" }, true],
    ["objectId only ends with the name, not as a path segment", { objectId: "joann" }, false],
    ["objectId names another object, Parameters name ours", { objectId: "Ann Example", auditData: { AppId: OUR_APP, Parameters: [{ Name: "Identity", Value: "ann@contoso.com" }, { Name: "AuditEnabled", Value: "True" }] } }, true],
    ["Parameters name another object", { objectId: "Bob", auditData: { Parameters: [{ Name: "Identity", Value: "bob@contoso.com" }] } }, false],
    ["Parameters that are not a list are ignored", { objectId: "Bob", auditData: { Parameters: "Identity=ann@contoso.com" } }, false],
    ["another operation", { operation: "Set-CASMailbox" }, false],
    ["the operation in another case", { operation: "set-mailbox" }, true],
    ["another record type", { auditLogRecordType: "exchangeItem" }, false],
    ["before the window", { createdDateTime: "2026-03-01T01:59:59Z" }, false],
    ["at the window's end", { createdDateTime: "2026-03-01T03:00:00Z" }, true],
    ["after the window", { createdDateTime: "2026-03-01T03:00:01Z" }, false],
    ["made by an app known not to be ours", { auditData: { AppId: OTHER_APP } }, false],
    ["a client app known not to be ours", { auditData: { ClientAppId: OTHER_APP } }, false],
    ["an app id that is not a GUID proves nothing either way", { auditData: { AppId: "Exchange Admin Center" } }, true],
    ["no app named: could be ours", { auditData: {} }, true],
    ["no auditData at all", { auditData: null }, true],
    ["a cmdlet that failed", { auditData: { AppId: OUR_APP, ResultStatus: "False" } }, false],
    ["a cmdlet that succeeded", { auditData: { AppId: OUR_APP, ResultStatus: "True" } }, true],
    ["no operation", { operation: null }, false],
  ];
  for (const [name, overrides, matches] of cases) {
    test(name, () => assert.deepEqual(found([mailbox], [record(overrides)]), matches ? [key] : []));
  }

  test("without a known app id of ours, another app's record still counts (nothing is known not to be ours)", () => {
    assert.deepEqual(found([mailbox], [record({ auditData: { AppId: OTHER_APP } })], []), [key]);
  });

  test("the organisation is matched on its operation alone, whatever objectId says", () => {
    assert.deepEqual(found([organisation], [record({ operation: "Set-OrganizationConfig", objectId: "contoso.onmicrosoft.com" })]), [changeKey(organisation)]);
    assert.deepEqual(found([organisation], [record({ operation: "Set-AdminAuditLogConfig", objectId: "contoso.onmicrosoft.com" })]), []);
  });

  test("complete once every change is found; missing lists the rest, once each", () => {
    const other = expectedChange(remediated("mailbox", "m-2", "bob@contoso.com"))!;
    const matcher = new TrailMatcher([mailbox, other, mailbox], { ...window, ownAppIds: [] });
    matcher.add([record()]);
    assert.equal(matcher.complete, false);
    assert.deepEqual(matcher.missing().map((change) => change.targetId), ["m-2"]);
    matcher.add([record({ objectId: "bob" })]);
    assert.equal(matcher.complete, true);
    assert.deepEqual(matcher.missing(), []);
  });

  test("a page of many records against many changes costs a look-up per record (10,000 x 1,000 stays fast)", () => {
    const changes = Array.from({ length: 1000 }, (_, index) => expectedChange(remediated("mailbox", `id-${index}`, `user${index}@contoso.com`))!);
    const records = Array.from({ length: 10_000 }, (_, index) => record({ id: `r-${index}`, objectId: `x/user${index % 2000}` }));
    const matcher = new TrailMatcher(changes, { ...window, ownAppIds: [] });
    matcher.add(records);
    assert.equal(matcher.found.size, 1000);
  });
});
