#Requires -Version 7.2
#Requires -Modules @{ ModuleName = 'ExchangeOnlineManagement'; ModuleVersion = '3.2.0' }, Microsoft.Graph.Authentication, Microsoft.Graph.Applications

<#
.SYNOPSIS
One-time Microsoft 365 tenant setup for Mailbox Audit Enforcer: gives the app's managed identity (or an app
registration, for the CLI and for other tenants) exactly the Microsoft Graph and Exchange Online permissions the
product uses, and nothing more.

.DESCRIPTION
Run once per tenant by an administrator, after `azd provision` created the managed identity. Re-running is safe:
every step reads the current state first and changes only what is missing (it never removes anything; it warns
about grants it did not expect). Use -WhatIf first: it signs in, reads, and prints every change it would make.

Steps:
  0. With -AppRegistration only: the app registration (created or reused), its certificate (self-signed, or an
     existing PEM/PFX) as a key credential, the certificate and private key as one PEM in Key Vault
     (-KeyVaultUrl, secret -CertificateSecretName) and/or a file (-CertificateOutPath), its service principal.
     With -AppClientId of a registration that lives in another tenant (a provider's multi-tenant app), this
     tenant gets its service principal only: the certificate stays with the registration's home tenant.
  1. Microsoft Graph application permissions (app role assignments on the identity's service principal).
  2. Exchange.ManageAsApp on "Office 365 Exchange Online" (00000002-0000-0ff1-ce00-000000000000).
  3. Exchange Online: organisation customisation if the tenant is dehydrated (needed for custom role groups).
  4. Exchange Online: a service principal object for the identity (New-ServicePrincipal).
  5. Exchange Online: check that the chosen management roles hold every cmdlet and parameter the app uses
     (Get-ManagementRole -Cmdlet -CmdletParameters), then a custom role group with those roles and the identity.
  6. Optional: "Application Mail.Send" through RBAC for Applications, scoped to the alert sender mailbox only.

The permission table with the reason for each grant, and which facts were verified, is in docs/deployment.md.

Required admin roles: Privileged Role Administrator (or Global Administrator) for the Graph app role assignments;
Exchange Administrator / Organization Management for the Exchange steps; with -AppRegistration also Application
Administrator, and Key Vault Secrets Officer on the vault for -KeyVaultUrl (modules Az.Accounts and Az.KeyVault).

.PARAMETER TenantId
Microsoft 365 tenant id; the managed identity's home tenant (azd output AZURE_TENANT_ID).

.PARAMETER ManagedIdentityClientId
Client (application) id of the user-assigned identity (azd output MANAGED_IDENTITY_CLIENT_ID).

.PARAMETER AppRegistration
Grant an app registration instead of the managed identity: for the CLI against a real tenant, and for tenants
other than the managed identity's home tenant (TENANTS).

.PARAMETER AppDisplayName
Display name of the app registration to reuse or create (when -AppClientId is not given).

.PARAMETER AppClientId
Client id of an existing app registration: in this tenant, or a multi-tenant one of another tenant.

.PARAMETER MultiTenant
Create the registration multi-tenant (AzureADMultipleOrgs), so other tenants can be granted its service principal.

.PARAMETER CertificatePath
An existing certificate with its private key: a PEM file (certificate and key) or a PFX. Without it, a new
self-signed certificate is created when the registration has no valid one (or with -NewCertificate).

.PARAMETER CertificatePassword
Password of the PFX in -CertificatePath.

.PARAMETER NewCertificate
Add a new self-signed certificate even though the registration holds a valid one (rotation; the old one stays
until you remove it from the registration).

.PARAMETER CertificateValidityMonths
Validity of a new self-signed certificate.

.PARAMETER KeyVaultUrl
Key Vault (azd output KEY_VAULT_URL) that receives the certificate and private key as one PEM secret.

.PARAMETER CertificateSecretName
Name of that secret: the app's CERTIFICATE_SECRET_NAME, or certificateSecretName of a TENANTS entry.

.PARAMETER CertificateOutPath
Also write the PEM to this new file (mode 600 outside Windows), for AZURE_CLIENT_CERTIFICATE_PATH.

.PARAMETER AlertMailFrom
Mailbox the app sends alert mail from. When given, the identity may send mail as this mailbox only.

.PARAMETER IncludeCapture
Also grant what the journaling-equivalent capture needs: create the capture shared mailbox, manage its
permissions and the capture transport rules, block sign-in of its account.

.PARAMETER NoAuditEvidence
Leave out AuditLogsQuery-Exchange.Read.All (the audit-log evidence: Purview audit searches for the Exchange admin
records of the product's changes and for mailbox audit records). Only with AUDIT_EVIDENCE=off; otherwise the runs
report that evidence not-applicable and doctor reports the missing permission.

.PARAMETER IncludeHybridJournaling
Also grant journal rules (hybrid deployments that journal to an on-premises or external mailbox).

.PARAMETER RoleGroupName
Name of the Exchange Online role group created for the identity.

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId $env:AZURE_TENANT_ID -ManagedIdentityClientId $env:MANAGED_IDENTITY_CLIENT_ID -WhatIf

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId 00000000-0000-0000-0000-000000000000 -ManagedIdentityClientId 11111111-1111-1111-1111-111111111111 -AlertMailFrom alerts@contoso.com -IncludeCapture

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId $env:AZURE_TENANT_ID -AppRegistration -MultiTenant -KeyVaultUrl $env:KEY_VAULT_URL -CertificateSecretName mailbox-audit-app-pem -WhatIf

.EXAMPLE
./Grant-TenantAccess.ps1 -TenantId 22222222-2222-2222-2222-222222222222 -AppRegistration -AppClientId 33333333-3333-3333-3333-333333333333
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'ManagedIdentity')]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $TenantId,

    [Parameter(Mandatory = $true, ParameterSetName = 'ManagedIdentity')]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $ManagedIdentityClientId,

    [Parameter(Mandatory = $true, ParameterSetName = 'AppRegistration')]
    [switch] $AppRegistration,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidateNotNullOrEmpty()]
    [string] $AppDisplayName = 'Mailbox Audit Enforcer',

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidatePattern('^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$')]
    [string] $AppClientId,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [switch] $MultiTenant,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
    [string] $CertificatePath,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [securestring] $CertificatePassword,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [switch] $NewCertificate,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidateRange(1, 24)]
    [int] $CertificateValidityMonths = 12,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidatePattern('^https://[a-zA-Z0-9-]{3,24}\.vault\.azure\.net/?$')]
    [string] $KeyVaultUrl,

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidatePattern('^[a-zA-Z0-9-]{1,127}$')]
    [string] $CertificateSecretName = 'mailbox-audit-app-pem',

    [Parameter(ParameterSetName = 'AppRegistration')]
    [ValidateNotNullOrEmpty()]
    [string] $CertificateOutPath,

    [ValidatePattern('^[^@\s]+@[^@\s]+$')]
    [string] $AlertMailFrom,

    [switch] $IncludeCapture,

    [switch] $IncludeHybridJournaling,

    [switch] $NoAuditEvidence,

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
if (-not $NoAuditEvidence) {
    # Read-only: Purview audit searches (security/auditLog/queries) over Exchange's audit records. The least privileged
    # permission that returns them; AuditLogsQuery.Read.All would open every service's audit log.
    $graphPermissions += @(
        @{ Value = 'AuditLogsQuery-Exchange.Read.All'; Why = 'audit-log evidence: Exchange admin records of the changes, mailbox audit records' }
    )
}
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

