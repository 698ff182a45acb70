import { test } from "node:test";
import assert from "node:assert/strict";
import { posix } from "node:path";
import { listRepoFiles, readRepoFile } from "./bicep-text";

/** The .funcignore patterns as matchers (the gitignore subset it uses: names, `*`, paths from the root). */
function ignoreMatchers(text: string): RegExp[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((pattern) => {
      const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*");
      return new RegExp(`${pattern.includes("/") ? "^" : "(^|/)"}${body}(/.*)?$`);
    });
}

const matchers = ignoreMatchers(readRepoFile(".funcignore"));
const ignored = (path: string): boolean => matchers.some((matcher) => matcher.test(path));

/** Repository files the app's code imports outside TypeScript (JSON read by `resolveJsonModule`). */
function importedJsonFiles(): string[] {
  const sources = [...listRepoFiles("functions"), ...listRepoFiles("shared")].filter((path) => path.endsWith(".ts"));
  return sources.flatMap((source) =>
    [...readRepoFile(source).matchAll(/from "(\.[^"]+\.json)"/g)].map((match) =>
      posix.normalize(posix.join(posix.dirname(source), match[1] as string)),
    ),
  );
}

test(".funcignore leaves node_modules behind, as the remote build requires, and ships what the build reads", () => {
  assert.ok(ignored("node_modules/pino/package.json"), "remoteBuild: true needs node_modules excluded");
  const built = [
    "package.json",
    "package-lock.json",
    "host.json",
    "tsconfig.json",
    ...listRepoFiles("functions"),
    ...listRepoFiles("shared"),
  ];
  const json = importedJsonFiles();
  assert.ok(json.includes("infra/storage-layout.json") && json.includes("policy/audit-baseline.v1.json"));
  for (const path of [...built, ...json])
    assert.ok(!ignored(path), `${path} is needed by the remote build but ignored`);
});

test(".funcignore keeps development-only trees out of the package", () => {
  const left = [
    "test/alerts/fixtures.ts",
    "emulator/graph.ts",
    "cli/main.ts",
    "bench/audit-bench.ts",
    "docs/first-run.md",
    "infra/main.bicep",
    "infra/modules/function-app.bicep",
    "infra/tenant-setup/Grant-TenantAccess.ps1",
    "local.settings.json",
    "dist/test/alerts/fixtures.js",
    "dist/cli/main.js",
    "dist/functions/report-http.js.map",
  ];
  for (const path of left) assert.ok(ignored(path), `${path} would be deployed`);
  assert.ok(!ignored("dist/functions/report-http.js"));
});
