/** `mailbox-audit report --html FILE` over Table Storage (Azurite): the file an auditor gets, and the exit code. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runReport } from "../../cli/report-command";
import { escapeHtml } from "../../shared/report/html-escape";
import { TABLE_NAMES } from "../../shared/storage/storage-layout";
import { TableOutcomeStore } from "../../shared/storage/table-outcome-store";
import { useAzurite } from "../support/azurite";
import { FAILED_REQUEST_ID, HOSTILE_NAME, recordFixture, TENANT } from "../report/html-fixture";

describe("mailbox-audit report --html", () => {
  const azurite = useAzurite();

  it("writes the self-contained report to the file, says where, and exits 1 for the failed target", async () => {
    const connection = { connectionString: azurite().connectionString };
    await recordFixture(new TableOutcomeStore({ connection, tableNames: { ...TABLE_NAMES } }));
    const directory = await mkdtemp(join(tmpdir(), "report-html-"));
    try {
      const file = join(directory, "report.html");
      let stdout = "";
      const env = {
        TENANT_ID: TENANT,
        AzureWebJobsStorage: azurite().connectionString,
        LOG_LEVEL: "silent",
        // The runtime builds a credential even for the report, which never calls Exchange.
        IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
        IDENTITY_HEADER: "unused",
      };
      const exitCode = await runReport({ format: "html", file }, env, (chunk) => (stdout += chunk));
      assert.equal(exitCode, 1);
      assert.equal(stdout, `HTML report written to ${file}\n`);
      const page = await readFile(file, "utf8");
      assert.match(page, /^<!doctype html>/);
      assert.ok(page.includes(escapeHtml(HOSTILE_NAME)));
      assert.ok(page.includes(FAILED_REQUEST_ID));
      assert.match(page, /CIS Microsoft 365 Foundations/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
