import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { INDEXING_POLICY } from "../../src/adapters/cosmos-store";
import { loadConfig } from "../../src/config";
import { appSettings, declarations, literal, ROOT } from "./bicep";

/**
 * infra/azure.bicep, .env.example, src/config.ts, docs/deploy.md and env/ agree: the bot gets in Azure
 * every setting it needs under the name it reads, nothing it doesn't know, no secret in a committed file.
 */

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const BICEP = read("infra/azure.bicep");
const SETTINGS = appSettings(BICEP);
const IN_BICEP = new Set(SETTINGS.map((s) => s.name));

/** Every setting src/config.ts reads: loadConfig asked of an environment that records what it is asked. */
function settingsTheBotReads(): Set<string> {
  const asked = new Set<string>();
  const env = new Proxy({}, {
    get: (_target, key) => {
      if (typeof key === "string") asked.add(key);
      return undefined;
    },
  });
  loadConfig(env);
  return asked;
}
const BOT_READS = settingsTheBotReads();

/** .env.example's settings, without the block read by scripts/package.ts only. */
function envExample(): { bot: Set<string>; packaging: Set<string> } {
  const text = read(".env.example");
  const start = text.indexOf("# --- Teams app package");
  const end = text.indexOf("# --- end of Teams app package settings ---");
  if (start === -1 || end === -1) throw new Error(".env.example no longer marks its Teams app package block");
  const keys = (part: string) => new Set([...part.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
  return { bot: keys(text.slice(0, start) + text.slice(end)), packaging: keys(text.slice(start, end)) };
}
const ENV_EXAMPLE = envExample();

/** The names in backticks in the first column of the tables under a docs/deploy.md heading. */
function documented(heading: string): Set<string> {
  const text = read("docs/deploy.md");
  const at = text.indexOf(`\n### ${heading}\n`);
  if (at === -1) throw new Error(`docs/deploy.md has no "### ${heading}" section`);
  const rest = text.slice(at + heading.length + 6);
  const section = rest.slice(0, rest.search(/\n#{2,3} /) === -1 ? undefined : rest.search(/\n#{2,3} /));
  const names = new Set<string>();
  for (const row of section.split("\n").filter((l) => l.startsWith("|"))) {
    const first = row.split("|")[1] ?? "";
    for (const m of first.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)) names.add(m[1]!);
  }
  if (names.size === 0) throw new Error(`docs/deploy.md "${heading}" lists no setting`);
  return names;
}
const OPTIONAL_IN_AZURE = documented("Settings the Bicep leaves to their defaults");
const PLATFORM = documented("App Service's own settings");

describe("the bot's settings in infra/azure.bicep", () => {
  it("reads the app settings from the Bicep text (a sanity check of the reader)", () => {
    expect(SETTINGS.map((s) => s.name)).toEqual(expect.arrayContaining(["NODE_ENV", "MicrosoftAppId", "COSMOS_ENDPOINT", "SENTINEL_WORKSPACE_NAME"]));
    expect(SETTINGS.find((s) => s.name === "NODE_ENV")?.value).toBe("'production'");
  });

  it("names each app setting once", () => {
    const names = SETTINGS.map((s) => s.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("sets only settings the bot knows (src/config.ts and .env.example), or App Service's own ones listed in docs/deploy.md", () => {
    const unknown = SETTINGS.filter((s) => !(BOT_READS.has(s.name) && ENV_EXAMPLE.bot.has(s.name)) && !PLATFORM.has(s.name));
    expect(unknown.map((s) => s.name)).toEqual([]);
    // The platform list names nothing of the bot's (or the bot would silently get it).
    expect([...PLATFORM].filter((n) => BOT_READS.has(n))).toEqual([]);
  });

  it("sets every setting the bot reads, unless docs/deploy.md lists it as left to its default", () => {
    expect([...BOT_READS].filter((n) => !IN_BICEP.has(n) && !OPTIONAL_IN_AZURE.has(n))).toEqual([]);
    // And the list is honest: nothing in it is set by the Bicep, everything in it is a setting of the bot.
    expect([...OPTIONAL_IN_AZURE].filter((n) => IN_BICEP.has(n) || !BOT_READS.has(n))).toEqual([]);
  });

  it("every setting the bot reads is in .env.example, and .env.example lists nothing the bot doesn't read", () => {
    expect([...BOT_READS].filter((n) => !ENV_EXAMPLE.bot.has(n))).toEqual([]);
    expect([...ENV_EXAMPLE.bot].filter((n) => !BOT_READS.has(n))).toEqual([]);
  });

  it("is a production configuration the bot accepts: NODE_ENV=production and none of the PRODUCTION_ALLOW_* escapes", () => {
    const env: Record<string, string> = {};
    const stand = {
      GUID: "11111111-2222-4333-8444-555555555555",
      SECRET: "a-client-secret-standing-in-for-the-parameter",
      ENDPOINT: "https://socbot.documents.azure.com:443/",
    };
    for (const s of SETTINGS.filter((x) => !PLATFORM.has(x.name))) {
      const fixed = literal(s.value);
      // Parameters and resource properties: something of the right shape for each.
      env[s.name] =
        fixed ??
        (/SECRET|PASSWORD/i.test(s.name)
          ? stand.SECRET
          : s.name === "COSMOS_ENDPOINT"
            ? stand.ENDPOINT
            : s.name === "APPLICATIONINSIGHTS_CONNECTION_STRING"
              ? `InstrumentationKey=${stand.GUID};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/`
            : s.name === "WORKSPACE_ID" || s.name === "SENTINEL_RESOURCE_GROUP" || s.name === "SENTINEL_WORKSPACE_NAME"
              ? "soc-sentinel"
              : s.name === "ANALYSTS_ARE_EVERYONE"
                ? "false"
                : stand.GUID);
    }
    expect(env.NODE_ENV).toBe("production");
    expect(Object.keys(env).filter((n) => n.startsWith("PRODUCTION_ALLOW_"))).toEqual([]);
    expect(loadConfig(env)).toMatchObject({ NODE_ENV: "production", STORE: "cosmos", DIRECTORY: "graph", COSMOS_AUTH: "entra" });
  });

  it("sets the Sentinel settings only when a Sentinel workspace is given, signing in as the user-assigned identity", () => {
    const sentinel = SETTINGS.filter((s) => s.name.startsWith("SENTINEL_"));
    expect(sentinel.map((s) => s.name).sort()).toEqual([
      "SENTINEL_CLIENT_ID",
      "SENTINEL_RESOURCE_GROUP",
      "SENTINEL_SUBSCRIPTION_ID",
      "SENTINEL_WORKSPACE_NAME",
    ]);
    const vars = new Set(sentinel.map((s) => s.from));
    expect(vars.size).toBe(1);
    const decls = declarations(BICEP);
    const holder = decls.find((d) => d.kind === "var" && d.name === [...vars][0])!;
    expect(holder.text).toMatch(/=\s*sentinelEnabled\s*\?\s*\[[\s\S]*\]\s*:\s*\[\s*\]\s*$/);
    expect(decls.find((d) => d.name === "sentinelEnabled")?.text.trim()).toBe("var sentinelEnabled = !empty(sentinelWorkspaceName)");
    expect(sentinel.find((s) => s.name === "SENTINEL_CLIENT_ID")?.value).toBe("identity.properties.clientId");
    // The same condition guards the role assignment.
    expect(BICEP).toMatch(/module sentinelRole 'modules\/sentinel-role\.bicep' = if \(sentinelEnabled\)/);
    // Which role the module grants, and that its id is that role's: test/deploy/roles.test.ts.
  });
});

describe("Cosmos DB in infra/azure.bicep", () => {
  const container = declarations(BICEP).find((d) => d.kind === "resource" && /containers@/.test(d.text))!.text;

  it("has the container the store checks at start-up: partition key /workspaceId and the store's indexing policy", () => {
    expect(container).toMatch(/partitionKey:\s*\{\s*paths:\s*\[\s*'\/workspaceId'\s*\]/);
    const paths = (key: string) => {
      const block = new RegExp(`${key}:\\s*\\[([\\s\\S]*?)\\]`).exec(container)?.[1] ?? "";
      return [...block.matchAll(/path:\s*'([^']+)'/g)].map((m) => m[1]);
    };
    expect(paths("includedPaths")).toEqual(INDEXING_POLICY.includedPaths?.map((p) => p.path));
    expect(paths("excludedPaths")).toEqual(INDEXING_POLICY.excludedPaths?.map((p) => p.path));
  });

  it("is serverless by default, without account keys, and the identity has the data-plane Data Contributor role", () => {
    expect(BICEP).toMatch(/param cosmosServerless bool = true\n/);
    expect(BICEP).toMatch(/capabilities: cosmosServerless \? \[ \{ name: 'EnableServerless' \} \] : \[\]/);
    expect(BICEP).toMatch(/\n\s*disableLocalAuth: true\n/);
    expect(BICEP).toMatch(/sqlRoleAssignments@[\s\S]*principalId: identity\.properties\.principalId/);
    expect(BICEP).toMatch(/var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'/);
    expect(SETTINGS.find((s) => s.name === "COSMOS_AUTH")?.value).toBe("'entra'");
    expect(SETTINGS.find((s) => s.name === "COSMOS_MANAGED_IDENTITY_CLIENT_ID")?.value).toBe("identity.properties.clientId");
  });
});

describe("infra/azure.parameters.json", () => {
  const parameters = JSON.parse(read("infra/azure.parameters.json")) as { parameters: Record<string, { value: unknown }> };
  const params = declarations(BICEP).filter((d) => d.kind === "param");

  it("gives only parameters the Bicep has, and every one it requires (no default)", () => {
    const names = new Set(params.map((p) => p.name));
    expect(Object.keys(parameters.parameters).filter((n) => !names.has(n))).toEqual([]);
    const required = params.filter((p) => !/^param \w+ \w+\s*=/.test(p.text.trim())).map((p) => p.name);
    expect(required.sort()).toEqual(["resourceBaseName"]);
    expect(required.filter((n) => !(n in parameters.parameters))).toEqual([]);
    // What the Toolkit makes of it (every placeholder resolved, no empty value): test/deploy/toolkit.test.ts.
  });
});

describe("env/: only non-secret values are committed", () => {
  const SECRET_NAME = /SECRET|PASSWORD|_KEY$|^KEY$|TOKEN|CONNECTION_STRING|CREDENTIAL/i;
  const committed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "env"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

  it("has the environments of m365agents.yml and m365agents.local.yml", () => {
    expect(committed.sort()).toEqual(["env/.env.dev", "env/.env.local"]);
  });

  it.each(["env/.env.dev", "env/.env.local"])("%s names no secret and holds no secret-looking value", (file) => {
    const lines = read(file)
      .split("\n")
      .filter((l) => l.trim() && !l.trim().startsWith("#"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const [name, ...rest] = line.split("=");
      const value = rest.join("=").trim();
      expect({ name, secretName: SECRET_NAME.test(name ?? "") }).toEqual({ name, secretName: false });
      // Long random-looking values (keys, secrets, connection strings) are not committed; ids and names may be.
      expect({ name, value, looksSecret: /[A-Za-z0-9+/=~_.-]{32,}/.test(value) && !/^[0-9a-f-]{36}$/i.test(value) }).toMatchObject({ looksSecret: false });
    }
  });

  it("git ignores the Toolkit's secret files (env/.env.<name>.user)", () => {
    expect(execFileSync("git", ["check-ignore", "env/.env.dev.user", "env/.env.prod.user"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n")).toEqual([
      "env/.env.dev.user",
      "env/.env.prod.user",
    ]);
  });
});
