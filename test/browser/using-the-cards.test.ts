/**
 * A person uses the cards the running bot sends, in the official renderer in Chromium: fills the
 * form, clicks, and what the renderer sends goes to the bot as Teams would post it (an
 * adaptiveCard/action invoke); the card that comes back is rendered in turn and read off the screen.
 */
import { startTestBot, type TestBot } from "../support/bot";
import { cardOf, values, visibleText } from "../support/cards";
import { ALEX, MEGAN, message } from "../support/teams";
import { until } from "../support/until";
import { THEMES, launchBrowser, type Browser, type CardPage, type Json } from "./support/card-page";
import { botSays, send } from "./support/conversation";

let browser: Browser;
let bot: TestBot;
let page: CardPage;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  bot = await startTestBot();
  page = await browser.newPage();
});
afterEach(async () => {
  await page?.page.close();
  await bot?.stop();
});

/** Incidents created earlier in the workspace, so that a new form offers their tags. */
async function earlierIncidents(...tagLists: string[]): Promise<void> {
  for (const tags of tagLists) {
    const form = await botSays(bot, "incident");
    const answer = await send(bot, {
      type: "Action.Execute",
      verb: "incident.create",
      data: { ...form.actions[0].data, title: `Earlier: ${tags}`, tags },
    });
    expect(visibleText(answer)[0]).toMatch(/^Incident INC-\d+ created$/);
  }
}

