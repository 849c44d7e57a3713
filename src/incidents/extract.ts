import { extractIPv4s, extractIPv6s, extractSHA1s, extractSHA256s } from "ioc-extractor";
import { LinkifyIt } from "linkify-it";
import { getDomain } from "tldts";
import { checkEntity, ENTITY_VALUE_MAX_LENGTH, mergeEntities, refangMapped, type Entity, type EntityType } from "./entities";

/**
 * Indicators in what people report: URLs, domains, IP addresses, file hashes, email addresses and
 * phone numbers, written plainly or defanged (hxxps://evil[.]example), found in a report's words and a
 * message's link targets. Each becomes related evidence through `checkEntity`, keeping the form people
 * wrote (`typed`) when it differs from the value.
 *
 * Libraries (measured on test/unit/extract-corpus.ts and a 100 KB message, see the README): linkify-it
 * finds URLs, bare domains and email addresses with their positions (so the defanged form can be shown);
 * ioc-extractor finds IPv4/IPv6 addresses and SHA-256/SHA-1 hashes; tldts names a URL's registrable
 * domain; libphonenumber-js checks phone numbers. Our own code only refangs (with positions kept) and
 * picks phone number candidates (a + and digits) for libphonenumber-js to judge.
 */

/** What extraction reads at most of a text: a Teams message is at most ~28 KB of text; a 200 KB body converted is less. */
export const EXTRACT_TEXT_MAX = 200_000;
/** Link targets read at most from one message: more than any real message, bounded work for a crafted one. */
export const EXTRACT_LINKS_MAX = 5_000;

export interface Extracted {
  /** At most ENTITIES_MAX, in the order found (link targets first), duplicates merged. */
  entities: Entity[];
  /** Distinct indicators found but not kept (over ENTITIES_MAX). */
  notKept: number;
}

/** Phishing's favourite generic endings, besides linkify-it's defaults (com, net, org... and every two-letter country code). */
const MORE_TLDS = [
  "app",
  "bid",
  "buzz",
  "cam",
  "click",
  "cloud",
  "club",
  "dev",
  "icu",
  "link",
  "live",
  "online",
  "page",
  "rest",
  "site",
  "store",
  "support",
  "top",
  "vip",
  "website",
  "work",
  "xyz",
  "zip",
];

/** Everything after a scheme that runs code, to the next space or quote. */
const SCRIPT_TAIL = /[^\s"<>]+/y;

const linkify = new LinkifyIt({ fuzzyLink: true, fuzzyEmail: true, fuzzyIP: false, maxLength: ENTITY_VALUE_MAX_LENGTH })
  .tlds(MORE_TLDS, true)
  // Kept as evidence (flagged "script", never rendered as links).
  .add("javascript:", { validate: scriptTail })
  .add("data:", { validate: scriptTail })
  .add("vbscript:", { validate: scriptTail })
  // "//host/path" alone is too often not a link in prose.
  .add("//", null);

function scriptTail(text: string, pos: number): number {
  SCRIPT_TAIL.lastIndex = pos;
  return SCRIPT_TAIL.exec(text)?.[0].length ?? 0;
}

/**
 * A + and a country code, then digits with the usual separators: libphonenumber-js judges each. Only the
 * international form (E.123): "00 44..." in running text is too often an order or invoice number.
 */
const PHONE_CANDIDATE = /(?<![\w+])\+[1-9][\d \u00a0().-]{5,22}\d(?!\d)/g;

interface Found {
  type: EntityType;
  /** As people wrote it (may be defanged). */
  raw: string;
  /** Where in the text: found entities are kept in reading order. */
  at: number;
}

/**
 * Where `value` first occurs in `text` as a whole, or -1 (ioc-extractor gives values, not places; and
 * takes the 10.0.0.30 out of 10.0.0.300, which must not become an indicator).
 */
function firstPlace(text: string, value: string): number {
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + value.length)) {
    const before = text.slice(Math.max(0, at - 2), at);
    const after = text.slice(at + value.length, at + value.length + 2);
    if (!/[\p{L}\p{N}_]$|\d[.:]$/u.test(before) && !/^[\p{L}\p{N}_]|^\.[\p{L}\p{N}]/u.test(after)) return at;
  }
  return -1;
}

