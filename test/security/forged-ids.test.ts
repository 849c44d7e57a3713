import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startApp } from "../../src/app";
import { messageIncidentId } from "../../src/teams/message-source";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { startConnector } from "../support/connector";
import {
  ALEX,
  DIEGO,
  MEGAN,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  submitActionFromMessage,
  type Person,
} from "../support/teams";
import { until } from "../support/until";

/*
 * Ids a client sends are checked, never trusted: a form carries its id with a token the server made
 * for the person and the conversation it showed the form to; evidence carried in a dialog's data has
 * a token of its own. Replayed, borrowed, guessed or made-up ids and evidence reach nobody's incident.
 */

const NOT_ISSUED = /opened by someone else or in another conversation, so it was not sent/;
const text = (body: unknown) => JSON.stringify(body ?? "").replace(/\u200b/g, "");

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot();
});
afterEach(async () => {
  await bot.stop();
});

async function formFor(from: Person, words = "incident", where?: "personal" | "groupChat" | "channel") {
  bot.connector.reset();
  await bot.post(message(bot.serviceUrl, words, { from, ...(where && { where }) }));
  return cardOf(bot.connector.sent()[0]);
}

const sent = (card: Record<string, any>, typed: Record<string, string>) => ({ ...card.actions[0].data, ...values(card), ...typed });

it("someone else's form comes back to the sender as they typed it, on a form of their own; the owner's form still works", async () => {
  const megans = await formFor(MEGAN, "Someone asked for my password on the phone");
  const borrowed = sent(megans, { title: "Diego's words", whatHappened: "DIEGO-TYPED" });
  const res = await bot.post(execute(bot.serviceUrl, "report.create", borrowed, { from: DIEGO }));
  const back = res.body.value;
  expect(visibleText(back).join("\n")).toMatch(NOT_ISSUED);
  expect(values(back)).toMatchObject({ title: "Diego's words", whatHappened: "DIEGO-TYPED" });
  // A form of his own: a new id, with a token that now works for him.
  const newId = back.actions[0].data.submissionId;
  expect(newId).not.toBe(borrowed.submissionId);
  // Nothing happened, also after the answer (where the update for everyone would go out).
  await bot.settled();
  expect(await bot.incidents()).toHaveLength(0);
  expect(bot.connector.updated()).toEqual([]);
  const his = await bot.post(execute(bot.serviceUrl, "report.create", sent(back, {}), { from: DIEGO }));
  expect(visibleText(his.body.value)[0]).toBe("Thank you. Your report is INC-1");

  const hers = await bot.post(execute(bot.serviceUrl, "report.create", sent(megans, {}), { from: MEGAN }));
  expect(visibleText(hers.body.value)[0]).toBe("Thank you. Your report is INC-2");
  const stored = await bot.incidents();
  expect(stored.map((i) => i.createdBy.name).sort()).toEqual(["Diego Siciliani", "Megan Bowen"]);
});

it("a replayed form of someone else's incident shows nothing of it and changes nothing", async () => {
  const megans = await formFor(MEGAN, "An odd payment request from my manager");
  const words = `MEGAN-${randomUUID().slice(0, 8)}`;
  await bot.post(execute(bot.serviceUrl, "report.create", sent(megans, { whatHappened: words }), { from: MEGAN }));
  const before = await bot.incidents();
  for (const verb of ["report.create", "incident.create"]) {
    const res = await bot.post(execute(bot.serviceUrl, verb, sent(megans, { whatHappened: "x", title: "x" }), { from: DIEGO, replyToId: "megans-card" }));
    expect(text(res.body)).not.toContain(words);
    expect(text(res.body)).not.toContain("INC-1");
    expect(text(res.body)).not.toContain("Megan");
  }
  // Nothing happened, also after the answers (where the update for everyone would go out).
  await bot.settled();
  expect(await bot.incidents()).toEqual(before);
  // Nothing was written over the card Megan's form was in.
  expect(bot.connector.updated().filter((u) => u.id === "megans-card")).toEqual([]);
});

it("a form used in another conversation than the one it was shown in is refused", async () => {
  const personal = await formFor(ALEX, "incident", "personal");
  const res = await bot.post(execute(bot.serviceUrl, "incident.create", sent(personal, { title: "Moved" }), { from: ALEX, where: "groupChat" }));
  expect(visibleText(res.body.value).join("\n")).toMatch(NOT_ISSUED);
  await bot.settled();
  expect(await bot.incidents()).toHaveLength(0);
  expect(bot.connector.updated()).toEqual([]);
});

it("a made-up token, or none, is refused", async () => {
  const form = await formFor(ALEX);
  for (const submissionToken of ["", "A".repeat(43), `${form.actions[0].data.submissionToken}x`]) {
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", { ...sent(form, { title: "Forged" }), submissionToken }));
    expect(visibleText(res.body.value).join("\n")).toMatch(NOT_ISSUED);
  }
  await bot.settled();
  expect(await bot.incidents()).toHaveLength(0);
  expect(bot.connector.updated()).toEqual([]);
});

