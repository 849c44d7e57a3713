import Database from "better-sqlite3";
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, errorAfter, values, visibleText } from "../support/cards";
import { ALEX, MEGAN, execute, message } from "../support/teams";

/*
 * Every way an edit from the triage card can end, and work on an incident (comment, task) while the
 * store is down: over HTTP with Teams-shaped activities. Nothing typed is lost; nothing is half-written.
 */

const STORE_DOWN = "The incident store is not answering, so nothing was saved. Everything you typed is still here: send it again in a moment.";

let bot: TestBot;
beforeEach(async () => {
  bot = await startTestBot({ SQLITE_BUSY_TIMEOUT_MS: "50" });
});
afterEach(async () => {
  await bot.stop();
});

async function created(): Promise<{ id: string; edit: any }> {
  bot.connector.reset();
  await bot.post(message(bot.serviceUrl, "incident", { from: ALEX }));
  const form = cardOf(bot.connector.sent()[0]);
  await bot.post(execute(bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), title: "Odd sign-in", tags: "Identity" }));
  const id = String(form.actions[0].data.submissionId);
  const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: id }))).body.value;
  return { id, edit };
}

describe("saving an edit from the triage card", () => {
  it("gives an invalid edit back with the errors next to the fields, what was typed kept, nothing written", async () => {
    const { id, edit } = await created();
    const typed = { ...values(edit), title: "   ", status: "Closed", closing: "", closingComment: "" };
    const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...typed }));
    const card = res.body.value;
    expect(visibleText(card)[0]).toBe("Edit INC-1");
    expect(errorAfter(card, "title")).toBe("Enter a title.");
    expect(errorAfter(card, "closing")).toBe("A closed incident needs a classification.");
    expect(values(card)).toMatchObject({ status: "Closed", tags: "Identity" });
    expect(await bot.app.service.get(id)).toMatchObject({ revision: 1, title: "Odd sign-in", status: "New" });
  });

  it("refuses an edit without the revision it started from, saying so", async () => {
    const { id, edit } = await created();
    const data = { ...edit.actions[0].data, ...values(edit), status: "Active" };
    delete data.revision;
    const res = await bot.post(execute(bot.serviceUrl, "incident.update", data));
    expect(res.status).toBe(400);
    expect(res.body.value.message).toBe("revision: the edit form's revision is missing.");
    expect((await bot.app.service.get(id))?.revision).toBe(1);
  });

  it("answers an edit of an incident that does not exist as gone", async () => {
    const { edit } = await created();
    const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), incidentId: "0badc0de-0000-4000-8000-0000000000ff" }));
    expect(visibleText(res.body.value)).toContain("That incident no longer exists.");
  });

  it("gives the edit back as typed with a banner while the store is down, and saves it once it is back", async () => {
    const { id, edit } = await created();
    const typed = { ...values(edit), severity: "High", status: "Active" };
    const holder = new Database(bot.app.config.SQLITE_PATH);
    try {
      holder.exec("BEGIN EXCLUSIVE");
      const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...typed }));
      const card = res.body.value;
      // Reads go on (WAL); the write can't: the edit form comes back as typed, with the banner.
      expect(visibleText(card)[0]).toBe("Edit INC-1");
      expect(visibleText(card)).toContain(STORE_DOWN);
      expect(values(card)).toMatchObject({ severity: "High", status: "Active", title: "Odd sign-in" });
    } finally {
      if (holder.inTransaction) holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await bot.app.service.get(id))?.revision).toBe(1);
    const again = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...typed }));
    expect(visibleText(again.body.value)).toContain("Saved by Alex Wilber.");
    expect(await bot.app.service.get(id)).toMatchObject({ revision: 2, severity: "High", status: "Active" });
  });
});

describe("work on an incident while the store is down", () => {
  it("gives the triage card back with a banner and the comment as typed; nothing is written", async () => {
    bot.connector.reset();
    await bot.post(message(bot.serviceUrl, "Someone asked for my code", { from: MEGAN }));
    const report = cardOf(bot.connector.sent()[0]);
    await bot.post(execute(bot.serviceUrl, "report.create", { ...report.actions[0].data, ...values(report) }, { from: MEGAN }));
    const id = String(report.actions[0].data.submissionId);
    const holder = new Database(bot.app.config.SQLITE_PATH);
    try {
      holder.exec("BEGIN EXCLUSIVE");
      const res = await bot.post(execute(bot.serviceUrl, "triage.comment", { incidentId: id, revision: 1, commentText: "Kept while down" }));
      expect(res.status).toBe(200);
      const card = res.body.value;
      expect(visibleText(card)).toContain(STORE_DOWN);
      const box = card.body.find((b: any) => b.id === "casework").actions.find((a: any) => a.id === "addComment").card.body[0];
      expect(box).toMatchObject({ id: "commentText", value: "Kept while down" });
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    expect((await bot.app.service.get(id))?.comments).toBeUndefined();
  });
});
