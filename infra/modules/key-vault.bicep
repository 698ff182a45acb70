// Key Vault with Azure RBAC (no access policies): the identity reads secrets as Key Vault Secrets User.
param name string
param location string
param tags object
param alertWebhookSecretName string
@allowed(['Enabled', 'Disabled'])
@description('Disabled with private networking: the app reaches the vault through its private endpoint only.')
param publicNetworkAccess string = 'Enabled'

@secure()
param alertWebhookUrl string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
  }
}

// Created only when a URL is given, so a later `azd provision` without it does not blank a secret set by hand.
resource alertWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertWebhookUrl)) {
  parent: vault
  name: alertWebhookSecretName
  properties: {
    value: alertWebhookUrl
    contentType: 'text/uri-list'
  }
}

output name string = vault.name
output id string = vault.id
output url string = vault.properties.vaultUri
