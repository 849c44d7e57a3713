import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { format } from "node:util";
import Database from "better-sqlite3";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { buildBot, startApp } from "../../src/app";
import { DirectoryUnavailableError } from "../../src/incidents/errors";
import type { Directory } from "../../src/incidents/ports";
import { IncidentService } from "../../src/incidents/service";
import { createLogger } from "../../src/log";
import { startServer, type RunningServer } from "../../src/teams/server";
import { aForm } from "../support/builders";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { startConnector, type FakeConnector } from "../support/connector";
import { startOpenIdServer } from "../support/openid";
import { APP_ID, APP_SECRET, authEnv, captureLogs, postActivity, storedIn, tagUsageMismatches } from "../support/security";
import { LOOPBACK_SERVICE_URLS } from "../../src/teams/service-urls";
import { execute, message, search, submitMessage, TEST_SUBMISSION_SECRET } from "../support/teams";

const DIRECTORY_FILE = path.resolve(__dirname, "..", "..", "data", "directory.json");
const STORE_DOWN =
  "The incident store is not answering, so nothing was saved. Everything you typed is still here: send it again in a moment.";
const DIRECTORY_DOWN = /^The directory is not answering/;

/** What a person typed into the form, all of it to come back. */
function typed(n: number) {
  const { submissionId, ...rest } = aForm();
  return {
    submissionId,
    ...rest,
    title: `Lost laptop ${n} reported at reception`,
    description: `Asset tag LT-${n}. Left in a taxi.`,
    severity: "High",
    status: "Active",
    owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
    tags: `Physical,Laptop-${n % 3}`,
    // The Defender part, filled too: kept like the rest.
    category: "Exfiltration",
    techniques: "",
    recommendedActions: "Wipe the laptop remotely.",
    impacted: "",
    impactedTyped: `LT-${n}`,
    evidenceTyped: "",
  };
}

describe("the SQLite file locked by another connection (SQLITE_BUSY_TIMEOUT_MS=50)", () => {
  let bot: TestBot;
  let holder: Database.Database;
  beforeEach(async () => {
    bot = await startTestBot({ SQLITE_BUSY_TIMEOUT_MS: "50", RATE_LIMIT_CREATES_PER_MINUTE: "1000" });
    holder = new Database(bot.app.config.SQLITE_PATH);
  });
  afterEach(async () => {
    if (holder.inTransaction) holder.exec("ROLLBACK");
    holder.close();
    await bot.stop();
  });

  it("gives every create its form back with all it held, writes nothing, and takes the same forms once the lock is gone", async () => {
    const forms = Array.from({ length: 10 }, (_, i) => typed(i + 1));
    holder.exec("BEGIN EXCLUSIVE");
    for (const form of forms) {
      const res = await bot.post(execute(bot.serviceUrl, "incident.create", form));
      expect(res.status).toBe(200);
      const card = res.body.value;
      expect(visibleText(card)).toContain(STORE_DOWN);
      const { submissionId, ...inputs } = form;
      // Nothing chosen to attach to: the form's default, a new incident.
      expect(values(card)).toEqual({ ...inputs, attachTo: "new" });
      expect(card.actions[0].data.submissionId).toBe(submissionId);
    }
    // Reading still works while another connection writes (WAL): typeahead goes on.
    expect((await bot.post(search(bot.serviceUrl, "tags", "ph"))).status).toBe(200);
    // The Action.Submit fallback gets the same treatment: the form comes back as a new message.
    bot.connector.reset();
    await bot.post(submitMessage(bot.serviceUrl, { verb: "incident.create", ...typed(99) }, { replyToId: "old-card" }));
    expect(bot.connector.updated()).toEqual([]);
    expect(visibleText(cardOf(bot.connector.sent().at(-1)))).toContain(STORE_DOWN);
    holder.exec("ROLLBACK");
    expect(storedIn(bot.app.config.SQLITE_PATH)).toEqual({ incidents: 0, numbers: [], lastNumber: 0, tagUses: 0 });

    for (const [i, form] of forms.entries()) {
      const res = await bot.post(execute(bot.serviceUrl, "incident.create", form));
      expect(visibleText(res.body.value)[0]).toBe(`Incident INC-${i + 1} created`);
    }
    const stored = storedIn(bot.app.config.SQLITE_PATH);
    // No failed attempt used up a number or counted a tag.
    expect(stored).toEqual({ incidents: 10, numbers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], lastNumber: 10, tagUses: 20 });
    expect(tagUsageMismatches(bot.app.config.SQLITE_PATH)).toEqual([]);
  });
});

