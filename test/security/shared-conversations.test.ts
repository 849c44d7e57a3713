import { randomUUID } from "node:crypto";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { inProcessClient, startFakeSentinel, type FakeSentinel } from "../support/fake-sentinel";
import { until } from "../support/until";
import { entity, giveEntities } from "../support/entities";
import { ALEX, DIEGO, LEE, MEGAN, execute, message, submitMessage, type Person, type Where } from "../support/teams";

/*
 * Need-to-know in the conversations others read (issue 24, findings 1, 3, 4, 6 and 9), over HTTP with
 * Teams-shaped activities: what the bot posts or redraws in a channel or a group chat is what everyone
 * there may see, decided from the incident after a change; lists and receipts meant for one person go
 * to that person's 1:1 chat. Every message the bot sent or updated is read back from the fake connector.
 */

jest.setTimeout(120_000);

/** A word no other test writes, short enough that cards never break it with a zero-width space. */
const marker = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

let bot: TestBot;
afterEach(async () => {
  await bot?.stop();
});

const say = (text: string, from: Person, where: Where = "personal") => bot.post(message(bot.serviceUrl, text, { from, where }));

/** Everything the bot sent or updated, as text, to look for words that must not be there. */
function everything(b: TestBot = bot): string {
  return JSON.stringify([...b.connector.sent(), ...b.connector.updated().map((u) => u.activity)]);
}

/** `from` fills the analysts' form in their 1:1 chat, clicked in message `replyToId`; the stored id. */
async function created(fields: Record<string, string>, from: Person = LEE, where: Where = "personal", replyToId = "form-1") {
  bot.connector.reset();
  await say("incident", from, where);
  const form = cardOf(bot.connector.sent()[0]);
  const res = await bot.post(execute(bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), ...fields }, { from, where, replyToId }));
  expect(res.status).toBe(200);
  return String(form.actions[0].data.submissionId);
}

async function triageHere(): Promise<void> {
  await say("triage here", ALEX, "channel");
}

async function postOf(id: string): Promise<string> {
  return until("the triage post", async () => (await bot.app.service.get(id))?.triage?.messageId);
}

describe("finding 1: restricting an incident never shows its new words to the triage channel", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });

  it.each([
    ["on the triage post itself", true],
    ["from another card (the post is redrawn as the incident's own message)", false],
  ])("Edit %s: the post shows the restricted line, and no update carries the new words", async (_name, onPost) => {
    await triageHere();
    const id = await created({ title: "Payroll change request", description: "First words." });
    const postId = await postOf(id);
    const where = onPost ? { where: "channel" as const, replyToId: postId } : { where: "personal" as const, replyToId: "a-search-result" };
    const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: id }, { from: ALEX, ...where }))).body.value;
    const secret = marker("NEW");
    const res = await bot.post(
      execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), restricted: "true", description: secret }, { from: ALEX, ...where }),
    );
    // Alex is on the restricted-cases team: his own answer shows what he saved.
    expect(JSON.stringify(res.body)).toContain(secret);
    expect((await bot.app.service.get(id))?.restricted).toBe(true);
    const stopped = bot;
    await stopped.stop();
    const updates = stopped.connector.updated().filter((u) => u.id === postId);
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) expect(JSON.stringify(u.activity)).not.toContain(secret);
    expect(visibleText(cardOf(updates.at(-1)!.activity))[0]).toBe("INC-1: a restricted report arrived");
    expect(everything(stopped).split(secret).length - 1).toBe(0);
    bot = await startTestBot();
  });

  it("a plain change clicked elsewhere redraws the triage post with it", async () => {
    await triageHere();
    const id = await created({ title: "Laptop stolen", description: "From a car." });
    const postId = await postOf(id);
    const stored = (await bot.app.service.get(id))!;
    await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: id, revision: stored.revision }, { from: ALEX, replyToId: "a-search-result" }));
    const update = await until("the post redrawn", () => bot.connector.updated().find((u) => u.id === postId));
    expect(visibleText(cardOf(update.activity)).join("\n")).toContain("Alex Wilber (Teams)");
  });
});

