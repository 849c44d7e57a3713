// SOC Incident Bot on Azure: everything in one resource group (docs/deploy.md).
//
//   App Service plan (Linux) + web app (Node 24 LTS, or the Dockerfile's image when containerImage is set): HTTPS only,
//     TLS 1.2, FTP(S) off, basic publishing credentials (FTP and SCM) off: `atk deploy` uploads with an Entra token
//   user-assigned managed identity: the bot itself (Azure Bot of type UserAssignedMSI: no client secret anywhere),
//     Microsoft Graph, Cosmos DB data plane, Sentinel, Application Insights ingestion, pulling the image
//   Azure Cosmos DB for NoSQL (serverless by default, key auth disabled) with the database and container
//   Log Analytics workspace + Application Insights (local auth off: telemetry only with the identity's token)
//   Azure Bot (UserAssignedMSI: the identity) with the Teams channel
//   with grantGraphAppRoles: the identity's Microsoft Graph application roles (modules/graph-app-roles.bicep)
//   optionally: Microsoft Sentinel Responder for the identity on a Sentinel workspace (modules/sentinel-role.bicep)
//
// The bot's settings (appSettings below) use exactly the names of .env.example; test/deploy/consistency.test.ts
// checks both ways. No setting holds a secret (test/deploy/roles.test.ts). Every role id here is checked against
// Microsoft's published built-in role list by test/deploy/roles.test.ts.

@minLength(4)
@maxLength(20)
@description('Base of every resource name, lower-case letters and digits (the web app and Cosmos DB names are global).')
param resourceBaseName string

param location string = resourceGroup().location

@description('App Service plan size. B1 is the smallest with Always On; P0v3 and up for zone redundancy and more memory.')
param webAppSku string = 'B1'

@minValue(1)
@maxValue(10)
@description('Instances of the bot. Instances are stateless (everything is in Cosmos DB): any number works.')
param instanceCount int = 1

@description('Empty: run the code that `atk deploy` ships on Node 24 LTS. Otherwise a container image built from the Dockerfile, e.g. myregistry.azurecr.io/soc-incident-bot:1.2.0, pulled with the managed identity (give it AcrPull).')
param containerImage string = ''

@description('The tenant of the bot, of its users and of the Graph directory.')
param tenantId string = subscription().tenantId

@description('Grant the identity Microsoft Graph\'s User.Read.All and GroupMember.Read.All application roles here (needs a deploying person who may: Privileged Role Administrator). false: an administrator runs the commands in docs/deploy.md instead.')
param grantGraphAppRoles bool = true

@maxLength(42)
param botDisplayName string = 'SOC Incident Bot'

@description('Object id of the Entra group of SOC analysts. Empty: the bot refuses to start (unless analystsAreEveryone).')
param analystGroupId string = ''

@description('true only if everyone in the tenant should be a SOC analyst (ANALYSTS_ARE_EVERYONE).')
param analystsAreEveryone bool = false

@description('Object id of the restricted-cases team\'s Entra group. Empty: the analysts are that team.')
param restrictedGroupId string = ''

@description('Incidents, numbers and tag suggestions are kept per workspace (WORKSPACE_ID).')
param workspaceId string = 'default'

@description('Serverless (pay per request, one region) or provisioned autoscale throughput.')
param cosmosServerless bool = true

@minValue(1000)
@description('Autoscale maximum RU/s on the container, only when cosmosServerless is false (scales between 10% and this).')
param cosmosMaxThroughput int = 1000

param cosmosDatabaseName string = 'soc-incident-bot'
param cosmosContainerName string = 'incidents'

@description('Log Analytics workspace NAME of Microsoft Sentinel. Empty: no Sentinel sync and no role assignment.')
param sentinelWorkspaceName string = ''
@description('Resource group of that workspace. Empty: this resource group.')
param sentinelResourceGroup string = ''
@description('Subscription of that workspace. Empty: this subscription.')
param sentinelSubscriptionId string = ''

