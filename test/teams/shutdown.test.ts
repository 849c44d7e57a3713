import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { aForm } from "../support/builders";
import { freshRequest, spawnBot, startHoldingConnector, type ChildBot, type HoldingConnector } from "../support/child-bot";
import { postActivity, storedIn, type HttpAnswer } from "../support/security";
import { execute, submitMessage } from "../support/teams";

/**
 * Stopping the bot as `npm start` runs it (src/index.ts, a process of its own) with real signals:
 * SIGTERM and SIGINT refuse new requests at once, finish those in flight, close the store and exit 0;
 * a second signal exits at once with 1. While it stops, /healthz answers 503 and /api/messages
 * refuses with 503 what reaches them (requests already on their way when the signal came: new
 * connections are refused, the listener is closed).
 */

jest.setTimeout(120_000);

const WORKSPACE = "shutdown";
let dir: string;
let file: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bot-shutdown-"));
  file = path.join(dir, "incidents.db");
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<{ bot: ChildBot; connector: HoldingConnector }> {
  const connector = await startHoldingConnector();
  cleanups.push(() => connector.close());
  const bot = await spawnBot({ SQLITE_PATH: file, WORKSPACE_ID: WORKSPACE, SHUTDOWN_TIMEOUT_MS: "60000", ...env });
  cleanups.push(() => {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill("SIGKILL");
    return bot.exited;
  });
  return { bot, connector };
}

/**
 * A create from an older client (Action.Submit): its turn, and so its HTTP request, waits for the
 * update of the card for everyone, which the holding connector holds. Resolves once it is in flight.
 */
