import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startApp, type App } from "../../src/app";
import { ConfigError, loadConfig } from "../../src/config";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { startConnector, type FakeConnector } from "../support/connector";
import { startOpenIdServer, type OpenIdServer } from "../support/openid";
import { APP_ID, APP_SECRET, authEnv, postActivity } from "../support/security";
import { ALEX, MEGAN, execute, fetchTaskFromMessage, message, messagePayload, submitActionFromMessage } from "../support/teams";
import { until } from "../support/until";

/*
 * Safe by default: local mode listens on this machine only; the bot sends nothing (its token least of
 * all) to a service URL it does not trust; a failed turn's answer names no internal host; settings
 * that would let anyone in stop the start with a message saying what to set.
 */

const DIRECTORY_FILE = path.resolve(__dirname, "..", "..", "data", "directory.json");

describe("where local mode listens", () => {
  let dir: string;
  let app: App | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bind-"));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ PORT: "0", LOG_LEVEL: "silent", SQLITE_PATH: path.join(dir, "i.db"), DIRECTORY_FILE });

  it("is 127.0.0.1 with no HOST: nobody else on the network reaches a bot that authenticates nobody", async () => {
    app = await startApp(env());
    expect(app.address).toBe("127.0.0.1");
  });

  it("is HOST when it is set", async () => {
    app = await startApp({ ...env(), HOST: "0.0.0.0" });
    expect(app.address).toBe("0.0.0.0");
  });
});

describe("service URLs the bot trusts", () => {
  let bot: TestBot;
  let other: FakeConnector;
  beforeEach(async () => {
    other = await startConnector();
  });
  afterEach(async () => {
    await bot.stop();
    await other.close();
  });

  it("in local mode, only this machine: an activity naming another host is refused and nothing is sent there", async () => {
    bot = await startTestBot();
    const evil = "https://evil.example/";
    const invoke = await bot.post(execute(evil, "incident.form", {}));
    expect(invoke.status).toBe(403);
    const said = await bot.post(message(evil, "triage here", { from: ALEX, where: "channel" }));
    expect(said.status).toBe(200);
    expect(await bot.app.service.triageChannel()).toBeUndefined();
  });

  it("a stored triage channel on a host not trusted gets nothing: the post is recorded as failed", async () => {
    bot = await startTestBot({ TRUSTED_SERVICE_URLS: "" });
    await bot.app.service.setTriageChannel(
      { conversationId: "19:x", setBy: { name: "Someone" }, setUtc: new Date().toISOString(), reference: { serviceUrl: "https://evil.example/", conversation: { id: "19:x" } } },
      { objectId: ALEX.aadObjectId!, name: ALEX.name },
    );
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: ALEX }));
    const form = cardOf(bot.connector.sent()[0]);
    await bot.post(execute(bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), title: "Not for evil.example" }));
    const stored = await until("the failed triage post recorded", async () => {
      const incident = (await bot.incidents())[0];
      return incident?.triage?.state === "failed" && incident;
    });
    expect(stored.triage?.lastError).toMatch(/not a trusted host/);
  }, 120_000);

  describe("with an app id", () => {
    let idp: OpenIdServer;
    let consoleError: jest.SpyInstance;
    beforeAll(async () => {
      idp = await startOpenIdServer(APP_ID, APP_SECRET);
    });
    afterAll(async () => {
      await idp.close();
    });
    beforeEach(() => {
      consoleError = jest.spyOn(console, "error").mockImplementation(() => undefined);
    });
    afterEach(() => consoleError.mockRestore());

    it("never sends its token to a host off the list, even with a valid token naming it", async () => {
      bot = await startTestBot({ ...authEnv(idp), TRUSTED_SERVICE_URLS: "https://smba.trafficmanager.net/" });
      const asked = idp.tokenRequests.length;
      const res = await postActivity(bot.app.url, message(other.url, "incident"), await idp.sign(APP_ID, other.url));
      expect(res.status).toBe(200);
      const invoke = await postActivity(bot.app.url, execute(other.url, "incident.form", {}), await idp.sign(APP_ID, other.url));
      expect(invoke.status).toBe(403);
      expect(other.calls).toEqual([]);
      expect(idp.tokenRequests.length).toBe(asked);
    });

    it("with Teams' own hosts, refuses every look-alike of them: a longer host, userinfo, a port, another case, the name in a path", async () => {
      // No TRUSTED_SERVICE_URLS: the Teams clouds' list (TEAMS_SERVICE_URLS), whose prefixes end with the host's "/".
      bot = await startTestBot({ ...authEnv(idp), TRUSTED_SERVICE_URLS: "" });
      const answer = async (serviceUrl: string) =>
        (await postActivity(bot.app.url, execute(serviceUrl, "incident.form", {}), await idp.sign(APP_ID, serviceUrl))).status;
      for (const lookalike of [
        "https://smba.trafficmanager.net.evil.example/",
        "https://smba.trafficmanager.netevil.example/amer/",
        "https://SMBA.TrafficManager.NET.evil.example/amer/",
        "https://smba.trafficmanager.net@evil.example/",
        "https://smba.trafficmanager.net:8443/amer/",
        "https://evil.example/smba.trafficmanager.net/",
        "http://smba.trafficmanager.net/amer/",
        "https://smba.infra.gcc.teams.microsoft.com.evil.example/",
        "https://smba.infra.gov.teams.microsoft.us.evil.example/",
        "https://smba.infra.dod.teams.microsoft.us:444/",
      ]) {
        expect([lookalike, await answer(lookalike)]).toEqual([lookalike, 403]);
      }
      // Teams itself, in any case: answered (the form comes back in the invoke's answer, nothing is sent).
      for (const teams of ["https://smba.trafficmanager.net/amer/", "HTTPS://SMBA.TrafficManager.net/emea/", "https://smba.infra.gcc.teams.microsoft.com/"]) {
        expect([teams, await answer(teams)]).toEqual([teams, 200]);
      }
    });
  });
});

