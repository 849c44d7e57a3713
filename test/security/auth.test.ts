import { ConfigurationServiceClientCredentialFactory, type Activity } from "botbuilder";
import { startApp } from "../../src/app";
import { ConfigError, loadConfig } from "../../src/config";
import { createAuthentication } from "../../src/teams/auth";
import { ClaimsIdentity } from "botframework-connector";
import { aForm } from "../support/builders";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, visibleText } from "../support/cards";
import { ISSUER, startOpenIdServer, type OpenIdServer } from "../support/openid";
import { APP_ID, APP_SECRET, authEnv, captureLogs, fromTenant, healthy, postActivity, storedIn } from "../support/security";
import { execute, message, search, submitMessage, TENANT } from "../support/teams";

/**
 * Authentication is real here: the bot checks tokens against a local OpenID server's published
 * keys (as it does against login.botframework.com), and gets its own token from a local token
 * endpoint. Every refused request must leave the store and the connector untouched.
 */

const OTHER_TENANT = "0ff1ce00-0000-4000-8000-0000000000ba";
const SECOND_ALLOWED = "5ec0dd00-0000-4000-8000-000000000002";

let idp: OpenIdServer;
beforeAll(async () => {
  idp = await startOpenIdServer(APP_ID, APP_SECRET);
});
afterAll(async () => {
  await idp.close();
});

// botbuilder prints every refused token with console.error; keep the test output readable.
let consoleError: jest.SpyInstance;
beforeEach(() => {
  consoleError = jest.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => {
  consoleError.mockRestore();
});

function createActivity(serviceUrl: string, title = "Badge cloned at door 3") {
  return execute(serviceUrl, "incident.create", { ...aForm({ title, tags: "Physical" }) });
}

const now = () => Math.floor(Date.now() / 1000);

describe("with MicrosoftAppId set, every request needs a valid Bot Framework token", () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot(authEnv(idp));
  });
  afterAll(async () => {
    await bot.stop();
  });

  it("passes a valid token end to end: the incident is stored and the bot answers the connector with a token of its own", async () => {
    const health = await (await fetch(`${bot.app.url}/healthz`)).json();
    expect(health.localMode).toBe(false);
    bot.connector.reset();

    const opened = await postActivity(bot.app.url, message(bot.serviceUrl, "incident"), await idp.sign(APP_ID, bot.serviceUrl));
    expect(opened.status).toBe(200);
    expect(bot.connector.sent()).toHaveLength(1);
    expect(cardOf(bot.connector.sent()[0]).type).toBe("AdaptiveCard");

    const before = storedIn(bot.app.config.SQLITE_PATH).incidents;
    const created = await postActivity(bot.app.url, createActivity(bot.serviceUrl), await idp.sign(APP_ID, bot.serviceUrl, { alg: "RS512" }));
    expect(created.status).toBe(200);
    expect(visibleText(created.body.value)[0]).toMatch(/^Incident INC-\d+ created$/);
    expect(storedIn(bot.app.config.SQLITE_PATH).incidents).toBe(before + 1);
    // The card update for everyone goes out after the answer.
    await bot.connector.waitForCalls(2);

    // The bot's replies (the form, then the confirmation for everyone) carry the token it got from
    // the token endpoint with its own id and secret, for the Bot Framework's scope.
    expect(idp.tokenRequests).toEqual([{ clientId: APP_ID, clientSecret: APP_SECRET, scope: "https://api.botframework.com/.default", grantType: "client_credentials" }]);
    expect(bot.connector.calls.map((c) => c.method)).toEqual(["POST", "PUT"]);
    for (const call of bot.connector.calls) expect(call.headers.authorization).toBe(`Bearer ${idp.issued[0]}`);
  });

  const s = () => bot.serviceUrl;
  const badTokens: [string, () => Promise<string | undefined>][] = [
    ["no Authorization header", async () => undefined],
    ["an empty bearer token", async () => ""],
    ["a token that is not a JWT", async () => "not.a.jwt"],
    ["a token expired 10 minutes ago (beyond the 5-minute clock skew)", () => idp.sign(APP_ID, s(), { claims: { exp: now() - 600 } })],
    ["a token not valid for another hour", () => idp.sign(APP_ID, s(), { claims: { nbf: now() + 3600 } })],
    ["a token signed by a key that is not published, under the published key's kid", () => idp.sign(APP_ID, s(), { key: "rogue" })],
    ["a token naming a key id that is not published", () => idp.sign(APP_ID, s(), { kid: "no-such-key" })],
    ["a token signed by a published key endorsed only for another channel (webchat)", () => idp.sign(APP_ID, s(), { key: "webchat" })],
    ["an HS256 token keyed with the published public key (algorithm confusion)", () => idp.sign(APP_ID, s(), { alg: "HS256" })],
    ["an unsigned token (alg: none)", async () => idp.unsigned(APP_ID, s())],
    ["a token for another app (wrong audience)", () => idp.sign(APP_ID, s(), { claims: { aud: "11111111-2222-4333-8444-555555555555" } })],
    ["a token with no audience", () => idp.sign(APP_ID, s(), { claims: { aud: undefined } })],
    ["a token from another issuer", () => idp.sign(APP_ID, s(), { claims: { iss: "https://api.botframework.example" } })],
    ["a token with no issuer", () => idp.sign(APP_ID, s(), { claims: { iss: undefined } })],
    ["a token issued for another serviceUrl", () => idp.sign(APP_ID, "https://smba.trafficmanager.net/evil/")],
  ];

  it.each(badTokens)("refuses %s with 401, and nothing is processed or stored", async (_name, token) => {
    const file = bot.app.config.SQLITE_PATH;
    const before = storedIn(file);
    bot.connector.reset();
    for (const activity of [createActivity(s()), message(s(), "incident"), search(s(), "owners", "soc")]) {
      const res = await postActivity(bot.app.url, activity, await token());
      expect(res.status).toBe(401);
    }
    expect(bot.connector.calls).toHaveLength(0);
    expect(storedIn(file)).toEqual(before);
    expect(await healthy(bot.app.url)).toBe(true);
  });

  it("refuses a Basic or otherwise non-Bearer Authorization header", async () => {
    const token = await idp.sign(APP_ID, s());
    for (const header of [`Basic ${Buffer.from(`${APP_ID}:${APP_SECRET}`).toString("base64")}`, `bearer ${token}`, `Bearer ${token} extra`, token]) {
      const res = await fetch(`${bot.app.url}/api/messages`, { method: "POST", headers: { "content-type": "application/json", authorization: header }, body: JSON.stringify(createActivity(s())) });
      expect(res.status).toBe(401);
    }
  });

  it("refuses a valid token replayed with the activity's serviceUrl changed", async () => {
    const token = await idp.sign(APP_ID, s());
    const res = await postActivity(bot.app.url, createActivity("https://attacker.example/"), token);
    expect(res.status).toBe(401);
    expect(res.text).toMatch(/ServiceUrl claim/);
  });

  it("reads the signing keys once and reuses them", () => {
    expect(idp.reads).toEqual({ metadata: 1, keys: 1 });
  });
});

