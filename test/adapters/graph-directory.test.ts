import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential, type AccessToken, type TokenCredential } from "@azure/identity";
import { createGraphCredential, createGraphDirectory, type GraphDirectory } from "../../src/adapters/graph-directory";
import { GraphTimeoutError, retryAfterMs } from "../../src/adapters/graph-middleware";
import { ConfigError, graphSettings as settingsOf, loadConfig, type Config } from "../../src/config";
import { DirectoryUnavailableError } from "../../src/incidents/errors";
import { directoryData, ids } from "../support/directory-data";
import { FakeGraph, type FakeGraphOptions } from "../support/fake-graph";
import { describeDirectoryContract } from "./directory-contract";

const CLIENT_SECRET = "s3cret-value-that-must-never-be-shown";

/** Hands out one fixed token and remembers the scopes it was asked for. */
class StaticCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly token: string) {}
  getToken(scopes: string | string[]): Promise<AccessToken> {
    this.scopes.push(...[scopes].flat());
    return Promise.resolve({ token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 });
  }
}

function graphSettings(baseUrl: string, overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    DIRECTORY: "graph",
    GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
    GRAPH_CLIENT_ID: "0b5c9a4e-1111-4222-8333-444455556666",
    GRAPH_CLIENT_SECRET: CLIENT_SECRET,
    GRAPH_BASE_URL: baseUrl,
    ANALYST_GROUP_ID: directoryData.analystGroupId,
    GRAPH_TIMEOUT_MS: "1500",
    ...overrides,
  });
}

interface Opened {
  fake: FakeGraph;
  directory: GraphDirectory;
  credential: StaticCredential;
  warnings: { details: Record<string, unknown>; message: string }[];
  /** Moves the caches' clock forward. */
  advance(ms: number): void;
  dispose(): Promise<void>;
}

