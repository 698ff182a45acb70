/** The CLI as a process: exit codes and where help, versions and usage errors go. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";

const root = resolve(__dirname, "../../..");
const main = join(root, "dist/cli/main.js");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };

/** Nothing from the caller's environment: no tenant, no storage. */
const env = { PATH: process.env["PATH"] ?? "", LOG_LEVEL: "silent" };

function cli(
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [main, ...args], {
    env: { ...env, ...extraEnv },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const HINT = /^Run 'mailbox-audit (?:[a-z]+ )?--help' for usage\.$/;

describe("mailbox-audit exit codes", () => {
  const cases: [string, number, "stdout" | "stderr", RegExp][] = [
    ["--help", 0, "stdout", /^Usage: mailbox-audit <command>/],
    ["report --help", 0, "stdout", /^Usage: mailbox-audit report /],
    ["--version", 0, "stdout", new RegExp(`^mailbox-audit ${version.replaceAll(".", "\\.")}\\n$`)],
    ["", 64, "stderr", /^Usage: mailbox-audit <command>/],
    ["plan --bogus", 64, "stderr", /^mailbox-audit: Unknown option '--bogus'\n/],
    ["report --json --csv", 64, "stderr", /^mailbox-audit: Choose one of --json, --csv\.\n/],
    ["frob", 64, "stderr", /^mailbox-audit: Unknown command 'frob'\.\n/],
    ["plan", 78, "stderr", /TENANT_ID/],
    ["report --html report.html", 78, "stderr", /TENANT_ID/],
  ];
  for (const [line, status, stream, output] of cases) {
    it(`'mailbox-audit ${line}' exits ${status}`, () => {
      const result = cli(line === "" ? [] : line.split(" "));
      assert.equal(result.status, status, result.stderr);
      assert.match(result[stream], output);
      if (status === 0) assert.equal(result.stderr, "");
    });
  }

  it("exits 78 when no credential is configured", () => {
    const result = cli(["plan"], { TENANT_ID: "contoso.onmicrosoft.com" });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /^No credential configured/);
  });

  it("prints a usage error as one line and the hint to --help, not the whole usage", () => {
    for (const args of [["plan", "--bogus"], ["report", "--csv", "--html", "x"], ["frob"]]) {
      const lines = cli(args).stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[1] ?? "", HINT);
    }
  });
});
