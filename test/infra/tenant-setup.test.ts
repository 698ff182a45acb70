import { test } from "node:test";
import assert from "node:assert/strict";
import { readRepoFile } from "./bicep-text";

const script = readRepoFile("infra/tenant-setup/Grant-TenantAccess.ps1");
const docs = readRepoFile("docs/deployment.md");
const config = readRepoFile("shared/config.ts");

test("tenant setup supports -WhatIf and guards every change with ShouldProcess", () => {
  assert.match(script, /\[CmdletBinding\(SupportsShouldProcess = \$true/);
  const changing = /^\s*(?:\$\w+ = )?(New-Mg\w+|Update-Mg\w+|New-ServicePrincipal|New-RoleGroup|New-ManagementRoleAssignment|Add-RoleGroupMember|New-ManagementScope|Set-ManagementScope|Enable-OrganizationCustomization|Set-AzKeyVaultSecret|New-Item|Set-Content)\b/gm;
  const lines = script.split("\n");
  let count = 0;
  for (const match of script.matchAll(changing)) {
    count += 1;
    const lineIndex = script.slice(0, match.index).split("\n").length - 1;
    const preceding = lines.slice(Math.max(0, lineIndex - 3), lineIndex).join("\n");
    assert.match(preceding, /ShouldProcess\(/, `${match[1]} on line ${lineIndex + 1} is not guarded`);
  }
  assert.ok(count >= 12);
  assert.doesNotMatch(script, /^\s*Remove-/m, "the script never removes grants");
});

test("every Exchange role and Graph permission the script grants is explained in docs/deployment.md, and back", () => {
  const scriptRoles = [...script.matchAll(/@\{ Role = '([^']+)'/g)].map((match) => match[1] as string);
  const scriptGraph = [...script.matchAll(/@\{ Value = '([^']+)'/g)].map((match) => match[1] as string);
  const section = docs.slice(docs.indexOf("### What is granted and why"), docs.indexOf("### Undo"));
  const docRoles = [...section.matchAll(/^\| ([A-Z][\w -]+?) \| `/gm)].map((match) => match[1] as string);
  const docGraph = [...section.matchAll(/^\| `([\w.-]+)` \|/gm)].map((match) => match[1] as string);
  assert.deepEqual([...docRoles].sort(), [...scriptRoles].sort());
  assert.deepEqual([...docGraph].sort(), [...scriptGraph].sort());
  assert.ok(!scriptGraph.includes("Mail.Send"), "Mail.Send goes through scoped RBAC for Applications");
  assert.match(script, /Exchange\.ManageAsApp/);
  assert.match(script, /00000002-0000-0ff1-ce00-000000000000/);
  assert.match(script, /Get-ManagementRole @query/);
});

test("the audit-log evidence's Graph permission is granted unless -NoAuditEvidence, the least privileged one", () => {
  assert.match(script, /if \(-not \$NoAuditEvidence\) \{\s*\n(?:\s*#[^\n]*\n)*\s*\$graphPermissions \+= @\(\s*\n\s*@\{ Value = 'AuditLogsQuery-Exchange\.Read\.All'/);
  assert.match(script, /^\s*\[switch\] \$NoAuditEvidence,$/m);
  assert.match(script, /^\.PARAMETER NoAuditEvidence$/m);
  assert.doesNotMatch(script, /Value = 'AuditLogsQuery\.Read\.All'/, "not the all-services permission");
  // The permission the script grants is the one the doctor checks and the engine's searches need.
  assert.match(readRepoFile("shared/doctor/requirements.ts"), /AUDIT_LOG_QUERY_PERMISSION = "AuditLogsQuery-Exchange\.Read\.All"/);
  assert.match(readRepoFile("shared/evidence/audit-search.ts"), /AUDIT_SEARCH_PERMISSION = "AuditLogsQuery-Exchange\.Read\.All"/);
});

test("an app registration gets the same grants as the managed identity: one identity, one path", () => {
  assert.match(script, /ParameterSetName = 'ManagedIdentity'\)\]\s*\n\s*\[ValidatePattern[^\n]*\n\s*\[string\] \$ManagedIdentityClientId/);
  assert.match(script, /Mandatory = \$true, ParameterSetName = 'AppRegistration'\)\]\s*\n\s*\[switch\] \$AppRegistration/);
  for (const name of ["AppDisplayName", "AppClientId", "MultiTenant", "CertificatePath", "CertificatePassword", "NewCertificate", "KeyVaultUrl", "CertificateSecretName", "CertificateOutPath"]) {
    const declared = `ParameterSetName = 'AppRegistration'\\)\\]\\s*\\n(?:\\s*\\[[^\\n]*\\]\\s*\\n)*\\s*\\[\\w+\\] \\$${name}\\b`;
    assert.match(script, new RegExp(declared), `-${name}`);
    assert.match(script, new RegExp(`^\\.PARAMETER ${name}$`, "m"), `-${name} is documented`);
  }
  const grants = script.slice(script.indexOf("Write-Step 'Granting application permissions'"), script.indexOf("if ($AppRegistration) {\n    $secretSetting"));
  assert.ok(grants.length > 1000);
  assert.doesNotMatch(grants, /AppRegistration|ManagedIdentity/, "the grants do not depend on the kind of identity");
});

test("the app registration: created or reused, its certificate, the PEM to Key Vault, the settings to use", () => {
  assert.match(script, /Get-MgApplication -Filter \$filter/);
  assert.match(script, /New-MgApplication -DisplayName \$AppDisplayName -SignInAudience \$audience/);
  assert.match(script, /'AzureADMultipleOrgs'/);
  assert.match(script, /New-MgServicePrincipal -AppId \$appId/);
  // Self-signed through .NET (any OS), or an existing PEM or PFX; the key leaves only as PKCS#8 PEM.
  assert.match(script, /CertificateRequest\]::new\("CN=\$subject"/);
  assert.match(script, /\.CreateSelfSigned\(/);
  assert.match(script, /X509Certificate2\]::CreateFromPemFile\(/);
  assert.match(script, /\\\.\(pfx\|p12\)\$/);
  assert.match(script, /ConvertTo-Pem 'CERTIFICATE' \$certificate\.RawData\) \+ \(ConvertTo-Pem 'PRIVATE KEY' \$rsa\.ExportPkcs8PrivateKey\(\)\)/);
  // The key credential is added to those held (a PATCH replaces the collection), never instead of them.
  assert.match(script, /Get-MgApplication -ApplicationId \$application\.Id -Property keyCredentials/);
  assert.match(script, /Update-MgApplication -ApplicationId \$application\.Id -KeyCredentials \$credentials/);
  assert.match(script, /Type = 'AsymmetricX509Cert'; Usage = 'Verify'/);
  assert.match(script, /Set-AzKeyVaultSecret -VaultName \$vaultName -Name \$CertificateSecretName -ContentType 'application\/x-pem-file'/);
  assert.match(script, /throw "\$CertificateOutPath exists; this script never overwrites a key file\."/);
  assert.match(script, /A new certificate needs -KeyVaultUrl and\/or -CertificateOutPath/);
  // What it prints are the settings the code reads.
  for (const setting of ["TENANT_ID", "AZURE_CLIENT_ID", "KEY_VAULT_URL", "CERTIFICATE_SECRET_NAME", "AZURE_CLIENT_CERTIFICATE_PATH"]) {
    assert.match(script, new RegExp(`${setting}=`));
    assert.match(config, new RegExp(`name: "${setting}"`));
  }
  for (const field of ["tenantId", "clientId", "certificateSecretName"]) {
    assert.match(script, new RegExp(`\`"${field}\`"`));
    assert.match(config, new RegExp(`\\b${field}\\b`));
  }
});