describe("finding 3: my reports and my incidents go to the person, never into a shared conversation", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });

  it.each(["groupChat", "channel"] as const)("typed in a %s: the list goes to the 1:1 chat; the conversation is told where", async (where) => {
    await triageHere();
    const title = marker("RESTRICTED");
    await created({ title, restricted: "true" }, ALEX);
    const id = (await bot.incidents())[0]!.id;
    const stored = (await bot.app.service.get(id))!;
    await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: id, revision: stored.revision }, { from: ALEX }));
    for (const text of ["my incidents", "my reports"]) {
      bot.connector.reset();
      await say(text, ALEX, where);
      const inShared = bot.connector.sentTo(where === "groupChat" ? "19:groupchat-1@thread.v2" : "19:soc-triage@thread.tacv2;messageid=1732611112222");
      expect(JSON.stringify(inShared)).not.toContain(title);
      expect(inShared.map((a) => a.text)).toEqual([`I sent your ${text.slice(3)} to you in our 1:1 chat.`]);
      const privately = bot.connector.sentTo(`a:1:chat-with-${ALEX.id}`);
      expect(JSON.stringify(privately)).toContain(title);
    }
  });

  it("an older client's My reports button (Action.Submit) in a group chat sends the list to the 1:1 chat", async () => {
    const words = marker("MEGAN");
    bot.connector.reset();
    await say(words, MEGAN);
    const form = cardOf(bot.connector.sent()[0]);
    await bot.post(execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...values(form) }, { from: MEGAN }));
    bot.connector.reset();
    await bot.post(submitMessage(bot.serviceUrl, { verb: "help.myReports" }, { from: MEGAN, where: "groupChat" }));
    expect(JSON.stringify(bot.connector.sentTo("19:groupchat-1@thread.v2"))).not.toContain(words);
    expect(JSON.stringify(bot.connector.sentTo(`a:1:chat-with-${MEGAN.id}`))).toContain("Your reports");
  });

  it("when the 1:1 chat can't be opened, nothing is posted in the group chat but where to ask", async () => {
    bot.connector.refuse((call) => (call.method === "POST" && /\/v3\/conversations\/?$/.test(call.path) ? 403 : undefined));
    await say("my reports", MEGAN, "groupChat");
    const inShared = bot.connector.sentTo("19:groupchat-1@thread.v2");
    expect(inShared.map((a) => a.text)).toEqual([
      "I could not open a private chat with you, so I did not post your reports here: open your chat with me and ask there.",
    ]);
  });

  it("in the 1:1 chat the list is the reply", async () => {
    bot.connector.reset();
    await say("my reports", MEGAN);
    expect(visibleText(cardOf(bot.connector.sentTo("a:1xYzPersonalConversationId")[0]))[0]).toBe("Your reports");
  });
});

describe("finding 6: an employee's report from a card in a group chat stays private", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });

  it("the others in the chat see a neutral line; the receipt is hers alone", async () => {
    const title = marker("TAILGATER");
    bot.connector.reset();
    await say("incident", DIEGO, "groupChat");
    const form = cardOf(bot.connector.sent()[0]);
    const res = await bot.post(
      execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...values(form), title, whatHappened: "Someone followed me in." }, { from: DIEGO, where: "groupChat", replyToId: "report-form-1" }),
    );
    expect(visibleText(res.body.value)[0]).toMatch(/^Thank you\. Your report is INC-1/);
    const stopped = bot;
    await stopped.stop();
    const updates = stopped.connector.updated().filter((u) => u.id === "report-form-1");
    expect(updates).toHaveLength(1);
    expect(visibleText(cardOf(updates[0]!.activity))[0]).toBe("A report was sent to the SOC");
    expect(everything(stopped)).not.toContain(title);
    bot = await startTestBot();
  });

  it("from an older client (Action.Submit): the form's message becomes the neutral line, the receipt goes to her 1:1 chat", async () => {
    const title = marker("TAILGATER");
    bot.connector.reset();
    await say("incident", DIEGO, "groupChat");
    const form = cardOf(bot.connector.sent()[0]);
    bot.connector.reset();
    await bot.post(submitMessage(bot.serviceUrl, { ...form.actions[0].data, ...values(form), verb: "report.create", title, whatHappened: "Someone followed me in." }, { from: DIEGO, where: "groupChat", replyToId: "report-form-2" }));
    expect(JSON.stringify(bot.connector.sentTo("19:groupchat-1@thread.v2"))).not.toContain(title);
    const update = bot.connector.updated().find((u) => u.id === "report-form-2");
    expect(visibleText(cardOf(update?.activity))[0]).toBe("A report was sent to the SOC");
    expect(JSON.stringify(bot.connector.sentTo(`a:1:chat-with-${DIEGO.id}`))).toContain(title);
  });

  it("in her 1:1 chat the form's message becomes her receipt, as before", async () => {
    bot.connector.reset();
    await say("incident", DIEGO);
    const form = cardOf(bot.connector.sent()[0]);
    await bot.post(execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...values(form), title: "Odd USB stick", whatHappened: "Found in the car park." }, { from: DIEGO, replyToId: "report-form-3" }));
    const update = await until("the form updated", () => bot.connector.updated().find((u) => u.id === "report-form-3"));
    expect(visibleText(cardOf(update.activity))[0]).toMatch(/^Thank you\. Your report is INC-1/);
  });
});

