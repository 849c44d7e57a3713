import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, telemetrySettings } from "../../src/config";

/**
 * Every refusal src/config.ts can report, word for word as the person starting the bot reads it
 * (`KEY (got "value"): how to fix it`, secrets never echoed), all of them at once; and that good
 * settings, defaults included, load.
 */

const APP_ID = "6a3f0c57-3b1d-4c2e-9f80-00000000b07a";
const TENANT = "72f988bf-0000-4000-8000-000000000001";
const GROUP = "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a99";
const SECRET = "Zq8~a-password-that-is-never-printed";

/** A bot registration that is complete on its own (SingleTenant). */
const SINGLE_TENANT = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: SECRET, MicrosoftAppType: "SingleTenant", MicrosoftAppTenantId: TENANT };
/** Microsoft Graph settings that are complete on their own. */
const GRAPH = { DIRECTORY: "graph", GRAPH_TENANT_ID: TENANT, GRAPH_CLIENT_ID: APP_ID, GRAPH_CLIENT_SECRET: SECRET };

/** The problems loadConfig reports for `env`; fails the test when it loads or throws something else. */
function problemsOf(env: Record<string, string>): string[] {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`expected a ConfigError, but ${JSON.stringify(env)} loaded`);
  if (!(thrown instanceof ConfigError)) {
    throw new Error(`expected a ConfigError, got ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : JSON.stringify(thrown)}`);
  }
  return thrown.problems;
}

const MIN = (key: string, got: string, min: number) => `${key} (got "${got}"): Number must be greater than or equal to ${min}`;
const MAX = (key: string, got: string, max: number) => `${key} (got "${got}"): Number must be less than or equal to ${max}`;

describe("bot credentials", () => {
  it("refuses a password without an app id, without printing the password", () => {
    const problems = problemsOf({ MicrosoftAppPassword: SECRET });
    expect(problems).toEqual([
      "MicrosoftAppId: is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode",
    ]);
  });

  it("refuses a tenant id without an app id", () => {
    expect(problemsOf({ MicrosoftAppTenantId: TENANT })).toEqual([
      "MicrosoftAppId: is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode",
    ]);
  });

  it("refuses an app id without a password, unless the bot signs in as a managed identity", () => {
    expect(problemsOf({ MicrosoftAppId: APP_ID, MicrosoftAppType: "SingleTenant", MicrosoftAppTenantId: TENANT })).toEqual([
      "MicrosoftAppPassword: is required with MicrosoftAppId (the bot's client secret from its Azure Bot registration), unless " +
        "MicrosoftAppType=UserAssignedMSI",
    ]);
    expect(loadConfig({ MicrosoftAppId: APP_ID, MicrosoftAppType: "UserAssignedMSI", MicrosoftAppTenantId: TENANT })).toMatchObject({
      MicrosoftAppId: APP_ID,
      MicrosoftAppType: "UserAssignedMSI",
    });
  });

  it.each(["SingleTenant", "UserAssignedMSI"])("requires a tenant id for MicrosoftAppType=%s", (type) => {
    expect(problemsOf({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: SECRET, MicrosoftAppType: type })).toEqual([
      `MicrosoftAppTenantId: is required when MicrosoftAppType=${type}: set it to your Microsoft Entra tenant id`,
    ]);
  });

  it("refuses MultiTenant without ALLOWED_TENANT_IDS, and takes it with them (lower-cased)", () => {
    const multi = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: SECRET, MicrosoftAppType: "MultiTenant" };
    expect(problemsOf(multi)).toEqual([
      "ALLOWED_TENANT_IDS: is required with MicrosoftAppType=MultiTenant: otherwise people of any organisation can use the bot " +
        "and see its incidents. Set your tenant id (Entra admin center > Overview > Tenant ID)",
    ]);
    // Commas and spaces alone name no tenant.
    expect(problemsOf({ ...multi, ALLOWED_TENANT_IDS: " , " })).toHaveLength(1);
    expect(loadConfig({ ...multi, ALLOWED_TENANT_IDS: ` ${TENANT.toUpperCase()} ` }).ALLOWED_TENANT_IDS).toEqual([TENANT]);
  });

  it("names the app types there are", () => {
    expect(problemsOf({ ...SINGLE_TENANT, MicrosoftAppType: "Other" })).toEqual([
      `MicrosoftAppType (got "Other"): Invalid enum value. Expected 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI', received 'Other'`,
    ]);
  });
});