async function createInFlight(bot: ChildBot, connector: HoldingConnector, title: string): Promise<{ answer: Promise<HttpAnswer | Error> }> {
  const before = connector.puts;
  const answer = postActivity(bot.url, submitMessage(connector.url, { verb: "incident.create", ...aForm({ title }) }, { replyToId: `card-${title}` })).catch(
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  await connector.waitForPuts(before + 1);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { answer };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A request on a connection of its own, sent but for the last byte of its body: the server has it,
 * and it reaches its handler only when `finish` sends that byte.
 */
async function unfinishedRequest(port: number, method: string, target: string, body: string) {
  const socket = net.connect(port, "127.0.0.1");
  cleanups.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let raw = Buffer.alloc(0);
  let answered = false;
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const parse = () => {
      const end = raw.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      const length = Number(headers["content-length"] ?? 0);
      const rest = raw.subarray(end + 4);
      if (rest.length < length) return;
      answered = true;
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.subarray(0, length).toString("utf8") });
    };
    socket.on("data", (chunk: Buffer) => {
      raw = Buffer.concat([raw, chunk]);
      parse();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      if (!answered) reject(new Error(`the connection closed without an answer: ${JSON.stringify(raw.toString("latin1"))}`));
    });
  });
  answer.catch(() => undefined);
  const bytes = Buffer.from(body, "utf8");
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`);
  socket.write(bytes.subarray(0, bytes.length - 1));
  return {
    /** Sends the last byte; resolves with the answer. */
    finish: () => {
      socket.write(bytes.subarray(bytes.length - 1));
      return answer;
    },
    /** Whether the socket has received anything yet. */
    received: () => raw.length,
  };
}

function integrity(): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

const stopping = (signal: string, ms: number) =>
  `${signal}: no longer accepting requests; finishing those in flight (at most ${ms} ms), then closing the store\n`;

describe.each(["SIGTERM", "SIGINT"] as const)("%s", (signal) => {
  it("refuses new connections at once, answers 503 to a request still arriving, finishes the one in flight, closes the store and exits 0", async () => {
    const { bot, connector } = await start();
    // Already sent when the signal comes, but for its last byte.
    const arriving = await unfinishedRequest(bot.port, "POST", "/api/messages", JSON.stringify(execute(connector.url, "incident.create", { ...aForm({ title: "Arriving" }) })));
    const inFlight = await createInFlight(bot, connector, "In flight");

    bot.child.kill(signal);
    await bot.waitForStderr(/no longer accepting requests/);
    expect(bot.stderr()).toBe(stopping(signal, 60000));
    await expect(freshRequest(`${bot.url}/healthz`)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    expect(arriving.received()).toBe(0);
    const refused = await arriving.finish();
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ code: "ServiceUnavailable", message: "The bot is restarting. Nothing was processed; try again in a moment." });
    expect(refused.headers.connection).toBe("close");

    // The request in flight holds the stop open.
    expect(bot.child.exitCode).toBeNull();
    connector.release();
    const answer = await inFlight.answer;
    expect(answer).not.toBeInstanceOf(Error);
    expect((answer as HttpAnswer).status).toBe(200);
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(bot.stderr()).toBe(stopping(signal, 60000));
    expect(connector.cut).toBe(0);

    // The store was closed (its write-ahead log checkpointed and removed); only the create in flight was stored.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(storedIn(file)).toMatchObject({ incidents: 1, lastNumber: 1 });
    const db = new Database(file, { readonly: true });
    try {
      const titles = db.prepare<[], { doc: string }>("SELECT doc FROM incidents").all().map((r) => (JSON.parse(r.doc) as { title: string }).title);
      expect(titles).toEqual(["In flight"]);
    } finally {
      db.close();
    }
  });

  it("exits 0 at once when nothing is in flight", async () => {
    const { bot } = await start();
    expect((await freshRequest(`${bot.url}/healthz`)).status).toBe(200);
    bot.child.kill(signal);
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(bot.stderr()).toBe(stopping(signal, 60000));
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});

describe("a second signal during the stop", () => {
  it.each([
    ["SIGTERM", "SIGTERM"],
    ["SIGINT", "SIGINT"],
    ["SIGTERM", "SIGINT"],
  ] as const)("%s then %s exits at once with 1, cutting the request in flight without half-writing it", async (first, second) => {
    const { bot, connector } = await start();
    const inFlight = await createInFlight(bot, connector, "Cut off");
    bot.child.kill(first);
    await bot.waitForStderr(/no longer accepting requests/);
    expect(bot.child.exitCode).toBeNull();

    bot.child.kill(second);
    // Exits while the connector still holds the request in flight: it did not wait for it.
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    expect(bot.stderr()).toBe(`${stopping(first, 60000)}${second} again: exiting now, without waiting for requests in flight\n`);
    expect(await inFlight.answer).toBeInstanceOf(Error);
    connector.release();

    // One SQLite transaction per create: stored whole, or not at all (here: whole, it was waiting on the card update).
    expect(integrity()).toBe("ok");
    expect(storedIn(file)).toMatchObject({ incidents: 1, lastNumber: 1 });
  });
});

describe("/healthz while stopping", () => {
  it("answers 503 with status stopping to a health check that reaches it after the signal", async () => {
    const { bot, connector } = await start();
    expect(JSON.parse((await freshRequest(`${bot.url}/healthz`)).text)).toEqual({ status: "ok", store: "sqlite", directory: "local", localMode: true });
    const check = await unfinishedRequest(bot.port, "GET", "/healthz", "{}");
    const inFlight = await createInFlight(bot, connector, "Keeps it stopping");

    bot.child.kill("SIGTERM");
    await bot.waitForStderr(/SIGTERM: no longer accepting requests/);
    // A new health check can't connect at all.
    await expect(freshRequest(`${bot.url}/healthz`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    const answer = await check.finish();
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ status: "stopping", store: "sqlite", directory: "local", localMode: true });

    connector.release();
    expect(((await inFlight.answer) as HttpAnswer).status).toBe(200);
    expect(await bot.exited).toEqual({ code: 0, signal: null });
  });

  it("does not hold the stop open once it has answered: with nothing in flight the bot exits 0 before SHUTDOWN_TIMEOUT_MS", async () => {
    // Shorter than the 5 s a kept-alive connection stays open.
    const { bot } = await start({ SHUTDOWN_TIMEOUT_MS: "4000" });
    const check = await unfinishedRequest(bot.port, "GET", "/healthz", "{}");
    // Another request, answered: the server has read the unfinished one's headers by now.
    expect((await freshRequest(`${bot.url}/healthz`)).status).toBe(200);

    bot.child.kill("SIGTERM");
    await bot.waitForStderr(/SIGTERM: no longer accepting requests/);
    const answer = await check.finish();
    expect(answer.status).toBe(503);
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(bot.stderr()).toBe(stopping("SIGTERM", 4000));
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});