it("a guessed message id with a made-up token never adds to, or shows, the message's incident", async () => {
  const payload = messagePayload();
  const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: MEGAN }));
  const card = open.body.task.value.card.content;
  const words = `FIRST-${randomUUID().slice(0, 8)}`;
  await bot.post(submitActionFromMessage(bot.serviceUrl, sent(card, { whatHappened: words }), { from: MEGAN, payload }));
  // Everyone in the chat knows the workspace, the conversation and the message id.
  const guessed = messageIncidentId("test-workspace", "19:facilities@thread.tacv2", payload.id);
  expect(guessed).toBe(card.actions[0].data.submissionId);
  const res = await bot.post(
    execute(bot.serviceUrl, "report.create", { submissionId: guessed, submissionToken: "made-up", title: "mine now", whatHappened: "pre-empted" }, { from: DIEGO }),
  );
  expect(visibleText(res.body.value).join("\n")).toMatch(NOT_ISSUED);
  expect(text(res.body)).not.toContain(words);
  const [stored] = await bot.incidents();
  expect(stored!.description).toContain(words);
  expect(stored!.reports).toBeUndefined();
});

it("evidence carried in a dialog's data counts only as the server signed it", async () => {
  const payload = messagePayload();
  const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: ALEX }));
  const card = open.body.task.value.card.content;
  const data = sent(card, {});
  expect(data.evidence.author.name).toBe("Megan Bowen");
  // Teams did not send the message again: the dialog's own data is all there is.
  const forged = { ...data, evidence: { ...data.evidence, author: { kind: "user", name: "The CEO" } } };
  const refused = await bot.post(submitActionFromMessage(bot.serviceUrl, forged, { from: ALEX }));
  expect(refused.body.task).toEqual({ type: "message", value: expect.stringMatching(/lost track of the message/) });
  expect(await bot.incidents()).toHaveLength(0);

  const kept = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX }));
  expect(kept.body).toEqual({});
  const [stored] = await bot.incidents();
  expect(stored!.evidence?.[0]?.author.name).toBe("Megan Bowen");
});

it("without SUBMISSION_SECRET, instances on one store share the secret they keep there: a form from one is taken by the other", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shared-secret-"));
  const connector = await startConnector();
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    SQLITE_PATH: path.join(dir, "incidents.db"),
    DIRECTORY_FILE: path.resolve(__dirname, "..", "..", "data", "directory.json"),
  };
  const a = await startApp(env);
  const b = await startApp(env);
  try {
    await fetch(`${a.url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message(connector.url, "incident")) });
    const form = cardOf(connector.sent()[0]);
    const data = { ...sent(form, { title: "Opened on A, sent to B" }) };
    const res = await fetch(`${b.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(execute(connector.url, "incident.create", data)),
    });
    const body = (await res.json()) as { value: Record<string, unknown> };
    expect(visibleText(body.value)[0]).toBe("Incident INC-1 created");
  } finally {
    await a.close();
    await b.close();
    await connector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("a card update goes only to the incident's own message, whatever replyToId says", async () => {
  const form = await formFor(ALEX);
  const data = sent(form, { title: "Laptop left in a taxi" });
  await bot.post(execute(bot.serviceUrl, "incident.create", data, { replyToId: "the-form" }));
  // The same form clicked again, claiming to be in another message: that message is left alone.
  await bot.post(execute(bot.serviceUrl, "incident.create", data, { replyToId: "someone-elses-card" }));
  await bot.post(execute(bot.serviceUrl, "incident.create", data, { replyToId: "the-form" }));
  // Stopping waits for the updates sent after the answers.
  const stopped = bot;
  await stopped.stop();
  bot = await startTestBot();
  expect(stopped.connector.updated().map((u) => u.id)).toEqual(["the-form", "the-form"]);
});

it("a triage button names the triage post to update; any other message is left alone", async () => {
  await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
  const form = await formFor(ALEX);
  await bot.post(execute(bot.serviceUrl, "incident.create", sent(form, { title: "Phish" })));
  const stored = await until("the triage post recorded", async () => {
    const incident = (await bot.incidents())[0];
    return incident?.triage?.messageId ? incident : undefined;
  });
  const before = bot.connector.updated().length;
  const res = await bot.post(
    execute(bot.serviceUrl, "triage.assign", { incidentId: stored.id, revision: stored.revision }, { from: ALEX, replyToId: "the-ceos-card" }),
  );
  expect(visibleText(res.body.value).join("\n")).toMatch(/Assigned to Alex Wilber \(Teams\) by Alex Wilber/);
  const again = (await bot.incidents())[0]!;
  await bot.post(
    execute(bot.serviceUrl, "triage.assign", { incidentId: again.id, revision: again.revision }, { from: ALEX, replyToId: stored.triage!.messageId }),
  );
  const stopped = bot;
  await stopped.stop();
  bot = await startTestBot();
  // Both changes redraw the triage post (the second as the clicked message, the first as the incident's
  // own message a click elsewhere changed); the message the first click named is never touched.
  const updated = stopped.connector.updated().slice(before).map((u) => u.id);
  expect(updated).toEqual([stored.triage!.messageId, stored.triage!.messageId]);
  expect(updated).not.toContain("the-ceos-card");
}, 120_000);

it("Assign to me without the revision the card showed is refused, so it never skips the concurrency check", async () => {
  const form = await formFor(ALEX);
  await bot.post(execute(bot.serviceUrl, "incident.create", sent(form, { title: "Phish" })));
  const [stored] = await bot.incidents();
  const res = await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: stored!.id }, { from: ALEX }));
  expect(res.status).toBe(400);
  expect(res.body.value.message).toMatch(/revision/);
  expect((await bot.incidents())[0]!.owner).toBeUndefined();
});