describe("where tokens are checked and obtained", () => {
  it.each(["BOT_OPENID_METADATA_URL", "BOT_TOKEN_ISSUER", "BOT_TOKEN_ENDPOINT"])("refuses %s without an app id", (key) => {
    const value = key === "BOT_TOKEN_ISSUER" ? "https://issuer.example" : "https://login.example.com/x";
    expect(problemsOf({ [key]: value })).toEqual([
      `${key} (got "${value}"): is set but MicrosoftAppId is not: without it requests are not authenticated at all. Set ` +
        "MicrosoftAppId or remove this",
    ]);
  });

  it("refuses BOT_TOKEN_ENDPOINT without a password to ask it with", () => {
    const msi = { MicrosoftAppId: APP_ID, MicrosoftAppType: "UserAssignedMSI", MicrosoftAppTenantId: TENANT };
    expect(problemsOf({ ...msi, BOT_TOKEN_ENDPOINT: "https://login.example.com/token" })).toEqual([
      `BOT_TOKEN_ENDPOINT (got "https://login.example.com/token"): needs MicrosoftAppPassword: the bot asks this endpoint for ` +
        "its token with its client secret",
    ]);
  });

  it.each(["BOT_OPENID_METADATA_URL", "BOT_TOKEN_ENDPOINT"])("refuses plain http to another machine in %s, not to localhost", (key) => {
    expect(problemsOf({ ...SINGLE_TENANT, [key]: "http://login.example.com/x" })).toEqual([
      `${key} (got "http://login.example.com/x"): use https (plain http only for localhost, in tests)`,
    ]);
    expect(loadConfig({ ...SINGLE_TENANT, [key]: "http://127.0.0.1:4000/x" })[key as "BOT_TOKEN_ENDPOINT"]).toBe("http://127.0.0.1:4000/x");
  });

  it.each(["BOT_OPENID_METADATA_URL", "BOT_TOKEN_ENDPOINT"])("reports %s that is not a URL as a configuration problem", (key) => {
    // A person who mistypes the URL must read which setting is wrong, not a TypeError and a stack.
    const problems = problemsOf({ ...SINGLE_TENANT, [key]: "login.example.com/x" });
    expect(problems).toContain(`${key} (got "login.example.com/x"): use a URL, e.g. https://login.example.com/...`);
    for (const problem of problems) expect(problem.startsWith(`${key} (got "login.example.com/x"): `)).toBe(true);
  });

  it("names the tenant ids and service URLs it can't use", () => {
    expect(problemsOf({ ALLOWED_TENANT_IDS: `${TENANT}, contoso, x`, TRUSTED_SERVICE_URLS: "https://ok.example/,http://evil.example/" })).toEqual([
      `ALLOWED_TENANT_IDS (got "${TENANT}, contoso, x"): use tenant ids (GUIDs, Entra admin center > Overview > Tenant ID), comma ` +
        "separated; these are not: contoso, x",
      `TRUSTED_SERVICE_URLS (got "https://ok.example/,http://evil.example/"): use https URL prefixes ending in /, e.g. ` +
        "https://smba.trafficmanager.net/ (plain http only for localhost); these are not: http://evil.example/",
    ]);
  });
});

