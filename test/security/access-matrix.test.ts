import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { inProcessClient, startFakeSentinel, type FakeSentinel } from "../support/fake-sentinel";
import { until } from "../support/until";
import { entity, giveEntities } from "../support/entities";
import type { Incident } from "../../src/incidents/model";
import { VERBS } from "../../src/teams/verbs";
import {
  ALEX,
  DIEGO,
  LEE,
  MEGAN,
  TENANT,
  composeQuery,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  search,
  submitActionFromMessage,
  type Person,
} from "../support/teams";

/*
 * Need-to-know, tried as each kind of person on every path that shows an incident, over HTTP with
 * Teams-shaped activities, on both stores. Each incident carries words only its reporter typed;
 * an answer may contain them only where the visibility rule allows. The Microsoft Sentinel sync is on
 * (the test Sentinel server), so Sentinel is one more audience, checked last: what every request the
 * bot sent it carried.
 */

/** Signed in to the tenant but unknown to the directory (a guest). */
const GUEST: Person = { id: "29:guest-mri", name: "A guest", aadObjectId: "0d0d0d0d-0000-4000-8000-00000000beef" };

type Who = "alex" | "lee" | "megan" | "diego" | "guest";
const PEOPLE: Record<Who, Person> = { alex: ALEX, lee: LEE, megan: MEGAN, diego: DIEGO, guest: GUEST };

/** The message Megan reports: written by someone else, so the author's name is not the reporter's. */
const reportedMessage = (id: string) =>
  messagePayload({
    id,
    linkToMessage: `https://teams.microsoft.com/l/message/19:facilities@thread.tacv2/${id}`,
    from: { user: { id: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a03", displayName: "Grady Archie" }, application: null },
    body: { contentType: "text", content: `Please pay the attached invoice today, it is urgent (${id}).` },
  });

interface World {
  bot: TestBot;
  /** The test Sentinel server the bot mirrors to, where the sync is on. */
  sentinel?: FakeSentinel;
  /** Megan's report of a message; words only she typed. */
  plain: { id: string; number: number; words: string; entity: string; payload: ReturnType<typeof messagePayload> };
  /** Megan's restricted report of another message. */
  restricted: { id: string; number: number; words: string; entity: string; payload: ReturnType<typeof messagePayload> };
  /** Lee's incident from the analysts' form. */
  form: { id: string; number: number; words: string; entity: string };
}

async function reportMessage(bot: TestBot, from: Person, payload: ReturnType<typeof messagePayload>, inputs: Record<string, string>) {
  const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from }));
  const card = open.body.task.value.card.content;
  const data = { ...card.actions[0].data, ...values(card), ...inputs };
  const res = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from, payload }));
  expect(res.status).toBe(200);
  return res;
}

async function seed(bot: TestBot, sentinel?: FakeSentinel): Promise<World> {
  const plainWords = `MEGAN-PLAIN-${randomUUID()}`;
  const restrictedWords = `MEGAN-RESTRICTED-${randomUUID()}`;
  const formWords = `LEE-FORM-${randomUUID()}`;
  const plainPayload = reportedMessage("1732600000101");
  const restrictedPayload = reportedMessage("1732600000102");
  await reportMessage(bot, MEGAN, plainPayload, { whatHappened: `My manager asked me to pay it. ${plainWords}` });
  await reportMessage(bot, MEGAN, restrictedPayload, { whatHappened: `About a colleague. ${restrictedWords}`, restricted: "true" });
  bot.connector.reset();
  await bot.post(message(bot.serviceUrl, "incident", { from: LEE }));
  const form = cardOf(bot.connector.sent()[0]);
  await bot.post(execute(bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), title: "Lee's own", description: formWords }, { from: LEE }));
  const stored = await bot.incidents("", 10);
  const find = (words: string) => {
    const found = stored.find((i) => i.description.includes(words));
    if (!found) throw new Error(`nothing stored with ${words}`);
    return { id: found.id, number: found.incidentNumber, words, entity: `ENTITY-${randomUUID().slice(0, 8)}` };
  };
  expect(stored.find((i) => i.description.includes(restrictedWords))?.restricted).toBe(true);
  const world = {
    bot,
    sentinel,
    plain: { ...find(plainWords), payload: plainPayload },
    restricted: { ...find(restrictedWords), payload: restrictedPayload },
    form: find(formWords),
  };
  // Entities are an incident's words: each incident's carry a marker of their own (in a URL's path, kept as typed, and as an app's name).
  for (const target of [world.plain, world.restricted, world.form]) {
    const entities = [entity("url", `https://evil.example/${target.entity}/login`), entity("app", target.entity, "related", "directory")];
    await giveEntities(bot, target.id, { category: "InitialAccess", entities });
  }
  return world;
}

