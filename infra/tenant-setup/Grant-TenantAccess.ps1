#Requires -Version 7.2
#Requires -Modules @{ ModuleName = 'ExchangeOnlineManagement'; ModuleVersion = '3.2.0' }, Microsoft.Graph.Authentication, Microsoft.Graph.Applications

<#
.SYNOPSIS
One-time Microsoft 365 tenant setup for Mailbox Audit Enforcer: gives the app's managed identity exactly the
Microsoft Graph and Exchange Online permissions the product uses, and nothing more.

.DESCRIPTION
Run once per tenant by an administrator, after `azd provision` created the managed identity. Re-running is safe:
every step reads the current state first and changes only what is missing (it never removes anything; it warns
about grants it did not expect). Use -WhatIf first: it signs in, reads, and prints every change it would make.

Steps:
  1. Microsoft Graph application permissions (app role assignments on the identity's service principal).
  2. Exchange.ManageAsApp on "Office 365 Exchange Online" (00000002-0000-0ff1-ce00-000000000000).
  3. Exchange Online: organisation customisation if the tenant is dehydrated (needed for custom role groups).
  4. Exchange Online: a service principal object for the identity (New-ServicePrincipal).
  5. Exchange Online: check that the chosen management roles hold every cmdlet and parameter the app uses
     (Get-ManagementRole -Cmdlet -CmdletParameters), then a custom role group with those roles and the identity.
  6. Optional: "Application Mail.Send" through RBAC for Applications, scoped to the alert sender mailbox only.

The permission table with the reason for each grant, and which facts were verified, is in docs/deployment.md.

Required admin roles: Privileged Role Administrator (or Global Administrator) for the Graph app role assignments;
Exchange Administrator / Organization Management for the Exchange steps.

.PARAMETER TenantId
Microsoft 365 tenant id; the managed identity's home tenant (azd output AZURE_TENANT_ID).

.PARAMETER ManagedIdentityClientId
Client (application) id of the user-assigned identity (azd output MANAGED_IDENTITY_CLIENT_ID).

.PARAMETER AlertMailFrom
Mailbox the app sends alert mail from. When given, the identity may send mail as this mailbox only.

.PARAMETER IncludeCapture
Also grant what the journaling-equivalent capture needs: create the capture shared mailbox, manage its
permissions and the capture transport rules, block sign-in of its account.

.PARAMETER IncludeHybridJournaling
Also grant journal rules (hybrid deployments that journal to an on-premises or external mailbox).

.PARAMETER RoleGroupName
Name of the Exchange Online role group created for the identity.

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId $env:AZURE_TENANT_ID -ManagedIdentityClientId $env:MANAGED_IDENTITY_CLIENT_ID -WhatIf

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId 00000000-0000-0000-0000-000000000000 -ManagedIdentityClientId 11111111-1111-1111-1111-111111111111 -AlertMailFrom alerts@contoso.com -IncludeCapture
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $TenantId,

    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $ManagedIdentityClientId,

    [ValidatePattern('^[^@\s]+@[^@\s]+$')]
    [string] $AlertMailFrom,

    [switch] $IncludeCapture,

    [switch] $IncludeHybridJournaling,

    [ValidateNotNullOrEmpty()]
    [string] $RoleGroupName = 'Mailbox Audit Enforcer'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$exchangeOnlineAppId = '00000002-0000-0ff1-ce00-000000000000'
$microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

# --- Desired state (keep in sync with the table in docs/deployment.md) -------------------------------------------

# Mail.Send is deliberately absent: an Entra grant would let the app send as any mailbox. It is granted in
# Exchange (RBAC for Applications) scoped to -AlertMailFrom instead.
$graphPermissions = @(
    @{ Value = 'User.Read.All'; Why = 'users/delta for changed users; assignedPlans for the Audit (Premium) licence' }
    @{ Value = 'Organization.Read.All'; Why = 'subscribedSkus: does the tenant own Audit (Premium)' }
)
if ($IncludeCapture) {
    $graphPermissions += @(
        @{ Value = 'GroupMember.Read.All'; Why = 'resolve the capture access group and its members' }
        @{ Value = 'User.EnableDisableAccount.All'; Why = 'block sign-in of the capture shared mailbox account' }
    )
}

# Each role is listed with the cmdlets (and parameters) the app runs through it. Step 5 asks Exchange which
# roles hold each of these and stops if the chosen roles do not cover one.
$exchangeRoles = @(
    @{ Role = 'View-Only Recipients'; Uses = @(
            @{ Cmdlet = 'Get-Mailbox'; Parameters = @('Filter', 'ResultSize', 'GroupMailbox') }
            @{ Cmdlet = 'Get-MailboxStatistics'; Parameters = @() }
            @{ Cmdlet = 'Get-Recipient'; Parameters = @() }
            @{ Cmdlet = 'Get-MailboxPermission'; Parameters = @() }) }
    @{ Role = 'View-Only Configuration'; Uses = @(
            @{ Cmdlet = 'Get-OrganizationConfig'; Parameters = @() }
            @{ Cmdlet = 'Get-AdminAuditLogConfig'; Parameters = @() }
            @{ Cmdlet = 'Get-MailboxAuditBypassAssociation'; Parameters = @('ResultSize') }
            @{ Cmdlet = 'Get-TransportRule'; Parameters = @() }) }
    @{ Role = 'Audit Logs'; Uses = @(
            @{ Cmdlet = 'Set-Mailbox'; Parameters = @('AuditEnabled', 'AuditAdmin', 'AuditDelegate', 'AuditOwner', 'AuditLogAgeLimit', 'DefaultAuditSet') }
            @{ Cmdlet = 'Set-MailboxAuditBypassAssociation'; Parameters = @('AuditBypassEnabled') }
            @{ Cmdlet = 'Set-AdminAuditLogConfig'; Parameters = @('UnifiedAuditLogIngestionEnabled') }) }
    @{ Role = 'Organization Configuration'; Uses = @(
            @{ Cmdlet = 'Set-OrganizationConfig'; Parameters = @('AuditDisabled') }) }
)
if ($IncludeCapture) {
    $exchangeRoles += @(
        @{ Role = 'Mail Recipient Creation'; Uses = @(
                @{ Cmdlet = 'New-Mailbox'; Parameters = @('Shared') }) }
        @{ Role = 'Mail Recipients'; Uses = @(
                @{ Cmdlet = 'Set-Mailbox'; Parameters = @('HiddenFromAddressListsEnabled') }
                @{ Cmdlet = 'Add-MailboxPermission'; Parameters = @('AccessRights', 'User', 'AutoMapping') }
                @{ Cmdlet = 'Remove-MailboxPermission'; Parameters = @('AccessRights', 'User') }) }
        @{ Role = 'Transport Rules'; Uses = @(
                @{ Cmdlet = 'New-TransportRule'; Parameters = @('BlindCopyTo', 'ExceptIfSentTo', 'ExceptIfFrom', 'Mode', 'Priority', 'Comments') }
                @{ Cmdlet = 'Set-TransportRule'; Parameters = @('BlindCopyTo', 'Mode', 'Priority') }
                @{ Cmdlet = 'Enable-TransportRule'; Parameters = @() }
                @{ Cmdlet = 'Remove-TransportRule'; Parameters = @() }) }
    )
}
if ($IncludeHybridJournaling) {
    $exchangeRoles += @(
        @{ Role = 'Journaling'; Uses = @(
                @{ Cmdlet = 'Get-JournalRule'; Parameters = @() }
                @{ Cmdlet = 'New-JournalRule'; Parameters = @('JournalEmailAddress', 'Scope') }
                @{ Cmdlet = 'Set-TransportConfig'; Parameters = @('JournalingReportNdrTo') }) }
    )
}

# --- Helpers ---------------------------------------------------------------------------------------------------

function Write-Step([string] $message) {
    Write-Host "==> $message" -ForegroundColor Cyan
}

function Get-ServicePrincipalByAppId([string] $appId) {
    $principal = Get-MgServicePrincipal -Filter "appId eq '$appId'" -All
    if (-not $principal) { throw "No service principal with appId $appId in tenant $TenantId." }
    return $principal
}

# Idempotent: assigns only when the identity does not already hold the app role.
function Grant-AppRole($identity, [string] $resourceAppId, [string] $value, [string] $why) {
    $resource = Get-ServicePrincipalByAppId $resourceAppId
    $role = $resource.AppRoles | Where-Object { $_.Value -eq $value -and $_.AllowedMemberTypes -contains 'Application' }
    if (-not $role) { throw "$($resource.DisplayName) has no application permission '$value'." }
    $held = Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -All |
        Where-Object { $_.AppRoleId -eq $role.Id -and $_.ResourceId -eq $resource.Id }
    if ($held) {
        Write-Host "    already granted: $($resource.DisplayName) / $value"
        return $role.Id
    }
    if ($PSCmdlet.ShouldProcess("$($identity.DisplayName)", "grant $($resource.DisplayName) application permission $value ($why)")) {
        New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -PrincipalId $identity.Id `
            -ResourceId $resource.Id -AppRoleId $role.Id | Out-Null
        Write-Host "    granted: $($resource.DisplayName) / $value"
    }
    return $role.Id
}

# Exchange escapes a quote inside an OPATH string by doubling it.
function ConvertTo-OpathString([string] $value) {
    return "'" + $value.Replace("'", "''") + "'"
}

# --- 1 and 2: Microsoft Graph and Exchange.ManageAsApp app roles ---------------------------------------------------

Write-Step 'Connecting to Microsoft Graph'
Connect-MgGraph -TenantId $TenantId -Scopes 'Application.Read.All', 'AppRoleAssignment.ReadWrite.All' -NoWelcome

$identity = Get-ServicePrincipalByAppId $ManagedIdentityClientId
if ($identity.ServicePrincipalType -ne 'ManagedIdentity') {
    throw "$ManagedIdentityClientId is a '$($identity.ServicePrincipalType)' service principal, not a managed identity."
}
Write-Host "    identity: $($identity.DisplayName) (object id $($identity.Id))"

Write-Step 'Granting application permissions'
$expectedRoleIds = @()
foreach ($permission in $graphPermissions) {
    $expectedRoleIds += Grant-AppRole $identity $microsoftGraphAppId $permission.Value $permission.Why
}
$expectedRoleIds += Grant-AppRole $identity $exchangeOnlineAppId 'Exchange.ManageAsApp' 'call the Exchange admin API as an application'

$unexpected = Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -All |
    Where-Object { $_.AppRoleId -notin $expectedRoleIds }
foreach ($assignment in $unexpected) {
    Write-Warning "The identity also holds app role $($assignment.AppRoleId) on $($assignment.ResourceDisplayName); not granted by this script, review it."
}

# --- 3 to 6: Exchange Online --------------------------------------------------------------------------------------

Write-Step 'Connecting to Exchange Online'
Connect-ExchangeOnline -ShowBanner:$false
$connection = Get-ConnectionInformation | Select-Object -First 1
if ($connection.TenantID -ne $TenantId) {
    throw "Exchange Online session is for tenant $($connection.TenantID), expected $TenantId."
}

if ((Get-OrganizationConfig).IsDehydrated) {
    if ($PSCmdlet.ShouldProcess('organisation', 'Enable-OrganizationCustomization (required for custom role groups)')) {
        Enable-OrganizationCustomization
    }
}

Write-Step 'Exchange service principal'
$exchangePrincipal = Get-ServicePrincipal -Identity $identity.Id -ErrorAction SilentlyContinue
if ($exchangePrincipal) {
    Write-Host "    exists: $($exchangePrincipal.Identity)"
} elseif ($PSCmdlet.ShouldProcess($identity.DisplayName, 'New-ServicePrincipal in Exchange Online')) {
    $exchangePrincipal = New-ServicePrincipal -AppId $identity.AppId -ObjectId $identity.Id -DisplayName $identity.DisplayName
    Write-Host "    created: $($exchangePrincipal.Identity)"
}

Write-Step 'Checking that the chosen roles hold every cmdlet and parameter the app uses'
$chosenRoles = $exchangeRoles | ForEach-Object { $_.Role }
$uncovered = @()
foreach ($entry in $exchangeRoles) {
    foreach ($use in $entry.Uses) {
        $query = @{ Cmdlet = $use.Cmdlet }
        if ($use.Parameters.Count -gt 0) { $query.CmdletParameters = $use.Parameters }
        $holders = @(Get-ManagementRole @query | ForEach-Object { $_.Name })
        $label = "$($use.Cmdlet) $(($use.Parameters | ForEach-Object { "-$_" }) -join ' ')".Trim()
        if ($holders -contains $entry.Role) {
            Write-Host "    ok: $label <- $($entry.Role)"
        } elseif ($holders | Where-Object { $_ -in $chosenRoles }) {
            Write-Host "    ok: $label <- $(($holders | Where-Object { $_ -in $chosenRoles }) -join ', ') (not $($entry.Role))"
        } else {
            $uncovered += "$label (held by: $($holders -join ', '))"
        }
    }
}
if ($uncovered) {
    $message = "The chosen roles do not cover:`n  " + ($uncovered -join "`n  ") + "`nAdd the smallest listed role to `$exchangeRoles and re-run."
    if ($WhatIfPreference) { Write-Warning $message } else { throw $message }
}

Write-Step "Role group '$RoleGroupName'"
$roleGroup = Get-RoleGroup -Identity $RoleGroupName -ErrorAction SilentlyContinue
if (-not $roleGroup) {
    if ($PSCmdlet.ShouldProcess($RoleGroupName, "New-RoleGroup with roles: $($chosenRoles -join ', ')")) {
        $roleGroup = New-RoleGroup -Name $RoleGroupName -Roles $chosenRoles `
            -Description 'Mailbox Audit Enforcer managed identity: least-privilege roles. Managed by infra/tenant-setup/Grant-TenantAccess.ps1.'
    }
} else {
    $assignedRoles = @($roleGroup.Roles | ForEach-Object { ($_ -split '\\')[-1] })
    foreach ($role in $chosenRoles | Where-Object { $_ -notin $assignedRoles }) {
        if ($PSCmdlet.ShouldProcess($RoleGroupName, "add role $role")) {
            New-ManagementRoleAssignment -SecurityGroup $RoleGroupName -Role $role | Out-Null
        }
    }
    foreach ($role in $assignedRoles | Where-Object { $_ -notin $chosenRoles }) {
        Write-Warning "Role group '$RoleGroupName' also holds '$role', which this script does not need; review it."
    }
}
if ($exchangePrincipal -and $roleGroup) {
    $members = @(Get-RoleGroupMember -Identity $RoleGroupName | ForEach-Object { $_.Identity })
    if ($members -contains $exchangePrincipal.Identity) {
        Write-Host "    member already: $($exchangePrincipal.Identity)"
    } elseif ($PSCmdlet.ShouldProcess($RoleGroupName, "Add-RoleGroupMember $($exchangePrincipal.Identity)")) {
        Add-RoleGroupMember -Identity $RoleGroupName -Member $exchangePrincipal.Identity
    }
}

if ($AlertMailFrom) {
    Write-Step "Mail.Send scoped to $AlertMailFrom (RBAC for Applications)"
    $scopeName = "$RoleGroupName - alert sender"
    $filter = "PrimarySmtpAddress -eq $(ConvertTo-OpathString $AlertMailFrom)"
    $scope = Get-ManagementScope -Identity $scopeName -ErrorAction SilentlyContinue
    if (-not $scope) {
        if ($PSCmdlet.ShouldProcess($scopeName, "New-ManagementScope -RecipientRestrictionFilter `"$filter`"")) {
            New-ManagementScope -Name $scopeName -RecipientRestrictionFilter $filter | Out-Null
        }
    } elseif ($scope.RecipientFilter -ne $filter) {
        if ($PSCmdlet.ShouldProcess($scopeName, "Set-ManagementScope -RecipientRestrictionFilter `"$filter`"")) {
            Set-ManagementScope -Identity $scopeName -RecipientRestrictionFilter $filter
        }
    }
    $sendAssignment = if ($exchangePrincipal) {
        Get-ManagementRoleAssignment -Role 'Application Mail.Send' -RoleAssignee $exchangePrincipal.Identity -ErrorAction SilentlyContinue
    }
    if ($sendAssignment) {
        Write-Host "    already assigned: Application Mail.Send ($($sendAssignment.CustomResourceScope))"
    } elseif ($PSCmdlet.ShouldProcess($identity.DisplayName, "New-ManagementRoleAssignment -Role 'Application Mail.Send' -CustomResourceScope '$scopeName'")) {
        New-ManagementRoleAssignment -App $identity.AppId -Role 'Application Mail.Send' -CustomResourceScope $scopeName | Out-Null
    }
}

Write-Step 'Done. Verify with docs/deployment.md, "Verify the tenant setup".'
Write-Host '    Exchange permission changes can take up to an hour to reach every server; a 401/403 right after setup is expected.'