describe("Microsoft Graph", () => {
  const ANALYSTS_REQUIRED =
    "ANALYST_GROUP_ID: is required with MicrosoftAppId and DIRECTORY=graph: without it EVERYONE in the tenant is a SOC analyst " +
    "(sees every incident, closes and reassigns them). Set it to the SOC group's object id, or set ANALYSTS_ARE_EVERYONE=true if " +
    "you mean it";

  it("refuses Graph without ANALYST_GROUP_ID when the bot has an app id", () => {
    expect(problemsOf({ ...SINGLE_TENANT, ...GRAPH })).toEqual([ANALYSTS_REQUIRED]);
  });

  it("takes Graph without ANALYST_GROUP_ID when ANALYSTS_ARE_EVERYONE says so, with a group, or in local mode", () => {
    expect(loadConfig({ ...SINGLE_TENANT, ...GRAPH, ANALYSTS_ARE_EVERYONE: "true" })).toMatchObject({ ANALYSTS_ARE_EVERYONE: true });
    expect(loadConfig({ ...SINGLE_TENANT, ...GRAPH, ANALYST_GROUP_ID: GROUP })).toMatchObject({ ANALYST_GROUP_ID: GROUP });
    expect(loadConfig({ ...GRAPH })).toMatchObject({ DIRECTORY: "graph", ANALYSTS_ARE_EVERYONE: false });
    // "false" is not "true".
    expect(problemsOf({ ...SINGLE_TENANT, ...GRAPH, ANALYSTS_ARE_EVERYONE: "false" })).toEqual([ANALYSTS_REQUIRED]);
  });

  it("asks for the tenant, the client and a way to sign in", () => {
    expect(problemsOf({ DIRECTORY: "graph" })).toEqual([
      "GRAPH_TENANT_ID: is required when DIRECTORY=graph: set your Microsoft Entra tenant id (Entra admin center > Overview > " +
        "Tenant ID)",
      "GRAPH_CLIENT_ID: is required when DIRECTORY=graph: set the Application (client) ID of the app registration that reads the " +
        "directory (or of the managed identity with GRAPH_MANAGED_IDENTITY=true)",
      "GRAPH_CLIENT_SECRET: DIRECTORY=graph needs a way to sign in: set GRAPH_CLIENT_SECRET, or GRAPH_CERTIFICATE_PATH (PEM with " +
        "private key), or GRAPH_MANAGED_IDENTITY=true",
    ]);
  });

  it("takes exactly one way to sign in", () => {
    expect(problemsOf({ ...GRAPH, GRAPH_MANAGED_IDENTITY: "true" })).toEqual([
      "GRAPH_CLIENT_SECRET: set only one way to sign in to Graph, not GRAPH_CLIENT_SECRET and GRAPH_MANAGED_IDENTITY",
    ]);
    expect(problemsOf({ ...GRAPH, GRAPH_CERTIFICATE_PATH: "/etc/bot/graph.pem", GRAPH_MANAGED_IDENTITY: "yes" })).toEqual([
      "GRAPH_CLIENT_SECRET: set only one way to sign in to Graph, not GRAPH_CLIENT_SECRET and GRAPH_CERTIFICATE_PATH and " +
        "GRAPH_MANAGED_IDENTITY",
    ]);
    const { GRAPH_CLIENT_SECRET: _, ...withoutSecret } = GRAPH;
    expect(loadConfig({ ...withoutSecret, GRAPH_CERTIFICATE_PATH: "/etc/bot/graph.pem" })).toMatchObject({ GRAPH_CERTIFICATE_PATH: "/etc/bot/graph.pem" });
    expect(loadConfig({ ...withoutSecret, GRAPH_MANAGED_IDENTITY: "1" })).toMatchObject({ GRAPH_MANAGED_IDENTITY: true });
  });

  it("refuses a certificate password without a certificate path, whatever the directory", () => {
    const message = "GRAPH_CERTIFICATE_PASSWORD: is set but GRAPH_CERTIFICATE_PATH is not: set the PEM file's path too, or remove the password";
    expect(problemsOf({ GRAPH_CERTIFICATE_PASSWORD: "pem-password" })).toEqual([message]);
    expect(problemsOf({ ...GRAPH, GRAPH_CERTIFICATE_PASSWORD: "pem-password" })).toEqual([message]);
    const { GRAPH_CLIENT_SECRET: _, ...withoutSecret } = GRAPH;
    expect(loadConfig({ ...withoutSecret, GRAPH_CERTIFICATE_PATH: "/etc/bot/graph.pem", GRAPH_CERTIFICATE_PASSWORD: "pem-password" })).toMatchObject({
      GRAPH_CERTIFICATE_PASSWORD: "pem-password",
    });
  });

  it("checks the shape of ids and URLs", () => {
    const GUID_HINT = "use the group's object id, a GUID (Entra admin center > Groups > the group > Object ID)";
    expect(
      problemsOf({
        GRAPH_TENANT_ID: "contoso tenant",
        GRAPH_BASE_URL: "https://graph.microsoft.com/v1.0",
        GRAPH_AUTHORITY_HOST: "login.microsoftonline.us",
        ANALYST_GROUP_ID: "SOC analysts",
        RESTRICTED_GROUP_ID: "12345",
      }),
    ).toEqual([
      `GRAPH_TENANT_ID (got "contoso tenant"): use the tenant's GUID or its domain, e.g. contoso.onmicrosoft.com`,
      `GRAPH_BASE_URL (got "https://graph.microsoft.com/v1.0"): use https and no path, e.g. https://graph.microsoft.com (the ` +
        "client sends tokens only over https)",
      `GRAPH_AUTHORITY_HOST (got "login.microsoftonline.us"): use e.g. https://login.microsoftonline.us`,
      `ANALYST_GROUP_ID (got "SOC analysts"): ${GUID_HINT}`,
      `RESTRICTED_GROUP_ID (got "12345"): ${GUID_HINT}`,
    ]);
    expect(problemsOf({ GRAPH_BASE_URL: "http://graph.microsoft.com" })).toEqual([
      `GRAPH_BASE_URL (got "http://graph.microsoft.com"): use https and no path, e.g. https://graph.microsoft.com (the client ` +
        "sends tokens only over https)",
    ]);
    expect(problemsOf({ GRAPH_BASE_URL: "graph" })).toEqual([
      `GRAPH_BASE_URL (got "graph"): use the Graph service root, e.g. https://graph.microsoft.com`,
      `GRAPH_BASE_URL (got "graph"): use https and no path, e.g. https://graph.microsoft.com (the client sends tokens only over https)`,
    ]);
    expect(loadConfig({ GRAPH_TENANT_ID: "contoso.onmicrosoft.com", GRAPH_BASE_URL: "https://graph.microsoft.us/" })).toMatchObject({
      GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
      GRAPH_BASE_URL: "https://graph.microsoft.us/",
    });
  });
});

