import { ConfigError, loadConfig } from "../../src/config";

/** The problems loadConfig reports for these settings (none: []). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const endpoint = "https://contoso-soc.documents.azure.com:443/";

describe("Cosmos DB settings", () => {
  it("need nothing while the store is SQLite, and default to Entra ID without a key", () => {
    expect(problems({})).toEqual([]);
    const config = loadConfig({ STORE: "cosmos", COSMOS_ENDPOINT: endpoint });
    expect(config).toMatchObject({
      COSMOS_DATABASE: "soc-incident-bot",
      COSMOS_CONTAINER: "incidents",
      COSMOS_CREATE_IF_MISSING: false,
      COSMOS_RETRY_BUDGET_MS: 5000,
      COSMOS_REQUEST_TIMEOUT_MS: 2000,
    });
    expect(config.COSMOS_KEY).toBeUndefined();
    expect(config.COSMOS_AUTH).toBeUndefined();
  });

  it("require an endpoint when STORE=cosmos, saying where to find it", () => {
    expect(problems({ STORE: "cosmos" })).toEqual([expect.stringMatching(/^COSMOS_ENDPOINT: is required when STORE=cosmos: .*documentEndpoint/)]);
    expect(problems({ STORE: "cosmos", COSMOS_ENDPOINT: "contoso-soc" })).toEqual([expect.stringMatching(/^COSMOS_ENDPOINT \(got "contoso-soc"\): use the account's URI/)]);
  });

  it("reject contradictory authentication settings, never echoing the key", () => {
    const keyless = problems({ STORE: "cosmos", COSMOS_ENDPOINT: endpoint, COSMOS_AUTH: "key" });
    expect(keyless).toEqual([expect.stringMatching(/^COSMOS_KEY: is required when COSMOS_AUTH=key/)]);
    const both = problems({ STORE: "cosmos", COSMOS_ENDPOINT: endpoint, COSMOS_AUTH: "entra", COSMOS_KEY: "c2VjcmV0LWtleQ==" });
    expect(both).toEqual([expect.stringMatching(/^COSMOS_KEY: is set but COSMOS_AUTH=entra ignores it/)]);
    expect(both.join("\n")).not.toContain("c2VjcmV0LWtleQ==");
    expect(problems({ COSMOS_KEY: "c2VjcmV0LWtleQ==", COSMOS_MANAGED_IDENTITY_CLIENT_ID: "0b6f1f1e-0000-4000-8000-000000000001" })).toEqual([
      expect.stringMatching(/^COSMOS_MANAGED_IDENTITY_CLIENT_ID \(got "[0-9a-f-]+"\): is only used with Microsoft Entra ID auth/),
    ]);
  });

  it("keep one request's timeout within the whole retry budget", () => {
    expect(problems({ COSMOS_RETRY_BUDGET_MS: "1000", COSMOS_REQUEST_TIMEOUT_MS: "2000" })).toEqual([
      expect.stringMatching(/^COSMOS_REQUEST_TIMEOUT_MS \(got "2000"\): must not exceed COSMOS_RETRY_BUDGET_MS/),
    ]);
    expect(problems({ COSMOS_CREATE_IF_MISSING: "maybe", COSMOS_CONTAINER: "a/b" })).toHaveLength(2);
  });
});
