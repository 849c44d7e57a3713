import { createHash } from "node:crypto";
import {
  defang,
  ENTITIES_MAX,
  entityKey,
  mergeEntities,
  parseTypedEntity,
  TYPE_NAMES,
  type Entity,
  type EntityRole,
} from "./entities";
import type { Incident } from "./model";
import type { DirectoryEntry } from "./ports";
import type { IncidentForm, ValidForm } from "./validation";

/** The analyst form's Defender fields, empty: an employee's form, a new form. */
export const NO_DEFENDER_FIELDS = {
  category: "",
  techniques: "",
  recommendedActions: "",
  impacted: "",
  impactedTyped: "",
  evidenceKept: "",
  evidenceTyped: "",
} as const satisfies Partial<IncidentForm>;

/**
 * The analyst form's entity fields: impacted assets (people and groups from the directory, and a box
 * of typed ones) and related evidence (the incident's, each one removable, and a box to add more),
 * read from the card's text and put together with what the incident holds.
 */

/**
 * A box of typed entities takes this many characters (some 14 indicators of 50 characters; more are
 * added on a second save, and indicators in reports and messages are found without typing). The form
 * comes back with what was typed kept, so this bounds the card's size (test/cards/catalogue.ts).
 */
export const ENTITY_BOX_MAX_LENGTH = 700;
/** How much of a value an error quotes. */
const QUOTED_MAX = 60;
/** How much of a long value a choice's title shows, its start and its end (the value itself is kept whole). */
const TITLE_VALUE_MAX = 40;

/**
 * The short id a card's evidence choice carries for an entity: its key's digest (a key may hold a
 * 1,000-character URL and commas; 100 of them would not fit a card, and a multi-select joins with commas).
 */
export function evidenceId(entity: Pick<Entity, "type" | "identifier" | "value">): string {
  return createHash("sha256").update(entityKey(entity)).digest("base64url").slice(0, 8);
}

/** "URL: hxxps://evil[.]example/login": an entity as a choice shows it, defanged, never clickable, cut when long. */
export function entityTitle(entity: Entity): string {
  const shown = entity.name ? `${entity.name} (${entity.value})` : defang(entity);
  const chars = Array.from(shown);
  // The start and the end: two addresses on one host differ in their paths.
  const cut =
    chars.length > TITLE_VALUE_MAX ? `${chars.slice(0, TITLE_VALUE_MAX - 15).join("")}…${chars.slice(-14).join("")}` : shown;
  return `${TYPE_NAMES[entity.type][0]}: ${cut}`;
}

/**
 * The pieces of a box: one per line, or separated by commas. A web address may hold commas, so on a
 * line that starts with one only a comma followed by a space separates.
 */
export function boxPieces(text: string): string[] {
  return text
    .split(/\r?\n/)
    .flatMap((line) => line.split(/^\s*(?:h(?:tt|xx)ps?|ftps?|url|link)\s*(?:\[?:\]?)/i.test(line) ? /,\s+/ : ","))
    .map((piece) => piece.trim())
    .filter(Boolean);
}

export type BoxResult = { ok: true; entities: Entity[] } | { ok: false; error: string };

/**
 * Every value of a box checked (parseTypedEntity), all of them at once: the error names each value
 * that failed and why (the first three, and how many more), or says there are more than ENTITIES_MAX.
 */
export function parseEntityBox(text: string, role: EntityRole): BoxResult {
  if (text.length > ENTITY_BOX_MAX_LENGTH) {
    return { ok: false, error: `Keep this box to ${ENTITY_BOX_MAX_LENGTH} characters (it has ${text.length}).` };
  }
  const pieces = boxPieces(text);
  if (pieces.length > ENTITIES_MAX) {
    return {
      ok: false,
      error: `An incident holds at most ${ENTITIES_MAX} entities; this box has ${pieces.length}. Keep the ones that matter most.`,
    };
  }
  const entities: Entity[] = [];
  const errors: string[] = [];
  for (const piece of pieces) {
    const checked = parseTypedEntity(piece, role, "typed");
    if (checked.ok) entities.push(checked.entity);
    // A value quoted in full could be 1,000 characters: the start of it names it well enough.
    else errors.push(shortRuns(checked.error));
  }
  if (errors.length) {
    const more = errors.length > 3 ? ` And ${errors.length - 3} more.` : "";
    return { ok: false, error: `${errors.slice(0, 3).join(" ")}${more}` };
  }
  return { ok: true, entities: mergeEntities([], entities).entities };
}

const LONG_RUN = new RegExp(`\\S{${QUOTED_MAX + 1},}`, "gu");