describe("the incident form, used in the renderer", () => {
  it("is filled in, sent, and answered with the confirmation a person reads", async () => {
    await earlierIncidents("Phishing,Finance", "Phishing,VIP", "Physical");
    const form = await botSays(bot, "incident");
    expect(await page.show(form)).toEqual([]);
    const shown = await page.text();
    for (const words of [
      "Create incident",
      "Title",
      "Description",
      "Severity",
      "Status",
      "Classification (required when Closed)",
      "Owner",
      "Tags",
    ]) {
      expect(shown).toContain(words);
    }
    expect(await page.input("Severity", { required: true }).inputValue()).toBe("Medium");
    expect(await page.input("Status", { required: true }).inputValue()).toBe("New");
    // The workspace's recent tags are offered, most used first.
    expect(await page.boxes("tags")).toEqual(["Phishing", "Physical", "VIP", "Finance"]);
    expect(await page.page.locator('[id="attachTo"] input[list]').inputValue()).toBe("None: create a new incident");
    await page.screenshot("incident-form");

    await page.type("Title", "Stranger tailgating at building 3", { required: true });
    await page.type("Description", "Followed an employee through the badge door at 08:10, then left by the loading bay.");
    await page.pick("Severity", "High", { required: true });
    await page.pick("Status", "Active", { required: true });
    expect(await page.chooseOffered("owner", "Assign to me")).toBe("Assign to me (Alex Wilber (Teams))");
    await page.tick("tags", "Phishing", "VIP");
    await page.screenshot("incident-form-filled", { until: "For Microsoft Defender" });

    const action = await page.click("Create incident");
    const submissionId = form.actions[0].data.submissionId;
    expect(action).toMatchObject({
      type: "Action.Execute",
      verb: "incident.create",
      data: {
        submissionId,
        title: "Stranger tailgating at building 3",
        description: "Followed an employee through the badge door at 08:10, then left by the loading bay.",
        severity: "High",
        status: "Active",
        owner: "me",
        tags: "Phishing,VIP",
        // Left as it came ("None: create a new incident"): a new incident.
        attachTo: "new",
      },
    });

    const confirmation = await send(bot, action);
    expect(await page.show(confirmation)).toEqual([]);
    const read = await page.text();
    expect(read).toMatch(/^Incident INC-4 created\n/);
    for (const seen of [
      "Stranger tailgating at building 3",
      "Followed an employee through the badge door",
      "High",
      "Active",
      "Alex Wilber (Teams)",
      "Phishing, VIP",
      "Alex Wilber",
    ]) {
      expect(read).toContain(seen);
    }
    expect(await page.card.locator("input, textarea, select").count()).toBe(0);
    expect(await page.card.getByRole("button").count()).toBe(0);
    await page.screenshot("incident-created");

    expect(await bot.app.service.get(submissionId)).toMatchObject({
      incidentNumber: 4,
      title: "Stranger tailgating at building 3",
      severity: "High",
      status: "Active",
      owner: { objectId: ALEX.aadObjectId, assignedTo: "Alex Wilber (Teams)" },
      labels: [
        { labelName: "Phishing", labelType: "User" },
        { labelName: "VIP", labelType: "User" },
      ],
    });
  });

  it("stops a blank title itself; the bot answers what only it checks with errors next to the fields and every value kept", async () => {
    await earlierIncidents("Physical,Server room");
    const form = await botSays(bot, "incident");
    expect(await page.show(form)).toEqual([]);

    // Required, so the renderer does not send the form at all.
    expect(await page.click("Create incident")).toBeUndefined();
    expect(await page.text()).toContain("Enter a title.");
    expect(await page.input("Title", { required: true }).getAttribute("class")).toContain("ac-input-validation-failed");

    // Spaces pass the renderer's check, and so does Closed without a classification: the bot catches both.
    await page.type("Title", "   ", { required: true });
    await page.type("Description", "Saw someone at the server room door.");
    await page.pick("Severity", "Low", { required: true });
    await page.pick("Status", "Closed", { required: true });
    await page.tick("tags", "Server room");
    const action = await page.click("Create incident");
    expect(action?.data).toMatchObject({ title: "   ", status: "Closed", tags: "Server room" });

    const answer = await send(bot, action);
    expect(await page.show(answer)).toEqual([]);
    const read = await page.text();
    expect(read).toContain("Enter a title.");
    expect(read).toContain("A closed incident needs a classification.");
    expect(read).toContain("A closed incident needs a closing comment.");
    expect(await page.input("Title", { required: true }).inputValue()).toBe("   ");
    expect(await page.input("Description").inputValue()).toBe("Saw someone at the server room door.");
    expect(await page.input("Severity", { required: true }).inputValue()).toBe("Low");
    expect(await page.input("Status", { required: true }).inputValue()).toBe("Closed");
    expect(await page.page.locator('[id="tags"]').getByLabel("Server room", { exact: true }).isChecked()).toBe(true);
    expect(await page.page.locator('[id="tags"]').getByLabel("Physical", { exact: true }).isChecked()).toBe(false);
    await page.screenshot("incident-form-errors", { until: "For Microsoft Defender" });

    // Fixed on the same card: the same submission, now stored.
    await page.type("Title", "Person at the server room door", { required: true });
    await page.pick("Classification (required when Closed)", "Undetermined");
    await page.type("Closing comment (required when Closed)", "Left before the guards arrived.");
    const fixed = await page.click("Create incident");
    expect(fixed?.data.submissionId).toBe(form.actions[0].data.submissionId);
    const confirmation = await send(bot, fixed);
    expect(await page.show(confirmation)).toEqual([]);
    const done = await page.text();
    expect(done).toMatch(/^Incident INC-2 created\n/);
    for (const seen of [
      "Person at the server room door",
      "Low",
      "Closed",
      "Undetermined",
      "Server room",
      "Closing comment: Left before the guards arrived.",
    ]) {
      expect(done).toContain(seen);
    }
  });
});

