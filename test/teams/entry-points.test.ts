import { createHash } from "node:crypto";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, elements, errorAfter, input, values, visibleText } from "../support/cards";
import {
  ALEX,
  LEE,
  MEGAN,
  composeQuery,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  submitActionFromMessage,
  type Person,
} from "../support/teams";
import { until } from "../support/until";

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot();
});
afterEach(async () => {
  await bot.stop();
});

async function say(text: string, from: Person, where: "personal" | "channel" = "personal") {
  bot.connector.reset();
  const res = await bot.post(message(bot.serviceUrl, text, { from, where }));
  expect(res.status).toBe(200);
  return bot.connector.sent()[0];
}

function submitted(card: Record<string, any>, inputs: Record<string, string>) {
  return { ...card.actions[0].data, ...values(card), ...inputs };
}

describe("an employee reporting in chat", () => {
  const words = "someone followed me through the badge door at building 3. They had no badge.";

  it("gets the short report, prefilled from what they wrote", async () => {
    const card = cardOf(await say(words, MEGAN));
    expect(visibleText(card)[0]).toBe("Report suspicious activity");
    expect(input(card, "title").value).toBe("Someone followed me through the badge door at building 3");
    expect(input(card, "whatHappened").value).toBe(words);
    expect(input(card, "whenDate").type).toBe("Input.Date");
    expect(input(card, "whenTime").type).toBe("Input.Time");
    expect(input(card, "urgent")).toMatchObject({ type: "Input.Toggle", valueOn: "true", value: "false" });
    expect(elements(card).some((e) => ["owner", "status", "closing"].includes(e.id))).toBe(false);
    expect(card.actions[0]).toMatchObject({ type: "Action.Execute", verb: "report.create" });
  });

  it("sends it: a New, unowned, urgent incident with when and where, and a receipt that says what happens next", async () => {
    const card = cardOf(await say(words, MEGAN));
    const data = submitted(card, { whenDate: "2026-07-01", whenTime: "08:30", where: "Building 3, north door", urgent: "true" });
    const activity = execute(bot.serviceUrl, "report.create", data, { from: MEGAN });
    const res = await bot.post({ ...activity, localTimezone: "Europe/London" });
    expect(res.status).toBe(200);
    const receipt = res.body.value;
    const text = visibleText(receipt);
    expect(text[0]).toBe("Thank you. Your report is INC-1");
    expect(text.join("\n")).toMatch(/What happens next/);
    expect(text.join("\n")).toMatch(/Reference: INC-1/);
    expect(text.join("\n")).toMatch(/Priority: Urgent/);

    const stored = await bot.app.service.get(data.submissionId);
    expect(stored).toMatchObject({
      severity: "High",
      status: "New",
      entryPoint: "chat-report",
      createdBy: { objectId: MEGAN.aadObjectId, name: "Megan Bowen" },
      // 08:30 in London in July is 07:30 UTC.
      firstActivityTimeUtc: "2026-07-01T07:30:00.000Z",
      description: `${words}\n\nWhere: Building 3, north door`,
    });
    expect(stored?.owner).toBeUndefined();
  });

  it("keeps what they typed when something is missing", async () => {
    const card = cardOf(await say(words, MEGAN));
    const res = await bot.post(execute(bot.serviceUrl, "report.create", submitted(card, { whatHappened: " ", whenDate: "2099-01-01" }), { from: MEGAN }));
    expect(errorAfter(res.body.value, "whatHappened")).toBe("Tell us what happened.");
    expect(visibleText(res.body.value)).toContain("That time is in the future.");
    expect(input(res.body.value, "title").value).toBe("Someone followed me through the badge door at building 3");
    expect(input(res.body.value, "whenDate").value).toBe("2099-01-01");
  });

  it("gets the report form for /incident, while an analyst gets the full form", async () => {
    expect(visibleText(cardOf(await say("/incident", MEGAN)))[0]).toBe("Report suspicious activity");
    expect(visibleText(cardOf(await say("/incident", ALEX)))[0]).toBe("Create incident");
  });

  it("can't set owner, status or classification with a crafted payload", async () => {
    // Her own form (its id was issued to her), sent as the analysts' form with fields she may not set.
    const form = cardOf(await say("/incident", MEGAN));
    const crafted = submitted(form, {
      title: "Crafted",
      owner: ALEX.aadObjectId!,
      status: "Closed",
      closing: "FalsePositive.InaccurateData",
      closingComment: "nothing to see",
      severity: "Low",
    });
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", crafted, { from: MEGAN }));
    expect(visibleText(res.body.value)[0]).toBe("Incident INC-1 created");
    const stored = await bot.app.service.get(crafted.submissionId);
    expect(stored).toMatchObject({ status: "New", severity: "Medium" });
    expect(stored?.owner).toBeUndefined();
    expect(stored?.classification).toBeUndefined();
  });
});

