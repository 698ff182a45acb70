/**
 * The pure-domain fence, checked on the real files (scripts/pure-modules.json, the same list ESLint uses): every
 * entry names files that exist, and each of them imports only other pure modules, the allowed packages and the
 * allowed type-only seams. No import cycles anywhere in shared/ (ESLint's import-x/no-cycle checks the same).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(__dirname, "../../..");
const fence = JSON.parse(readFileSync(join(root, "scripts/pure-modules.json"), "utf8")) as {
  files: string[];
  allowedPackages: string[];
  allowedNonPureModules: string[];
};

function expand(pattern: string): string[] {
  if (!pattern.includes("*")) return existsSync(join(root, pattern)) ? [pattern] : [];
  const directory = dirname(pattern);
  const suffix = pattern.slice(pattern.lastIndexOf("*") + 1);
  return readdirSync(join(root, directory))
    .filter((name) => name.endsWith(suffix))
    .map((name) => `${directory}/${name}`);
}

function importsOf(file: string): string[] {
  const source = readFileSync(join(root, file), "utf8");
  return [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((match) => match[1] ?? "");
}

function resolveModule(from: string, specifier: string): string {
  const base = relative(root, resolve(root, dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (existsSync(join(root, candidate)) && !candidate.endsWith("/")) return candidate;
  return base;
}

const pureFiles = fence.files.flatMap(expand);

test("every entry of the pure-module list names files that exist", () => {
  for (const pattern of fence.files) assert.ok(expand(pattern).length > 0, `${pattern} matches no file`);
  assert.ok(pureFiles.length >= fence.files.length);
});

test("pure modules import only pure modules, the allowed packages and the allowed seams", () => {
  const allowed = new Set([...pureFiles, ...fence.allowedNonPureModules]);
  const violations: string[] = [];
  for (const file of pureFiles) {
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith(".")) {
        if (!fence.allowedPackages.includes(specifier)) violations.push(`${file} imports package ${specifier}`);
        continue;
      }
      const target = resolveModule(file, specifier);
      if (!allowed.has(target)) violations.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test("the seams pure modules may import are themselves free of I/O", () => {
  for (const file of fence.allowedNonPureModules.filter((name) => name.endsWith(".ts"))) {
    for (const specifier of importsOf(file)) assert.ok(specifier.startsWith("."), `${file} imports package ${specifier}`);
  }
});
