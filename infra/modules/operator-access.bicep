// Data-plane read access for the deploying administrator, so `mailbox-audit report` reads the production tables with
// their own Entra identity (docs/deployment.md). Read only: no queue, blob or write access.
param principalId string
@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string
param storageAccountName string

// Storage Table Data Reader (built-in, same id in every Azure cloud).
var storageTableDataReader = '76199698-9eea-4c19-bc75-cec21354c6b6'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource tableDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataReader)
  scope: storage
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataReader)
  }
}
