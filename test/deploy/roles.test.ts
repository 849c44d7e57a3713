import fs from "node:fs";
import path from "node:path";
import { appSettings, declarations, ROOT, stripComments } from "./bicep";

/**
 * Least privilege and no secrets in infra/: every role id is the role its comment names (ids from Microsoft's
 * published lists, below), each identity gets exactly the roles the bot needs, no app setting holds a secret, and
 * the web app and Application Insights take no password of any kind.
 */

/**
 * The roles infra/ may name, with their ids as Microsoft publishes them. Azure built-in roles:
 * https://learn.microsoft.com/azure/role-based-access-control/built-in-roles (Security; Monitor). Cosmos DB's
 * data-plane role: https://learn.microsoft.com/azure/cosmos-db/nosql/security/reference-data-plane-roles. Microsoft
 * Graph's application roles: https://learn.microsoft.com/graph/permissions-reference. Microsoft Sentinel Contributor
 * is listed so that a comment naming it can't hide behind the Responder's name.
 */
const ROLES: Record<string, string> = {
  "Microsoft Sentinel Responder": "3e150937-b8fe-4cfb-8069-0eaf05ecd056",
  "Microsoft Sentinel Contributor": "ab8e14d6-4a74-4a29-9ba8-549422addade",
  "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
  "Cosmos DB Built-in Data Contributor": "00000000-0000-0000-0000-000000000002",
  "Microsoft Graph User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
  "Microsoft Graph GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
  // Not a role: Microsoft Graph's application id (the same in every tenant).
  "Microsoft Graph's application id": "00000003-0000-0000-c000-000000000000",
};

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const INFRA = path.join(ROOT, "infra");
const FILES = ["azure.bicep", ...fs.readdirSync(path.join(INFRA, "modules")).map((f) => `modules/${f}`)].filter((f) => f.endsWith(".bicep"));
const read = (file: string) => fs.readFileSync(path.join(INFRA, file), "utf8");

interface RoleVar {
  file: string;
  name: string;
  id: string;
  /** The role names of ROLES in the comment lines just above it. */
  named: string[];
}

/** Every `var x = '<guid>'`, with the roles named by the comment right above it. */
export function roleVars(file: string, text: string): RoleVar[] {
  const found: RoleVar[] = [];
  for (const m of text.matchAll(/((?:^[ \t]*\/\/[^\n]*\n)*)[ \t]*var (\w+) = '([^']*)'/gm)) {
    if (!new RegExp(`^${GUID.source}$`, "i").test(m[3]!)) continue;
    const comment = m[1]!;
    found.push({ file, name: m[2]!, id: m[3]!.toLowerCase(), named: Object.keys(ROLES).filter((r) => comment.includes(r)) });
  }
  return found;
}

/** Problems with the role ids of one Bicep text: unnamed or misnamed ids, ids outside a named var. */
export function roleProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const vars = roleVars(file, text);
  for (const v of vars) {
    if (v.named.length !== 1) problems.push(`${file}: var ${v.name}'s comment should name exactly one role of the table (names ${v.named.length})`);
    else if (ROLES[v.named[0]!] !== v.id) problems.push(`${file}: var ${v.name} says ${v.named[0]} but ${v.id} is not its id`);
  }
  // No role id written anywhere else (inline in a roleDefinitionId, say), where no name vouches for it.
  const inVars = new Set(vars.map((v) => v.id));
  for (const id of stripComments(text).match(GUID) ?? []) if (!inVars.has(id.toLowerCase())) problems.push(`${file}: ${id} is not in a named var`);
  return problems;
}

/** The role each role assignment grants: [resource type, var name of the role]. */
function assignments(text: string): { type: string; role: string; scope: string }[] {
  return declarations(text)
    .filter((d) => d.kind === "resource" && /(roleAssignments|sqlRoleAssignments|appRoleAssignedTo)@/.test(d.text))
    .map((d) => ({
      type: /'([^'@]+)@/.exec(d.text)![1]!,
      role: /(?:roleDefinitions',\s*|sqlRoleDefinitions\/\$\{|appRoleId:\s*)(\w+)/.exec(d.text)?.[1] ?? "?",
      scope: /\n\s*scope:\s*([^\n]+)/.exec(d.text)?.[1]?.trim() ?? "(deployment)",
    }));
}