describe("a turn that fails", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("answers 500 without the connector's error: no internal host or port in the body", async () => {
    const consoleError = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      bot.connector.failNext(50, 403);
      const res = await bot.post(message(bot.serviceUrl, "help"));
      expect(res.status).toBe(500);
      const body = JSON.stringify(res.body);
      expect(body).not.toContain("127.0.0.1");
      expect(body).not.toContain(new URL(bot.serviceUrl).port);
      expect(res.body).toEqual({ code: "InternalError", message: "The request could not be processed." });
    } finally {
      consoleError.mockRestore();
    }
  });
});

describe("production start-up refusals", () => {
  const base = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: "secret", MicrosoftAppType: "SingleTenant", MicrosoftAppTenantId: "72f988bf-0000-4000-8000-000000000001" };
  const graph = { DIRECTORY: "graph", GRAPH_TENANT_ID: "contoso.onmicrosoft.com", GRAPH_CLIENT_ID: "0b5c9a4e-1111-4222-8333-444455556666", GRAPH_CLIENT_SECRET: "s" };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return "";
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
  };

  it("refuses Microsoft Graph without ANALYST_GROUP_ID (everyone would be an analyst), unless ANALYSTS_ARE_EVERYONE=true", () => {
    expect(problems({ ...base, ...graph })).toMatch(/ANALYST_GROUP_ID: is required with MicrosoftAppId and DIRECTORY=graph: without it EVERYONE/);
    expect(problems({ ...base, ...graph, ANALYSTS_ARE_EVERYONE: "true" })).toBe("");
    expect(problems({ ...base, ...graph, ANALYST_GROUP_ID: "9c0f0000-0000-4000-9000-000000000003" })).toBe("");
    // Local mode (no app id) is a developer's machine: no refusal.
    expect(problems({ ...graph })).toBe("");
  });

  it("refuses a MultiTenant app without ALLOWED_TENANT_IDS", () => {
    const multi = { ...base, MicrosoftAppType: "MultiTenant" };
    expect(problems(multi)).toMatch(/ALLOWED_TENANT_IDS: is required with MicrosoftAppType=MultiTenant/);
    expect(problems({ ...multi, ALLOWED_TENANT_IDS: "72f988bf-0000-4000-8000-000000000001" })).toBe("");
  });

  it("takes only https prefixes (http for this machine) as trusted service URLs", () => {
    expect(problems({ TRUSTED_SERVICE_URLS: "http://evil.example/" })).toMatch(/TRUSTED_SERVICE_URLS/);
    // A prefix must end with its host's "/": without it, "https://smba.trafficmanager.net" would let
    // https://smba.trafficmanager.net.evil.example/ through.
    for (const open of ["https://smba.trafficmanager.net", "https://smba.trafficmanager.net:443", "http://localhost"]) {
      expect([open, problems({ TRUSTED_SERVICE_URLS: open })]).toEqual([open, expect.stringMatching(/TRUSTED_SERVICE_URLS.*ending in \//)]);
    }
    expect(problems({ TRUSTED_SERVICE_URLS: "https://smba.trafficmanager.net/, http://127.0.0.1:" })).toBe("");
  });
});

describe("any message can be reported", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("even 30,000 nested <div>s: the dialog opens with what can be read, and the report goes in", async () => {
    // Unclosed, as a crafted message may be: 150,000 characters, within what Teams sends.
    const body = `<p>Look at this</p>${"<div>".repeat(30_000)}buried`;
    const payload = messagePayload({ body: { contentType: "html", content: body } });
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: MEGAN }));
    expect(open.status).toBe(200);
    const card = open.body.task.value.card.content;
    expect(values(card).whatHappened).toMatch(/^Look at this/);
    const sent = await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: MEGAN, payload }));
    expect(sent.body.task.value.title).toBe("Report sent");
    expect(await bot.incidents()).toHaveLength(1);
  });

  it("keeps the words of ordinarily nested HTML", async () => {
    const payload = messagePayload({ body: { contentType: "html", content: `${"<div>".repeat(50)}still here${"</div>".repeat(50)}` } });
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: MEGAN }));
    expect(values(open.body.task.value.card.content).whatHappened).toBe("still here");
  });
});