/** Every answer as text, to look for words that must not be there. */
const text = (res: { body: unknown }) => JSON.stringify(res.body ?? "").replace(/\u200b/g, "");

/** Who may see what: full (the SOC's card), reporter (their own report), none. */
const RULE: Record<Who, Record<"plain" | "restricted" | "form", "full" | "reporter" | "none">> = {
  alex: { plain: "full", restricted: "full", form: "full" },
  lee: { plain: "full", restricted: "none", form: "full" },
  megan: { plain: "reporter", restricted: "reporter", form: "none" },
  diego: { plain: "none", restricted: "none", form: "none" },
  guest: { plain: "none", restricted: "none", form: "none" },
};

describe.each(["sqlite", "cosmos"] as const)("need-to-know on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  let sentinel: FakeSentinel | undefined;
  let world: World;
  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
    sentinel = await startFakeSentinel();
    // The sync's settings; the identity and the test certificate come in-process (inProcessClient).
    const sync = { ...Object.fromEntries(Object.entries(sentinel.env()).filter(([k]) => k.startsWith("SENTINEL_"))), SENTINEL_SYNC_SECONDS: "1" };
    const bot = await startTestBot({ ...(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {}), ...sync }, { sentinel: inProcessClient(sentinel) });
    world = await seed(bot, sentinel);
  });
  afterAll(async () => {
    await world?.bot.stop();
    await sentinel?.close();
    await cosmos?.close();
  });

  const cells = (Object.keys(RULE) as Who[]).flatMap((who) =>
    (["plain", "restricted", "form"] as const).map((which) => [who, which, RULE[who][which]] as const),
  );

  describe("Find incident, by number", () => {
    it.each(cells)("%s looking for the %s incident: %s", async (who, which, access) => {
      const target = world[which];
      const res = await world.bot.post(composeQuery(world.bot.serviceUrl, `INC-${target.number}`, { from: PEOPLE[who] }));
      expect(res.status).toBe(200);
      const found = res.body.composeExtension.attachments as unknown[];
      expect(found).toHaveLength(access === "none" ? 0 : 1);
      if (access === "none") expect(text(res)).not.toContain(target.words);
      else expect(text(res)).toContain(target.words);
      if (access === "reporter") expect(text(res)).toContain(`Your report INC-${target.number}`);
      // The SOC's card shows the entities (defanged); a reporter's view and no one else's shows any.
      if (access === "full") expect(text(res)).toContain(`hxxps://evil[.]example/${target.entity}/login`);
      else expect(text(res)).not.toContain(target.entity);
    });
  });

  describe("Find incident, on open (the newest)", () => {
    it.each(Object.keys(RULE) as Who[])("%s sees only what the rule allows", async (who) => {
      const res = await world.bot.post(composeQuery(world.bot.serviceUrl, undefined, { from: PEOPLE[who] }));
      for (const which of ["plain", "restricted", "form"] as const) {
        if (RULE[who][which] === "none") expect(text(res)).not.toContain(world[which].words);
        else expect(text(res)).toContain(world[which].words);
        if (RULE[who][which] === "full") expect(text(res)).toContain(world[which].entity);
        else expect(text(res)).not.toContain(world[which].entity);
      }
    });
  });

  describe("triage buttons (open, edit, assign) sent with an incident's id", () => {
    const verbs = ["triage.view", "triage.edit", "triage.assign"] as const;
    it.each(cells.flatMap(([who, which, access]) => verbs.map((verb) => [who, which, verb, access] as const)))(
      "%s on the %s incident with %s",
      async (who, which, verb, access) => {
        const target = world[which];
        const stored = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
        const res = await world.bot.post(
          execute(world.bot.serviceUrl, verb, { incidentId: target.id, revision: stored.revision }, { from: PEOPLE[who], replyToId: "not-this" }),
        );
        expect(res.status).toBe(200);
        const soc = access === "full" && (who === "alex" || who === "lee");
        if (soc) expect(text(res)).toContain(verb === "triage.edit" ? "Edit INC-" : `INC-${target.number}`);
        else {
          // The same answer as for an incident that does not exist: nothing of it, not even that it exists.
          expect(text(res)).not.toContain(target.words);
          expect(text(res)).not.toContain(target.entity);
          expect(text(res)).not.toContain("Megan Bowen");
          const nobody = await world.bot.post(
            execute(world.bot.serviceUrl, verb, { incidentId: randomUUID(), revision: 1 }, { from: PEOPLE[who] }),
          );
          expect(visible(res)).toEqual(visible(nobody));
        }
      },
    );
  });

  describe("working an incident (comment, ask, add task, tick one off) sent with its id", () => {
    /** Each verb that changes an incident from the triage card, with what the card sends besides the id. */
    const WORK: Record<string, (taskId: string) => Record<string, unknown>> = {
      [VERBS.comment]: () => ({ commentText: `note ${randomUUID()}`, commentShared: "true" }),
      [VERBS.ask]: () => ({ questionText: `question ${randomUUID()}` }),
      [VERBS.task]: () => ({ taskTitle: `task ${randomUUID()}` }),
      [VERBS.taskDone]: (taskId) => ({ taskId }),
    };
    const tasks: Record<string, string> = {};
    beforeAll(async () => {
      // A task on each incident (added by Alex, who may work on all three) for "Done".
      for (const which of ["plain", "restricted", "form"] as const) {
        const stored = (await world.bot.incidents(`INC-${world[which].number}`, 1))[0]!;
        await world.bot.post(execute(world.bot.serviceUrl, VERBS.task, { incidentId: stored.id, revision: stored.revision, taskTitle: `first ${which}` }, { from: ALEX }));
        tasks[which] = (await world.bot.incidents(`INC-${world[which].number}`, 1))[0]!.tasks![0]!.id;
      }
    });

    it("covers every verb that answers a card button on the triage card", () => {
      const triageVerbs = Object.values(VERBS).filter((v) => v.startsWith("triage.") && !["triage.view", "triage.edit", "triage.assign"].includes(v));
      expect(Object.keys(WORK).sort()).toEqual(triageVerbs.sort());
    });

    it.each(cells.flatMap(([who, which, access]) => Object.keys(WORK).map((verb) => [who, which, verb, access] as const)))(
      "%s on the %s incident with %s",
      async (who, which, verb, access) => {
        const target = world[which];
        const before = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
        const data = { incidentId: target.id, revision: before.revision, ...WORK[verb]!(tasks[which]!) };
        const res = await world.bot.post(execute(world.bot.serviceUrl, verb, data, { from: PEOPLE[who], replyToId: "not-this" }));
        expect(res.status).toBe(200);
        const after = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
        const soc = access === "full" && (who === "alex" || who === "lee");
        // Ask needs a reporter (the form's incident has none); Done on a task already done changes nothing.
        const changes = soc && !(verb === VERBS.ask && which === "form") && !(verb === VERBS.taskDone && before.tasks?.[0]?.status === "Completed");
        expect(after.revision).toBe(before.revision + (changes ? 1 : 0));
        if (!soc) {
          expect(text(res)).not.toContain(target.words);
          expect(text(res)).not.toContain(target.entity);
          const nobody = await world.bot.post(execute(world.bot.serviceUrl, verb, { ...data, incidentId: randomUUID() }, { from: PEOPLE[who] }));
          expect(visible(res)).toEqual(visible(nobody));
        }
      },
    );

  });

  describe("answering the SOC's question about an incident", () => {
    const questions: Record<string, string> = {};
    beforeAll(async () => {
      // Alex asks Megan about both of her reports.
      for (const which of ["plain", "restricted"] as const) {
        const stored = (await world.bot.incidents(`INC-${world[which].number}`, 1))[0]!;
        const message = `question ${randomUUID()}`;
        await world.bot.post(execute(world.bot.serviceUrl, VERBS.ask, { incidentId: stored.id, revision: stored.revision, questionText: message }, { from: ALEX }));
        questions[which] = (await world.bot.incidents(`INC-${world[which].number}`, 1))[0]!.comments!.find((c) => c.message === message)!.id;
      }
    });

    it.each(cells.filter(([, which]) => which !== "form"))("%s answering a question about the %s incident: %s", async (who, which, access) => {
      const target = world[which];
      const stored = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
      const question = stored.comments?.find((c) => c.id === questions[which]);
      const before = stored.revision;
      const res = await world.bot.post(
        execute(world.bot.serviceUrl, VERBS.answer, { incidentId: target.id, questionId: question!.id, answerText: `answer ${randomUUID()}` }, { from: PEOPLE[who] }),
      );
      expect(res.status).toBe(200);
      const after = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
      // Only a reporter answers (Megan, on both of her reports); anyone else learns nothing.
      expect(after.revision).toBe(before + (access === "reporter" ? 1 : 0));
      if (access !== "reporter") expect(text(res)).not.toContain(question!.message);
      // Her answer's card is a reporter's: never the incident's entities.
      expect(text(res)).not.toContain(target.entity);
    });
  });

  describe("Create incident on a message someone already reported", () => {
    it.each(cells.filter(([, which]) => which !== "form"))("%s on the message behind the %s incident: %s", async (who, which, access) => {
      const target = world[which as "plain" | "restricted"];
      const res = await world.bot.post(fetchTaskFromMessage(world.bot.serviceUrl, target.payload, { from: PEOPLE[who] }));
      expect(res.status).toBe(200);
      if (access === "none") {
        // A form, as for a message nobody reported: no number, no reporter, no words.
        expect(res.body.task.value.title).toMatch(/^(Create incident|Report suspicious activity)$/);
        expect(text(res)).not.toContain(target.words);
        expect(text(res)).not.toContain(target.entity);
        expect(text(res)).not.toContain("Megan Bowen");
        expect(text(res)).not.toContain(`INC-${target.number}`);
      } else {
        expect(res.body.task.value.title).toBe(`Already reported as INC-${target.number}`);
        expect(text(res)).toContain(target.words);
        if (access === "reporter") expect(text(res)).not.toContain(target.entity);
      }
    });
  });

  describe("attach to an existing incident (the analysts' form, sent with an incident's id) and the incidents typeahead", () => {
    // Only an analyst who sees the incident in full may add to it; anyone else gets what a made-up id gets.
    it.each(cells)("%s attaching a report to the %s incident: %s", async (who, which, access) => {
      const target = world[which];
      const person = PEOPLE[who];
      const before = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
      world.bot.connector.reset();
      await world.bot.post(message(world.bot.serviceUrl, "incident", { from: person }));
      const form = cardOf(world.bot.connector.sent()[0]);
      const words = `ATTACH-${who}-${randomUUID()}`;
      const data = { ...form.actions[0].data, ...values(form), title: "Seen it too", description: words, attachTo: target.id };
      const res = await world.bot.post(execute(world.bot.serviceUrl, VERBS.create, data, { from: person }));
      expect(res.status).toBe(200);
      const after = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
      const soc = access === "full" && (who === "alex" || who === "lee");
      expect(after.revision).toBe(before.revision + (soc ? 1 : 0));
      if (soc) {
        expect(text(res)).toContain(`Added to INC-${target.number}`);
        expect(after.reports?.at(-1)?.words).toBe(words);
      } else {
        expect(text(res)).not.toContain(target.words);
        const nobody = await world.bot.post(execute(world.bot.serviceUrl, VERBS.create, { ...data, attachTo: randomUUID() }, { from: person }));
        expect(visible(res)).toEqual(visible(nobody));
      }
      await world.bot.settled();
      expect((await world.bot.incidents("", 20)).length).toBe(3);
    });

    it.each(cells)("%s searching the incidents typeahead for the %s incident: %s", async (who, which, access) => {
      const target = world[which];
      const res = await world.bot.post(search(world.bot.serviceUrl, "incidents", `INC-${target.number}`, { from: PEOPLE[who] }));
      if (access === "full" && (who === "alex" || who === "lee")) {
        expect(res.body.value.results).toEqual([{ title: expect.stringMatching(new RegExp(`^INC-${target.number}: `)), value: target.id }]);
      } else {
        // Analysts outside the restricted-cases team: no result; anyone else: not a dataset they are answered.
        expect(res.status).toBe(who === "lee" ? 200 : 400);
        expect(text(res)).not.toContain(target.id);
        expect(text(res)).not.toContain(`INC-${target.number}`);
      }
    });
  });

  describe("Microsoft Sentinel, after everything above (comments, questions, answers, tasks)", () => {
    /**
     * Sentinel is the SOC's own console, seen by every analyst with access to the workspace: the
     * audience of an analyst who is not on the restricted-cases team (Lee). Every word people wrote
     * about an incident, as the store holds it, must reach Sentinel exactly where Lee may see it.
     */
    const words = (incident: Incident): string[] =>
      [
        incident.title,
        incident.description,
        ...(incident.reports ?? []).map((r) => r.words),
        ...(incident.comments ?? []).map((c) => c.message),
        ...(incident.tasks ?? []).map((t) => t.title),
      ].filter((w) => w.length >= 8);

    /** What this block writes itself (a shared comment and a task on each incident), so it bites when run alone (`-t Sentinel`). */
    const written: Record<string, string[]> = {};
    beforeAll(async () => {
      for (const which of ["plain", "restricted", "form"] as const) {
        const note = `sentinel note ${randomUUID()}`;
        const task = `sentinel task ${randomUUID()}`;
        const [before] = await world.bot.incidents(`INC-${world[which].number}`, 1);
        const data = { incidentId: before!.id, revision: before!.revision };
        await world.bot.post(execute(world.bot.serviceUrl, VERBS.comment, { ...data, commentText: note, commentShared: "true" }, { from: ALEX }));
        const [after] = await world.bot.incidents(`INC-${world[which].number}`, 1);
        await world.bot.post(execute(world.bot.serviceUrl, VERBS.task, { ...data, revision: after!.revision, taskTitle: task }, { from: ALEX }));
        written[which] = [note, task];
      }
    });

    it.each(["plain", "restricted", "form"] as const)("the %s incident: what Lee may see, in every request the bot sent", async (which) => {
      const target = world[which];
      // Pushed right after each write; the sweep (every second) takes what is left. Generous for 2 shared cores.
      const incident = await until(`INC-${target.number} in Sentinel`, async () => {
        const i = (await world.bot.incidents(`INC-${target.number}`, 1))[0]!;
        const link = i.sentinel;
        const done =
          link?.revision === i.revision &&
          (i.restricted ||
            (link.comments === (i.comments ?? []).length && (i.tasks ?? []).every((t) => link.tasks.includes(`${t.id}:${t.status}`))));
        return done ? i : undefined;
      });
      const sentinel = world.sentinel!;
      const sent = sentinel
        .calls()
        .filter((r) => r.path.includes(`/incidents/${incident.id}`))
        .map((r) => JSON.stringify(r.body ?? ""))
        .join("\n");
      expect(sent).toContain(`"severity"`); // it did go there
      const all = words(incident);
      // Title and description, and at least the comment and the task this block wrote (more when the file runs whole).
      expect(all).toEqual(expect.arrayContaining([incident.title, incident.description, ...written[which]!]));
      const lee = RULE.lee[which];
      for (const w of all) {
        if (lee === "full") expect(sent).toContain(JSON.stringify(w).slice(1, -1));
        else expect(sent).not.toContain(JSON.stringify(w).slice(1, -1));
      }
      if (lee === "none") {
        expect(sent).not.toContain("Megan");
        expect(sent).not.toContain(target.words);
        expect(sent).not.toContain(target.entity);
        // Nothing else of it went anywhere else in Sentinel either (another incident, a comment elsewhere).
        expect(sentinel.calls().map((r) => JSON.stringify(r.body ?? "")).join("\n")).not.toContain(target.words);
        expect(sentinel.calls().map((r) => JSON.stringify(r.body ?? "")).join("\n")).not.toContain(target.entity);
      } else expect(sent).toContain(target.words);
    });
  });
});

