/**
 * What a card must be for Teams, checked in plain Node (no browser): the official Adaptive Cards
 * renderer parses and validates it, and it uses only what Teams renders in schema 1.5.
 */
import * as AC from "adaptivecards";

export type Json = Record<string, any>;

/** Teams renders Adaptive Cards up to this schema version. */
export const TEAMS_CARD_VERSION = "1.5";

/**
 * Element types Teams renders in a 1.5 card (Microsoft Learn, "Cards reference" / "Adaptive Cards
 * features in Teams"). Left out on purpose: Media (Teams renders it from 1.6 on), Carousel (1.6),
 * and elements of later schemas or of other hosts (Icon, Badge, CodeBlock, Rating, charts...).
 */
export const TEAMS_ELEMENT_TYPES: ReadonlySet<string> = new Set([
  "TextBlock",
  "RichTextBlock",
  "Image",
  "ImageSet",
  "Container",
  "ColumnSet",
  "Column",
  "FactSet",
  "ActionSet",
  "Table",
  "TableRow",
  "TableCell",
  "Input.Text",
  "Input.Number",
  "Input.Date",
  "Input.Time",
  "Input.Toggle",
  "Input.ChoiceSet",
]);

/** Inline types of a RichTextBlock: Teams renders TextRun only. */
export const TEAMS_INLINE_TYPES: ReadonlySet<string> = new Set(["TextRun"]);

/** Actions Teams runs in a bot's 1.5 card. Not Action.Http (Outlook actionable messages only). */
export const TEAMS_ACTION_TYPES: ReadonlySet<string> = new Set([
  "Action.Execute",
  "Action.Submit",
  "Action.OpenUrl",
  "Action.ShowCard",
  "Action.ToggleVisibility",
]);

/** Other typed objects Teams understands inside a card: the typeahead query of a filtered Input.ChoiceSet. */
export const TEAMS_DATA_TYPES: ReadonlySet<string> = new Set(["Data.Query"]);

/** What an Action.ShowCard's `card` may be. */
const SHOW_CARD_TYPES: ReadonlySet<string> = new Set(["AdaptiveCard"]);

/** Teams' message size limit for older clients, and the budget of every card we send. */
export const CARD_BUDGET_BYTES = 40 * 1024;

/**
 * Size as Teams counts a message: "the entire message payload encoded as UTF-16" (Microsoft Learn,
 * "Format your bot messages"). JSON text in UTF-16 is 2 bytes per code unit (a character outside the
 * BMP is two code units, so 4 bytes), and JavaScript's string length counts code units.
 */
export function utf16Bytes(value: unknown): number {
  return JSON.stringify(value).length * 2;
}

/** Every validation message of the official renderer for this card: parse events, then property validation. */
export function rendererProblems(card: Json): string[] {
  const context = new AC.SerializationContext();
  const parsed = new AC.AdaptiveCard();
  // The renderer's own version check, set to what Teams renders.
  parsed.maxVersion = new AC.Version(1, 5);
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of parsed.validateProperties().validationEvents) {
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  return problems;
}

/** Walks a card (or a template) and calls `visit` for each object, with the property path it sits at. */
export function walk(node: unknown, visit: (object: Json, path: string) => void, path = "$"): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => walk(child, visit, `${path}[${i}]`));
  } else if (node && typeof node === "object") {
    visit(node, path);
    for (const [key, child] of Object.entries(node)) walk(child, visit, `${path}.${key}`);
  }
}

function kindAt(path: string): "action" | "inline" | "data" | "fallback" | "card" | "element" {
  const property = /\.([\w.]+)(?:\[\d+\])?$/.exec(path)?.[1] ?? "";
  // "choices.data" is one property; "card.actions" (a ShowCard's card, then its actions) is two.
  const last = property === "choices.data" ? property : (property.split(".").pop() ?? "");
  if (last === "actions" || last === "selectAction" || last === "action") return "action";
  if (last === "inlines") return "inline";
  if (last === "choices.data") return "data";
  if (last === "fallback") return "fallback";
  if (last === "card") return "card";
  return "element";
}

