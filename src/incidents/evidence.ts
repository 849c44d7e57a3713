import { checkEntity, mergeEntities, type Entity } from "./entities";
import { findEntities } from "./extract";
import type { Actor, Incident, MessageEvidence } from "./model";
import type { Directory } from "./ports";

/**
 * The entities a report, a message or a comment brings to an incident: the indicators in its words and
 * link targets (related evidence, extracted), the reporter and a message's author as the directory names
 * them (never from names in the text), and the app or webhook that posted a message. Only analysts mark
 * an entity impacted.
 */

/** What one intake said: its words, and for a message its whole text and its link targets. */
export interface Said {
  words: string;
  links?: readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user the directory knows, by object id: their UPN (or the id), named as the directory names them. */
async function directoryUser(directory: Directory, objectId: string | undefined): Promise<Entity | undefined> {
  if (!objectId || !GUID.test(objectId)) return undefined;
  const entry = await directory.get(objectId.toLowerCase());
  if (!entry || entry.kind !== "User") return undefined;
  const byUpn = entry.userPrincipalName && checkEntity("user", entry.userPrincipalName, "related", "directory");
  const checked = byUpn && byUpn.ok ? byUpn : checkEntity("user", entry.objectId, "related", "directory", "aadUserId");
  return checked.ok ? { ...checked.entity, name: entry.displayName } : undefined;
}

/** The app or webhook that posted a message: by its app id when Teams gave one, else by the name it posted under. */
function appEntity(author: MessageEvidence["author"]): Entity | undefined {
  const byId = author.id && GUID.test(author.id) ? checkEntity("app", author.id, "related", "extracted", "appId") : undefined;
  const checked = byId?.ok ? byId : checkEntity("app", author.name, "related", "extracted", "name");
  return checked.ok ? { ...checked.entity, name: author.name } : undefined;
}

/**
 * Everything one report brings: the reporter (when there is one: an analyst typing the form is not part of
 * the incident) and a message's author, from the directory first, then the
 * message's app, then the indicators found. Unbounded here; `withEntities` keeps ENTITIES_MAX.
 * Throws what the directory throws (DirectoryUnavailableError), before anything is written.
 */
export async function reportEntities(
  directory: Directory,
  said: Said,
  reporter: Actor | undefined,
  evidence?: MessageEvidence,
): Promise<Entity[]> {
  const author = evidence?.author;
  const [you, them] = await Promise.all([
    directoryUser(directory, reporter?.objectId),
    author?.kind === "user" ? directoryUser(directory, author.id) : undefined,
  ]);
  const app = author?.kind === "application" ? appEntity(author) : undefined;
  return [...[you, them, app].filter((e): e is Entity => e !== undefined), ...findEntities(said.words, said.links)];
}

/** The incident with `incoming` merged into its entities (duplicates as one, ENTITIES_MAX kept by rank, the rest counted). */
export function withEntities<T extends Pick<Incident, "entities" | "entitiesNotKept">>(
  incident: T,
  incoming: readonly Entity[],
): T {
  if (!incoming.length) return incident;
  const merged = mergeEntities(incident.entities ?? [], incoming, incident.entitiesNotKept ?? 0);
  return {
    ...incident,
    entities: merged.entities,
    ...(merged.notKept > 0 && { entitiesNotKept: merged.notKept }),
  };
}

/** How many indicators an incident's reports brought (extracted, kept or counted): what a reporter's receipt says. */
export function indicatorsFound(incident: Pick<Incident, "entities" | "entitiesNotKept">): number {
  return (
    (incident.entities ?? []).filter((e) => e.source === "extracted" && e.type !== "app").length + (incident.entitiesNotKept ?? 0)
  );
}
