import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBicep, readRepoFile } from "./bicep-text";

const alertsPath = "infra/modules/alerts.bicep";

test("log alerts exist for failed runs, failed remediation and missed runs, wired to the action group", () => {
  const rules = parseBicep(readRepoFile(alertsPath)).resources.filter(
    (resource) => resource.type === "Microsoft.Insights/scheduledQueryRules",
  );
  assert.deepEqual(rules.map((rule) => rule.symbol).sort(), ["failedRemediationAlert", "failedRunsAlert", "missedRunAlert"]);
  for (const rule of rules) {
    assert.match(rule.body, /kind:\s*'LogAlert'/, rule.symbol);
    assert.match(rule.body, /actionGroup\.id/, rule.symbol);
    assert.match(rule.body, /appInsightsId/, rule.symbol);
  }
});

test("every event and field the alert queries read is documented in the log contract", () => {
  const alerts = readRepoFile(alertsPath);
  const docs = readRepoFile("docs/deployment.md");
  const contract = docs.slice(docs.indexOf("## Log contract for alerts"));
  assert.ok(contract.length > 0 && docs.includes("## Log contract for alerts"), "docs section");
  const events = new Set([...alerts.matchAll(/event == "([\w.]+)"/g)].map((match) => match[1] as string));
  assert.deepEqual([...events].sort(), ["remediation.failed", "run.completed", "run.failed"]);
  const fields = new Set([...alerts.matchAll(/props\.(\w+)/g)].map((match) => match[1] as string));
  for (const name of [...events, ...fields]) assert.ok(contract.includes(`\`${name}\``), `docs do not describe \`${name}\``);
});
