import type { Incident } from "./model";
import type { TagDayUsage, TagTotal, TagUses, TagWindow } from "./ports";

/** Sentinel keeps no limit on labels; these keep cards readable and typeahead fast. */
export const TAG_MAX_LENGTH = 50;
export const TAG_MAX_COUNT = 20;
/** "Auto completion will be offered from tags used in the workspace in the past two weeks." */
export const TAG_WINDOW_DAYS = 14;
/** A tag's weight halves every week, so a burst of last week's tags yields to this week's. */
const HALF_LIFE_DAYS = 7;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const DERIVED = /^\s*(category|mitre)\s*:/i;

/**
 * A label made from the incident's category or techniques (`category:InitialAccess`, `mitre:T1566`),
 * compared without case: written to Sentinel from those fields (src/incidents/mirror-entities.ts), never
 * a tag, so no tag may take that form.
 */
export function isDerivedLabel(name: string): boolean {
  return DERIVED.test(name);
}

/** Trims and collapses inner whitespace: "  Phishing   campaign " -> "Phishing campaign". */
export function normaliseTag(raw: string): string {
  return raw.trim().replace(/\s+/g, " ");
}

export type TagsResult = { tags: string[]; error?: undefined } | { tags?: undefined; error: string };

/**
 * Turns the card's comma-separated multi-select value (or a list) into clean tags:
 * trimmed, inner spaces collapsed, empty ones dropped, case-insensitive duplicates dropped (first
 * spelling wins). A comma can never be inside a tag: Teams joins multi-select values with commas.
 */
export function parseTags(raw: string | readonly string[]): TagsResult {
  const parts = typeof raw === "string" ? raw.split(",") : raw.flatMap((t) => t.split(","));
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const part of parts) {
    const tag = normaliseTag(part);
    if (!tag) continue;
    if (CONTROL.test(tag)) return { error: "Tags can't contain control characters." };
    if (tag.length > TAG_MAX_LENGTH) {
      return { error: `Each tag can be at most ${TAG_MAX_LENGTH} characters (one has ${tag.length}).` };
    }
    if (isDerivedLabel(tag)) {
      return { error: `"${tag}" can't be a tag: category: and mitre: labels come from the incident's category and techniques.` };
    }
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    tags.push(tag);
  }
  if (tags.length > TAG_MAX_COUNT) return { error: `Use at most ${TAG_MAX_COUNT} tags (you gave ${tags.length}).` };
  return { tags };
}

/**
 * The tags an incident counts toward suggestions (usage, recent tags, typeahead), on its creation day: none
 * while it is restricted (need-to-know: its tags would show every analyst what it is about), otherwise its
 * labels. Both stores count exactly these, at create and after every replace, so restricting an incident
 * takes its tags out of the counts and unrestricting puts them back.
 */
export function countedTags(incident: Pick<Incident, "labels" | "restricted">): string[] {
  return incident.restricted ? [] : incident.labels.map((l) => l.labelName);
}

/**
 * What a replace does to the counts: the tags `after` counts that `before` did not (as spelled in `after`)
 * and those `before` counted that `after` does not (as spelled in `before`), compared case-insensitively.
 */
export function tagUseChange(
  before: Pick<Incident, "labels" | "restricted">,
  after: Pick<Incident, "labels" | "restricted">,
): { added: string[]; removed: string[] } {
  const keys = (tags: string[]) => new Set(tags.map((t) => t.toLowerCase()));
  const was = countedTags(before);
  const now = countedTags(after);
  const wasKeys = keys(was);
  const nowKeys = keys(now);
  return {
    added: [...new Map(now.filter((t) => !wasKeys.has(t.toLowerCase())).map((t) => [t.toLowerCase(), t])).values()],
    removed: [...new Map(was.filter((t) => !nowKeys.has(t.toLowerCase())).map((t) => [t.toLowerCase(), t])).values()],
  };
}

export interface RankedTag {
  tag: string;
  score: number;
  count: number;
  lastUsedUtc: string;
}

/** UTC day `YYYY-MM-DD` of a time. */
export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The first day inside the suggestion window that ends at `now` (today and the 13 days before). */
export function windowStartDay(now: Date): string {
  return utcDay(new Date(now.getTime() - (TAG_WINDOW_DAYS - 1) * 86_400_000));
}

/**
 * Ranks the window's tags by use and recency: each use weighs 1, halving every week of age.
 * Ties go to the most recently used, then alphabetically. Spellings merge case-insensitively
 * (the most recent spelling is shown).
 */
export function rankTags(usage: readonly TagDayUsage[], now: Date): RankedTag[] {
  const since = windowStartDay(now);
  const byKey = new Map<string, RankedTag>();
  const today = Date.parse(`${utcDay(now)}T00:00:00Z`);
  for (const u of usage) {
    if (u.day < since) continue;
    const ageDays = Math.max(0, (today - Date.parse(`${u.day}T00:00:00Z`)) / 86_400_000);
    const weight = u.count * Math.pow(0.5, ageDays / HALF_LIFE_DAYS);
    const key = u.tag.toLowerCase();
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { tag: u.tag, score: weight, count: u.count, lastUsedUtc: u.lastUsedUtc });
    } else {
      seen.score += weight;
      seen.count += u.count;
      if (u.lastUsedUtc > seen.lastUsedUtc) {
        seen.lastUsedUtc = u.lastUsedUtc;
        seen.tag = u.tag;
      }
    }
  }
  return [...byKey.values()].sort(
    (a, b) => b.score - a.score || b.lastUsedUtc.localeCompare(a.lastUsedUtc) || a.tag.localeCompare(b.tag),
  );
}

const DAY_MS = 86_400_000;

