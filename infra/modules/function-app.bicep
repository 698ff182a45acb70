// Function App on Flex Consumption (Linux, Node 22) running as the user-assigned identity.
param planName string
param appName string
param location string
param tags object
param identityId string
param identityClientId string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerName string
param appInsightsConnectionString string
param keyVaultUrl string
param alertWebhookSecretName string
param alertMailFrom string
param alertMailTo string
param nightlySchedule string
param exchangeMaxConcurrency int
param fullSweepIntervalDays int
param auditLogAgeLimitDays int
param captureMailbox string
param captureAccessGroup string
param captureMode string
param instanceMemoryMB int
param maximumInstanceCount int
@description('Other tenants to manage (docs/operations.md); empty: TENANT_ID alone.')
param tenants string = ''
param alertWebhookFormat string = 'teams'
@description('Base URL of the app for report links in alerts; default: the app itself.')
param reportBaseUrl string = ''
@description('Optional allow-list of Entra object ids (with apiClientId): a caller must hold the app role and be listed.')
param allowedCallerObjectIds string = ''
@description('Client id of the API app registration (Register-ApiApplication.ps1). Set: App Service Authentication with Entra ID refuses unauthenticated requests and the app requires the MailboxAudit.Read/Operate app roles. Empty: the function key alone.')
param apiClientId string = ''
@description('Subnet (delegated to Microsoft.App/environments) for VNet integration; empty: no VNet integration.')
param integrationSubnetId string = ''
param runLeaseTtlSeconds int = 900
param runFanOutThreshold int = 100
@description('What the nightly run does: apply, or plan (report what would change, write nothing).')
@allowed(['plan', 'apply'])
param nightlyMode string = 'apply'
@description('Most targets one nightly apply changes (a whole number), or unlimited; beyond it the run alerts for approval.')
param nightlyChangeLimit string = '500'
param logLevel string = 'info'
@description('Prove the audit trail from the unified audit log (docs/audit-evidence.md): on, or off (without AuditLogsQuery-Exchange.Read.All).')
@allowed(['on', 'off'])
param auditEvidence string = 'on'
@description('Seconds a run waits, after its own work, for its audit searches to finish.')
param auditEvidencePollSeconds int = 300
@description('Minutes after a run finished before its changes are looked for in the audit log (Microsoft: typically 60 to 90).')
param auditIngestionDelayMinutes int = 90
@description('Hours after a run finished after which a change still missing from the audit log fails (AuditTrailMissing).')
param auditTrailMissingAfterHours int = 24
param auditPolicyPath string = ''
param captureCreateMailbox bool = false
param captureExpectedDailyMessages string = ''
param captureQuotaWarnPercent int = 80
param captureQuotaFailPercent int = 95
param journalEmailAddress string = ''
param journalNdrMailbox string = ''

// The single list of app settings (mirrored by infra/app-settings.json; test/infra checks both ways).
// WEBSITE_TIME_ZONE is deliberately absent: Linux/Flex Consumption ignores it, so NIGHTLY_SCHEDULE is UTC.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AZURE_CLIENT_ID: identityClientId
  TENANT_ID: tenant().tenantId
  EXCHANGE_MAX_CONCURRENCY: string(exchangeMaxConcurrency)
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  KEY_VAULT_URL: keyVaultUrl
  ALERT_WEBHOOK_SECRET_NAME: alertWebhookSecretName
  ALERT_MAIL_FROM: alertMailFrom
  ALERT_MAIL_TO: alertMailTo
  NIGHTLY_SCHEDULE: nightlySchedule
  FULL_SWEEP_INTERVAL_DAYS: string(fullSweepIntervalDays)
  AUDIT_LOG_AGE_LIMIT_DAYS: string(auditLogAgeLimitDays)
  CAPTURE_MAILBOX: captureMailbox
  CAPTURE_ACCESS_GROUP: captureAccessGroup
  CAPTURE_MODE: captureMode
  TENANTS: tenants
  ALERT_WEBHOOK_FORMAT: alertWebhookFormat
  REPORT_BASE_URL: empty(reportBaseUrl) ? 'https://${appName}.azurewebsites.net' : reportBaseUrl
  ALLOWED_CALLER_OBJECT_IDS: allowedCallerObjectIds
  // Entra callers exactly when Easy Auth is deployed below: the app then refuses every request if Easy Auth is off.
  CALLER_AUTH: empty(apiClientId) ? 'function-key' : 'entra'
  RUN_LEASE_TTL_SECONDS: string(runLeaseTtlSeconds)
  RUN_FANOUT_THRESHOLD: string(runFanOutThreshold)
  NIGHTLY_MODE: nightlyMode
  NIGHTLY_CHANGE_LIMIT: nightlyChangeLimit
  LOG_LEVEL: logLevel
  AUDIT_EVIDENCE: auditEvidence
  AUDIT_EVIDENCE_POLL_SECONDS: string(auditEvidencePollSeconds)
  AUDIT_INGESTION_DELAY_MINUTES: string(auditIngestionDelayMinutes)
  AUDIT_TRAIL_MISSING_AFTER_HOURS: string(auditTrailMissingAfterHours)
  AUDIT_POLICY_PATH: auditPolicyPath
  CAPTURE_CREATE_MAILBOX: string(captureCreateMailbox)
  CAPTURE_EXPECTED_DAILY_MESSAGES: captureExpectedDailyMessages
  CAPTURE_QUOTA_WARN_PERCENT: string(captureQuotaWarnPercent)
  CAPTURE_QUOTA_FAIL_PERCENT: string(captureQuotaFailPercent)
  JOURNAL_EMAIL_ADDRESS: journalEmailAddress
  JOURNAL_NDR_MAILBOX: journalNdrMailbox
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  // azd deploys the `api` service to the resource carrying this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(integrationSubnetId) ? null : integrationSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// App Service Authentication (Easy Auth) with Entra ID: requests without a valid token for the API are refused with
// 401 before they reach the app, and the platform strips any x-ms-client-principal header a caller sends, then sets
// its own. Bearer tokens only (no login flow, no token store, no client secret).
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(apiClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: apiClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            apiClientId
            'api://${apiClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// No publishing passwords: azd deploys to Flex with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