describe("the help card, used in the renderer", () => {
  it("says what the bot does, and its button opens a new form", async () => {
    await earlierIncidents("Phishing");
    const help = await botSays(bot, "help");
    expect(await page.show(help)).toEqual([]);
    const read = await page.text();
    expect(read).toContain("SOC incident intake");
    // Teams renders the markdown: a person sees italics, not asterisks.
    expect(read).toContain("the way Microsoft Sentinel's Create incident panel does.");
    // Both mentions of the Create incident button (the panel's, and the one on a message) in italics.
    expect(await page.card.locator("em").allInnerTexts()).toEqual(["Create incident", "Create incident"]);
    expect(read).not.toContain("*");
    // The indicators it picks out, said in words; the safe spellings shown as typed, not as a link.
    expect(read).toContain("file hashes in it are picked out for the SOC (also when written safely, like hxxp or [.])");
    expect(await page.card.locator("a").count()).toBe(0);
    expect(read).toMatch(/incident\s+Open the incident form/);
    await page.screenshot("help");

    const action = await page.click("Create incident");
    expect(action).toMatchObject({ type: "Action.Execute", verb: "incident.form" });
    const form = await send(bot, action);
    expect(await page.show(form)).toEqual([]);
    expect(await page.input("Title", { required: true }).inputValue()).toBe("");
    expect(await page.text()).toContain("Create incident");
  });
});

describe("an employee's report, used in the renderer", () => {
  it("is prefilled from what they wrote, completed, sent, and answered with a receipt", async () => {
    const words = "Someone followed me through the badge door at building 3 this morning. They had no badge.";
    const report = await botSays(bot, words, MEGAN);
    expect(await page.show(report)).toEqual([]);
    expect(await page.text()).toMatch(/^Report suspicious activity\n/);
    expect(await page.input("In a few words", { required: true }).inputValue()).toBe(
      "Someone followed me through the badge door at building 3 this morning",
    );
    expect(await page.input("What happened", { required: true }).inputValue()).toBe(words);

    await page.input("When it happened").fill("2026-11-26");
    await page.input("Time (your time zone)").fill("08:30");
    await page.type("Where", "Building 3, north door");
    await page.card.getByLabel("This is urgent: it is happening now or someone may be at risk", { exact: true }).check();
    await page.screenshot("report-form");

    const action = await page.click("Send to the SOC");
    expect(action).toMatchObject({
      type: "Action.Execute",
      verb: "report.create",
      data: {
        submissionId: report.actions[0].data.submissionId,
        whenDate: "2026-11-26",
        whenTime: "08:30",
        where: "Building 3, north door",
        urgent: "true",
      },
    });
    const receipt = await send(bot, action, MEGAN);
    expect(await page.show(receipt)).toEqual([]);
    const read = await page.text();
    expect(read).toMatch(/^Thank you. Your report is INC-1\n/);
    for (const seen of ["What happens next", "marked urgent", "Reference", "INC-1", "Priority", "Urgent"])
      expect(read).toContain(seen);
    await page.screenshot("report-received");

    expect(await bot.app.service.get(String(action?.data.submissionId))).toMatchObject({
      severity: "High",
      status: "New",
      entryPoint: "chat-report",
      // 08:30 in London in November is 08:30 UTC.
      firstActivityTimeUtc: "2026-11-26T08:30:00.000Z",
    });
  });
});

describe("the triage channel card, used in the renderer", () => {
  it("takes Assign to me, then Edit and Save changes, each answer shown in place", async () => {
    const chosen = await bot.post(message(bot.serviceUrl, "triage here", { from: ALEX, where: "channel" }));
    expect(chosen.status).toBe(200);
    const form = await botSays(bot, "incident");
    await send(bot, {
      type: "Action.Execute",
      verb: "incident.create",
      data: { ...form.actions[0].data, title: "Suspicious sign-in from a new country", severity: "High", tags: "Identity" },
    });
    const posted = () => bot.connector.calls.filter((c) => c.method === "POST" && c.path.includes("19:soc-triage@thread.tacv2"));
    while (posted().length < 1) await bot.connector.waitForCalls(bot.connector.calls.length + 1);
    const triage = cardOf(posted()[0]!.body);

    expect(await page.show(triage)).toEqual([]);
    const read = await page.text();
    expect(read).toMatch(/^INC-1: new high incident\n/);
    for (const seen of ["Suspicious sign-in from a new country", "High", "New", "Unassigned", "Identity"])
      expect(read).toContain(seen);
    await page.screenshot("triage");
    // The same card in Teams dark and high contrast, for the README (its contrast: test/cards/contrast.test.ts).
    for (const theme of THEMES.filter((t) => t.name !== "light")) {
      const themed = await browser.newPage(theme);
      expect(await themed.show(triage)).toEqual([]);
      expect(await themed.text()).toBe(read);
      await themed.screenshot(`triage-${theme.slug}`);
      await themed.page.close();
    }

    const assigned = await send(bot, await page.click("Assign to me"));
    expect(await page.show(assigned)).toEqual([]);
    expect(await page.text()).toContain("Assigned to Alex Wilber (Teams) by Alex Wilber.");
    await page.screenshot("triage-assigned");

    const edit = await send(bot, await page.click("Edit"));
    expect(await page.show(edit)).toEqual([]);
    expect(await page.text()).toMatch(/^Edit INC-1\n/);
    expect(await page.input("Title", { required: true }).inputValue()).toBe("Suspicious sign-in from a new country");
    await page.pick("Status", "Active", { required: true });
    const saved = await send(bot, await page.click("Save changes"));
    expect(await page.show(saved)).toEqual([]);
    const after = await page.text();
    expect(after).toContain("Saved by Alex Wilber.");
    expect(after).toContain("Active");
  });
});

