#Requires -Version 7.2
#Requires -Modules Microsoft.Graph.Authentication, Microsoft.Graph.Applications

<#
.SYNOPSIS
Registers the Entra ID application that protects the app's HTTP API (App Service Authentication), with its two app
roles, and optionally assigns them.

.DESCRIPTION
Run before `azd up` when callers of /api/runs and /api/report must be Entra identities (docs/security.md). It
creates (or finds, by display name) a single-tenant app registration that:
  - exposes the API as api://<client id> and issues v2 access tokens;
  - defines the app roles MailboxAudit.Read (read the report and run status) and MailboxAudit.Operate (start plan
    and apply runs, and read), assignable to users, groups and applications;
  - has a service principal with "assignment required" on, so only principals assigned a role get a token at all.
It holds no secret and no certificate: App Service Authentication only validates bearer tokens.
Then it assigns the roles to the -Readers and -Operators object ids (users, groups or service principals) and prints
the `azd env set API_CLIENT_ID ...` command that makes `azd up` deploy authsettingsV2 and CALLER_AUTH=entra.

Re-running is safe: each step reads first and changes only what is missing; nothing is removed. Use -WhatIf first.
Required admin role: Application Administrator (or Cloud Application Administrator); assigning roles to
applications also needs Privileged Role Administrator.

.PARAMETER TenantId
Entra tenant id (the deployment tenant, azd's AZURE_TENANT_ID).

.PARAMETER DisplayName
Display name of the app registration.

.PARAMETER Readers
Object ids given MailboxAudit.Read.

.PARAMETER Operators
Object ids given MailboxAudit.Operate.

.EXAMPLE
./Register-ApiApplication.ps1 -TenantId $env:AZURE_TENANT_ID -Operators 6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $TenantId,

    [ValidateNotNullOrEmpty()]
    [string] $DisplayName = 'Mailbox Audit Enforcer API',

    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string[]] $Readers = @(),

    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string[]] $Operators = @(),

    # The function app's host name (<app>.azurewebsites.net): readers can then sign in in a browser and open the
    # alert's report link (/.auth/login/aad -> /api/report/view). App Service Authentication's callback, with ID
    # tokens, since no client secret is configured.
    [ValidatePattern('^[A-Za-z0-9.-]+$')]
    [string] $AppHostName
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# --- Desired state (keep in sync with shared/runs/caller-check.ts APP_ROLES and docs/security.md) ----------------
# Fixed role ids, so a re-run recognises the roles it created.
$appRoles = @(
    @{ Value = 'MailboxAudit.Read'; Id = '3c1f5a0e-7d2b-4e8a-9f61-2b7c4d9e0a11'; DisplayName = 'Read mailbox audit reports'
       Description = 'Read the mailbox audit report and the status of runs.' }
    @{ Value = 'MailboxAudit.Operate'; Id = '8e4b2d6f-1a3c-4f5e-b7d9-0c2e4a6b8d22'; DisplayName = 'Operate mailbox audit enforcement'
       Description = 'Start plan and apply runs against the tenant, and read reports and run status.' }
)

Connect-MgGraph -TenantId $TenantId -Scopes 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All' -NoWelcome

$application = Get-MgApplication -Filter "displayName eq '$($DisplayName.Replace("'", "''"))'" -All | Select-Object -First 1
if (-not $application) {
    if ($PSCmdlet.ShouldProcess($DisplayName, 'Create the API app registration with the app roles')) {
        $application = New-MgApplication -DisplayName $DisplayName -SignInAudience 'AzureADMyOrg' `
            -Api @{ RequestedAccessTokenVersion = 2 } `
            -AppRoles ($appRoles | ForEach-Object {
                @{ Id = $_.Id; Value = $_.Value; DisplayName = $_.DisplayName; Description = $_.Description
                   AllowedMemberTypes = @('User', 'Application'); IsEnabled = $true }
            })
    }
} else {
    $missing = $appRoles | Where-Object { $_.Value -notin $application.AppRoles.Value }
    foreach ($role in $missing) { Write-Warning "App role $($role.Value) is missing on $DisplayName; add it (this script never edits an existing registration's roles)." }
}
if (-not $application) { Write-Host "What if: the app registration would be created; nothing more to check."; return }

$identifierUri = "api://$($application.AppId)"
if ($identifierUri -notin $application.IdentifierUris) {
    if ($PSCmdlet.ShouldProcess($DisplayName, "Set the identifier URI $identifierUri")) {
        Update-MgApplication -ApplicationId $application.Id -IdentifierUris @($identifierUri)
    }
}

if ($AppHostName) {
    $callback = "https://$AppHostName/.auth/login/aad/callback"
    $redirectUris = @($application.Web.RedirectUris)
    if ($callback -notin $redirectUris -or -not $application.Web.ImplicitGrantSettings.EnableIdTokenIssuance) {
        if ($PSCmdlet.ShouldProcess($DisplayName, "Allow browser sign-in at $callback")) {
            Update-MgApplication -ApplicationId $application.Id -Web @{
                RedirectUris          = @($redirectUris + $callback | Select-Object -Unique)
                ImplicitGrantSettings = @{ EnableIdTokenIssuance = $true }
            }
        }
    }
}

$servicePrincipal = Get-MgServicePrincipal -Filter "appId eq '$($application.AppId)'" | Select-Object -First 1
if (-not $servicePrincipal) {
    if ($PSCmdlet.ShouldProcess($DisplayName, 'Create the service principal with app role assignment required')) {
        $servicePrincipal = New-MgServicePrincipal -AppId $application.AppId -AppRoleAssignmentRequired
    }
} elseif (-not $servicePrincipal.AppRoleAssignmentRequired) {
    if ($PSCmdlet.ShouldProcess($DisplayName, 'Require app role assignment')) {
        Update-MgServicePrincipal -ServicePrincipalId $servicePrincipal.Id -AppRoleAssignmentRequired
    }
}

$assignments = @(
    $Readers | ForEach-Object { @{ PrincipalId = $_; Role = $appRoles[0] } }
    $Operators | ForEach-Object { @{ PrincipalId = $_; Role = $appRoles[1] } }
)
if ($servicePrincipal -and $assignments.Count -gt 0) {
    $existing = Get-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $servicePrincipal.Id -All
    foreach ($assignment in $assignments) {
        $held = $existing | Where-Object { $_.PrincipalId -eq $assignment.PrincipalId -and $_.AppRoleId -eq $assignment.Role.Id }
        if ($held) { continue }
        if ($PSCmdlet.ShouldProcess($assignment.PrincipalId, "Assign $($assignment.Role.Value)")) {
            New-MgServicePrincipalAppRoleAssignedTo -ServicePrincipalId $servicePrincipal.Id `
                -PrincipalId $assignment.PrincipalId -ResourceId $servicePrincipal.Id -AppRoleId $assignment.Role.Id | Out-Null
        }
    }
}

Write-Host "Next: azd env set API_CLIENT_ID $($application.AppId)   # then azd up (deploys authsettingsV2, CALLER_AUTH=entra)"
