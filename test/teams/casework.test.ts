import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { cardOf, values, visibleText } from "../support/cards";
import { ALEX, DIEGO, LEE, MEGAN, execute, fetchTaskFromMessage, message, submitMessage, messagePayload, submitActionFromMessage, type Person } from "../support/teams";
import { until } from "../support/until";
import type { Incident, ReporterNotice } from "../../src/incidents/model";

/*
 * After the report (issue 14), over HTTP with Teams-shaped activities and the fake connector: the
 * reporter is told what changes, analysts comment, ask and keep tasks, and "my reports" / "my
 * incidents" list what is theirs.
 */

// Room for a wait (until: up to 60 s) to fail with its own message before the test's time runs out.
jest.setTimeout(120_000);

let bot: TestBot;
let cosmos: CosmosTestServer;
beforeAll(async () => {
  cosmos = await startCosmosServer();
});
afterAll(async () => {
  await cosmos.close();
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

/** The updates Teams took for `person` (cards about their reports, not answers to what they did). */
function messagesTo(person: Person) {
  return bot.connector.calls
    .filter((c) => c.method === "POST" && c.status === 200 && c.body?.recipient?.id === person.id && c.body?.attachments)
    .map((c) => cardOf(c.body))
    .filter((card) => card.body?.[0]?.id === "reporterUpdate");
}

/** Waits until no notice of the incident is pending (each sent or given up), then returns it. */
async function settled(id: string): Promise<Incident> {
  return until(`no notice of ${id} pending`, async () => {
    const incident = (await bot.incidents()).find((i) => i.id === id)!;
    return !(incident.outbox ?? []).some((n) => n.state === "pending") && incident;
  });
}

const STORES: [string, () => Record<string, string>][] = [
  ["SQLite", () => ({})],
  ["Cosmos DB", () => cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY)],
];

describe.each(STORES)("on %s", (_store, env) => {
  beforeEach(async () => {
    bot = await startTestBot(env());
  });
  afterEach(async () => {
    await bot.stop();
  });

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

  /** The triage card's casework actions (inside the ActionSet "casework"): Comment, Ask the reporter, Add task. */
  function showCard(card: any, id: string) {
    const set = card.body.find((b: any) => b.id === "casework");
    const action = set?.actions.find((a: any) => a.id === id);
    return action?.card;
  }

  describe("asking the reporter", () => {
    it("sends the question to the reporter's chat with a box to answer in; the answer reaches the incident and the analysts", async () => {
      const reported = await meganReports();
      const triage = await act("triage.view", { incidentId: reported.id });
      const ask = showCard(triage, "askReporter");
      expect(ask.body[0]).toMatchObject({ type: "Input.Text", id: "questionText", isRequired: true });
      const asked = await act(ask.actions[0].verb, { ...ask.actions[0].data, questionText: "What number did they call from?" });
      expect(visibleText(asked)).toContain("Question sent to the reporters by Alex Wilber.");
      await settled(reported.id);

      const question = messagesTo(MEGAN)[0]!;
      expect(visibleText(question).slice(0, 3)).toEqual([
        "A question about your report INC-1",
        "The SOC has a question about your report INC-1:",
        "What number did they call from?",
      ]);
      const send = question.actions[0];
      expect(send).toMatchObject({ type: "Action.Execute", verb: "report.answer" });

      // Someone else can't answer it: the same answer as for an incident that does not exist.
      const stranger = await act(send.verb, { ...send.data, answerText: "Not me" }, DIEGO);
      expect(visibleText(stranger).join("\n")).toMatch(/not one of yours, or it no longer exists/);

      const answered = await act(send.verb, { ...send.data, answerText: "  +44 20 7946 0000  " }, MEGAN);
      expect(visibleText(answered)).toEqual(expect.arrayContaining(["Thank you: the SOC has your answer.", "Your answer: +44 20 7946 0000"]));
      // A double click answers once.
      await act(send.verb, { ...send.data, answerText: "+44 20 7946 0000" }, MEGAN);
      const stored = (await bot.incidents())[0]!;
      expect(stored.comments?.map((c) => [c.kind, c.author.name, c.message])).toEqual([
        ["question", "Alex Wilber", "What number did they call from?"],
        ["answer", "Megan Bowen", "+44 20 7946 0000"],
      ]);
      expect(stored.comments?.[1]?.inReplyTo).toBe(stored.comments?.[0]?.id);
      const seen = visibleText(await act("triage.view", { incidentId: reported.id })).join("\n");
      expect(seen).toMatch(/Megan Bowen answered, .*: \+44 20 7946 0000/);
    });

    it("tells nobody anything through an empty answer: someone else, or the reporter naming a note, gets what an unknown id gets", async () => {
      const reported = await meganReports();
      await act("triage.comment", { incidentId: reported.id, revision: reported.revision, commentText: "Internal: the caller used Diego's extension." });
      await act("triage.ask", { incidentId: reported.id, revision: reported.revision, questionText: "Which floor?" });
      await settled(reported.id);
      const send = messagesTo(MEGAN)[0]!.actions[0];
      const stored = (await bot.incidents())[0]!;
      const note = stored.comments!.find((c) => c.kind === "note")!;
      const nobodys = "0badc0de-0000-4000-8000-0000000000ff";
      const answerAs = async (from: Person, questionId: string, answerText: string) =>
        visibleText(await act(send.verb, { ...send.data, questionId, answerText }, from)).join("\n");
      for (const answerText of ["", "Third"]) {
        // An employee and an analyst who did not report it, with the note's id or the question's: as with an id nobody has.
        for (const from of [DIEGO, LEE]) {
          const unknown = await answerAs(from, nobodys, answerText);
          expect(unknown).toMatch(/not one of yours, or it no longer exists/);
          for (const id of [note.id, send.data.questionId]) expect(await answerAs(from, id, answerText)).toBe(unknown);
        }
        // The reporter naming a comment that is not a question (a note): as with an id nobody has.
        const unknown = await answerAs(MEGAN, nobodys, answerText);
        expect(unknown).toMatch(/That question is not on this incident any more\./);
        expect(await answerAs(MEGAN, note.id, answerText)).toBe(unknown);
      }
      expect((await bot.incidents())[0]!.comments).toHaveLength(2);
      // The reporter's own question still comes back with why, and is answered once typed.
      const empty = await answerAs(MEGAN, String(send.data.questionId), "");
      expect(empty).toMatch(/Which floor\?/);
      expect(empty).not.toMatch(/extension/);
      expect(await answerAs(MEGAN, String(send.data.questionId), "Third")).toMatch(/Thank you: the SOC has your answer\./);
    });

    it("keeps what was typed when the answer is too long, and stores nothing", async () => {
      const reported = await meganReports();
      const triage = await act("triage.view", { incidentId: reported.id });
      const ask = showCard(triage, "askReporter");
      await act(ask.actions[0].verb, { ...ask.actions[0].data, questionText: "Which floor?" });
      await settled(reported.id);
      const send = messagesTo(MEGAN)[0]!.actions[0];
      const long = "x".repeat(4001);
      const back = await act(send.verb, { ...send.data, answerText: long }, MEGAN);
      expect(visibleText(back)).toContain("The answer is 4001 characters long; the most is 4000.");
      expect(back.body.find((b: any) => b.id === "answerText").value).toBe(long);
      expect((await bot.incidents())[0]!.comments).toHaveLength(1);
      const ok = await act(send.verb, { ...send.data, answerText: "y".repeat(4000) }, MEGAN);
      expect(visibleText(ok)).toContain("Thank you: the SOC has your answer.");
    });

    it("is not offered, and refused, when nobody reported the incident through the bot", async () => {
      const form = cardOf(await say("incident", ALEX));
      await act("incident.create", { ...form.actions[0].data, ...values(form), title: "Found in the logs" });
      const [incident] = await bot.incidents();
      const triage = await act("triage.view", { incidentId: incident!.id });
      expect(showCard(triage, "askReporter")).toBeUndefined();
      const refused = await act("triage.ask", { incidentId: incident!.id, revision: incident!.revision, questionText: "Anyone?" });
      expect(visibleText(refused)).toContain("Nobody reported this incident through the bot, so there is nobody to ask.");
    });
  });

  describe("comments and tasks on the triage card", () => {
    it("adds comments once per click, shares only those an analyst chose to share, and shows the latest three with the count", async () => {
      const reported = await meganReports();
      const triage = await act("triage.view", { incidentId: reported.id });
      const comment = showCard(triage, "addComment");
      const add = (text: string, shared = "false", from: Person = ALEX) =>
        act(comment.actions[0].verb, { ...comment.actions[0].data, commentText: text, commentShared: shared }, from);
      await add("Checked the call logs: external number.");
      await add("Checked the call logs: external number."); // a double click
      await add("Thanks, we are blocking that number.", "true");
      await add("Lee here: number added to the blocklist.", "false", LEE);
      const last = await add("Closing soon.");
      await settled(reported.id);

      const stored = (await bot.incidents())[0]!;
      expect(stored.comments?.map((c) => c.message)).toEqual([
        "Checked the call logs: external number.",
        "Thanks, we are blocking that number.",
        "Lee here: number added to the blocklist.",
        "Closing soon.",
      ]);
      const text = visibleText(last).join("\n");
      expect(text).toMatch(/Comments \(4\), the latest 3/);
      expect(text).not.toMatch(/Checked the call logs/);
      expect(text).toMatch(/Alex Wilber \(shared with the reporters\), .*: Thanks, we are blocking that number\./);

      const told = messagesTo(MEGAN).map((c) => visibleText(c).join("\n"));
      expect(told).toHaveLength(1);
      expect(told[0]).toMatch(/A message from the SOC about your report INC-1:\nThanks, we are blocking that number\./);
    });

    it("refuses an empty or too long comment with the text kept, and employees can't comment", async () => {
      const reported = await meganReports();
      const long = "c".repeat(4001);
      const back = await act("triage.comment", { incidentId: reported.id, revision: reported.revision, commentText: long });
      expect(visibleText(back)).toContain("The comment is 4001 characters long; the most is 4000.");
      expect(showCard(back, "addComment").body[0].value).toBe(long);
      const empty = await act("triage.comment", { incidentId: reported.id, revision: reported.revision, commentText: "   " });
      expect(visibleText(empty)).toContain("Write the comment first.");
      const employee = await act("triage.comment", { incidentId: reported.id, revision: reported.revision, commentText: "hi" }, MEGAN);
      expect(visibleText(employee)).toContain("Only SOC analysts can comment on incidents.");
      expect((await bot.incidents())[0]!.comments).toBeUndefined();
      const exact = await act("triage.comment", { incidentId: reported.id, revision: reported.revision, commentText: "c".repeat(4000) });
      expect(visibleText(exact)).toContain("Comment added by Alex Wilber.");
    });

    it("adds tasks and ticks them off for everyone, once, whoever clicks first", async () => {
      const reported = await meganReports();
      const triage = await act("triage.view", { incidentId: reported.id });
      const task = showCard(triage, "addTask");
      await act(task.actions[0].verb, { ...task.actions[0].data, taskTitle: "Block the caller's number" });
      const two = await act(task.actions[0].verb, { ...task.actions[0].data, taskTitle: "Remind staff about MFA codes" });
      expect(visibleText(two).join("\n")).toMatch(/Tasks: 0 of 2 done/);
      const done = two.body.find((b: any) => b.id === "tasks").items[1].columns[1].items[0].actions[0];
      expect(done).toMatchObject({ type: "Action.Execute", verb: "triage.taskDone", title: "Done" });

      // Alex and Lee click Done on the same task from the same card.
      const [alex, lee] = await Promise.all([act(done.verb, done.data), act(done.verb, done.data, LEE)]);
      const stored = (await bot.incidents())[0]!;
      expect(stored.tasks?.map((t) => [t.title, t.status])).toEqual([
        ["Block the caller's number", "Completed"],
        ["Remind staff about MFA codes", "New"],
      ]);
      const who = stored.tasks![0]!.completedBy!.name;
      expect(["Alex Wilber", "Lee Gu"]).toContain(who);
      expect(visibleText(alex).join("\n") + visibleText(lee).join("\n")).toMatch(/Tasks: 1 of 2 done/);
      expect(stored.revision).toBe(reported.revision + 3);
      // Employees can't.
      const employee = await act(done.verb, done.data, MEGAN);
      expect(visibleText(employee)).toContain("Only SOC analysts can complete tasks.");
    });
  });

  describe("my reports and my incidents", () => {
    it("lists a person's own reports only, and an analyst's assigned incidents only", async () => {
      const megans = await meganReports();
      const diegoForm = cardOf(await say("My laptop showed a ransom note", DIEGO));
      await act("report.create", { ...diegoForm.actions[0].data, ...values(diegoForm) }, DIEGO);
      const [diegos] = await bot.incidents();
      await act("triage.assign", { incidentId: diegos!.id, revision: diegos!.revision }, LEE);
      await settled(diegos!.id);

      const mine = visibleText(cardOf(await say("my reports", MEGAN))).join("\n");
      expect(mine).toMatch(/Your reports\nINC-1 +Someone called me claiming to be IT/);
      expect(mine).toMatch(/New · not assigned yet/);
      expect(mine).not.toMatch(/ransom/i);
      const his = visibleText(cardOf(await say("/My Reports", DIEGO))).join("\n");
      expect(his).toMatch(/INC-2 +My laptop showed a ransom note\nNew · handled by Lee Gu/);
      expect(his).not.toMatch(/MFA/);

      const lees = visibleText(cardOf(await say("my incidents", LEE))).join("\n");
      expect(lees).toMatch(/Incidents assigned to you\nINC-2 +My laptop showed a ransom note/);
      expect(lees).not.toMatch(/INC-1/);
      const alexs = visibleText(cardOf(await say("my incidents", ALEX))).join("\n");
      expect(alexs).toMatch(/Nothing is assigned to you/);
      const employee = visibleText(cardOf(await say("my incidents", MEGAN))).join("\n");
      expect(employee).toMatch(/lists what is assigned to a SOC analyst/);
      expect(megans.id).not.toBe(diegos!.id);
    });
  });
});

describe("the triage post and several instances", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("updates the incident's post in the triage channel when the reporter answers, so the analysts see it there", async () => {
    await say("triage here", ALEX, "channel");
    const reported = await meganReports();
    const posted = await until("the triage post recorded", async () => (await bot.app.service.get(reported.id))?.triage?.messageId);
    expect(posted).toBeDefined();
    await act("triage.ask", { incidentId: reported.id, revision: reported.revision, questionText: "Which floor?" });
    await settled(reported.id);
    const send = messagesTo(MEGAN)[0]!.actions[0];
    await act(send.verb, { ...send.data, answerText: "The third floor." }, MEGAN);
    // The question redrew the post too (it was asked from another card); the latest update has the answer.
    const update = await until("the triage post updated with the answer", () => {
      const last = bot.connector.updated().filter((u) => u.id === posted).at(-1);
      return last && /The third floor/.test(JSON.stringify(last.activity)) ? last : undefined;
    });
    expect(visibleText(cardOf(update?.activity)).join("\n")).toMatch(/Megan Bowen answered, .*: The third floor\./);
  });
});

