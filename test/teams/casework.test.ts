import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { ALEX, DIEGO, LEE, MEGAN, execute, fetchTaskFromMessage, message, messagePayload, submitActionFromMessage, type Person } from "../support/teams";
import type { Incident } from "../../src/incidents/model";

/*
 * After the report (issue 14), over HTTP with Teams-shaped activities and the fake connector: the
 * reporter is told what changes, analysts comment, ask and keep tasks, and "my reports" / "my
 * incidents" list what is theirs.
 */

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot();
});
afterEach(async () => {
  await bot.stop();
});

const WORDS = "Someone called me claiming to be IT and asked for my MFA code.";
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function say(text: string, from: Person, where: "personal" | "channel" = "personal") {
  const before = bot.connector.sent().length;
  const res = await bot.post(message(bot.serviceUrl, text, { from, where }));
  expect(res.status).toBe(200);
  return bot.connector.sent()[before];
}

async function act(verb: string, data: Record<string, unknown>, from: Person = ALEX) {
  const res = await bot.post(execute(bot.serviceUrl, verb, data, { from }));
  expect(res.status).toBe(200);
  return res.body.value;
}

/** Megan reports in her chat with the bot; the stored incident. */
async function meganReports(): Promise<Incident> {
  const form = cardOf(await say(WORDS, MEGAN));
  await act("report.create", { ...form.actions[0].data, ...values(form) }, MEGAN);
  return (await bot.incidents())[0]!;
}

/** The updates the bot sent to `person` (cards about their reports, not answers to what they did). */
function messagesTo(person: Person) {
  return bot.connector.calls
    .filter((c) => c.method === "POST" && c.body?.recipient?.id === person.id && c.body?.attachments)
    .map((c) => cardOf(c.body))
    .filter((card) => card.body?.[0]?.id === "reporterUpdate");
}

/** Waits until no notice of the incident is pending (each sent or given up), then returns it. */
async function settled(id: string): Promise<Incident> {
  for (;;) {
    await bot.app.service.get(id); // keeps the event loop turning
    const incident = (await bot.incidents()).find((i) => i.id === id)!;
    if (!(incident.outbox ?? []).some((n) => n.state === "pending")) return incident;
    await wait(20);
  }
}

describe("the reporter kept informed", () => {
  it("gets one message per change they should know of, in plain words and with nothing internal", async () => {
    const reported = await meganReports();
    const assigned = await act("triage.assign", { incidentId: reported.id, revision: reported.revision });
    expect(visibleText(assigned)).toContain("Assigned to Alex Wilber (Teams) by Alex Wilber.");
    let incident = await settled(reported.id);
    const edit = await act("triage.edit", { incidentId: incident.id });
    await act("incident.update", {
      ...edit.actions[0].data,
      ...values(edit),
      status: "Closed",
      closing: "FalsePositive.InaccurateData",
      closingComment: "Internal: the caller was our own helpdesk test, ticket 4411.",
    });
    incident = await settled(reported.id);
    // A change that is not theirs to know (severity) tells them nothing.
    const again = await act("triage.edit", { incidentId: incident.id });
    await act("incident.update", { ...again.actions[0].data, ...values(again), severity: "Low" });
    incident = await settled(reported.id);

    const told = messagesTo(MEGAN).map((card) => visibleText(card).join("\n"));
    expect(told).toHaveLength(2);
    expect(told[0]).toMatch(/^Update on your report INC-1\nAlex Wilber \(Teams\) from the SOC is now handling your report INC-1\./);
    expect(told[1]).toMatch(/INC-1 is closed\. Thank you for reporting it/);
    for (const text of told) {
      expect(text).not.toMatch(/FalsePositive|False Positive|InaccurateData|helpdesk test|4411|Severity|Low/);
    }
    expect(incident.outbox?.map((n) => n.state)).toEqual(["sent", "sent"]);
    // The analyst who made the change, and others, got nothing in their chats.
    expect(messagesTo(ALEX)).toHaveLength(0);
  });

  it("records a reporter who can't be reached, shows it on the triage card, and still makes the change", async () => {
    // Diego reports a message from a channel: the bot has no chat with him and must open one; the app is not installed for him.
    bot.connector.notInstalled.add(DIEGO.id);
    const payload = messagePayload();
    const dialog = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: DIEGO, where: "channel" }));
    expect(dialog.status).toBe(200);
    const card = dialog.body.task.value.card.content;
    await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: DIEGO, where: "channel", payload }));
    const [reported] = await bot.incidents();
    expect(reported?.contacts?.[0]?.address).toMatchObject({ user: { id: DIEGO.id }, serviceUrl: bot.serviceUrl });
    expect(reported!.contacts![0]!.address).not.toHaveProperty("conversationId");

    const assigned = await act("triage.assign", { incidentId: reported!.id, revision: reported!.revision });
    expect(visibleText(assigned)).toContain("Assigned to Alex Wilber (Teams) by Alex Wilber.");
    const incident = await settled(reported!.id);
    expect(incident.owner?.assignedTo).toBe("Alex Wilber (Teams)");
    expect(incident.outbox).toEqual([expect.objectContaining({ state: "unreachable", attempts: 1, name: DIEGO.name })]);
    const opened = bot.connector.calls.filter((c) => c.method === "POST" && /\/v3\/conversations\/?$/.test(c.path));
    expect(opened).toHaveLength(1);
    expect(opened[0]!.body).toMatchObject({ isGroup: false, members: [{ id: DIEGO.id }], tenantId: expect.any(String) });

    const triage = await act("triage.view", { incidentId: incident.id });
    expect(visibleText(triage).join("\n")).toMatch(/Could not tell Diego Siciliani about this incident in Teams: Teams answered HTTP 403/);
  });

  it("reaches a reporter from a channel by opening their 1:1 chat", async () => {
    const payload = messagePayload();
    const fetched = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: DIEGO, where: "channel" }));
    const card = fetched.body.task.value.card.content;
    await bot.post(submitActionFromMessage(bot.serviceUrl, { ...card.actions[0].data, ...values(card) }, { from: DIEGO, where: "channel", payload }));
    const [reported] = await bot.incidents();
    await act("triage.assign", { incidentId: reported!.id, revision: reported!.revision });
    await settled(reported!.id);
    const inChat = bot.connector.sentTo(`a:1:chat-with-${DIEGO.id}`);
    expect(inChat).toHaveLength(1);
    expect(visibleText(cardOf(inChat[0]))[1]).toBe("Alex Wilber (Teams) from the SOC is now handling your report INC-1.");
  });
});
