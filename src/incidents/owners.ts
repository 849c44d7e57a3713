import type { Owner } from "./model";
import type { DirectoryEntry } from "./ports";

/**
 * How owner typeahead matches and orders users and groups: one rule for every directory (the local
 * file and Microsoft Graph), the way Graph's `$search` reads a query.
 */

/** Longest query a directory is asked; a typeahead never needs more, and it keeps URLs short. */
const OWNER_QUERY_MAX = 120;

/** Lower-cased query as typed, trimmed and capped; "" means nothing to search. */
export function foldOwnerQuery(query: string): string {
  return query.trim().slice(0, OWNER_QUERY_MAX).toLowerCase();
}

/** Words of a display name: split at spaces, dashes, underscores, dots and brackets. */
function nameWords(displayName: string): string[] {
  return displayName
    .toLowerCase()
    .split(/[\s\-_.()]+/)
    .filter(Boolean);
}

/**
 * How well an entry matches a folded query, best first: 0 the display name starts with it,
 * 1 a word of the display name does, 2 the mail or UPN does, undefined none of these.
 */
export function matchRank(entry: DirectoryEntry, q: string): number | undefined {
  if (entry.displayName.toLowerCase().startsWith(q)) return 0;
  if (nameWords(entry.displayName).some((w) => w.startsWith(q))) return 1;
  if ([entry.email, entry.userPrincipalName].some((a) => a?.toLowerCase().startsWith(q))) return 2;
  return undefined;
}

/**
 * Entries in typeahead order (see matchRank, then by name), duplicates removed, at most `limit`.
 * `unmatched: "last"` keeps entries this rule does not match after the others (Graph's own
 * tokenisation finds a few more: camel-case parts, words in any order); "drop" leaves them out.
 */
export function rankOwners(
  entries: Iterable<DirectoryEntry>,
  q: string,
  limit: number,
  unmatched: "last" | "drop",
): DirectoryEntry[] {
  const seen = new Set<string>();
  const ranked: { entry: DirectoryEntry; rank: number }[] = [];
  for (const entry of entries) {
    if (seen.has(entry.objectId)) continue;
    seen.add(entry.objectId);
    const rank = matchRank(entry, q);
    if (rank === undefined && unmatched === "drop") continue;
    ranked.push({ entry, rank: rank ?? 3 });
  }
  ranked.sort((a, b) => a.rank - b.rank || a.entry.displayName.localeCompare(b.entry.displayName));
  return ranked.slice(0, Math.max(0, limit)).map((r) => r.entry);
}

/** An incident's owner as the directory names it: never a name a client or Sentinel sent. */
export function ownerOf(entry: DirectoryEntry): Owner {
  return {
    objectId: entry.objectId,
    ownerType: entry.kind,
    assignedTo: entry.displayName,
    ...(entry.email && { email: entry.email }),
    ...(entry.userPrincipalName && { userPrincipalName: entry.userPrincipalName }),
  };
}
