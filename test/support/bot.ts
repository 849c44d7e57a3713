import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startApp, type App, type AppOverrides } from "../../src/app";
import type { Incident } from "../../src/incidents/model";
import type { Viewer } from "../../src/incidents/visibility";
import { startConnector, type FakeConnector } from "./connector";
import { TEST_SUBMISSION_SECRET } from "./teams";

/** A viewer who may see every incident: the tests' way to read what the bot stored. */
export const EVERYTHING: Viewer = { actor: { name: "Test" }, analyst: true, restrictedTeam: true };

export interface TestBot {
  app: App;
  connector: FakeConnector;
  /** The serviceUrl Teams-shaped activities should carry: the fake connector. */
  serviceUrl: string;
  /** POSTs an activity to /api/messages, as the Bot Connector does. */
  post(activity: unknown): Promise<{ status: number; body: any }>;
  /** What is stored, as the SOC's restricted-cases team sees it (everything): for checking what the bot wrote. */
  incidents(typed?: string, limit?: number): Promise<Incident[]>;
  /** POSTs raw bytes with a content type. */
  postRaw(body: string, contentType?: string): Promise<{ status: number; body: any }>;
  /** Resolves once the bot's work after its answers so far (updates for everyone, triage posts) has finished. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real bot, started as `npm start` starts it (config from an environment, real SQLite, the
 * sample directory file), on an ephemeral port, with a fake connector at serviceUrl.
 */
export async function startTestBot(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestBot> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bot-"));
  const connector = await startConnector();
  const app = await startApp({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    SQLITE_PATH: path.join(dir, "incidents.db"),
    DIRECTORY_FILE: path.resolve(__dirname, "..", "..", "data", "directory.json"),
    WORKSPACE_ID: "test-workspace",
    SUBMISSION_SECRET: TEST_SUBMISSION_SECRET,
    ...env,
  }, undefined, overrides);
  const postRaw = async (body: string, contentType = "application/json") => {
    const res = await fetch(`${app.url}/api/messages`, { method: "POST", headers: { "content-type": contentType }, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
  return {
    app,
    connector,
    serviceUrl: connector.url,
    post: (activity) => postRaw(JSON.stringify(activity)),
    incidents: async (typed = "", limit = 100) => (await app.service.search(typed, limit, EVERYTHING)).map((s) => s.incident),
    postRaw,
    settled: () => app.settled(),
    stop: async () => {
      await app.close();
      await connector.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment that puts the bot on a Cosmos DB endpoint (the in-process test server), in a database of its own. */
export function cosmosEnv(endpoint: string, key: string): Record<string, string> {
  return {
    STORE: "cosmos",
    COSMOS_ENDPOINT: endpoint,
    COSMOS_KEY: key,
    COSMOS_DATABASE: `db-${randomUUID()}`,
    COSMOS_CREATE_IF_MISSING: "true",
    COSMOS_ENDPOINT_DISCOVERY: "false",
  };
}