describe("Azure Cosmos DB", () => {
  const ENDPOINT = "https://contoso-soc.documents.azure.com:443/";

  it("asks for the endpoint with STORE=cosmos", () => {
    expect(problemsOf({ STORE: "cosmos" })).toEqual([
      "COSMOS_ENDPOINT: is required when STORE=cosmos: set it to the account's URI (Azure portal > Cosmos DB account > Keys, or " +
        "`az cosmosdb show --query documentEndpoint`)",
    ]);
  });

  it("matches the key to the kind of sign-in, without printing the key", () => {
    expect(problemsOf({ STORE: "cosmos", COSMOS_ENDPOINT: ENDPOINT, COSMOS_AUTH: "key" })).toEqual([
      "COSMOS_KEY: is required when COSMOS_AUTH=key: set the account key, or use COSMOS_AUTH=entra",
    ]);
    expect(problemsOf({ STORE: "cosmos", COSMOS_ENDPOINT: ENDPOINT, COSMOS_AUTH: "entra", COSMOS_KEY: SECRET })).toEqual([
      "COSMOS_KEY: is set but COSMOS_AUTH=entra ignores it: remove the key (recommended) or use COSMOS_AUTH=key",
    ]);
    expect(problemsOf({ COSMOS_KEY: SECRET, COSMOS_MANAGED_IDENTITY_CLIENT_ID: APP_ID })).toEqual([
      `COSMOS_MANAGED_IDENTITY_CLIENT_ID (got "${APP_ID}"): is only used with Microsoft Entra ID auth, but COSMOS_KEY is set: ` +
        "remove one of them",
    ]);
  });

  it("refuses a request timeout longer than the whole retry budget", () => {
    expect(problemsOf({ COSMOS_REQUEST_TIMEOUT_MS: "5001" })).toEqual([
      `COSMOS_REQUEST_TIMEOUT_MS (got "5001"): must not exceed COSMOS_RETRY_BUDGET_MS (one request can't outlast the whole budget)`,
    ]);
    expect(loadConfig({ COSMOS_REQUEST_TIMEOUT_MS: "5000" }).COSMOS_REQUEST_TIMEOUT_MS).toBe(5000);
  });

  it("checks the endpoint, the names and the choices", () => {
    expect(
      problemsOf({
        STORE: "mysql",
        COSMOS_ENDPOINT: "contoso-soc",
        COSMOS_AUTH: "password",
        COSMOS_DATABASE: "soc/incidents",
        COSMOS_CONTAINER: "a?b",
      }),
    ).toEqual([
      `STORE (got "mysql"): use sqlite (embedded, one machine) or cosmos (Azure Cosmos DB)`,
      `COSMOS_ENDPOINT (got "contoso-soc"): use the account's URI, e.g. https://<account>.documents.azure.com:443/`,
      `COSMOS_AUTH (got "password"): use key (COSMOS_KEY) or entra (Microsoft Entra ID)`,
      `COSMOS_DATABASE (got "soc/incidents"): use 1-255 characters without / \\ ? #`,
      `COSMOS_CONTAINER (got "a?b"): use 1-255 characters without / \\ ? #`,
    ]);
  });
});

