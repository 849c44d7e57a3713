/**
 * Every sample of the card catalogue (test/cards/catalogue.ts), typical and worst case, rendered in
 * Chromium by the official renderer with the Teams-like host config, in each Teams theme (light, dark,
 * high contrast: the theme's colours and page background, one page per theme in the one browser):
 * no validation event, nothing cut off or sticking out of a Teams-wide card, and every text of the
 * card on screen. A card added to the catalogue is covered here with no change to this file. (Whether
 * each text can be read on its background in each theme is test/cards/contrast.test.ts.)
 */
import { CATALOGUE, type CardSample } from "../cards/catalogue";
import { startSampleWorld } from "../cards/sample-world";
import { walk, type Json } from "../cards/teams-rules";
import { THEMES, launchBrowser, type Browser, type CardPage } from "./support/card-page";

let browser: Browser;
/** A page per theme, kept for every sample: the cards are shown one after another in each. */
const pages = new Map<string, CardPage>();

beforeAll(async () => {
  browser = await launchBrowser();
  for (const theme of THEMES) pages.set(theme.name, await browser.newPage(theme));
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

/** "#RRGGBB" or "#AARRGGBB" as the CSS rgb()/rgba() a browser reports. */
function css(colour: string): string {
  const hex = colour.replace("#", "");
  const [a, rgb] = hex.length === 8 ? [parseInt(hex.slice(0, 2), 16) / 255, hex.slice(2)] : [1, hex];
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(rgb.slice(i, i + 2), 16));
  return a === 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${Number(a.toFixed(2))})`;
}

describe.each(THEMES.map((theme) => [theme.name, theme] as const))("the page in Teams %s", (_name, theme) => {
  it("paints the theme: its page background, and the card and its text in the theme's host config colours", async () => {
    const page = pages.get(theme.name)!;
    const first = CATALOGUE[0]!;
    const world = await startSampleWorld();
    try {
      expect(await page.show(await first.samples[0]!.make(world))).toEqual([]);
    } finally {
      await world.stop();
    }
    const colours = await page.colours();
    const expected = { light: "rgb(245, 245, 245)", dark: "rgb(31, 31, 31)", "high contrast": "rgb(0, 0, 0)" }[theme.name];
    expect(colours.page).toBe(expected);
    const style = theme.hostConfig.containerStyles.default;
    expect(colours.card).toBe(css(style.backgroundColor));
    expect([css(style.foregroundColors.default.default), css(style.foregroundColors.default.subtle)]).toContain(colours.text);
  });
});

const samples = CATALOGUE.flatMap((entry) => entry.samples.map((sample, i) => [entry.template, sample.name, i, sample] as const));

describe.each(samples)("%s: %s", (template, _name, index, sample: CardSample) => {
  let card: Json;
  beforeAll(async () => {
    // The card is made once (a bot in a sample world) and shown in every theme.
    const world = await startSampleWorld();
    try {
      card = await sample.make(world);
    } finally {
      await world.stop();
    }
  });

  describe.each(THEMES.map((theme) => [theme.name, theme] as const))("in Teams %s", (_theme, theme) => {
    let page: CardPage;
    let problems: string[];
    beforeAll(async () => {
      page = pages.get(theme.name)!;
      problems = await page.show(card);
      // A picture of every sample in every theme for a person to look at, in the temporary folder (never in docs/).
      await page.screenshot(`catalogue-${template}-${index}-${theme.slug}`, { forReadme: false });
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
});
