import { test } from "node:test";
import assert from "node:assert/strict";
import { csvField } from "../../shared/report/csv";

test("a formula trigger after leading whitespace is neutralised too (spreadsheets skip the whitespace)", () => {
  const cases: [string, string][] = [
    [" =1+1", `"' =1+1"`],
    ["  +SUM(1,2)", `"'  +SUM(1,2)"`],
    ["\n-2+3", `"'\n-2+3"`],
    ["\u00a0@SUM(A1)", `"'\u00a0@SUM(A1)"`],
    [' \t=HYPERLINK("http://x")', `"' \t=HYPERLINK(""http://x"")"`],
    ["\u0000", `"'\u0000"`],
    [" plain", '" plain"'],
    ["a =1", '"a =1"'],
    ["   ", '"   "'],
  ];
  for (const [value, expected] of cases) assert.equal(csvField(value), expected, JSON.stringify(value));
});
