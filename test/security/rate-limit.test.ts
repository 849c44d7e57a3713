import { RateLimiter, rateKey } from "../../src/teams/rate-limit";
import { aForm } from "../support/builders";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { storedIn } from "../support/security";
import { composeQuery, execute, fetchTaskFromMessage, LEE, MEGAN, message, messagePayload, search, submitMessage } from "../support/teams";

describe("the rate limiter", () => {
  it("lets a burst of the limit through, then one more each 60/limit seconds, per key", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(3, () => now);
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 0]);
    expect(limiter.take("a")).toBe(20_000);
    expect(limiter.take("b")).toBe(0);
    now += 19_999;
    expect(limiter.take("a")).toBe(1);
    now += 1;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(20_000);
    // Idle for longer than a minute: a full burst again, never more.
    now += 10 * 60_000;
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([0, 0, 0, 20_000]);
  });

  it("keeps at most maxKeys people in memory, forgetting idle ones first", () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now, 100);
    for (let i = 0; i < 1000; i++) {
      limiter.take(`person-${i}`);
      now += 1_000;
    }
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
    // Someone busy is still limited after the sweep.
    limiter.take("busy");
    limiter.take("busy");
    expect(limiter.take("busy")).toBeGreaterThan(0);
  });

  it("counts a person by directory id within their tenant, else by Teams id", () => {
    expect(rateKey({ from: { id: "29:x", name: "A", aadObjectId: "AAD-1" }, channelData: { tenant: { id: "T" } } } as never)).toBe("t/aad-1");
    expect(rateKey({ from: { id: "29:X", name: "A" }, conversation: { tenantId: "T2" } } as never)).toBe("t2/29:x");
  });
});

