import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { cardOf, elements, errorAfter, input, values, visibleText } from "../support/cards";
import { ALEX, DIEGO, execute, message, search, submitMessage, type Person } from "../support/teams";

/** Signed in to the tenant but unknown to the directory (a guest). */
const GUEST: Person = { id: "29:guest-mri", name: "A guest", aadObjectId: "0d0d0d0d-0000-4000-8000-00000000beef" };

let bot: TestBot;
let cosmos: CosmosTestServer | undefined;
afterAll(async () => {
  await cosmos?.close();
});

// The same end-to-end tests on the embedded store and on Cosmos DB (the @vercel/cosmosdb-server peer).
describe.each(["sqlite", "cosmos"] as const)("STORE=%s", (store) => {
beforeEach(async () => {
  if (store === "cosmos") cosmos ??= await startCosmosServer();
  bot = await startTestBot(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {});
});
afterEach(async () => {
  await bot.stop();
});

async function openForm(text = "incident", where?: "personal" | "groupChat" | "channel") {
  bot.connector.reset();
  const res = await bot.post(message(bot.serviceUrl, text, where ? { where } : {}));
  expect(res.status).toBe(200);
  const sent = bot.connector.sent();
  expect(sent).toHaveLength(1);
  return cardOf(sent[0]);
}

/** What Teams posts when the person clicks Create incident: the action's data merged with the inputs. */
function submitted(form: Record<string, any>, inputs: Record<string, string>) {
  const action = form.actions[0];
  return { ...action.data, ...values(form), ...inputs };
}

async function create(data: Record<string, unknown>) {
  return bot.post(execute(bot.serviceUrl, "incident.create", data));
}

describe("opening the form", () => {
  it.each([
    ["incident", undefined],
    ["/incident", undefined],
    ["New Incident", undefined],
    ["/incident", "channel"],
    ["new incident", "groupChat"],
  ] as const)("answers %p in a %s conversation with the Sentinel form and its defaults", async (text, where) => {
    const card = await openForm(text, where);
    expect(card.version).toBe("1.5");
    expect(input(card, "title")).toMatchObject({ type: "Input.Text", isRequired: true, label: "Title", value: "" });
    expect(input(card, "description")).toMatchObject({ isMultiline: true, maxLength: 5000 });
    expect(input(card, "severity").value).toBe("Medium");
    expect(input(card, "severity").choices.map((c: any) => c.value)).toEqual(["High", "Medium", "Low", "Informational"]);
    expect(input(card, "status").value).toBe("New");
    expect(input(card, "status").choices.map((c: any) => c.value)).toEqual(["New", "Active", "Closed"]);
    expect(input(card, "closing").label).toMatch(/required when Closed/);
    expect(input(card, "closing").choices).toHaveLength(5);
    expect(input(card, "closingComment").label).toMatch(/required when Closed/);

    const owner = input(card, "owner");
    expect(owner).toMatchObject({ style: "filtered", "choices.data": { type: "Data.Query", dataset: "owners" } });
    expect(owner.choices[0]).toEqual({ title: "Assign to me (Alex Wilber (Teams))", value: "me" });

    // No tag was used in this workspace yet: nothing to suggest, so a plain box (an empty choice set is invalid).
    expect(input(card, "tags")).toMatchObject({ type: "Input.Text", label: "Tags", placeholder: expect.stringMatching(/^Comma-separated/) });

    const [action] = card.actions;
    expect(action).toMatchObject({ type: "Action.Execute", verb: "incident.create", fallback: { type: "Action.Submit" } });
    expect(action.data.submissionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(action.data.submissionToken).toMatch(/^[\w-]{43}$/);
    expect(action.fallback.data).toEqual({ verb: "incident.create", submissionId: action.data.submissionId, submissionToken: action.data.submissionToken });
  });

  it("offers the workspace's recent tags with typeahead once a tag was used", async () => {
    const first = await openForm();
    await bot.post(execute(bot.serviceUrl, "incident.create", submitted(first, { title: "Tagged", tags: "Phishing" })));
    const tags = input(await openForm(), "tags");
    expect(tags).toMatchObject({ type: "Input.ChoiceSet", style: "filtered", isMultiSelect: true, "choices.data": { type: "Data.Query", dataset: "tags" } });
    expect(tags.choices).toEqual([{ title: "Phishing", value: "Phishing" }]);
  });

  it("gives every new form its own submission id", async () => {
    const a = await openForm();
    const b = await openForm();
    expect(a.actions[0].data.submissionId).not.toBe(b.actions[0].data.submissionId);
  });

  it.each([
    ["help", "personal"],
    ["", "personal"],
    ["what can you do?", "channel"],
  ] as const)("answers %p in a %s conversation with the help card and a Create incident button", async (text, where) => {
    const card = await openForm(text, where);
    expect(visibleText(card).join(" ")).toMatch(/Security Operations Centre/);
    expect(card.actions[0]).toMatchObject({ type: "Action.Execute", verb: "incident.form", title: "Create incident" });
  });

  it("opens a fresh form from the help card's button", async () => {
    const res = await bot.post(execute(bot.serviceUrl, "incident.form", {}));
    expect(res.status).toBe(200);
    expect(res.body.type).toBe("application/vnd.microsoft.card.adaptive");
    expect(input(res.body.value, "title")).toBeDefined();
  });
});

describe("submitting the form", () => {
  it("stores a valid incident and replaces the form with a confirmation, for everyone", async () => {
    const form = await openForm();
    bot.connector.reset();
    const data = submitted(form, {
      title: "  Stranger tailgating at building 3  ",
      description: "Followed an employee through the badge door.",
      severity: "High",
      status: "Active",
      owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
      tags: "Physical, tailgating ,physical",
    });
    const res = await create(data);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe("application/vnd.microsoft.card.adaptive");
    const text = visibleText(res.body.value);
    expect(text[0]).toBe("Incident INC-1 created");
    expect(text).toEqual(
      expect.arrayContaining(["Stranger tailgating at building 3", "High", "Active", "SOC Tier 1 (group)", "Physical, tailgating", "Alex Wilber, from incident form"]),
    );
    expect(elements(res.body.value).some((e) => e.type.startsWith("Input."))).toBe(false);

    // The update for everyone goes out right after the answer.
    await bot.connector.waitForCalls(1);
    const updates = bot.connector.updated();
    expect(updates).toHaveLength(1);
    expect(updates[0]!.id).toBe("card-message-1");
    expect(cardOf(updates[0]!.activity)).toEqual(res.body.value);

    const stored = await bot.app.service.get(data.submissionId);
    expect(stored).toMatchObject({
      incidentNumber: 1,
      title: "Stranger tailgating at building 3",
      severity: "High",
      status: "Active",
      owner: { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "Group", assignedTo: "SOC Tier 1" },
      labels: [
        { labelName: "Physical", labelType: "User" },
        { labelName: "tailgating", labelType: "User" },
      ],
      createdBy: { objectId: ALEX.aadObjectId, name: "Alex Wilber" },
      entryPoint: "form",
      workspaceId: "test-workspace",
    });
  });

  it("assigns to the person who clicked when they chose Assign to me", async () => {
    const form = await openForm();
    const data = submitted(form, { title: "Odd e-mail", owner: "me" });
    await create(data);
    const stored = await bot.app.service.get(data.submissionId);
    expect(stored?.owner).toEqual({
      objectId: ALEX.aadObjectId,
      ownerType: "User",
      assignedTo: "Alex Wilber (Teams)",
      email: "alex.wilber@contoso.com",
      userPrincipalName: "alex.wilber@contoso.com",
    });
  });

  it("creates an incident already Closed with its classification and comment", async () => {
    const form = await openForm();
    const data = submitted(form, {
      title: "Badge reader false alarm",
      status: "Closed",
      closing: "FalsePositive.InaccurateData",
      closingComment: "Reader clock was wrong.",
    });
    const res = await create(data);
    expect(visibleText(res.body.value)).toEqual(expect.arrayContaining(["Closed", "False Positive - inaccurate data"]));
    expect(await bot.app.service.get(data.submissionId)).toMatchObject({
      status: "Closed",
      classification: "FalsePositive",
      classificationReason: "InaccurateData",
      classificationComment: "Reader clock was wrong.",
    });
  });

  it("brings the form back with each error next to its field and every value kept", async () => {
    const form = await openForm();
    bot.connector.reset();
    const typed = {
      title: "   ",
      description: "Saw someone at the server room door.",
      severity: "Low",
      status: "Closed",
      closing: "",
      closingComment: "",
      owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e04",
      tags: "Physical,Server room",
      restricted: "false",
      category: "InitialAccess",
      techniques: "T1566.002",
      recommendedActions: "Check the door logs.",
      impacted: "",
      impactedTyped: "LAPTOP-7F3K",
      evidenceTyped: "hxxps://evil[.]example/login",
    };
    const res = await create(submitted(form, typed));
    expect(res.status).toBe(200);
    const card = res.body.value;
    expect(errorAfter(card, "title")).toBe("Enter a title.");
    expect(errorAfter(card, "closing")).toBe("A closed incident needs a classification.");
    expect(errorAfter(card, "closingComment")).toBe("A closed incident needs a closing comment.");
    expect(errorAfter(card, "description")).toBeUndefined();
    expect(errorAfter(card, "owner")).toBeUndefined();

    // Every value kept; nothing chosen to attach to (src/teams/attach-flow.ts), so a new incident.
    expect(values(card)).toEqual({ ...typed, attachTo: "new" });
    // The chosen owner is offered again under the directory's name for it.
    expect(input(card, "owner").choices).toContainEqual({ title: "Physical Security · group", value: typed.owner });
    expect(input(card, "tags").choices).toEqual(
      expect.arrayContaining([
        { title: "Physical", value: "Physical" },
        { title: "Server room", value: "Server room" },
      ]),
    );
    // The same submission id, so fixing and resubmitting still creates one incident.
    expect(card.actions[0].data.submissionId).toBe(form.actions[0].data.submissionId);
    // Nothing was written and the message was not replaced.
    expect(bot.connector.calls).toHaveLength(0);
    expect(await bot.app.service.get(form.actions[0].data.submissionId)).toBeUndefined();

    const fixed = await create({ ...submitted(card, {}), title: "Person at server room door", closing: "Undetermined", closingComment: "Left before guards arrived." });
    expect(visibleText(fixed.body.value)[0]).toBe("Incident INC-1 created");
  });

  it("rejects an owner that is not in the directory, whatever name the card sends", async () => {
    const form = await openForm();
    const res = await create(submitted(form, { title: "x", owner: "0badc0de-0000-4000-8000-000000000000", ownerName: "CEO" }));
    expect(errorAfter(res.body.value, "owner")).toBe("That owner is not in the directory any more. Search again.");
  });

  it("creates one incident however often the same form is submitted, also at the same moment", async () => {
    const form = await openForm();
    const data = submitted(form, { title: "Double click", tags: "dup" });
    const answers = await Promise.all(Array.from({ length: 8 }, () => create(data)));
    const headings = answers.map((a) => visibleText(a.body.value)[0]);
    expect(new Set(headings)).toEqual(new Set(["Incident INC-1 created"]));
    const notes = answers.map((a) => visibleText(a.body.value)[1]);
    expect(notes.filter((n) => n?.startsWith("This form had already been submitted"))).toHaveLength(7);

    const again = await create(data);
    expect(visibleText(again.body.value)[0]).toBe("Incident INC-1 created");
    const next = await create(submitted(await openForm(), { title: "Another one", tags: "dup" }));
    expect(visibleText(next.body.value)[0]).toBe("Incident INC-2 created");
    // The tag counted once per incident, not once per click.
    const suggestions = await bot.post(search(bot.serviceUrl, "tags", "du"));
    expect(suggestions.body.value.results[0]).toEqual({ title: "dup", value: "dup" });
  });

  it("answers the Action.Submit fallback of older clients by updating the card message", async () => {
    const form = await openForm();
    bot.connector.reset();
    const value = { ...form.actions[0].fallback.data, ...values(form), title: "From an old client" };
    const res = await bot.post(submitMessage(bot.serviceUrl, value, { replyToId: "old-card-7" }));
    expect(res.status).toBe(200);
    const updates = bot.connector.updated();
    expect(updates).toHaveLength(1);
    expect(updates[0]!.id).toBe("old-card-7");
    expect(visibleText(cardOf(updates[0]!.activity))[0]).toBe("Incident INC-1 created");
  });

  it("shows people's text as text: no markdown links, no template expressions evaluated", async () => {
    const form = await openForm();
    const title = "[Reset your password](https://evil.example) ${submissionId} **now**";
    const res = await create(submitted(form, { title, description: "<at>Everyone</at> ${incident.title}" }));
    const card = res.body.value;
    // Zero-width breaks let long runs wrap; they are not part of the text.
    const runs = elements(card)
      .filter((e) => e.type === "RichTextBlock")
      .flatMap((e) => e.inlines)
      .map((run: any) => ({ ...run, text: String(run.text).replace(/\u200b/g, "") }));
    expect(runs).toContainEqual(expect.objectContaining({ type: "TextRun", text: title }));
    expect(runs).toContainEqual(expect.objectContaining({ type: "TextRun", text: "<at>Everyone</at> ${incident.title}" }));
    // No TextBlock (which renders markdown) carries the title.
    expect(elements(card).filter((e) => e.type === "TextBlock").some((e) => String(e.text).includes("evil"))).toBe(false);
  });
});

describe("typeahead", () => {
  it("finds users and groups for the owner, labelled so a group can be told from a person", async () => {
    const res = await bot.post(search(bot.serviceUrl, "owners", "soc"));
    expect(res.status).toBe(200);
    expect(res.body.type).toBe("application/vnd.microsoft.search.searchResponse");
    const titles = res.body.value.results.map((r: any) => r.title);
    expect(titles).toEqual([
      "SOC Incident Response · group",
      "SOC Tier 1 · group",
      "SOC Tier 2 · group",
      "Socrates Papadopoulos · socrates.p@contoso.com",
    ]);
    expect(res.body.value.results[3].value).toBe("b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a01");
  });

  it("answers an empty query with no results instead of an error", async () => {
    const res = await bot.post(search(bot.serviceUrl, "owners", ""));
    expect(res.status).toBe(200);
    expect(res.body.value.results).toEqual([]);
  });

  it("never answers more than 15 results (a directory with 40 people named Eve)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eves-"));
    const file = path.join(dir, "directory.json");
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    const users = Array.from({ length: 40 }, (_, i) => ({ id: id(i), displayName: `Eve ${i}`, analyst: true }));
    fs.writeFileSync(file, JSON.stringify({ users: [...users, { id: ALEX.aadObjectId, displayName: "Alex", analyst: true }], groups: [] }));
    const eves = await startTestBot({ DIRECTORY_FILE: file });
    try {
      const res = await eves.post(search(eves.serviceUrl, "owners", "eve"));
      expect(res.body.value.results).toHaveLength(15);
    } finally {
      await eves.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows a second instance's suggestions the tags another instance wrote, at its next read", async () => {
    const shared: Record<string, string> =
      store === "cosmos"
        ? { ...cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY), COSMOS_DATABASE: bot.app.config.COSMOS_DATABASE }
        : { SQLITE_PATH: bot.app.config.SQLITE_PATH };
    // The other instance asks the store on every suggestion (no reuse), so its next read is the one after each write.
    const other = await startTestBot({ ...shared, TAG_CACHE_MS: "0" });
    const suggested = async (typed: string) =>
      (await other.post(search(other.serviceUrl, "tags", typed))).body.value.results.map((r: any) => r.value);
    try {
      expect(await suggested("ran")).toEqual(["ran"]);
      await create(submitted(await openForm(), { title: "Encrypted share", tags: "Ransomware" }));
      // (What was typed is offered too, as a new tag.)
      expect(await suggested("ran")).toEqual(["Ransomware", "ran"]);
      await create(submitted(await openForm(), { title: "Spread to a second host", tags: "ransomware,Lateral movement" }));
      // Used twice now, first (a day keeps its first spelling).
      expect(await suggested("")).toEqual(["Ransomware", "Lateral movement"]);
      expect(await suggested("lat")).toEqual(["Lateral movement", "lat"]);
    } finally {
      await other.stop();
    }
  });

  it("never suggests a restricted incident's tags: not when created restricted, gone once restricted by an edit, back once unrestricted", async () => {
    const suggested = async (typed: string) => (await bot.post(search(bot.serviceUrl, "tags", typed))).body.value.results.map((r: any) => r.value);
    const formTags = async () => {
      const tags = input(await openForm(), "tags");
      return tags.type === "Input.ChoiceSet" ? tags.choices.map((c: any) => c.value) : [];
    };
    const open = await openForm();
    await create(submitted(open, { title: "Phishing wave", tags: "Phishing" }));
    const secretForm = await openForm();
    await create(submitted(secretForm, { title: "Payroll", tags: "ceo-insider-payroll", restricted: "true" }));
    expect(await bot.app.service.get(String(secretForm.actions[0].data.submissionId))).toMatchObject({ restricted: true });
    // Only what was typed comes back (offered as a new tag), never the restricted incident's.
    expect(await suggested("ceo")).toEqual(["ceo"]);
    expect(await suggested("")).toEqual(["Phishing"]);
    expect(await formTags()).toEqual(["Phishing"]);

    const saveEdit = async (restricted: "true" | "false") => {
      const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: open.actions[0].data.submissionId }))).body.value;
      const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), restricted }));
      expect(visibleText(res.body.value)).toContain("Saved by Alex Wilber.");
    };
    // Restricted by an edit (the suggestions were read just before: no waiting for them to be read again).
    await saveEdit("true");
    expect(await suggested("")).toEqual([]);
    expect(await suggested("phish")).toEqual(["phish"]);
    expect(await formTags()).toEqual([]);
    // Unrestricted: suggested again.
    await saveEdit("false");
    expect(await suggested("")).toEqual(["Phishing"]);
    expect(await formTags()).toEqual(["Phishing"]);
  });

  it.each([
    ["an employee", "tags", DIEGO],
    ["an employee", "owners", DIEGO],
    ["a guest", "tags", GUEST],
    ["a guest", "owners", GUEST],
  ] as const)("answers %s searching %s as it answers a dataset that does not exist: their form has no such field", async (_who, dataset, from) => {
    await create(submitted(await openForm(), { title: "Insider", tags: "ceo-insider-payroll" }));
    const unknown = await bot.post(search(bot.serviceUrl, "secrets", "ceo", { from }));
    const res = await bot.post(search(bot.serviceUrl, dataset, dataset === "tags" ? "ceo" : "soc", { from }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ...unknown.body, value: { ...unknown.body.value, message: unknown.body.value.message.replace('"secrets"', `"${dataset}"`) } });
    expect(JSON.stringify(res.body)).not.toMatch(/ceo-insider|SOC Tier|Socrates/);
    // The analyst's form has both.
    expect((await bot.post(search(bot.serviceUrl, dataset, dataset === "tags" ? "ceo" : "soc"))).status).toBe(200);
  });

  it("suggests the workspace's recent tags by use, and offers what was typed as a new tag", async () => {
    for (const tags of ["Phishing,Finance", "phishing", "Physical", "Phishing,VIP"]) {
      await create(submitted(await openForm(), { title: "t", tags }));
    }
    const res = await bot.post(search(bot.serviceUrl, "tags", "ph"));
    expect(res.body.value.results.map((r: any) => r.value)).toEqual(["Phishing", "Physical", "ph"]);
    const all = await bot.post(search(bot.serviceUrl, "tags", ""));
    // Equal use: the most recently used first.
    expect(all.body.value.results.map((r: any) => r.value)).toEqual(["Phishing", "VIP", "Physical", "Finance"]);
    // A new form offers the most used recent tags straight away.
    expect(input(await openForm(), "tags").choices.map((c: any) => c.value)).toEqual(["Phishing", "VIP", "Physical", "Finance"]);
  });
});