@minValue(30)
param logRetentionDays int = 30

var sentinelEnabled = !empty(sentinelWorkspaceName)
var sentinelGroup = empty(sentinelResourceGroup) ? resourceGroup().name : sentinelResourceGroup
var sentinelSubscription = empty(sentinelSubscriptionId) ? subscription().subscriptionId : sentinelSubscriptionId
var runsContainer = !empty(containerImage)
// Cosmos DB Built-in Data Contributor (data plane: read and write items, no account keys, no control plane).
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'
// Monitoring Metrics Publisher (Azure built-in role): sends telemetry to Application Insights with an Entra token.
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-id'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${resourceBaseName}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${resourceBaseName}-appi'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'Node.JS'
    WorkspaceResourceId: logs.id
    // Ingestion only with a Microsoft Entra token (the identity below): the connection string alone sends nothing.
    DisableLocalAuth: true
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: '${resourceBaseName}-cosmos'
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      { locationName: location, failoverPriority: 0, isZoneRedundant: false }
    ]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    capabilities: cosmosServerless ? [ { name: 'EnableServerless' } ] : []
    // Microsoft Entra ID only: no account keys to leak or rotate.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmos
  name: cosmosDatabaseName
  properties: {
    resource: { id: cosmosDatabaseName }
  }
}

// The same partition key and indexing policy as src/adapters/cosmos-store.ts (checked by test/deploy/consistency.test.ts).
resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: cosmosContainerName
  properties: {
    resource: {
      id: cosmosContainerName
      partitionKey: { paths: [ '/workspaceId' ], kind: 'Hash', version: 2 }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          { path: '/workspaceId/?' }
          { path: '/type/?' }
          { path: '/day/?' }
          { path: '/incident/incidentNumber/?' }
          { path: '/incident/triage/state/?' }
          { path: '/incident/triage/updatedUtc/?' }
          { path: '/search/*' }
        ]
        excludedPaths: [
          { path: '/*' }
        ]
      }
    }
    options: cosmosServerless ? {} : { autoscaleSettings: { maxThroughput: cosmosMaxThroughput } }
  }
}

resource cosmosDataRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmos
  name: guid(cosmos.id, identity.id, cosmosDataContributor)
  properties: {
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    principalId: identity.properties.principalId
    // The bot's database only, not every database of the account.
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${resourceBaseName}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: webAppSku
    capacity: instanceCount
  }
  properties: {
    reserved: true
  }
}

// The bot's settings, named as in .env.example.
var botSettings = [
  { name: 'NODE_ENV', value: 'production' }
  { name: 'LOG_LEVEL', value: 'info' }
  { name: 'WORKSPACE_ID', value: workspaceId }
  // The bot signs in to the Bot Framework as the user-assigned identity: no password.
  { name: 'MicrosoftAppId', value: identity.properties.clientId }
  { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }
  { name: 'MicrosoftAppTenantId', value: tenantId }
  { name: 'ALLOWED_TENANT_IDS', value: tenantId }
  { name: 'STORE', value: 'cosmos' }
  { name: 'COSMOS_ENDPOINT', value: cosmos.properties.documentEndpoint }
  { name: 'COSMOS_AUTH', value: 'entra' }
  { name: 'COSMOS_MANAGED_IDENTITY_CLIENT_ID', value: identity.properties.clientId }
  { name: 'COSMOS_DATABASE', value: cosmosDatabaseName }
  { name: 'COSMOS_CONTAINER', value: cosmosContainerName }
  { name: 'COSMOS_CREATE_IF_MISSING', value: 'false' }
  { name: 'DIRECTORY', value: 'graph' }
  { name: 'GRAPH_TENANT_ID', value: tenantId }
  { name: 'GRAPH_CLIENT_ID', value: identity.properties.clientId }
  { name: 'GRAPH_MANAGED_IDENTITY', value: 'true' }
  { name: 'ANALYST_GROUP_ID', value: analystGroupId }
  { name: 'ANALYSTS_ARE_EVERYONE', value: analystsAreEveryone ? 'true' : 'false' }
  { name: 'RESTRICTED_GROUP_ID', value: restrictedGroupId }
]