describe("the same message reported by two employees", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("makes one incident with both accounts; neither sees the other's words; the SOC sees both", async () => {
    const payload = reportedMessage("1732600000201");
    const first = `FIRST-${randomUUID()}`;
    const second = `SECOND-${randomUUID()}`;
    // Diego gets there first with a throwaway report; Megan's real one must not be lost.
    await reportMessage(bot, DIEGO, payload, { title: "test, ignore", whatHappened: first });
    const megan = await reportMessage(bot, MEGAN, payload, { whatHappened: second });
    expect(megan.body.task.value.title).toBe("Report added");
    expect(text(megan)).toContain(second);
    expect(text(megan)).not.toContain(first);
    expect(text(megan)).not.toContain("Diego");

    const stored = await bot.incidents("", 10);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.description).toContain(first);
    expect(stored[0]!.reports).toEqual([expect.objectContaining({ words: expect.stringContaining(second) })]);

    for (const [who, mine, theirs] of [
      [MEGAN, second, first],
      [DIEGO, first, second],
    ] as const) {
      const found = await bot.post(composeQuery(bot.serviceUrl, "", { from: who }));
      expect(text(found)).toContain(mine);
      expect(text(found)).not.toContain(theirs);
      const reopened = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from: who }));
      expect(text(reopened)).toContain(mine);
      expect(text(reopened)).not.toContain(theirs);
    }

    const soc = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(text(soc)).toContain(first);
    expect(text(soc)).toContain(second);
    expect(text(soc)).toContain("Also reported by 1 other person");
  });
});