/**
 * What Teams would not render, or render differently from what we mean: types outside the
 * allow-lists, a version other than 1.5, template expressions left over, inputs without a label,
 * an Action.Execute without a verb or without an Action.Submit fallback for older clients.
 */
export function teamsProblems(card: Json): string[] {
  const problems: string[] = [];
  if (card.type !== "AdaptiveCard") problems.push(`$.type is ${String(card.type)}, not AdaptiveCard`);
  if (card.version !== TEAMS_CARD_VERSION) problems.push(`$.version is ${String(card.version)}, not ${TEAMS_CARD_VERSION}`);
  const ids = new Map<string, string>();
  walk(card, (o, path) => {
    for (const key of Object.keys(o)) {
      if (key.startsWith("$") && key !== "$schema") problems.push(`${path}.${key}: template property left in the card`);
    }
    if (typeof o.type !== "string" || path === "$") return;
    let kind = kindAt(path);
    if (kind === "fallback") kind = o.type.startsWith("Action.") ? "action" : "element";
    const allowed =
      kind === "action"
        ? TEAMS_ACTION_TYPES
        : kind === "inline"
          ? TEAMS_INLINE_TYPES
          : kind === "data"
            ? TEAMS_DATA_TYPES
            : kind === "card"
              ? SHOW_CARD_TYPES
              : TEAMS_ELEMENT_TYPES;
    if (!allowed.has(o.type)) problems.push(`${path}: ${o.type} is not something Teams renders in a ${TEAMS_CARD_VERSION} card here`);
    if (o.type.startsWith("Input.")) {
      // A toggle's title is the text beside its box, which names it; other inputs need a label.
      if (!o.label && !(o.type === "Input.Toggle" && o.title)) problems.push(`${path}: ${o.type} "${String(o.id)}" has no label`);
      if (typeof o.id === "string") {
        if (ids.has(o.id)) problems.push(`${path}: input id "${o.id}" is also used at ${ids.get(o.id)}`);
        ids.set(o.id, path);
      }
    }
    if (o.type === "Action.Execute") {
      if (!o.verb) problems.push(`${path}: Action.Execute without a verb`);
      if (o.fallback?.type !== "Action.Submit") problems.push(`${path}: Action.Execute without an Action.Submit fallback for older clients`);
    }
  });
  return problems;
}

/** Every `type` a template mentions, also in `$when` branches no sample reaches. */
export function templateTypes(template: unknown): { path: string; type: string; allowed: boolean }[] {
  const out: { path: string; type: string; allowed: boolean }[] = [];
  walk(template, (o, path) => {
    if (typeof o.type !== "string" || path === "$") return;
    const all = [TEAMS_ELEMENT_TYPES, TEAMS_INLINE_TYPES, TEAMS_ACTION_TYPES, TEAMS_DATA_TYPES, SHOW_CARD_TYPES];
    out.push({ path, type: o.type, allowed: all.some((set) => set.has(o.type as string)) });
  });
  return out;
}

/**
 * What every card made from a template shows whatever the data: the literal ids, texts, labels and
 * titles outside `$when` and `$data` branches. A card made from the template has them all.
 */
export function templateMarks(template: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      const o = node as Json;
      if ("$when" in o || "$data" in o) return;
      for (const key of ["id", "text", "label", "title"]) {
        if (typeof o[key] === "string" && !o[key].includes("${")) out.push(`${key}=${o[key]}`);
      }
      Object.values(o).forEach(visit);
    }
  };
  visit(template);
  return out;
}

/** The same marks, read from a card. */
export function cardMarks(card: Json): Set<string> {
  const out = new Set<string>();
  walk(card, (o) => {
    for (const key of ["id", "text", "label", "title"]) if (typeof o[key] === "string") out.add(`${key}=${o[key]}`);
  });
  return out;
}
