import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CosmosClient } from "@azure/cosmos";
import { stage } from "../../scripts/stage";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { message } from "../support/teams";
import { appSettings, literal } from "./bicep";

/**
 * The bot as production runs it: `npm run stage`'s steps into a temporary folder (tsc, then
 * `npm ci --omit=dev`, as the Dockerfile), started with `node dist/index.js` there, with exactly the app
 * settings infra/azure.bicep gives it. Cosmos DB is @vercel/cosmosdb-server over https, reached as App
 * Service's managed identity (a stand-in of its IDENTITY_ENDPOINT hands out the token).
 *
 * npm ci runs --offline (from npm's cache, which `npm ci` of the project has filled) and --ignore-scripts
 * (better-sqlite3 is not compiled: STORE=cosmos never loads it; compiling it takes minutes on 2 cores).
 */

const TENANT = "72f988bf-0000-4000-8000-000000000001";
const IDENTITY_CLIENT_ID = "0c6d6a34-1111-4222-8333-444455556666";
/** The deployment's only credentials: App Service's identity header and the tokens it hands out. */
const IDENTITY_HEADER = "identity-header-of-the-test";
const TOKEN = "token-of-the-managed-identity";

let dir: string;
let cosmos: CosmosTestServer;
let identity: http.Server;
const tokenRequests: URL[] = [];
let bot: ChildProcess;
let url: string;
let stderr = "";
let stdout = "";
let exited: Promise<number | null>;

/** Values for the settings whose Bicep value is a parameter or a resource property. */
function azureValues(endpoint: string): Record<string, string> {
  return {
    WORKSPACE_ID: "default",
    // The bot is the user-assigned identity (MicrosoftAppType=UserAssignedMSI): no password.
    MicrosoftAppId: IDENTITY_CLIENT_ID,
    MicrosoftAppTenantId: TENANT,
    ALLOWED_TENANT_IDS: TENANT,
    COSMOS_ENDPOINT: endpoint,
    COSMOS_MANAGED_IDENTITY_CLIENT_ID: IDENTITY_CLIENT_ID,
    COSMOS_DATABASE: "soc-incident-bot",
    COSMOS_CONTAINER: "incidents",
    GRAPH_TENANT_ID: TENANT,
    GRAPH_CLIENT_ID: IDENTITY_CLIENT_ID,
    ANALYST_GROUP_ID: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a99",
    ANALYSTS_ARE_EVERYONE: "false",
    RESTRICTED_GROUP_ID: "",
    // App Service's, not read by the bot.
    APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000",
    APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: IDENTITY_CLIENT_ID,
  };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "soc-bot-stage-"));
  const app = stage({ outDir: path.join(dir, "app"), npmArgs: ["--offline", "--ignore-scripts"], stdio: "pipe" });

  cosmos = await startCosmosServer({ https: true });
  const caFile = path.join(dir, "cosmos-ca.pem");
  fs.writeFileSync(caFile, cosmos.ca!);
  // What the Bicep makes: the database and the container (the bot may not create them: COSMOS_CREATE_IF_MISSING=false).
  const admin = new CosmosClient({
    endpoint: cosmos.endpoint,
    key: TEST_COSMOS_KEY,
    agent: new https.Agent({ ca: cosmos.ca }),
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  const { database } = await admin.databases.createIfNotExists({ id: "soc-incident-bot" });
  await database.containers.createIfNotExists({ id: "incidents", partitionKey: { paths: ["/workspaceId"] } });

  // App Service's managed identity endpoint (IDENTITY_ENDPOINT, X-IDENTITY-HEADER, api-version 2019-08-01).
  identity = http.createServer((req, res) => {
    const asked = new URL(req.url ?? "/", "http://127.0.0.1");
    tokenRequests.push(asked);
    if (req.headers["x-identity-header"] !== IDENTITY_HEADER) {
      res.writeHead(401);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        access_token: TOKEN,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource: asked.searchParams.get("resource"),
        token_type: "Bearer",
        client_id: asked.searchParams.get("client_id"),
      }),
    );
  });
  await new Promise<void>((resolve) => identity.listen(0, "127.0.0.1", resolve));

  const env: Record<string, string> = {};
  const values = azureValues(cosmos.endpoint);
  const unknown: string[] = [];
  for (const setting of appSettings()) {
    const value = literal(setting.value) ?? values[setting.name];
    if (setting.name.startsWith("SENTINEL_")) continue; // only with a Sentinel workspace: not this deployment
    if (value === undefined) unknown.push(setting.name);
    else env[setting.name] = value;
  }
  if (unknown.length) throw new Error(`infra/azure.bicep sets ${unknown.join(", ")}: give this test a value for each`);

  bot = spawn(process.execPath, ["--enable-source-maps", "dist/index.js"], {
    cwd: app,
    env: {
      PATH: process.env.PATH ?? "",
      ...env,
      // What App Service provides, and what the test server needs.
      PORT: "0",
      HOST: "127.0.0.1",
      IDENTITY_ENDPOINT: `http://127.0.0.1:${(identity.address() as AddressInfo).port}/msi/token`,
      IDENTITY_HEADER,
      NODE_EXTRA_CA_CERTS: caFile,
      COSMOS_ENDPOINT_DISCOVERY: "false",
      // Not App Service's: the Cosmos test server shares 2 cores with the rest of the suite, and its first
      // answers over https can take longer than the default 5 s budget (seen in CI under load).
      COSMOS_RETRY_BUDGET_MS: "30000",
      COSMOS_REQUEST_TIMEOUT_MS: "10000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  bot.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  exited = new Promise((resolve) => bot.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    bot.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const listening = /"port":(\d+)[^\n]*"msg":"bot listening on \/api\/messages"/.exec(stdout);
      if (listening) resolve(Number(listening[1]));
    });
    void exited.then((code) => reject(new Error(`the bot exited (${code}) before listening:\n${stderr}\n${stdout}`)));
  });
  url = `http://127.0.0.1:${port}`;
}, 240_000);

afterAll(async () => {
  if (bot && bot.exitCode === null) bot.kill("SIGKILL");
  await cosmos?.close();
  await new Promise<void>((resolve) => (identity ? identity.close(() => resolve()) : resolve()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the staged bot with the Bicep's settings", () => {
  it("has only production dependencies and the card templates next to dist/", () => {
    const app = path.join(dir, "app");
    expect(fs.existsSync(path.join(app, "node_modules", "botbuilder"))).toBe(true);
    expect(fs.existsSync(path.join(app, "node_modules", "jest"))).toBe(false);
    expect(fs.existsSync(path.join(app, "node_modules", "typescript"))).toBe(false);
    expect(fs.existsSync(path.join(app, "cards", "incident-form.json"))).toBe(true);
  });

  it("answers /healthz: Cosmos DB, Microsoft Graph, not local mode", async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", store: "cosmos", directory: "graph", localMode: false });
  });

  it("reached Cosmos DB as the user-assigned managed identity (no key)", () => {
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests.map((u) => u.searchParams.get("client_id"))).toContain(IDENTITY_CLIENT_ID);
  });

  it("refuses an activity without a Bot Framework token", async () => {
    const res = await fetch(`${url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message("https://smba.trafficmanager.net/amer/", "incident")),
    });
    expect(res.status).toBe(401);
  });

  it("stops with exit code 0 on SIGTERM (node itself gets the signal), without printing a credential", async () => {
    bot.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("SIGTERM: no longer accepting requests");
    expect(stdout + stderr).not.toContain(IDENTITY_HEADER);
    expect(stdout + stderr).not.toContain(TOKEN);
  });
});
