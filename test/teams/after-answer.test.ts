import fs from "node:fs";
import path from "node:path";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { ALEX, execute, message } from "../support/teams";

/*
 * Work that goes on after the answer (the card update everyone sees, the post in the triage channel)
 * is tracked: a stop waits for it instead of cutting it off.
 */

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot();
});
afterEach(async () => {
  await bot.connector.close();
  fs.rmSync(path.dirname(bot.app.config.SQLITE_PATH), { recursive: true, force: true });
});

const SLOW_MS = 1500;

it("a stop right after a create waits for the card update and the triage post, and records the post", async () => {
  await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
  bot.connector.reset();
  await bot.post(message(bot.serviceUrl, "incident", { from: ALEX }));
  const form = cardOf(bot.connector.sent()[0]);
  bot.connector.reset();
  bot.connector.answerAfter(SLOW_MS);

  const data = { ...form.actions[0].data, ...values(form), title: "Laptop stolen from a car" };
  const answered = await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: ALEX, replyToId: "form-message" }));
  expect(answered.status).toBe(200);
  // The person has their answer; the connector has not yet answered the work that followed it.
  expect(bot.connector.calls.every((c) => !c.answered)).toBe(true);

  await bot.app.close();
  const update = bot.connector.calls.find((c) => c.method === "PUT" && c.path.endsWith("/activities/form-message"));
  const post = bot.connector.calls.find((c) => c.method === "POST" && c.path.includes("soc-triage"));
  expect(update?.answered).toBe(true);
  expect(post?.answered).toBe(true);

  const store = new SqliteIncidentStore(bot.app.config.SQLITE_PATH);
  try {
    const [stored] = await store.search("test-workspace", { number: 1 }, 1);
    expect(stored?.triage).toMatchObject({ state: "posted", attempts: 1 });
  } finally {
    await store.close();
  }
});
