import { outboxDue } from "./casework";
import { ENTITIES_MAX, ENTITY_VALUE_MAX_LENGTH } from "./entities";
import { syncDue } from "./mirror";
import { reporterKeys, type Incident } from "./model";
import type { IncidentQuery } from "./ports";

/**
 * How incidents are found: one rule for the keys a store keeps and for what a person types, so
 * every store matches alike. A store keeps `searchKeys(incident)` beside the incident and compares
 * it with `queryWords` / `query.text` of a query read by `readQuery`.
 */

/** The longest query looked at; a compose-box search never needs more. */
const SEARCH_TEXT_MAX = 100;

/** Lower case, runs of white space as one space: the form every key and query is compared in. */
export function foldText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ");
}

/**
 * What a store keeps to find an incident: its folded title and tags, who reported it (`personKey`s),
 * its owner's object id (lower case), and when its next notice to a reporter is due.
 */
export interface SearchKeys {
  title: string;
  /** Every prefix (up to `WORD_KEY_MAX` characters) of every word of the title (`titleKeys`): what a store indexes. */
  words: string[];
  tags: string[];
  reporters: string[];
  owner?: string;
  outboxDue?: string;
  /** When its next change for Microsoft Sentinel is due. */
  syncDue?: string;
  /** Its creation time (ISO), what `findByEntity` filters and orders on. */
  created?: string;
  /** The normalised values of its entities (`entityValues`), what `findByEntity` looks up; absent when it has none. */
  entities?: string[];
}

/** The distinct normalised values of an incident's entities (`Entity.value`), as the stores index them. */
export function entityValues(incident: Partial<Pick<Incident, "entities">>): string[] {
  return [...new Set((incident.entities ?? []).map((e) => e.value).filter((v) => typeof v === "string" && v !== ""))];
}

/**
 * The values a `findByEntity` call looks up, distinct, or an error for more than ENTITIES_MAX (a caller's bug: an
 * incident holds at most that many). Values no entity can have (empty, over ENTITY_VALUE_MAX_LENGTH) are dropped.
 */
export function entityQueryValues(values: readonly string[]): string[] {
  const distinct = [...new Set(values)].filter((v) => typeof v === "string" && v !== "" && v.length <= ENTITY_VALUE_MAX_LENGTH);
  if (distinct.length > ENTITIES_MAX) {
    throw new RangeError(`findByEntity takes at most ${ENTITIES_MAX} values (an incident's entities), not ${distinct.length}.`);
  }
  return distinct;
}

export function searchKeys(
  incident: Pick<Incident, "title" | "labels" | "createdBy" | "reports" | "owner" | "outbox"> &
    Partial<Pick<Incident, "revision" | "sentinel" | "createdTimeUtc" | "entities">>,
): SearchKeys {
  const due = outboxDue(incident);
  const sync = syncDue(incident);
  const entities = entityValues(incident);
  return {
    title: foldText(incident.title),
    words: titleKeys(incident.title),
    tags: incident.labels.map((l) => foldText(l.labelName)),
    reporters: reporterKeys(incident),
    ...(incident.owner && { owner: incident.owner.objectId.toLowerCase() }),
    ...(due && { outboxDue: due }),
    ...(sync && { syncDue: sync }),
    ...(incident.createdTimeUtc && { created: incident.createdTimeUtc }),
    ...(entities.length && { entities }),
  };
}

/** "INC-42", "#42" or "42" as a number; anything else as folded text; nothing typed as the newest. */
export function readQuery(typed: string): IncidentQuery {
  const text = foldText(typed.trim()).slice(0, SEARCH_TEXT_MAX);
  const number = /^(?:inc-?|#)?\s*(\d{1,9})$/.exec(text)?.[1];
  if (number) return { number: Number(number) };
  return text ? { text } : {};
}

/**
 * Words are runs of letters and digits: "Phishing e-mail (T1566.001)" has the words phishing, e, mail,
 * t1566 and 001. The same split for titles and for what is typed.
 */
const NOT_WORD = /[^\p{L}\p{N}]+/u;

/**
 * The longest word prefix a store indexes; a longer typed word is looked up by its first WORD_KEY_MAX
 * characters, then checked as a substring.
 */
export const WORD_KEY_MAX = 16;

function wordsOf(text: string): string[] {
  return [...new Set(foldText(text).split(NOT_WORD).filter(Boolean))];
}

/**
 * The words of a query's text. A title matches when each of them starts a word of the title ("phish"
 * finds "Phishing e-mail", "mail" finds it too, "hish" does not); a word longer than WORD_KEY_MAX must
 * also appear in the title as it is typed.
 */
export function queryWords(text: string): string[] {
  return wordsOf(text);
}

/** Every prefix, up to WORD_KEY_MAX characters, of every word of the title: at most one per character of the title. */
export function titleKeys(title: string): string[] {
  const keys = new Set<string>();
  for (const word of wordsOf(title)) {
    const chars = [...word].slice(0, WORD_KEY_MAX);
    for (let n = 1; n <= chars.length; n++) keys.add(chars.slice(0, n).join(""));
  }
  return [...keys];
}

/** The key a query word is looked up by (its first WORD_KEY_MAX characters), and whether the title must also contain it. */
export function wordKey(word: string): { key: string; alsoContains: boolean } {
  const chars = [...word];
  return { key: chars.slice(0, WORD_KEY_MAX).join(""), alsoContains: chars.length > WORD_KEY_MAX };
}

/** Whether a title matches these query words, by the rule the stores' indexes follow (for tests and fakes). */
export function titleMatches(title: string, words: readonly string[]): boolean {
  const keys = new Set(titleKeys(title));
  const folded = foldText(title);
  return words.every((w) => {
    const { key, alsoContains } = wordKey(w);
    return keys.has(key) && (!alsoContains || folded.includes(w));
  });
}
