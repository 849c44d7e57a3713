import { createHash } from "node:crypto";
import { stableId } from "./casework";
import {
  defang,
  ENTITIES_MAX,
  entitiesByType,
  entityKey,
  flagWords,
  IDENTIFIERS,
  SOURCE_WORDS,
  TYPE_NAMES,
  type Entity,
} from "./entities";
import { incidentRef, type EntitiesSent, type Incident, type Label } from "./model";

/**
 * What a case-management sink that has no entities of its own (Microsoft Sentinel's manual incidents;
 * the Defender sink may share it) gets of an incident's entities, category and techniques:
 *
 * - Entities as one comment per entity set: an HTML table (type, value defanged, role, source and
 *   flags in words). A change of the set (an entity added or removed, a role, source or flag changed,
 *   more not kept) is a new comment, never an edit of the old one. Its id is made from the incident, the
 *   number of entity comments sent before and the set's digest, so a retry or a second instance writes
 *   the same comment, and a set that comes back after a change is a new comment again.
 * - Category and techniques as labels `category:<Defender's value>` and `mitre:<technique id>`, derived:
 *   always written from the incident's fields, never tags. Labels of these forms read from the sink are
 *   dropped (`isDerivedLabel`), so one removed or added there is not a change of the incident's tags,
 *   and the next write puts the incident's own back.
 * - A restricted incident gets none of it (the caller decides; its words stay in Teams).
 */

/** Sentinel's limit on a comment's message. */
export const COMMENT_MAX_LENGTH = 30_000;

export { isDerivedLabel } from "./tags";

/** The labels derived from the incident's category and techniques, in that order. */
export function derivedLabels(incident: Pick<Incident, "category" | "mitreTechniques">): Label[] {
  const names = [
    ...(incident.category ? [`category:${incident.category}`] : []),
    ...(incident.mitreTechniques ?? []).map((id) => `mitre:${id}`),
  ];
  return names.map((labelName) => ({ labelName, labelType: "User" as const }));
}

/** A digest of everything the entity comment shows: each entity's key, role, source and flags, and how many were not kept. */
export function entitiesDigest(incident: Pick<Incident, "entities" | "entitiesNotKept">): string {
  const rows = (incident.entities ?? [])
    .map((e) => [entityKey(e), e.role, e.source, [...(e.flags ?? [])].sort().join(",")].join("\u001f"))
    .sort();
  rows.push(`notKept\u001f${incident.entitiesNotKept ?? 0}`);
  return createHash("sha256").update(rows.join("\u001e")).digest("hex");
}

function html(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** The entity's value as shown: defanged, HTML-escaped, cut to at most `max` characters (with "…") when longer. */
function cell(entity: Entity, max: number): { text: string; cut: boolean } {
  const full = html(defang(entity));
  if (full.length <= max) return { text: full, cut: false };
  let shown = defang(entity).slice(0, Math.max(0, max - 1));
  // Escaping lengthens the text: shorten until it fits (never cutting inside an escape).
  while (shown && html(shown).length + 1 > max) shown = shown.slice(0, -1);
  return { text: `${html(shown)}…`, cut: true };
}

function typeWords(entity: Entity): string {
  const name = TYPE_NAMES[entity.type][0];
  return IDENTIFIERS[entity.type].length > 1 ? `${name} (${entity.identifier})` : name;
}

function row(entity: Entity, value: string): string {
  const source = [SOURCE_WORDS[entity.source], ...flagWords(entity)].join("; ");
  return `<tr><td>${html(typeWords(entity))}</td><td>${value}</td><td>${entity.role}</td><td>${html(source)}</td></tr>`;
}

/**
 * The entity comment's message: at most COMMENT_MAX_LENGTH characters. When the whole table would be
 * longer, the longest values are cut to one length (the largest that fits, `…` at the end) and the
 * comment says how many were cut: the full values stay in Teams. Values are defanged, so nothing in it
 * is a link.
 */
export function entitiesMessage(incident: Pick<Incident, "incidentNumber" | "entities" | "entitiesNotKept">): string {
  const entities = entitiesByType(incident.entities ?? []).flatMap((g) => g.entities);
  const notKept = incident.entitiesNotKept ?? 0;
  if (!entities.length && !notKept) return `<p>${incidentRef(incident)} has no entities in Microsoft Teams any more.</p>`;
  const head =
    `<p>Entities of ${incidentRef(incident)} in Microsoft Teams (${entities.length}); values defanged, never links.</p>` +
    `<table><tr><th>Type</th><th>Value</th><th>Role</th><th>Source</th></tr>`;
  const notKeptWords = notKept ? `<p>${notKept} not kept (an incident keeps at most ${ENTITIES_MAX}).</p>` : "";
  const build = (max: number) => {
    const cells = entities.map((e) => cell(e, max));
    const cut = cells.filter((c) => c.cut).length;
    const cutWords = cut
      ? `<p>${cut} ${cut === 1 ? "value was" : "values were"} cut to fit Sentinel's comment limit; ` +
        `the full values are in Teams.</p>`
      : "";
    return `${head}${entities.map((e, i) => row(e, cells[i]!.text)).join("")}</table>${notKeptWords}${cutWords}`;
  };
  const longest = Math.max(0, ...entities.map((e) => html(defang(e)).length));
  const whole = build(longest);
  if (whole.length <= COMMENT_MAX_LENGTH) return whole;
  // The largest cut that fits (the length only grows with it).
  let low = 1;
  let high = longest;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (build(mid).length <= COMMENT_MAX_LENGTH) low = mid;
    else high = mid - 1;
  }
  return build(low);
}

/**
 * The entity comment due for the incident, or undefined when the sink has this entity set already (or
 * never had any and there are none). `sent` is what the sink was last sent.
 */
export function entitiesComment(
  incident: Pick<Incident, "id" | "incidentNumber" | "entities" | "entitiesNotKept">,
  sent: EntitiesSent | undefined,
): { id: string; message: string; sent: EntitiesSent } | undefined {
  const digest = entitiesDigest(incident);
  const none = !(incident.entities ?? []).length && !incident.entitiesNotKept;
  if (sent ? sent.digest === digest : none) return undefined;
  const comments = (sent?.comments ?? 0) + 1;
  return {
    id: stableId(incident.id, "sentinel", "entities", comments, digest),
    message: entitiesMessage(incident),
    sent: { digest, comments },
  };
}