describe("creating an incident from a message", () => {
  it("opens the full form for an analyst, prefilled with the message as plain text", async () => {
    const res = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    expect(res.status).toBe(200);
    expect(res.body.task).toMatchObject({ type: "continue", value: { title: "Create incident" } });
    const card = res.body.task.value.card.content;
    expect(input(card, "title").value).toBe("Door 3 badge reader logged an entry for a disabled badge at 02:14");
    expect(input(card, "description").value).toBe(
      "Door 3 badge reader logged an entry for a disabled badge at 02:14.\n\nGuard saw nobody. details",
    );
    const [submit] = card.actions;
    expect(submit.type).toBe("Action.Submit");
    expect(submit.data).toMatchObject({
      verb: "incident.create",
      evidence: { kind: "teams-message", messageId: "1732600000001", author: { kind: "user", name: "Megan Bowen" } },
    });
  });

  it("opens the report form for an employee", async () => {
    const res = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: MEGAN }));
    const card = res.body.task.value.card.content;
    expect(visibleText(card)[0]).toBe("Report suspicious activity");
    expect(card.actions[0]).toMatchObject({ type: "Action.Submit", data: { verb: "report.create" } });
  });

  it("records the message as evidence, closes the dialog and posts the confirmation in the conversation", async () => {
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    const card = open.body.task.value.card.content;
    bot.connector.reset();
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, submitted(card, { severity: "High", tags: "Physical" }), { from: ALEX, payload: messagePayload() }));
    expect(res.status).toBe(200);
    expect(res.body ?? {}).toEqual({});
    const posted = bot.connector.calls.find((c) => c.method === "POST" && c.path.includes("19:facilities@thread.tacv2"));
    expect(visibleText(cardOf(posted!.body))[0]).toBe("Incident INC-1 created");

    const [found] = await bot.incidents("INC-1", 1);
    expect(found).toMatchObject({
      entryPoint: "message-extension",
      severity: "High",
      evidence: [
        {
          kind: "teams-message",
          messageId: "1732600000001",
          link: "https://teams.microsoft.com/l/message/19:facilities@thread.tacv2/1732600000001",
          author: { kind: "user", id: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" },
          sentUtc: "2026-11-26T02:14:00.000Z",
          bodySha256: createHash("sha256").update(messagePayload().body.content).digest("hex"),
        },
      ],
    });
  });

  it("keeps the dialog open with the errors and values when the form is wrong", async () => {
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    const card = open.body.task.value.card.content;
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, submitted(card, { title: " ", status: "Closed" }), { from: ALEX }));
    expect(res.body.task.type).toBe("continue");
    const again = res.body.task.value.card.content;
    expect(errorAfter(again, "title")).toBe("Enter a title.");
    expect(errorAfter(again, "closing")).toBe("A closed incident needs a classification.");
    expect(input(again, "description").value).toMatch(/^Door 3 badge reader/);
    expect(again.actions[0].type).toBe("Action.Submit");
  });

  it("points to the existing incident when the same message is reported again, and refuses someone else's form", async () => {
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    const data = submitted(open.body.task.value.card.content, {});
    await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX, payload: messagePayload() }));
    const again = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: ALEX, payload: messagePayload() }));
    expect(again.body).toEqual({ task: { type: "message", value: "This message was already reported as INC-1." } });

    const reopen = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: LEE }));
    expect(reopen.body.task.value.title).toBe("Already reported as INC-1");
    // Alex's form, sent by Lee: its id was not issued to him, so it comes back to him as typed.
    const replayed = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: LEE, payload: messagePayload() }));
    expect(replayed.body.task.value.title).toBe("Create incident");
    expect(visibleText(replayed.body.task.value.card.content).join("\n")).toMatch(/opened by someone else/);
    const stored = await bot.incidents("", 10);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.reports).toBeUndefined();
  });

  it("says the incident was created when the confirmation can't be posted in the conversation", async () => {
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    bot.connector.failNext(20, 403);
    const res = await bot.post(submitActionFromMessage(bot.serviceUrl, submitted(open.body.task.value.card.content, {}), { from: ALEX, payload: messagePayload() }));
    expect(res.body.task.type).toBe("message");
    expect(res.body.task.value).toMatch(/^INC-1 was created\. I could not post the confirmation/);
  });
});

