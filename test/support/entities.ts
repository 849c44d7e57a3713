/**
 * Incidents with entities, category, techniques and recommended actions for the card tests, before
 * the entry points fill them: the entities are made by the domain's own checkEntity (so they are what
 * the bot keeps) and written to the running bot's store, as an edit would write them.
 */
import { checkEntity, ENTITIES_MAX, ENTITY_VALUE_MAX_LENGTH, type Entity, type EntityRole, type EntitySource, type EntityType } from "../../src/incidents/entities";
import type { Incident } from "../../src/incidents/model";
import type { IncidentStore } from "../../src/incidents/ports";
import type { TestBot } from "./bot";

export function entity(type: EntityType, value: string, role: EntityRole = "related", source: EntitySource = "extracted", name?: string): Entity {
  const checked = checkEntity(type, value, role, source);
  if (!checked.ok) throw new Error(`${type} ${value.slice(0, 40)}: ${checked.error}`);
  return name ? { ...checked.entity, name } : checked.entity;
}

/** A phishing report's entities: an impacted user and device, the sender, the link, its domain, a hash, a private IP. */
export function phishingEntities(): Entity[] {
  return [
    entity("user", "megan.bowen@contoso.com", "impacted", "directory", "Megan Bowen"),
    entity("device", "LAPTOP-7F3K", "impacted", "typed"),
    entity("url", "hxxps://evil[.]example/login?next=https://contoso.sharepoint.com", "related", "extracted"),
    entity("domain", "paypa1-login.com", "related", "extracted"),
    entity("email", "billing@paypa1-login.com", "related", "extracted"),
    entity("ip", "10.20.30.40", "related", "typed"),
    entity("ip", "2001:db8::7", "related", "extracted"),
    entity("domain", "xn--pypal-4ve.com", "related", "extracted"),
    entity("url", "javascript:alert(document.cookie)", "related", "extracted"),
    entity("file", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "related", "extracted"),
    entity("phone", "+44 20 7946 0000", "related", "extracted"),
  ];
}

/** What a phishing incident records beyond words. */
export function phishingFields(): Pick<Incident, "category" | "mitreTechniques" | "recommendedActions" | "entities"> {
  return {
    category: "InitialAccess",
    mitreTechniques: ["T1566.002", "T1078"],
    recommendedActions: "Block the sender and the domain; reset Megan's password; search for other recipients of the message.",
    entities: phishingEntities(),
  };
}

/** A URL of exactly `length` characters (`ENTITY_VALUE_MAX_LENGTH` at most), with dots to defang all along it. */
export function longUrl(i: number, length = ENTITY_VALUE_MAX_LENGTH): string {
  const head = `https://phish${i}.evil.example/`;
  return `${head}${"a.b/".repeat(length)}`.slice(0, length);
}

/**
 * The largest lists an incident holds: ENTITIES_MAX entities over every type, the longest values
 * (1,000-character URLs, javascript: URLs and app names made of the characters JSON escapes),
 * IPv6, IDN and lookalike domains, private and reserved ranges; and more found than kept.
 */
export function largestEntities(): Entity[] {
  const heavy = (n: number) => '"\\'.repeat(n).slice(0, n);
  const makers: ((i: number) => Entity)[] = [
    (i) => entity("url", longUrl(i), i % 3 === 0 ? "impacted" : "related"),
    (i) => entity("url", `javascript:${heavy(ENTITY_VALUE_MAX_LENGTH - 12)}${i % 10}`),
    (i) => entity("app", `${i}${heavy(ENTITY_VALUE_MAX_LENGTH - 3)}`, "related", "directory"),
    (i) => entity("ip", `2001:db8:${i.toString(16)}::${(i * 7).toString(16)}`),
    (i) => entity("ip", i % 2 ? `192.168.${i}.1` : `240.0.${i}.9`, "related", "typed"),
    (i) => entity("domain", `xn--pypal-4ve${i}.com`),
    (i) => entity("domain", `${"sub.".repeat(40)}d${i}.example.com`),
    (i) => entity("email", `${"x".repeat(60)}${i}@${"long-".repeat(10)}x.${"sub.".repeat(20)}example.com`),
    (i) => entity("user", `user${i}.${"y".repeat(50)}@contoso.com`, "impacted", "directory", `Maximiliana Alexandra Konstantinopoulou ${i}`),
    (i) => entity("device", `${"DESKTOP-".repeat(25)}${i}`, "impacted", "typed"),
    (i) => entity("file", (i.toString(16).padStart(4, "0") + "a".repeat(60)).slice(0, 64)),
    (i) => entity("phone", `+44 20 7946 ${String(1000 + i)}`),
    (i) => entity("mailbox", `${"m".repeat(60)}${i}@contoso.com`, "impacted", "directory"),
    (i) => entity("group", `0badc0de-0000-4000-8000-${String(i).padStart(12, "0")}`, "impacted", "directory", `The longest group name ${i}`),
  ];
  const out: Entity[] = [];
  for (let i = 0; out.length < ENTITIES_MAX; i++) out.push(makers[i % makers.length]!(i));
  return out;
}

/** The store the running bot uses (the service keeps it to itself). */
const storeOf = (bot: TestBot) => (bot.app.service as unknown as { store: IncidentStore }).store;

/** Writes `fields` onto the stored incident (a new revision, as an edit writes it); returns the incident as stored. */
export async function giveEntities(bot: TestBot, incidentId: string, fields: Partial<Incident>): Promise<Incident> {
  const store = storeOf(bot);
  const current = await store.get(bot.app.service.workspaceId, incidentId);
  if (!current) throw new Error(`no incident ${incidentId}`);
  const outcome = await store.replace({ ...current, ...fields, revision: current.revision + 1 }, current.revision);
  if (!outcome.ok) throw new Error(`incident ${incidentId} changed while entities were given to it`);
  return outcome.incident;
}
