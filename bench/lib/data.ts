import { randomUUID } from "node:crypto";
import { PROVIDER_NAME, type Incident } from "../../src/incidents/model";
import type { IncidentStore, NewIncident } from "../../src/incidents/ports";
import type { IncidentForm } from "../../src/incidents/validation";
import { execute, search, ALEX, type Person } from "../../test/support/teams";

/** A small deterministic PRNG (mulberry32), so every run sees the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const THEMES = [
  "Phishing", "Malware", "Ransomware", "Credential theft", "BEC", "Insider threat", "Physical", "Tailgating", "Lost device",
  "Stolen laptop", "DDoS", "Data exfiltration", "MFA fatigue", "Impossible travel", "USB", "Password spray", "Brute force",
  "Privilege escalation", "Lateral movement", "C2 beacon", "Cryptomining", "Shadow IT", "Misconfiguration", "Vulnerability",
  "Vishing", "Smishing", "Social engineering", "Account takeover", "Token theft", "OAuth consent", "Supply chain", "DLP",
];
const QUALIFIERS = ["finance", "hr", "vip", "contractor", "cloud", "on-prem", "emea", "amer", "apac", "ot", "retail", "legal"];

/**
 * ~500 tags as a SOC uses them: themes, themes per business unit, MITRE ATT&CK technique ids and
 * CVE ids. Index 0 is the most used (Zipf-like ranks: weight 1/rank^1.1).
 */
export function tagVocabulary(): string[] {
  const tags: string[] = [...THEMES];
  for (const q of QUALIFIERS) for (const t of THEMES.slice(0, 16)) tags.push(`${t} ${q}`);
  for (let i = 0; i < 90; i++) tags.push(`T${1001 + i * 7}`);
  for (let i = 0; i < 40; i++) tags.push(`CVE-2024-${21000 + i * 137}`);
  for (const q of QUALIFIERS) tags.push(`Team ${q}`);
  return tags;
}

/** Draws tags with Zipf-like frequencies: 0-4 per incident, most with 1 or 2. */
export function tagPicker(random: () => number): () => string[] {
  const vocabulary = tagVocabulary();
  const weights = vocabulary.map((_, i) => 1 / Math.pow(i + 1, 1.1));
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w));
  const draw = (): string => {
    const x = random() * sum;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return vocabulary[lo]!;
  };
  return () => {
    const r = random();
    const n = r < 0.15 ? 0 : r < 0.5 ? 1 : r < 0.8 ? 2 : r < 0.95 ? 3 : 4;
    const picked = new Set<string>();
    for (let i = 0; i < n; i++) picked.add(draw());
    return [...picked];
  };
}

const TITLES = [
  "Phishing e-mail reported by finance",
  "Stranger tailgating at building 3",
  "Laptop left unlocked in the canteen",
  "Suspicious OAuth consent prompt",
  "Repeated MFA prompts at night",
  "USB stick found in the car park",
];

/**
 * The SOC analysts of the sample directory. Requests rotate over them: limits are per person
 * (and raised for the bench, see botEnv), and "Assign to me" resolves each of them.
 */
