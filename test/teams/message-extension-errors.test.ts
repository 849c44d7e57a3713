import { StoreUnavailableError } from "../../src/incidents/errors";
import type { IncidentStore } from "../../src/incidents/ports";
import { startTestBot, type TestBot } from "../support/bot";
import { aForm } from "../support/builders";
import { values } from "../support/cards";
import { storedIn } from "../support/security";
import { ALEX, MEGAN, composeQuery, execute, fetchTaskFromMessage, messagePayload, submitActionFromMessage } from "../support/teams";

/**
 * The message extension when something is wrong: a command it does not have, a message Teams did
 * not send, a dialog whose evidence was changed or lost on the way back, the store down during Find
 * incident. Each gets words a person can act on, and nothing is written.
 */

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot();
});
afterEach(async () => {
  await bot.stop();
});

const LOST = "This dialog lost track of the message it was opened on. Close it and use Create incident on the message again.";
const NOT_SENT = "Teams did not send the message to report. Try again from the message's menu.";
const STORE_DOWN = "The incident store is not answering. Try again in a moment.";
const NOTHING = { incidents: 0, numbers: [], lastNumber: 0, tagUses: 0 };

/** What the SQLite file holds. */
const stored = () => storedIn(bot.app.config.SQLITE_PATH);
/** What the bot sent to, or changed in, the conversation. */
const posted = () => bot.connector.calls.filter((c) => c.method === "POST" || c.method === "PUT");

/** The data the dialog opened on `payload` sends back when submitted untouched (as `from` saw it). */
async function dialogData(from = ALEX, payload = messagePayload()): Promise<Record<string, any>> {
  const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from }));
  expect(open.body.task.type).toBe("continue");
  const card = open.body.task.value.card.content;
  return { ...card.actions[0].data, ...values(card) };
}

describe("a command the message extension does not have", () => {
  it("opening it answers that the command is unknown, naming at most 60 characters of it", async () => {
    const activity = fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX });
    const value = activity.value as Record<string, unknown>;
    const res = await bot.post({ ...activity, value: { ...value, commandId: "deleteAllIncidents" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task: { type: "message", value: 'Unknown command "deleteAllIncidents".' } });

    const long = await bot.post({ ...activity, value: { ...value, commandId: `c${"x".repeat(99)}` } });
    expect(long.body).toEqual({ task: { type: "message", value: `Unknown command "c${"x".repeat(59)}".` } });
    expect(stored()).toEqual(NOTHING);
    expect(posted()).toEqual([]);
  });

  it("searching with it answers that the command is unknown and shows no incident", async () => {
    // An incident a search would find.
    const data = await dialogData();
    await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX, payload: messagePayload() }));
    expect(stored().incidents).toBe(1);

    const query = composeQuery(bot.serviceUrl, "INC-1", { from: ALEX });
    const res = await bot.post({ ...query, value: { ...query.value, commandId: "findEverything" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ composeExtension: { type: "message", text: 'Unknown command "findEverything".' } });
  });

  it("submitting a dialog with it answers that the command is unknown and creates nothing", async () => {
    const data = await dialogData();
    const activity = submitActionFromMessage(bot.serviceUrl, data, { from: ALEX, payload: messagePayload() });
    bot.connector.reset();
    const res = await bot.post({ ...activity, value: { ...activity.value, commandId: "deleteAllIncidents" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task: { type: "message", value: 'Unknown command "deleteAllIncidents".' } });
    expect(stored()).toEqual(NOTHING);
    expect(posted()).toEqual([]);
  });
});