describe("finding 9: text commands count against the actions limit", () => {
  it("past the limit, a text is answered with the wait and runs nothing", async () => {
    bot = await startTestBot({ RATE_LIMIT_ACTIONS_PER_MINUTE: "2" });
    await say("my reports", MEGAN);
    await say("my reports", MEGAN);
    bot.connector.reset();
    await say("my reports", MEGAN);
    const answers = bot.connector.sent();
    expect(answers).toHaveLength(1);
    expect(answers[0].text).toMatch(/^Too many clicks in a short time, so nothing was done\. Try again in \d+ seconds?\.$/);
    // Someone else is not held back by Megan's limit.
    bot.connector.reset();
    await say("my reports", DIEGO);
    expect(visibleText(cardOf(bot.connector.sent()[0]))[0]).toBe("Your reports");
  });
});

describe("finding 4: the confirmation in a shared conversation, redrawn after a change in Sentinel", () => {
  let sentinel: FakeSentinel;
  beforeEach(async () => {
    sentinel = await startFakeSentinel();
    const sync = Object.fromEntries(Object.entries(sentinel.env()).filter(([k]) => k.startsWith("SENTINEL_")));
    bot = await startTestBot({ ...sync, SENTINEL_SYNC_SECONDS: "1", SENTINEL_POLL_SECONDS: "5" }, { sentinel: inProcessClient(sentinel) });
  });
  afterEach(async () => {
    await bot?.stop();
    await sentinel.close();
  });

  it.each([
    ["groupChat", false],
    ["personal", true],
  ] as const)("in a %s it shows what was there at creation and Sentinel's number (later words: %s)", async (where, showsLater) => {
    const id = await created({ title: "Forwarding rule", description: "Created words." }, ALEX, where, "confirmation-1");
    const number = await until("Sentinel's number", async () => (await bot.app.service.get(id))?.sentinel?.incidentNumber);
    const portalWords = marker("PORTAL");
    const closing = marker("CLOSING");
    sentinel.editInPortal(
      [...sentinel.incidents.keys()][0]!,
      { description: portalWords, status: "Closed", classification: "TruePositive", classificationReason: "SuspiciousActivity", classificationComment: closing },
    );
    await until("the change brought home", async () => ((await bot.app.service.get(id))?.description === portalWords ? true : undefined));
    const stopped = bot;
    await stopped.stop();
    const redraws = stopped.connector.updated().filter((u) => u.id === "confirmation-1").map((u) => JSON.stringify(u.activity));
    expect(redraws.length).toBeGreaterThan(0);
    expect(redraws.some((r) => r.includes(`Incident ${number}`))).toBe(true);
    const last = redraws.at(-1)!;
    expect(last).toContain("Forwarding rule");
    if (showsLater) {
      expect(last).toContain(portalWords);
    } else {
      for (const r of redraws) {
        expect(r).not.toContain(portalWords);
        expect(r).not.toContain(closing);
        expect(r).not.toContain("True positive");
      }
      expect(last).toContain("Created words.");
    }
    bot = await startTestBot();
  });
});

describe("the SOC's recent tags are not offered on a form in a shared conversation", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });

  it("a form in a group chat or a channel offers none; in the analyst's 1:1 chat, the recent ones", async () => {
    const tag = marker("TAG");
    await created({ title: "Tagged", tags: tag }, ALEX);
    const tagChoices = async (where: Where) => {
      bot.connector.reset();
      await say("incident", LEE, where);
      const form = cardOf(bot.connector.sent()[0]);
      const tags = JSON.stringify(form).includes('"id":"tags"') ? form : undefined;
      expect(tags).toBeDefined();
      return JSON.stringify(form);
    };
    expect(await tagChoices("personal")).toContain(tag);
    expect(await tagChoices("groupChat")).not.toContain(tag);
    expect(await tagChoices("channel")).not.toContain(tag);
  });
});