describe("after the report, used in the renderer", () => {
  it("an analyst comments, asks the reporter and adds a task from the triage card; the reporter answers in their chat", async () => {
    const report = await botSays(bot, "Someone called me claiming to be IT and asked for my MFA code", MEGAN);
    await send(bot, 
      {
        type: "Action.Execute",
        verb: "report.create",
        data: { ...report.actions[0].data, ...values(report), title: "A caller asked for my MFA code" },
      },
      MEGAN,
    );
    const [incident] = await bot.incidents();
    const triage = await send(bot, { type: "Action.Execute", verb: "triage.view", data: { incidentId: incident!.id } });

    expect(await page.show(triage)).toEqual([]);
    expect(await page.click("Comment")).toBeUndefined();
    await page.type("Comment", "Number traced to a known vishing campaign.", { required: true });
    const commented = await send(bot, await page.click("Add comment"));
    expect(await page.show(commented)).toEqual([]);
    expect(await page.text()).toContain("Comment added by Alex Wilber.");

    await page.click("Ask the reporter");
    await page.type("Question for the people who reported it", "Did you give them any code?", { required: true });
    const asked = await send(bot, await page.click("Send question"));
    expect(await page.show(asked)).toEqual([]);
    expect(await page.text()).toContain("Question sent to the reporters by Alex Wilber.");

    await page.click("Add task");
    await page.type("Task", "Block the caller's number", { required: true });
    const tasked = await send(bot, await page.click("Save task"));
    expect(await page.show(tasked)).toEqual([]);
    const read = await page.text();
    for (const seen of ["Tasks: 0 of 1 done", "Block the caller's number", "Comments (2)", "Did you give them any code?"])
      expect(read).toContain(seen);
    expect(await page.layoutProblems()).toEqual([]);
    await page.screenshot("triage-worked");

    // Megan's chat: the question, with a box to answer in.
    const question: Json = await until("the question in Megan's chat", () =>
      bot.connector.calls
        .filter((c) => c.method === "POST" && c.body?.recipient?.id === MEGAN.id)
        .map((c) => cardOf(c.body))
        .find((card) => card.body?.[0]?.id === "reporterUpdate"),
    );
    expect(await page.show(question)).toEqual([]);
    expect(await page.text()).toMatch(/^A question about your report INC-1\n/);
    await page.type("Your answer", "No, I hung up and called the service desk.", { required: true });
    expect(await page.layoutProblems()).toEqual([]);
    await page.screenshot("reporter-question");
    const answered = await send(bot, await page.click("Send answer"), MEGAN);
    expect(await page.show(answered)).toEqual([]);
    expect(await page.text()).toContain("Thank you: the SOC has your answer.");
    expect((await bot.incidents())[0]!.comments?.map((c) => c.kind)).toEqual(["note", "question", "answer"]);
  }, 180_000);
});