describe("Bot Connector clients are made once per app id, service URL and audience, not per activity", () => {
  const URL_A = "http://127.0.0.1:4001/";
  const URL_B = "http://127.0.0.1:4002/";
  /** As the bot's server makes it; `msal`: botbuilder's own credentials (MSAL), not BOT_TOKEN_ENDPOINT's. */
  const auth = (msal = false) =>
    createAuthentication(
      { MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_SECRET, MicrosoftAppType: "SingleTenant", MicrosoftAppTenantId: TENANT },
      { openIdMetadataUrl: idp.metadataUrl, ...(!msal && { tokenEndpoint: idp.tokenEndpoint }) },
    );
  /** A client for `serviceUrl` as CloudAdapter gets one for an activity: through the checked token's factory. */
  async function clientFor(authentication: ReturnType<typeof auth>, serviceUrl: string) {
    const activity = message(serviceUrl, "incident") as unknown as Activity;
    const result = await authentication.authenticateRequest(activity, `Bearer ${await idp.sign(APP_ID, serviceUrl)}`);
    return result.connectorFactory!.create(serviceUrl, result.audience);
  }

  it("reuses the client (and the user token client) on later activities and for proactive sends; another service URL gets its own", async () => {
    const authentication = auth();
    const first = await clientFor(authentication, URL_A);
    expect(await clientFor(authentication, URL_A)).toBe(first);
    // A proactive send (the reporter's notices) goes through createConnectorFactory with the bot's own identity.
    // (CloudAdapter's createClaimsIdentity: aud and appid both the bot's id.)
    const bot = new ClaimsIdentity([{ type: "aud", value: APP_ID }, { type: "appid", value: APP_ID }]);
    const proactive = authentication.createConnectorFactory(bot);
    expect(await proactive.create(URL_A, "https://api.botframework.com")).toBe(first);
    const other = await clientFor(authentication, URL_B);
    expect(other).not.toBe(first);
    expect((other as unknown as { baseUri: string }).baseUri).toBe(URL_B);
    const userTokens = await authentication.createUserTokenClient(bot);
    expect(await authentication.createUserTokenClient(new ClaimsIdentity([{ type: "aud", value: APP_ID }]))).toBe(userTokens);
    // Each instance of the bot has its own.
    expect(await clientFor(auth(), URL_A)).not.toBe(first);
  });

  it("keeps 32 at most, dropping the oldest first", async () => {
    const authentication = auth();
    const first = await clientFor(authentication, "http://127.0.0.1:5000/");
    for (let port = 5001; port <= 5031; port++) await clientFor(authentication, `http://127.0.0.1:${port}/`);
    expect(await clientFor(authentication, "http://127.0.0.1:5000/")).toBe(first);
    await clientFor(authentication, "http://127.0.0.1:5032/");
    expect(await clientFor(authentication, "http://127.0.0.1:5000/")).not.toBe(first);
  });

  it("does not keep a client that could not be made: the next activity tries again", async () => {
    const authentication = auth(true);
    const failing = jest
      .spyOn(ConfigurationServiceClientCredentialFactory.prototype, "createCredentials")
      .mockRejectedValueOnce(new Error("credentials unavailable"));
    try {
      await expect(clientFor(authentication, URL_A)).rejects.toThrow("credentials unavailable");
      const client = await clientFor(authentication, URL_A);
      expect(await clientFor(authentication, URL_A)).toBe(client);
    } finally {
      failing.mockRestore();
    }
  });
});

