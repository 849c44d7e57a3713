/**
 * The analyst form's Defender part (category, ATT&CK techniques, recommended actions, impacted
 * assets, evidence) and "Add to an existing incident", used in the official renderer in Chromium
 * against the running bot, as using-the-cards.test.ts does for the rest of the form; and the
 * employee's receipt that counts the indicators found in their words.
 *
 * Typeahead: the plain renderer has none (see test/browser/support/card-page.ts). Where a person
 * needs more than a choice set's static choices (a technique beyond the common ones, an incident to
 * add to), `teamsOffers` does what Teams does when they type in the search box: it asks the bot
 * (an application/search invoke over HTTP) and offers its answer; the person then picks one.
 */
import { startTestBot, type TestBot } from "../support/bot";
import { ALEX, MEGAN, search } from "../support/teams";
import { launchBrowser, type Browser, type CardPage, type Json } from "./support/card-page";
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

const HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

function inputOf(card: Json, id: string): Json {
  const found: Json[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      if ((node as Json).id === id && String((node as Json).type).startsWith("Input.")) found.push(node);
      Object.values(node).forEach(walk);
    }
  };
  walk(card.body);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/**
 * Teams' typeahead: the person types `typed` in the search box of `inputId`; Teams asks the bot for
 * the input's Data.Query dataset and lists its answer. Returns the card with that answer among the
 * input's choices (as the list Teams shows), and the answer itself.
 */
async function teamsOffers(
  card: Json,
  inputId: string,
  typed: string,
): Promise<{ card: Json; offered: { title: string; value: string }[] }> {
  const copy: Json = JSON.parse(JSON.stringify(card));
  const input = inputOf(copy, inputId);
  const dataset = input["choices.data"]?.dataset;
  expect(typeof dataset).toBe("string");
  const res = await bot.post(search(bot.serviceUrl, dataset, typed, { from: ALEX }));
  expect(res.status).toBe(200);
  const offered: { title: string; value: string }[] = res.body.value.results;
  const known = new Set((input.choices as Json[]).map((c) => c.value));
  input.choices = [...input.choices, ...offered.filter((o) => !known.has(o.value))];
  return { card: copy, offered };
}

/** An incident made with the form, as an analyst would (its title only). */
async function earlierIncident(title: string): Promise<string> {
  const form = await botSays(bot, "incident");
  const created = await send(bot, { type: "Action.Execute", verb: "incident.create", data: { ...form.actions[0].data, title } });
  expect(JSON.stringify(created)).toContain("created");
  const made = (await bot.incidents()).find((i) => i.title === title);
  return made!.id;
}

describe("the analyst form's Defender part, used in the renderer", () => {
  it("is filled in (category, techniques, actions, impacted assets, evidence), sent, and the incident card shows it defanged, with no link", async () => {
    const form = await botSays(bot, "incident");
    expect(await page.show(form)).toEqual([]);
    const shown = await page.text();
    for (const words of [
      "For Microsoft Defender",
      "Category",
      "MITRE ATT&CK techniques",
      "Recommended actions",
      "Other impacted assets",
      "Add evidence",
    ]) {
      expect(shown).toContain(words);
    }
    // The common techniques are offered as boxes before anyone types.
    expect(await page.boxes("techniques")).toContain("T1566 Phishing");

    // Typed in the technique search box: Teams asks the bot's ATT&CK typeahead and lists what it answers.
    const typed = await teamsOffers(form, "techniques", "spearphishing link");
    expect(typed.offered).toContainEqual({ title: "T1566.002 Phishing: Spearphishing Link", value: "T1566.002" });
    expect(await page.show(typed.card)).toEqual([]);
    await page.type("Title", "Credential phishing: fake PayPal login", { required: true });
    await page.type("Description", "Two people in Finance got a mail linking to a fake PayPal login page.");
    await page.pick("Severity", "High", { required: true });
    await page.pick("Category", "Initial access");
    await page.tick("techniques", "T1566.002 Phishing: Spearphishing Link", "T1204 User Execution");
    await page.type("Recommended actions", "Block the domain at the proxy. Reset the passwords of anyone who signed in.");
    await page.type("Other impacted assets", "FIN-LAPTOP-07\n203.0.113.45");
    await page.type("Add evidence", `hxxps://paypa1-login[.]com/verify\nsha256: ${HASH}\n+44 7700 900123`);
    await page.screenshot("incident-form-defender", { from: "For Microsoft Defender" });

    const action = await page.click("Create incident");
    expect(action).toMatchObject({
      verb: "incident.create",
      data: {
        category: "InitialAccess",
        // In the order the boxes are listed: the common ones, then the one Teams found.
        techniques: "T1204,T1566.002",
        impactedTyped: "FIN-LAPTOP-07\n203.0.113.45",
        evidenceTyped: `hxxps://paypa1-login[.]com/verify\nsha256: ${HASH}\n+44 7700 900123`,
      },
    });
    const confirmation = await send(bot, action);
    expect(await page.show(confirmation)).toEqual([]);
    const read = (await page.text()).replace(/\u200b/g, "");
    expect(read).toMatch(/^Incident INC-1 created\n/);
    for (const seen of [
      "Initial access",
      "T1566.002 Phishing: Spearphishing Link",
      "T1204 User Execution",
      "Recommended actions: Block the domain at the proxy. Reset the passwords of anyone who signed in.",
      "5 indicators, 2 impacted. Shown defanged: hxxp and [.] stand for http and a dot.",
      "FIN-LAPTOP-07 impacted · entered by an analyst",
      "203.0.113[.]45 impacted · entered by an analyst · reserved range",
      "hxxps://paypa1-login[.]com/verify evidence · entered by an analyst",
      `${HASH} evidence · entered by an analyst`,
      "+44 7700 900123 evidence · entered by an analyst",
    ]) {
      expect(read).toContain(seen);
    }
    expect(read).not.toContain("https://paypa1-login.com");
    expect(await page.card.locator("a").count()).toBe(0);
    expect(await page.layoutProblems()).toEqual([]);
    await page.screenshot("incident-created-defender");

    const [incident] = await bot.incidents();
    expect(incident).toMatchObject({ category: "InitialAccess", mitreTechniques: ["T1204", "T1566.002"] });
    const entities = incident!.entities!.map((e) => ({ type: e.type, value: e.value, role: e.role, source: e.source }));
    expect(entities).toEqual(
      expect.arrayContaining([
        { type: "device", value: "fin-laptop-07", role: "impacted", source: "typed" },
        { type: "ip", value: "203.0.113.45", role: "impacted", source: "typed" },
        { type: "url", value: "https://paypa1-login.com/verify", role: "related", source: "typed" },
        { type: "file", value: HASH, role: "related", source: "typed" },
      ]),
    );
  });

  it("answers an invalid IP and a hash of the wrong length with an error next to each box, every value kept and nothing written", async () => {
    const form = await botSays(bot, "incident");
    expect(await page.show(form)).toEqual([]);
    await page.type("Title", "Odd sign-ins on the VPN", { required: true });
    await page.type("Other impacted assets", "VPN-GW-02\n203.0.113.300");
    await page.type("Add evidence", "sha256: 9f86d081884c7d659a2feaa0c55ad015");
    const answer = await send(bot, await page.click("Create incident"));
    expect(await page.show(answer)).toEqual([]);
    const read = await page.text();
    // Each error right under its box, the value that failed quoted.
    expect(read).toMatch(
      /Other impacted assets\n203\.0\.113\.300 is not an IP address \(IPv4 like 203\.0\.113\.7, or IPv6 like 2001:db8::7\)\.\n/,
    );
    expect(read).toMatch(/Add evidence\n9f86d081884c… has 32 hexadecimal characters: a SHA-256 has 64, a SHA-1 40\.\n/);
    expect(await page.input("Other impacted assets").inputValue()).toBe("VPN-GW-02\n203.0.113.300");
    expect(await page.input("Add evidence").inputValue()).toBe("sha256: 9f86d081884c7d659a2feaa0c55ad015");
    expect(await bot.incidents()).toEqual([]);
    await page.screenshot("incident-form-entity-errors", { from: "For Microsoft Defender" });
  });
});