# --- App registration helpers (step 0) ---------------------------------------------------------------------------
# Certificates go through .NET (CertificateRequest), not New-SelfSignedCertificate: that cmdlet exists only on
# Windows and would leave the private key in the user's certificate store. The key never touches disk unless
# -CertificateOutPath asks for it.

# PEM (RFC 7468): base64 in lines of 64 characters between the BEGIN and END lines.
function ConvertTo-Pem([string] $label, [byte[]] $bytes) {
    $base64 = [Convert]::ToBase64String($bytes)
    $lines = for ($index = 0; $index -lt $base64.Length; $index += 64) {
        $base64.Substring($index, [Math]::Min(64, $base64.Length - $index))
    }
    return "-----BEGIN $label-----`n$($lines -join "`n")`n-----END $label-----`n"
}

# The certificate and its private key as one PEM, certificate first: what the app reads from Key Vault
# (CERTIFICATE_SECRET_NAME) and from AZURE_CLIENT_CERTIFICATE_PATH.
function ConvertTo-CertificatePem($certificate, $rsa) {
    return (ConvertTo-Pem 'CERTIFICATE' $certificate.RawData) + (ConvertTo-Pem 'PRIVATE KEY' $rsa.ExportPkcs8PrivateKey())
}

function New-AppCertificate([string] $subject, [int] $months) {
    $rsa = [System.Security.Cryptography.RSA]::Create(2048)
    $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$subject", $rsa,
        [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddMinutes(-5), [DateTimeOffset]::UtcNow.AddMonths($months))
    return @{ Certificate = $certificate; Pem = ConvertTo-CertificatePem $certificate $rsa }
}

function Read-AppCertificate([string] $path, [securestring] $password) {
    $fullPath = (Resolve-Path -LiteralPath $path).ProviderPath
    if ($fullPath -notmatch '\.(pfx|p12)$') {
        $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile($fullPath, $fullPath)
        return @{ Certificate = $certificate; Pem = Get-Content -LiteralPath $fullPath -Raw }
    }
    $secret = if ($password) { $password } else { [securestring]::new() }
    $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($fullPath, $secret,
        [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::Exportable)
    $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($certificate)
    if (-not $rsa) { throw "$path holds no RSA private key." }
    try { $pem = ConvertTo-CertificatePem $certificate $rsa }
    catch { throw "The private key in $path cannot be exported ($($_.Exception.Message)). Convert it: openssl pkcs12 -in $path -nodes -out app.pem, then pass -CertificatePath app.pem." }
    return @{ Certificate = $certificate; Pem = $pem }
}

# Graph returns a key credential's key only when it is selected, and a PATCH replaces the whole collection: the
# current credentials go back with the new one. Graph sets customKeyIdentifier to the certificate's SHA-1 hash.
function Add-AppKeyCredential($application, $held, $certificate) {
    $hash = [Convert]::ToBase64String($certificate.GetCertHash())
    if ($held | Where-Object { $_.CustomKeyIdentifier -and [Convert]::ToBase64String($_.CustomKeyIdentifier) -eq $hash }) {
        Write-Host "    certificate already on the registration: $($certificate.Thumbprint)"
        return
    }
    $credentials = @($held | ForEach-Object { @{ Type = $_.Type; Usage = $_.Usage; Key = $_.Key; DisplayName = $_.DisplayName } })
    $credentials += @{ Type = 'AsymmetricX509Cert'; Usage = 'Verify'; Key = $certificate.RawData; DisplayName = $certificate.Subject }
    if ($PSCmdlet.ShouldProcess($application.DisplayName, "add certificate $($certificate.Thumbprint) (until $($certificate.NotAfter.ToString('yyyy-MM-dd')))")) {
        Update-MgApplication -ApplicationId $application.Id -KeyCredentials $credentials
        Write-Host "    certificate added: $($certificate.Thumbprint)"
    }
}

function Publish-CertificateSecret([string] $pem) {
    Import-Module Az.Accounts, Az.KeyVault -ErrorAction Stop
    $context = Get-AzContext
    if (-not $context -or $context.Tenant.Id -ne $TenantId) { Connect-AzAccount -Tenant $TenantId | Out-Null }
    $vaultName = ([uri] $KeyVaultUrl).Host.Split('.')[0]
    $current = Get-AzKeyVaultSecret -VaultName $vaultName -Name $CertificateSecretName -AsPlainText -ErrorAction SilentlyContinue
    if ($current -eq $pem) {
        Write-Host "    Key Vault secret $CertificateSecretName already holds this certificate"
        return
    }
    if ($PSCmdlet.ShouldProcess("$vaultName/$CertificateSecretName", 'store the PEM certificate and private key as a secret')) {
        Set-AzKeyVaultSecret -VaultName $vaultName -Name $CertificateSecretName -ContentType 'application/x-pem-file' `
            -SecretValue (ConvertTo-SecureString $pem -AsPlainText -Force) | Out-Null
        Write-Host "    stored: $($KeyVaultUrl.TrimEnd('/'))/secrets/$CertificateSecretName"
    }
}