/** A real directory that can be made to fail, as Microsoft Graph does when it is down. */
function switchable(inner: Directory): { directory: Directory; down: boolean } {
  const state = { down: false, directory: inner };
  state.directory = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        state.down
          ? Promise.reject(new DirectoryUnavailableError("injected: the directory is down"))
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  return state;
}

describe("the directory failing mid-request", () => {
  let dir: string;
  let connector: FakeConnector;
  let server: RunningServer;
  let store: SqliteIncidentStore;
  let directory: ReturnType<typeof switchable>;
  let file: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bot-dir-down-"));
    file = path.join(dir, "incidents.db");
    store = new SqliteIncidentStore(file);
    directory = switchable(LocalDirectory.fromFile(DIRECTORY_FILE));
    const service = new IncidentService({ store, directory: directory.directory, workspaceId: "test-workspace" });
    connector = await startConnector();
    const log = createLogger("silent");
    server = await startServer({
      port: 0,
      host: "127.0.0.1",
      maxBodyBytes: 262_144,
      botFramework: {},
      bot: buildBot({ service, log, secret: Buffer.from(TEST_SUBMISSION_SECRET), trustedServiceUrls: LOOPBACK_SERVICE_URLS }),
      trustedServiceUrls: LOOPBACK_SERVICE_URLS,
      log,
      describe: {},
    });
  });
  afterEach(async () => {
    await server.close();
    await store.close();
    await connector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (activity: unknown) => postActivity(server.url, activity);

  it("gives the form back with everything typed and a banner, writes nothing, and creates it once the directory is back", async () => {
    const form = typed(1);
    directory.down = true;
    const res = await post(execute(connector.url, "incident.create", form));
    expect(res.status).toBe(200);
    expect(visibleText(res.body.value)).toContainEqual(expect.stringMatching(DIRECTORY_DOWN));
    // The impacted people choice offers only what the directory names: none while it is down (none was chosen).
    const { submissionId, impacted, ...inputs } = form;
    expect(impacted).toBe("");
    expect(values(res.body.value)).toEqual({ ...inputs, attachTo: "new" });
    expect(storedIn(file).incidents).toBe(0);
    // Typeahead answers with nothing rather than an error.
    const owners = await post(search(connector.url, "owners", "soc"));
    expect(owners.status).toBe(200);
    expect(owners.body.value.results).toEqual([]);

    directory.down = false;
    const again = await post(execute(connector.url, "incident.create", { ...inputs, submissionId }));
    expect(visibleText(again.body.value)[0]).toBe("Incident INC-1 created");
    expect(storedIn(file)).toMatchObject({ incidents: 1, lastNumber: 1 });
  });

  it("keeps the impacted people and groups chosen while the directory is down, under their ids, and saves them once it is back", async () => {
    const group = "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01";
    const form = { ...typed(2), impacted: group };
    directory.down = true;
    const res = await post(execute(connector.url, "incident.create", form));
    expect(visibleText(res.body.value)).toContainEqual(expect.stringMatching(DIRECTORY_DOWN));
    const kept = res.body.value.body.find((b: { id?: string }) => b.id === "impacted");
    expect(kept.value).toBe(group);
    expect(kept.choices).toContainEqual({ title: `Not named by the directory now (${group})`, value: group });
    expect(storedIn(file).incidents).toBe(0);

    directory.down = false;
    const { submissionId, ...inputs } = form;
    const again = await post(execute(connector.url, "incident.create", { ...inputs, submissionId }));
    expect(visibleText(again.body.value)[0]).toBe("Incident INC-1 created");
    const stored = await store.get("test-workspace", submissionId);
    expect(stored?.entities?.find((e) => e.type === "group")).toMatchObject({ value: group, role: "impacted", name: "SOC Tier 1" });
  });
});

