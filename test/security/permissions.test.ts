import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { cardOf, values } from "../support/cards";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { ALEX, DIEGO, MEGAN, execute, message, submitMessage, type Person } from "../support/teams";
import { until } from "../support/until";
import type { Incident } from "../../src/incidents/model";
import { VERBS, type Verb } from "../../src/teams/verbs";

/*
 * Who may do what, for every card verb, through both ways Teams sends a click (Action.Execute, and
 * the Action.Submit fallback of older clients), on both stores. The table is typed by verb: a new
 * verb without a row does not compile, so it can't go untested.
 */

type Who = "analyst" | "reporter" | "employee";
const PEOPLE: Record<Who, Person> = { analyst: ALEX, reporter: MEGAN, employee: DIEGO };

interface Row {
  /** Who may change the incident with it; "nobody" for verbs that change none (they read, or open a form). */
  changes: Who[] | "nobody";
  /** Who gets to see the incident's title in the answer (reads). */
  sees?: Who[];
  /** The data a card sends with it, for the incident (its revision, a question's id, a task's id). */
  data(incident: Incident): Record<string, unknown>;
  /** Verbs that create incidents are tested where creation is (entry points, bad input, forged ids). */
  creates?: true;
}

const TABLE: Record<Verb, Row> = {
  [VERBS.create]: { creates: true, changes: "nobody", data: () => ({}) },
  [VERBS.report]: { creates: true, changes: "nobody", data: () => ({}) },
  [VERBS.form]: { changes: "nobody", data: () => ({}) },
  [VERBS.myReports]: { changes: "nobody", sees: ["reporter"], data: () => ({}) },
  [VERBS.view]: { changes: "nobody", sees: ["analyst"], data: (i) => ({ incidentId: i.id }) },
  [VERBS.edit]: { changes: "nobody", sees: ["analyst"], data: (i) => ({ incidentId: i.id }) },
  [VERBS.assign]: { changes: ["analyst"], data: (i) => ({ incidentId: i.id, revision: i.revision }) },
  [VERBS.update]: {
    changes: ["analyst"],
    data: (i) => ({
      incidentId: i.id,
      revision: i.revision,
      title: i.title,
      description: i.description,
      severity: i.severity,
      status: "Closed",
      closing: "FalsePositive.InaccurateData",
      closingComment: "Closed by whoever may",
      owner: "",
      tags: "",
    }),
  },
  [VERBS.comment]: { changes: ["analyst"], data: (i) => ({ incidentId: i.id, revision: i.revision, commentText: "A note", commentShared: "true" }) },
  [VERBS.ask]: { changes: ["analyst"], data: (i) => ({ incidentId: i.id, revision: i.revision, questionText: "A question" }) },
  [VERBS.task]: { changes: ["analyst"], data: (i) => ({ incidentId: i.id, revision: i.revision, taskTitle: "A task" }) },
  [VERBS.taskDone]: { changes: ["analyst"], data: (i) => ({ incidentId: i.id, taskId: i.tasks![0]!.id }) },
  [VERBS.answer]: { changes: ["reporter"], data: (i) => ({ incidentId: i.id, questionId: i.comments!.find((c) => c.kind === "question")!.id, answerText: "An answer" }) },
};

let cosmos: CosmosTestServer | undefined;
afterAll(async () => {
  await cosmos?.close();
});

describe.each(["sqlite", "cosmos"] as const)("on STORE=%s", (store) => {
  let bot: TestBot;
  beforeAll(async () => {
    if (store === "cosmos") cosmos ??= await startCosmosServer();
    bot = await startTestBot({ ...(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {}), RATE_LIMIT_ACTIONS_PER_MINUTE: "10000", RATE_LIMIT_CREATES_PER_MINUTE: "10000" });
  });
  afterAll(async () => {
    await bot.stop();
  });

  /** Waits until the work started after earlier answers (notices to Megan) has ended. */
  async function quiet(): Promise<void> {
    // A 20 s ceiling: generous, and inside the test's 30 s, so a failure names what it waited for.
    await until(
      "no notice pending and every send answered",
      async () => {
        const pending = (await bot.incidents()).some((incident) => (incident.outbox ?? []).some((n) => n.state === "pending"));
        return !pending && bot.connector.calls.every((c) => c.status !== 0);
      },
      20_000,
    );
  }

  /** A fresh report by Megan, with an open task and a question (as an analyst left them). */
  async function freshIncident(): Promise<Incident> {
    await quiet();
    const before = bot.connector.sent().length;
    await bot.post(message(bot.serviceUrl, `Something odd ${Date.now()}`, { from: MEGAN }));
    const form = cardOf(bot.connector.sent().slice(before).find((a) => a.attachments?.[0]?.content?.actions?.[0]?.verb === VERBS.report));
    await bot.post(execute(bot.serviceUrl, VERBS.report, { ...form.actions[0].data, ...values(form) }, { from: MEGAN }));
    const id = String(form.actions[0].data.submissionId);
    await bot.post(execute(bot.serviceUrl, VERBS.task, { incidentId: id, revision: 1, taskTitle: "Open task" }, { from: ALEX }));
    await bot.post(execute(bot.serviceUrl, VERBS.ask, { incidentId: id, revision: 2, questionText: "Open question" }, { from: ALEX }));
    // The question's notice to Megan goes out after the answer: let it, so it is not taken for an answer below.
    await quiet();
    const incident = await bot.app.service.get(id);
    if (!incident || incident.revision !== 3) throw new Error(`the fresh incident was not set up (revision ${incident?.revision})`);
    return incident;
  }

  const cases = (Object.keys(TABLE) as Verb[])
    .filter((verb) => !TABLE[verb].creates)
    .flatMap((verb) => (Object.keys(PEOPLE) as Who[]).flatMap((who) => (["Action.Execute", "Action.Submit"] as const).map((path) => [verb, who, path] as const)));

  it.each(cases)("%s by the %s through %s", async (verb, who, path) => {
    const row = TABLE[verb];
    const incident = await freshIncident();
    const data = row.data(incident);
    const from = PEOPLE[who];
    const mark = bot.connector.calls.length;
    const res =
      path === "Action.Execute"
        ? await bot.post(execute(bot.serviceUrl, verb, data, { from, replyToId: "some-message" }))
        : await bot.post(submitMessage(bot.serviceUrl, { verb, ...data }, { from, replyToId: "some-message" }));
    expect(res.status).toBe(200);
    const after = await bot.app.service.get(incident.id);
    const may = row.changes !== "nobody" && row.changes.includes(who);
    expect(after!.revision).toBe(incident.revision + (may ? 1 : 0));
    if (row.sees) {
      // What the person was shown: the invoke's answer, or (Action.Submit) the messages sent to them.
      const shown = path === "Action.Execute" ? [res.body] : bot.connector.calls.slice(mark).filter((c) => c.body?.recipient?.id === from.id).map((c) => c.body);
      if (row.sees.includes(who)) expect(JSON.stringify(shown)).toContain(incident.title);
      else expect(JSON.stringify(shown)).not.toContain(incident.title);
    }
  });
});
