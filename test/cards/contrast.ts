/**
 * Text contrast of a card in a Teams theme (WCAG 2.x AA), with the official renderer's own rules for
 * which colour a text gets: the card is parsed by the Adaptive Cards renderer with the theme's host
 * config, and each text's colour (its `color` and `isSubtle`, or the host config's for facts and input
 * labels) is resolved through the container style it sits in (the nearest Container, ColumnSet,
 * Column or Table with a `style`; the card, or a ShowCard's card, otherwise). Its background is that
 * container style's background colour. Colours with alpha (#AARRGGBB) are blended over what is
 * behind them, as a browser does.
 *
 * Themes: Microsoft's published Teams light and dark host configs (test/cards/themes/, source in
 * README.md there) and a high-contrast host config made from the Teams high-contrast theme's tokens.
 */
import fs from "node:fs";
import path from "node:path";
import * as AC from "adaptivecards";
import type { Json } from "./teams-rules";

const THEMES_DIR = path.join(__dirname, "themes");
const readJson = (file: string): Json => JSON.parse(fs.readFileSync(path.join(THEMES_DIR, file), "utf8"));

/** The Teams high-contrast theme as a host config: Microsoft's light one with every colour taken from the tokens. */
export function highContrastHostConfig(): Json {
  const t = readJson("teams-high-contrast-tokens.json").tokens as Record<string, string>;
  const colour = (token: string) => ({ default: t[token]!, subtle: t[token]! });
  const foregroundColors = {
    default: { default: t.colorNeutralForeground1!, subtle: t.colorNeutralForeground3! },
    // "Dark" and "Light" are fixed colours in Teams: dark text is the inverted foreground, light the static white.
    dark: colour("colorNeutralForegroundInverted"),
    light: colour("colorNeutralForegroundStaticInverted"),
    accent: colour("colorBrandForegroundLink"),
    good: colour("colorStatusSuccessForeground1"),
    warning: colour("colorStatusWarningForeground1"),
    attention: colour("colorStatusDangerForeground1"),
  };
  const style = (background: string) => ({ backgroundColor: t[background]!, foregroundColors });
  const base = readJson("microsoft-teams-light.json");
  return {
    ...base,
    containerStyles: {
      default: style("colorNeutralBackground1"),
      emphasis: style("colorNeutralBackground2"),
      accent: style("colorBrandBackground2"),
      good: style("colorStatusSuccessBackground1"),
      warning: style("colorStatusWarningBackground1"),
      attention: style("colorStatusDangerBackground1"),
    },
  };
}

export const THEMES: { name: string; hostConfig: Json }[] = [
  { name: "light", hostConfig: readJson("microsoft-teams-light.json") },
  { name: "dark", hostConfig: readJson("microsoft-teams-dark.json") },
  { name: "high contrast", hostConfig: highContrastHostConfig() },
];

type Rgba = [number, number, number, number];

/** "#RRGGBB" or "#AARRGGBB" (the host config's form), as 0-255 channels and alpha 0-1. */
export function parseColour(value: string): Rgba {
  const hex = /^#([0-9a-f]{6}|[0-9a-f]{8})$/i.exec(value.trim())?.[1];
  if (!hex) throw new Error(`not a host config colour: ${value}`);
  const n = (i: number) => parseInt(hex.slice(i, i + 2), 16);
  return hex.length === 8 ? [n(2), n(4), n(6), n(0) / 255] : [n(0), n(2), n(4), 1];
}

/** A colour with alpha drawn over an opaque one. */
export function blend(top: Rgba, under: Rgba): Rgba {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i]! * a + under[i]! * (1 - a)).concat(1) as Rgba;
}