describe("the other settings", () => {
  it("takes WORKSPACE_ID of 1-64 letters, digits, dots, dashes or underscores", () => {
    const HINT = "use 1-64 letters, digits, dots, dashes or underscores";
    expect(problemsOf({ WORKSPACE_ID: "soc prod" })).toEqual([`WORKSPACE_ID (got "soc prod"): ${HINT}`]);
    expect(problemsOf({ WORKSPACE_ID: "soc/prod" })).toEqual([`WORKSPACE_ID (got "soc/prod"): ${HINT}`]);
    expect(problemsOf({ WORKSPACE_ID: "w".repeat(65) })).toEqual([`WORKSPACE_ID (got "${"w".repeat(65)}"): ${HINT}`]);
    expect(loadConfig({ WORKSPACE_ID: "w".repeat(64) }).WORKSPACE_ID).toBe("w".repeat(64));
    expect(loadConfig({ WORKSPACE_ID: "Soc_prod-2.eu" }).WORKSPACE_ID).toBe("Soc_prod-2.eu");
  });

  it("wants SUBMISSION_SECRET of at least 32 characters, and never prints it", () => {
    expect(problemsOf({ SUBMISSION_SECRET: "short-secret" })).toEqual([
      "SUBMISSION_SECRET: use at least 32 random characters, e.g. `openssl rand -base64 48`",
    ]);
    expect(loadConfig({ SUBMISSION_SECRET: "s".repeat(32) }).SUBMISSION_SECRET).toBe("s".repeat(32));
  });

  it.each(["COSMOS_CREATE_IF_MISSING", "COSMOS_ENDPOINT_DISCOVERY", "GRAPH_MANAGED_IDENTITY", "ANALYSTS_ARE_EVERYONE"])(
    "wants true or false in %s",
    (key) => {
      expect(problemsOf({ [key]: "maybe" })).toEqual([`${key} (got "maybe"): use true or false`]);
      for (const [text, value] of [["true", true], ["1", true], ["yes", true], ["false", false], ["0", false], ["no", false]] as const) {
        expect(loadConfig({ [key]: text })[key as "ANALYSTS_ARE_EVERYONE"]).toBe(value);
      }
    },
  );

  it("names the log levels and directories there are", () => {
    expect(problemsOf({ LOG_LEVEL: "loud", DIRECTORY: "ldap" })).toEqual([
      `LOG_LEVEL (got "loud"): Invalid enum value. Expected 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', ` +
        "received 'loud'",
      `DIRECTORY (got "ldap"): use local (a JSON file) or graph (Microsoft Entra ID)`,
    ]);
  });
});

describe("numbers out of range", () => {
  /** Setting, smallest, largest, what a word instead of a number gets, and what else the extremes need. */
  const NUMBERS: [key: string, min: number, max: number, notANumber: string, with_?: Record<string, string>][] = [
    ["PORT", 0, 65535, "use a port number such as 3978"],
    ["NOTICE_SWEEP_SECONDS", 1, 3600, "use seconds, e.g. 30"],
    ["RATE_LIMIT_CREATES_PER_MINUTE", 1, 10_000, "use a whole number, e.g. 20"],
    ["RATE_LIMIT_ACTIONS_PER_MINUTE", 1, 100_000, "use a whole number, e.g. 60"],
    ["RATE_LIMIT_SEARCHES_PER_MINUTE", 1, 100_000, "use a whole number, e.g. 120"],
    ["TAG_CACHE_MS", 0, 3_600_000, "use milliseconds, e.g. 30000"],
    ["MAX_BODY_BYTES", 1024, 10_000_000, "Expected number, received nan"],
    ["SQLITE_BUSY_TIMEOUT_MS", 0, 60_000, "use milliseconds, e.g. 5000"],
    ["SHUTDOWN_TIMEOUT_MS", 100, 600_000, "use milliseconds, e.g. 10000"],
    ["COSMOS_RETRY_BUDGET_MS", 100, 120_000, "use milliseconds, e.g. 5000", { COSMOS_REQUEST_TIMEOUT_MS: "50" }],
    ["COSMOS_REQUEST_TIMEOUT_MS", 50, 60_000, "use milliseconds, e.g. 2000", { COSMOS_RETRY_BUDGET_MS: "120000" }],
    ["GRAPH_TIMEOUT_MS", 100, 4500, "use milliseconds, e.g. 2000"],
    ["GRAPH_CACHE_MS", 0, 3_600_000, "use milliseconds, e.g. 60000"],
    ["GRAPH_ANALYST_CACHE_MS", 0, 86_400_000, "use milliseconds, e.g. 300000"],
  ];

  it.each(NUMBERS)("%s takes %p to %p and refuses what is outside, or not a number", (key, min, max, notANumber, with_ = {}) => {
    expect(loadConfig({ ...with_, [key]: String(min) })[key as "PORT"]).toBe(min);
    expect(loadConfig({ ...with_, [key]: String(max) })[key as "PORT"]).toBe(max);
    expect(problemsOf({ ...with_, [key]: String(min - 1) })).toEqual([MIN(key, String(min - 1), min)]);
    expect(problemsOf({ ...with_, [key]: String(max + 1) })).toEqual([MAX(key, String(max + 1), max)]);
    expect(problemsOf({ ...with_, [key]: "soon" })).toEqual([`${key} (got "soon"): ${notANumber}`]);
  });

  it("wants whole numbers", () => {
    expect(problemsOf({ RATE_LIMIT_SEARCHES_PER_MINUTE: "1.5", NOTICE_SWEEP_SECONDS: "2.5", MAX_BODY_BYTES: "2048.5" })).toEqual([
      `MAX_BODY_BYTES (got "2048.5"): Expected integer, received float`,
      `NOTICE_SWEEP_SECONDS (got "2.5"): use seconds, e.g. 30`,
      `RATE_LIMIT_SEARCHES_PER_MINUTE (got "1.5"): use a whole number, e.g. 120`,
    ]);
  });
});

