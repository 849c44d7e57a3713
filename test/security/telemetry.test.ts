import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { cosmosEnv } from "../support/bot";
import { spawnBot, type ChildBot } from "../support/child-bot";
import { startConnector, type FakeConnector } from "../support/connector";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { directoryData, type DirectoryDataSet } from "../support/directory-data";
import { startFakeAppInsights, type Envelope, type FakeAppInsights } from "../support/fake-app-insights";
import { TLS_CA_FILE, startFakeSentinel, type FakeSentinel } from "../support/fake-sentinel";
import { FakeGraph } from "../support/fake-graph";
import { execute, message, search, type Person } from "../support/teams";
import { until } from "../support/until";

/*
 * Telemetry that arrives, and carries nothing of an incident or a person (issue 25). The bot as `npm start` runs it, in
 * its own process, configured by its environment only: Application Insights' connection string names a local ingestion
 * endpoint (https, the test certificate), and the telemetry is sent with the managed identity's token (App Service's
 * IDENTITY_ENDPOINT, a stand-in here), as in Azure where the resource has local auth off. Its store is the Cosmos DB test
 * server, its directory Microsoft Graph (the fake, behind https), its incidents mirrored to the fake Sentinel: every kind
 * of dependency. What the exporter POSTed is searched for every word of the report and everything that names a person.
 */

jest.setTimeout(180_000);

const TELEMETRY_IDENTITY = "7d3e2a10-4c5b-4f6e-8a7b-9c0d1e2f3a4b";
const GRAPH_IDENTITY = "0b5c9a4e-1111-4222-8333-444455556666";

// Made-up words found nowhere else, so any trace of them in telemetry came from this report or these people.
const TITLE = "Quorvex ledger plinthwarble";
const DESCRIPTION = "Snarfle invoices from Brindlemoor reached Xantheus payroll";
const REPORTER: Person = { id: "29:mri-vellichor-oakhaven", name: "Vellichor Oakhaven", aadObjectId: "c0ffee00-1234-4abc-8def-0123456789ab" };
const OWNER = {
  id: "d15ea5e0-5678-4abc-9def-fedcba987654",
  displayName: "Zephyrine Quillfeather",
  mail: "zephyrine.quillfeather@contoso.com",
  userPrincipalName: "zquillfeather@contoso.com",
};
const DIRECTORY: DirectoryDataSet = { ...directoryData, users: [...directoryData.users, OWNER] };
/** Fixed by the Teams-shaped activities (test/support/teams.ts): a 1:1 chat's id, which names the chat of a person. */
const PERSONAL_CONVERSATION = "1xYzPersonalConversationId";

