/**
 * A card in a real browser, used as a person uses it: headless Chromium (Debian's) driven by
 * playwright-core, the official Adaptive Cards renderer (adaptivecards/dist/adaptivecards.min.js
 * from node_modules) with a Teams-like host config and style sheet, and the renderer's own
 * onExecuteAction to read back what a click would send to the bot.
 *
 * What is not Teams here (say so when reading a test or a picture):
 * - The host config and CSS are ours (test/browser/teams-host-config.json, teams.css), written from
 *   Teams' documented light-theme values; fonts are whatever the machine has (no Segoe UI on Linux).
 * - Themes (THEMES): a page shows one Teams theme. Light is that host config; dark and high contrast
 *   are the same host config (fonts, spacing, inputs, actions) with the colours (container styles) of
 *   Microsoft's Teams dark host config and of the high-contrast one made from the Teams high-contrast
 *   tokens (test/cards/contrast.ts, test/cards/themes/), which test/cards/contrast.test.ts measures.
 *   Teams changes only colours between themes, and so do these pages.
 *   The page around the card (chat background, inputs, buttons) follows the theme in teams.css.
 * - Typeahead (`choices.data`, Data.Query) is switched off: the plain renderer (3.0.6) would send the
 *   typed title instead of the chosen value and gives a multi-select typeahead no value at all.
 *   A filtered choice set then shows its static choices: the owner as a text box with a list, the
 *   tags as check boxes. Teams shows search boxes and asks the bot (application/search, tested in
 *   test/teams).
 * - A filtered single choice (owner, the incident to add to) is a text box here: it shows the chosen
 *   choice's title, as Teams does, not its value (the renderer would show "new" or "me").
 * - Markdown: Teams renders a small subset (bold, italic, links); the renderer needs a processor for
 *   it, and this one does just that subset.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { THEMES as COLOUR_THEMES } from "../../cards/contrast";

export type Json = Record<string, any>;

const ROOT = path.resolve(__dirname, "..", "..", "..");
const RENDERER = path.join(ROOT, "node_modules", "adaptivecards", "dist", "adaptivecards.min.js");
const RENDERER_CSS = path.join(ROOT, "node_modules", "adaptivecards", "dist", "adaptivecards.css");
const HOST_CONFIG: Json = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "teams-host-config.json"), "utf8"));
const TEAMS_CSS = path.join(__dirname, "..", "teams.css");

/** Debian's Chromium; CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Width of a card in a Teams chat on a desktop, in CSS pixels. */
export const CARD_WIDTH = 540;

export interface TakenAction {
  /** Action.Execute or Action.Submit. */
  type: string;
  id?: string;
  title?: string;
  verb?: string;
  /** What the renderer would send: the action's data with the inputs merged in. */
  data: Record<string, unknown>;
}

/** A Teams theme: its host config, and the class on the page's body that gives the page around the card its look (teams.css). */
export interface Theme {
  name: "light" | "dark" | "high contrast";
  /** For file names and the body's class: light, dark, high-contrast. */
  slug: string;
  hostConfig: Json;
}

function theme(name: Theme["name"]): Theme {
  const colours = COLOUR_THEMES.find((t) => t.name === name);
  if (!colours) throw new Error(`no Teams theme called ${name} in test/cards/contrast.ts`);
  const hostConfig = name === "light" ? HOST_CONFIG : { ...HOST_CONFIG, containerStyles: colours.hostConfig.containerStyles };
  return { name, slug: name.replace(/ /g, "-"), hostConfig };
}

/** Teams light (the default), dark and high contrast. */
export const THEMES: readonly Theme[] = [theme("light"), theme("dark"), theme("high contrast")];
export const LIGHT = THEMES[0]!;

