import { categoryLabel, technique, techniqueTitle } from "../incidents/attack";
import { defang, ENTITIES_MAX, entitiesByType, flagWords, SOURCE_WORDS, TYPE_NAMES, type Entity } from "../incidents/entities";
import type { Incident } from "../incidents/model";
import { expand, wrappable } from "./cards";

/**
 * The incident card's part for what an analyst records beyond words: category, MITRE ATT&CK
 * techniques, recommended actions, and the entities grouped by type, impacted first
 * (cards/incident-entities.json, put into cards/incident.json as `entityParts`).
 *
 * Every value is shown defanged (hxxps://evil[.]example) and only in a TextRun: Teams and the
 * renderers read markdown in a TextBlock (`[x](url)` is a link there, and a defanged URL's `[.]`
 * followed by `(` would be one), never in a TextRun, and a TextRun is a link only through a
 * selectAction, which none has. The "Copy values" card holds the values as recorded (not defanged),
 * one per line, in a text box: what a hunting query needs, whole (a box wraps a long value without
 * characters added to it, where a TextRun does not wrap a 64-character hash), and text that no
 * client makes a link. Its value is never sent: an action gathers the inputs of its own card and
 * the cards around it, not those of a ShowCard beside it.
 *
 * The card stays under its size budget whatever the incident holds: the part is drawn at the
 * largest of LEVELS that fits the room the rest of the card leaves (values per type, characters per
 * value, whole values in the copy card); what is not shown is counted ("And 95 more.").
 */

/** What a card (as JSON text, UTF-16 code units) stays under: 40 KB in UTF-16 with 2 KB for the message around it. */
export const CARD_CHARS_MAX = 19_000;

interface Level {
  perType: number;
  preview: number;
  copyChars: number;
  techniques: number;
  actions: number;
}

/** From the most shown to the least; the last is a line (counts and category) that fits any card. */
export const LEVELS: readonly Level[] = [
  { perType: 5, preview: 120, copyChars: 4000, techniques: 20, actions: 400 },
  { perType: 3, preview: 100, copyChars: 2000, techniques: 10, actions: 200 },
  { perType: 2, preview: 80, copyChars: 800, techniques: 5, actions: 100 },
  { perType: 1, preview: 60, copyChars: 0, techniques: 3, actions: 0 },
];

/** What the card says beside a value: its role, the person's name, where it came from, its flags. */
export function entityDetail(entity: Entity): string {
  const said = [entity.role === "impacted" ? "impacted" : "evidence", entity.name && wrappable(entity.name.slice(0, 100))];
  return [...said, SOURCE_WORDS[entity.source], ...flagWords(entity)].filter(Boolean).join(" · ");
}

/** Types whose value, as people typed it, can never open anything: shown as typed (FIN-LAPTOP-07, +44 20 7946 0958). */
const SHOWN_AS_TYPED: ReadonlySet<Entity["type"]> = new Set(["device", "phone", "file"]);

/** The value as the card shows it: defanged (or as typed, where nothing can open), cut to `preview` characters, breakable. */
export function shownValue(entity: Entity, preview: number): string {
  const text = SHOWN_AS_TYPED.has(entity.type) && entity.typed ? entity.typed : defang(entity);
  return wrappable(text.length > preview ? `${text.slice(0, preview)}…` : text);
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function groupsOf(entities: readonly Entity[], level: Level) {
  return entitiesByType(entities).map(({ type, entities: all }) => {
    const shown = all.slice(0, level.perType);
    const impacted = all.filter((e) => e.role === "impacted").length;
    const [one, many] = TYPE_NAMES[type];
    return {
      title: `${all.length === 1 ? one : many}: ${all.length}${impacted ? `, ${impacted} impacted` : ""}`,
      runs: shown.flatMap((e, i) => [
        { text: shownValue(e, level.preview), font: "Monospace", subtle: false },
        { text: ` ${entityDetail(e)}${i < shown.length - 1 ? "\n" : ""}`, font: "Default", subtle: true },
      ]),
      more: all.length > shown.length ? `And ${all.length - shown.length} more.` : "",
    };
  });
}

/** The values as recorded, whole (a cut value matches nothing), one a line, up to `chars` characters; how many did not fit. */
function copyOf(entities: readonly Entity[], chars: number): { text: string; left: string } {
  const lines: string[] = [];
  let budget = chars;
  const ordered = entitiesByType(entities).flatMap((g) => g.entities);
  for (const entity of ordered) {
    if (entity.value.length + 1 > budget) continue;
    budget -= entity.value.length + 1;
    lines.push(entity.value);
  }
  const left = ordered.length - lines.length;
  return { text: lines.join("\n"), left: left ? `${plural(left, "more value", "more values")} did not fit on this card.` : "" };
}

function techniqueTitles(incident: Incident, max: number): string[] {
  const ids = incident.mitreTechniques ?? [];
  const titles = ids.slice(0, max).map((id) => {
    const t = technique(id);
    return t ? techniqueTitle(t) : id;
  });
  return ids.length > max ? [...titles, `And ${ids.length - max} more.`] : titles;
}

function countsOf(incident: Incident): string {
  const entities = incident.entities ?? [];
  const impacted = entities.filter((e) => e.role === "impacted").length;
  const notKept = incident.entitiesNotKept ?? 0;
  return (
    plural(entities.length, "indicator", "indicators") +
    (impacted ? `, ${impacted} impacted` : "") +
    (notKept ? ` (${notKept} not kept: the incident holds ${ENTITIES_MAX})` : "")
  );
}

/** The data of cards/incident-entities.json at `level`; without a level, the one line that always fits. */
export function entityViewData(incident: Incident, level?: Level) {
  const entities = incident.entities ?? [];
  const category = incident.category ? categoryLabel(incident.category) : "";
  const actions = incident.recommendedActions ?? "";
  const cut = level?.actions ?? 0;
  const copy = copyOf(entities, level?.copyChars ?? 0);
  return {
    full: level !== undefined,
    summary: level
      ? ""
      : [category && `Category: ${category}`, entities.length ? `${countsOf(incident)}: not listed, this card is full` : ""]
          .filter(Boolean)
          .join(" · "),
    category,
    techniques: techniqueTitles(incident, level?.techniques ?? 0).map((title) => ({ title: wrappable(title) })),
    recommendedActions: wrappable(actions.length > cut ? `${actions.slice(0, cut)}…` : actions),
    total: entities.length,
    counts: `${countsOf(incident)}. Shown defanged: hxxp and [.] stand for http and a dot.`,
    groups: level ? groupsOf(entities, level) : [],
    copy: copy.text,
    copyMax: Math.max(copy.text.length, 1),
    copyLeft: copy.left,
  };
}

function hasAny(incident: Incident): boolean {
  return Boolean(
    incident.category || incident.mitreTechniques?.length || incident.recommendedActions || incident.entities?.length,
  );
}

/**
 * The incident card with its entity part at the largest level that keeps it under CARD_CHARS_MAX.
 * `draw` expands cards/incident.json with the part's elements as `entityParts`.
 */
export function withEntityParts<T>(incident: Incident, draw: (entityParts: unknown[]) => T): T {
  const bare = draw([]);
  if (!hasAny(incident)) return bare;
  const room = CARD_CHARS_MAX - JSON.stringify(bare).length;
  for (const level of [...LEVELS, undefined]) {
    const parts = (expand("incident-entities", entityViewData(incident, level)) as unknown as { body: unknown[] }).body;
    // The wrapping Container in cards/incident.json costs about 50 characters more.
    if (level === undefined || JSON.stringify(parts).length + 60 < room) return draw(parts);
  }
  return bare;
}