function Save-CertificateFile([string] $pem) {
    if ($PSCmdlet.ShouldProcess($CertificateOutPath, 'write the PEM certificate and private key')) {
        New-Item -ItemType File -Path $CertificateOutPath | Out-Null
        if (-not $IsWindows) { chmod 600 $CertificateOutPath }
        Set-Content -LiteralPath $CertificateOutPath -Value $pem -NoNewline
        Write-Host "    written: $CertificateOutPath"
    }
}

# A self-signed certificate's private key exists only in this session: it must go to Key Vault or a file.
function Assert-CertificateKept {
    if (-not ($CertificatePath -or $KeyVaultUrl -or $CertificateOutPath)) {
        throw 'A new certificate needs -KeyVaultUrl and/or -CertificateOutPath to keep its private key.'
    }
}

# A new certificate unless the registration holds a valid one (and neither -CertificatePath nor -NewCertificate
# asks for another); the PEM goes to Key Vault and/or the file.
function Set-AppCertificate($application) {
    $held = @((Get-MgApplication -ApplicationId $application.Id -Property keyCredentials).KeyCredentials)
    $valid = $held | Where-Object { $_.EndDateTime -gt [DateTime]::UtcNow } | Sort-Object EndDateTime | Select-Object -Last 1
    if ($valid -and -not $CertificatePath -and -not $NewCertificate) {
        Write-Host "    keeps its certificate (valid until $($valid.EndDateTime.ToString('yyyy-MM-dd'))); -NewCertificate or -CertificatePath adds another"
        return
    }
    Assert-CertificateKept
    if ($CertificateOutPath -and (Test-Path -LiteralPath $CertificateOutPath)) {
        throw "$CertificateOutPath exists; this script never overwrites a key file."
    }
    $pair = if ($CertificatePath) { Read-AppCertificate $CertificatePath $CertificatePassword } else { New-AppCertificate $application.DisplayName $CertificateValidityMonths }
    if (-not $pair.Certificate.HasPrivateKey) { throw "$CertificatePath must hold the certificate and its private key." }
    Add-AppKeyCredential $application $held $pair.Certificate
    if ($KeyVaultUrl) { Publish-CertificateSecret $pair.Pem }
    if ($CertificateOutPath) { Save-CertificateFile $pair.Pem }
}