describe("names and what employees may set", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  /** Texts of every TextBlock in a card: Teams renders markdown there, so no name from people may be in one. */
  const textBlocks = (node: unknown, out: string[] = []): string[] => {
    if (Array.isArray(node)) node.forEach((n) => textBlocks(n, out));
    else if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      if (o.type === "TextBlock" && typeof o.text === "string") out.push(o.text);
      Object.values(o).forEach((v) => textBlocks(v, out));
    }
    return out;
  };

  it("shows a message author's and a clicker's name as text, never in markdown", async () => {
    const link = "[the CEO](https://evil.example)";
    const payload = messagePayload({ from: { user: { id: "x", displayName: link }, application: null } });
    const analyst = { ...ALEX, name: `${link} Alex` };
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: analyst }));
    const card = open.body.task.value.card.content;
    bot.connector.reset();
    await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: analyst, payload }));
    const [stored] = await bot.incidents();
    const assigned = await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: stored!.id, revision: stored!.revision }, { from: analyst }));
    const cards = [cardOf(bot.connector.sent()[0]), assigned.body.value];
    for (const shown of cards) {
      expect(JSON.stringify(shown)).toContain("evil.example");
      for (const text of textBlocks(shown)) expect(text).not.toContain("evil.example");
    }
  });

  it("drops the tags an employee sends: the analysts' suggestions are theirs", async () => {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: MEGAN }));
    const form = cardOf(bot.connector.sent()[0]);
    const data = { ...form.actions[0].data, ...values(form), title: "Tagged by an employee", whatHappened: "x", tags: "Executive,VIP" };
    await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: MEGAN }));
    const [stored] = await bot.incidents();
    expect(stored!.labels).toEqual([]);
    expect(await bot.app.service.suggestTags("", 10)).toEqual([]);
  });
});
