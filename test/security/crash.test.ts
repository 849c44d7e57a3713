import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { IncidentForm } from "../../src/incidents/validation";
import { aForm } from "../support/builders";
import { visibleText } from "../support/cards";
import { freshRequest, spawnBot, startHoldingConnector } from "../support/child-bot";
import { startConnector } from "../support/connector";
import { postActivity, storedIn, tagUsageMismatches } from "../support/security";
import { execute, submitMessage } from "../support/teams";

/**
 * The bot in a process of its own, on SQLite, stopped the hard way (SIGKILL) and the polite way
 * (SIGTERM) while creates are in flight. Nothing whose confirmation reached the person may be
 * lost, nothing may be half-written, and every number stays unique.
 */

jest.setTimeout(60_000);

const WORKSPACE = "crash";
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bot-crash-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const HEADING = /^Incident INC-(\d+) created$/;

function numberIn(file: string, id: string): number | undefined {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[string, string], { n: number }>("SELECT incident_number AS n FROM incidents WHERE workspace_id = ? AND id = ?").get(WORKSPACE, id)?.n;
  } finally {
    db.close();
  }
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe("SIGKILL while creates are in flight", () => {
  const ROUNDS = 3;
  const WORKERS = 8;
  const KILL_AFTER = 30;

  it(`loses no confirmed incident over ${ROUNDS} kills with ${WORKERS} concurrent creators, and resubmissions settle the rest`, async () => {
    const file = path.join(dir, "incidents.db");
    const connector = await startConnector();
    const env = { SQLITE_PATH: file, WORKSPACE_ID: WORKSPACE, RATE_LIMIT_CREATES_PER_MINUTE: "10000", RATE_LIMIT_ACTIONS_PER_MINUTE: "10000" };
    const forms = new Map<string, IncidentForm>();
    const confirmed = new Map<string, number>();
    const unknown = new Set<string>();
    let sent = 0;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const bot = await spawnBot(env);
        let killed = false;
        let confirmedThisRound = 0;
        const worker = async (w: number) => {
          for (let i = 0; !killed; i++) {
            const form = aForm({ title: `Round ${round}, creator ${w}, form ${i}`, description: "Sent while the bot may die.", tags: `Round-${round},Creator-${w % 3}` });
            forms.set(form.submissionId, form);
            sent++;
            try {
              const res = await postActivity(bot.url, execute(connector.url, "incident.create", { ...form }));
              const number = HEADING.exec(visibleText(res.body.value)[0] ?? "")?.[1];
              if (!number) throw new Error(`unexpected answer ${res.status}: ${res.text.slice(0, 200)}`);
              confirmed.set(form.submissionId, Number(number));
              if (++confirmedThisRound >= KILL_AFTER && !killed) {
                killed = true;
                bot.child.kill("SIGKILL");
              }
            } catch (error) {
              // Cut off by the kill (the connection died, no answer came): stored or not, the person saw no
              // confirmation. An answer that came but was wrong (a 5xx, an error card) is a failure, kill or not.
              if (!killed || !connectionLost(error)) throw error;
              unknown.add(form.submissionId);
            }
          }
        };
        await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
        expect((await bot.exited).signal).toBe("SIGKILL");
      }

      // The kills did cut creates off mid-flight.
      expect(unknown.size).toBeGreaterThan(0);

      // After the last kill, before anyone resubmits: what the file holds.
      expect(integrity(file)).toBe("ok");
      const lost = [...confirmed].filter(([id, n]) => numberIn(file, id) !== n);
      expect(lost).toEqual([]);
      const afterKills = storedIn(file);
      expect(new Set(afterKills.numbers).size).toBe(afterKills.incidents);
      expect(tagUsageMismatches(file)).toEqual([]);
      const storedUnconfirmed = [...unknown].filter((id) => numberIn(file, id) !== undefined).length;
      expect(afterKills.incidents).toBe(confirmed.size + storedUnconfirmed);

      // The people whose answer never came click again: each gets exactly one incident.
      const bot = await spawnBot(env);
      try {
        for (const id of unknown) {
          const before = numberIn(file, id);
          const res = await postActivity(bot.url, execute(connector.url, "incident.create", { ...forms.get(id) }));
          const number = Number(HEADING.exec(visibleText(res.body.value)[0] ?? "")?.[1]);
          expect(number).toBeGreaterThan(0);
          if (before !== undefined) expect(number).toBe(before);
        }
      } finally {
        bot.child.kill("SIGTERM");
        expect((await bot.exited).code).toBe(0);
      }
      const final = storedIn(file);
      expect(final.incidents).toBe(confirmed.size + unknown.size);
      expect(new Set(final.numbers).size).toBe(final.incidents);
      expect(tagUsageMismatches(file)).toEqual([]);
      expect(integrity(file)).toBe("ok");
      process.stdout.write(
        `SIGKILL: ${ROUNDS} kills, ${sent} creates sent, ${confirmed.size} confirmed, ${unknown.size} cut off (${storedUnconfirmed} of them stored before the kill), confirmed incidents lost: ${lost.length}, duplicates: ${final.numbers.length - new Set(final.numbers).size}, incidents after resubmission: ${final.incidents}\n`,
      );
    } finally {
      await connector.close();
    }
  });
});

