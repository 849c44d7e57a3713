import { randomUUID } from "node:crypto";
import { ATTACH_REFUSED, INCIDENTS_OWN } from "../../src/incidents/attach";
import { checkEntity, type Entity } from "../../src/incidents/entities";
import type { Incident } from "../../src/incidents/model";
import { messageIncidentId } from "../../src/teams/message-source";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { cardOf, errorAfter, input, values, visibleText } from "../support/cards";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import {
  ALEX,
  LEE,
  MEGAN,
  execute,
  fetchTaskFromMessage,
  message,
  messagePayload,
  search,
  submitActionFromMessage,
  type Person,
} from "../support/teams";
import { until } from "../support/until";

/*
 * Attach to an existing incident (issue 26, item 4): an analyst's form, or Create incident on a message,
 * adds the report to an incident they choose instead of creating one. The chosen id is the client's:
 * it must exist in this workspace and be one the analyst sees in full, else an error next to the field
 * and nothing written. Alex is an analyst on the restricted-cases team, Lee an analyst outside it,
 * Megan an employee.
 */

const text = (card: unknown) => visibleText(card as Record<string, unknown>).join("\n");

describe.each(["sqlite", "cosmos"] as const)("attach to an existing incident on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  let env: Record<string, string>;
  let bot: TestBot;

  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
  });
  afterAll(async () => {
    await cosmos?.close();
  });
  beforeEach(async () => {
    env = store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {};
    bot = await startTestBot(env);
  });
  afterEach(async () => {
    await bot.stop();
  });

  async function formFor(from: Person) {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from }));
    return cardOf(bot.connector.sent()[0]);
  }

  const filled = (card: Record<string, any>, typed: Record<string, string>) => ({
    ...card.actions[0].data,
    ...values(card),
    ...typed,
  });

  /** An analyst's new incident from the chat form; `restricted` for need-to-know. */
  async function created(from: Person, title: string, restricted = false): Promise<Incident> {
    const form = await formFor(from);
    const data = filled(form, { title, ...(restricted && { restricted: "true" }) });
    const res = await bot.post(execute(bot.serviceUrl, "incident.create", data, { from }));
    expect(res.status).toBe(200);
    return (await bot.app.service.get(data.submissionId))!;
  }

  /** The form in chat, sent with an incident chosen to attach to. */
  async function attachByForm(from: Person, attachTo: string, typed: Record<string, string> = {}) {
    const form = await formFor(from);
    const data = filled(form, {
      title: "Same sender again",
      description: "A second mail from the fake payroll address.",
      attachTo,
      ...typed,
    });
    return { data, res: await bot.post(execute(bot.serviceUrl, "incident.create", data, { from })) };
  }

  /** Create incident on the message, the dialog sent with an incident chosen. */
  async function attachByMessage(from: Person, attachTo: string) {
    const open = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from }));
    const card = open.body.task.value.card.content;
    const data = filled(card, { attachTo });
    return {
      card,
      data,
      res: await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from, payload: messagePayload() })),
    };
  }

  async function typeahead(from: Person, typed: string) {
    return bot.post(search(bot.serviceUrl, "incidents", typed, { from }));
  }

  it("from Create incident on a message: the report and the message's evidence join the chosen incident, and the analyst is told which", async () => {
    await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    const target = await created(LEE, "Phishing from fake payroll");
    await until("the triage post", async () => (await bot.app.service.get(target.id))?.triage?.state === "posted");
    const posted = (await bot.app.service.get(target.id))!.triage!.messageId!;

    // The dialog offers the incidents typeahead; Lee finds the incident by a word of its title.
    const { card, res } = await (async () => {
      const found = await typeahead(LEE, "payroll");
      expect(found.body.value.results).toEqual([{ title: "INC-1: Phishing from fake payroll", value: target.id }]);
      bot.connector.reset();
      return attachByMessage(LEE, target.id);
    })();
    expect(input(card, "attachTo")).toMatchObject({
      type: "Input.ChoiceSet",
      "choices.data": { type: "Data.Query", dataset: "incidents" },
    });

    expect(res.status).toBe(200);
    expect(res.body.task.value.title).toBe("Report added");
    const told = text(res.body.task.value.card.content);
    expect(told).toMatch(/^Added to INC-1\n/);
    expect(told).toContain("Added to INC-1: Phishing from fake payroll.");
    // A button to the incident's post in the triage channel (Teams' deep link to a channel message).
    const open = res.body.task.value.card.content.actions.find((a: { id?: string }) => a.id === "openIncident");
    expect(open).toMatchObject({ type: "Action.OpenUrl", title: "Open in the triage channel" });
    expect(open.url).toBe(
      `https://teams.microsoft.com/l/message/19%3Asoc-triage%40thread.tacv2/${posted}?tenantId=72f988bf-0000-4000-8000-000000000001&parentMessageId=${posted}`,
    );

    // One incident, with Lee's report of the message and its evidence; no incident for the message itself.
    const all = await bot.incidents();
    expect(all.map((i) => i.id)).toEqual([target.id]);
    const stored = all[0]!;
    expect(stored.reports).toHaveLength(1);
    expect(stored.reports![0]).toMatchObject({
      reporter: { objectId: LEE.aadObjectId },
      entryPoint: "message-extension",
      title: "Door 3 badge reader logged an entry for a disabled badge at 02:14",
      evidence: { kind: "teams-message", messageId: "1732600000001", author: { kind: "user", name: "Megan Bowen" } },
    });
    const messageId = messageIncidentId("test-workspace", "19:facilities@thread.tacv2", "1732600000001");
    expect(await bot.app.service.get(messageId)).toBeUndefined();
    // Nothing posted in the conversation the message is in; the triage post is redrawn with the report.
    expect(bot.connector.calls.some((c) => c.method === "POST" && c.path.includes("facilities"))).toBe(false);
    await until("the triage post redrawn", () => bot.connector.updated().some((u) => u.id === posted));
    const redrawn = bot.connector.updated().find((u) => u.id === posted)!;
    expect(JSON.stringify(redrawn.activity)).toContain("Door 3 badge reader");
    // What the message brings comes with it, as for a new report: its link target (and its domain), its author and
    // the analyst who reported it, both named by the directory.
    expect(stored.entities?.map((e) => `${e.type}:${e.value}:${e.source}`).sort()).toEqual([
      "domain:evil.example:extracted",
      "url:https://evil.example/:extracted",
      expect.stringMatching(/^user:.+:directory$/),
      expect.stringMatching(/^user:.+:directory$/),
    ]);
    expect(
      stored.entities
        ?.filter((e) => e.type === "user")
        .map((e) => e.name)
        .sort(),
    ).toEqual(["Lee Gu", "Megan Bowen (Teams)"]); // the directory's names, not the message's
  });

  it("a message added to an incident stays with it: someone else's Create incident on it joins that incident, or shows it", async () => {
    const target = await created(LEE, "Phishing from fake payroll");
    expect((await attachByMessage(LEE, target.id)).res.status).toBe(200);

    // Megan (an employee, who may not see the incident) reports the same message: her report joins it, no new incident.
    const opened = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: MEGAN }));
    const form = opened.body.task.value.card.content;
    expect(text(form)).not.toContain("Phishing from fake payroll");
    const sent = await bot.post(
      submitActionFromMessage(bot.serviceUrl, { ...form.actions[0].data, ...values(form) }, { from: MEGAN, payload: messagePayload() }),
    );
    expect(sent.status).toBe(200);
    const all = await bot.incidents();
    expect(all.map((i) => i.id)).toEqual([target.id]);
    expect(all[0]!.reports?.map((r) => r.reporter.objectId)).toEqual([LEE.aadObjectId, MEGAN.aadObjectId]);
    expect(await bot.app.service.get(messageIncidentId("test-workspace", "19:facilities@thread.tacv2", "1732600000001"))).toBeUndefined();

    // Alex (who sees it in full) opening Create incident on the message is shown the incident it belongs to.
    const shown = await bot.post(fetchTaskFromMessage(bot.serviceUrl, messagePayload(), { from: ALEX }));
    expect(shown.body.task.value.title).toBe("Already reported as INC-1");
  });

  it("from the analyst's form: the report joins the chosen incident; sent twice (a double click), it is added once", async () => {
    const target = await created(ALEX, "Tailgating at building 3");
    const { data, res } = await attachByForm(LEE, target.id);
    const card = res.body.value;
    expect(text(card)).toContain("Added to INC-1: Tailgating at building 3.");
    const again = await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: LEE }));
    expect(text(again.body.value)).toContain("This form had already been sent: it was added once.");

    const all = await bot.incidents();
    expect(all).toHaveLength(1);
    expect(all[0]!.reports).toHaveLength(1);
    expect(all[0]!.reports![0]).toMatchObject({
      reporter: { objectId: LEE.aadObjectId },
      entryPoint: "form",
      title: "Same sender again",
      words: "A second mail from the fake payroll address.",
      submissionId: data.submissionId,
    });
    // Another form of his (a second message he saw) is another report, though he reported this incident already.
    await attachByForm(LEE, target.id, { title: "And a third" });
    expect((await bot.app.service.get(target.id))!.reports!.map((r) => r.title)).toEqual(["Same sender again", "And a third"]);
  });

  it("from the analyst's form: the impacted assets, people and evidence typed in its boxes join the incident; an invalid one writes nothing", async () => {
    const target = await created(ALEX, "Phishing from fake payroll");
    const bad = await attachByForm(LEE, target.id, {
      impactedTyped: "203.0.113.300",
      evidenceTyped: "hxxps://paypa1-login[.]com/verify",
    });
    expect(text(bad.res.body.value)).toContain("203.0.113.300 is not an IP address");
    expect((await bot.app.service.get(target.id))!.reports ?? []).toHaveLength(0);

    const { res } = await attachByForm(LEE, target.id, {
      impacted: MEGAN.aadObjectId!,
      impactedTyped: "FIN-LAPTOP-07\n203.0.113.45",
      evidenceTyped: "hxxps://paypa1-login[.]com/verify",
    });
    expect(text(res.body.value)).toContain("Added to INC-1: Phishing from fake payroll.");
    const stored = (await bot.app.service.get(target.id))!;
    expect(stored.entities?.map((e) => `${e.role} ${e.source} ${e.type}:${e.value}`).sort()).toEqual([
      `impacted directory user:${MEGAN.aadObjectId}`,
      "impacted typed device:fin-laptop-07",
      "impacted typed ip:203.0.113.45",
      "related typed url:https://paypa1-login.com/verify",
    ]);
  });

  it("refuses a category, techniques or recommended actions with a report (the incident's own), each next to its field, writing nothing", async () => {
    const target = await created(ALEX, "Phishing from fake payroll");
    const { res } = await attachByForm(LEE, target.id, { category: "InitialAccess", techniques: "T1566", recommendedActions: "Block it." });
    const back = res.body.value;
    for (const field of ["category", "techniques", "recommendedActions"]) {
      expect(errorAfter(back, field)).toBe(INCIDENTS_OWN);
      expect(input(back, field).value).toBe({ category: "InitialAccess", techniques: "T1566", recommendedActions: "Block it." }[field]);
    }
    const stored = (await bot.app.service.get(target.id))!;
    expect(stored.reports ?? []).toHaveLength(0);
    expect(stored.category).toBeUndefined();
  });

  it("a form sent back for another field keeps the chosen incident: its title in a private chat, its number only where others read", async () => {
    const target = await created(ALEX, "Tailgating at building 3");
    const { res } = await attachByForm(LEE, target.id, { title: " " });
    const back = res.body.value;
    expect(errorAfter(back, "title")).toBe("Enter a title.");
    expect(input(back, "attachTo").value).toBe(target.id);
    expect(input(back, "attachTo").choices).toContainEqual({ title: "INC-1: Tailgating at building 3", value: target.id });

    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: LEE, where: "channel" }));
    const form = cardOf(bot.connector.sent()[0]) as Record<string, any>;
    const data = filled(form, { title: " ", attachTo: target.id });
    const inChannel = (await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: LEE, where: "channel" }))).body
      .value;
    expect(input(inChannel, "attachTo").choices).toContainEqual({ title: "INC-1", value: target.id });
    expect(JSON.stringify(inChannel)).not.toContain("Tailgating");
    expect((await bot.app.service.get(target.id))!.reports).toBeUndefined();
  });

  it("the creator of an incident may attach a further message to it; the dialog sent twice adds it once", async () => {
    const target = await created(LEE, "Phishing wave");
    const { data, res } = await attachByMessage(LEE, target.id);
    expect(res.body.task.value.title).toBe("Report added");
    const again = await bot.post(submitActionFromMessage(bot.serviceUrl, data, { from: LEE, payload: messagePayload() }));
    expect(text(again.body.task.value.card.content)).toContain("This form had already been sent: it was added once.");
    expect((await bot.app.service.get(target.id))!.reports).toHaveLength(1);
    expect(await bot.incidents()).toHaveLength(1);
  });

  describe("a forged or refused id gets the error next to the field and writes nothing", () => {
    async function refusedByForm(from: Person, attachTo: string) {
      const before = await bot.incidents();
      const { res } = await attachByForm(from, attachTo);
      const card = res.body.value;
      expect(errorAfter(card, "attachTo")).toBe(ATTACH_REFUSED);
      // What they typed is kept; nothing chosen, so no title of anything is shown back.
      expect(input(card, "title").value).toBe("Same sender again");
      expect(input(card, "attachTo").value).toBe("new");
      expect(input(card, "attachTo").choices).toEqual([{ title: "None: create a new incident", value: "new" }]);
      expect(JSON.stringify(card)).not.toContain("Restricted HR case");
      await bot.settled();
      expect(await bot.incidents()).toEqual(before);
    }

    it("an id that does not exist", async () => {
      await created(LEE, "Something real");
      await refusedByForm(LEE, randomUUID());
      await refusedByForm(LEE, "INC-1");
      await refusedByForm(LEE, "x".repeat(5000));
    });

    it("an incident of another workspace on the same store", async () => {
      const other = await startTestBot({
        ...env,
        ...(store === "sqlite" && { SQLITE_PATH: bot.app.config.SQLITE_PATH }),
        WORKSPACE_ID: "other-workspace",
      });
      try {
        const form = (await (async () => {
          await other.post(message(other.serviceUrl, "incident", { from: LEE }));
          return cardOf(other.connector.sent()[0]);
        })()) as Record<string, any>;
        const data = filled(form, { title: "Another SOC's incident" });
        await other.post(execute(other.serviceUrl, "incident.create", data, { from: LEE }));
        expect(await other.app.service.get(data.submissionId)).toBeDefined();
        await refusedByForm(LEE, data.submissionId);
        expect((await other.app.service.get(data.submissionId))!.reports).toBeUndefined();
      } finally {
        await other.stop();
      }
    });

    it("a restricted incident, for an analyst outside the restricted-cases team (even one who reported it)", async () => {
      const hr = await created(ALEX, "Restricted HR case", true);
      await refusedByForm(LEE, hr.id);
      // Lee reported this one himself: he sees it as its reporter, not in full, so he may not add to it.
      const his = await created(LEE, "Restricted HR case of Lee's", true);
      await refusedByForm(LEE, his.id);
      // From the message too: the dialog comes back with the error, no incident made.
      const { res } = await attachByMessage(LEE, hr.id);
      expect(errorAfter(res.body.task.value.card.content, "attachTo")).toBe(ATTACH_REFUSED);
      expect((await bot.incidents()).map((i) => i.title).sort()).toEqual(["Restricted HR case", "Restricted HR case of Lee's"]);
    });

    it("an employee's crafted form naming an incident", async () => {
      const target = await created(ALEX, "Lost laptop");
      const form = await formFor(ALEX);
      // Megan's own form id (her report form), sent as the analysts' form with attachTo added.
      bot.connector.reset();
      await bot.post(message(bot.serviceUrl, "incident", { from: MEGAN }));
      const mine = cardOf(bot.connector.sent()[0]);
      const data = {
        ...filled(form, { title: "Megan's words" }),
        submissionId: mine.actions[0].data.submissionId,
        submissionToken: mine.actions[0].data.submissionToken,
        attachTo: target.id,
      };
      const res = await bot.post(execute(bot.serviceUrl, "incident.create", data, { from: MEGAN }));
      expect(errorAfter(res.body.value, "attachTo")).toBe(ATTACH_REFUSED);
      await bot.settled();
      expect((await bot.app.service.get(target.id))!.reports).toBeUndefined();
      expect(await bot.incidents()).toHaveLength(1);
    });
  });

  it("a restricted incident: the restricted-cases team may attach to it, and it stays restricted, its triage post a line", async () => {
    await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    const hr = await created(ALEX, "Restricted HR case", true);
    await until("the triage post", async () => (await bot.app.service.get(hr.id))?.triage?.state === "posted");
    const posted = (await bot.app.service.get(hr.id))!.triage!.messageId!;
    bot.connector.reset();
    const { res } = await attachByForm(ALEX, hr.id, { restricted: "false" });
    expect(text(res.body.value)).toContain("Added to INC-1: Restricted HR case.");
    const stored = (await bot.app.service.get(hr.id))!;
    expect(stored.restricted).toBe(true);
    expect(stored.reports).toHaveLength(1);
    await until("the triage post redrawn", () => bot.connector.updated().some((u) => u.id === posted));
    const redrawn = JSON.stringify(bot.connector.updated().find((u) => u.id === posted)!.activity);
    expect(redrawn).toContain("a restricted report arrived");
    expect(redrawn).not.toContain("Same sender again");
  });

  it("a restricted report attached to an open incident restricts it; the analyst outside the team then sees only its line", async () => {
    const target = await created(ALEX, "Badge misuse");
    const { res } = await attachByForm(LEE, target.id, { restricted: "true" });
    const told = text(res.body.value);
    expect(told).toMatch(/^Added to INC-1\n/);
    expect(told).toContain("It is restricted");
    expect(told).not.toContain("Badge misuse");
    expect((await bot.app.service.get(target.id))!.restricted).toBe(true);
  });

  it("a restricted report attached to an incident made in a group chat: its confirmation there and its triage post become the line", async () => {
    await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: ALEX, where: "groupChat" }));
    const form = cardOf(bot.connector.sent()[0]) as Record<string, any>;
    const data = filled(form, { title: "Badge misuse at building 3" });
    await bot.post(
      execute(bot.serviceUrl, "incident.create", data, { from: ALEX, where: "groupChat", replyToId: "confirmation-1" }),
    );
    const target = (await bot.app.service.get(data.submissionId))!;
    expect(target.formMessageId).toBe("confirmation-1");
    await until("the triage post", async () => (await bot.app.service.get(target.id))?.triage?.state === "posted");
    const posted = (await bot.app.service.get(target.id))!.triage!.messageId!;
    await bot.settled();
    bot.connector.reset();

    await attachByForm(LEE, target.id, { restricted: "true" });
    const redrawn = (id: string) => bot.connector.updated().find((u) => u.id === id);
    await until("the confirmation and the triage post redrawn", () => redrawn("confirmation-1") && redrawn(posted));
    for (const id of ["confirmation-1", posted]) {
      const card = JSON.stringify(redrawn(id)!.activity);
      expect(card).toContain("restricted");
      expect(card).not.toContain("Badge misuse");
      expect(card).not.toContain("Same sender again");
    }
  });

  it("in a channel, the analyst's answer is theirs: an older client's fallback sends it to their 1:1 chat", async () => {
    const target = await created(ALEX, "Phishing in the channel");
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "incident", { from: LEE, where: "channel" }));
    const form = cardOf(bot.connector.sent()[0]) as Record<string, any>;
    // In a card others read, nothing of the workspace's incidents is offered before typing.
    expect(input(form, "attachTo").choices).toEqual([{ title: "None: create a new incident", value: "new" }]);
    const { submitMessage } = await import("../support/teams");
    bot.connector.reset();
    const data = { verb: "incident.create", ...filled(form, { title: "Seen it too", attachTo: target.id }) };
    await bot.post(submitMessage(bot.serviceUrl, data, { from: LEE, where: "channel" }));
    await bot.settled();
    // The channel is told only where the answer went; the card (the incident's title) is not posted there.
    const inChannel = bot.connector.sentTo("19:soc-triage@thread.tacv2;messageid=1732611112222");
    expect(inChannel.map((a) => a.text)).toEqual(["I sent your receipt to you in our 1:1 chat."]);
    expect(JSON.stringify(inChannel)).not.toContain("Phishing in the channel");
    expect(JSON.stringify(bot.connector.sent())).toContain("Added to INC-1: Phishing in the channel.");
    expect((await bot.app.service.get(target.id))!.reports).toHaveLength(1);
  });

  describe("the incidents typeahead", () => {
    it("answers analysts only", async () => {
      await created(ALEX, "Phishing from fake payroll");
      const employee = await typeahead(MEGAN, "");
      expect(employee.status).toBe(400);
      expect(JSON.stringify(employee.body)).not.toContain("payroll");
      const analyst = await typeahead(LEE, "");
      expect(analyst.body.value.results).toEqual([{ title: "INC-1: Phishing from fake payroll", value: expect.any(String) }]);
    });

    it("never lists a restricted incident to an analyst outside the restricted-cases team, even one he reported", async () => {
      const open = await created(ALEX, "Phishing from fake payroll");
      const hr = await created(ALEX, "Restricted HR case", true);
      const his = await created(LEE, "Restricted case Lee reported", true);
      const forLee = await typeahead(LEE, "");
      expect(forLee.body.value.results).toEqual([{ title: "INC-1: Phishing from fake payroll", value: open.id }]);
      expect((await typeahead(LEE, "INC-2")).body.value.results).toEqual([]);
      expect((await typeahead(LEE, "restricted")).body.value.results).toEqual([]);
      const forAlex = (await typeahead(ALEX, "")).body.value.results.map((r: { value: string }) => r.value).sort();
      expect(forAlex).toEqual([open.id, hr.id, his.id].sort());
    });
  });

  it("the report's entities are merged into the incident's (duplicates once)", async () => {
    const target = await created(ALEX, "Phishing wave");
    const entity = (type: Parameters<typeof checkEntity>[0], raw: string): Entity => {
      const checked = checkEntity(type, raw, "related", "extracted");
      if (!checked.ok) throw new Error(checked.error);
      return checked.entity;
    };
    const form = {
      submissionId: randomUUID(),
      title: "More of it",
      description: "",
      severity: "Medium",
      status: "New",
      closing: "",
      closingComment: "",
      owner: "",
      tags: "",
    };
    const actor = { objectId: LEE.aadObjectId, name: LEE.name };
    const first = await bot.app.service.attach(target.id, form, actor, "form", {
      entities: [entity("domain", "paypa1-login.com"), entity("ip", "203.0.113.7")],
    });
    expect(first.kind).toBe("added");
    const second = await bot.app.service.attach(target.id, { ...form, submissionId: randomUUID() }, actor, "form", {
      entities: [entity("domain", "PAYPA1-login.com")],
    });
    expect(second.kind).toBe("added");
    const stored = (await bot.app.service.get(target.id))!;
    expect(stored.entities?.map((e) => `${e.type}:${e.value}`).sort()).toEqual(["domain:paypa1-login.com", "ip:203.0.113.7"]);
  });
});