describe("all problems at once", () => {
  it("lists every problem in one message, each on its own line, with where to read more", () => {
    let error: unknown;
    try {
      loadConfig({
        WORKSPACE_ID: "bad id!",
        NOTICE_SWEEP_SECONDS: "0",
        TAG_CACHE_MS: "-1",
        MAX_BODY_BYTES: "1023",
        RATE_LIMIT_CREATES_PER_MINUTE: "0",
        MicrosoftAppPassword: SECRET,
        GRAPH_CERTIFICATE_PASSWORD: "pem-password",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = [
      `WORKSPACE_ID (got "bad id!"): use 1-64 letters, digits, dots, dashes or underscores`,
      MIN("MAX_BODY_BYTES", "1023", 1024),
      MIN("TAG_CACHE_MS", "-1", 0),
      MIN("NOTICE_SWEEP_SECONDS", "0", 1),
      MIN("RATE_LIMIT_CREATES_PER_MINUTE", "0", 1),
      "MicrosoftAppId: is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode",
      "GRAPH_CERTIFICATE_PASSWORD: is set but GRAPH_CERTIFICATE_PATH is not: set the PEM file's path too, or remove the password",
    ];
    expect((error as ConfigError).problems).toEqual(problems);
    expect((error as ConfigError).name).toBe("ConfigError");
    expect((error as ConfigError).message).toBe(
      `The configuration has 7 problems:\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee .env.example for every setting.`,
    );
    expect((error as ConfigError).message).not.toContain(SECRET);
  });

  it("says problem, not problems, for one", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "http" });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toBe(
      `The configuration has 1 problem:\n  - PORT (got "http"): use a port number such as 3978\nSee .env.example for every setting.`,
    );
  });

  it.each([
    ["a log level that does not exist", { LOG_LEVEL: "loud" }, `LOG_LEVEL (got "loud"): Invalid enum value. Expected 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', received 'loud'`],
    ["a port that is not a number", { PORT: "http" }, `PORT (got "http"): use a port number such as 3978`],
  ])("reports %s together with the rules between settings", (_, wrong, expected) => {
    // One start-up, every mistake: the person must not fix one to be shown the next.
    expect(problemsOf({ ...wrong, MicrosoftAppPassword: SECRET })).toEqual([
      expected,
      "MicrosoftAppId: is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode",
    ]);
  });
});

