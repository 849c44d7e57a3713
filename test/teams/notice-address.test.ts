import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import type { Incident } from "../../src/incidents/model";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import {
  ALEX,
  DIEGO,
  MEGAN,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  personToPersonChatId,
  submitActionFromMessage,
  type Person,
} from "../support/teams";
import { until } from "../support/until";

/*
 * Where a notice to a reporter goes (issue 24, finding 5): only ever the bot's own 1:1 chat with them.
 * Teams calls a chat between two people "personal" too; a report made there with the message extension
 * must not make the bot write into the chat the reporter shares with the person they reported.
 */

jest.setTimeout(120_000);

let bot: TestBot;
let dir: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "address-"));
  bot = await startTestBot({ SQLITE_PATH: path.join(dir, "incidents.db") });
});
afterEach(async () => {
  await bot.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const MEGAN_AND_DIEGO = personToPersonChatId(MEGAN, DIEGO);
const OWN_CHAT = "a:1xYzPersonalConversationId";
const opened = (person: Person) => `a:1:chat-with-${person.id}`;

async function act(verb: string, data: Record<string, unknown>, from: Person = ALEX) {
  const res = await bot.post(execute(bot.serviceUrl, verb, data, { from }));
  expect(res.status).toBe(200);
  return res.body.value;
}

/** Megan reports Diego's message with the message extension, in her 1:1 chat with Diego. */
async function reportInChatWithDiego(): Promise<Incident> {
  const payload = messagePayload({ from: { user: { userIdentityType: "aadUser", id: DIEGO.aadObjectId, displayName: DIEGO.name } } });
  const fetched = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: MEGAN, chatWith: DIEGO }));
  expect(fetched.status).toBe(200);
  const card = fetched.body.task.value.card.content;
  const sent = await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: MEGAN, chatWith: DIEGO, payload }));
  expect(sent.status).toBe(200);
  const [reported] = await bot.incidents();
  expect(reported).toBeDefined();
  return reported!;
}

/** Megan reports in her own chat with the bot. */
async function reportInOwnChat(): Promise<Incident> {
  const before = bot.connector.sent().length;
  await bot.post(message(bot.serviceUrl, "Someone called me claiming to be IT and asked for my MFA code.", { from: MEGAN }));
  const form = cardOf(bot.connector.sent()[before]);
  await act("report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
  return (await bot.incidents())[0]!;
}

/** The Ask the reporter and Add comment (shared) actions of the triage card, used as Alex. */
async function askAndShare(incident: Incident) {
  const triage = await act("triage.view", { incidentId: incident.id });
  const set = triage.body.find((b: any) => b.id === "casework");
  const ask = set.actions.find((a: any) => a.id === "askReporter").card;
  await act(ask.actions[0].verb, { ...ask.actions[0].data, questionText: "When did the call come in?" });
  const again = await act("triage.view", { incidentId: incident.id });
  const comment = again.body.find((b: any) => b.id === "casework").actions.find((a: any) => a.id === "addComment").card;
  await act(comment.actions[0].verb, { ...comment.actions[0].data, commentText: "We blocked that number.", commentShared: "true" });
}

async function settled(id: string): Promise<Incident> {
  return until("every notice sent or given up", async () => {
    const incident = (await bot.incidents()).find((i) => i.id === id)!;
    return !(incident.outbox ?? []).some((n) => n.state === "pending") && incident;
  });
}

/** The notice cards the connector took in conversation `id`. */
const noticesIn = (id: string) =>
  bot.connector.sentTo(id).map((a) => cardOf(a)).filter((card) => card.body?.[0]?.id === "reporterUpdate");

const isNotice = (call: { body: any }) => call.body?.attachments?.[0]?.content?.body?.[0]?.id === "reporterUpdate";

const sendsInto = (id: string) => bot.connector.calls.filter((c) => c.method === "POST" && c.path.includes(`/v3/conversations/${id}/`));

describe("notices to a reporter who used the message extension in a chat between two people", () => {
  it("keeps no conversation for her, and sends the question and the shared comment to her 1:1 chat with the bot, never to the chat with Diego", async () => {
    const reported = await reportInChatWithDiego();
    expect(reported.contacts?.[0]?.address).toMatchObject({ user: { id: MEGAN.id } });
    expect(reported.contacts![0]!.address).not.toHaveProperty("conversationId");

    await askAndShare(reported);
    const incident = await settled(reported.id);

    expect(incident.outbox?.map((n) => n.state)).toEqual(["sent", "sent"]);
    expect(sendsInto(MEGAN_AND_DIEGO)).toEqual([]);
    const told = noticesIn(opened(MEGAN)).map((card) => visibleText(card).join("\n"));
    expect(told).toHaveLength(2);
    expect(told[0]).toContain("When did the call come in?");
    expect(told[1]).toContain("We blocked that number.");
    // Opened as Teams opens the bot's 1:1 chat with one person.
    const creates = bot.connector.calls.filter((c) => c.method === "POST" && /\/v3\/conversations\/?$/.test(c.path));
    expect(creates.length).toBeGreaterThan(0);
    for (const create of creates) expect(create.body).toMatchObject({ isGroup: false, members: [{ id: MEGAN.id }], tenantId: expect.any(String) });
  });
});

describe("the bot's own 1:1 chat", () => {
  it("is not taken from a card's action in a chat between two people (a card the bot's extension put there)", async () => {
    const before = bot.connector.sent().length;
    await bot.post(message(bot.serviceUrl, "Someone called me claiming to be IT and asked for my MFA code.", { from: MEGAN }));
    const { submissionToken: _token, ...data } = cardOf(bot.connector.sent()[before]).actions[0].data;
    const form = cardOf(bot.connector.sent()[before]);
    const res = await bot.post(execute(bot.serviceUrl, "report.create", { ...data, ...values(form) }, { from: MEGAN, chatWith: DIEGO }));
    expect(res.status).toBe(200);
    const [reported] = await bot.incidents();
    expect(reported?.contacts?.[0]?.address).toMatchObject({ user: { id: MEGAN.id } });
    expect(reported!.contacts![0]!.address).not.toHaveProperty("conversationId");
  });


  it("is not taken from a message extension's invoke, even one that looks like it: the bot opens its chat when it has news", async () => {
    const payload = messagePayload();
    const fetched = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: MEGAN, where: "personal" }));
    const card = fetched.body.task.value.card.content;
    await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: MEGAN, where: "personal", payload }));
    const [reported] = await bot.incidents();
    expect(reported?.contacts?.[0]?.address).toMatchObject({ user: { id: MEGAN.id } });
    expect(reported!.contacts![0]!.address).not.toHaveProperty("conversationId");
    await act("triage.assign", { incidentId: reported!.id, revision: reported!.revision });
    await settled(reported!.id);
    expect(noticesIn(opened(MEGAN))).toHaveLength(1);
  });


  it("is kept when she reports there, and the notice goes there without opening a chat", async () => {
    const reported = await reportInOwnChat();
    expect(reported.contacts?.[0]?.address).toMatchObject({ conversationId: OWN_CHAT });
    await act("triage.assign", { incidentId: reported.id, revision: reported.revision });
    const incident = await settled(reported.id);
    expect(incident.outbox?.map((n) => n.state)).toEqual(["sent"]);
    expect(noticesIn(OWN_CHAT)).toHaveLength(1);
    expect(bot.connector.calls.filter((c) => c.method === "POST" && /\/v3\/conversations\/?$/.test(c.path))).toEqual([]);
  });
});