describe("role ids in infra/", () => {
  it.each(FILES)("%s: every id is the role its comment names (Microsoft's published ids)", (file) => {
    expect(roleProblems(file, read(file))).toEqual([]);
  });

  it("the check bites: the Contributor's id under the Responder's name, an unnamed id, an inline id", () => {
    const text = read("modules/sentinel-role.bicep");
    expect(roleProblems("x", text.replace(ROLES["Microsoft Sentinel Responder"]!, ROLES["Microsoft Sentinel Contributor"]!))).toEqual([
      "x: var sentinelResponder says Microsoft Sentinel Responder but ab8e14d6-4a74-4a29-9ba8-549422addade is not its id",
    ]);
    expect(roleProblems("x", text.replace(/\/\/ Microsoft Sentinel Responder \(Azure built-in role[^\n]*\n/, ""))).toEqual([
      "x: var sentinelResponder's comment should name exactly one role of the table (names 0)",
    ]);
    expect(roleProblems("x", `${text}\nvar other = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ab8e14d6-4a74-4a29-9ba8-549422addade')\n`)).toEqual([
      "x: ab8e14d6-4a74-4a29-9ba8-549422addade is not in a named var",
    ]);
  });

  it("grants exactly: Sentinel Responder on the workspace, Metrics Publisher on App Insights, Cosmos data on the database, two Graph read roles", () => {
    const named = (file: string) => {
      const vars = new Map(roleVars(file, read(file)).map((v) => [v.name, v.named[0]]));
      return assignments(read(file)).map((a) => ({ ...a, role: vars.get(a.role) ?? a.role }));
    };
    expect(named("modules/sentinel-role.bicep")).toEqual([
      { type: "Microsoft.Authorization/roleAssignments", role: "Microsoft Sentinel Responder", scope: "workspace" },
    ]);
    expect(named("azure.bicep")).toEqual([
      { type: "Microsoft.Authorization/roleAssignments", role: "Monitoring Metrics Publisher", scope: "appInsights" },
      {
        type: "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
        role: "Cosmos DB Built-in Data Contributor",
        scope: "'${cosmos.id}/dbs/${cosmosDatabaseName}'",
      },
    ]);
    expect(named("modules/graph-app-roles.bicep")).toEqual([
      { type: "Microsoft.Graph/appRoleAssignedTo", role: "Microsoft Graph User.Read.All", scope: "(deployment)" },
      { type: "Microsoft.Graph/appRoleAssignedTo", role: "Microsoft Graph GroupMember.Read.All", scope: "(deployment)" },
    ]);
    // Every assignment is to the bot's identity.
    expect(read("azure.bicep")).toMatch(/module sentinelRole[\s\S]*?principalId: identity\.properties\.principalId/);
    expect(read("azure.bicep")).toMatch(/module graphAppRoles[\s\S]*?principalId: identity\.properties\.principalId/);
  });
});

/** App settings that hold a secret: named like one, fed by a @secure() parameter, or a list*() call's result. */
export function secretSettings(bicep: string): string[] {
  const decls = declarations(bicep);
  const secure = decls.filter((d) => d.kind === "param" && /@secure\(\)/.test(d.decorators)).map((d) => d.name);
  const appInsights = decls.find((d) => d.kind === "resource" && /'Microsoft\.Insights\/components@/.test(d.text))?.text ?? "";
  const problems: string[] = [];
  for (const s of appSettings(bicep)) {
    if (/^'@Microsoft\.KeyVault\(/.test(s.value)) continue;
    if (secure.some((p) => new RegExp(`\\b${p}\\b`).test(s.value))) problems.push(`${s.name}: from a @secure() parameter`);
    else if (/\blist\w*\(/.test(s.value)) problems.push(`${s.name}: a list*() result (keys or credentials)`);
    else if (/SECRET|PASSWORD|_KEY$|^KEY$|TOKEN$|CREDENTIAL/i.test(s.name)) problems.push(`${s.name}: named as a secret`);
    // Application Insights' connection string carries an ingestion key: harmless only when local auth is off.
    else if (s.name === "APPLICATIONINSIGHTS_CONNECTION_STRING" && !/\n\s*DisableLocalAuth: true\n/.test(appInsights)) {
      problems.push(`${s.name}: sends telemetry without a token while Application Insights' local auth is on`);
    }
  }
  return problems;
}

describe("secrets in infra/azure.bicep", () => {
  const BICEP = read("azure.bicep");

  it("sets no secret as an app setting, takes no @secure() parameter and outputs none", () => {
    expect(secretSettings(BICEP)).toEqual([]);
    expect(declarations(BICEP).filter((d) => d.kind === "param" && /@secure\(\)/.test(d.decorators))).toEqual([]);
    expect(declarations(BICEP).filter((d) => d.kind === "output" && /secret|password|key/i.test(d.name))).toEqual([]);
  });

  it("the check bites: a secret parameter, a secret's name, listKeys, local auth back on", () => {
    const withSecret = BICEP.replace("param tenantId string", "@secure()\nparam botSecret string\n\nparam tenantId string").replace(
      "  { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }",
      "  { name: 'MicrosoftAppType', value: 'UserAssignedMSI' }\n  { name: 'WORKSPACE_NOTE', value: botSecret }\n  { name: 'GRAPH_CLIENT_SECRET', value: 'x' }\n  { name: 'COSMOS_READONLY', value: cosmos.listKeys().primaryMasterKey }",
    );
    expect(secretSettings(withSecret)).toEqual([
      "WORKSPACE_NOTE: from a @secure() parameter",
      "GRAPH_CLIENT_SECRET: named as a secret",
      "COSMOS_READONLY: a list*() result (keys or credentials)",
    ]);
    expect(secretSettings(BICEP.replace("DisableLocalAuth: true", "DisableLocalAuth: false"))).toEqual([
      "APPLICATIONINSIGHTS_CONNECTION_STRING: sends telemetry without a token while Application Insights' local auth is on",
    ]);
  });

  it("the bot signs in as its user-assigned identity: Azure Bot UserAssignedMSI, Graph and telemetry through it", () => {
    const settings = new Map(appSettings(BICEP).map((s) => [s.name, s.value]));
    expect(settings.get("MicrosoftAppType")).toBe("'UserAssignedMSI'");
    expect(settings.get("MicrosoftAppId")).toBe("identity.properties.clientId");
    expect(settings.get("GRAPH_CLIENT_ID")).toBe("identity.properties.clientId");
    expect(settings.get("GRAPH_MANAGED_IDENTITY")).toBe("'true'");
    expect(settings.get("APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID")).toBe("identity.properties.clientId");
    const bot = declarations(BICEP).find((d) => d.kind === "resource" && /'Microsoft\.BotService\/botServices@/.test(d.text))!.text;
    expect(bot).toMatch(/msaAppType: 'UserAssignedMSI'/);
    expect(bot).toMatch(/msaAppId: identity\.properties\.clientId/);
    expect(bot).toMatch(/msaAppMSIResourceId: identity\.id/);
  });

  it("the web app takes no password (HTTPS only, TLS 1.2, FTPS off, FTP and SCM basic credentials off); App Insights no key", () => {
    const text = stripComments(BICEP);
    const site = declarations(BICEP).find((d) => d.kind === "resource" && /'Microsoft\.Web\/sites@/.test(d.text))!.text;
    expect(site).toMatch(/\n\s*httpsOnly: true\n/);
    expect(site).toMatch(/\n\s*minTlsVersion: '1\.2'\n/);
    expect(site).toMatch(/\n\s*ftpsState: 'Disabled'\n/);
    const policies = declarations(BICEP).filter((d) => d.kind === "resource" && /basicPublishingCredentialsPolicies@/.test(d.text));
    expect(policies.map((p) => [/name: '(\w+)'/.exec(p.text)?.[1], /allow: (\w+)/.exec(p.text)?.[1], /parent: (\w+)/.exec(p.text)?.[1]])).toEqual([
      ["ftp", "false", "webApp"],
      ["scm", "false", "webApp"],
    ]);
    expect(text).toMatch(/\n\s*DisableLocalAuth: true\n/);
  });
});