describe("finding incidents from the compose box", () => {
  beforeEach(async () => {
    const make = async (title: string, tags: string) => {
      const form = cardOf(await say("incident", ALEX));
      await bot.post(execute(bot.serviceUrl, "incident.create", submitted(form, { title, tags })));
    };
    await make("Badge reader at door 3", "Physical");
    await make("Phishing e-mail to finance", "Phishing");
    await make("Second badge alarm", "Physical");
  });

  const titles = async (text: string | undefined) => {
    const res = await bot.post(composeQuery(bot.serviceUrl, text));
    expect(res.status).toBe(200);
    expect(res.body.composeExtension).toMatchObject({ type: "result", attachmentLayout: "list" });
    return res.body.composeExtension.attachments.map((a: any) => a.preview.content.title);
  };

  it("shows recent incidents, newest first, when opened", async () => {
    expect(await titles(undefined)).toEqual(["INC-3: Second badge alarm", "INC-2: Phishing e-mail to finance", "INC-1: Badge reader at door 3"]);
  });

  it.each([
    ["INC-2", ["INC-2: Phishing e-mail to finance"]],
    ["2", ["INC-2: Phishing e-mail to finance"]],
    ["badge", ["INC-3: Second badge alarm", "INC-1: Badge reader at door 3"]],
    ["physical", ["INC-3: Second badge alarm", "INC-1: Badge reader at door 3"]],
    ["nothing like this", []],
  ])("finds %p", async (text, expected) => {
    expect(await titles(text)).toEqual(expected);
  });

  it("gives each result a card to insert and a preview", async () => {
    const res = await bot.post(composeQuery(bot.serviceUrl, "INC-1"));
    const [result] = res.body.composeExtension.attachments;
    expect(result.contentType).toBe("application/vnd.microsoft.card.adaptive");
    expect(visibleText(result.content)).toContain("Badge reader at door 3");
    expect(result.preview.content.text).toBe("Medium · New · Unassigned · Physical");
  });
});