/** WCAG 2.x relative luminance of an opaque sRGB colour. */
export function luminance([r, g, b]: Rgba): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two opaque colours, 1 to 21. */
export function contrastRatio(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

export interface TextContrast {
  /** The element, as a person finds it: its type and the start of its text. */
  element: string;
  foreground: string;
  background: string;
  px: number;
  bold: boolean;
  ratio: number;
  /** 3 for large text (18px and up, or 14px and up in bold), 4.5 otherwise. */
  required: number;
}

const hex = (c: Rgba) =>
  "#" +
  c
    .slice(0, 3)
    .map((v) => Math.round(v).toString(16).padStart(2, "0"))
    .join("");

/** The background painted behind an element: the nearest container style's, blended down to the card's. */
function backgroundOf(element: AC.CardElement, host: AC.HostConfig): Rgba {
  const layers: string[] = [];
  for (let e: AC.CardElement | undefined = element; e; e = e.parent) {
    const own = e instanceof AC.StylableCardElementContainer ? e.style : undefined;
    if (own) layers.push(host.containerStyles.getStyleByName(own).backgroundColor!);
    // The card itself paints the default style (a ShowCard's card takes its colours from the container around it, as the renderer does).
    if (!e.parent) layers.push(host.containerStyles.default.backgroundColor!);
  }
  return layers.reverse().reduce<Rgba>((under, layer) => blend(parseColour(layer), under), [255, 255, 255, 1]);
}

function fontPx(host: AC.HostConfig, block: AC.BaseTextBlock): { px: number; bold: boolean } {
  const type = host.getFontTypeDefinition(block.effectiveFontType);
  const sizes: Record<number, number | undefined> = {
    [AC.TextSize.Small]: type.fontSizes.small,
    [AC.TextSize.Medium]: type.fontSizes.medium,
    [AC.TextSize.Large]: type.fontSizes.large,
    [AC.TextSize.ExtraLarge]: type.fontSizes.extraLarge,
  };
  return { px: sizes[block.effectiveSize] ?? type.fontSizes.default, bold: block.effectiveWeight === AC.TextWeight.Bolder };
}

/** The colour a text gets in its container style (BaseTextBlock.getColorDefinition, which is protected). */
function colourDefinition(set: AC.ContainerStyleDefinition["foregroundColors"], color: AC.TextColor): AC.TextColorDefinition {
  const byColor: Partial<Record<AC.TextColor, AC.TextColorDefinition>> = {
    [AC.TextColor.Accent]: set.accent,
    [AC.TextColor.Dark]: set.dark,
    [AC.TextColor.Light]: set.light,
    [AC.TextColor.Good]: set.good,
    [AC.TextColor.Warning]: set.warning,
    [AC.TextColor.Attention]: set.attention,
  };
  return byColor[color] ?? set.default;
}

function measure(block: AC.BaseTextBlock, host: AC.HostConfig, name: string): TextContrast {
  const definition = colourDefinition(block.getEffectiveStyleDefinition().foregroundColors, block.effectiveColor);
  const background = backgroundOf(block, host);
  const colour = block.effectiveIsSubtle ? definition.subtle : definition.default;
  if (!colour) throw new Error(`${name}: the host config gives no colour`);
  const foreground = blend(parseColour(colour), background);
  const { px, bold } = fontPx(host, block);
  const ratio = contrastRatio(foreground, background);
  return {
    element: name,
    foreground: hex(foreground),
    background: hex(background),
    px,
    bold,
    ratio,
    required: px >= 18 || (px >= 14 && bold) ? 3 : 4.5,
  };
}

const quote = (text: string | undefined) => {
  const t = (text ?? "").replace(/\s+/g, " ").trim();
  return `"${t.length > 40 ? t.slice(0, 40) + "…" : t}"`;
};

/** Every text of the card in this host config, with its contrast: shown ones and those a ShowCard or a failed input reveals. */
export function textContrasts(card: Json, hostConfig: Json): TextContrast[] {
  const host = new AC.HostConfig(hostConfig);
  const parsed = new AC.AdaptiveCard();
  parsed.hostConfig = host;
  parsed.parse(card, new AC.SerializationContext());
  const out: TextContrast[] = [];
  // The required mark and the error message under an input are the host's own: measured only when the host
  // config sets their colours (Microsoft's Teams host configs do not; Teams draws them itself).
  const hostColoursInputs = hostConfig.inputs !== undefined;
  const visitAction = (action: AC.Action | undefined) => {
    if (action instanceof AC.ShowCardAction) visit(action.card);
  };
  const visit = (element: AC.CardElement): void => {
    if (element instanceof AC.TextBlock) out.push(measure(element, host, `TextBlock ${quote(element.text)}`));
    if (element instanceof AC.RichTextBlock) {
      for (let i = 0; i < element.getInlineCount(); i++) {
        const run = element.getInlineAt(i);
        if (run instanceof AC.TextRun) out.push(measure(run, host, `TextRun ${quote(run.text)}`));
      }
    }
    if (element instanceof AC.FactSet) {
      for (const fact of element.facts) {
        // The renderer draws each fact as two TextBlocks set from the host config's factSet (card-elements FactSet.internalRender).
        for (const [part, text, config] of [
          ["title", fact.name, host.factSet.title],
          ["value", fact.value, host.factSet.value],
        ] as const) {
          const block = new AC.TextBlock(text);
          block.setParent(element);
          block.init(config);
          out.push(measure(block, host, `Fact ${part} ${quote(text)}`));
        }
      }
    }
    if (element instanceof AC.Input) {
      // The label (always drawn in the host config's label colours) and the required mark and error message, as Input.internalRender and Input.showValidationErrorMessage make them.
      if (element.label) {
        const label = new AC.RichTextBlock();
        label.setParent(element);
        const run = new AC.TextRun(element.label);
        label.addInline(run);
        run.init(element.isRequired ? host.inputs.label.requiredInputs : host.inputs.label.optionalInputs);
        out.push(measure(run, host, `${element.getJsonTypeName()} label ${quote(element.label)}`));
        if (element.isRequired && hostColoursInputs) {
          const cue = new AC.TextRun(host.inputs.label.requiredInputs.suffix);
          label.addInline(cue);
          cue.color = host.inputs.label.requiredInputs.suffixColor;
          out.push(measure(cue, host, `${element.getJsonTypeName()} required mark of ${quote(element.label)}`));
        }
      }
      if (element.errorMessage && hostColoursInputs) {
        const error = new AC.TextBlock(element.errorMessage);
        error.setParent(element);
        error.init(host.inputs.errorMessage);
        out.push(measure(error, host, `${element.getJsonTypeName()} error message ${quote(element.errorMessage)}`));
      }
    }
    if (element instanceof AC.CardElementContainer) {
      for (let i = 0; i < element.getItemCount(); i++) visit(element.getItemAt(i));
    }
    if (element instanceof AC.ActionSet) {
      for (let i = 0; i < element.getActionCount(); i++) visitAction(element.getActionAt(i));
    }
    if (element instanceof AC.ContainerWithActions) {
      for (let i = 0; i < element.getActionCount(); i++) visitAction(element.getActionAt(i));
    }
  };
  visit(parsed);
  return out;
}

/** The texts under the contrast they need, each named with its theme and ratio. */
export function contrastFailures(card: Json): string[] {
  return THEMES.flatMap(({ name, hostConfig }) =>
    textContrasts(card, hostConfig)
      .filter((t) => t.ratio < t.required)
      .map(
        (t) =>
          `${name}: ${t.element} ${t.foreground} on ${t.background} is ${t.ratio.toFixed(2)}:1, needs ${t.required}:1 (${t.px}px${t.bold ? " bold" : ""})`,
      ),
  );
}
