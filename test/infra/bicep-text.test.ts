import { test } from "node:test";
import assert from "node:assert/strict";
import { findBracketMismatch, parseBicep, scanBicep, topLevelKeys } from "./bicep-text";

test("scanBicep drops comments and blanks string contents but keeps interpolation holes", () => {
  const scan = scanBicep("var a = 'x{[}' // trailing {\n/* { */ var b = 'p${c}q'");
  assert.equal(scan.code.includes("trailing"), false);
  assert.equal(scan.structure.includes("{[}"), false);
  assert.ok(scan.structure.includes("${c}"));
  assert.equal(findBracketMismatch(scan.structure), undefined);
});

test("scanBicep treats ''' strings as verbatim", () => {
  const scan = scanBicep("var q = '''\nlet x = { ( ${y}\n'''\nvar z = 1");
  assert.equal(findBracketMismatch(scan.structure), undefined);
  assert.ok(scan.code.includes("let x"));
});

test("scanBicep rejects unterminated strings and comments", () => {
  assert.throws(() => scanBicep("var a = 'open"));
  assert.throws(() => scanBicep("/* never closed"));
});

test("findBracketMismatch reports unbalanced and crossed brackets", () => {
  assert.match(findBracketMismatch("{ [ }") ?? "", /unexpected '\}'/);
  assert.match(findBracketMismatch("{\n(") ?? "", /never closed/);
  assert.equal(findBracketMismatch("{ [ ( ) ] }"), undefined);
});

test("parseBicep finds params, resources (plain, conditional, loops, existing), modules and outputs", () => {
  const file = parseBicep(
    [
      "param a string",
      "@secure()",
      "param b string = ''",
      "var settings = {",
      "  ONE: 'x'",
      "  nested: {",
      "    INNER: 1",
      "  }",
      "  TWO: '${a}'",
      "}",
      "resource plain 'Microsoft.X/y@2024-01-01' = {",
      "  name: 'p'",
      "}",
      "resource cond 'Microsoft.X/z@2024-01-01' = if (!empty(b)) {",
      "  name: 'c'",
      "}",
      "resource loop 'Microsoft.X/w@2024-01-01' = [",
      "  for item in items(settings): {",
      "    name: item.key",
      "  }",
      "]",
      "resource old 'Microsoft.X/v@2023-01-01' existing = {",
      "  name: 'o'",
      "}",
      "module m 'modules/m.bicep' = {",
      "  params: {",
      "    a: a",
      "  }",
      "}",
      "output out string = a",
    ].join("\n"),
  );
  assert.deepEqual(
    file.params.map((param) => [param.name, param.hasDefault]),
    [
      ["a", false],
      ["b", true],
    ],
  );
  assert.deepEqual(
    file.resources.map((resource) => [resource.symbol, resource.existing]),
    [
      ["plain", false],
      ["cond", false],
      ["loop", false],
      ["old", true],
    ],
  );
  assert.ok(file.resources[2]?.body.includes("item.key"));
  assert.deepEqual(file.modules.map((module) => module.path), ["modules/m.bicep"]);
  assert.deepEqual(file.outputs, ["out"]);
  assert.deepEqual(topLevelKeys(file.objectVars.get("settings") ?? ""), ["ONE", "nested", "TWO"]);
});
