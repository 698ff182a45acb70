/**
 * `--out FILE` against the emulated tenant: one valid JSON line per outcome at 10,000 mailboxes without storage, and
 * over Table Storage; and the tenant named in the text output.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { generateTenant } from "../../emulator/generate";
import { runCommand, type Output } from "../../cli/run-command";
import type { RunSummary } from "../../shared/domain/outcome";
import { startE2e } from "./stack";

const MAILBOXES = 10_000;

function capture(): Output & { text(): string; errors(): string } {
  let text = "";
  let errors = "";
  return { out: (chunk) => (text += chunk), err: (chunk) => (errors += chunk), progress: false, text: () => text, errors: () => errors };
}

/** Reads the file line by line (as a consumer would), checking each line parses; returns the outcomes' keys. */
async function readLines(path: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const line of createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity })) {
    const outcome = JSON.parse(line) as { kind?: unknown; targetId?: unknown; status?: unknown; runId?: unknown };
    assert.equal(typeof outcome.status, "string", line);
    assert.equal(typeof outcome.runId, "string", line);
    keys.push(`${String(outcome.kind)}|${String(outcome.targetId)}`);
  }
  return keys;
}

const outcomeCount = (summary: RunSummary): number => Object.values(summary.counts).reduce((sum, count) => sum + count, 0);

/** Plans `tenant` with `--out` (without Table Storage unless `storage`), checking the file against the run. */
function outCase(tenantSize: number, storage: boolean): void {
  const name = `plan ${storage ? "with Table Storage" : "without storage"} at ${tenantSize.toLocaleString("en")} mailboxes`;
  describe(name, async () => {
    const tenant = generateTenant({ seed: 11, counts: { user: tenantSize }, driftShare: 0.2 });
    const e2e = await startE2e(tenant);
    const directory = await mkdtemp(join(tmpdir(), "mailbox-audit-out-"));
    after(() => rm(directory, { recursive: true, force: true }));

    it("one valid JSON line per outcome, each target once; the text names the tenant", async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...e2e.stack.env, LOG_LEVEL: "silent" };
      if (!storage) delete env["AzureWebJobsStorage"];
      const path = join(directory, "outcomes.jsonl");
      const output = capture();
      const { exitCode, result } = await runCommand({ mode: "plan", full: true, mailboxes: [], json: false, capture: false, out: path }, env, output);
      assert.equal(exitCode, 2, "drift remains");
      assert.ok(result);
      const keys = await readLines(path);
      assert.equal(keys.length, outcomeCount(result.summary));
      assert.ok(keys.length > tenantSize, "every mailbox and the organisation");
      assert.equal(new Set(keys).size, keys.length, "each target once");
      assert.ok(result.outcomes.length < keys.length, "what is printed is a sample; the file has them all");
      assert.match(output.errors(), new RegExp(`${keys.length} outcomes written to `));
      assert.match(output.text(), new RegExp(`^Run \\S+ \\(plan, full\\) for tenant ${tenant.initialDomain.split(".")[0]} \\(${tenant.tenantId}\\)`));
    });
  });
}

outCase(MAILBOXES, false);
// The same decorator over the Table store; smaller, as recording 10,000 outcomes in Azurite takes most of a minute.
outCase(1_000, true);