describe("logs at info carry no secrets, tokens or incident text", () => {
  it("keeps the app password, every bearer token and what people typed out of the logs and the console", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bot-logs-"));
    const idp = await startOpenIdServer(APP_ID, APP_SECRET);
    const connector = await startConnector();
    const logs = captureLogs("info");
    const consoleOut: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void consoleOut.push(format(...args))),
    );
    const file = path.join(dir, "incidents.db");
    const app = await startApp(
      {
        ...authEnv(idp),
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        SQLITE_PATH: file,
        SQLITE_BUSY_TIMEOUT_MS: "50",
        DIRECTORY_FILE,
        WORKSPACE_ID: "logs",
        SUBMISSION_SECRET: TEST_SUBMISSION_SECRET,
      },
      logs.logger,
    );
    const s = connector.url;
    const secrets = {
      title: "Zebra-7741 exfiltration via printer spool",
      description: "Quokka-3388: CFO's mailbox forwarded to an outside address",
      closingComment: "Narwhal-9120 confirmed by the mail team",
      tag: "Pangolin-5521",
    };
    const tokens: string[] = [];
    const token = async (options?: Parameters<typeof idp.sign>[2]) => {
      const t = await idp.sign(APP_ID, s, options);
      tokens.push(t);
      return t;
    };
    try {
      // A form opened and created, the confirmation for everyone failing at the connector.
      expect((await postActivity(app.url, message(s, "incident"), await token())).status).toBe(200);
      // (4xx: the connector client retries 5xx by itself.)
      connector.failNext(1, 403);
      const form = {
        ...aForm(),
        ...secrets,
        tags: `${secrets.tag},Mail`,
        status: "Closed",
        closing: "TruePositive.SuspiciousActivity",
      };
      const created = await postActivity(app.url, execute(s, "incident.create", form), await token());
      expect(visibleText(created.body.value)[0]).toBe("Incident INC-1 created");
      // The form sent (1), then the refused update for everyone after the answer (2).
      await connector.waitForCalls(2);
      // A reply that can't be delivered at all: the turn fails and is logged with its error.
      connector.failNext(2, 403);
      expect((await postActivity(app.url, message(s, "help"), await token())).status).toBe(500);
      // Refused tokens.
      expect((await postActivity(app.url, execute(s, "incident.create", form), await token({ key: "rogue" }))).status).toBe(401);
      expect(
        (
          await postActivity(
            app.url,
            execute(s, "incident.create", form),
            await token({ claims: { exp: Math.floor(Date.now() / 1000) - 900 } }),
          )
        ).status,
      ).toBe(401);
      // The store failing during a create.
      const holder = new Database(file);
      holder.exec("BEGIN EXCLUSIVE");
      const failed = await postActivity(
        app.url,
        execute(s, "incident.create", { ...form, submissionId: aForm().submissionId }),
        await token(),
      );
      holder.exec("ROLLBACK");
      holder.close();
      expect(visibleText(failed.body.value)).toContain(STORE_DOWN);
    } finally {
      await app.close();
      await connector.close();
      await idp.close();
      for (const spy of spies) spy.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }

    const written = `${logs.text()}\n${consoleOut.join("\n")}`;
    // The capture worked: the events above are there.
    const msgs = logs.lines().map((l) => l.msg);
    expect(msgs).toEqual(
      expect.arrayContaining([
        "incident created",
        "unhandled error in a turn",
        "dependency unavailable during create; form returned with values kept",
      ]),
    );
    expect(msgs).toContainEqual(expect.stringMatching(/could not update the card message for everyone/));
    expect(idp.issued.length).toBeGreaterThan(0);
    const forbidden = [
      APP_SECRET,
      encodeURIComponent(APP_SECRET),
      ...tokens,
      ...tokens.map((t) => t.split(".")[2]!),
      ...idp.issued,
      ...Object.values(secrets),
      "CFO's mailbox",
      TEST_SUBMISSION_SECRET,
    ];
    for (const value of forbidden) expect(written).not.toContain(value);
    process.stdout.write(
      `log check: ${logs.lines().length} log lines and ${consoleOut.length} console writes searched for ${forbidden.length} secrets: none found\n`,
    );
  });
});
