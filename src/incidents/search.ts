import { outboxDue } from "./casework";
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
  tags: string[];
  reporters: string[];
  owner?: string;
  outboxDue?: string;
  /** When its next change for Microsoft Sentinel is due. */
  syncDue?: string;
}

export function searchKeys(
  incident: Pick<Incident, "title" | "labels" | "createdBy" | "reports" | "owner" | "outbox"> &
    Partial<Pick<Incident, "revision" | "sentinel">>,
): SearchKeys {
  const due = outboxDue(incident);
  const sync = syncDue(incident);
  return {
    title: foldText(incident.title),
    tags: incident.labels.map((l) => foldText(l.labelName)),
    reporters: reporterKeys(incident),
    ...(incident.owner && { owner: incident.owner.objectId.toLowerCase() }),
    ...(due && { outboxDue: due }),
    ...(sync && { syncDue: sync }),
  };
}

/** "INC-42", "#42" or "42" as a number; anything else as folded text; nothing typed as the newest. */
export function readQuery(typed: string): IncidentQuery {
  const text = foldText(typed.trim()).slice(0, SEARCH_TEXT_MAX);
  const number = /^(?:inc-?|#)?\s*(\d{1,9})$/.exec(text)?.[1];
  if (number) return { number: Number(number) };
  return text ? { text } : {};
}

/** The words of a query's text, each of which a matching title must hold. */
export function queryWords(text: string): string[] {
  return text.split(" ").filter(Boolean);
}
