/**
 * Every sample of the card catalogue (test/cards/catalogue.ts), typical and worst case, rendered in
 * Chromium by the official renderer with the Teams-like host config: no validation event, nothing
 * cut off or sticking out of a Teams-wide card, and every text of the card on screen. A card added
 * to the catalogue is covered here with no change to this file.
 */
import { CATALOGUE, type CardSample } from "../cards/catalogue";
import { startSampleWorld } from "../cards/sample-world";
import { walk, type Json } from "../cards/teams-rules";
import { launchBrowser, type Browser, type CardPage } from "./support/card-page";

let browser: Browser;
let page: CardPage;

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
});

/** Every text the card gives a person: text blocks, text runs, facts (title and value), button titles. */
function saidBy(card: Json): string[] {
  const out: string[] = [];
  // What an Action.ShowCard opens is hidden until clicked (test/browser/using-the-cards.test.ts opens them).
  const shown = (node: Json): Json => (node && typeof node === "object" && !Array.isArray(node) && node.type === "Action.ShowCard" ? { ...node, card: undefined } : node);
  const strip = (node: unknown): unknown => (Array.isArray(node) ? node.map(strip) : node && typeof node === "object" ? Object.fromEntries(Object.entries(shown(node as Json)).map(([k, v]) => [k, strip(v)])) : node);
  walk(strip(card), (o) => {
    if (o.type === "TextBlock" || o.type === "TextRun") out.push(String(o.text));
    if (Array.isArray(o.facts)) for (const f of o.facts) out.push(String(f.title), String(f.value));
    if (typeof o.type === "string" && o.type.startsWith("Action.") && o.title) out.push(String(o.title));
  });
  // A fallback action is not shown: the action it stands in for is.
  return out;
}

/** Text as a person compares it: markdown marks gone, runs of white space as one. */
function plain(text: string): string {
  return text.replace(/\*\*|\*|_(?=\S)|(?<=\S)_/g, "").replace(/\s+/g, " ").trim();
}

const samples = CATALOGUE.flatMap((entry) => entry.samples.map((sample, i) => [entry.template, sample.name, i, sample] as const));

describe.each(samples)("%s: %s", (template, _name, index, sample: CardSample) => {
  let card: Json;
  let problems: string[];
  beforeAll(async () => {
    const world = await startSampleWorld();
    try {
      card = await sample.make(world);
    } finally {
      await world.stop();
    }
    problems = await page.show(card);
    // A picture of every sample for a person to look at, in the temporary folder (never in docs/).
    await page.screenshot(`catalogue-${template}-${index}`, { forReadme: false });
  });

  it("renders in Chromium with no validation event and every text on screen", async () => {
    expect(problems).toEqual([]);
    const onScreen = plain(await page.text());
    const missing = saidBy(card).filter((said) => !onScreen.includes(plain(said)));
    expect(missing).toEqual([]);
  });

  it("fits a Teams-wide card: nothing cut off or sticking out, labels in line with their values", async () => {
    expect(await page.layoutProblems()).toEqual([]);
  });
});
