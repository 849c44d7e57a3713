/** Reading Adaptive Cards the way a person looks at them: find inputs, actions and visible text. */

export type Element = Record<string, any>;

/** Every element of a card body, depth first (containers, columns, column sets). */
export function elements(card: Element): Element[] {
  const out: Element[] = [];
  const walk = (items: Element[] | undefined) => {
    for (const item of items ?? []) {
      out.push(item);
      walk(item.items);
      walk(item.columns);
    }
  };
  walk(card.body);
  return out;
}

export function input(card: Element, id: string): Element {
  const found = elements(card).find((e) => e.id === id);
  if (!found) throw new Error(`no input "${id}" in the card`);
  return found;
}

/** The text a person reads, in order: TextBlocks, TextRuns and facts. */
export function visibleText(card: Element): string[] {
  const out: string[] = [];
  for (const e of elements(card)) {
    if (e.type === "TextBlock") out.push(e.text);
    if (e.type === "RichTextBlock") out.push((e.inlines as Element[]).map((i) => i.text).join(""));
    if (e.type === "FactSet") for (const f of e.facts as Element[]) out.push(`${f.title}: ${f.value}`);
  }
  return out;
}

/** The error shown right after the input, if any (errors sit next to their field). */
export function errorAfter(card: Element, id: string): string | undefined {
  const all = elements(card);
  const at = all.findIndex((e) => e.id === id);
  const next = all[at + 1];
  return next && isErrorBox(next) ? boxText(next) : undefined;
}

/** An error box's words: a TextBlock's, or a RichTextBlock's runs (errors that quote what people typed). */
function boxText(e: Element): string {
  const first = e.items[0];
  return first.type === "RichTextBlock" ? (first.inlines as Element[]).map((i) => String(i.text)).join("") : String(first.text);
}

/**
 * A problem the card shows (a field's error, a banner): its words in default-coloured text inside an
 * attention container, so it reads in every Teams theme (test/cards/contrast.test.ts). An error that
 * quotes what people typed is a text run (never markdown).
 */
export function isErrorBox(e: Element): boolean {
  const first = e.items?.[0]?.type;
  return e.type === "Container" && e.style === "attention" && (first === "TextBlock" || first === "RichTextBlock");
}

/** Every problem the card shows, in order: field errors and banners. */
export function problemsShown(card: Element): string[] {
  return elements(card)
    .filter(isErrorBox)
    .map(boxText)
    .filter((text) => text !== "");
}

/** The values of the inputs as the card would submit them untouched. */
export function values(card: Element): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of elements(card)) if (typeof e.type === "string" && e.type.startsWith("Input.") && e.id) out[e.id] = e.value ?? "";
  return out;
}

export function cardOf(activity: any): Element {
  const attachment = activity?.attachments?.[0];
  if (attachment?.contentType !== "application/vnd.microsoft.card.adaptive") throw new Error("no Adaptive Card in the activity");
  return attachment.content;
}
