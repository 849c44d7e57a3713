import type { DirectoryEntry } from "../incidents/ports";

/** Longest query sent to Graph; a typeahead never needs more, and it keeps URLs short. */
export const MAX_QUERY_LENGTH = 120;

/**
 * The `$search` value for `text` on the given properties, URL-encoded, ready for the query string:
 * `"displayName:al" OR "mail:al"`. Graph's rules: each clause in double quotes, `"` and `\` inside
 * escaped with a backslash, every other special character URL-encoded (so `&`, `#`, `+` survive).
 */
export function searchParameter(text: string, properties: readonly string[]): string {
  const escaped = text.replace(/[\\"]/g, (c) => `\\${c}`);
  return encodeURIComponent(properties.map((p) => `"${p}:${escaped}"`).join(" OR "));
}

/** Lower-cased query as typed, trimmed and capped; "" means nothing to search. */
export function normaliseQuery(query: string): string {
  return query.trim().slice(0, MAX_QUERY_LENGTH).toLowerCase();
}

/** Words of a display name, as the local directory splits them. */
function words(displayName: string): string[] {
  return displayName.toLowerCase().split(/[\s\-_.()]+/).filter(Boolean);
}

/**
 * How well an entry matches a normalised query, best first: 0 the display name starts with it,
 * 1 a word of the display name does, 2 the mail or UPN does, undefined none of these.
 * Graph's own tokenisation finds a few more (camel-case parts, words in any order); those rank last.
 */
export function matchRank(entry: DirectoryEntry, q: string): number | undefined {
  const name = entry.displayName.toLowerCase();
  if (name.startsWith(q)) return 0;
  if (words(entry.displayName).some((w) => w.startsWith(q))) return 1;
  if ([entry.email, entry.userPrincipalName].some((a) => a?.toLowerCase().startsWith(q))) return 2;
  return undefined;
}

/** Entries in typeahead order (see matchRank, then by name), duplicates removed, at most `limit`. */
export function rank(entries: Iterable<DirectoryEntry>, q: string, limit: number): DirectoryEntry[] {
  const seen = new Set<string>();
  const ranked: { entry: DirectoryEntry; rank: number }[] = [];
  for (const entry of entries) {
    if (seen.has(entry.objectId)) continue;
    seen.add(entry.objectId);
    ranked.push({ entry, rank: matchRank(entry, q) ?? 3 });
  }
  ranked.sort((a, b) => a.rank - b.rank || a.entry.displayName.localeCompare(b.entry.displayName));
  return ranked.slice(0, Math.max(0, limit)).map((r) => r.entry);
}