describe("Create incident when Teams did not send the message", () => {
  it.each([
    ["no messagePayload at all (opened from the compose box)", undefined],
    ["a messagePayload without an id", { ...messagePayload(), id: undefined }],
    ["a messagePayload with an empty id", messagePayload({ id: "" })],
    ["a messagePayload that is text", "Door 3 badge reader logged an entry"],
    ["a messagePayload whose body is not an object", messagePayload({ body: "<p>hi</p>" })],
  ])("answers with %s that Teams did not send the message, and writes nothing", async (_, payload) => {
    const activity = fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX });
    const { messagePayload: _dropped, ...value } = activity.value as Record<string, unknown>;
    const res = await bot.post({ ...activity, value: payload === undefined ? { ...value, commandContext: "compose" } : { ...value, messagePayload: payload } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task: { type: "message", value: NOT_SENT } });
    expect(stored()).toEqual(NOTHING);
    expect(posted()).toEqual([]);
  });

  it("answers an employee the same way", async () => {
    const activity = fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: MEGAN });
    const { messagePayload: _dropped, ...value } = activity.value as Record<string, unknown>;
    const res = await bot.post({ ...activity, value });
    expect(res.body).toEqual({ task: { type: "message", value: NOT_SENT } });
    expect(stored()).toEqual(NOTHING);
  });
});

describe("a dialog whose message evidence was changed or lost on the way back", () => {
  // Teams does not always send the message again with the dialog's submit: then the evidence the
  // dialog carried in its data is all there is, and it counts only with the token the bot gave it.

  it("is created from evidence that came back untouched (the cases below differ only in what was changed)", async () => {
    const data = await dialogData();
    bot.connector.reset();
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX }));
    expect(res.body ?? {}).toEqual({});
    expect(stored().incidents).toBe(1);
    const [incident] = await bot.incidents();
    expect(incident!.evidence).toEqual([data.evidence]);
  });

  type Data = Record<string, any>;
  const changed: [string, (d: Data) => Data][] = [
    ["the message's text (its hash) was changed", (d) => ({ ...d, evidence: { ...d.evidence, bodySha256: "0".repeat(64) } })],
    ["the message id was changed", (d) => ({ ...d, evidence: { ...d.evidence, messageId: "1732600000999" } })],
    ["the link to the message was changed", (d) => ({ ...d, evidence: { ...d.evidence, link: "https://teams.microsoft.com/l/message/19:other@thread.tacv2/1" } })],
    ["the link to the message was removed", (d) => ({ ...d, evidence: { ...d.evidence, link: undefined } })],
    ["when it was sent was changed", (d) => ({ ...d, evidence: { ...d.evidence, sentUtc: "2026-11-25T02:14:00.000Z" } })],
    ["the author's name was changed", (d) => ({ ...d, evidence: { ...d.evidence, author: { ...d.evidence.author, name: "The CEO" } } })],
    ["the author's id was changed", (d) => ({ ...d, evidence: { ...d.evidence, author: { ...d.evidence.author, id: ALEX.aadObjectId } } })],
    ["the author was made an app", (d) => ({ ...d, evidence: { ...d.evidence, author: { ...d.evidence.author, kind: "application" } } })],
    ["the evidence was lost", (d) => ({ ...d, evidence: undefined })],
    ["the evidence's token was lost", (d) => ({ ...d, evidenceToken: undefined })],
    ["the evidence's token was made up", (d) => ({ ...d, evidenceToken: "A".repeat(43) })],
    ["the evidence's token is far too long", (d) => ({ ...d, evidenceToken: "A".repeat(101) })],
    ["the evidence is not the shape the bot wrote", (d) => ({ ...d, evidence: { ...d.evidence, bodySha256: "not a hash" } })],
    ["the evidence is text instead of an object", (d) => ({ ...d, evidence: JSON.stringify(d.evidence) })],
    ["the submission id was lost", (d) => ({ ...d, submissionId: undefined })],
  ];

  it.each(changed)("is refused when %s, with nothing written or posted", async (_, change) => {
    const data = change(await dialogData());
    bot.connector.reset();
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task: { type: "message", value: LOST } });
    expect(stored()).toEqual(NOTHING);
    expect(posted()).toEqual([]);
  });

  it("is refused with another message's evidence and token, even though both are genuine", async () => {
    const first = await dialogData(ALEX, messagePayload({ id: "1732600000001" }));
    const second = await dialogData(ALEX, messagePayload({ id: "1732600000002", body: { contentType: "html", content: "<p>Another message</p>" } }));
    const swapped = { ...first, evidence: second.evidence, evidenceToken: second.evidenceToken };
    bot.connector.reset();
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, swapped, { from: ALEX }));
    expect(res.body).toEqual({ task: { type: "message", value: LOST } });
    expect(stored()).toEqual(NOTHING);
    expect(posted()).toEqual([]);
  });

  it("is refused the same way for an employee's report", async () => {
    const data = await dialogData(MEGAN);
    expect(data.verb).toBe("report.create");
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, { ...data, evidence: { ...data.evidence, messageId: "1" } }, { from: MEGAN }));
    expect(res.body).toEqual({ task: { type: "message", value: LOST } });
    expect(stored()).toEqual(NOTHING);
  });

  it("does not matter when Teams sends the message again: its evidence is what is recorded", async () => {
    const data = await dialogData();
    const forged = { ...data, evidence: { ...data.evidence, author: { kind: "user", name: "The CEO" } }, evidenceToken: "made-up" };
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, forged, { from: ALEX, payload: messagePayload() }));
    expect(res.body ?? {}).toEqual({});
    const [incident] = await bot.incidents();
    expect(incident!.evidence).toEqual([data.evidence]);
    expect(incident!.evidence![0]!.author.name).toBe("Megan Bowen");
  });
});