export interface Browser {
  /** A page in a Teams theme (light unless said). */
  newPage(theme?: Theme): Promise<CardPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}. Install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-"));
  // A persistent context is how Playwright takes a --user-data-dir: a fresh, empty one per run.
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: CARD_WIDTH + 80, height: 900 },
    deviceScaleFactor: 1,
    locale: "en-GB",
    timezoneId: "UTC",
    offline: true,
  });
  return {
    newPage: async (theme: Theme = LIGHT) => {
      const page = await context.newPage();
      await CardPage.prepare(page, theme);
      return new CardPage(page, theme);
    },
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The page's globals, for the functions that run in the page (the project compiles without the DOM library).
declare const window: any;
declare const document: any;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card</title></head>
<body>
  <div class="teams-chat">
    <div class="teams-message" id="message" style="width: ${CARD_WIDTH}px">
      <div class="teams-sender"><span class="teams-bot-name">Incident Bot</span></div>
      <div class="teams-card" id="card"></div>
    </div>
  </div>
</body></html>`;

/** Runs in the page: renders a card as a Teams host would and keeps what its actions send. */
function pageScript(): void {
  const AC = window.AdaptiveCards;
  window.taken = [];
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  // Teams' markdown subset: **bold**, *italic* / _italic_, [links](https://...). Everything else is text.
  AC.AdaptiveCard.onProcessMarkdown = (text: string, result: { outputHtml?: string; didProcess: boolean }) => {
    result.outputHtml = `<p>${escape(text)
      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*(?!\s)(.+?)\*(?!\w)/g, "$1<em>$2</em>")
      .replace(/(^|\W)_(?!\s)(.+?)_(?!\w)/g, "$1<em>$2</em>")
      .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2">$1</a>')}</p>`;
    result.didProcess = true;
  };
  // A filtered single choice drawn as a text box shows its value as the box's text ("new", "me"): Teams shows the chosen
  // choice's title. The box is given the title, which the renderer sends back as that choice's value.
  const showChosenTitles = (node: any): any => {
    if (Array.isArray(node)) return node.map(showChosenTitles);
    if (!node || typeof node !== "object") return node;
    const out: any = {};
    for (const [key, value] of Object.entries(node)) out[key] = showChosenTitles(value);
    if (out.type === "Input.ChoiceSet" && out.style === "filtered" && !out.isMultiSelect && Array.isArray(out.choices)) {
      const chosen = out.choices.find((c: any) => c && c.value === out.value && c.title);
      if (chosen) out.value = chosen.title;
    }
    return out;
  };
  window.showCard = (payload: unknown, hostConfigJson: unknown) => {
    const hostConfig = new AC.HostConfig(hostConfigJson);
    // The renderer ignores `false` for this setting in JSON: switch typeahead off here (see the top of card-page.ts).
    hostConfig.inputs.allowDynamicallyFilteredChoiceSet = false;
    const card = new AC.AdaptiveCard();
    card.hostConfig = hostConfig;
    card.maxVersion = new AC.Version(1, 5);
    const context = new AC.SerializationContext();
    card.parse(showChosenTitles(payload), context);
    const problems: string[] = [];
    for (let i = 0; i < context.eventCount; i++) {
      const e = context.getEventAt(i);
      problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
    for (const e of card.validateProperties().validationEvents) problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
    card.onExecuteAction = (action: any) => {
      window.taken.push({
        type: action.getJsonTypeName(),
        id: action.id,
        title: action.title,
        verb: action.verb,
        data: JSON.parse(JSON.stringify(action.data ?? {})),
      });
    };
    const host = document.getElementById("card");
    host.replaceChildren();
    const rendered = card.render();
    if (!rendered) throw new Error("the renderer rendered nothing");
    host.appendChild(rendered);
    return problems;
  };
}

export class CardPage {
  constructor(
    readonly page: Page,
    readonly theme: Theme = LIGHT,
  ) {}

  static async prepare(page: Page, theme: Theme): Promise<void> {
    await page.setContent(PAGE.replace("<body>", `<body class="theme-${theme.slug}">`));
    await page.addStyleTag({ path: RENDERER_CSS });
    await page.addStyleTag({ path: TEAMS_CSS });
    await page.addScriptTag({ path: RENDERER });
    await page.evaluate(pageScript);
  }

  /** Shows a card in place of the one shown; returns the renderer's validation messages. */
  async show(card: Json): Promise<string[]> {
    return this.page.evaluate(([c, hc]) => window.showCard(c, hc) as string[], [card, this.theme.hostConfig] as const);
  }

  /** The colours painted: the page's background, the card's background and the colour of its first text (CSS rgb() strings). */
  async colours(): Promise<{ page: string; card: string; text: string }> {
    return this.page.evaluate(() => {
      const style = (el: any) => window.getComputedStyle(el);
      const card = document.querySelector("#card .ac-adaptiveCard");
      const text = document.querySelector("#card .ac-textBlock");
      return { page: style(document.body).backgroundColor, card: style(card).backgroundColor, text: style(text).color };
    });
  }

  /** The card as shown. */
  get card(): Locator {
    return this.page.locator("#card");
  }

  /** The text a person sees on the card, line by line as laid out. */
  async text(): Promise<string> {
    return this.card.innerText();
  }

  /** An input by its label, as a person finds it. */
  field(label: string): Locator {
    return this.card.getByLabel(label, { exact: true });
  }

  /** A labelled input whose label is the text given (required inputs show " *" after it). */
  input(label: string, { required = false } = {}): Locator {
    return this.field(required ? `${label} *` : label);
  }

  async type(label: string, text: string, options?: { required?: boolean }): Promise<void> {
    await this.input(label, options).fill(text);
  }

  /** Picks a choice of a drop-down by what it says. */
  async pick(label: string, choice: string, options?: { required?: boolean }): Promise<void> {
    await this.input(label, options).selectOption({ label: choice });
  }

  /**
   * A filtered choice set without typeahead: a text box with a list of the static choices. A person
   * starts typing and takes the offered choice that starts with it. Found by the card's input id:
   * the renderer ties the label to the box's container, not to the box (so not by label).
   */
  async chooseOffered(inputId: string, startsWith: string): Promise<string> {
    const box = this.page.locator(`[id="${inputId}"] input[list]`);
    const listId = await box.getAttribute("list");
    const offered = await this.page
      .locator(`datalist[id="${listId}"] option`)
      .evaluateAll((options: any[]) => options.map((o) => String(o.value)));
    const choice = offered.find((o) => o.startsWith(startsWith));
    if (!choice) throw new Error(`${inputId} offers no choice starting "${startsWith}"; it offers ${JSON.stringify(offered)}`);
    await box.fill(choice);
    return choice;
  }