describe("a kept address Teams no longer takes", () => {
  /** Rewrites the stored contact's conversation, as an older version (or a chat since gone) left it. */
  async function keepAddress(incident: Incident, conversationId: string) {
    const store = new SqliteIncidentStore(path.join(dir, "incidents.db"));
    try {
      const stored = (await store.get("test-workspace", incident.id))!;
      const contacts = stored.contacts!.map((c) => ({ ...c, address: { ...c.address, conversationId } }));
      const outcome = await store.replace({ ...stored, contacts }, stored.revision);
      expect(outcome).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  }

  it.each([403, 404])("falls back to opening her 1:1 chat when the kept chat answers %i, and the notice is sent", async (status) => {
    bot.connector.refuse((call) => (call.path.includes(`/v3/conversations/${OWN_CHAT}/activities`) && isNotice(call) ? status : undefined));
    const reported = await reportInOwnChat();
    expect(reported.contacts?.[0]?.address).toMatchObject({ conversationId: OWN_CHAT });
    await act("triage.assign", { incidentId: reported.id, revision: reported.revision });
    const incident = await settled(reported.id);
    expect(incident.outbox?.map((n) => n.state)).toEqual(["sent"]);
    expect(sendsInto(OWN_CHAT).filter((c) => c.status === status)).toHaveLength(1);
    expect(noticesIn(opened(MEGAN))).toHaveLength(1);
  });

  it("never writes to a chat between two people kept by an older version: it opens her 1:1 chat instead", async () => {
    const reported = await reportInOwnChat();
    await keepAddress(reported, MEGAN_AND_DIEGO);
    const current = (await bot.incidents())[0]!;
    expect(current.contacts?.[0]?.address).toMatchObject({ conversationId: MEGAN_AND_DIEGO });
    await act("triage.assign", { incidentId: current.id, revision: current.revision });
    const incident = await settled(reported.id);
    expect(incident.outbox?.map((n) => n.state)).toEqual(["sent"]);
    expect(sendsInto(MEGAN_AND_DIEGO)).toEqual([]);
    expect(noticesIn(opened(MEGAN))).toHaveLength(1);
  });
});