describe("Add to an existing incident, used in the renderer", () => {
  it("the analyst finds the incident by a word of its title, sends the form, and is told which incident it joined", async () => {
    const target = await earlierIncident("Phishing mail with a fake PayPal link");
    const form = await botSays(bot, "incident");
    // Typed in the attach search box: Teams asks the bot's incidents typeahead.
    const found = await teamsOffers(form, "attachTo", "paypal");
    expect(found.offered).toEqual([{ title: "INC-1: Phishing mail with a fake PayPal link", value: target }]);
    expect(await page.show(found.card)).toEqual([]);
    expect(await page.chooseOffered("attachTo", "INC-1")).toBe("INC-1: Phishing mail with a fake PayPal link");
    await page.type("Title", "Same mail, reported by Megan", { required: true });
    await page.type("Add evidence", "paypa1-login[.]com");
    const action = await page.click("Create incident");
    expect(action?.data).toMatchObject({ attachTo: target, evidenceTyped: "paypa1-login[.]com" });

    const added = await send(bot, action);
    expect(await page.show(added)).toEqual([]);
    const read = (await page.text()).replace(/\u200b/g, "");
    expect(read).toMatch(/^Added to INC-1\n/);
    expect(read).toContain("Added to INC-1: Phishing mail with a fake PayPal link.");
    // What the report brought, on the incident's card: defanged, never a link.
    expect(read).toContain("paypa1-login[.]com");
    expect(await page.card.locator("a").count()).toBe(0);
    expect(await page.layoutProblems()).toEqual([]);
    await page.screenshot("incident-attached");
    const all = await bot.incidents();
    expect(all).toHaveLength(1);
    expect(all[0]!.entities?.map((e) => e.value)).toContain("paypa1-login.com");
  });
});

describe("an employee's report with indicators in their words, used in the renderer", () => {
  it("is sent as written and the receipt says how many indicators were found", async () => {
    const words =
      "I got a text from +44 7700 900123 saying my parcel is held, it linked to hxxps://royalmail-redelivery[.]info/pay";
    const report = await botSays(bot, words, MEGAN);
    expect(await page.show(report)).toEqual([]);
    const action = await page.click("Send to the SOC");
    const receipt = await send(bot, action, MEGAN);
    expect(await page.show(receipt)).toEqual([]);
    const read = await page.text();
    expect(read).toMatch(/^Thank you. Your report is INC-1\n/);
    expect(read).toContain("3 indicators were found in your report and passed to the SOC.");
    await page.screenshot("report-received-indicators");
    const [incident] = await bot.incidents();
    expect(incident!.entities?.filter((e) => e.source === "extracted").map((e) => `${e.type}:${e.value}`)).toEqual(
      expect.arrayContaining(["url:https://royalmail-redelivery.info/pay", "domain:royalmail-redelivery.info"]),
    );
  });
});