/** An error with each long unbroken run (a value it quotes: up to 1,000 characters) cut to its start. */
function shortRuns(error: string): string {
  return error.replace(
    LONG_RUN,
    (run) =>
      `${Array.from(run)
        .slice(0, QUOTED_MAX - 1)
        .join("")}…`,
  );
}

/** A person or group from the directory as an impacted asset: its object id, its name as the directory gives it. */
export function directoryEntity(entry: DirectoryEntry): Entity {
  const objectId = entry.objectId.toLowerCase();
  return entry.kind === "Group"
    ? { type: "group", identifier: "objectGuid", value: objectId, role: "impacted", source: "directory", name: entry.displayName }
    : { type: "user", identifier: "aadUserId", value: objectId, role: "impacted", source: "directory", name: entry.displayName };
}

/** What the form sets about an incident's entities. */
export interface EntityFields {
  /** People and groups the directory resolved (role impacted). */
  directory: Entity[];
  /** The typed impacted box. */
  impacted: Entity[];
  /** The evidence choices still ticked (evidenceId), on an edit. */
  kept: string[];
  /** The evidence box. */
  evidence: Entity[];
}

/**
 * The incident's entities after the form. On create (`existing` empty): everything the form names.
 * On an edit the form shows all of them, so impacted assets are exactly the form's, and related
 * evidence is what stays ticked plus what was added; the rest (an impacted asset named again as
 * evidence...) merges as mergeEntities does. An analyst's entries are never dropped: over ENTITIES_MAX,
 * `over` says how many there would be, and nothing is kept.
 */
export function formEntities(
  existing: readonly Entity[],
  fields: EntityFields,
): { ok: true; entities: Entity[] } | { ok: false; error: string } {
  const kept = new Set(fields.kept);
  const related = existing.filter((e) => e.role === "related" && kept.has(evidenceId(e)));
  const merged = mergeEntities(related, [...fields.directory, ...fields.impacted, ...fields.evidence]);
  if (merged.notKept === 0) return { ok: true, entities: merged.entities };
  const total = merged.entities.length + merged.notKept;
  return {
    ok: false,
    error: `An incident holds at most ${ENTITIES_MAX} entities; with these it would have ${total}. Remove ${merged.notKept}.`,
  };
}

/** The incident fields the form's Defender part sets (left out when empty). */
export function defenderFields(
  v: Pick<ValidForm, "category" | "mitreTechniques" | "recommendedActions">,
  entities: Entity[],
): Pick<Incident, "category" | "mitreTechniques" | "recommendedActions" | "entities"> {
  return {
    ...(v.category && { category: v.category }),
    ...(v.mitreTechniques.length > 0 && { mitreTechniques: v.mitreTechniques }),
    ...(v.recommendedActions && { recommendedActions: v.recommendedActions }),
    ...(entities.length > 0 && { entities }),
  };
}

/** The incident without the fields the form's Defender part sets (an edit sets them again from the form). */
export function withoutDefenderFields(incident: Incident): Incident {
  const rest = { ...incident };
  delete rest.category;
  delete rest.mitreTechniques;
  delete rest.recommendedActions;
  delete rest.entities;
  return rest;
}

/** The entities the edit form lists as evidence: the incident's related ones. */
export function evidenceOf(entities: readonly Entity[] | undefined): Entity[] {
  return (entities ?? []).filter((e) => e.role === "related");
}

/** The impacted assets the typed box shows on an edit: one per line, typed so each reads back as the same entity. */
export function impactedBox(entities: readonly Entity[] | undefined): string {
  return (entities ?? [])
    .filter((e) => e.role === "impacted" && !fromDirectory(e))
    .map(typedLine)
    .join("\n");
}

/** A person or group the directory named by object id (what the directory typeahead chooses). */
function fromDirectory(e: Entity): boolean {
  return e.source === "directory" && (e.identifier === "aadUserId" || e.identifier === "objectGuid");
}

/** The directory's people and groups among the impacted assets, as object ids. */
export function impactedDirectoryIds(entities: readonly Entity[] | undefined): string[] {
  return (entities ?? []).filter((e) => e.role === "impacted" && fromDirectory(e)).map((e) => e.value);
}

const PREFIX: Partial<Record<Entity["type"], string>> = { file: "hash" };

/** A value as a line that parses back to the same entity: plain where its shape tells, else prefixed ("device: web01"). */
function typedLine(entity: Entity): string {
  const plain = parseTypedEntity(entity.value, entity.role, "typed");
  if (plain.ok && entityKey(plain.entity) === entityKey(entity)) return entity.value;
  return `${PREFIX[entity.type] ?? entity.type}: ${entity.value}`;
}
