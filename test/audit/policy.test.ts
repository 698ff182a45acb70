/** Audit policy validation: the accepted forms, the defaults, and every problem named with its path; tables of cases. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAuditPolicy } from "../../shared/audit/policy";
import { policy } from "./fixtures";

test("policy: a bypass exemption expires on a date or a date-time with Z or an offset, nothing looser", () => {
  const cases: [string, boolean][] = [
    ["2026-03-01", true],
    ["2026-03-01T12:00:00Z", true],
    ["2026-03-01T12:00:00+02:00", true],
    ["2026-03-01T12:00:00.5-05:30", true],
    ["2026-03-01T12:00:00", false],
    ["2026-03-01 12:00", false],
    ["1 March 2026", false],
  ];
  for (const [expiresOn, accepted] of cases) {
    const parse = () =>
      policy((document) => {
        document.bypass.allowList = [{ identity: "svc-backup", reason: "Backup service", expiresOn }];
      });
    if (accepted) assert.equal(parse().bypass.allowList[0]?.expiresOn, expiresOn, expiresOn);
    else assert.throws(parse, /^Error: Invalid audit policy: bypass\.allowList\.0\.expiresOn: /, expiresOn);
  }
});

test("policy: the defaults of what a document may leave out", () => {
  const parsed = policy((document) => {
    const mailboxes: Partial<typeof document.mailboxes> = document.mailboxes;
    delete mailboxes.exactLists;
    const scan: Partial<typeof document.scan> = document.scan;
    delete scan.fullSweepIntervalInDays;
    delete scan.watermarkOverlapInMinutes;
  });
  assert.equal(parsed.mailboxes.exactLists, false, "only add what is missing, unless asked");
  assert.deepEqual(parsed.scan, { fullSweepIntervalInDays: 7, watermarkOverlapInMinutes: 15 });
  assert.equal(policy((document) => (document.mailboxes.exactLists = true)).mailboxes.exactLists, true);
});

test("policy: every problem is named, with its path, in one error", () => {
  const cases: [string, () => unknown, string | RegExp][] = [
    [
      "an action Exchange would reject, under its logon type",
      () => policy((document) => void document.mailboxes.actions.Owner.push("FolderBind")),
      "Invalid audit policy: mailboxes.actions.Owner: 'FolderBind' is not an Exchange Online audit action for Owner",
    ],
    [
      "two problems, in document order",
      () =>
        policy((document) => {
          (document as { version: number }).version = 2;
          (document.organization as { auditDisabled: boolean }).auditDisabled = true;
        }),
      /^Invalid audit policy: version: [^;]+; organization\.auditDisabled: [^;]+$/,
    ],
    ["not an object: the root", () => parseAuditPolicy("policy"), /^Invalid audit policy: \(root\): [^;]+$/],
  ];
  for (const [name, parse, message] of cases) {
    assert.throws(parse, (error: unknown) => {
      assert.ok(error instanceof Error, name);
      if (typeof message === "string") assert.equal(error.message, message, name);
      else assert.match(error.message, message, name);
      return true;
    });
  }
});