export const ANALYSTS: Person[] = [
  ALEX,
  { id: "29:bench-megan", name: "Megan Bowen", aadObjectId: "00000000-0000-0000-0000-0000000000021" },
  { id: "29:bench-patti", name: "Patti Fernandez", aadObjectId: "00000000-0000-0000-0000-0000000000024" },
  { id: "29:bench-socrates", name: "Socrates Papadopoulos", aadObjectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a01" },
  { id: "29:bench-lee", name: "Lee Gu", aadObjectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a04" },
  { id: "29:bench-alex", name: "Alex Wilber", aadObjectId: "00000000-0000-0000-0000-0000000000020" },
];

/** The owner choices a submitter uses: nobody, themselves, a group of the sample directory. */
const OWNERS = ["", "me", "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a01"];

/** Forms as the card submits them (owner nobody, "me" or a group, 0-4 Zipf-like tags), each with its own submission id. */
export function createForms(seed = 1): () => IncidentForm {
  const random = prng(seed);
  const tags = tagPicker(random);
  let i = 0;
  return () => {
    i++;
    return {
      submissionId: randomUUID(),
      title: TITLES[i % TITLES.length]!,
      description: "Reported in Teams by the person who saw it. Origin, entities involved and who was informed are below.\n".repeat(3),
      severity: ["High", "Medium", "Low", "Informational"][i % 4]!,
      status: i % 3 === 0 ? "Active" : "New",
      closing: "",
      closingComment: "",
      owner: OWNERS[i % OWNERS.length]!,
      tags: tags().join(","),
    };
  };
}

/** Bodies of `incident.create` invokes as Teams sends them, from the analysts in turn, each with its own submission id. */
export function createActivities(serviceUrl: string, seed = 1, options: { updateCard?: boolean } = {}): () => string {
  const forms = createForms(seed);
  let i = 0;
  return () => {
    i++;
    const data = { ...forms() };
    const activity = execute(serviceUrl, "incident.create", data, { from: ANALYSTS[i % ANALYSTS.length]!, replyToId: "card-message-1" });
    // Without replyToId the bot has no card message to update for everyone (a diagnostic).
    if (options.updateCard === false) delete (activity as { replyToId?: string }).replyToId;
    return JSON.stringify(activity);
  };
}

/** What people type into the tag box: nothing (focus), one to three letters, a technique id, a new tag. */
export const TAG_QUERIES = ["", "p", "ph", "mal", "cred", "t10", "cve", "fin", "phishing v", "brand-new-tag"];
/** What people type into the owner box. */
export const OWNER_QUERIES = ["al", "meg", "soc", "di", "lee", "sec", "p", "adele", "physical", "nobody-here"];

export function searchActivities(serviceUrl: string, dataset: "tags" | "owners", queries: readonly string[], people: readonly Person[] = ANALYSTS): () => string {
  let i = 0;
  return () => {
    i++;
    return JSON.stringify(search(serviceUrl, dataset, queries[i % queries.length]!, { from: people[i % people.length]! }));
  };
}

/** A whole incident, for the floor's static card. */
export function sampleIncident(): Incident {
  return {
    id: "3f1d3a0e-5a55-4d7b-9c3a-2d6a3c1b9e01",
    workspaceId: "bench",
    incidentNumber: 4242,
    title: TITLES[0]!,
    description: "Reported in Teams by the person who saw it. Origin, entities involved and who was informed are below.\n".repeat(3),
    severity: "High",
    status: "New",
    owner: { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "Group", assignedTo: "SOC Tier 1" },
    labels: [{ labelName: "Phishing", labelType: "User" }, { labelName: "Phishing finance", labelType: "User" }],
    revision: 1,
    createdTimeUtc: "2026-11-20T10:00:00.000Z",
    lastModifiedTimeUtc: "2026-11-20T10:00:00.000Z",
    createdBy: { objectId: ALEX.aadObjectId!, name: ALEX.name },
    entryPoint: "form",
    providerName: PROVIDER_NAME,
  };
}

export interface SeedResult {
  incidents: number;
  seconds: number;
  /** Incidents whose day falls in the last 14 days (what suggestions read). */
  inWindow: number;
}

export interface SeedOptions {
  now?: Date;
  /** PRNG seed: the same seed, count and `now` give the same incidents (ids apart). */
  seed?: number;
  /** year: spread over the `days` (default 365) before now; old: the same, but only on days before the 14-day suggestion window. */
  spread?: "year" | "old";
  days?: number;
  /**
   * Creates one at a time instead of a thousand at once, so a store that numbers as creates arrive (Cosmos DB)
   * numbers them in time order, as a live workspace's incidents are (its tag documents per day and number block
   * then look like a real workspace's). SQLite numbers them in call order either way.
   */
  oneAtATime?: boolean;
}

/**
 * Stores `count` incidents at random times, through the store's own create (as the bot does), oldest
 * first, so incident numbers follow time as they do in a live workspace. Awaits each batch of 1000
 * before the next, yielding to the event loop in between.
 */
export async function seedIncidents(store: Pick<IncidentStore, "create">, workspaceId: string, count: number, options: SeedOptions = {}): Promise<SeedResult> {
  const now = options.now ?? new Date();
  const random = prng(options.seed ?? 7);
  const tags = tagPicker(random);
  const DAY = 86_400_000;
  const windowStart = Math.floor(now.getTime() / DAY) * DAY - 13 * DAY;
  const from = now.getTime() - (options.days ?? 365) * DAY;
  const to = options.spread === "old" ? windowStart - 1 : now.getTime();
  const started = process.hrtime.bigint();
  let inWindow = 0;
  const incidents: NewIncident[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(to - Math.floor(random() * (to - from)));
    if (at.getTime() >= windowStart) inWindow++;
    const iso = at.toISOString();
    incidents.push({
      id: randomUUID(),
      workspaceId,
      title: TITLES[i % TITLES.length]!,
      description: "Seeded for the benchmark.",
      severity: "Medium",
      status: "New",
      labels: tags().map((labelName) => ({ labelName, labelType: "User" as const })),
      createdTimeUtc: iso,
      lastModifiedTimeUtc: iso,
      createdBy: { objectId: ALEX.aadObjectId!, name: ALEX.name },
      entryPoint: "form",
      providerName: PROVIDER_NAME,
    });
  }
  incidents.sort((a, b) => a.createdTimeUtc.localeCompare(b.createdTimeUtc));
  const BATCH = options.oneAtATime ? 1 : 1000;
  for (let done = 0; done < count; done += BATCH) {
    await Promise.all(incidents.slice(done, done + BATCH).map((incident) => store.create(incident)));
    if (done % 1000 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { incidents: count, seconds: Number(process.hrtime.bigint() - started) / 1e9, inWindow };
}