interface Running {
  bot: ChildBot;
  appInsights: FakeAppInsights;
  sentinel: FakeSentinel;
  connector: FakeConnector;
  /** Token requests to the managed identity endpoint: the resource and client id asked for. */
  tokenRequests: { resource: string; clientId: string | null }[];
  monitorToken: string;
  /** host:port of each dependency. */
  hosts: { cosmos: string; graph: string; sentinel: string };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function closing(server: http.Server | https.Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** Microsoft Graph over https (the bot sends tokens over https only): each request relayed to the fake Graph. */
async function startGraph(): Promise<{ graph: FakeGraph; baseUrl: string }> {
  // Started after the front, whose address is its base URL (paging links carry it).
  const started: { graph?: FakeGraph } = {};
  const tls = { cert: fs.readFileSync(TLS_CA_FILE), key: fs.readFileSync(path.resolve(__dirname, "..", "support", "tls", "test-server.key")) };
  const front = https.createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === "string" && k !== "host" && k !== "content-length")) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const graph = started.graph!;
      graph
        .fetch(`${graph.baseUrl}${req.url}`, { method: req.method ?? "GET", headers, ...(body && { body }) })
        .then(async (answer) => {
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  const port = await listen(front);
  cleanups.push(closing(front));
  const baseUrl = `https://127.0.0.1:${port}`;
  const graph = await FakeGraph.start(DIRECTORY, { baseUrl });
  started.graph = graph;
  cleanups.push(() => graph.close());
  return { graph, baseUrl };
}

async function start(extra: Record<string, string> = {}): Promise<Running> {
  const appInsights = await startFakeAppInsights();
  cleanups.push(() => appInsights.close());
  const sentinel = await startFakeSentinel();
  cleanups.push(() => sentinel.close());
  const connector = await startConnector();
  cleanups.push(() => connector.close());
  const cosmos: CosmosTestServer = await startCosmosServer();
  cleanups.push(() => cosmos.close());
  const { graph, baseUrl: graphUrl } = await startGraph();

  // App Service's managed identity endpoint: Sentinel's tokens come from the fake Sentinel (it accepts only its own),
  // Graph's is the fake Graph's, Azure Monitor's one made here that the ingestion endpoint's posts must carry.
  const monitorToken = `monitor-token-${randomUUID()}`;
  const identityHeader = randomUUID();
  const tokenRequests: Running["tokenRequests"] = [];
  const identity = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const resource = (url.searchParams.get("resource") ?? "").replace(/\/+$/, "");
    tokenRequests.push({ resource, clientId: url.searchParams.get("client_id") });
    const give = (token: string) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: "Bearer" }));
    };
    if (req.headers["x-identity-header"] !== identityHeader) {
      res.writeHead(401);
      return res.end();
    }
    if (resource === "https://monitor.azure.com") return give(monitorToken);
    if (resource === graphUrl) return give(graph.token);
    const relayed = new URL(sentinel.identityEndpoint);
    relayed.search = url.search;
    void fetch(relayed, { headers: { "X-IDENTITY-HEADER": sentinel.identityHeader } }).then(async (answer) => {
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(await answer.text());
    });
  });
  const identityPort = await listen(identity);
  cleanups.push(closing(identity));

  const bot = await spawnBot({
    ...cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY),
    ...sentinel.env(),
    IDENTITY_ENDPOINT: `http://127.0.0.1:${identityPort}/msi/token`,
    IDENTITY_HEADER: identityHeader,
    NODE_EXTRA_CA_CERTS: TLS_CA_FILE,
    DIRECTORY: "graph",
    GRAPH_BASE_URL: graphUrl,
    GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
    GRAPH_CLIENT_ID: GRAPH_IDENTITY,
    GRAPH_MANAGED_IDENTITY: "true",
    SENTINEL_SYNC_SECONDS: "1",
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.connectionString,
    APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: TELEMETRY_IDENTITY,
    // Statsbeat (the SDK's own usage counts) goes to Microsoft's endpoint, not the resource's: none here.
    APPLICATIONINSIGHTS_STATSBEAT_DISABLED: "true",
    // No cloud to detect: the VM detector would ask the instance metadata service.
    OTEL_NODE_RESOURCE_DETECTORS: "env,host,os",
    // Every trace kept (the default keeps at most 5 a second, and which ones is not for a test to guess).
    OTEL_TRACES_SAMPLER: "always_on",
    ...extra,
  });
  cleanups.push(() => {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill("SIGKILL");
    return bot.exited;
  });
  const hosts = { cosmos: new URL(cosmos.endpoint).host, graph: new URL(graphUrl).host, sentinel: new URL(sentinel.armEndpoint).host };
  return { bot, appInsights, sentinel, connector, tokenRequests, monitorToken, hosts };
}

