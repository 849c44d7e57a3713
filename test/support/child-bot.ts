import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TEST_SUBMISSION_SECRET } from "./teams";

const ROOT = path.resolve(__dirname, "..", "..");

export interface ChildBot {
  url: string;
  port: number;
  child: ChildProcess;
  /** Resolves when the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** What it wrote to stdout so far (its JSON log lines). */
  stdout(): string;
  /** Waits until stderr has a line matching (bounded by the test timeout). */
  waitForStderr(pattern: RegExp): Promise<void>;
}

/**
 * The bot as `npm start` runs it, in a process of its own (src/index.ts through tsx, so no build is
 * needed): a real SIGKILL or SIGTERM hits the real signal handling. PORT=0; the port is read from
 * the start-up log line, so LOG_LEVEL must let info through. No .env is read.
 */
export async function spawnBot(env: Record<string, string>): Promise<ChildBot> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "index.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_NO_WARNINGS: "1",
      DOTENV_CONFIG_PATH: path.join(os.tmpdir(), "no-such-file.env"),
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DIRECTORY_FILE: path.join(ROOT, "data", "directory.json"),
      SUBMISSION_SECRET: TEST_SUBMISSION_SECRET,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  const stderrWaiters: (() => void)[] = [];
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
    stderrWaiters.splice(0).forEach((w) => w());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === "bot listening on /api/messages" && entry.port) resolve(entry.port);
        } catch {
          // a partial line: wait for the rest
        }
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`the bot exited (${code ?? signal}) before listening:\n${err}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    waitForStderr: async (pattern) => {
      while (!pattern.test(err)) await new Promise<void>((resolve) => stderrWaiters.push(resolve));
    },
  };
}

/** A bare HTTP request on a connection of its own (no keep-alive pool), so "refused" means refused. */
export function freshRequest(url: string, method = "GET", body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: body ? { "content-type": "application/json" } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface HoldingConnector {
  url: string;
  /** Card updates (PUT) received so far. */
  puts: number;
  /** Held updates whose bot hung up before they were answered (the bot gave up on them). */
  cut: number;
  waitForPuts(count: number): Promise<void>;
  /** Answers every held request, and from now on answers at once. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A Bot Connector that holds its answers to card updates until released. A create from the card
 * (Action.Execute) is answered at once and its update for everyone stays pending after the answer;
 * a create from an old client (Action.Submit) stays in flight, its turn waiting for the update.
 */
export async function startHoldingConnector(): Promise<HoldingConnector> {
  const held: (() => void)[] = [];
  const waiters: (() => void)[] = [];
  let holding = true;
  const state = { puts: 0, cut: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      let answered = false;
      const answer = () => {
        answered = true;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ id: "activity-1" }));
      };
      if (req.method !== "PUT") return answer();
      state.puts++;
      res.on("close", () => {
        if (!answered) state.cut++;
      });
      waiters.splice(0).forEach((w) => w());
      if (holding) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    get puts() {
      return state.puts;
    },
    get cut() {
      return state.cut;
    },
    waitForPuts: async (count) => {
      while (state.puts < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    release: () => {
      holding = false;
      held.splice(0).forEach((a) => a());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
