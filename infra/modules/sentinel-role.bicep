// Microsoft Sentinel Responder for the bot's identity on one Sentinel (Log Analytics) workspace: read and
// write incidents, comments and tasks; no analytics rules, no data connectors. Deployed to the workspace's
// resource group (which may be in another subscription) by azure.bicep, only when a workspace is given.

param workspaceName string
param principalId string

// Microsoft Sentinel Responder (built-in role).
var sentinelResponder = 'ab8e14d6-4a74-4a29-9ba8-549422addade'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource responder 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, sentinelResponder)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelResponder)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
