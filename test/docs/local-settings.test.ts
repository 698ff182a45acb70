import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, SETTINGS } from "../../shared/config";

const root = join(__dirname, "..", "..", "..");

test("local.settings.json.example only names settings the app reads, and loads as a valid configuration", () => {
  const { Values } = JSON.parse(readFileSync(join(root, "local.settings.json.example"), "utf8")) as { Values: Record<string, string> };
  const known = new Set<string>([...SETTINGS.map((setting) => setting.name), "FUNCTIONS_WORKER_RUNTIME", "ALERT_WEBHOOK_URL"]);
  assert.deepEqual(Object.keys(Values).filter((name) => !known.has(name)), []);
  const { AZURE_CLIENT_CERTIFICATE_PATH: _path, ...values } = Values;
  void _path;
  assert.doesNotThrow(() => loadConfig({ ...values, AZURE_CLIENT_ID: "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b" }));
});