describe("two instances on one Cosmos DB", () => {
  it("send a notice both find due exactly once (the claim in the store decides)", async () => {
    const env = { ...cosmosEnv(cosmos.endpoint, TEST_COSMOS_KEY), NOTICE_SWEEP_SECONDS: "1" };
    bot = await startTestBot(env);
    const other = await startTestBot({ ...env, COSMOS_CREATE_IF_MISSING: "true" });
    try {
      // Both instances send to the first one's fake connector: every activity below carries its serviceUrl.
      const reported = await meganReports();
      bot.connector.refuse((call) => (call.body?.attachments?.[0]?.content?.body?.[0]?.id === "reporterUpdate" ? 500 : undefined));
      await act("triage.assign", { incidentId: reported.id, revision: reported.revision });
      const notice: ReporterNotice = await until("the notice's first try recorded", async () => {
        const first = (await bot.app.service.get(reported.id))?.outbox?.[0];
        return first && first.attempts > 0 ? first : undefined;
      });
      expect(notice?.state).toBe("pending");
      bot.connector.refuse(undefined);
      // Wait until it is due again, then wake both instances at the same moment. A fixed sleep, not a poll:
      // nothing changes when it falls due (the sweep compares dueUtc with the clock), and the extra 1.1 s
      // lets each instance's once-a-second sweep run on the next turn; the checks after it poll.
      await wait(Math.max(0, Date.parse(notice?.dueUtc ?? "") - Date.now()) + 1100);
      // A slow Teams: the first instance's send is still in flight when the second looks.
      bot.connector.answerAfter(300);
      const help = (from: Person) => message(bot.serviceUrl, "help", { from, where: "channel" });
      await Promise.all([bot.post(help(ALEX)), other.post(help(LEE)), bot.post(help(LEE)), other.post(help(ALEX))]);
      await settled(reported.id);
      // Every send either instance started has ended (a stop waits for work after answers).
      await other.app.close();
      await until("every send answered", () => !bot.connector.calls.some((c) => !c.answered || c.status === 0));
      expect(messagesTo(MEGAN)).toHaveLength(1);
      expect((await bot.app.service.get(reported.id))?.outbox?.[0]).toMatchObject({ state: "sent", attempts: 2 });
    } finally {
      await other.stop().catch(() => undefined);
      await bot.stop();
    }
  }, 180_000);
});

describe("My reports from the help card", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("opens the person's reports, as saying my reports does", async () => {
    await meganReports();
    const help = cardOf(await say("help", MEGAN));
    const button = help.actions.find((a: any) => a.title === "My reports");
    expect(button).toMatchObject({ type: "Action.Execute", verb: "help.myReports", fallback: { type: "Action.Submit" } });
    const list = await act(button.verb, button.data ?? {}, MEGAN);
    expect(visibleText(list).join("\n")).toMatch(/^Your reports\nINC-1 +Someone called me claiming to be IT/);
    // The older clients' Action.Submit: the list comes as a new message.
    const before = bot.connector.sent().length;
    await bot.post(submitMessage(bot.serviceUrl, button.fallback.data, { from: MEGAN }));
    expect(visibleText(cardOf(bot.connector.sent()[before])).join("\n")).toMatch(/^Your reports\nINC-1/);
  });
});
