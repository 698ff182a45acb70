/** The perimeter in infra: Easy Auth with app roles, the administrator's read access, optional private networking. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { APP_ROLES } from "../../shared/runs/caller-check";
import { objectProperty, parseBicep, readRepoFile, topLevelKeys, type BicepResource } from "./bicep-text";

function resourceOf(path: string, type: string): BicepResource {
  const found = parseBicep(readRepoFile(path)).resources.filter(
    (resource) => resource.type === type && !resource.existing,
  );
  assert.equal(found.length, 1, `${path}: expected one ${type}`);
  return found[0] as BicepResource;
}

const parameters = (
  JSON.parse(readRepoFile("infra/main.parameters.json")) as { parameters: Record<string, { value: string }> }
).parameters;
const main = parseBicep(readRepoFile("infra/main.bicep"));
const moduleParams = (symbol: string): string[] => {
  const module = main.modules.find((candidate) => candidate.symbol === symbol);
  assert.ok(module, `main.bicep module ${symbol}`);
  return topLevelKeys(objectProperty(module.body, "params"));
};

test("with an API app registration, App Service Authentication (authsettingsV2) refuses unauthenticated requests", () => {
  const path = "infra/modules/function-app.bicep";
  const code = parseBicep(readRepoFile(path)).code;
  const auth = resourceOf(path, "Microsoft.Web/sites/config");
  assert.match(
    code,
    /resource authSettings 'Microsoft\.Web\/sites\/config@[^']+' = if \(!empty\(apiClientId\)\)/,
    "only when callers are configured",
  );
  assert.match(auth.body, /parent:\s*site\b/);
  assert.match(auth.body, /name:\s*'authsettingsV2'/);
  assert.match(objectProperty(auth.body, "platform"), /enabled:\s*true/);
  const validation = objectProperty(auth.body, "globalValidation");
  assert.match(validation, /requireAuthentication:\s*true/);
  assert.match(validation, /unauthenticatedClientAction:\s*'Return401'/);
  const entra = objectProperty(objectProperty(auth.body, "identityProviders"), "azureActiveDirectory");
  assert.match(entra, /enabled:\s*true/);
  assert.match(objectProperty(entra, "registration"), /clientId:\s*apiClientId\b/);
  assert.match(
    objectProperty(entra, "registration"),
    /openIdIssuer:\s*'\$\{environment\(\)\.authentication\.loginEndpoint\}\$\{tenant\(\)\.tenantId\}\/v2\.0'/,
  );
  const audiences = objectProperty(entra, "validation");
  assert.match(audiences, /'api:\/\/\$\{apiClientId\}'/);
  assert.match(
    objectProperty(objectProperty(auth.body, "login"), "tokenStore"),
    /enabled:\s*false/,
    "bearer tokens only",
  );
  assert.doesNotMatch(auth.body, /clientSecret/, "no secret: Easy Auth only validates tokens");
});

test("the app fails closed with Easy Auth: CALLER_AUTH is entra exactly when authsettingsV2 is deployed", () => {
  const settings = parseBicep(readRepoFile("infra/modules/function-app.bicep")).objectVars.get("appSettings") ?? "";
  assert.match(settings, /CALLER_AUTH:\s*empty\(apiClientId\) \? 'function-key' : 'entra'/);
  assert.match(settings, /ALLOWED_CALLER_OBJECT_IDS:\s*allowedCallerObjectIds\b/);
  for (const name of ["apiClientId", "allowedCallerObjectIds"])
    assert.ok(moduleParams("functionApp").includes(name), `main passes ${name}`);
  assert.equal(parameters["apiClientId"]?.value, "${API_CLIENT_ID=}", "azd up fills it from the environment");
  assert.equal(parameters["allowedCallerObjectIds"]?.value, "${ALLOWED_CALLER_OBJECT_IDS=}");
});

test("the app registration script creates the app roles the app checks, behind ShouldProcess, and never removes", () => {
  const script = readRepoFile("infra/tenant-setup/Register-ApiApplication.ps1");
  const roles = [...script.matchAll(/@\{ Value = '([^']+)'; Id = '[0-9a-f-]{36}'/g)].map((match) => match[1]);
  assert.deepEqual(roles.sort(), Object.values(APP_ROLES).sort());
  assert.match(script, /\[CmdletBinding\(SupportsShouldProcess = \$true/);
  const lines = script.split("\n");
  const changes = [...script.matchAll(/^\s*(?:\$\w+ = )?((?:New|Update)-Mg\w+)/gm)];
  assert.ok(changes.length >= 5);
  for (const change of changes) {
    const line = script.slice(0, change.index).split("\n").length - 1;
    assert.match(
      lines.slice(Math.max(0, line - 2), line).join("\n"),
      /ShouldProcess\(/,
      `${change[1]} on line ${line + 1} is not guarded`,
    );
  }
  assert.match(script, /-AppRoleAssignmentRequired/, "only assigned principals get a token");
  assert.match(script, /RequestedAccessTokenVersion = 2/);
  // Browser sign-in for the alert's report link: App Service Authentication's callback with ID tokens.
  assert.match(script, /"https:\/\/\$AppHostName\/\.auth\/login\/aad\/callback"/);
  assert.match(script, /EnableIdTokenIssuance = \$true/);
  assert.match(script, /AllowedMemberTypes = @\('User', 'Application'\)/);
  assert.doesNotMatch(script, /^\s*Remove-/m);
  assert.doesNotMatch(
    script,
    /PasswordCredential|KeyCredential|Add-MgApplicationPassword/,
    "no secret, no certificate",
  );
});

test("the deploying administrator gets Storage Table Data Reader on the account, and nothing more", () => {
  const assignment = resourceOf("infra/modules/operator-access.bicep", "Microsoft.Authorization/roleAssignments");
  const code = parseBicep(readRepoFile("infra/modules/operator-access.bicep")).code;
  assert.match(code, /var storageTableDataReader = '76199698-9eea-4c19-bc75-cec21354c6b6'/);
  assert.match(
    assignment.body,
    /roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*storageTableDataReader\)/,
  );
  assert.match(assignment.body, /principalId:\s*principalId\b/);
  assert.match(assignment.body, /^\s*scope:\s*storage\s*$/m);
  assert.match(main.code, /module operatorAccess 'modules\/operator-access\.bicep' = if \(!empty\(principalId\)\)/);
  assert.equal(parameters["principalId"]?.value, "${AZURE_PRINCIPAL_ID=}", "azd sets the signed-in principal");
  assert.equal(parameters["principalType"]?.value, "${AZURE_PRINCIPAL_TYPE=User}");
  assert.ok(main.outputs.includes("STORAGE_TABLE_ENDPOINT"));
});

test("private networking is one optional parameter: VNet integration, private endpoints with DNS, public endpoints off", () => {
  assert.match(main.code, /module network 'modules\/network\.bicep' = if \(privateNetworking\)/);
  assert.match(main.code, /var privateNetworking = !empty\(privateNetworkAddressPrefix\)/);
  assert.match(main.code, /var publicNetworkAccess = privateNetworking \? 'Disabled' : 'Enabled'/);
  for (const symbol of ["storage", "keyVault"])
    assert.ok(moduleParams(symbol).includes("publicNetworkAccess"), `${symbol} gets publicNetworkAccess`);
  assert.ok(moduleParams("functionApp").includes("integrationSubnetId"));
  assert.equal(parameters["privateNetworkAddressPrefix"]?.value, "${PRIVATE_NETWORK_ADDRESS_PREFIX=}");
  assert.match(
    resourceOf("infra/modules/storage.bicep", "Microsoft.Storage/storageAccounts").body,
    /publicNetworkAccess:\s*publicNetworkAccess\b/,
  );
  assert.match(
    resourceOf("infra/modules/key-vault.bicep", "Microsoft.KeyVault/vaults").body,
    /publicNetworkAccess:\s*publicNetworkAccess\b/,
  );
  assert.match(
    resourceOf("infra/modules/function-app.bicep", "Microsoft.Web/sites").body,
    /virtualNetworkSubnetId:\s*empty\(integrationSubnetId\) \? null : integrationSubnetId/,
  );
  const network = parseBicep(readRepoFile("infra/modules/network.bicep"));
  assert.match(
    resourceOf("infra/modules/network.bicep", "Microsoft.Network/virtualNetworks").body,
    /serviceName:\s*'Microsoft\.App\/environments'/,
  );
  const groups = [...network.code.matchAll(/groupId: '(\w+)'/g)].map((match) => match[1]);
  assert.deepEqual(groups, ["blob", "queue", "table", "vault"]);
  for (const type of [
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
  ]) {
    assert.match(resourceOf("infra/modules/network.bicep", type).body, /./, type);
  }
});

test("azd's environment values stay out of git", () => {
  assert.ok(readRepoFile(".gitignore").split("\n").includes(".azure/"));
});