describe("bad input gets a clear answer and writes nothing", () => {
  afterEach(async () => {
    // Whatever came before, the next valid incident is number 1: no number was consumed.
    const res = await create(submitted(await openForm(), { title: "After the bad input" }));
    expect(visibleText(res.body.value)[0]).toBe("Incident INC-1 created");
  });

  it("refuses malformed JSON with 400", async () => {
    const res = await bot.postRaw("{ not json");
    expect(res.status).toBe(400);
  });

  it("refuses a body over the size limit with 413", async () => {
    const huge = JSON.stringify(execute(bot.serviceUrl, "incident.create", { title: "x".repeat(300_000), submissionId: randomUUID() }));
    const res = await bot.postRaw(huge);
    expect(res.status).toBe(413);
  });

  it("refuses an activity with no type", async () => {
    const res = await bot.post({ id: "x", serviceUrl: bot.serviceUrl });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/type/);
  });

  it.each([
    ["no value at all", undefined, /can't be read/],
    ["an action that is not Action.Execute", { action: { type: "Action.Submit", verb: "incident.create" } }, /Action.Execute/],
    ["no verb", { action: { type: "Action.Execute", data: {} } }, /verb/],
    ["an unknown verb", { action: { type: "Action.Execute", verb: "incident.delete", data: {} } }, /Unknown action "incident.delete"/],
    ["a title that is a number", { action: { type: "Action.Execute", verb: "incident.create", data: { title: 42, submissionId: randomUUID() } } }, /must be text: title/],
    ["data that is a list", { action: { type: "Action.Execute", verb: "incident.create", data: ["title"] } }, /action.data/],
  ])("answers %s with a 400 error that says what is wrong", async (_name, value, message) => {
    const activity = execute(bot.serviceUrl, "incident.create", {});
    const res = await bot.post({ ...activity, value });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, type: "application/vnd.microsoft.error", value: { code: "BadRequest" } });
    expect(res.body.value.message).toMatch(message);
  });

  it("answers a form without a submission id with the form and an error, not an incident", async () => {
    const res = await create({ title: "No id" });
    expect(res.status).toBe(200);
    expect(errorAfter(res.body.value, "title")).toMatch(/out of date/);
  });

  it("answers an unknown typeahead dataset with 400", async () => {
    const res = await bot.post(search(bot.serviceUrl, "secrets", "a"));
    expect(res.status).toBe(400);
    expect(res.body.value.message).toMatch(/Unknown dataset "secrets"/);
  });

  it("rejects a 5001-character description and a tag with a control character, keeping the text", async () => {
    const form = await openForm();
    const description = "d".repeat(5001);
    const res = await create(submitted(form, { title: "Long", description, tags: "ok,bad\u0007tag" }));
    expect(errorAfter(res.body.value, "description")).toBe("Keep the description to 5000 characters (it has 5001).");
    expect(errorAfter(res.body.value, "tags")).toBe("Tags can't contain control characters.");
    expect(input(res.body.value, "description").value).toBe(description);
  });
});
});