describe("SIGTERM while creates are in flight", () => {
  it("stops accepting at once, finishes every create in flight, closes the store and exits 0", async () => {
    const file = path.join(dir, "incidents.db");
    const connector = await startHoldingConnector();
    const bot = await spawnBot({ SQLITE_PATH: file, WORKSPACE_ID: WORKSPACE, SHUTDOWN_TIMEOUT_MS: "30000" });
    try {
      // From old clients (Action.Submit): each turn waits on the update for everyone, held by the connector.
      const forms = Array.from({ length: 12 }, (_, i) => aForm({ title: `In flight ${i}`, tags: `Shutdown,Batch-${i % 2}` }));
      const answers = forms.map((form, i) => postActivity(bot.url, submitMessage(connector.url, { verb: "incident.create", ...form }, { replyToId: `old-card-${i}` })));
      // Every incident is stored and every turn is still in flight.
      await connector.waitForPuts(forms.length);

      bot.child.kill("SIGTERM");
      await bot.waitForStderr(/SIGTERM: no longer accepting requests/);
      await expect(freshRequest(`${bot.url}/healthz`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      await expect(freshRequest(`${bot.url}/api/messages`, "POST", JSON.stringify(execute(connector.url, "incident.create", { ...aForm() })))).rejects.toMatchObject({ code: "ECONNREFUSED" });

      connector.release();
      expect((await Promise.all(answers)).map((r) => r.status)).toEqual(forms.map(() => 200));
      expect(await bot.exited).toEqual({ code: 0, signal: null });
      expect(connector.cut).toBe(0);
      // The store was closed: its write-ahead log was checkpointed and removed.
      expect(fs.existsSync(`${file}-wal`)).toBe(false);
      expect(storedIn(file)).toMatchObject({ incidents: 12, lastNumber: 12, tagUses: 24 });
      expect(tagUsageMismatches(file)).toEqual([]);
    } finally {
      bot.child.kill("SIGKILL");
      await connector.close();
    }
  });

  it("waits for the updates for everyone that go out after the answers before it exits", async () => {
    const file = path.join(dir, "incidents.db");
    const connector = await startHoldingConnector();
    const bot = await spawnBot({ SQLITE_PATH: file, WORKSPACE_ID: WORKSPACE, SHUTDOWN_TIMEOUT_MS: "30000" });
    try {
      // From the card (Action.Execute): answered at once; the update for everyone follows, held.
      const forms = Array.from({ length: 6 }, (_, i) => aForm({ title: `Answered ${i}` }));
      const results = await Promise.all(forms.map((form) => postActivity(bot.url, execute(connector.url, "incident.create", { ...form }))));
      for (const res of results) expect(visibleText(res.body.value)[0]).toMatch(/^Incident INC-\d+ created$/);
      await connector.waitForPuts(forms.length);

      bot.child.kill("SIGTERM");
      await bot.waitForStderr(/SIGTERM: no longer accepting requests/);
      // Nothing is in flight at the HTTP level now: a bot that did not wait for the updates would
      // exit (and hang up on them) here. This one must still be waiting after a second.
      const early = await Promise.race([bot.exited.then(() => "exited"), new Promise((resolve) => setTimeout(() => resolve("still waiting"), 1000))]);
      expect(early).toBe("still waiting");
      connector.release();
      expect(await bot.exited).toEqual({ code: 0, signal: null });
      expect(connector.cut).toBe(0);
    } finally {
      bot.child.kill("SIGKILL");
      await connector.close();
    }
  });

  it("gives up after SHUTDOWN_TIMEOUT_MS, exiting 1 without half-writing: the cut-off create is stored once and a resubmission finds it", async () => {
    const file = path.join(dir, "incidents.db");
    const connector = await startHoldingConnector();
    const env = { SQLITE_PATH: file, WORKSPACE_ID: WORKSPACE, SHUTDOWN_TIMEOUT_MS: "300" };
    const bot = await spawnBot(env);
    const form = aForm({ title: "Held until the deadline", tags: "Deadline" });
    // From an old client: the turn, and so the person's answer, waits on the connector.
    const answer = postActivity(bot.url, submitMessage(connector.url, { verb: "incident.create", ...form })).catch((error: unknown) => error);
    await connector.waitForPuts(1);
    bot.child.kill("SIGTERM");
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    expect(bot.stderr()).toMatch(/requests still in flight after 300 ms: exiting anyway/);
    // The person got no confirmation: the connection was cut.
    expect(String(await answer)).toMatch(/fetch failed/);
    connector.release();

    expect(integrity(file)).toBe("ok");
    expect(storedIn(file)).toMatchObject({ incidents: 1, lastNumber: 1, tagUses: 1 });
    const again = await spawnBot(env);
    try {
      const res = await postActivity(again.url, execute(connector.url, "incident.create", { ...form }));
      expect(visibleText(res.body.value).slice(0, 2)).toEqual(["Incident INC-1 created", expect.stringMatching(/already been submitted/)]);
    } finally {
      again.child.kill("SIGTERM");
      await again.exited;
      await connector.close();
    }
  });
});

/** fetch's own failure when the server went away mid-request (reset, refused, closed), as opposed to an answer. */
function connectionLost(error: unknown): boolean {
  // By name: Jest's sandbox has its own TypeError, not the one Node's fetch throws.
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  if (e?.name !== "TypeError" || e.message !== "fetch failed") return false;
  const code = e.cause?.code;
  return typeof code === "string" && ["ECONNRESET", "ECONNREFUSED", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"].includes(code);
}