/** The window of a suggestion made at `now`: today and the 13 days before. */
export function tagWindow(now: Date): TagWindow {
  return { sinceDay: windowStartDay(now), today: utcDay(now) };
}

/**
 * What one use on `day` weighs relative to one on the window's first day: 2^(days after it / 7), a day
 * after `today` as today. A tag's score at the end of the window is its summed weight x
 * 0.5^(window length / 7), which is `rankTags`' weighting (halving every week of age) whatever the
 * day, so stores can sum weights per tag without knowing the ranking.
 */
export function dayWeight(day: string, window: TagWindow): number {
  const last = day > window.today ? window.today : day;
  return Math.pow(2, (Date.parse(`${last}T00:00:00Z`) - Date.parse(`${window.sinceDay}T00:00:00Z`)) / DAY_MS / HALF_LIFE_DAYS);
}

/**
 * Per-day usage grouped by tag (case-insensitively), as `recentTags` returns it: the spelling and time of
 * the latest use, and every day given.
 */
export function usesByTag(usage: readonly TagDayUsage[]): TagUses[] {
  const byKey = new Map<string, { tag: string; lastUsedUtc: string; days: [string, number][] }>();
  for (const u of usage) {
    const key = u.tag.toLowerCase();
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { tag: u.tag, lastUsedUtc: u.lastUsedUtc, days: [[u.day, u.count]] });
      continue;
    }
    seen.days.push([u.day, u.count]);
    if (u.lastUsedUtc > seen.lastUsedUtc) {
      seen.lastUsedUtc = u.lastUsedUtc;
      seen.tag = u.tag;
    }
  }
  return [...byKey.values()];
}

/**
 * Each tag's uses summed over the window (days before it are left out, days after `today` weigh as
 * today's): its uses, their weight (`dayWeight`), its latest spelling and time. A tag with no use in
 * the window is left out.
 */
export function totalsOf(tags: Iterable<TagUses>, window: TagWindow): TagTotal[] {
  const weights = new Map<string, number>();
  const totals: TagTotal[] = [];
  for (const { tag, lastUsedUtc, days } of tags) {
    let count = 0;
    let weight = 0;
    for (const [day, uses] of days) {
      if (day < window.sinceDay) continue;
      let dayWeighs = weights.get(day);
      if (dayWeighs === undefined) weights.set(day, (dayWeighs = dayWeight(day, window)));
      count += uses;
      weight += uses * dayWeighs;
    }
    if (count > 0) totals.push({ tag, count, weight, lastUsedUtc });
  }
  return totals;
}

/**
 * Ranks per-tag totals as `rankTags` ranks per-day usage (each use weighs 1, halving every week of
 * age; ties to the most recently used, then alphabetically): one entry per tag read, not per day.
 */
export function rankTotals(totals: readonly TagTotal[], window: TagWindow): RankedTag[] {
  const toEnd = 1 / dayWeight(window.today, window);
  return totals
    .map(({ tag, count, weight, lastUsedUtc }) => ({ tag, count, lastUsedUtc, score: weight * toEnd }))
    .sort((a, b) => b.score - a.score || b.lastUsedUtc.localeCompare(a.lastUsedUtc) || a.tag.localeCompare(b.tag));
}

/**
 * Lower-cased text and words of each ranked tag, made once per ranked list (the service caches the list; suggestions run per
 * keystroke).
 */
const SEARCHABLE = new WeakMap<readonly RankedTag[], Searchable[]>();

interface Searchable {
  tag: string;
  lower: string;
  words: string[];
}

/**
 * Each tag's lower-cased text and words, kept across ranked lists: a list read again from the store (a cold
 * cache, or after a create) holds mostly the same tags. Emptied when it reaches PARSED_MAX tags.
 */
const PARSED = new Map<string, Searchable>();
const PARSED_MAX = 10_000;

function parsed(tag: string): Searchable {
  let entry = PARSED.get(tag);
  if (!entry) {
    if (PARSED.size >= PARSED_MAX) PARSED.clear();
    const lower = tag.toLowerCase();
    entry = { tag, lower, words: lower.split(/[\s\-_/.:]+/) };
    PARSED.set(tag, entry);
  }
  return entry;
}

function searchable(ranked: readonly RankedTag[]): Searchable[] {
  let tags = SEARCHABLE.get(ranked);
  if (!tags) {
    tags = ranked.map(({ tag }) => parsed(tag));
    SEARCHABLE.set(ranked, tags);
  }
  return tags;
}

/**
 * Suggestions for what was typed: ranked tags whose text starts with it first, then those with a
 * word starting with it, then those containing it; the typed text itself is offered as a new tag
 * when it is a valid tag not already listed. An empty query gives the top tags.
 */
export function suggestTags(ranked: readonly RankedTag[], typed: string, limit: number): string[] {
  const query = normaliseTag(typed).toLowerCase();
  const tags = searchable(ranked);
  let matches: string[];
  if (!query) {
    matches = ranked.slice(0, limit).map((r) => r.tag);
  } else {
    const prefix: string[] = [];
    const word: string[] = [];
    const inner: string[] = [];
    for (const { tag, lower, words } of tags) {
      if (lower.startsWith(query)) prefix.push(tag);
      else if (words.some((w) => w.startsWith(query))) word.push(tag);
      else if (lower.includes(query)) inner.push(tag);
    }
    matches = [...prefix, ...word, ...inner];
  }
  const result = matches.slice(0, limit);
  const fresh = parseTags(typed);
  const typedTag = fresh.tags?.length === 1 ? fresh.tags[0] : undefined;
  const typedKey = typedTag?.toLowerCase();
  if (typedTag && !tags.some((t) => t.lower === typedKey)) {
    // Offered last, so existing spellings win; kept even when the list is full.
    if (result.length >= limit) result.pop();
    result.push(typedTag);
  }
  return result;
}