describe("Find incident while the store is down", () => {
  /** The store the running bot uses (the service keeps it to itself). */
  const storeOf = (b: TestBot) => (b.app.service as unknown as { store: IncidentStore }).store;

  async function createOne(title: string) {
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", { ...aForm({ title }) }, { from: ALEX }));
    expect(res.status).toBe(200);
  }

  it("says the store is not answering, for a search and for the list shown on opening, and writes nothing", async () => {
    await createOne("Badge reader at door 3");
    const before = stored();
    expect(before.incidents).toBe(1);
    // The found incident, while the store answers.
    const up = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(up.body.composeExtension.attachments).toHaveLength(1);

    await storeOf(bot).close();
    for (const text of ["INC-1", "badge", undefined]) {
      const res = await bot.post(composeQuery(bot.serviceUrl, text, { from: ALEX }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ composeExtension: { type: "message", text: STORE_DOWN } });
    }
    // An employee searching for their own reports is told the same.
    const employee = await bot.post(composeQuery(bot.serviceUrl, "badge", { from: MEGAN }));
    expect(employee.body).toEqual({ composeExtension: { type: "message", text: STORE_DOWN } });
    expect(stored()).toEqual(before);
  });

  it("finds the incident again once the store answers", async () => {
    await createOne("Badge reader at door 3");
    const search = jest.spyOn(storeOf(bot), "search").mockRejectedValueOnce(new StoreUnavailableError("injected: the store is down"));
    const down = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(down.body).toEqual({ composeExtension: { type: "message", text: STORE_DOWN } });
    const again = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(again.body.composeExtension.type).toBe("result");
    expect(again.body.composeExtension.attachments.map((a: any) => a.preview.content.title)).toEqual(["INC-1: Badge reader at door 3"]);
    expect(search).toHaveBeenCalled();
    expect(stored().incidents).toBe(1);
  });
});

describe("Create incident on a message while the store is down", () => {
  const storeOf = (b: TestBot) => (b.app.service as unknown as { store: IncidentStore }).store;

  it("says it can't open now instead of failing, and opens once the store answers", async () => {
    const spy = jest.spyOn(storeOf(bot), "get").mockRejectedValueOnce(new StoreUnavailableError("injected: the store is down"));
    const down = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    expect(down.status).toBe(200);
    expect(down.body).toEqual({
      task: { type: "message", value: "The incident store or the directory is not answering, so this can't open now. Try again in a moment." },
    });
    const up = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    expect(up.body.task.type).toBe("continue");
    expect(spy).toHaveBeenCalled();
  });
});
