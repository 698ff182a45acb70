import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseBicep, readRepoFile, repoRoot } from "./bicep-text";

interface ParametersFile {
  parameters: Record<string, { value: unknown }>;
}

test("main.parameters.json parses, maps only declared params, and covers every required one", () => {
  const parameters = (JSON.parse(readRepoFile("infra/main.parameters.json")) as ParametersFile).parameters;
  const main = parseBicep(readRepoFile("infra/main.bicep"));
  const declared = new Map(main.params.map((param) => [param.name, param]));
  for (const name of Object.keys(parameters)) assert.ok(declared.has(name), `main.bicep has no param '${name}'`);
  for (const param of main.params.filter((candidate) => !candidate.hasDefault)) {
    assert.ok(param.name in parameters, `required param '${param.name}' is not mapped`);
  }
  assert.equal(parameters["environmentName"]?.value, "${AZURE_ENV_NAME}");
  assert.equal(parameters["location"]?.value, "${AZURE_LOCATION}");
  for (const [name, { value }] of Object.entries(parameters)) {
    assert.equal(typeof value, "string", `${name}: azd substitutes strings`);
    assert.match(value as string, /^\$\{[A-Z0-9_]+(=[^}]*)?\}$/, `${name}: one azd environment variable`);
    const param = declared.get(name);
    assert.equal(
      param?.type,
      "string",
      `${name}: azd substitution yields a string, so the Bicep param must be a string`,
    );
  }
});

test("the secret parameter is marked @secure", () => {
  const main = readRepoFile("infra/main.bicep");
  assert.match(main, /@secure\(\)\s*\n(@description\('[^']*'\)\s*\n)?param alertWebhookUrl string/);
});

function yamlValue(yaml: string, path: string[]): string | undefined {
  // Minimal YAML path lookup by indentation: enough for azure.yaml's flat maps.
  let indent = -1;
  let lines = yaml.split("\n");
  for (const [depth, key] of path.entries()) {
    const index = lines.findIndex((line) => {
      const match = /^(\s*)([\w-]+):(.*)$/.exec(line);
      return match !== null && match[2] === key && (match[1] as string).length > indent;
    });
    if (index < 0) return undefined;
    const match = /^(\s*)([\w-]+):\s*(.*)$/.exec(lines[index] as string) as RegExpExecArray;
    indent = (match[1] as string).length;
    if (depth === path.length - 1) return (match[3] as string).trim();
    const rest = lines.slice(index + 1);
    const end = rest.findIndex((line) => line.trim() !== "" && /^(\s*)/.exec(line)![1]!.length <= indent);
    lines = end < 0 ? rest : rest.slice(0, end);
  }
  return undefined;
}

test("azure.yaml provisions infra/main.bicep and deploys the api service as the azd Functions template does", () => {
  const yaml = readRepoFile("azure.yaml");
  assert.equal(yamlValue(yaml, ["infra", "provider"]), "bicep");
  assert.equal(yamlValue(yaml, ["infra", "path"]), "infra");
  assert.equal(yamlValue(yaml, ["infra", "module"]), "main");
  assert.ok(existsSync(join(repoRoot, "infra", "main.bicep")));
  assert.equal(yamlValue(yaml, ["services", "api", "host"]), "function");
  assert.equal(yamlValue(yaml, ["services", "api", "language"]), "js");
  assert.equal(
    yamlValue(yaml, ["services", "api", "remoteBuild"]),
    "true",
    "Flex Consumption builds the package remotely",
  );
  const project = yamlValue(yaml, ["services", "api", "project"]) ?? "";
  assert.ok(existsSync(join(repoRoot, project, "package.json")), "api project has a package.json");
});

test("scripts the azd hooks point at exist, and the outputs they read are produced", () => {
  const yaml = readRepoFile("azure.yaml");
  const outputs = parseBicep(readRepoFile("infra/main.bicep")).outputs;
  const scripts = [...yaml.matchAll(/\.\/(infra\/[\w/.-]+\.ps1)/g)].map((match) => match[1] as string);
  assert.ok(scripts.length > 0);
  for (const script of scripts) assert.ok(existsSync(join(repoRoot, script)), script);
  for (const [, variable] of yaml.matchAll(/\$(?:env:)?([A-Z][A-Z0-9_]+)/g)) {
    assert.ok(outputs.includes(variable as string), `${variable} is not a main.bicep output`);
  }
});

test("every `azd env set` the docs show reaches a Bicep parameter that main.bicep uses", () => {
  const parametersFile = readRepoFile("infra/main.parameters.json");
  const mapped = new Map(
    [...parametersFile.matchAll(/"(\w+)": \{\s*"value": "\$\{([A-Z0-9_]+)/g)].map((match) => [
      match[2] as string,
      match[1] as string,
    ]),
  );
  const main = readRepoFile("infra/main.bicep");
  const documented = ["docs/deployment.md", "docs/first-run.md", "docs/operations.md", "README.md"].flatMap((path) =>
    [...readRepoFile(path).matchAll(/azd env set ([A-Z][A-Z0-9_]+)/g)].map((match) => match[1] as string),
  );
  assert.ok(documented.includes("NIGHTLY_MODE") && documented.includes("NIGHTLY_CHANGE_LIMIT"));
  for (const variable of new Set(documented)) {
    const param = mapped.get(variable);
    assert.ok(param, `azd env set ${variable}: main.parameters.json does not read it`);
    const uses = main.match(new RegExp(`\\b${param}\\b`, "g"))?.length ?? 0;
    assert.ok(uses >= 2, `main.bicep declares ${param} but never uses it`);
  }
});
