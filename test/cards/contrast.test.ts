/**
 * Readable in every Teams theme: every text of every card in the catalogue (typical and worst case),
 * in Teams light, dark and high contrast, has WCAG AA contrast against what is behind it (4.5:1,
 * 3:1 for text of 18px and up or 14px and up in bold). How a colour is found: test/cards/contrast.ts.
 */
import { CATALOGUE, type CardSample } from "./catalogue";
import { startSampleWorld, type SampleWorld } from "./sample-world";
import { THEMES, blend, contrastFailures, contrastRatio, parseColour, textContrasts } from "./contrast";
import type { Json } from "./teams-rules";
import { visibleText } from "../support/cards";

const [light, dark, highContrast] = THEMES.map((t) => t.hostConfig) as [Json, Json, Json];
const card = (...body: Json[]): Json => ({ type: "AdaptiveCard", version: "1.5", body });
const find = (contrasts: ReturnType<typeof textContrasts>, element: string) => {
  const found = contrasts.find((c) => c.element === element);
  if (!found) throw new Error(`no ${element} in ${contrasts.map((c) => c.element).join(", ")}`);
  return found;
};

describe("the contrast measure", () => {
  it("computes WCAG ratios: black on white 21:1, Teams' Warning yellow on white 1.47:1", () => {
    expect(contrastRatio(parseColour("#000000"), parseColour("#ffffff"))).toBeCloseTo(21, 5);
    expect(contrastRatio(parseColour("#f8d22a"), parseColour("#ffffff"))).toBeCloseTo(1.47, 2);
    expect(contrastRatio(parseColour("#767676"), parseColour("#ffffff"))).toBeCloseTo(4.54, 2);
  });

  it("reads #AARRGGBB and blends a translucent colour over its background", () => {
    expect(parseColour("#bf252424")).toEqual([0x25, 0x24, 0x24, 0xbf / 255]);
    expect(blend(parseColour("#80000000"), parseColour("#ffffff")).map(Math.round)).toEqual([127, 127, 127, 1]);
  });

  it("takes a text's colour and background from the container style it sits in, until another style", () => {
    const contrasts = textContrasts(
      card(
        { type: "TextBlock", text: "plain" },
        {
          type: "Container",
          style: "attention",
          items: [
            { type: "TextBlock", text: "in attention", color: "Warning" },
            { type: "ColumnSet", columns: [{ type: "Column", items: [{ type: "TextBlock", text: "nested" }] }] },
            { type: "Container", style: "default", items: [{ type: "TextBlock", text: "back to default", isSubtle: true }] },
          ],
        },
      ),
      dark,
    );
    expect(find(contrasts, 'TextBlock "plain"')).toMatchObject({ foreground: "#ffffff", background: "#2d2c2c" });
    expect(find(contrasts, 'TextBlock "in attention"')).toMatchObject({ foreground: "#f8d22a", background: "#ffc5b2" });
    expect(find(contrasts, 'TextBlock "nested"')).toMatchObject({ foreground: "#201f1f", background: "#ffc5b2" });
    // #bfffffff (white at 75%) over #2d2c2c.
    expect(find(contrasts, 'TextBlock "back to default"')).toMatchObject({ foreground: "#cacaca", background: "#2d2c2c" });
  });

  it("measures text runs, facts, input labels and error messages, and texts inside a ShowCard", () => {
    const contrasts = textContrasts(
      card(
        { type: "RichTextBlock", inlines: [{ type: "TextRun", text: "run", color: "Good" }] },
        { type: "FactSet", facts: [{ title: "Severity", value: "High" }] },
        { type: "Input.Text", id: "t", label: "Title", isRequired: true, errorMessage: "Give a title" },
        {
          type: "ActionSet",
          actions: [
            {
              type: "Action.ShowCard",
              title: "More",
              card: { type: "AdaptiveCard", body: [{ type: "TextBlock", text: "inside", color: "Accent" }] },
            },
          ],
        },
      ),
      { ...light, inputs: { label: { requiredInputs: { suffixColor: "attention" } }, errorMessage: { color: "attention" } } },
    );
    expect(find(contrasts, 'TextRun "run"').foreground).toBe("#92c353");
    expect(find(contrasts, 'Fact title "Severity"')).toMatchObject({ px: 14, bold: true, required: 3 });
    expect(find(contrasts, 'Fact value "High"')).toMatchObject({ bold: false, required: 4.5 });
    expect(find(contrasts, 'Input.Text label "Title"')).toBeDefined();
    expect(find(contrasts, 'Input.Text required mark of "Title"').foreground).toBe("#c4314b");
    expect(find(contrasts, 'Input.Text error message "Give a title"').foreground).toBe("#c4314b");
    expect(find(contrasts, 'TextBlock "inside"').foreground).toBe("#6264a7");
  });

  it("leaves out the required mark and the error message when the host config does not colour them (Teams draws them)", () => {
    const elements = textContrasts(
      card({ type: "Input.Text", id: "t", label: "Title", isRequired: true, errorMessage: "Give a title" }),
      light,
    ).map((c) => c.element);
    expect(elements).toEqual(['Input.Text label "Title"']);
  });

  it("allows 3:1 only for large or bold text, and names the theme, the element and the ratio", () => {
    // #949494 on white is 3.03:1: enough for large text, not for normal text.
    const grey = (extra: Json) => card({ type: "TextBlock", text: "grey", color: "Accent", ...extra });
    const greyHost = (config: Json): Json => ({
      ...config,
      containerStyles: {
        ...config.containerStyles,
        default: {
          ...config.containerStyles.default,
          foregroundColors: {
            ...config.containerStyles.default.foregroundColors,
            accent: { default: "#949494", subtle: "#949494" },
          },
        },
      },
    });
    expect(textContrasts(grey({}), greyHost(light))[0]).toMatchObject({ required: 4.5 });
    expect(textContrasts(grey({ size: "Large" }), greyHost(light))[0]).toMatchObject({ px: 18, required: 3 });
    expect(textContrasts(grey({ weight: "Bolder" }), greyHost(light))[0]).toMatchObject({ px: 14, bold: true, required: 3 });
    // Yellow reads on dark grey and high contrast turns it white: only light fails.
    expect(contrastFailures(card({ type: "TextBlock", text: "Medium", color: "Warning" }))).toEqual([
      'light: TextBlock "Medium" #f8d22a on #ffffff is 1.47:1, needs 4.5:1 (14px)',
    ]);
  });

  it("uses black and white only in high contrast, with the link yellow for accent", () => {
    const contrasts = textContrasts(
      card(
        { type: "TextBlock", text: "a", color: "Accent" },
        { type: "Container", style: "good", items: [{ type: "TextBlock", text: "g", color: "Good" }] },
      ),
      highContrast,
    );
    expect(find(contrasts, 'TextBlock "a"')).toMatchObject({ foreground: "#ffff00", background: "#000000" });
    expect(find(contrasts, 'TextBlock "g"')).toMatchObject({ foreground: "#ffffff", background: "#000000" });
  });
});

