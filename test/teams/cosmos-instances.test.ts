import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import readline from "node:readline";
import { openCosmosStore } from "../../src/adapters/cosmos-store";
import { cosmosSettings, loadConfig } from "../../src/config";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { cardOf, input, values, visibleText } from "../support/cards";
import { startConnector, type FakeConnector } from "../support/connector";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { FaultProxy } from "../support/fault-proxy";
import { execute, message, TEST_SUBMISSION_SECRET } from "../support/teams";

/** Bot instances on Cosmos DB: the production shape, many stateless processes sharing one database. */

const ROOT = path.resolve(__dirname, "..", "..");

let cosmos: CosmosTestServer;
beforeAll(async () => {
  cosmos = await startCosmosServer();
});
afterAll(async () => {
  await cosmos.close();
});

interface BotProcess {
  url: string;
  child: ChildProcess;
}

/** Starts `src/index.ts` as its own process, as `npm start` would, and waits for its port. */
async function startBotProcess(env: Record<string, string>): Promise<BotProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "src", "index.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", SUBMISSION_SECRET: TEST_SUBMISSION_SECRET, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => reject(new Error(`bot exited with ${code}: ${stderr}`)));
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "bot listening on /api/messages" && entry.port) resolve(entry.port);
      } catch {
        // not a log line
      }
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function stopBotProcess(bot: BotProcess): Promise<void> {
  if (bot.child.exitCode !== null) return;
  const exited = new Promise((resolve) => bot.child.once("exit", resolve));
  bot.child.kill("SIGTERM");
  await exited;
}

async function post(url: string, activity: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(activity) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("two bot processes on one Cosmos DB", () => {
  let a: BotProcess;
  let b: BotProcess;
  let connector: FakeConnector;
  let env: Record<string, string>;

  beforeAll(async () => {
    connector = await startConnector();
    env = {
      ...cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY),
      WORKSPACE_ID: "shared",
      DIRECTORY_FILE: path.join(ROOT, "data", "directory.json"),
      RATE_LIMIT_CREATES_PER_MINUTE: "1000",
      RATE_LIMIT_ACTIONS_PER_MINUTE: "10000",
      // What is tested here is numbering and idempotency across instances, not latency: 260 creates at
      // once against the Cosmos test server on 2 shared cores can outlast the default 5 s budget (seen
      // when other work loaded the machine), and then the form comes back with the store-down banner.
      COSMOS_RETRY_BUDGET_MS: "30000",
      COSMOS_REQUEST_TIMEOUT_MS: "10000",
    };
    a = await startBotProcess(env);
    b = await startBotProcess(env);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a && stopBotProcess(a), b && stopBotProcess(b)]);
    await connector.close();
  });

  it("gives 200 concurrent creates unique numbers and one incident per submission, repeats included", async () => {
    const ids = Array.from({ length: 200 }, () => randomUUID());
    const create = (url: string, id: string, i: number) =>
      post(url, execute(connector.url, "incident.create", { submissionId: id, title: `Burst incident ${i}`, tags: i % 2 ? "burst,odd" : "burst" }));
    const firsts = ids.map((id, i) => create(i % 2 ? b.url : a.url, id, i));
    // The first 60 submitted again at the same time, on the other instance: a double click, a Teams retry.
    const repeats = ids.slice(0, 60).map((id, i) => create(i % 2 ? a.url : b.url, id, i));
    const answers = await Promise.all([...firsts, ...repeats]);

    const numberOf = new Map<string, number>();
    answers.forEach((answer, k) => {
      expect(answer.status).toBe(200);
      const heading = visibleText(answer.body.value)[0] ?? "";
      const number = Number(/^Incident INC-(\d+) created$/.exec(heading)?.[1]);
      if (!(number > 0)) throw new Error(`answer ${k} was not a confirmation: ${visibleText(answer.body.value).join(" / ").slice(0, 600)}`);
      const id = ids[k % 200]!;
      if (numberOf.has(id)) expect(number).toBe(numberOf.get(id));
      numberOf.set(id, number);
    });
    expect(new Set(numberOf.values()).size).toBe(200);

    const store = await openCosmosStore(cosmosSettings(loadConfig(env)));
    try {
      const stored = await store.search("shared", {}, 1000);
      expect(stored).toHaveLength(200);
      expect(new Set(stored.map((i) => i.incidentNumber)).size).toBe(200);
      for (const incident of stored) expect(incident.incidentNumber).toBe(numberOf.get(incident.id));
      const usage = await store.tagUsage("shared", "2000-01-01");
      const count = (tag: string) => usage.filter((u) => u.tag === tag).reduce((n, u) => n + u.count, 0);
      expect(count("burst")).toBe(200);
      expect(count("odd")).toBe(100);
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe("Cosmos DB failing under a running bot", () => {
  let proxy: FaultProxy;
  let bot: TestBot;

  beforeEach(async () => {
    proxy = await FaultProxy.start(cosmos.endpoint);
    bot = await startTestBot({ ...cosmosEnv(proxy.endpoint, TEST_COSMOS_KEY), COSMOS_RETRY_BUDGET_MS: "1500", COSMOS_REQUEST_TIMEOUT_MS: "400" });
  });
  afterEach(async () => {
    proxy.clear();
    await bot.stop();
    await proxy.close();
  });

  it.each([
    ["answers 503", { kind: "status", status: 503 }],
    ["answers 429", { kind: "status", status: 429, retryAfterMs: 100 }],
    ["stops answering", { kind: "stall" }],
    ["drops connections", { kind: "drop" }],
  ] as const)("gives the form back intact when Cosmos %s, and a retry later creates exactly one incident", async (_name, fault) => {
    await bot.post(message(bot.serviceUrl, "incident"));
    const form = cardOf(bot.connector.sent()[0]);
    const typed = { ...form.actions[0].data, ...values(form), title: "Store outage test", description: "Typed during an outage.", severity: "High", tags: "Outage" };

    proxy.inject(fault);
    const during = await bot.post(execute(bot.serviceUrl, "incident.create", typed));
    expect(during.status).toBe(200);
    const card = during.body.value;
    expect(visibleText(card).join("\n")).toMatch(/The incident store is not answering, so nothing was saved/);
    expect(input(card, "title").value).toBe("Store outage test");
    expect(input(card, "description").value).toBe("Typed during an outage.");
    expect(input(card, "severity").value).toBe("High");
    expect(card.actions[0].data.submissionId).toBe(typed.submissionId);

    proxy.clear();
    const health = await fetch(`${bot.app.url}/healthz`);
    expect(health.status).toBe(200);
    const after = await bot.post(execute(bot.serviceUrl, "incident.create", { ...card.actions[0].data, ...values(card) }));
    const heading = visibleText(after.body.value)[0];
    expect(heading).toMatch(/^Incident INC-\d+ created$/);
    const again = await bot.post(execute(bot.serviceUrl, "incident.create", { ...card.actions[0].data, ...values(card) }));
    expect(visibleText(again.body.value)[0]).toBe(heading);
    const all = await bot.incidents("", 10);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ title: "Store outage test", severity: "High" });
    expect(await bot.app.service.suggestTags("outage", 5)).toEqual(["Outage"]);
  }, 30_000);
});
