// The one identity the app uses for everything: host storage, Tables, Queues, Key Vault, telemetry, Exchange, Graph.
// User-assigned so its client id is known before the app exists and survives app re-creation
// (the Exchange service principal and role group membership are bound to it).
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
