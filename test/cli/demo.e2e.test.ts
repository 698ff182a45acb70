/** `npm start` (`mailbox-audit demo`): the plan first, then the apply, then the converged plan, ending on the report. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { DEMO_REPORT_PATH, runDemo } from "../../cli/demo";
import type { Output } from "../../cli/run-command";

test("the demo plans, applies, plans again and ends on the HTML report's path", async () => {
  let text = "";
  const output: Output = { out: (chunk) => (text += chunk), err: () => undefined, progress: false };
  const exitCode = await runDemo({ mailboxes: 2, drift: 0.3, json: false }, output);
  assert.equal(exitCode, 0, text);
  const totals = text.split("\n").filter((line) => /^(Plan|Apply): /.test(line));
  assert.equal(totals.length, 3, text);
  assert.match(totals[0] ?? "", /^Plan: [1-9]\d* to change, /);
  assert.match(totals[1] ?? "", /^Apply: [1-9]\d* changed, \d+ compliant, 0 failed\.$/);
  assert.match(totals[2] ?? "", /^Plan: 0 to change, \d+ compliant, 0 failed\.$/);
  assert.match(text, /^Run \S+ \(plan, full\) for tenant contoso \(/m);
  assert.equal(text.trimEnd().split("\n").at(-1), `HTML report written to ${DEMO_REPORT_PATH}`);
  assert.match(await readFile(DEMO_REPORT_PATH, "utf8"), /^<!doctype html>/i);
});
