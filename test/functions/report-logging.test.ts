import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { createReportHandler } from "../../functions/report-http";
import type { LogLevel } from "../../shared/config";
import { MemoryOutcomeStore } from "../../shared/storage/memory-outcome-store";

const TENANT = "contoso.onmicrosoft.com";

/** The lines the report handler writes through the invocation context at `logLevel`. */
async function linesLoggedAt(logLevel: LogLevel): Promise<string[]> {
  const lines: string[] = [];
  const handler = createReportHandler(() =>
    Promise.resolve({
      store: new MemoryOutcomeStore(),
      tenants: [TENANT],
      callers: { mode: "function-key", allowedObjectIds: [], easyAuthEnabled: false },
      logLevel,
    }),
  );
  const context = new InvocationContext({
    functionName: "report",
    logHandler: (_level, ...args) => lines.push(args.map(String).join(" ")),
  });
  const response = await handler(new HttpRequest({ method: "GET", url: "https://app.example/api/report" }), context);
  assert.equal(response.status, 200);
  return lines;
}

test("GET /api/report honours LOG_LEVEL", async () => {
  assert.ok(
    (await linesLoggedAt("info")).some((line) => line.includes("report requested")),
    "info: the request is logged",
  );
  assert.deepEqual(await linesLoggedAt("warn"), [], "warn: nothing below warn");
  assert.deepEqual(await linesLoggedAt("silent"), [], "silent: nothing");
});