describe("entities are an incident's words: shown defanged to the SOC, to no one else", () => {
  beforeEach(async () => {
    bot = await startTestBot();
  });

  /** Entities whose values carry a marker, in the path of a URL (kept as typed) and as an app's name. */
  function markedEntities(word: string) {
    return [entity("url", `https://evil.example/${word}/login`, "related", "extracted"), entity("app", word, "related", "directory"), entity("ip", "10.20.30.40", "related", "typed")];
  }

  /** Every text a person reads or clicks in the bot's messages (not an input's value): TextBlocks, TextRuns, facts, buttons, links. */
  function readable(activity: unknown): string {
    const out: string[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === "object") {
        const o = node as Record<string, unknown>;
        if (o.type === "TextBlock" || o.type === "TextRun") out.push(String(o.text));
        if (typeof o.type === "string" && o.type.startsWith("Action.")) out.push(String(o.title), typeof o.url === "string" ? o.url : "");
        for (const [k, v] of Object.entries(o)) if (k !== "value") visit(v);
      }
    };
    visit(activity);
    return out.join("\n").replace(/\u200b/g, "");
  }

  it("the triage post of a plain incident shows them defanged, never in a form that opens", async () => {
    await triageHere();
    const id = await created({ title: "Credential phishing", description: "A link in a mail." }, ALEX);
    const postId = await postOf(id);
    const word = marker("PLAIN");
    const given = await giveEntities(bot, id, { category: "InitialAccess", entities: markedEntities(word) });
    await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: id, revision: given.revision }, { from: ALEX, replyToId: "a-search-result" }));
    const update = await until("the post redrawn", () => bot.connector.updated().find((u) => u.id === postId));
    const shown = readable(update.activity);
    expect(shown).toContain(`hxxps://evil[.]example/${word}/login`);
    expect(shown).toContain("10.20.30[.]40");
    expect(shown).toContain("Initial access");
    expect(shown).not.toContain("https://evil.example");
    expect(shown).not.toContain("10.20.30.40");
  });

  it.each([
    ["restricted from the start", true],
    ["restricted by an edit after its entities were recorded", false],
  ])("the triage post of an incident %s shows none of them", async (_name, fromStart) => {
    await triageHere();
    const id = await created({ title: "Payroll change request", description: "First words.", ...(fromStart && { restricted: "true" }) }, ALEX);
    const postId = await postOf(id);
    const word = marker("RESTRICTED");
    const given = await giveEntities(bot, id, { category: "CredentialAccess", mitreTechniques: ["T1110"], entities: markedEntities(word) });
    if (fromStart) {
      await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: id, revision: given.revision }, { from: ALEX, replyToId: "a-search-result" }));
    } else {
      const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: id }, { from: ALEX, where: "channel", replyToId: postId }))).body.value;
      await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), restricted: "true" }, { from: ALEX, where: "channel", replyToId: postId }));
    }
    expect((await bot.app.service.get(id))?.restricted).toBe(true);
    const stopped = bot;
    await stopped.stop();
    const updates = stopped.connector.updated().filter((u) => u.id === postId);
    expect(updates.length).toBeGreaterThan(0);
    expect(visibleText(cardOf(updates.at(-1)!.activity))[0]).toBe("INC-1: a restricted report arrived");
    // Everything the bot sent and redrew, but the blank form the analyst asked for (it lists every category and
    // the usual techniques as choices).
    const all = JSON.stringify(
      [...stopped.connector.sent(), ...stopped.connector.updated().map((u) => u.activity)].filter(
        (a) => !JSON.stringify(a).includes('"id":"submitIncident"'),
      ),
    );
    expect(all).toContain("INC-1: a restricted report arrived");
    for (const value of [word, "10.20.30", "T1110", "Credential access", "evil"]) expect(all).not.toContain(value);
    bot = await startTestBot();
  });

  it("the confirmation in a group chat never shows them; in the analyst's 1:1 chat it does", async () => {
    for (const where of ["groupChat", "personal"] as const) {
      await bot.stop();
      bot = await startTestBot();
      const id = (await bot.incidents()).length;
      expect(id).toBe(0);
      await created({ title: "Forwarding rule", description: "Created words." }, ALEX, where, "confirmation-1");
      const stored = (await bot.incidents())[0]!;
      const word = marker("CONFIRM");
      const given = await giveEntities(bot, stored.id, { category: "Exfiltration", entities: markedEntities(word) });
      // A click on the confirmation redraws it for everyone in its conversation.
      await bot.settled();
      const from = bot.connector.updated().length;
      await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: stored.id, revision: given.revision }, { from: ALEX, where, replyToId: "confirmation-1" }));
      const update = await until("the confirmation redrawn", () => bot.connector.updated().slice(from).find((u) => u.id === "confirmation-1"));
      const text = JSON.stringify(update.activity).replace(/\u200b/g, "");
      if (where === "groupChat") {
        expect(text).not.toContain(word);
        expect(text).not.toContain("Exfiltration");
      } else {
        expect(visibleText(cardOf(update.activity))).toContain("Alex Wilber (Teams)");
        expect(text).toContain(`hxxps://evil[.]example/${word}/login`);
        expect(text).toContain("Exfiltration");
      }
    }
  });
});
