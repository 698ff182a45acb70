// Mailbox Audit Enforcer: everything the Function App needs to run unattended.
// Deployed by `azd up` (see docs/deployment.md). Every credential is the one user-assigned managed identity:
// no storage keys, no Application Insights keys, no client secrets.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource.')
param location string

@description('Comma-separated email addresses that receive the Azure Monitor alerts (failed run, failed remediation, missed run).')
param alertEmailReceivers string = ''

@secure()
@description('Webhook URL (Teams/Slack/SIEM) for run alerts. Stored in Key Vault; empty skips the secret.')
param alertWebhookUrl string = ''

@description('Key Vault secret name that holds the alert webhook URL.')
param alertWebhookSecretName string = 'alert-webhook-url'

@description('Mailbox that alert mail is sent from (Graph sendMail). Empty disables mail alerts from the app.')
param alertMailFrom string = ''

@description('Comma-separated recipients of alert mail sent by the app.')
param alertMailTo string = ''

@description('NCRONTAB (second minute hour day month weekday) of the nightly run, evaluated in UTC.')
param nightlySchedule string = '0 0 2 * * *'

@description('What the nightly run does: apply, or plan (report what would change, write nothing). See docs/first-run.md.')
@allowed(['plan', 'apply'])
param nightlyMode string = 'apply'

@description('Most targets one nightly apply changes (a whole number), or unlimited; beyond it the run alerts for approval.')
param nightlyChangeLimit string = '500'

@minValue(1)
@maxValue(10)
@description('Maximum concurrent Exchange admin API calls per tenant.')
param exchangeMaxConcurrency int = 3

@minValue(1)
@description('Days between full sweeps of every mailbox.')
param fullSweepIntervalDays int = 7

@minValue(90)
@description('Mailbox AuditLogAgeLimit to enforce, in days (Microsoft default and peer baselines: at least 90).')
param auditLogAgeLimitDays int = 180

@description('SMTP address of the capture shared mailbox; empty when capture is not used.')
param captureMailbox string = ''

@description('Mail-enabled security group that alone may open the capture mailbox.')
param captureAccessGroup string = ''

@allowed(['off', 'transport-rules', 'journaling'])
@description('Journaling-equivalent capture: off, transport-rules (cloud-only tenants, the ASD design) or journaling (hybrid).')
param captureMode string = 'off'

@allowed([2048, 4096])
@description('Flex Consumption instance memory in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Flex Consumption maximum instance count; small on purpose, Exchange throttles per tenant.')
param maximumInstanceCount int = 10

@minValue(30)
@maxValue(730)
@description('Log Analytics retention in days.')
param logRetentionInDays int = 90

@minValue(1)
@maxValue(48)
@description('Hours without a completed run before the missed-run alert fires (the nightly cadence plus slack).')
param missedRunToleranceInHours int = 26

@description('Client id of the API app registration (infra/tenant-setup/Register-ApiApplication.ps1). Set: App Service Authentication (Entra ID) refuses unauthenticated requests and callers need the MailboxAudit.Read/Operate app roles. Empty: the function key alone.')
param apiClientId string = ''

@description('Optional, with apiClientId: comma-separated Entra object ids; a caller must also be listed.')
param allowedCallerObjectIds string = ''

@description('The deploying administrator (azd sets AZURE_PRINCIPAL_ID): gets Storage Table Data Reader, so `mailbox-audit report` reads production with their own identity. Empty: no grant.')
param principalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
@description('Kind of principalId (azd sets AZURE_PRINCIPAL_TYPE).')
param principalType string = 'User'

@description('Private networking: the VNet address space (a /24 or larger). Set: VNet integration for the app, private endpoints for storage and Key Vault, their public endpoints disabled. Empty: public endpoints (Entra ID only).')
param privateNetworkAddressPrefix string = ''

var privateNetworking = !empty(privateNetworkAddressPrefix)
var publicNetworkAccess = privateNetworking ? 'Disabled' : 'Enabled'
var alertEmails = empty(alertEmailReceivers) ? [] : split(replace(alertEmailReceivers, ' ', ''), ',')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-${resourceToken}'
  storage: 'st${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  appInsights: 'appi-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  actionGroup: 'ag-${resourceToken}'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    publicNetworkAccess: publicNetworkAccess
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    alertWebhookSecretName: alertWebhookSecretName
    alertWebhookUrl: alertWebhookUrl
    publicNetworkAccess: publicNetworkAccess
  }
}

module network 'modules/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    namePrefix: resourceToken
    location: location
    tags: tags
    addressPrefix: privateNetworkAddressPrefix
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
  }
}

module operatorAccess 'modules/operator-access.bicep' = if (!empty(principalId)) {
  name: 'operator-access'
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  // The host must be able to reach storage with the identity on first start.
  dependsOn: [
    roleAssignments
  ]
  params: {
    planName: names.plan
    appName: names.functionApp
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultUrl: keyVault.outputs.url
    alertWebhookSecretName: alertWebhookSecretName
    alertMailFrom: alertMailFrom
    alertMailTo: alertMailTo
    nightlySchedule: nightlySchedule
    nightlyMode: nightlyMode
    nightlyChangeLimit: nightlyChangeLimit
    exchangeMaxConcurrency: exchangeMaxConcurrency
    fullSweepIntervalDays: fullSweepIntervalDays
    auditLogAgeLimitDays: auditLogAgeLimitDays
    captureMailbox: captureMailbox
    captureAccessGroup: captureAccessGroup
    captureMode: captureMode
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    apiClientId: apiClientId
    allowedCallerObjectIds: allowedCallerObjectIds
    integrationSubnetId: privateNetworking ? network.outputs.appSubnetId : ''
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    actionGroupName: names.actionGroup
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.appInsightsId
    emailReceivers: alertEmails
    missedRunToleranceInHours: missedRunToleranceInHours
  }
}

// azd stores these in the environment (.azure/<env>/.env); the tenant setup script reads the identity ones.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output MANAGED_IDENTITY_NAME string = identity.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.url
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
// For `mailbox-audit report` with the administrator's own identity (docs/deployment.md).
output STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