# The registration by client id or display name, created when absent (-AppClientId of another tenant's
# multi-tenant registration: none here, and none is created), then its service principal in this tenant.
function Get-AppRegistrationPrincipal {
    $filter = if ($AppClientId) { "appId eq '$AppClientId'" } else { "displayName eq '$($AppDisplayName.Replace("'", "''"))'" }
    $found = @(Get-MgApplication -Filter $filter -All)
    if ($found.Count -gt 1) { throw "Several app registrations are named '$AppDisplayName'; pass -AppClientId." }
    $application = $found | Select-Object -First 1
    $appId = $AppClientId
    if ($application) {
        Write-Host "    registration: $($application.DisplayName) (client id $($application.AppId))"
        Set-AppCertificate $application
        $appId = $application.AppId
    } elseif ($AppClientId) {
        if ($CertificatePath -or $NewCertificate -or $KeyVaultUrl -or $CertificateOutPath) {
            throw "$AppClientId is registered in another tenant: run the certificate options in that tenant."
        }
        Write-Host "    $AppClientId is registered in another tenant: this tenant gets its service principal"
    } else {
        Assert-CertificateKept
        $audience = if ($MultiTenant) { 'AzureADMultipleOrgs' } else { 'AzureADMyOrg' }
        if ($PSCmdlet.ShouldProcess($AppDisplayName, "create the app registration ($audience)")) {
            $application = New-MgApplication -DisplayName $AppDisplayName -SignInAudience $audience `
                -Notes 'Mailbox Audit Enforcer: the CLI and other tenants. Managed by infra/tenant-setup/Grant-TenantAccess.ps1.'
            Write-Host "    created: $AppDisplayName (client id $($application.AppId))"
            Set-AppCertificate $application
            $appId = $application.AppId
        }
    }
    if (-not $appId) { return $null }
    $principal = Get-MgServicePrincipal -Filter "appId eq '$appId'" -All | Select-Object -First 1
    if (-not $principal -and $PSCmdlet.ShouldProcess($appId, 'create the service principal in this tenant')) {
        $principal = New-MgServicePrincipal -AppId $appId
    }
    return $principal
}

# Exchange escapes a quote inside an OPATH string by doubling it.
function ConvertTo-OpathString([string] $value) {
    return "'" + $value.Replace("'", "''") + "'"
}

# --- 1 and 2: Microsoft Graph and Exchange.ManageAsApp app roles ---------------------------------------------------

Write-Step 'Connecting to Microsoft Graph'
$applicationScope = if ($AppRegistration) { 'Application.ReadWrite.All' } else { 'Application.Read.All' }
Connect-MgGraph -TenantId $TenantId -Scopes $applicationScope, 'AppRoleAssignment.ReadWrite.All' -NoWelcome

if ($AppRegistration) {
    Write-Step 'App registration'
    $identity = Get-AppRegistrationPrincipal
    if (-not $identity) { Write-Host 'What if: the registration or its service principal comes first; the grants follow on the real run.'; return }
} else {
    $identity = Get-ServicePrincipalByAppId $ManagedIdentityClientId
    if ($identity.ServicePrincipalType -ne 'ManagedIdentity') {
        throw "$ManagedIdentityClientId is a '$($identity.ServicePrincipalType)' service principal, not a managed identity."
    }
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
            -Description 'Mailbox Audit Enforcer identity: least-privilege roles. Managed by infra/tenant-setup/Grant-TenantAccess.ps1.'
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

if ($AppRegistration) {
    $secretSetting = if ($KeyVaultUrl) { "KEY_VAULT_URL=$KeyVaultUrl CERTIFICATE_SECRET_NAME=$CertificateSecretName" } else { 'AZURE_CLIENT_CERTIFICATE_PATH=<the PEM>' }
    Write-Step 'Settings for this identity'
    Write-Host "    CLI: TENANT_ID=$TenantId AZURE_CLIENT_ID=$($identity.AppId) $secretSetting"
    Write-Host "    Functions (TENANTS entry): {`"tenantId`": `"$TenantId`", `"clientId`": `"$($identity.AppId)`", `"certificateSecretName`": `"$CertificateSecretName`"}"
}

Write-Step 'Done. Verify with docs/deployment.md, "Verify the tenant setup".'
Write-Host '    Exchange permission changes can take up to an hour to reach every server; a 401/403 right after setup is expected.'