/** A word that may hold a URL, domain, address or IP: a dot, @ or colon inside it, before a letter, digit, / or [. */
const MAY_HOLD = /[.@:][\p{L}\p{N}_/[]/u;

/**
 * The words of `text` that may hold a URL, a domain, an email or an IP address, joined by spaces, and the
 * way back to `text`. linkify-it's search for links without a scheme is the costly part of extraction;
 * prose words (most of a message) never reach it.
 */
function wordsThatMayHold(text: string): { text: string; at: (index: number) => number } {
  const words: { start: number; source: number }[] = [];
  const parts: string[] = [];
  let length = 0;
  for (const m of text.matchAll(/\S+/g)) {
    if (!MAY_HOLD.test(m[0])) continue;
    words.push({ start: length, source: m.index });
    parts.push(m[0]);
    length += m[0].length + 1;
  }
  const at = (index: number): number => {
    let lo = 0;
    let hi = words.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (words[mid]!.start <= index) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const word = words[found];
    return word ? word.source + (index - word.start) : index;
  };
  return { text: parts.join(" "), at };
}

/** Candidates in one text, in reading order. */
function candidates(original: string): Found[] {
  const { text, origin } = refangMapped(original);
  const typedAt = (start: number, end: number) => original.slice(origin(start), origin(end));
  const found: Found[] = [];
  const words = wordsThatMayHold(text);
  const typedIn = (start: number, end: number) => typedAt(words.at(start), words.at(end - 1) + 1);
  for (const m of linkify.match(words.text) ?? []) {
    const raw = typedIn(m.index, m.lastIndex);
    const at = words.at(m.index);
    if (m.schema === "mailto:" || (m.schema === "" && m.url.startsWith("mailto:"))) {
      found.push({ type: "email", raw: raw.replace(/^mailto:/i, ""), at });
    } else if (m.schema === "" && !/[/?#:]/.test(m.raw)) {
      // A bare host name (paypa1-login.com) is a domain, not a URL.
      found.push({ type: "domain", raw, at });
    } else {
      found.push({ type: "url", raw: m.schema === "" ? `http://${raw}` : raw, at });
    }
  }
  const inWords: [EntityType, string[]][] = [
    ["ip", extractIPv4s(words.text)],
    ["ip", /[0-9a-f]:[0-9a-f:]/i.test(words.text) ? extractIPv6s(words.text) : []],
  ];
  for (const [type, values] of inWords) {
    for (const value of values) {
      const at = firstPlace(words.text, value);
      if (at >= 0) found.push({ type, raw: typedIn(at, at + value.length), at: words.at(at) });
    }
  }
  // Hashes have no dots: looked for in the whole text.
  for (const value of [...extractSHA256s(text), ...extractSHA1s(text)]) {
    const at = firstPlace(text, value);
    if (at >= 0) found.push({ type: "file", raw: typedAt(at, at + value.length), at });
  }
  for (const m of text.matchAll(PHONE_CANDIDATE)) {
    found.push({ type: "phone", raw: typedAt(m.index, m.index + m[0].length), at: m.index });
  }
  return found.sort((a, b) => a.at - b.at);
}

/** A link target from message HTML: a web address, mailto: or tel:; anything else (relative, #anchor) is skipped. */
function linkTarget(href: string): Found | undefined {
  const target = href.trim();
  if (/^mailto:/i.test(target)) return { type: "email", raw: decodeSafely(target.slice(7).split("?")[0] ?? ""), at: 0 };
  if (/^tel:/i.test(target)) return { type: "phone", raw: decodeSafely(target.slice(4)), at: 0 };
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return { type: "url", raw: target, at: 0 };
  return undefined;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The indicators in `text` (plain or defanged) and in `links` (a message's link targets, which may differ
 * from the words linked): link targets first, then the text in reading order, each once. A URL adds its
 * registrable domain. What fails its type's rule (a 300 in an IP, an unknown ending) is left out.
 * Work is bounded by EXTRACT_TEXT_MAX and EXTRACT_LINKS_MAX. All of them: `extractEntities` keeps ENTITIES_MAX.
 */
export function findEntities(text: string, links: readonly string[] = []): Entity[] {
  const found = [
    ...links
      .slice(0, EXTRACT_LINKS_MAX)
      .map(linkTarget)
      .filter((f) => f !== undefined),
    ...candidates(text.slice(0, EXTRACT_TEXT_MAX)),
  ];
  const entities: Entity[] = [];
  const seen = new Set<string>();
  const add = (type: EntityType, raw: string) => {
    const key = `${type}\n${raw}`;
    if (seen.has(key)) return;
    seen.add(key);
    const checked = checkEntity(type, raw, "related", "extracted");
    if (!checked.ok) return;
    entities.push(checked.entity);
    if (type === "url" && !checked.entity.flags?.includes("script")) {
      // The Public Suffix List's private section too: evil.azurewebsites.net is the attacker's, azurewebsites.net is not.
      const domain = getDomain(new URL(checked.entity.value).hostname, { allowPrivateDomains: true });
      if (domain) add("domain", domain);
    }
  };
  for (const f of found) add(f.type, f.raw);
  return entities;
}

/** `findEntities`, merged: duplicates as one, at most ENTITIES_MAX kept (reading order), the rest counted. */
export function extractEntities(text: string, links: readonly string[] = []): Extracted {
  return mergeEntities([], findEntities(text, links));
}
