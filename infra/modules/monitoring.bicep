// Workspace-based Application Insights with local (instrumentation key) auth disabled:
// only Entra ID ingestion with the identity (Monitoring Metrics Publisher) is accepted.
param logAnalyticsName string
param appInsightsName string
param location string
param tags object
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output appInsightsId string = appInsights.id
output appInsightsName string = appInsights.name
// Not a credential: with DisableLocalAuth the embedded key cannot ingest without an Entra token.
output appInsightsConnectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