describe("per-person limits on the bot (RATE_LIMIT_CREATES_PER_MINUTE=3, RATE_LIMIT_SEARCHES_PER_MINUTE=5)", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ RATE_LIMIT_CREATES_PER_MINUTE: "3", RATE_LIMIT_SEARCHES_PER_MINUTE: "5" });
  });
  afterEach(async () => {
    await bot.stop();
  });

  const typed = () => ({
    ...aForm(),
    title: "Fourth phishing report this minute",
    description: "Same sender, new subject line.",
    severity: "High",
    status: "Active",
    closing: "",
    closingComment: "",
    owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
    tags: "Phishing,Finance",
    // The Defender part, filled too: kept like the rest.
    category: "InitialAccess",
    techniques: "T1566",
    recommendedActions: "Block the sender.",
    impacted: "",
    impactedTyped: "FIN-LAPTOP-07",
    evidenceTyped: "hxxps://paypa1-login[.]com/verify",
  });

  it("gives a create over the limit its form back, with everything typed and when to retry; nothing is stored", async () => {
    for (let i = 1; i <= 3; i++) {
      const res = await bot.post(execute(bot.serviceUrl, "incident.create", { ...aForm({ title: `Report ${i}` }) }));
      expect(visibleText(res.body.value)[0]).toBe(`Incident INC-${i} created`);
    }
    const form = typed();
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", form));
    expect(res.status).toBe(200);
    const card = res.body.value;
    expect(visibleText(card)).toContainEqual(
      expect.stringMatching(/^You have reached the limit of 3 new incidents a minute, so nothing was saved\. Everything you typed is still here: try Create incident again in (1[0-9]|20) seconds\.$/),
    );
    const { submissionId, ...inputs } = form;
    // Nothing chosen to attach to: the form's default, a new incident.
    expect(values(card)).toEqual({ ...inputs, attachTo: "new" });
    expect(card.actions[0].data.submissionId).toBe(submissionId);
    expect(storedIn(bot.app.config.SQLITE_PATH)).toMatchObject({ incidents: 3, lastNumber: 3 });
    expect(await bot.app.service.get(submissionId)).toBeUndefined();

    // Someone else is not held back by it.
    const other = await bot.post(execute(bot.serviceUrl, "incident.create", { ...aForm({ title: "Lee's report" }) }, { from: LEE }));
    expect(visibleText(other.body.value)[0]).toBe("Incident INC-4 created");
  });

  it("holds an employee's report from chat to the same limit: the report comes back as typed with when to retry; nothing is stored", async () => {
    const reportForm = async (words: string) => {
      bot.connector.reset();
      await bot.post(message(bot.serviceUrl, words, { from: MEGAN }));
      return cardOf(bot.connector.sent()[0]);
    };
    for (let i = 1; i <= 3; i++) {
      const form = await reportForm(`Phishing e-mail number ${i} asking for my password.`);
      const res = await bot.post(execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...values(form) }, { from: MEGAN }));
      expect(visibleText(res.body.value).join("\n")).toMatch(new RegExp(`INC-${i}\\b`));
    }
    const form = await reportForm("A fourth one, from a new sender, asking for my MFA code.");
    const typedIn = { ...values(form), where: "My inbox, 10:02" };
    const res = await bot.post(execute(bot.serviceUrl, "report.create", { ...form.actions[0].data, ...typedIn }, { from: MEGAN }));
    expect(res.status).toBe(200);
    const card = res.body.value;
    expect(visibleText(card)).toContainEqual(expect.stringMatching(/^You have reached the limit of 3 new incidents a minute, so nothing was saved\./));
    expect(values(card)).toEqual(typedIn);
    expect(card.actions[0].data.submissionId).toBe(form.actions[0].data.submissionId);
    expect(storedIn(bot.app.config.SQLITE_PATH)).toMatchObject({ incidents: 3, lastNumber: 3 });
    expect(await bot.app.service.get(String(form.actions[0].data.submissionId))).toBeUndefined();
  });

  it("holds the Action.Submit fallback of older clients to the same limit", async () => {
    for (let i = 1; i <= 3; i++) await bot.post(execute(bot.serviceUrl, "incident.create", { ...aForm({ title: `Report ${i}` }) }));
    // Their card updates for everyone go out after the answers.
    await bot.connector.waitForCalls(3);
    bot.connector.reset();
    const res = await bot.post(submitMessage(bot.serviceUrl, { verb: "incident.create", ...typed() }, { replyToId: "old-card-1" }));
    expect(res.status).toBe(200);
    // The form comes back as a new message: only an incident's own message is updated.
    expect(bot.connector.updated()).toEqual([]);
    expect(visibleText(cardOf(bot.connector.sent().at(-1)))).toContainEqual(expect.stringMatching(/limit of 3 new incidents a minute/));
    expect(storedIn(bot.app.config.SQLITE_PATH).incidents).toBe(3);
  });

  it("answers typeahead over the limit with a 429 that says when to retry", async () => {
    for (let i = 0; i < 5; i++) expect((await bot.post(search(bot.serviceUrl, "owners", "so"))).status).toBe(200);
    const res = await bot.post(search(bot.serviceUrl, "tags", "ph"));
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      statusCode: 429,
      type: "application/vnd.microsoft.error",
      value: { code: "TooManyRequests", message: expect.stringMatching(/^Too many searches in a short time\. Try again in (1[0-2]|[1-9]) seconds?\.$/) },
    });
    // Searching does not use up creating, and other people still search.
    expect(visibleText((await bot.post(execute(bot.serviceUrl, "incident.create", { ...aForm() }))).body.value)[0]).toBe("Incident INC-1 created");
    expect((await bot.post(search(bot.serviceUrl, "owners", "so", { from: LEE }))).status).toBe(200);
  });

  it("counts Find incident in the compose box as a search too, and says when to retry there", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await bot.post(composeQuery(bot.serviceUrl, "phish"));
      expect(res.body.composeExtension.type).toBe("result");
    }
    const res = await bot.post(composeQuery(bot.serviceUrl, "phish"));
    expect(res.status).toBe(200);
    expect(res.body.composeExtension).toEqual({ type: "message", text: expect.stringMatching(/^Too many searches in a short time\. Try again in \d+ seconds?\.$/) });
    expect((await bot.post(search(bot.serviceUrl, "tags", "ph"))).status).toBe(429);
  });
});

describe("per-person limit on buttons and dialogs (RATE_LIMIT_ACTIONS_PER_MINUTE=4)", () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ RATE_LIMIT_ACTIONS_PER_MINUTE: "4" });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it("answers the fifth click within a minute with a 429 that says when to retry; another person is not held up", async () => {
    for (let i = 0; i < 4; i++) expect((await bot.post(execute(bot.serviceUrl, "triage.view", { incidentId: "none" }))).status).toBe(200);
    const res = await bot.post(execute(bot.serviceUrl, "triage.view", { incidentId: "none" }));
    expect(res.status).toBe(429);
    expect(res.body.value.message).toMatch(/^Too many clicks in a short time, so nothing was done\. Try again in \d+ seconds?\.$/);
    expect((await bot.post(execute(bot.serviceUrl, "triage.view", { incidentId: "none" }, { from: LEE }))).status).toBe(200);
  });

  it("holds message-extension dialogs and old clients' buttons to the same limit", async () => {
    for (let i = 0; i < 4; i++) await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload()));
    const dialog = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload()));
    expect(dialog.body.task).toEqual({ type: "message", value: expect.stringMatching(/^Too many clicks/) });
    bot.connector.reset();
    await bot.post(submitMessage(bot.serviceUrl, { verb: "triage.view", incidentId: "none" }));
    expect(bot.connector.sent().map((a) => a.text)).toEqual([expect.stringMatching(/^Too many clicks/)]);
  });
});
