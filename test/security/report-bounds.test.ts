import { randomUUID } from "node:crypto";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { FaultProxy, type SeenRequest } from "../support/fault-proxy";
import { values } from "../support/cards";
import { REPORTS_KEPT_MAX } from "../../src/incidents/bounds";
import {
  ALEX,
  composeQuery,
  DIEGO,
  execute,
  fetchTaskFromMessage,
  MEGAN,
  messagePayload,
  submitActionFromMessage,
  type Person,
} from "../support/teams";

/*
 * Many people reporting one Teams message (finding 11 of issue 24): the incident keeps at most
 * REPORTS_KEPT_MAX later reports; the next reporter is told, in words, that theirs was counted, and
 * nothing of it is kept. A store that refuses a write as too large (Cosmos DB's 413) is answered in
 * words, never with a 500. Over HTTP with Teams-shaped activities, on both stores.
 */

const text = (res: { body: unknown }) => JSON.stringify(res.body ?? "").replace(/\u200b/g, "");

const reportedMessage = (id: string) =>
  messagePayload({
    id,
    linkToMessage: `https://teams.microsoft.com/l/message/19:facilities@thread.tacv2/${id}`,
    from: { user: { id: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a03", displayName: "Grady Archie" }, application: null },
    body: { contentType: "text", content: `Please pay the attached invoice today (${id}).` },
  });

/** An employee unknown to the directory's analysts: one of many who got the message. */
const employee = (i: number): Person => ({
  id: `29:employee-${i}`,
  name: `Employee ${i}`,
  aadObjectId: `0e0e0e0e-0000-4000-8000-${String(i).padStart(12, "0")}`,
});

async function reportMessage(
  bot: TestBot,
  from: Person,
  payload: ReturnType<typeof messagePayload>,
  inputs: Record<string, string>,
) {
  const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, payload, { from }));
  const card = open.body.task.value.card.content;
  const data = { ...card.actions[0].data, ...values(card), ...inputs };
  return bot.post(submitActionFromMessage(bot.serviceUrl, data, { from, payload }));
}

describe.each(["sqlite", "cosmos"] as const)("many people reporting one message on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  let bot: TestBot;
  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
    bot = await startTestBot(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {});
  });
  afterAll(async () => {
    await bot.stop();
    await cosmos?.close();
  });

  it(`keeps the ${REPORTS_KEPT_MAX}th later report, and counts the next with a clear answer, keeping nothing of it`, async () => {
    const payload = reportedMessage("1732600000401");
    expect((await reportMessage(bot, employee(0), payload, { whatHappened: "FIRST" })).body.task.value.title).toBe("Report sent");
    for (let i = 1; i < REPORTS_KEPT_MAX; i++) {
      const res = await reportMessage(bot, employee(i), payload, { whatHappened: `WORDS-${i}` });
      expect(res.body.task.value.title).toBe("Report added");
    }
    const lastWords = `LAST-KEPT-${randomUUID().slice(0, 8)}`;
    const last = await reportMessage(bot, employee(REPORTS_KEPT_MAX), payload, { whatHappened: lastWords });
    expect(last.body.task.value.title).toBe("Report added");
    expect(text(last)).toContain(lastWords);

    const overWords = `OVER-${randomUUID().slice(0, 8)}`;
    const over = await reportMessage(bot, employee(REPORTS_KEPT_MAX + 1), payload, { title: overWords, whatHappened: overWords });
    expect(over.status).toBe(200);
    expect(over.body.task.value.title).toBe("Report counted");
    expect(text(over)).toContain("The SOC already has many reports of this message, so yours was counted");
    // Nothing of the incident: they are not one of its reporters.
    expect(text(over)).not.toContain("INC-1");
    expect(text(over)).not.toContain("FIRST");

    const [stored] = await bot.incidents("", 10);
    expect(stored!.reports).toHaveLength(REPORTS_KEPT_MAX);
    expect(stored!.reports!.at(-1)!.words).toContain(lastWords);
    expect(stored!.reportsNotKept).toBe(1);
    expect(JSON.stringify(stored)).not.toContain(overWords);
    expect(JSON.stringify(stored)).not.toContain(employee(REPORTS_KEPT_MAX + 1).aadObjectId);

    const soc = await bot.post(composeQuery(bot.serviceUrl, "INC-1", { from: ALEX }));
    expect(text(soc)).toContain("1 later reports were counted but not kept");
    const theirs = await bot.post(composeQuery(bot.serviceUrl, "", { from: employee(REPORTS_KEPT_MAX + 1) }));
    expect(text(theirs)).not.toContain("INC-1");
  }, 120_000);
});

describe("Cosmos DB refusing a write as too large (HTTP 413)", () => {
  let cosmos: CosmosTestServer;
  let proxy: FaultProxy;
  let bot: TestBot;
  beforeAll(async () => {
    cosmos = await startCosmosServer();
    proxy = await FaultProxy.start(cosmos.endpoint);
    bot = await startTestBot(cosmosEnv(proxy.endpoint, TEST_COSMOS_KEY));
  });
  afterAll(async () => {
    proxy.clear();
    await bot.stop();
    await proxy.close();
    await cosmos.close();
  });

  it("answers a later report and an analyst's Assign to me in words, never with a 500, and writes nothing", async () => {
    const payload = reportedMessage("1732600000402");
    await reportMessage(bot, DIEGO, payload, { whatHappened: "FIRST" });
    const [incident] = await bot.incidents("", 1);
    const isWrite = (r: SeenRequest) => r.method === "PUT" && r.path.endsWith(`/docs/${incident!.id}`);
    proxy.inject({ kind: "status", status: 413 }, { match: isWrite });

    const megan = await reportMessage(bot, MEGAN, payload, { whatHappened: "SECOND" });
    expect(megan.status).toBe(200);
    expect(text(megan)).toContain("This incident holds as much as one incident can, so nothing was saved.");
    // The form comes back as typed.
    expect(text(megan)).toContain("SECOND");

    const assign = await bot.post(
      execute(bot.serviceUrl, "triage.assign", { incidentId: incident!.id, revision: incident!.revision }, { from: ALEX }),
    );
    expect(assign.status).not.toBe(500);
    expect(text(assign)).toContain("This incident holds as much as one incident can, so nothing was saved.");
    expect(proxy.seen.filter(isWrite).length).toBeGreaterThanOrEqual(2);

    const [after] = await bot.incidents("", 1);
    expect(after!.revision).toBe(incident!.revision);
    expect(after!.reports).toBeUndefined();
    expect(after!.owner).toBeUndefined();

    // Once the store takes it again, so does the bot.
    proxy.clear();
    expect((await reportMessage(bot, MEGAN, payload, { whatHappened: "SECOND" })).body.task.value.title).toBe("Report added");
  }, 60_000);
});
