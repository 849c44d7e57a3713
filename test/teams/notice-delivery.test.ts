import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import type { Incident, ReporterNotice } from "../../src/incidents/model";
import { startTestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { spawnBot, type ChildBot } from "../support/child-bot";
import { startConnector, type FakeConnector } from "../support/connector";
import { ALEX, MEGAN, execute, message, type Person } from "../support/teams";
import { until } from "../support/until";

/*
 * Notices to reporters are an outbox kept with each incident: written with the change, sent after the
 * answer, retried from the store. These tests stop the bot for real (SIGKILL) and throttle it.
 */

async function post(url: string, activity: unknown) {
  const res = await fetch(`${url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(activity) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Reports in Megan's chat, then assigns and activates it as Alex: two notices for Megan. */
async function reportAndWork(url: string, connector: FakeConnector, words: string): Promise<string> {
  const before = connector.calls.length;
  await post(url, message(connector.url, words, { from: MEGAN }));
  const form = cardOf(connector.calls.slice(before).find((c) => c.method === "POST" && !isNotice(c))!.body);
  const created = await post(url, execute(connector.url, "report.create", { ...form.actions[0].data, ...values(form) }, { from: MEGAN }));
  const ref = /INC-\d+/.exec(JSON.stringify(created.body))![0];
  const find = await post(url, execute(connector.url, "triage.assign", { incidentId: form.actions[0].data.submissionId, revision: 1 }, { from: ALEX }));
  expect(find.status).toBe(200);
  const edit = await post(url, execute(connector.url, "triage.edit", { incidentId: form.actions[0].data.submissionId }, { from: ALEX }));
  const editForm = edit.body.value;
  await post(url, execute(connector.url, "incident.update", { ...editForm.actions[0].data, ...values(editForm), status: "Active" }, { from: ALEX }));
  return ref;
}

/** A notice to a reporter (the card sent in their chat). */
const isNotice = (call: { method: string; body: any }) =>
  call.method === "POST" && call.body?.attachments?.[0]?.content?.body?.[0]?.id === "reporterUpdate";

function updatesTo(connector: FakeConnector, person: Person): string[] {
  return connector.calls
    .filter((c) => c.method === "POST" && c.status === 200 && c.body?.recipient?.id === person.id && c.body?.attachments)
    .map((c) => cardOf(c.body))
    .filter((card) => card.body?.[0]?.id === "reporterUpdate")
    .map((card) => JSON.stringify(card.body.slice(1)));
}

function readAll(file: string): Promise<Incident[]> {
  const store = new SqliteIncidentStore(file);
  return store.search("test-workspace", {}, 100).finally(() => store.close());
}

describe("notices to reporters across a crash", () => {
  let dir: string;
  let connector: FakeConnector;
  let bot: ChildBot | undefined;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notices-"));
    connector = await startConnector();
  });
  afterEach(async () => {
    if (bot && bot.child.exitCode === null) {
      bot.child.kill("SIGKILL");
      await bot.exited;
    }
    await connector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("delivers every notice still pending when the bot was killed, after the restart, and none twice", async () => {
    const env = { SQLITE_PATH: path.join(dir, "incidents.db"), WORKSPACE_ID: "test-workspace", NOTICE_SWEEP_SECONDS: "1", RATE_LIMIT_ACTIONS_PER_MINUTE: "1000" };
    // This instance tries each notice once, after its answer, and never sweeps: none is claimed when it dies.
    bot = await spawnBot({ ...env, NOTICE_SWEEP_SECONDS: "3600" });
    // Teams does not take the notices (the 1:1 sends answer 400): they stay pending, due again later.
    const pending = async () => (await readAll(env.SQLITE_PATH)).flatMap((i) => (i.outbox ?? []).filter((n) => n.state === "pending"));
    connector.refuse((call) => (isNotice(call) ? 400 : undefined));
    await reportAndWork(bot.url, connector, "A caller asked for my MFA code");
    await reportAndWork(bot.url, connector, "A stranger followed me through the door");
    await until("every notice tried once", async () => !(await pending()).some((n) => n.attempts === 0));
    const before = await pending();
    expect(before).toHaveLength(4);
    expect(updatesTo(connector, MEGAN)).toHaveLength(0);

    bot.child.kill("SIGKILL");
    await bot.exited;
    connector.refuse(undefined);
    bot = await spawnBot(env);
    // Any activity lets the new instance sweep; the notices' retry time comes within seconds.
    await until(
      "every notice sent after the restart",
      async () => {
        if ((await pending()).length === 0) return true;
        await post(bot!.url, message(connector.url, "help", { from: ALEX, where: "channel" }));
        return false;
      },
      60_000,
      200,
    );
    expect(await pending()).toEqual([]);
    const told = updatesTo(connector, MEGAN);
    expect(told).toHaveLength(4);
    expect(new Set(told).size).toBe(4);
    const stored = (await readAll(env.SQLITE_PATH)).flatMap((i) => i.outbox ?? []);
    expect(stored.map((n) => n.state)).toEqual(["sent", "sent", "sent", "sent"]);
  }, 120_000);
});

describe("Teams throttling", () => {
  it("waits as long as Teams' Retry-After says before sending a notice again", async () => {
    const bot = await startTestBot();
    try {
      const before = bot.connector.sent().length;
      await bot.post(message(bot.serviceUrl, "A caller asked for my MFA code", { from: MEGAN }));
      const form = cardOf(bot.connector.sent()[before]);
      await bot.post(execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...values(form) }, { from: MEGAN }));
      const id = form.actions[0].data.submissionId as string;
      // More 429s than the Bot Framework client retries by itself: the notice comes back to the outbox.
      bot.connector.failNext(0, 429, 1);
      bot.connector.refuse((call) => (isNotice(call) ? 429 : undefined));
      await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: id, revision: 1 }, { from: ALEX }));
      const notice: ReporterNotice = await until("the notice's first try recorded", async () => {
        const first = (await bot.app.service.get(id))?.outbox?.[0];
        return first && first.attempts > 0 ? first : undefined;
      });
      // The Bot Framework client tried again after each Retry-After (1 s) before giving up...
      const tries = bot.connector.calls.filter(isNotice);
      expect(tries.length).toBeGreaterThan(1);
      for (let i = 1; i < tries.length; i++) expect(tries[i]!.at - tries[i - 1]!.at).toBeGreaterThanOrEqual(990);
      // ...and then the notice stays in the outbox, due again after the last Retry-After.
      expect(notice).toMatchObject({ state: "pending", attempts: 1, lastError: "Teams answered HTTP 429" });
      expect(Date.parse(notice?.dueUtc ?? "") - Date.parse(notice?.updatedUtc ?? "")).toBe(1_000);
      bot.connector.refuse(undefined);
    } finally {
      await bot.stop();
    }
  }, 120_000);
});