describe("the tenant allow-list (ALLOWED_TENANT_IDS)", () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ ...authEnv(idp), ALLOWED_TENANT_IDS: ` ${TENANT.toUpperCase()} , ${SECOND_ALLOWED}` });
  });
  afterAll(async () => {
    await bot.stop();
  });

  const send = async (activity: unknown) => postActivity(bot.app.url, activity, await idp.sign(APP_ID, bot.serviceUrl));

  it("processes activities from an allowed tenant, whatever the case of its id", async () => {
    bot.connector.reset();
    const res = await send(fromTenant(createActivity(bot.serviceUrl), SECOND_ALLOWED.toUpperCase()));
    expect(res.status).toBe(200);
    expect(visibleText(res.body.value)[0]).toMatch(/^Incident INC-\d+ created$/);
    await bot.connector.waitForCalls(1);
    expect(bot.connector.updated()).toHaveLength(1);
  });

  it.each([
    ["another tenant", (a: object) => fromTenant(a, OTHER_TENANT)],
    ["no tenant at all", (a: object) => fromTenant(a, undefined)],
    ["an allowed tenant in channelData but another in conversation.tenantId", (a: object) => fromTenant(a, TENANT, OTHER_TENANT)],
    ["another tenant in channelData but an allowed one in conversation.tenantId", (a: object) => fromTenant(a, OTHER_TENANT, TENANT)],
  ])("answers invokes from %s with a 403 error and stores nothing", async (_name, move) => {
    const file = bot.app.config.SQLITE_PATH;
    const before = storedIn(file);
    bot.connector.reset();
    for (const activity of [createActivity(bot.serviceUrl), search(bot.serviceUrl, "owners", "soc"), execute(bot.serviceUrl, "incident.form", {})]) {
      const res = await send(move(activity));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        type: "application/vnd.microsoft.error",
        value: { code: "Forbidden", message: "This bot is not available to your organisation. Nothing was saved." },
      });
    }
    expect(storedIn(file)).toEqual(before);
    expect(bot.connector.calls).toHaveLength(0);
  });

  it("drops messages from another tenant without answering into that tenant, storing nothing", async () => {
    const file = bot.app.config.SQLITE_PATH;
    const before = storedIn(file);
    bot.connector.reset();
    const fallbackCreate = submitMessage(bot.serviceUrl, { verb: "incident.create", ...aForm({ title: "From elsewhere" }) });
    for (const activity of [message(bot.serviceUrl, "incident"), fallbackCreate]) {
      const res = await send(fromTenant(activity, OTHER_TENANT));
      expect(res.status).toBe(200);
    }
    expect(bot.connector.calls).toHaveLength(0);
    expect(storedIn(file)).toEqual(before);
  });

  it("checks the token before the tenant: a foreign request with a bad token gets 401", async () => {
    const res = await postActivity(bot.app.url, fromTenant(createActivity(bot.serviceUrl), OTHER_TENANT), await idp.sign(APP_ID, bot.serviceUrl, { key: "rogue" }));
    expect(res.status).toBe(401);
  });

  it("logs each refusal with the tenant, and says at start-up which tenants are served", async () => {
    const logs = captureLogs();
    const app = await startApp({ ...envOf(bot), ALLOWED_TENANT_IDS: TENANT }, logs.logger);
    try {
      await postActivity(app.url, fromTenant(message(bot.serviceUrl, "incident"), OTHER_TENANT), await idp.sign(APP_ID, bot.serviceUrl));
    } finally {
      await app.close();
    }
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 30, msg: "only activities from ALLOWED_TENANT_IDS are processed", allowedTenants: 1 }));
    expect(logs.lines()).toContainEqual(
      expect.objectContaining({ level: 40, tenantId: OTHER_TENANT, activityType: "message", msg: "activity refused: its tenant is not allowed; nothing was processed or stored" }),
    );

    const open = captureLogs();
    await (await startApp(envOf(bot), open.logger)).close();
    expect(open.lines()).toContainEqual(expect.objectContaining({ level: 30, msg: "ALLOWED_TENANT_IDS is empty: activities from every tenant are accepted" }));
  });
});