  /** Ticks the check boxes of a multi-select choice set (inputs id'd by the card's input id). */
  async tick(inputId: string, ...choices: string[]): Promise<void> {
    for (const choice of choices) await this.page.locator(`[id="${inputId}"]`).getByLabel(choice, { exact: true }).check();
  }

  /** The choices a multi-select offers as check boxes, in order. */
  async boxes(inputId: string): Promise<string[]> {
    return this.page
      .locator(`[id="${inputId}"] input[type=checkbox]`)
      .evaluateAll((boxes: any[]) => boxes.map((b) => String(b.getAttribute("aria-label") ?? "")));
  }

  /** Clicks a button of the card; returns what the renderer sent, or undefined when it sent nothing. */
  async click(button: string): Promise<TakenAction | undefined> {
    const before: number = await this.page.evaluate(() => window.taken.length);
    await this.card.getByRole("button", { name: button, exact: true }).click();
    const taken: TakenAction[] = await this.page.evaluate(() => window.taken);
    return taken.length > before ? taken[taken.length - 1] : undefined;
  }

  /**
   * What does not fit a Teams-wide card: the card or a text, fact or button wider than its box (cut
   * off or sticking out sideways); and, in a column set whose columns hold the same number of items
   * (labels beside values), an item out of line with its neighbours by more than half a line.
   */
  async layoutProblems(): Promise<string[]> {
    return this.card.evaluate((host: any) => {
      const out: string[] = [];
      const says = (el: any) =>
        String(el.innerText || "")
          .replace(/\s+/g, " ")
          .slice(0, 40);
      const root = host.firstElementChild;
      if (root && root.scrollWidth > root.clientWidth + 1)
        out.push(`the card is ${root.scrollWidth}px wide in ${root.clientWidth}px`);
      for (const el of Array.from<any>(host.querySelectorAll(".ac-textBlock, .ac-richTextBlock, .ac-factset, .ac-pushButton"))) {
        if (el.scrollWidth > el.clientWidth + 1) out.push(`"${says(el)}" needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
      }
      for (const set of Array.from<any>(host.querySelectorAll(".ac-columnSet"))) {
        const columns = Array.from<any>(set.children).filter((c) => c.classList.contains("ac-container"));
        const rows: any[][] = columns.map((c) =>
          Array.from<any>(c.children).filter((e) => !String(e.className).includes("separator")),
        );
        const count = rows[0]?.length ?? 0;
        if (columns.length < 2 || count < 2 || rows.some((r) => r.length !== count)) continue;
        for (let i = 0; i < count; i++) {
          const tops = rows.map((r) => r[i].getBoundingClientRect().top as number);
          if (Math.max(...tops) - Math.min(...tops) > 8) {
            out.push(
              `"${says(rows[0]![i])}" is ${Math.round(Math.max(...tops) - Math.min(...tops))}px out of line with "${says(rows[1]![i])}"`,
            );
          }
        }
      }
      return out;
    });
  }

  /**
   * A picture of the message with its card. README pictures go to docs/images/<name>.png when
   * UPDATE_SCREENSHOTS=1 (else to a temporary folder, so a test run leaves the work tree as it was);
   * other pictures always go to the temporary folder. For a part of a long card: `from`, a text on the
   * card (a section's heading) where the picture starts (else the top); `until`, one where it stops
   * (else the card's end).
   */
  async screenshot(
    name: string,
    { forReadme = true, from, until }: { forReadme?: boolean; from?: string; until?: string } = {},
  ): Promise<string> {
    const dir = forReadme && process.env.UPDATE_SCREENSHOTS === "1" ? path.join(ROOT, "docs", "images") : SCRATCH;
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    // Chromium paints a page in the background (another theme's page was opened after it) only now and then: seconds per picture.
    await this.page.bringToFront();
    const message = this.page.locator("#message");
    if (!from && !until) {
      await message.screenshot({ path: file, animations: "disabled", caret: "hide" });
      return file;
    }
    // In page coordinates (a full-page picture's), whatever the page's scroll.
    const box = async (l: Locator) =>
      l.evaluate((el: any) => {
        const r = el.getBoundingClientRect();
        return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
      });
    const topOf = async (text: string) => {
      const found = this.card.getByText(text, { exact: true }).first();
      if ((await found.count()) === 0) throw new Error(`no "${text}" on the card to cut the picture ${name} at`);
      return (await box(found)).y - 12;
    };
    const whole = await box(message);
    const top = from ? Math.max(whole.y, await topOf(from)) : whole.y;
    const bottom = until ? Math.min(whole.y + whole.height, await topOf(until)) : whole.y + whole.height;
    const clip = { x: whole.x, y: top, width: whole.width, height: bottom - top };
    await this.page.screenshot({ path: file, clip, fullPage: true, animations: "disabled", caret: "hide" });
    return file;
  }
}

/** Where pictures go that are not for the README. */
export const SCRATCH = path.join(os.tmpdir(), "soc-incident-bot-screenshots");
