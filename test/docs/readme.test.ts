import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withSettingsTable } from "../../shared/settings-table";

const root = join(__dirname, "..", "..", "..");

test("the README's configuration table matches the settings the code reads (npm run docs:settings)", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  assert.equal(readme, withSettingsTable(readme));
});

test("the README's first screen gives the install, run and test commands", () => {
  const firstScreen = readFileSync(join(root, "README.md"), "utf8").split("\n").slice(0, 20).join("\n");
  for (const command of ["npm ci", "npm start", "npm test"]) assert.ok(firstScreen.includes(command), command);
});