describe("a second reporter of a message: everything they typed reaches the SOC", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot();
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("their title, words, time and urgency are on the analysts' triage card, and in no other reporter's view", async () => {
    await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    const payload = reportedMessage("1732600000301");
    const first = `FIRST-${randomUUID().slice(0, 8)}`;
    await reportMessage(bot, DIEGO, payload, { title: "Invoice scam", whatHappened: first });
    const posted = await until("the triage post recorded", async () => (await bot.incidents("", 1))[0]?.triage?.messageId);

    const title = `MEGAN-TITLE-${randomUUID().slice(0, 8)}`;
    const words = `MEGAN-WORDS-${randomUUID().slice(0, 8)}`;
    const megan = await reportMessage(bot, MEGAN, payload, {
      title,
      whatHappened: words,
      whenDate: "2026-11-20",
      whenTime: "09:30",
      urgent: "true",
    });
    expect(megan.body.task.value.title).toBe("Report added");
    expect(text(megan)).toContain(title);

    // The triage post is redrawn with her account: read back from what the bot sent Teams.
    const update = await until("the triage post redrawn with her report", () =>
      bot.connector.updated().find((u) => u.id === posted && JSON.stringify(u.activity).replace(/\u200b/g, "").includes(words)),
    );
    const card = JSON.stringify(update.activity).replace(/\u200b/g, "");
    expect(card).toContain(title);
    expect(card).toContain(words);
    expect(card).toContain("happened 20 Nov 2026, 09:30 UTC");
    expect(card).toContain("asked for High severity");
    const stored = (await bot.incidents("", 1))[0]!;
    expect(stored.reports).toEqual([
      expect.objectContaining({ title, firstActivityTimeUtc: "2026-11-20T09:30:00.000Z", severity: "High" }),
    ]);

    // The analyst's own view of it (an invoke answer) too; the first reporter's view has none of it.
    const soc = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(text(soc)).toContain(title);
    const diego = await bot.post(composeQuery(bot.serviceUrl, "", { from: DIEGO }));
    expect(text(diego)).toContain(first);
    expect(text(diego)).not.toContain(title);
    expect(text(diego)).not.toContain(words);
  });

  it("a second reporter who asks for the restricted-cases team only makes the incident restricted: the triage post shows the line", async () => {
    await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    const payload = reportedMessage("1732600000302");
    await reportMessage(bot, DIEGO, payload, { whatHappened: "first" });
    const posted = await until("the triage post recorded", async () => (await bot.incidents("", 1))[0]?.triage?.messageId);
    const words = `MEGAN-NEED-TO-KNOW-${randomUUID().slice(0, 8)}`;
    await reportMessage(bot, MEGAN, payload, { whatHappened: words, restricted: "true" });
    const stored = (await bot.incidents("", 1))[0]!;
    expect(stored.restricted).toBe(true);
    await until("the triage post redrawn", () => bot.connector.updated().find((u) => u.id === posted));
    expect(JSON.stringify(bot.connector.updated())).not.toContain(words);
    const lee = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: LEE }));
    expect(text(lee)).not.toContain(words);
  });
});

