import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  findBracketMismatch,
  listRepoFiles,
  objectProperty,
  parseBicep,
  readRepoFile,
  repoRoot,
  scanBicep,
  topLevelKeys,
} from "./bicep-text";

const bicepPaths = listRepoFiles("infra").filter((path) => path.endsWith(".bicep"));

test("infra holds main.bicep and its modules", () => {
  assert.ok(bicepPaths.includes("infra/main.bicep"));
  assert.ok(bicepPaths.length >= 2);
});

for (const path of bicepPaths) {
  test(`${path}: brackets balance, declarations are well formed, no registry modules`, () => {
    const source = readRepoFile(path);
    assert.equal(findBracketMismatch(scanBicep(source).structure), undefined);
    const file = parseBicep(source);
    assert.ok(file.params.length + file.resources.length > 0, "declares params or resources");
    for (const line of file.code.split("\n").filter((text) => /^param\s/.test(text))) {
      assert.match(line, /^param \w+ (string|int|bool|object|array)\b/, line);
    }
    for (const line of file.code.split("\n").filter((text) => /^\s*resource\s/.test(text))) {
      assert.match(line, /^\s*resource \w+ '[\w.]+\/[\w./]+@\d{4}-\d{2}-\d{2}(-preview)?'/, line);
    }
    assert.doesNotMatch(source, /'br[:/]/, "registry modules need a download the build cannot do");
    const declared = file.params.map((param) => param.name);
    assert.equal(new Set(declared).size, declared.length, "duplicate param");
  });
}

test("every module a Bicep file references exists, gets every required param, and only known params", () => {
  for (const path of bicepPaths) {
    const file = parseBicep(readRepoFile(path));
    for (const module of file.modules) {
      const target = join(dirname(path), module.path);
      assert.ok(existsSync(join(repoRoot, target)), `${path} -> ${module.path} is missing`);
      const moduleFile = parseBicep(readRepoFile(target));
      const passed = topLevelKeys(objectProperty(module.body, "params"));
      const declared = moduleFile.params.map((param) => param.name);
      for (const name of passed) assert.ok(declared.includes(name), `${module.path} has no param '${name}'`);
      for (const param of moduleFile.params.filter((candidate) => !candidate.hasDefault)) {
        assert.ok(passed.includes(param.name), `${path} does not pass required '${param.name}' to ${module.path}`);
      }
    }
  }
});

test("every module output main.bicep reads is declared by that module", () => {
  const main = parseBicep(readRepoFile("infra/main.bicep"));
  const outputsBySymbol = new Map(
    main.modules.map((module) => [module.symbol, parseBicep(readRepoFile(join("infra", module.path))).outputs]),
  );
  const references = [...main.code.matchAll(/\b(\w+)\.outputs\.(\w+)/g)];
  assert.ok(references.length > 0);
  for (const [, symbol, output] of references) {
    const outputs = outputsBySymbol.get(symbol as string);
    assert.ok(outputs, `unknown module '${symbol}'`);
    assert.ok(outputs.includes(output as string), `module '${symbol}' has no output '${output}'`);
  }
});

test("no account keys, listKeys or keyed connection strings anywhere in infra", () => {
  const forbidden = [/listKeys\s*\(/i, /AccountKey\s*=/i, /SharedAccessKey/i, /\.keys\[/i, /primaryKey/i, /listConnectionStrings/i, /SharedAccessSignature/i];
  for (const path of listRepoFiles("infra")) {
    const text = readRepoFile(path);
    for (const pattern of forbidden) assert.doesNotMatch(text, pattern, `${path} matches ${pattern}`);
  }
});
