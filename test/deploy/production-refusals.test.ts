import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config";

/**
 * NODE_ENV=production never falls back to what only fits a developer's machine: local mode (no
 * MicrosoftAppId), the SQLite store, the directory file. Each refusal is the bot's own start-up
 * (src/index.ts in a process of its own), word for word, with exit code 1; each PRODUCTION_ALLOW_*
 * setting lets exactly its own fallback through.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const APP_ID = "6a3f0c57-3b1d-4c2e-9f80-00000000b07a";
const TENANT = "72f988bf-0000-4000-8000-000000000001";
const GROUP = "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a99";
const SECRET = "Zq8~a-password-that-is-never-printed";

/** Each of the three safe choices on its own, so a test can leave out exactly one. */
const BOT = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: SECRET, MicrosoftAppType: "SingleTenant", MicrosoftAppTenantId: TENANT };
const COSMOS = { STORE: "cosmos", COSMOS_ENDPOINT: "https://soc-bot.documents.azure.com:443/" };
const GRAPH = {
  DIRECTORY: "graph",
  GRAPH_TENANT_ID: TENANT,
  GRAPH_CLIENT_ID: APP_ID,
  GRAPH_CLIENT_SECRET: SECRET,
  ANALYST_GROUP_ID: GROUP,
};

const LOCAL_MODE =
  "  - MicrosoftAppId: is required with NODE_ENV=production: without it requests are not authenticated (local mode), so " +
  "anyone who reaches the bot can read and change incidents. Set MicrosoftAppId, MicrosoftAppPassword and " +
  "MicrosoftAppTenantId (the bot's Azure Bot registration), or set PRODUCTION_ALLOW_LOCAL_MODE=true if you mean it\n";
const SQLITE =
  "  - STORE: is sqlite with NODE_ENV=production: the SQLite file is lost when the container or App Service instance is " +
  "replaced (its disk is ephemeral) and a second instance can't share it. Set STORE=cosmos (Azure Cosmos DB), or set " +
  "PRODUCTION_ALLOW_SQLITE=true if SQLITE_PATH is on a disk that survives restarts and only one instance runs\n";
const SQLITE_SET = SQLITE.replace("  - STORE: ", '  - STORE (got "sqlite"): ');
const LOCAL_DIRECTORY =
  "  - DIRECTORY: is local with NODE_ENV=production: people, groups and analysts would come from DIRECTORY_FILE (the " +
  "sample directory unless you replaced it), not from Microsoft Entra ID. Set DIRECTORY=graph (see GRAPH_*), or set " +
  "PRODUCTION_ALLOW_LOCAL_DIRECTORY=true if you keep that file as your directory\n";

/** A refusal is the start-up's first step; a bot still running after this long is not refusing: it is killed, and the run fails. */
const RUN_MAX_MS = 45_000;
/** Every bot a test started and that has not exited yet: killed after each test, whatever its outcome (a hung one must not keep Jest waiting). */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** src/index.ts through tsx, as `npm start` runs it (built), until it exits (killed after RUN_MAX_MS). No .env is read. */
function runBot(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "index.ts")], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_NO_WARNINGS: "1",
        DOTENV_CONFIG_PATH: path.join(os.tmpdir(), "no-such-file.env"),
        PORT: "0",
        LOG_LEVEL: "info",
        SQLITE_PATH: path.join(os.tmpdir(), `never-opened-${process.pid}.db`),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    let killed = false;
    const deadline = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, RUN_MAX_MS);
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", (error) => {
      clearTimeout(deadline);
      child.kill("SIGKILL");
      running.delete(child);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(deadline);
      running.delete(child);
      if (killed) reject(new Error(`the bot was still running after ${RUN_MAX_MS} ms, so it was killed. stderr:\n${stderr}\nstdout:\n${stdout}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

const report = (...problems: string[]) =>
  `The configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.join("")}` +
  "See .env.example for every setting.\n";

describe("NODE_ENV=production refuses to start on a developer's fallback", () => {
  it.each([
    ["local mode (no MicrosoftAppId)", { ...COSMOS, ...GRAPH }, LOCAL_MODE],
    ["the SQLite store (STORE unset: its default)", { ...BOT, ...GRAPH }, SQLITE],
    ["the SQLite store (STORE=sqlite)", { ...BOT, ...GRAPH, STORE: "sqlite" }, SQLITE_SET],
    ["the directory file (DIRECTORY unset: its default)", { ...BOT, ...COSMOS }, LOCAL_DIRECTORY],
  ])("%s: says what to set and exits with 1, without listening or printing a secret", async (_what, env, problem) => {
    const result = await runBot({ NODE_ENV: "production", ...env });
    expect(result.stderr).toBe(report(problem));
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("bot listening");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 60_000);

  it("with nothing set at all, tells all three at once", async () => {
    const result = await runBot({ NODE_ENV: "production" });
    expect(result.stderr).toBe(report(LOCAL_MODE, SQLITE, LOCAL_DIRECTORY));
    expect(result.code).toBe(1);
  }, 60_000);
});

describe("what NODE_ENV=production still accepts", () => {
  const production = { NODE_ENV: "production" };

  it("the production shape: an app id, Cosmos DB, Microsoft Graph", () => {
    expect(loadConfig({ ...production, ...BOT, ...COSMOS, ...GRAPH })).toMatchObject({ STORE: "cosmos", DIRECTORY: "graph" });
  });

  it.each([
    ["PRODUCTION_ALLOW_LOCAL_MODE", { ...COSMOS, ...GRAPH }],
    ["PRODUCTION_ALLOW_SQLITE", { ...BOT, ...GRAPH }],
    ["PRODUCTION_ALLOW_LOCAL_DIRECTORY", { ...BOT, ...COSMOS }],
  ])("%s=true lets its own fallback through, and only that one", (allow, env) => {
    expect(loadConfig({ ...production, ...env, [allow]: "true" })[allow as "PRODUCTION_ALLOW_SQLITE"]).toBe(true);
    // The same allowance does nothing for the other two fallbacks.
    expect(() => loadConfig({ ...production, [allow]: "true" })).toThrow(/problems:\n/);
  });

  it("without NODE_ENV=production, the developer's defaults start as before (local mode, SQLite, the sample directory)", () => {
    expect(loadConfig({})).toMatchObject({ STORE: "sqlite", DIRECTORY: "local", MicrosoftAppId: undefined });
    expect(loadConfig({ NODE_ENV: "development" })).toMatchObject({ STORE: "sqlite", DIRECTORY: "local" });
  });
});