// Only with a Sentinel workspace: the sync signs in as the user-assigned identity (no secret).
var sentinelSettings = sentinelEnabled ? [
  { name: 'SENTINEL_SUBSCRIPTION_ID', value: sentinelSubscription }
  { name: 'SENTINEL_RESOURCE_GROUP', value: sentinelGroup }
  { name: 'SENTINEL_WORKSPACE_NAME', value: sentinelWorkspaceName }
  { name: 'SENTINEL_CLIENT_ID', value: identity.properties.clientId }
] : []

// App Service's own settings, not the bot's.
var platformSettings = [
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  // Local auth is off: telemetry is sent with this identity's Entra token (Monitoring Metrics Publisher above).
  { name: 'APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID', value: identity.properties.clientId }
  { name: 'WEBSITES_PORT', value: '3978' }
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'false' }
]

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: resourceBaseName
  location: location
  kind: runsContainer ? 'app,linux,container' : 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: runsContainer ? 'DOCKER|${containerImage}' : 'NODE|24-lts'
      // Node directly (not npm), so SIGTERM reaches the bot's graceful stop.
      appCommandLine: runsContainer ? '' : 'node --enable-source-maps dist/index.js'
      acrUseManagedIdentityCreds: runsContainer
      acrUserManagedIdentityID: runsContainer ? identity.properties.clientId : null
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(botSettings, sentinelSettings, platformSettings)
    }
  }
}

// No FTP or Kudu (SCM) user name and password: `atk deploy` (azureAppService/zipDeploy) uploads with the deploying
// person's Microsoft Entra token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: webApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: webApp
  name: 'scm'
  properties: { allow: false }
}

resource webAppLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: webApp
  properties: {
    workspaceId: logs.id
    logs: [
      { category: 'AppServiceConsoleLogs', enabled: true }
      { category: 'AppServiceHTTPLogs', enabled: true }
      { category: 'AppServicePlatformLogs', enabled: true }
    ]
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: resourceBaseName
  location: 'global'
  kind: 'azurebot'
  sku: { name: 'F0' }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    // The bot is the user-assigned identity: no Entra app registration, no client secret to leak or rotate.
    msaAppType: 'UserAssignedMSI'
    msaAppId: identity.properties.clientId
    msaAppMSIResourceId: identity.id
    msaAppTenantId: tenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: { isEnabled: true }
  }
}

module graphAppRoles 'modules/graph-app-roles.bicep' = if (grantGraphAppRoles) {
  name: 'graph-app-roles-${resourceBaseName}'
  params: {
    principalId: identity.properties.principalId
  }
}

module sentinelRole 'modules/sentinel-role.bicep' = if (sentinelEnabled) {
  name: 'sentinel-responder-${resourceBaseName}'
  scope: resourceGroup(sentinelSubscription, sentinelGroup)
  params: {
    workspaceName: sentinelWorkspaceName
    principalId: identity.properties.principalId
  }
}

// Written to env/.env.<environment> by `atk provision` (arm/deploy); none is a secret.
// BOT_ID: the bot's Microsoft App ID (the identity's client id), which the Teams app package names.
output BOT_ID string = identity.properties.clientId
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = webApp.id
output BOT_DOMAIN string = webApp.properties.defaultHostName
output BOT_ENDPOINT string = 'https://${webApp.properties.defaultHostName}'
output BOT_IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output COSMOS_ACCOUNT_ENDPOINT string = cosmos.properties.documentEndpoint
output COSMOS_ACCOUNT_NAME string = cosmos.name
