import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { commandUsage, parseCommand, usage, UsageError, type Command, type CommandName } from "../../cli/args";

describe("parseCommand", () => {
  const cases: [string, Command][] = [
    ["--help", { name: "help" }],
    ["-h", { name: "help" }],
    ["help", { name: "help" }],
    ["help report", { name: "help", topic: "report" }],
    ["plan --help", { name: "help", topic: "plan" }],
    ["report --json -h", { name: "help", topic: "report" }],
    ["--version", { name: "version" }],
    ["plan", { name: "plan", full: false, mailboxes: [], json: false, capture: true }],
    [
      "apply --mailbox a@contoso.com --mailbox b@contoso.com --change-limit 5 --no-capture --json",
      {
        name: "apply",
        full: false,
        mailboxes: ["a@contoso.com", "b@contoso.com"],
        json: true,
        capture: false,
        changeLimit: 5,
      },
    ],
    ["plan --out outcomes.jsonl", { name: "plan", full: false, mailboxes: [], json: false, capture: true, out: "outcomes.jsonl" }],
    ["report", { name: "report", format: "text" }],
    ["report --csv --mailbox a@contoso.com", { name: "report", format: "csv", mailbox: "a@contoso.com" }],
    ["report --html out.html", { name: "report", format: "html", file: "out.html" }],
    ["doctor --json", { name: "doctor", json: true }],
    ["demo --mailboxes 3 --drift 0.5", { name: "demo", mailboxes: 3, drift: 0.5, json: false }],
  ];
  for (const [line, expected] of cases) {
    it(`parses '${line}'`, () => assert.deepEqual(parseCommand(line.split(" ")), expected));
  }

  const errors: [string, RegExp, CommandName | undefined][] = [
    ["", /^No command given\.$/, undefined],
    ["frob", /^Unknown command 'frob'\.$/, undefined],
    ["help frob", /^Unknown command 'frob'\.$/, undefined],
    ["plan --bogus", /^Unknown option '--bogus'$/, "plan"],
    ["plan extra", /^Unexpected argument 'extra'\.$/, "plan"],
    ["plan --full --mailbox a@contoso.com", /cannot be combined/, "plan"],
    ["apply --change-limit 1.5", /--change-limit must be an integer >= 0/, "apply"],
    ["apply --out", /argument missing/, "apply"],
    ["plan --out=", /^--out needs a file name\.$/, "plan"],
    ["report --json --csv", /^Choose one of --json, --csv\.$/, "report"],
    ["report --csv --html x.html", /^Choose one of --csv, --html\.$/, "report"],
    ["report --html", /argument missing/, "report"],
    ["demo --drift 2", /--drift must be between 0 and 1/, "demo"],
    ["emulator --missing-role Nope", /--missing-role must be one of/, "emulator"],
  ];
  for (const [line, message, command] of errors) {
    it(`rejects '${line}' with one line naming ${command ?? "no command"}`, () => {
      assert.throws(
        () => parseCommand(line === "" ? [] : line.split(" ")),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, message);
          assert.ok(!error.message.includes("\n"), "one line");
          assert.equal(error.command, command);
          return true;
        },
      );
    });
  }
});

describe("usage", () => {
  it("lists every command and the exit codes", () => {
    for (const name of ["plan", "apply", "doctor", "report", "emulator", "demo"])
      assert.match(usage, new RegExp(`^  ${name} `, "m"));
    assert.match(usage, /64 bad usage; 78 bad configuration/);
  });

  it("gives each command its own help with its options", () => {
    assert.match(commandUsage("report"), /^Usage: mailbox-audit report .*--html <file>/);
    assert.match(commandUsage("report"), /--mailbox <id>/);
    assert.match(commandUsage("plan"), /--change-limit <n>/);
    assert.match(commandUsage("apply"), /^Usage: mailbox-audit apply .*--out <file>/);
    assert.doesNotMatch(commandUsage("doctor"), /--change-limit/);
  });
});

it("--no-evidence skips the audit-log evidence; without it the field is absent (the phase runs when configured)", () => {
  assert.equal((parseCommand(["apply", "--no-evidence"]) as { evidence?: false }).evidence, false);
  assert.equal("evidence" in parseCommand(["apply"]), false);
});