describe("the SOC triage channel", () => {
  const triagePosts = () =>
    bot.connector.calls.filter((c) => c.method === "POST" && c.path.startsWith("/v3/conversations/19:soc-triage@thread.tacv2/activities"));

  async function waitForTriagePosts(count: number) {
    await until(`${count} triage post(s)`, () => triagePosts().length >= count);
  }

  it("is chosen by an analyst saying triage here, and not by an employee", async () => {
    expect((await say("triage here", MEGAN, "channel")).text).toBe("Only SOC analysts can choose the triage channel.");
    expect((await say("triage here", ALEX, "personal")).text).toMatch(/in the team channel/);
    expect((await say("triage here", ALEX, "channel")).text).toMatch(/^Done: every new incident will be posted in this channel/);
  });

  it("gets every new incident with Assign to me, which updates it for everyone and never overwrites a rival", async () => {
    await say("triage here", ALEX, "channel");
    const report = cardOf(await say("I got an e-mail asking for my password", MEGAN));
    await bot.post(execute(bot.serviceUrl, "report.create", submitted(report, {}), { from: MEGAN }));
    await waitForTriagePosts(1);
    const triage = cardOf(triagePosts()[0]!.body);
    expect(visibleText(triage)[0]).toBe("INC-1: new medium incident");
    expect(triage.actions.map((a: any) => a.title)).toEqual(["Assign to me", "Edit"]);

    const assign = triage.actions[0].data;
    // Clicked in the triage post itself: the message the bot recorded when it posted there.
    const posted = await until("the triage post recorded", async () => (await bot.incidents("1", 1))[0]!.triage?.messageId);
    const mine = await bot.post(execute(bot.serviceUrl, "triage.assign", assign, { from: ALEX, replyToId: posted }));
    expect(visibleText(mine.body.value)).toEqual(expect.arrayContaining(["Assigned to Alex Wilber (Teams) by Alex Wilber.", "Alex Wilber (Teams)"]));
    while (!bot.connector.updated().some((u) => u.id === posted)) await bot.connector.waitForCalls(bot.connector.calls.length + 1);

    // Lee clicked on the same card, from the same revision, a moment later.
    const rival = await bot.post(execute(bot.serviceUrl, "triage.assign", assign, { from: LEE }));
    expect(visibleText(rival.body.value).join("\n")).toMatch(/changed before your click: it is now assigned to Alex Wilber \(Teams\)/);
    const [stored] = await bot.incidents("1", 1);
    expect(stored?.owner?.objectId).toBe(ALEX.aadObjectId);
    expect(stored?.triage).toMatchObject({ state: "posted", attempts: 1, messageId: expect.any(String) });

    const employee = await bot.post(execute(bot.serviceUrl, "triage.assign", { incidentId: stored!.id, revision: stored!.revision }, { from: MEGAN }));
    expect(visibleText(employee.body.value)).toContain("Only SOC analysts can take incidents.");
  }, 120_000);

  it("opens the full form from Edit and saves it, reporting a concurrent change instead of overwriting it", async () => {
    await say("triage here", ALEX, "channel");
    const form = cardOf(await say("incident", ALEX));
    await bot.post(execute(bot.serviceUrl, "incident.create", submitted(form, { title: "Suspicious login", tags: "Identity" })));
    await waitForTriagePosts(1);
    const triage = cardOf(triagePosts()[0]!.body);

    const edit = await bot.post(execute(bot.serviceUrl, "triage.edit", triage.actions[1].data, { from: ALEX }));
    const editForm = edit.body.value;
    expect(visibleText(editForm)[0]).toBe("Edit INC-1");
    expect(values(editForm)).toMatchObject({ title: "Suspicious login", tags: "Identity", status: "New" });
    const save = editForm.actions[0];
    expect(save).toMatchObject({ verb: "incident.update", title: "Save changes" });

    // Lee saves a change first, from the same revision.
    const leeEdit = await bot.post(execute(bot.serviceUrl, "triage.edit", triage.actions[1].data, { from: LEE }));
    const leeSaved = await bot.post(execute(bot.serviceUrl, "incident.update", { ...leeEdit.body.value.actions[0].data, ...values(leeEdit.body.value), status: "Active" }, { from: LEE }));
    expect(visibleText(leeSaved.body.value)).toContain("Saved by Lee Gu.");

    const mine = await bot.post(execute(bot.serviceUrl, "incident.update", { ...save.data, ...values(editForm), severity: "High" }, { from: ALEX }));
    const banner = visibleText(mine.body.value).find((t) => t.startsWith("Someone changed INC-1"));
    expect(banner).toMatch(/your changes were not saved\. Its status is now Active/);
    expect(input(mine.body.value, "severity").value).toBe("High");
    const [stored] = await bot.incidents("1", 1);
    expect(stored).toMatchObject({ status: "Active", severity: "Medium" });

    // Saving again from the refreshed form applies the change knowingly.
    const again = await bot.post(execute(bot.serviceUrl, "incident.update", { ...mine.body.value.actions[0].data, ...values(mine.body.value) }, { from: ALEX }));
    expect(visibleText(again.body.value)).toContain("Saved by Alex Wilber.");
    expect((await bot.incidents("1", 1))[0]).toMatchObject({ severity: "High", status: "New" });
  });

  it("does not fail the create when the triage post fails, and records the failure as due for a retry", async () => {
    await say("triage here", ALEX, "channel");
    const form = cardOf(await say("incident", ALEX));
    bot.connector.reset();
    bot.connector.failNext(20, 403);
    const data = submitted(form, { title: "Posted later" });
    const res = await bot.post({ ...execute(bot.serviceUrl, "incident.create", data), replyToId: undefined });
    expect(visibleText(res.body.value)[0]).toBe("Incident INC-1 created");
    const stored = await until("the failed triage post recorded", async () => {
      const incident = await bot.app.service.get(data.submissionId);
      return incident?.triage?.state === "failed" && incident;
    });
    expect(stored?.triage).toMatchObject({ state: "failed", attempts: 1 });
    expect(await bot.app.service.unsentNotices(0, 10)).toHaveLength(1);
  }, 120_000);

  it("posts a failed triage card again once it has waited a minute, and records it as posted", async () => {
    let now = Date.now();
    const timed = await startTestBot({ NOTICE_SWEEP_SECONDS: "1" }, { clock: () => new Date(now) });
    try {
      const inChannel = (c: { method: string; path: string }) => c.method === "POST" && c.path.startsWith("/v3/conversations/19:soc-triage@thread.tacv2/activities");
      await timed.post(message(timed.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
      timed.connector.reset();
      await timed.post(message(timed.serviceUrl, "incident", { from: ALEX }));
      const form = cardOf(timed.connector.sent()[0]);
      timed.connector.refuse((c) => (inChannel(c) ? 403 : undefined));
      const data = submitted(form, { title: "Posted later" });
      await timed.post(execute(timed.serviceUrl, "incident.create", data));
      const failed = await until("the failed triage post recorded", async () => {
        const incident = await timed.app.service.get(data.submissionId);
        return incident?.triage?.state === "failed" && incident;
      });
      expect(failed?.triage).toMatchObject({ state: "failed", attempts: 1 });
      timed.connector.refuse(undefined);

      // Within the minute nothing is retried, whatever happens in the meantime.
      // Fixed sleeps, not polls: the sweep runs at most once a second by the wall clock (Date.now), so only time
      // passing lets the next turn sweep; and then nothing should happen, which no poll can wait for (a negative check).
      await new Promise((r) => setTimeout(r, 1100));
      await timed.post(message(timed.serviceUrl, "help", { from: ALEX }));
      await new Promise((r) => setTimeout(r, 300));
      expect((await timed.app.service.get(data.submissionId))?.triage).toMatchObject({ state: "failed", attempts: 1 });

      // A minute later, the next activity's sweep posts it.
      now += 61_000;
      // A fixed sleep, not a poll: a second by the wall clock since the last sweep, so that the next turn sweeps again.
      await new Promise((r) => setTimeout(r, 1100));
      await timed.post(message(timed.serviceUrl, "help", { from: ALEX }));
      const stored = await until("the triage post sent again", async () => {
        const incident = await timed.app.service.get(data.submissionId);
        return incident?.triage?.state === "posted" && incident;
      });
      expect(stored?.triage).toMatchObject({ state: "posted", attempts: 2, messageId: expect.any(String) });
      const delivered = timed.connector.calls.filter((c) => inChannel(c) && c.status === 200);
      expect(delivered).toHaveLength(1);
      expect(visibleText(cardOf(delivered[0]!.body))[0]).toBe("INC-1: new medium incident");
    } finally {
      await timed.stop();
    }
  }, 120_000);
});
