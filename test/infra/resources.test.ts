import { test } from "node:test";
import assert from "node:assert/strict";
import { objectProperty, parseBicep, readRepoFile, topLevelKeys, type BicepResource } from "./bicep-text";

function resourcesOf(path: string, type: string): BicepResource[] {
  return parseBicep(readRepoFile(path)).resources.filter((resource) => resource.type === type && !resource.existing);
}

function onlyResource(path: string, type: string): BicepResource {
  const found = resourcesOf(path, type);
  assert.equal(found.length, 1, `${path}: expected one ${type}`);
  return found[0] as BicepResource;
}

test("storage account accepts only Entra ID, TLS 1.2 and no public blobs", () => {
  const { body } = onlyResource("infra/modules/storage.bicep", "Microsoft.Storage/storageAccounts");
  assert.match(body, /allowSharedKeyAccess:\s*false\b/);
  assert.match(body, /minimumTlsVersion:\s*'TLS1_2'/);
  assert.match(body, /allowBlobPublicAccess:\s*false\b/);
  assert.match(body, /supportsHttpsTrafficOnly:\s*true\b/);
});

test("storage layout names are valid Azure names and are all created from the layout file", () => {
  const layout = JSON.parse(readRepoFile("infra/storage-layout.json")) as {
    deploymentContainer: string;
    tables: Record<string, string>;
    queues: Record<string, string>;
  };
  assert.deepEqual(Object.keys(layout.tables).sort(), ["alerts", "history", "latest", "leases", "runState", "runs", "watermarks"]);
  for (const table of Object.values(layout.tables)) assert.match(table, /^[A-Za-z][A-Za-z0-9]{2,62}$/, table);
  const queueOrContainer = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
  for (const queue of Object.values(layout.queues)) assert.match(queue, queueOrContainer, queue);
  assert.match(layout.deploymentContainer, queueOrContainer);
  assert.equal(layout.queues["workItemsPoison"], `${layout.queues["workItems"]}-poison`, "the host's poison queue name");
  const storage = readRepoFile("infra/modules/storage.bicep");
  assert.match(storage, /loadJsonContent\('\.\.\/storage-layout\.json'\)/);
  const code = parseBicep(storage).code;
  assert.match(code, /resource tables '[^']+\/tables@[^']+' = \[\s*for table in items\(layout\.tables\): \{\s*parent: tableService\s*name: table\.value/);
  assert.match(code, /resource queues '[^']+\/queues@[^']+' = \[\s*for queue in items\(layout\.queues\): \{\s*parent: queueService\s*name: queue\.value/);
  assert.match(onlyResource("infra/modules/storage.bicep", "Microsoft.Storage/storageAccounts/blobServices/containers").body, /name:\s*layout\.deploymentContainer/);
});

test("Key Vault uses Azure RBAC, soft delete and purge protection", () => {
  const { body } = onlyResource("infra/modules/key-vault.bicep", "Microsoft.KeyVault/vaults");
  assert.match(body, /enableRbacAuthorization:\s*true\b/);
  assert.match(body, /enablePurgeProtection:\s*true\b/);
  assert.doesNotMatch(body, /accessPolicies/);
});

test("Application Insights is workspace-based with local auth disabled", () => {
  const { body } = onlyResource("infra/modules/monitoring.bicep", "Microsoft.Insights/components");
  assert.match(body, /DisableLocalAuth:\s*true\b/);
  assert.match(body, /WorkspaceResourceId:\s*workspace\.id/);
});

const expectedRoles: Record<string, { id: string; scope: string }> = {
  "Storage Blob Data Owner": { id: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", scope: "storage" },
  "Storage Queue Data Contributor": { id: "974c5e8b-45b9-4653-ba55-5f855dd0fb88", scope: "storage" },
  "Storage Table Data Contributor": { id: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", scope: "storage" },
  "Key Vault Secrets User": { id: "4633458b-17de-408a-b874-0445c86b69e6", scope: "vault" },
  "Monitoring Metrics Publisher": { id: "3913510d-42f4-4e42-8a64-420c390055eb", scope: "appInsights" },
};

test("each least-privilege role is assigned once, to the app identity, on the right resource", () => {
  const path = "infra/modules/role-assignments.bicep";
  const file = parseBicep(readRepoFile(path));
  const roleIdsBody = file.objectVars.get("roleIds");
  assert.ok(roleIdsBody, "roleIds var");
  const roleIds = new Map(
    [...roleIdsBody.matchAll(/^\s*(\w+):\s*'([0-9a-f-]{36})'/gm)].map((match) => [match[1] as string, match[2] as string]),
  );
  const assignments = resourcesOf(path, "Microsoft.Authorization/roleAssignments");
  assert.equal(assignments.length, Object.keys(expectedRoles).length, "no role beyond the least-privilege set");
  const assigned = assignments.map((assignment) => {
    assert.match(assignment.body, /principalId:\s*identityPrincipalId\b/, assignment.symbol);
    assert.match(assignment.body, /principalType:\s*'ServicePrincipal'/, assignment.symbol);
    const role = /roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*roleIds\.(\w+)\)/.exec(
      assignment.body,
    );
    assert.ok(role, `${assignment.symbol}: roleDefinitionId from roleIds`);
    const roleKey = role[1] as string;
    assert.match(assignment.body, new RegExp(`name:\\s*guid\\(\\w+\\.id,\\s*identityPrincipalId,\\s*roleIds\\.${roleKey}\\)`), "stable, unique name");
    const scope = /^\s*scope:\s*(\w+)\s*$/m.exec(assignment.body)?.[1];
    return { id: roleIds.get(roleKey), scope };
  });
  for (const [roleName, expected] of Object.entries(expectedRoles)) {
    const matches = assigned.filter((assignment) => assignment.id === expected.id);
    assert.equal(matches.length, 1, `${roleName} assigned exactly once`);
    assert.equal(matches[0]?.scope, expected.scope, `${roleName} scope`);
  }
});

test("Function App runs Node 22 on Flex Consumption as the user-assigned identity", () => {
  const path = "infra/modules/function-app.bicep";
  const plan = onlyResource(path, "Microsoft.Web/serverfarms");
  assert.match(plan.body, /name:\s*'FC1'/);
  assert.match(plan.body, /tier:\s*'FlexConsumption'/);
  const site = onlyResource(path, "Microsoft.Web/sites");
  const config = objectProperty(site.body, "functionAppConfig");
  const runtime = objectProperty(config, "runtime");
  assert.match(runtime, /name:\s*'node'/);
  assert.match(runtime, /version:\s*'22'/);
  const storage = objectProperty(objectProperty(config, "deployment"), "storage");
  assert.match(storage, /type:\s*'UserAssignedIdentity'/);
  assert.match(storage, /userAssignedIdentityResourceId:\s*identityId/);
  const scale = objectProperty(config, "scaleAndConcurrency");
  assert.match(scale, /instanceMemoryMB:\s*instanceMemoryMB/);
  assert.match(scale, /maximumInstanceCount:\s*maximumInstanceCount/);
  assert.match(objectProperty(site.body, "identity"), /type:\s*'UserAssigned'/);
  assert.match(site.body, /'azd-service-name':\s*'api'/);
});

test("app settings in the Bicep and infra/app-settings.json list the same names", () => {
  const file = parseBicep(readRepoFile("infra/modules/function-app.bicep"));
  const settingsBody = file.objectVars.get("appSettings");
  assert.ok(settingsBody, "appSettings var");
  const inBicep = topLevelKeys(settingsBody);
  const listed = (JSON.parse(readRepoFile("infra/app-settings.json")) as { appSettings: { name: string }[] }).appSettings.map(
    (setting) => setting.name,
  );
  assert.equal(new Set(listed).size, listed.length, "duplicates in app-settings.json");
  assert.deepEqual([...inBicep].sort(), [...listed].sort());
  assert.match(settingsBody, /AzureWebJobsStorage__credential:\s*'managedidentity'/);
  assert.match(settingsBody, /APPLICATIONINSIGHTS_AUTHENTICATION_STRING:\s*'Authorization=AAD;ClientId=\$\{identityClientId\}'/);
  assert.match(settingsBody, /AzureWebJobsStorage__clientId:\s*identityClientId/);
  assert.match(settingsBody, /AZURE_CLIENT_ID:\s*identityClientId/);
  assert.ok(!inBicep.includes("AzureWebJobsStorage"), "no connection-string host storage");
  assert.ok(!inBicep.includes("WEBSITE_TIME_ZONE"), "not supported on Linux/Flex Consumption");
  // Every setting is applied from the one object.
  const site = parseBicep(readRepoFile("infra/modules/function-app.bicep")).resources.find((resource) => resource.type === "Microsoft.Web/sites");
  assert.match(site?.body ?? "", /for setting in items\(appSettings\)/);
});

test("nightly schedule default is a six-field NCRONTAB at 02:00 UTC", () => {
  const main = readRepoFile("infra/main.bicep");
  const schedule = /param nightlySchedule string = '([^']+)'/.exec(main)?.[1];
  assert.equal(schedule, "0 0 2 * * *");
  assert.equal(schedule?.split(" ").length, 6);
});
