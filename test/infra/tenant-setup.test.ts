import { test } from "node:test";
import assert from "node:assert/strict";
import { readRepoFile } from "./bicep-text";

const script = readRepoFile("infra/tenant-setup/Grant-TenantAccess.ps1");
const docs = readRepoFile("docs/deployment.md");

test("tenant setup supports -WhatIf and guards every change with ShouldProcess", () => {
  assert.match(script, /\[CmdletBinding\(SupportsShouldProcess = \$true/);
  const changing = /^\s*(?:\$\w+ = )?(New-Mg\w+|New-ServicePrincipal|New-RoleGroup|New-ManagementRoleAssignment|Add-RoleGroupMember|New-ManagementScope|Set-ManagementScope|Enable-OrganizationCustomization)\b/gm;
  const lines = script.split("\n");
  let count = 0;
  for (const match of script.matchAll(changing)) {
    count += 1;
    const lineIndex = script.slice(0, match.index).split("\n").length - 1;
    const preceding = lines.slice(Math.max(0, lineIndex - 3), lineIndex).join("\n");
    assert.match(preceding, /ShouldProcess\(/, `${match[1]} on line ${lineIndex + 1} is not guarded`);
  }
  assert.ok(count >= 7);
  assert.doesNotMatch(script, /^\s*Remove-/m, "the script never removes grants");
});

test("every Exchange role and Graph permission the script grants is explained in docs/deployment.md, and back", () => {
  const scriptRoles = [...script.matchAll(/@\{ Role = '([^']+)'/g)].map((match) => match[1] as string);
  const scriptGraph = [...script.matchAll(/@\{ Value = '([^']+)'/g)].map((match) => match[1] as string);
  const section = docs.slice(docs.indexOf("### What is granted and why"), docs.indexOf("### Undo"));
  const docRoles = [...section.matchAll(/^\| ([A-Z][\w -]+?) \| `/gm)].map((match) => match[1] as string);
  const docGraph = [...section.matchAll(/^\| `([\w.]+)` \|/gm)].map((match) => match[1] as string);
  assert.deepEqual([...docRoles].sort(), [...scriptRoles].sort());
  assert.deepEqual([...docGraph].sort(), [...scriptGraph].sort());
  assert.ok(!scriptGraph.includes("Mail.Send"), "Mail.Send goes through scoped RBAC for Applications");
  assert.match(script, /Exchange\.ManageAsApp/);
  assert.match(script, /00000002-0000-0ff1-ce00-000000000000/);
  assert.match(script, /Get-ManagementRole @query/);
});
