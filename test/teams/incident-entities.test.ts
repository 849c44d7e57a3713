/**
 * The analyst form's Defender fields over HTTP, on both stores: category, ATT&CK techniques,
 * recommended actions, impacted assets (the directory's people and groups, typed devices and
 * addresses) and evidence (each removable on an edit, more added in a box).
 */
import { cosmosEnv, startTestBot, type TestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { cardOf, errorAfter, input, values, visibleText } from "../support/cards";
import { ALEX, DIEGO, LEE, execute, message, search, type Person } from "../support/teams";

/** From data/directory.json: a user and a group. */
const SOCRATES = "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a01";
const SOC_TIER_1 = "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01";
const SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

let bot: TestBot;
let cosmos: CosmosTestServer | undefined;
afterAll(async () => {
  await cosmos?.close();
});

describe.each(["sqlite", "cosmos"] as const)("STORE=%s", (store) => {
  beforeEach(async () => {
    if (store === "cosmos") cosmos ??= await startCosmosServer();
    bot = await startTestBot(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {});
  });
  afterEach(async () => {
    await bot.stop();
  });

  async function openForm(from: Person = ALEX) {
    bot.connector.reset();
    const res = await bot.post(message(bot.serviceUrl, "incident", { from }));
    expect(res.status).toBe(200);
    return cardOf(bot.connector.sent()[0]);
  }

  /** What Teams posts on Create incident: the action's data merged with the inputs. */
  function submitted(form: Record<string, any>, inputs: Record<string, unknown>) {
    return { ...form.actions[0].data, ...values(form), ...inputs };
  }

  async function create(data: Record<string, unknown>, from: Person = ALEX) {
    return bot.post(execute(bot.serviceUrl, "incident.create", data, { from }));
  }

  const FULL = {
    title: "Phishing wave on finance",
    category: "InitialAccess",
    techniques: "T1566.002,t1078",
    recommendedActions: "Reset the passwords.\nBlock the sender.",
    impacted: `${SOCRATES},${SOC_TIER_1}`,
    impactedTyped: "FIN-LAPTOP-07\n203.0.113[.]7",
    evidenceTyped: `hxxps://paypa1-login[.]com/verify, ${SHA256}\n+44 20 7946 0958`,
  };

  it("offers the new fields on a new form, after the existing ones", async () => {
    const card = await openForm();
    const ids = Object.keys(values(card));
    expect(ids.indexOf("category")).toBeGreaterThan(ids.indexOf("restricted"));
    expect(input(card, "category")).toMatchObject({ type: "Input.ChoiceSet", label: "Category", value: "" });
    expect(input(card, "category").choices).toHaveLength(19);
    expect(input(card, "techniques")).toMatchObject({ style: "filtered", isMultiSelect: true, "choices.data": { type: "Data.Query", dataset: "techniques" } });
    expect(input(card, "techniques").choices[0]).toEqual({ title: "T1566 Phishing", value: "T1566" });
    expect(input(card, "recommendedActions")).toMatchObject({ type: "Input.Text", isMultiline: true, maxLength: 5000 });
    expect(input(card, "impacted")).toMatchObject({ isMultiSelect: true, "choices.data": { type: "Data.Query", dataset: "owners" } });
    expect(input(card, "impactedTyped")).toMatchObject({ type: "Input.Text", isMultiline: true });
    expect(input(card, "evidenceTyped")).toMatchObject({ type: "Input.Text", isMultiline: true });
    // Nothing to untick on a new incident.
    expect(ids).not.toContain("evidenceKept");
  });

  it("creates an incident with category, techniques, actions, impacted people, group and typed assets, and evidence", async () => {
    const form = await openForm();
    // A name sent by the card is never used: the directory's is.
    const data = submitted(form, { ...FULL, impactedName: "The CEO" });
    const res = await create(data);
    expect(visibleText(res.body.value)[0]).toBe("Incident INC-1 created");
    const stored = await bot.app.service.get(data.submissionId);
    expect(stored).toMatchObject({
      category: "InitialAccess",
      mitreTechniques: ["T1566.002", "T1078"],
      recommendedActions: "Reset the passwords.\nBlock the sender.",
    });
    const entities = stored!.entities!.map(({ type, identifier, value, role, source, name }) => ({ type, identifier, value, role, source, ...(name && { name }) }));
    expect(entities).toEqual(
      expect.arrayContaining([
        { type: "user", identifier: "aadUserId", value: SOCRATES, role: "impacted", source: "directory", name: "Socrates Papadopoulos" },
        { type: "group", identifier: "objectGuid", value: SOC_TIER_1, role: "impacted", source: "directory", name: "SOC Tier 1" },
        { type: "device", identifier: "deviceName", value: "fin-laptop-07", role: "impacted", source: "typed" },
        { type: "ip", identifier: "address", value: "203.0.113.7", role: "impacted", source: "typed" },
        { type: "url", identifier: "url", value: "https://paypa1-login.com/verify", role: "related", source: "typed" },
        { type: "file", identifier: "sha256", value: SHA256, role: "related", source: "typed" },
        { type: "phone", identifier: "phoneNumber", value: "+442079460958", role: "related", source: "typed" },
      ]),
    );
    expect(entities).toHaveLength(7);
  });

  it.each([
    ["an IP address out of range", { impactedTyped: "LAPTOP-1\n10.0.0.300" }, "impactedTyped", /10\.0\.0\.300 is not an IP address/],
    ["a hash of the wrong length", { evidenceTyped: `hash: ${SHA256.slice(0, 50)}` }, "evidenceTyped", /has 50 hexadecimal characters: a SHA-256 has 64, a SHA-1 40/],
    ["a URL scheme the form refuses", { evidenceTyped: "ssh://files.contoso.example/share" }, "evidenceTyped", /ssh:\/\/files\.contoso\.example\/share has a scheme \(ssh:\)/],
    ["an unknown technique", { techniques: "T1566,T9999" }, "techniques", /Not an ATT&CK Enterprise .* technique: T9999/],
    ["more than 100 entities", { evidenceTyped: Array.from({ length: 101 }, (_, i) => `h${i}`).join("\n") }, "evidenceTyped", /at most 100 entities; this box has 101/],
    ["100 typed entities plus the impacted ones", { impacted: SOCRATES, evidenceTyped: Array.from({ length: 100 }, (_, i) => `h${i}`).join(",") }, "evidenceTyped", /at most 100 entities; with these it would have 103\. Remove 3\./],
    ["a box over its 700 characters", { impactedTyped: Array.from({ length: 50 }, (_, i) => `198.51.100.${i}`).join(", ") }, "impactedTyped", /^Keep this box to 700 characters \(it has 738\)\.$/],
    ["a category that is not Defender's", { category: "Sneaky" }, "category", /"Sneaky" is not a category/],
    ["recommended actions too long", { recommendedActions: "r".repeat(5001) }, "recommendedActions", /to 5000 characters \(they have 5001\)/],
    ["recommended actions with a control character", { recommendedActions: "a\u0007b" }, "recommendedActions", /control characters/],
    ["a person the directory does not know", { impacted: "0badc0de-0000-4000-8000-000000000000" }, "impacted", /not in the directory any more \(0badc0de-0000-4000-8000-000000000000\)/],
    ["something that is not an object id", { impacted: "ceo@contoso.com" }, "impacted", /Choose people and groups from the list \("ceo@contoso.com" is not one\)/],
  ])("refuses %s with the error next to its field, writing nothing and keeping what was typed", async (_name, bad, field, error) => {
    const form = await openForm();
    bot.connector.reset();
    const typed = { ...FULL, ...bad };
    const res = await create(submitted(form, typed));
    const card = res.body.value;
    expect(errorAfter(card, field)).toMatch(error);
    // Only that field is wrong.
    for (const other of ["title", "category", "techniques", "recommendedActions", "impacted", "impactedTyped", "evidenceTyped"]) {
      if (other !== field) expect(errorAfter(card, other)).toBeUndefined();
    }
    for (const [key, value] of Object.entries(typed)) {
      if (key !== "impacted") expect(input(card, key).value).toBe(value);
    }
    expect(await bot.app.service.get(String(form.actions[0].data.submissionId))).toBeUndefined();
    expect(bot.connector.calls).toHaveLength(0);
  });

  it("names every bad value of a box (the first three, and how many more)", async () => {
    const form = await openForm();
    const res = await create(submitted(form, { title: "t", evidenceTyped: "1.2.3.999, 4.5.6.999\nfile: abc1\nsh://x, ip: nope" }));
    const error = errorAfter(res.body.value, "evidenceTyped")!;
    expect(error).toMatch(/^1\.2\.3\.999 is not an IP address.* 4\.5\.6\.999 is not an IP address.* abc1… has 4 hexadecimal characters.* And 2 more\.$/);
  });

  it("opens the edit form with the incident's values, and removes the evidence unticked, keeping the rest", async () => {
    const form = await openForm();
    const data = submitted(form, FULL);
    await create(data);
    const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: data.submissionId }))).body.value;
    expect(input(edit, "category").value).toBe("InitialAccess");
    expect(input(edit, "techniques").value).toBe("T1566.002,T1078");
    expect(input(edit, "techniques").choices).toContainEqual({ title: "T1566.002 Phishing: Spearphishing Link", value: "T1566.002" });
    expect(input(edit, "recommendedActions").value).toBe(FULL.recommendedActions);
    expect(input(edit, "impacted").value).toBe(`${SOCRATES},${SOC_TIER_1}`);
    expect(input(edit, "impacted").choices).toEqual(
      expect.arrayContaining([
        { title: "Socrates Papadopoulos · socrates.p@contoso.com", value: SOCRATES },
        { title: "SOC Tier 1 · group", value: SOC_TIER_1 },
      ]),
    );
    expect(input(edit, "impactedTyped").value).toBe("fin-laptop-07\n203.0.113.7");
    const evidence = input(edit, "evidenceKept");
    expect(evidence).toMatchObject({ type: "Input.ChoiceSet", isMultiSelect: true, style: "expanded" });
    // Defanged: never a clickable indicator.
    const titles = evidence.choices.map((c: any) => c.title);
    expect(titles).toEqual(["URL: hxxps://paypa1-login[.]com/verify", `File hash: ${SHA256.slice(0, 25)}…${SHA256.slice(-14)}`, "Phone number: +442079460958"]);
    // All ticked.
    expect(evidence.value.split(",")).toEqual(evidence.choices.map((c: any) => c.value));

    const keep = evidence.choices.filter((c: any) => !c.title.startsWith("URL")).map((c: any) => c.value).join(",");
    const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), evidenceKept: keep, evidenceTyped: "evil-login.com" }));
    expect(visibleText(res.body.value)).toContain("Saved by Alex Wilber.");
    const stored = await bot.app.service.get(data.submissionId);
    const kept = stored!.entities!.map((e) => `${e.role} ${e.type} ${e.value}`);
    expect(kept.sort()).toEqual(
      [
        `impacted user ${SOCRATES}`,
        `impacted group ${SOC_TIER_1}`,
        "impacted device fin-laptop-07",
        "impacted ip 203.0.113.7",
        `related file ${SHA256}`,
        "related phone +442079460958",
        "related domain evil-login.com",
      ].sort(),
    );
    expect(stored).toMatchObject({ category: "InitialAccess", mitreTechniques: ["T1566.002", "T1078"] });
  });

  it("ticks all evidence again when someone else saved first, so evidence they added is never removed unseen", async () => {
    const form = await openForm();
    const data = submitted(form, FULL);
    await create(data);
    const openEdit = async (from: Person) => (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: data.submissionId }, { from }))).body.value;
    const mine = await openEdit(ALEX);
    const theirs = await openEdit(LEE);
    await bot.post(execute(bot.serviceUrl, "incident.update", { ...theirs.actions[0].data, ...values(theirs), evidenceTyped: "evil-login.com" }, { from: LEE }));
    // Alex unticks the URL on the form opened before Lee's save.
    const url = input(mine, "evidenceKept").choices.find((c: any) => c.title.startsWith("URL")).value;
    const keep = input(mine, "evidenceKept").value.split(",").filter((v: string) => v !== url).join(",");
    const res = await bot.post(execute(bot.serviceUrl, "incident.update", { ...mine.actions[0].data, ...values(mine), evidenceKept: keep }));
    const back = res.body.value;
    expect(visibleText(back).join(" ")).toMatch(/while you were editing.*The evidence list shows all it holds now: untick again what should go\./);
    const evidence = input(back, "evidenceKept");
    expect(evidence.choices.map((c: any) => c.title)).toContain("Domain: evil-login[.]com");
    expect(evidence.value.split(",").sort()).toEqual(evidence.choices.map((c: any) => c.value).sort());
    const stored = await bot.app.service.get(data.submissionId);
    expect(stored!.entities!.filter((e) => e.role === "related")).toHaveLength(4);
  });

  it("clears what the edit form clears: category, techniques, actions, impacted assets", async () => {
    const form = await openForm();
    const data = submitted(form, FULL);
    await create(data);
    const edit = (await bot.post(execute(bot.serviceUrl, "triage.edit", { incidentId: data.submissionId }))).body.value;
    const cleared = { category: "", techniques: "", recommendedActions: "", impacted: "", impactedTyped: "" };
    await bot.post(execute(bot.serviceUrl, "incident.update", { ...edit.actions[0].data, ...values(edit), ...cleared }));
    const stored = await bot.app.service.get(data.submissionId);
    expect(stored!.category).toBeUndefined();
    expect(stored!.mitreTechniques).toBeUndefined();
    expect(stored!.recommendedActions).toBeUndefined();
    expect(stored!.entities!.map((e) => e.role)).toEqual(["related", "related", "related"]);
  });

  it("sets none of it from an employee's payload, whatever it carries", async () => {
    // Their form is the short report; the payload is crafted, sent to the analysts' verb with their own signed id.
    const form = await openForm(DIEGO);
    expect(Object.keys(values(form))).not.toContain("category");
    const data = submitted(form, FULL);
    const res = await create(data, DIEGO);
    expect(res.status).toBe(200);
    const stored = await bot.app.service.get(data.submissionId);
    expect(stored).toMatchObject({ title: FULL.title, createdBy: { objectId: DIEGO.aadObjectId } });
    expect(stored!.category).toBeUndefined();
    expect(stored!.mitreTechniques).toBeUndefined();
    expect(stored!.recommendedActions).toBeUndefined();
    expect(stored!.entities).toBeUndefined();

    // Sent back on an error, it names nobody from the directory: an employee can't look people up by id.
    const again = await create({ ...submitted(await openForm(DIEGO), FULL), title: " " }, DIEGO);
    expect(JSON.stringify(again.body.value)).not.toMatch(/Socrates|SOC Tier 1|FIN-LAPTOP/);
  });

  it("answers the techniques typeahead by id and by name, for analysts only", async () => {
    const byId = await bot.post(search(bot.serviceUrl, "techniques", "t1566.00"));
    expect(byId.status).toBe(200);
    expect(byId.body.value.results.map((r: any) => r.value)).toEqual(["T1566.001", "T1566.002", "T1566.003", "T1566.004"]);
    const byName = await bot.post(search(bot.serviceUrl, "techniques", "spearphishing link"));
    expect(byName.body.value.results).toContainEqual({ title: "T1566.002 Phishing: Spearphishing Link", value: "T1566.002" });

    const unknown = await bot.post(search(bot.serviceUrl, "secrets", "phish", { from: DIEGO }));
    const employee = await bot.post(search(bot.serviceUrl, "techniques", "phish", { from: DIEGO }));
    expect(employee.status).toBe(400);
    expect(employee.body.value.message).toBe(unknown.body.value.message.replace('"secrets"', '"techniques"'));
  });
});