/** Each sample is made once, in a bot of its own (as in cards.test.ts). */
async function make(sample: CardSample): Promise<Json> {
  let world: SampleWorld | undefined;
  try {
    world = await startSampleWorld();
    return await sample.make(world);
  } finally {
    await world?.stop();
  }
}

const samples = CATALOGUE.flatMap((entry) => entry.samples.map((sample) => [entry.template, sample.name, sample] as const));

describe.each(samples)("%s: %s", (_template, _name, sample) => {
  it("has every text readable in Teams light, dark and high contrast", async () => {
    const made = await make(sample);
    expect(THEMES.map((t) => textContrasts(made, t.hostConfig).length).every((n) => n > 0)).toBe(true);
    expect(contrastFailures(made)).toEqual([]);
  });
});

describe("every severity, not only those the catalogue shows", () => {
  let world: SampleWorld;
  beforeAll(async () => {
    world = await startSampleWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it.each(["High", "Medium", "Low", "Informational"])(
    "an incident created %s says it in words that read in every theme",
    async (severity) => {
      const form = await world.say("incident");
      const made = await world.submit(form, { title: `A ${severity} one`, severity });
      expect(visibleText(made)[0]).toMatch(/^Incident INC-\d+ created$/);
      expect(visibleText(made)).toContain(severity);
      expect(contrastFailures(made)).toEqual([]);
    },
  );
});
