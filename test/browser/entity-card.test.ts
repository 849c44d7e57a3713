/**
 * The incident card's entities as an analyst sees them in the official renderer in Chromium: the
 * values defanged and never a link (no <a>, even for a javascript: URL or a value that reads as
 * markdown), the flags in words, and "Copy values" opening the plain values one per line in a box.
 * The README's picture of it is made here (UPDATE_SCREENSHOTS=1: docs/images/incident-entities.png).
 */
import { startTestBot, type TestBot } from "../support/bot";
import { entity, giveEntities, phishingFields } from "../support/entities";
import { ALEX, execute, message } from "../support/teams";
import { cardOf, values } from "../support/cards";
import { launchBrowser, type Browser, type CardPage, type Json } from "./support/card-page";

let browser: Browser;
let bot: TestBot;
let page: CardPage;

beforeAll(async () => {
  browser = await launchBrowser();
  bot = await startTestBot();
  page = await browser.newPage();
});
afterAll(async () => {
  await page?.page.close();
  await bot?.stop();
  await browser?.close();
});

/** A value that is a markdown link if anything reads it as markdown (a URL whose path holds `[.](javascript:…)` once defanged). */
const MARKDOWN_BAIT = "https://evil.example/a.(javascript:alert(1))";

async function triageCardWithEntities(): Promise<Json> {
  await bot.post(message(bot.serviceUrl, "incident", { from: ALEX }));
  const form = cardOf(bot.connector.sent().at(-1));
  const created = await bot.post(
    execute(bot.serviceUrl, "incident.create", { ...form.actions[0].data, ...values(form), title: "Phishing mail with a credential link", severity: "High" }),
  );
  expect(created.status).toBe(200);
  const [incident] = await bot.incidents();
  const fields = phishingFields();
  await giveEntities(bot, incident!.id, { ...fields, entities: [...fields.entities!, entity("url", MARKDOWN_BAIT)], entitiesNotKept: 3 });
  const res = await bot.post(execute(bot.serviceUrl, "triage.view", { incidentId: incident!.id }));
  expect(res.status).toBe(200);
  return res.body.value;
}

describe("the entities on the incident card, in the renderer", () => {
  it("shows every value defanged with its flags in words, none of them a link; Copy values opens the plain values", async () => {
    const card = await triageCardWithEntities();
    expect(await page.show(card)).toEqual([]);
    const shown = (await page.text()).replace(/\u200b/g, "");
    for (const said of [
      "Category",
      "Initial access",
      "T1566.002 Phishing: Spearphishing Link",
      "Impacted assets and evidence",
      "12 indicators, 2 impacted (3 not kept: the incident holds 100)",
      "hxxps://evil[.]example/login?next=hxxps://contoso[.]sharepoint[.]com",
      "javascript[:]alert(document[.]cookie)",
      "script URL: do not open",
      "10.20.30[.]40",
      "private range",
      "2001[:]db8[:][:]7",
      "xn--pypal-4ve[.]com",
      "lookalike letters (mixed scripts)",
      "megan.bowen@contoso.com",
      "Megan Bowen · from the directory",
      "found in a report",
      "entered by an analyst",
    ]) {
      expect(shown).toContain(said);
    }
    // No link anywhere in the card but the buttons (none of which opens an indicator).
    const links = await page.card.locator("a").evaluateAll((as: any[]) => as.map((a) => String(a.getAttribute("href"))));
    expect(links).toEqual([]);
    expect(shown).not.toContain("https://evil.example");
    expect(shown).not.toContain("javascript:alert(document");
    await page.screenshot("incident-entities");

    await page.card.getByRole("button", { name: "Copy values", exact: true }).click();
    // The plain values, one per line, whole, for a hunting query: in a text box, never a link.
    const box = page.card.locator("textarea");
    expect(await box.count()).toBe(1);
    const lines = (await box.inputValue()).split("\n");
    for (const line of ["https://evil.example/login?next=https://contoso.sharepoint.com", "javascript:alert(document.cookie)", "10.20.30.40", MARKDOWN_BAIT]) {
      expect(lines).toContain(line);
    }
    expect(await page.card.locator("a").count()).toBe(0);
    expect(await page.layoutProblems()).toEqual([]);
    await page.screenshot("incident-entities-copy", { forReadme: false });
    // The box is no input of any button: Assign to me sends what it always sent.
    const assign = await page.click("Assign to me");
    expect(assign?.verb).toBe("triage.assign");
    expect(Object.keys(assign!.data).sort()).toEqual(["incidentId", "revision"]);
  });
});