describe("an analyst who is not on the restricted-cases team and marks their own incident restricted", () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot();
  });
  afterAll(async () => {
    await bot.stop();
  });

  it("sees it as its reporter only: triage buttons answer as for an incident that does not exist", async () => {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: LEE }));
    const form = cardOf(bot.connector.sent()[0]);
    const words = `LEE-RESTRICTED-${randomUUID().slice(0, 8)}`;
    const data = { ...form.actions[0].data, ...values(form), title: "HR matter", description: words, restricted: "true" };
    const created = await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: LEE }));
    expect(text(created)).toContain(words);
    const [stored] = await bot.incidents("", 1);
    expect(stored!.restricted).toBe(true);

    const found = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: LEE }));
    expect(text(found)).toContain("Your report INC-1");
    for (const verb of ["triage.view", "triage.edit", "triage.assign"]) {
      const res = await bot.post(execute(bot.serviceUrl, verb, { incidentId: stored!.id, revision: stored!.revision }, { from: LEE }));
      expect(text(res)).toContain("That incident no longer exists.");
      expect(text(res)).not.toContain(words);
    }
    const soc = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(text(soc)).toContain(words);
  });
});

describe("random people, paths and ids never reveal another reporter's words", () => {
  let bot: TestBot;
  let world: World;
  beforeAll(async () => {
    bot = await startTestBot();
    world = await seed(bot);
  });
  afterAll(async () => {
    await bot.stop();
  });

  it("holds for 80 random requests", async () => {
    const ids = () => [world.plain.id, world.restricted.id, world.form.id, randomUUID(), world.plain.id.toUpperCase()];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Who>("lee", "diego", "guest"),
        fc.constantFrom("find", "view", "edit", "assign", "update", "dialog", "submit"),
        fc.nat(4),
        fc.string({ maxLength: 12 }),
        async (who, path, idIndex, typed) => {
          const from = PEOPLE[who];
          const id = ids()[idIndex]!;
          const url = bot.serviceUrl;
          const res = await bot.post(
            path === "find"
              ? composeQuery(url, typed || String(idIndex + 1), { from })
              : path === "dialog"
                ? fetchTaskFromMessage(url, idIndex % 2 ? world.plain.payload : world.restricted.payload, { from })
                : path === "submit"
                  ? execute(url, "report.create", { submissionId: id, title: "x", whatHappened: typed || "y" }, { from })
                  : execute(url, `triage.${path}`, { incidentId: id, revision: 1, title: "x" }, { from }),
          );
          expect(res.status).toBeLessThan(500);
          // Lee is an analyst: he may see the plain report and his own form, never the restricted one.
          const forbidden = who === "lee" ? [world.restricted.words] : [world.plain.words, world.restricted.words, world.form.words];
          for (const words of forbidden) expect(text(res)).not.toContain(words);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("another tenant", () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ ALLOWED_TENANT_IDS: TENANT });
  });
  afterAll(async () => {
    await bot.stop();
  });

  it("gets nothing from any path", async () => {
    const world = await seed(bot);
    const other = (activity: Record<string, any>) => ({
      ...activity,
      conversation: { ...activity.conversation, tenantId: "00000000-0000-4000-8000-0000000000ff" },
      channelData: { ...activity.channelData, tenant: { id: "00000000-0000-4000-8000-0000000000ff" } },
    });
    for (const activity of [
      composeQuery(bot.serviceUrl, `INC-${world.plain.number}`, { from: ALEX }),
      execute(bot.serviceUrl, "triage.view", { incidentId: world.plain.id }, { from: ALEX }),
      fetchTaskFromMessage(bot.serviceUrl, world.plain.payload, { from: ALEX }),
    ]) {
      const res = await bot.post(other(activity));
      expect(text(res)).not.toContain(world.plain.words);
      expect(res.status).toBe(403);
    }
  });
});

/** The visible text of an invoke's card answer (what a person would read). */
function visible(res: { body: any }): string {
  return JSON.stringify(res.body?.value?.body ?? res.body);
}