async function post(bot: ChildBot, activity: unknown): Promise<any> {
  const res = await fetch(`${bot.url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(activity) });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/** The bot stops as App Service stops it (SIGTERM): what telemetry holds is sent before it exits. */
async function stop(bot: ChildBot): Promise<void> {
  bot.child.kill("SIGTERM");
  expect(await bot.exited).toEqual({ code: 0, signal: null });
}

/** Everything captured, as sent and with percent-escapes undone (a name may travel as Zephyrine%20Quillfeather). */
function everythingSent(appInsights: FakeAppInsights): string {
  const raw = appInsights.posts.map((p) => `${p.path}\n${p.text}`).join("\n");
  let decoded = raw;
  for (let i = 0; i < 3; i++) {
    try {
      decoded = decodeURIComponent(decoded.replace(/\+/g, " "));
    } catch {
      decoded = decoded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
  }
  return `${raw}\n${decoded}`.toLowerCase();
}

function metric(envelopes: Envelope[], name: string): Record<string, any>[] {
  return envelopes
    .filter((e) => e.data.baseType === "MetricData")
    .flatMap((e) => (e.data.baseData.metrics as { name: string }[]).filter((m) => m.name === name).map((m) => ({ ...m, properties: e.data.baseData.properties })));
}

it("sends requests, dependencies and the bot's measures with the managed identity, and nothing of a report or a person", async () => {
  const { bot, appInsights, sentinel, tokenRequests, monitorToken, connector, hosts } = await start();

  // The SOC's triage channel, where each new incident is posted (a notice to count).
  await post(bot, message(connector.url, "triage here", { from: REPORTER, where: "channel" }));
  // Sentinel is busy at the first push (a retry to count), then takes it.
  sentinel.failNext(1, { kind: "status", status: 503 }, /incidents\/[^/]+$/);
  // An analyst looks an owner up by name (Graph: $search="displayName:Zephyrine Quillf"), then files the report.
  const typeahead = await post(bot, search(connector.url, "owners", "Zephyrine Quillf", { from: REPORTER }));
  const found = (typeahead.value.results as { title: string; value: string }[]).find((r) => r.title.includes(OWNER.displayName));
  expect(found).toBeDefined();
  const id = randomUUID();
  const created = await post(
    bot,
    execute(connector.url, "incident.create", { submissionId: id, title: TITLE, description: DESCRIPTION, severity: "High", status: "New", owner: found!.value, tags: "" }, { from: REPORTER }),
  );
  expect(JSON.stringify(created)).toContain("Quorvex");
  // Mirrored to Sentinel (its owner resolved in Graph): the Sentinel and Graph dependencies, and a sync to count.
  await until("the incident in Sentinel", () => sentinel.incidents.get(id)?.properties.owner?.objectId === OWNER.id);
  await until("the sync recorded", () => !!sentinel.incidents.get(id)?.etag);
  // Teams refuses the reply to a message: an error in the turn, logged, so an exception to send.
  connector.failNext(20, 500);
  await fetch(`${bot.url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message(connector.url, `help ${TITLE}`, { from: REPORTER })) });
  await stop(bot);

  // It arrived, with the managed identity's token (the resource has local auth off), asked for the identity configured.
  expect(appInsights.posts.length).toBeGreaterThan(0);
  for (const p of appInsights.posts) expect(p.authorization).toBe(`Bearer ${monitorToken}`);
  expect(tokenRequests).toContainEqual({ resource: "https://monitor.azure.com", clientId: TELEMETRY_IDENTITY });

  const envelopes = appInsights.envelopes();
  const requests = envelopes.filter((e) => e.data.baseType === "RequestData").map((e) => e.data.baseData);
  expect(requests.map((r) => r.name)).toContain("POST /api/messages");
  const dependencies = envelopes.filter((e) => e.data.baseType === "RemoteDependencyData").map((e) => e.data.baseData);
  const called = dependencies.map((d) => String(d.data));
  expect([hosts.cosmos, hosts.graph, hosts.sentinel].filter((host) => !called.some((url) => url.includes(`//${host}/`)))).toEqual([]);

  // The exception: its type and stack frames (whatever its message said is not sent; the search below covers it).
  const exceptions = envelopes.filter((e) => e.data.baseType === "ExceptionData").flatMap((e) => e.data.baseData.exceptions as { typeName: string; message: string }[]);
  expect(exceptions.length).toBeGreaterThan(0);
  for (const exception of exceptions) expect(exception.message).toBe(exception.typeName);

  const creates = metric(envelopes, "incidents.created");
  expect(creates).toContainEqual(expect.objectContaining({ value: 1, properties: { entry_point: "form", severity: "High" } }));
  expect(metric(envelopes, "sentinel.syncs")).toContainEqual(expect.objectContaining({ properties: { outcome: "synced" } }));
  expect(metric(envelopes, "sentinel.syncs")).toContainEqual(expect.objectContaining({ properties: { outcome: "retry" } }));
  expect(metric(envelopes, "sentinel.sync_lag").length).toBeGreaterThan(0);
  expect(metric(envelopes, "notices")).toContainEqual(expect.objectContaining({ properties: { kind: "triage", outcome: "sent" } }));

  const sent = everythingSent(appInsights);
  const secrets = [
    ...TITLE.split(" "),
    ...DESCRIPTION.split(" ").filter((w) => w.length > 6),
    ...REPORTER.name.split(" "),
    REPORTER.aadObjectId!,
    REPORTER.id,
    ...OWNER.displayName.split(" "),
    OWNER.id,
    OWNER.mail,
    OWNER.userPrincipalName,
    PERSONAL_CONVERSATION,
    id,
  ];
  const leaked = secrets.filter((s) => sent.includes(s.toLowerCase()));
  expect(leaked).toEqual([]);
});

it("loads nothing of telemetry without a connection string", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "telemetry-off-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const report = path.join(dir, "modules.json");
  const preload = path.join(dir, "preload.js");
  fs.writeFileSync(
    preload,
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const bot = await spawnBot({ SQLITE_PATH: path.join(dir, "incidents.db"), NODE_OPTIONS: `--require ${preload}` });
  cleanups.push(() => {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill("SIGKILL");
    return bot.exited;
  });
  expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
  await stop(bot);
  const loaded = JSON.parse(fs.readFileSync(report, "utf8")) as string[];
  expect(loaded.some((m) => m.includes(`${path.sep}botbuilder${path.sep}`))).toBe(true);
  expect(loaded.filter((m) => /opentelemetry|monitor-opentelemetry|[\\/]src[\\/]telemetry\.ts$/.test(m))).toEqual([]);
});