describe("Application Insights settings", () => {
  const CONNECTION = "InstrumentationKey=3f1c9a2e-7b4d-4e8f-9a6b-2c5d8e1f0a47;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/";

  it("are off without a connection string, and on with the managed identity by default", () => {
    expect(telemetrySettings(loadConfig({}))).toBeUndefined();
    expect(telemetrySettings(loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION }))).toEqual({ connectionString: CONNECTION, auth: "entra" });
    const id = "7d3e2a10-4c5b-4f6e-8a7b-9c0d1e2f3a4b";
    expect(telemetrySettings(loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: id }))).toEqual({
      connectionString: CONNECTION,
      auth: "entra",
      managedIdentityClientId: id,
    });
    expect(telemetrySettings(loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_AUTH: "key" }))?.auth).toBe("key");
  });

  it("refuse what is not a connection string, a client id that is not a GUID, and a client id with nothing to send", () => {
    expect(problemsOf({ APPLICATIONINSIGHTS_CONNECTION_STRING: "https://westeurope-5.in.applicationinsights.azure.com/" })[0]).toMatch(
      // Not echoed: with local auth on, it is what lets anyone send to the resource.
      /^APPLICATIONINSIGHTS_CONNECTION_STRING: use the resource's connection string/,
    );
    expect(problemsOf({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: "bot-identity" })).toEqual([
      `APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID (got "bot-identity"): use the managed identity's client id, a GUID`,
    ]);
    expect(problemsOf({ APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: "7d3e2a10-4c5b-4f6e-8a7b-9c0d1e2f3a4b" })).toEqual([
      `APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID (got "7d3e2a10-4c5b-4f6e-8a7b-9c0d1e2f3a4b"): is set but APPLICATIONINSIGHTS_CONNECTION_STRING is not: set the connection string too, or remove it`,
    ]);
    expect(problemsOf({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_AUTH: "secret" })[0]).toMatch(/^APPLICATIONINSIGHTS_AUTH \(got "secret"\): use entra/);
  });
});

describe("good settings", () => {
  it("load with every default when nothing is set, and empty or blank values count as not set", () => {
    const defaults = {
      PORT: 3978,
      LOG_LEVEL: "info",
      WORKSPACE_ID: "default",
      STORE: "sqlite",
      SQLITE_PATH: "./data/incidents.db",
      COSMOS_DATABASE: "soc-incident-bot",
      COSMOS_CONTAINER: "incidents",
      COSMOS_CREATE_IF_MISSING: false,
      COSMOS_RETRY_BUDGET_MS: 5000,
      COSMOS_REQUEST_TIMEOUT_MS: 2000,
      COSMOS_ENDPOINT_DISCOVERY: true,
      DIRECTORY: "local",
      DIRECTORY_FILE: "./data/directory.json",
      GRAPH_MANAGED_IDENTITY: false,
      GRAPH_BASE_URL: "https://graph.microsoft.com",
      GRAPH_TIMEOUT_MS: 2000,
      GRAPH_CACHE_MS: 60_000,
      GRAPH_ANALYST_CACHE_MS: 300_000,
      MAX_BODY_BYTES: 262_144,
      TAG_CACHE_MS: 30_000,
      NOTICE_SWEEP_SECONDS: 30,
      ALLOWED_TENANT_IDS: [],
      TRUSTED_SERVICE_URLS: [],
      ANALYSTS_ARE_EVERYONE: false,
      RATE_LIMIT_CREATES_PER_MINUTE: 20,
      RATE_LIMIT_ACTIONS_PER_MINUTE: 60,
      RATE_LIMIT_SEARCHES_PER_MINUTE: 120,
      SQLITE_BUSY_TIMEOUT_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      SENTINEL_ARM_ENDPOINT: "https://management.azure.com",
      SENTINEL_API_VERSION: "2025-09-01",
      SENTINEL_POLL_SECONDS: 60,
      SENTINEL_SYNC_SECONDS: 10,
      SENTINEL_REQUEST_TIMEOUT_MS: 10_000,
      PRODUCTION_ALLOW_LOCAL_MODE: false,
      PRODUCTION_ALLOW_SQLITE: false,
      PRODUCTION_ALLOW_LOCAL_DIRECTORY: false,
      APPLICATIONINSIGHTS_AUTH: "entra",
    };
    expect(loadConfig({})).toEqual(defaults);
    // Settings the bot does not know are ignored.
    expect(loadConfig({ HOME: "/root", SOMETHING_ELSE: "x" })).toEqual(defaults);
    const blank = Object.fromEntries(
      ["PORT", "WORKSPACE_ID", "MicrosoftAppId", "MicrosoftAppPassword", "NOTICE_SWEEP_SECONDS", "MAX_BODY_BYTES", "TAG_CACHE_MS", "STORE", "ALLOWED_TENANT_IDS"].map(
        (k, i) => [k, i % 2 ? "" : "   "],
      ),
    );
    expect(loadConfig(blank)).toEqual(defaults);
  });

  it("load a production configuration, each value read as the type the bot uses", () => {
    const config = loadConfig({
      ...SINGLE_TENANT,
      ...GRAPH,
      PORT: "8080",
      HOST: " 0.0.0.0 ",
      LOG_LEVEL: "warn",
      WORKSPACE_ID: "soc-prod",
      ANALYST_GROUP_ID: GROUP,
      RESTRICTED_GROUP_ID: GROUP.toUpperCase(),
      ALLOWED_TENANT_IDS: `${TENANT},${GROUP}`,
      TRUSTED_SERVICE_URLS: "https://smba.trafficmanager.net/, https://smba.infra.gcc.teams.microsoft.com/",
      SUBMISSION_SECRET: "x".repeat(48),
      MAX_BODY_BYTES: "1048576",
      TAG_CACHE_MS: "0",
      NOTICE_SWEEP_SECONDS: "3600",
      RATE_LIMIT_CREATES_PER_MINUTE: "5",
      RATE_LIMIT_ACTIONS_PER_MINUTE: "100",
      RATE_LIMIT_SEARCHES_PER_MINUTE: "200",
      SHUTDOWN_TIMEOUT_MS: "30000",
    });
    expect(config).toMatchObject({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: SECRET,
      MicrosoftAppType: "SingleTenant",
      MicrosoftAppTenantId: TENANT,
      DIRECTORY: "graph",
      PORT: 8080,
      HOST: "0.0.0.0",
      LOG_LEVEL: "warn",
      WORKSPACE_ID: "soc-prod",
      ANALYST_GROUP_ID: GROUP,
      ALLOWED_TENANT_IDS: [TENANT, GROUP],
      TRUSTED_SERVICE_URLS: ["https://smba.trafficmanager.net/", "https://smba.infra.gcc.teams.microsoft.com/"],
      MAX_BODY_BYTES: 1_048_576,
      TAG_CACHE_MS: 0,
      NOTICE_SWEEP_SECONDS: 3600,
      RATE_LIMIT_CREATES_PER_MINUTE: 5,
      RATE_LIMIT_ACTIONS_PER_MINUTE: 100,
      RATE_LIMIT_SEARCHES_PER_MINUTE: 200,
      SHUTDOWN_TIMEOUT_MS: 30_000,
    });
  });
});

