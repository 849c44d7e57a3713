// Microsoft Sentinel Responder for the bot's identity on one Sentinel (Log Analytics) workspace: read and
// write incidents, comments and tasks; no analytics rules, no data connectors. Deployed to the workspace's
// resource group (which may be in another subscription) by azure.bicep, only when a workspace is given.

param workspaceName string
param principalId string

// Microsoft Sentinel Responder (Azure built-in role; checked against Microsoft's list by test/deploy/roles.test.ts).
var sentinelResponder = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'

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
