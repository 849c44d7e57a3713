// The bot's identity's Microsoft Graph application roles, granted here with the Microsoft Graph Bicep extension
// (infra/bicepconfig.json): what an administrator's "Grant admin consent" does for an app registration. Deployed by
// azure.bicep when grantGraphAppRoles is true; the deploying person needs a Microsoft Entra role that may grant
// application roles (Privileged Role Administrator), otherwise set grantGraphAppRoles to false and have one run the
// commands in docs/deploy.md.

extension microsoftGraphV1

@description('Object (principal) id of the bot\'s user-assigned managed identity.')
param principalId string

// Microsoft Graph's application id, the same in every tenant.
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
// Microsoft Graph User.Read.All (application role): the owner picker and people's names.
var graphUserReadAll = 'df021288-bdef-4463-88db-98f22de89214'
// Microsoft Graph GroupMember.Read.All (application role): who is in the analysts' and restricted groups.
var graphGroupMemberReadAll = '98830695-27a2-44f7-8c18-0c3ebc9698f6'

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource userReadAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: graphUserReadAll
  principalId: principalId
  resourceId: graph.id
}

resource groupMemberReadAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  appRoleId: graphGroupMemberReadAll
  principalId: principalId
  resourceId: graph.id
}