describe("starting the bot with a bad configuration", () => {
  const ROOT = path.resolve(__dirname, "..", "..");

  /** `npm start`'s src/index.ts through tsx, as test/support/child-bot.ts runs it, until it exits (no port to wait for). */
  function runBot(env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "index.ts")], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          NODE_NO_WARNINGS: "1",
          DOTENV_CONFIG_PATH: path.join(os.tmpdir(), "no-such-file.env"),
          PORT: "0",
          HOST: "127.0.0.1",
          LOG_LEVEL: "info",
          SQLITE_PATH: path.join(os.tmpdir(), `never-opened-${process.pid}.db`),
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
      child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      child.on("error", reject);
      // "close": the process has exited and its output has been read to the end.
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  it("exits with code 1 and prints every problem, and no secret, without starting to listen", async () => {
    const result = await runBot({ WORKSPACE_ID: "bad id!", NOTICE_SWEEP_SECONDS: "0", MicrosoftAppPassword: SECRET });
    expect(result.code).toBe(1);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe(
      "The configuration has 3 problems:\n" +
        `  - WORKSPACE_ID (got "bad id!"): use 1-64 letters, digits, dots, dashes or underscores\n` +
        `  - NOTICE_SWEEP_SECONDS (got "0"): Number must be greater than or equal to 1\n` +
        "  - MicrosoftAppId: is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode\n" +
        "See .env.example for every setting.\n",
    );
    expect(result.stdout).not.toContain("bot listening");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 60_000);

  it("refuses Microsoft Graph without ANALYST_GROUP_ID in production the same way", async () => {
    const result = await runBot({ ...SINGLE_TENANT, ...GRAPH });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "The configuration has 1 problem:\n" +
        "  - ANALYST_GROUP_ID: is required with MicrosoftAppId and DIRECTORY=graph: without it EVERYONE in the tenant is a SOC " +
        "analyst (sees every incident, closes and reassigns them). Set it to the SOC group's object id, or set " +
        "ANALYSTS_ARE_EVERYONE=true if you mean it\n" +
        "See .env.example for every setting.\n",
    );
    expect(result.stdout).not.toContain("bot listening");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 60_000);
});