/** The settings a test bot runs with, to start a second app on the same store with a logger of the test's. */
function envOf(bot: TestBot): Record<string, string> {
  const c = bot.app.config;
  return { ...authEnv(idp), PORT: "0", HOST: "127.0.0.1", SQLITE_PATH: c.SQLITE_PATH, DIRECTORY_FILE: c.DIRECTORY_FILE, WORKSPACE_ID: c.WORKSPACE_ID };
}

describe("the trust settings are checked at start-up", () => {
  const base = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: APP_SECRET, MicrosoftAppTenantId: TENANT };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it("keeps botbuilder's public-cloud endpoints when no override is set", () => {
    const c = loadConfig(base);
    expect([c.BOT_OPENID_METADATA_URL, c.BOT_TOKEN_ISSUER, c.BOT_TOKEN_ENDPOINT]).toEqual([undefined, undefined, undefined]);
    expect(c.ALLOWED_TENANT_IDS).toEqual([]);
    expect([c.RATE_LIMIT_CREATES_PER_MINUTE, c.RATE_LIMIT_SEARCHES_PER_MINUTE]).toEqual([20, 120]);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ["plain http to another machine for the signing keys", { BOT_OPENID_METADATA_URL: "http://keys.example.com/openid" }, /BOT_OPENID_METADATA_URL.*use https/],
    ["plain http to another machine for the bot's secret", { BOT_TOKEN_ENDPOINT: "http://login.example.com/token" }, /BOT_TOKEN_ENDPOINT.*use https/],
    ["a tenant id that is not a GUID", { ALLOWED_TENANT_IDS: `${TENANT},contoso.com` }, /ALLOWED_TENANT_IDS.*not: contoso\.com/],
    ["a rate limit of 0", { RATE_LIMIT_CREATES_PER_MINUTE: "0" }, /RATE_LIMIT_CREATES_PER_MINUTE/],
  ])("refuses %s", (_name, env, problem) => {
    expect(problems({ ...base, ...env }).join("\n")).toMatch(problem);
  });

  it("refuses token overrides in local mode, where nothing would be checked", () => {
    expect(problems({ BOT_OPENID_METADATA_URL: "https://keys.example.com/openid", BOT_TOKEN_ISSUER: ISSUER })).toEqual([
      expect.stringMatching(/^BOT_OPENID_METADATA_URL.*MicrosoftAppId is not/),
      expect.stringMatching(/^BOT_TOKEN_ISSUER.*MicrosoftAppId is not/),
    ]);
  });

  it("refuses a token endpoint without the secret to use there", () => {
    expect(problems({ MicrosoftAppId: APP_ID, MicrosoftAppType: "UserAssignedMSI", MicrosoftAppTenantId: TENANT, BOT_TOKEN_ENDPOINT: "https://login.example.com/token" }).join("\n")).toMatch(
      /BOT_TOKEN_ENDPOINT.*: needs MicrosoftAppPassword/,
    );
  });
});
