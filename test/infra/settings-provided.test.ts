import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../shared/config";

const root = join(__dirname, "..", "..", "..");

test("every setting the app reads in Azure is provided by infra/app-settings.json", () => {
  const provided = new Set(
    (JSON.parse(readFileSync(join(root, "infra/app-settings.json"), "utf8")) as { appSettings: { name: string }[] }).appSettings.map((setting) => setting.name),
  );
  const settings: readonly { name: string; scope?: string }[] = SETTINGS;
  const missing = settings.filter((setting) => (setting.scope ?? "app") === "app" && !provided.has(setting.name)).map((setting) => setting.name);
  assert.deepEqual(missing, []);
  for (const setting of settings.filter((candidate) => candidate.scope === "platform" || candidate.scope === "cli")) {
    assert.ok(!provided.has(setting.name), `${setting.name} is ${setting.scope}-provided, not an app setting`);
  }
});