async function openGraph(
  options: { fake?: FakeGraphOptions; settings?: Record<string, string | undefined>; token?: string; credential?: TokenCredential } = {},
): Promise<Opened> {
  const fake = await FakeGraph.start(directoryData, options.fake);
  const credential = new StaticCredential(options.token ?? fake.token);
  const warnings: Opened["warnings"] = [];
  let now = Date.now();
  const directory = createGraphDirectory(settingsOf(graphSettings(fake.baseUrl, options.settings)), {
    credential: options.credential ?? credential,
    fetch: fake.fetch,
    now: () => now,
    logger: { warn: (details, message) => warnings.push({ details, message }) },
  });
  return { fake, directory, credential, warnings, advance: (ms) => (now += ms), dispose: () => fake.close() };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

const RESTRICTED = { RESTRICTED_GROUP_ID: directoryData.restrictedGroupId };

describeDirectoryContract("GraphDirectory on the fake Graph", async () => {
  const opened = await openGraph({ settings: RESTRICTED });
  return { directory: opened.directory, dispose: () => opened.dispose() };
});

describeDirectoryContract("GraphDirectory on the fake Graph, paging one entry at a time", async () => {
  const opened = await openGraph({ fake: { maxPageSize: 1 }, settings: RESTRICTED });
  return { directory: opened.directory, dispose: () => opened.dispose() };
});

describe("GraphDirectory", () => {
  let sut: Opened;
  afterEach(async () => {
    await sut.dispose();
  });

  describe("requests", () => {
    it("sends the credential's token, asked for the .default scope of GRAPH_BASE_URL", async () => {
      sut = await openGraph();
      await sut.directory.search("megan", 15);
      await sut.directory.get(ids.physical);
      expect(sut.fake.requests.length).toBeGreaterThanOrEqual(3);
      expect(sut.fake.count(`/groups/${ids.physical}`)).toBe(1);
      for (const request of sut.fake.requests) expect(request.headers.authorization).toBe(`Bearer ${sut.fake.token}`);
      expect(new Set(sut.credential.scopes)).toEqual(new Set([`${sut.fake.baseUrl}/.default`]));
    });

    it("searches users and groups with $search, ConsistencyLevel: eventual, a narrow $select and $top", async () => {
      sut = await openGraph();
      await sut.directory.search("Megan", 15);
      const users = sut.fake.requests.find((r) => r.path === "/users")!;
      const groups = sut.fake.requests.find((r) => r.path === "/groups")!;
      expect(users.headers.consistencylevel).toBe("eventual");
      expect(users.query.get("$search")).toBe('"displayName:megan" OR "mail:megan" OR "userPrincipalName:megan"');
      expect(users.query.get("$select")).toBe("id,displayName,mail,userPrincipalName");
      expect(users.query.get("$top")).toBe("15");
      expect(groups.headers.consistencylevel).toBe("eventual");
      expect(groups.query.get("$search")).toBe('"displayName:megan" OR "mail:megan"');
      expect(groups.query.get("$select")).toBe("id,displayName,mail");
    });

    it("escapes quotes and backslashes, and URL-encodes the rest, so any typed text is a valid $search", async () => {
      sut = await openGraph();
      expect(await sut.directory.search('o"brien \\ & #1 + x', 15)).toEqual([]);
      const users = sut.fake.requests.find((r) => r.path === "/users")!;
      expect(users.query.get("$search")).toBe(
        '"displayName:o\\"brien \\\\ & #1 + x" OR "mail:o\\"brien \\\\ & #1 + x" OR "userPrincipalName:o\\"brien \\\\ & #1 + x"',
      );
    });

    it("follows @odata.nextLink only until the limit is filled", async () => {
      sut = await openGraph({ fake: { maxPageSize: 1 } });
      // Four groups match "s"; two are asked for, so two pages are read and the rest left alone.
      const found = await sut.directory.search("s", 2);
      expect(found).toHaveLength(2);
      expect(sut.fake.count("/groups")).toBe(2);
      const second = sut.fake.requests.filter((r) => r.path === "/groups")[1]!;
      expect(second.query.get("$skiptoken")).toBeTruthy();
      expect(second.headers.consistencylevel).toBe("eventual");
      expect(second.headers.authorization).toBe(`Bearer ${sut.fake.token}`);
    });
  });

  describe("throttling and failures", () => {
    it("retries a 429 whose Retry-After fits in the budget, and answers", async () => {
      sut = await openGraph({ settings: { GRAPH_TIMEOUT_MS: "4000" } });
      sut.fake.fail({ status: 429, retryAfter: "1" }, 1, (r) => r.path === "/users");
      expect((await sut.directory.search("megan", 15)).map((e) => e.objectId)).toEqual([ids.megan]);
      expect(sut.fake.count("/users")).toBe(2);
      expect(sut.warnings).toEqual([]);
    });

    it("retries a 503 without Retry-After after a short backoff, and answers", async () => {
      sut = await openGraph();
      sut.fake.fail({ status: 503 }, 1, (r) => r.path.startsWith("/users/"));
      expect(await sut.directory.get(ids.alex)).toMatchObject({ objectId: ids.alex, displayName: "Alex Wilber" });
      expect(sut.fake.count(`/users/${ids.alex}`)).toBe(2);
    });

    it(
      "does not wait out a Retry-After longer than the budget: answers at once from earlier results",
      async () => {
        sut = await openGraph({ settings: { GRAPH_TIMEOUT_MS: "1500" } });
        await sut.directory.search("megan", 15);
        sut.fake.fail({ status: 429, retryAfter: "120" }, Infinity);
        const before = sut.fake.count("/users");
        // "meg" was never searched for: Megan is offered because an earlier answer held her.
        expect((await sut.directory.search("meg", 15)).map((e) => e.displayName)).toEqual(["Megan Bowen"]);
        expect(sut.fake.count("/users") - before).toBe(1);
        expect(sut.warnings).toHaveLength(1);
        expect(sut.warnings[0]!.details).toMatchObject({ operation: "search", reason: "HTTP 429 TooManyRequests", offered: 1 });
        // While Graph asks to hold off, it is not called at all: each request would count against us.
        const asked = sut.fake.requests.length;
        expect((await sut.directory.search("me", 15)).map((e) => e.displayName)).toEqual(["Megan Bowen"]);
        expect(await rejection(sut.directory.get(ids.alex))).toBeInstanceOf(DirectoryUnavailableError);
        expect(sut.fake.requests.length).toBe(asked);
        expect(sut.warnings[1]!.details.reason).toMatch(/^throttled: Graph asked to wait another 1[12]\d s$/);
      },
      10_000,
    );

    it(
      "when Graph stalls, search settles within the budget with earlier matches, or fails with DirectoryUnavailableError when it has none",
      async () => {
        sut = await openGraph({ settings: { GRAPH_TIMEOUT_MS: "1000" } });
        expect((await sut.directory.search("alex", 15)).map((e) => e.displayName)).toEqual(["Alex Wilber"]);
        sut.fake.delayMs = 60_000;
        const started = Date.now();
        expect((await sut.directory.search("ale", 15)).map((e) => e.displayName)).toEqual(["Alex Wilber"]);
        const error = await rejection(sut.directory.search("megan", 15));
        // Generous bound: far above the two 1 s budgets, far below the 60 s stall.
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(error).toBeInstanceOf(DirectoryUnavailableError);
        expect((error as Error).message).toMatch(/no answer within 1000 ms/);
        expect((error as Error).cause).toBeInstanceOf(GraphTimeoutError);
        expect(sut.warnings[0]!.details).toMatchObject({ operation: "search", reason: "no answer within 1000 ms" });
      },
      20_000,
    );

    it("when only the group search fails, offers the users Graph did return", async () => {
      sut = await openGraph();
      sut.fake.fail({ status: 503 }, Infinity, (r) => r.path === "/groups");
      expect((await sut.directory.search("soc", 15)).map((e) => e.displayName)).toEqual(["Socrates Papadopoulos"]);
      expect(sut.warnings).toHaveLength(1);
      sut.fake.heal();
      // A degraded answer is not cached: once Graph is back, the groups are there.
      expect(await sut.directory.search("soc", 15)).toHaveLength(4);
    });

    it("get: a failure other than 404 is DirectoryUnavailableError, with Graph's error as its cause", async () => {
      sut = await openGraph({ settings: { GRAPH_TIMEOUT_MS: "800" } });
      sut.fake.fail({ status: 503 }, Infinity);
      const error = await rejection(sut.directory.get(ids.alex));
      expect(error).toBeInstanceOf(DirectoryUnavailableError);
      expect((error as Error).message).toMatch(/HTTP 503|no answer within 800 ms/);
      expect((error as Error).cause).toBeDefined();
    });

    it("a token Graph refuses: DirectoryUnavailableError saying what to check, with no token or secret in it", async () => {
      sut = await openGraph({ token: "token-graph-will-refuse" });
      const error = await rejection(sut.directory.get(ids.alex));
      expect(error).toBeInstanceOf(DirectoryUnavailableError);
      expect((error as Error).message).toMatch(/HTTP 401 InvalidAuthenticationToken.*admin consent/);
      const everything = inspect(error, { depth: 10 });
      expect(everything).not.toContain("token-graph-will-refuse");
      expect(everything).not.toContain(CLIENT_SECRET);
      expect(await rejection(sut.directory.search("megan", 15))).toBeInstanceOf(DirectoryUnavailableError);
    });
  });

  it("a credential that can't sign in: DirectoryUnavailableError naming the settings to check", async () => {
    const failing: TokenCredential = {
      getToken: () => Promise.reject(Object.assign(new Error("AADSTS7000215: Invalid client secret provided."), { name: "AuthenticationError" })),
    };
    sut = await openGraph({ credential: failing });
    const error = await rejection(sut.directory.get(ids.alex));
    expect(error).toBeInstanceOf(DirectoryUnavailableError);
    expect((error as Error).message).toMatch(/signing in to Microsoft Entra ID failed \(AuthenticationError\): check GRAPH_TENANT_ID/);
    expect(sut.fake.requests).toHaveLength(0);
  });

  it("a sign-in that hangs still ends within the budget", async () => {
    const hanging: TokenCredential = { getToken: () => new Promise<AccessToken | null>(() => undefined) };
    sut = await openGraph({ credential: hanging, settings: { GRAPH_TIMEOUT_MS: "300" } });
    const error = await rejection(sut.directory.isAnalyst({ objectId: ids.megan, name: "Megan Bowen" }));
    expect(error).toBeInstanceOf(DirectoryUnavailableError);
    expect((error as Error).message).toMatch(/no answer within 300 ms/);
  });

  describe("caching", () => {
    it("answers a repeated search from the cache until GRAPH_CACHE_MS has passed", async () => {
      sut = await openGraph({ settings: { GRAPH_CACHE_MS: "60000" } });
      const first = await sut.directory.search("megan", 15);
      expect(await sut.directory.search("  MEGAN ", 15)).toEqual(first);
      expect(sut.fake.count("/users")).toBe(1);
      sut.advance(60_001);
      await sut.directory.search("megan", 15);
      expect(sut.fake.count("/users")).toBe(2);
    });

    it("caches analyst membership for GRAPH_ANALYST_CACHE_MS: the second call makes no request", async () => {
      sut = await openGraph({ settings: { GRAPH_ANALYST_CACHE_MS: "300000" } });
      const megan = { objectId: ids.megan, name: "Megan Bowen" };
      const checks = () => sut.fake.count(`/users/${ids.megan}/checkMemberGroups`, "POST");
      expect(await sut.directory.isAnalyst(megan)).toBe(true);
      expect(checks()).toBe(1);
      expect(await sut.directory.isAnalyst(megan)).toBe(true);
      expect(checks()).toBe(1);
      sut.advance(300_001);
      expect(await sut.directory.isAnalyst(megan)).toBe(true);
      expect(checks()).toBe(2);
      expect(sut.fake.requests.find((r) => r.method === "POST")!.body).toEqual({ groupIds: [directoryData.analystGroupId] });
    });

    it("asks once for concurrent membership checks of the same person", async () => {
      sut = await openGraph();
      const alex = { objectId: ids.alex, name: "Alex Wilber" };
      expect(await Promise.all([sut.directory.isAnalyst(alex), sut.directory.isAnalyst(alex), sut.directory.isAnalyst(alex)])).toEqual([true, true, true]);
      expect(sut.fake.count(`/users/${ids.alex}/checkMemberGroups`)).toBe(1);
    });

    it("does not cache a failed membership check, and does not guess", async () => {
      sut = await openGraph({ settings: { GRAPH_TIMEOUT_MS: "800" } });
      sut.fake.fail({ status: 503 }, Infinity);
      expect(await rejection(sut.directory.isAnalyst({ objectId: ids.megan, name: "Megan Bowen" }))).toBeInstanceOf(DirectoryUnavailableError);
      sut.fake.heal();
      expect(await sut.directory.isAnalyst({ objectId: ids.megan, name: "Megan Bowen" })).toBe(true);
    });
  });

  describe("analyst rule", () => {
    it("with ANALYST_GROUP_ID, analysts are the group's members", async () => {
      sut = await openGraph();
      expect(sut.directory.analystRule).toBe("group");
    });

    it("asks about both groups in one call when RESTRICTED_GROUP_ID is set, and caches the answer for both", async () => {
      sut = await openGraph({ settings: RESTRICTED });
      const alex = { objectId: ids.alex, name: "Alex Wilber" };
      expect(await sut.directory.isAnalyst(alex)).toBe(true);
      expect(await sut.directory.isRestrictedTeam(alex)).toBe(true);
      expect(sut.fake.count(`/users/${ids.alex}/checkMemberGroups`, "POST")).toBe(1);
      expect(sut.fake.requests.find((r) => r.method === "POST")!.body).toEqual({
        groupIds: [directoryData.analystGroupId, directoryData.restrictedGroupId],
      });
    });

    it("without RESTRICTED_GROUP_ID, the analysts are the restricted-cases team", async () => {
      sut = await openGraph();
      expect(await sut.directory.isRestrictedTeam({ objectId: ids.megan, name: "Megan Bowen" })).toBe(true);
      expect(await sut.directory.isRestrictedTeam({ objectId: ids.adele, name: "Adele Vance" })).toBe(false);
    });

    it("without ANALYST_GROUP_ID, everyone is an analyst and Graph is not asked", async () => {
      sut = await openGraph({ settings: { ANALYST_GROUP_ID: undefined } });
      expect(sut.directory.analystRule).toBe("everyone");
      expect(await sut.directory.isAnalyst({ objectId: ids.adele, name: "Adele Vance" })).toBe(true);
      expect(await sut.directory.isAnalyst({ name: "No id" })).toBe(true);
      expect(sut.fake.requests).toHaveLength(0);
    });
  });
});

describe("Retry-After", () => {
  it("reads delta-seconds and HTTP dates, and ignores what it can't read", () => {
    const now = Date.parse("2026-11-20T10:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3000);
    expect(retryAfterMs("Fri, 20 Nov 2026 10:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs("Fri, 20 Nov 2026 09:59:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe("the fake Graph answers like Graph", () => {
  let fake: FakeGraph;
  beforeEach(async () => {
    fake = await FakeGraph.start(directoryData);
  });
  afterEach(async () => {
    await fake.close();
  });
  const get = (pathAndQuery: string, headers: Record<string, string> = {}) => fake.fetch(`${fake.baseUrl}/v1.0${pathAndQuery}`, { headers });
  const auth = () => ({ Authorization: `Bearer ${fake.token}` });

  it("refuses a request without a token: 401 InvalidAuthenticationToken in Graph's error shape", async () => {
    const response = await get("/users");
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.error).toMatchObject({ code: "InvalidAuthenticationToken", message: "Access token is empty." });
    expect(body.error.innerError).toEqual(expect.objectContaining({ "request-id": expect.any(String), date: expect.any(String) }));
  });

  it("refuses $search without ConsistencyLevel: eventual", async () => {
    const response = await get(`/users?$search=${encodeURIComponent('"displayName:megan"')}`, auth());
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe("Request_UnsupportedQuery");
  });

  it("answers 404 Request_ResourceNotFound for an unknown id, 400 for a property the type doesn't have", async () => {
    const missing = await get(`/users/${ids.nobody}`, auth());
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("Request_ResourceNotFound");
    const badSelect = await get(`/groups/${ids.iam}?$select=id,userPrincipalName`, auth());
    expect(badSelect.status).toBe(400);
  });

  it("honours $select and $top and links the next page", async () => {
    const response = await get("/users?$select=id,displayName&$top=3", auth());
    const body = await response.json();
    expect(body.value).toHaveLength(3);
    expect(Object.keys(body.value[0]).sort()).toEqual(["displayName", "id"]);
    expect(body["@odata.nextLink"]).toMatch(new RegExp(`^${fake.baseUrl}/v1\\.0/users\\?.*\\$skiptoken=`));
  });
});

describe("Graph settings and credentials", () => {
  it("DIRECTORY=graph without its settings lists each missing one", () => {
    expect(() => loadConfig({ DIRECTORY: "graph" })).toThrow(ConfigError);
    try {
      loadConfig({ DIRECTORY: "graph" });
    } catch (error) {
      const problems = (error as ConfigError).problems.join("\n");
      expect(problems).toMatch(/GRAPH_TENANT_ID: is required/);
      expect(problems).toMatch(/GRAPH_CLIENT_ID: is required/);
      expect(problems).toMatch(/GRAPH_CLIENT_SECRET, or GRAPH_CERTIFICATE_PATH .* or GRAPH_MANAGED_IDENTITY=true/);
    }
  });

  it("refuses two ways to sign in, a non-https base URL and a group id that is not a GUID, without echoing the secret", () => {
    let problems = "";
    try {
      loadConfig({
        DIRECTORY: "graph",
        GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
        GRAPH_CLIENT_ID: "app",
        GRAPH_CLIENT_SECRET: CLIENT_SECRET,
        GRAPH_MANAGED_IDENTITY: "true",
        GRAPH_BASE_URL: "http://graph.microsoft.com/v1.0",
        ANALYST_GROUP_ID: "SOC Analysts",
      });
    } catch (error) {
      problems = (error as ConfigError).message;
    }
    expect(problems).toMatch(/set only one way to sign in/);
    expect(problems).toMatch(/GRAPH_BASE_URL .*use https and no path/);
    expect(problems).toMatch(/ANALYST_GROUP_ID .*GUID/);
    expect(problems).not.toContain(CLIENT_SECRET);
  });

  it("defaults to the public cloud, a 2 s budget, a 60 s cache and a 5 min analyst cache", () => {
    const config = loadConfig({ DIRECTORY: "graph", GRAPH_TENANT_ID: "t", GRAPH_CLIENT_ID: "c", GRAPH_CLIENT_SECRET: "s" });
    expect(config).toMatchObject({ GRAPH_BASE_URL: "https://graph.microsoft.com", GRAPH_TIMEOUT_MS: 2000, GRAPH_CACHE_MS: 60_000, GRAPH_ANALYST_CACHE_MS: 300_000 });
    expect(config.ANALYST_GROUP_ID).toBeUndefined();
  });

  it("builds the credential the settings ask for", () => {
    const base = { DIRECTORY: "graph", GRAPH_TENANT_ID: "contoso.onmicrosoft.com", GRAPH_CLIENT_ID: "0b5c9a4e-1111-4222-8333-444455556666" };
    expect(createGraphCredential(settingsOf(loadConfig({ ...base, GRAPH_CLIENT_SECRET: "s" })))).toBeInstanceOf(ClientSecretCredential);
    expect(createGraphCredential(settingsOf(loadConfig({ ...base, GRAPH_MANAGED_IDENTITY: "true" })))).toBeInstanceOf(ManagedIdentityCredential);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "graph-cert-"));
    try {
      const pem = path.join(dir, "app.pem");
      fs.writeFileSync(pem, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
      expect(createGraphCredential(settingsOf(loadConfig({ ...base, GRAPH_CERTIFICATE_PATH: pem })))).toBeInstanceOf(ClientCertificateCredential);
      expect(() => createGraphCredential(settingsOf(loadConfig({ ...base, GRAPH_CERTIFICATE_PATH: path.join(dir, "missing.pem") })))).toThrow(/GRAPH_CERTIFICATE_PATH: there is no file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
