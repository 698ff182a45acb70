// Rewrites the configuration table in README.md from the compiled SETTINGS (run: npm run docs:settings).
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { withSettingsTable } = require("../dist/shared/settings-table.js");

const path = join(__dirname, "..", "README.md");
writeFileSync(path, withSettingsTable(readFileSync(path, "utf8")));
