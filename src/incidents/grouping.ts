import { getDomain } from "tldts";
import { defang, type Entity } from "./entities";
import type { EntryPoint, Status } from "./model";

/**
 * Grouping: a new report joins an open incident created from reports when both point at the same thing (a
 * strong indicator not on the allow-list) or say the same thing (near-duplicate words), within a window.
 * Pure: the store finds the candidates (by `lookupValues`, and later by `wordKeys`); this decides which
 * one, if any, and says why. An analyst's incident (entry point "form") is never joined.
 */

/** How far apart a report and an incident may be created and still be grouped (issue 27: 72 hours). */
export const GROUPING_WINDOW_MS = 72 * 3_600_000;
/** Estimated Jaccard similarity of word shingles at or above which two texts are one lure (chosen from the test corpus). */
export const SIMILARITY_THRESHOLD = 0.4;
/** Fewer words than this are too short to compare ("I got a phishing email"): indicators only. */
export const SIMILARITY_MIN_WORDS = 12;
/** Words per shingle. */
export const SHINGLE_WORDS = 3;
/** Hash functions in a signature; each is kept as 16 bits (b-bit MinHash), written as 3 characters: 387 in all. */
export const SIGNATURE_HASHES = 128;
/** A report's text is compared on its first this many words and characters (bounds the work per report). */
export const SIGNATURE_WORDS_MAX = 2_000;
export const SIGNATURE_TEXT_MAX = 40_000;
/** At most this many values are looked up per report (one indexed query each), strongest first. */
export const LOOKUP_VALUES_MAX = 16;
/** Word candidates: the signature cut in this many bands of BAND_ROWS hashes; a band's key is looked up. */
export const WORD_BANDS = 16;
export const BAND_ROWS = 2;

/**
 * Consumer mail providers (Microsoft's, Google's, Apple, Yahoo, AOL, Proton, GMX, Zoho and other large ones), part
 * of COMMON_DOMAINS: an address there is one person's (or one attacker's), so the same sender address is still an
 * indicator, though the domain is not.
 */
export const PERSONAL_MAIL_DOMAINS: readonly string[] = [
  "outlook.com",
  "hotmail.com",
  "live.com",
  "msn.com",
  "gmail.com",
  "googlemail.com",
  "icloud.com",
  "me.com",
  "yahoo.com",
  "aol.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "gmx.de",
  "gmx.net",
  "web.de",
  "mail.com",
  "zoho.com",
  "yandex.ru",
  "mail.ru",
  "onmicrosoft.com",
];

/**
 * Registrable domains that are never an indicator on their own, for anyone: shared mail, identity and
 * collaboration services whose domains appear in unrelated reports every day (a Microsoft 365 link in a
 * signature, an outlook.com sender). Taken from the services' own published endpoints: Microsoft 365 URLs and IP
 * address ranges (learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges), Google Workspace,
 * Zoom, Slack, Webex, and the largest consumer mail providers. Hosting where each customer has its own host and
 * the Public Suffix List says so (azurewebsites.net, github.io, blob.core.windows.net) is not here: such a host
 * is its own registrable domain and stays an indicator.
 */
export const COMMON_DOMAINS: readonly string[] = [
  // The consumer mail providers, then the services.
  ...PERSONAL_MAIL_DOMAINS,
  // Microsoft 365, Teams, Outlook, identity
  "microsoft.com",
  "microsoftonline.com",
  "office.com",
  "office.net",
  "office365.com",
  "sharepoint.com",
  "microsoft365.com",
  "skype.com",
  "cloud.microsoft",
  "aka.ms",
  "1drv.ms",
  "windows.net",
  "azure.com",
  "bing.com",
  "linkedin.com",
  // Google
  "google.com",
  "youtube.com",
  // Meetings and chat
  "zoom.us",
  "slack.com",
  "webex.com",
];

export interface GroupingSettings {
  windowMs: number;
  /** 0 < threshold <= 1. */
  similarityThreshold: number;
  similarityMinWords: number;
  /** Registrable domains never an indicator: the organisation's own and COMMON_DOMAINS (lower case, punycode). */
  allowDomains: ReadonlySet<string>;
  /** Of those, the ones where a sender's address is still an indicator (not the organisation's own). */
  personalMailDomains: ReadonlySet<string>;
}

/** The registrable domain of a host (Public Suffix List, private section included), or undefined. */
export function registrableDomain(host: string): string | undefined {
  return getDomain(host.toLowerCase(), { allowPrivateDomains: true }) ?? undefined;
}

/**
 * The settings, checked: the organisation's own domains (any host name: its registrable domain is used) and
 * overrides of the defaults. Throws a RangeError naming what is wrong.
 */
export function groupingSettings(options: {
  ownDomains: readonly string[];
  commonDomains?: readonly string[];
  windowMs?: number;
  similarityThreshold?: number;
  similarityMinWords?: number;
}): GroupingSettings {
  const windowMs = options.windowMs ?? GROUPING_WINDOW_MS;
  const similarityThreshold = options.similarityThreshold ?? SIMILARITY_THRESHOLD;
  const similarityMinWords = options.similarityMinWords ?? SIMILARITY_MIN_WORDS;
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`The grouping window must be positive, not ${windowMs}.`);
  if (!(similarityThreshold > 0 && similarityThreshold <= 1))
    throw new RangeError(`The similarity threshold must be above 0 and at most 1, not ${similarityThreshold}.`);
  if (!Number.isInteger(similarityMinWords) || similarityMinWords < SHINGLE_WORDS)
    throw new RangeError(`The minimum words must be a whole number of at least ${SHINGLE_WORDS}, not ${similarityMinWords}.`);
  const domainOf = (d: string) => {
    const domain = registrableDomain(d.trim());
    if (!domain) throw new RangeError(`${d} is not a domain name with a known ending (like contoso.com).`);
    return domain;
  };
  const own = options.ownDomains.map(domainOf);
  const common = (options.commonDomains ?? COMMON_DOMAINS).map(domainOf);
  return {
    windowMs,
    similarityThreshold,
    similarityMinWords,
    allowDomains: new Set([...own, ...common]),
    personalMailDomains: new Set(PERSONAL_MAIL_DOMAINS.filter((d) => !own.includes(d))),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Words and their signature

/** A whitespace-separated token that is (or holds) an address: left out of the words, compared as an indicator. */
const INDICATOR_TOKEN = /:\/\/|@|\[(?:\.|dot|@|at)\]|\((?:\.|dot)\)|\p{L}\.\p{L}|^hxxp|^www\./iu;

/**
 * The words of a text as grouping compares them: lower case, accents removed, letters only (numbers, which
 * templates vary, and addresses, which are compared as indicators, are left out), at most SIGNATURE_WORDS_MAX.
 */
export function reportWords(text: string): string[] {
  const words: string[] = [];
  const folded = text
    .slice(0, SIGNATURE_TEXT_MAX)
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase();
  for (const token of folded.split(/\s+/)) {
    if (!token || INDICATOR_TOKEN.test(token)) continue;
    for (const word of token.match(/\p{L}+/gu) ?? []) {
      words.push(word);
      if (words.length === SIGNATURE_WORDS_MAX) return words;
    }
  }
  return words;
}

/** FNV-1a, 32 bits, over UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: a bijection on 32 bits that mixes every bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One seed per hash function, fixed: signatures stored today compare with those computed later. */
const SEEDS = Array.from({ length: SIGNATURE_HASHES }, (_, i) => fmix32(Math.imul(i + 1, 0x9e3779b9)));
const SIGNATURE_VERSION = "m1:";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Each 16-bit minimum is written as 3 characters of ALPHABET (4 + 6 + 6 bits), compared as written. */
const CHARS = 3;
const SIGNATURE_LENGTH = SIGNATURE_VERSION.length + SIGNATURE_HASHES * CHARS;

/**
 * The words signature of a text, stored on the incident a report creates: MinHash over SHINGLE_WORDS-word
 * shingles, SIGNATURE_HASHES minima of 16 bits each (b-bit MinHash), as "m1:" and 3 characters per minimum
 * (387 characters in all). Undefined when the text has fewer than `minWords` words: too short to compare.
 */
export function wordsSignature(words: readonly string[], minWords = SIMILARITY_MIN_WORDS): string | undefined {
  if (words.length < Math.max(minWords, SHINGLE_WORDS)) return undefined;
  const minima = new Uint32Array(SIGNATURE_HASHES).fill(0xffffffff);
  const seen = new Set<string>();
  for (let i = 0; i + SHINGLE_WORDS <= words.length; i++) {
    const shingle = words.slice(i, i + SHINGLE_WORDS).join(" ");
    if (seen.has(shingle)) continue;
    seen.add(shingle);
    const h = fnv1a(shingle);
    for (let j = 0; j < SIGNATURE_HASHES; j++) {
      const v = fmix32(h ^ SEEDS[j]!);
      if (v < minima[j]!) minima[j] = v;
    }
  }
  let out = SIGNATURE_VERSION;
  for (const m of minima) out += ALPHABET[(m >>> 12) & 15]! + ALPHABET[(m >>> 6) & 63]! + ALPHABET[m & 63]!;
  return out;
}

/** A signature of this version: compared character by character, so any other character just never matches. */
function valid(signature: string | undefined): signature is string {
  return signature?.length === SIGNATURE_LENGTH && signature.startsWith(SIGNATURE_VERSION);
}

/** How many minima two valid signatures share. */
function equalMinima(x: string, y: string): number {
  let equal = 0;
  for (let i = SIGNATURE_VERSION.length; i < SIGNATURE_LENGTH; i += CHARS) {
    if (
      x.charCodeAt(i) === y.charCodeAt(i) &&
      x.charCodeAt(i + 1) === y.charCodeAt(i + 1) &&
      x.charCodeAt(i + 2) === y.charCodeAt(i + 2)
    )
      equal++;
  }
  return equal;
}

/**
 * The estimated Jaccard similarity of two signatures' shingle sets (the share of equal minima, 0..1), or
 * undefined when either is missing or not a signature of this version.
 */
export function similarity(a: string | undefined, b: string | undefined): number | undefined {
  return valid(a) && valid(b) ? equalMinima(a, b) / SIGNATURE_HASHES : undefined;
}

/**
 * Locality-sensitive keys of a signature (WORD_BANDS bands of BAND_ROWS minima): two texts share at least one
 * with probability 1 - (1 - s^BAND_ROWS)^WORD_BANDS at similarity s (0.94 at 0.4, 0.99 at 0.5, 0.30 at 0.15).
 * What a store indexes on an incident so that word candidates are found by point queries, never a scan.
 */
export function wordKeys(signature: string | undefined): string[] {
  if (!valid(signature)) return [];
  const keys: string[] = [];
  for (let band = 0; band < WORD_BANDS; band++) {
    const start = SIGNATURE_VERSION.length + band * BAND_ROWS * CHARS;
    keys.push(`w1:${band}:${signature.slice(start, start + BAND_ROWS * CHARS)}`);
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------------------
// Indicators

/** Kinds of reason, strongest first. */
export const REASON_KINDS = ["file", "url", "sender", "phone", "domain", "words"] as const;
export type ReasonKind = (typeof REASON_KINDS)[number];

export interface Indicator {
  kind: Exclude<ReasonKind, "words">;
  /** The normalised value (what the stores index as Entity.value). */
  value: string;
}

const LABELS: Record<Indicator["kind"], string> = {
  file: "file hash",
  url: "URL",
  sender: "sender",
  phone: "phone number",
  domain: "domain",
};

/** An indicator as people read it: "same URL hxxps://evil[.]example/login". */
function describe(indicator: Indicator): string {
  const type = indicator.kind === "sender" ? "email" : indicator.kind === "file" ? "file" : indicator.kind;
  return `same ${LABELS[indicator.kind]} ${defang({ type, value: indicator.value })}`;
}

/** The host of a normalised URL (entities.ts keeps the WHATWG href: scheme, lower-case host), brackets removed. */
const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i;
function hostOf(url: string): string | undefined {
  return URL_HOST.exec(url)?.[1]?.replace(/^\[|\]$/g, "") || undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byStrength(a: Indicator, b: Indicator): number {
  return REASON_KINDS.indexOf(a.kind) - REASON_KINDS.indexOf(b.kind) || compare(a.value, b.value);
}

/**
 * The strong indicators among entities, each once, strongest kind first then by value: file hashes; URLs
 * (web schemes) whose registrable domain is not allowed; senders (email addresses not at an own or common
 * service domain, but at personal mail domains still); phone numbers; and the registrable domains of those
 * URLs, domains and addresses when not allowed. Users, mailboxes, IPs, devices, groups and apps are not
 * indicators of a campaign (they are the people and machines it reached, or shared infrastructure).
 */
export function strongIndicators(
  entities: readonly Entity[],
  settings: GroupingSettings,
  domainOf: (host: string) => string | undefined = registrableDomain,
): Indicator[] {
  const found = new Map<string, Indicator>();
  for (const i of candidateIndicators(entities, settings, domainOf)) found.set(`${i.kind}:${i.value}`, i);
  return [...found.values()].sort(byStrength);
}

/** The strong indicators among entities, unsorted, repeats possible (the work of strongIndicators). */
function candidateIndicators(
  entities: readonly Entity[],
  settings: GroupingSettings,
  domainOf: (host: string) => string | undefined,
): Indicator[] {
  const found: Indicator[] = [];
  const add = (kind: Indicator["kind"], value: string) => found.push({ kind, value });
  const addDomain = (domain: string | undefined) => {
    if (domain && !settings.allowDomains.has(domain)) add("domain", domain);
  };
  for (const e of entities) {
    switch (e.type) {
      case "file":
        add("file", e.value);
        break;
      case "phone":
        add("phone", e.value);
        break;
      case "url": {
        if (e.flags?.includes("script")) break;
        const host = hostOf(e.value);
        if (!host) break;
        const domain = domainOf(host);
        // An IP address as host has no registrable domain: the URL is still an indicator.
        if (!(domain && settings.allowDomains.has(domain))) add("url", e.value);
        addDomain(domain);
        break;
      }
      case "domain":
        addDomain(domainOf(e.value));
        break;
      case "email": {
        const domain = domainOf(e.value.slice(e.value.lastIndexOf("@") + 1));
        if (!domain) break;
        if (!settings.allowDomains.has(domain) || settings.personalMailDomains.has(domain)) add("sender", e.value);
        addDomain(domain);
        break;
      }
      default:
        break;
    }
  }
  return found;
}

/**
 * The normalised entity values a store looks up for a report's candidates (`findByEntity`, one indexed query
 * per value): its strong indicators, strongest first, distinct, at most LOOKUP_VALUES_MAX. A domain is looked
 * up by its registrable domain: an incident finds it if it holds that domain as an entity.
 */
export function lookupValues(entities: readonly Entity[], settings: GroupingSettings): string[] {
  return [...new Set(strongIndicators(entities, settings).map((i) => i.value))].slice(0, LOOKUP_VALUES_MAX);
}

// ---------------------------------------------------------------------------------------------------------
// The decision

export interface GroupingReport {
  entities: readonly Entity[];
  /** `wordsSignature(reportWords(text))`: undefined for a text too short to compare. */
  signature: string | undefined;
  /** When it was received (ISO). */
  receivedTimeUtc: string;
  /** Need-to-know (the reporter asked): never grouped, it is its own incident. */
  restricted?: boolean;
}

/**
 * A report as the rule takes it, from its text (what the reporter wrote and the reported message's text) and its
 * entities: the signature is computed with the settings' minimum words. Its `signature` is what the incident it
 * creates keeps (and `wordKeys(signature)` what the store indexes for word candidates).
 */
export function groupingReport(
  input: { text: string; entities: readonly Entity[]; receivedTimeUtc: string; restricted?: boolean },
  settings: GroupingSettings,
): GroupingReport {
  return {
    entities: input.entities,
    signature: wordsSignature(reportWords(input.text), settings.similarityMinWords),
    receivedTimeUtc: input.receivedTimeUtc,
    ...(input.restricted && { restricted: true }),
  };
}

export interface GroupingCandidate {
  id: string;
  entryPoint: EntryPoint;
  status: Status;
  createdTimeUtc: string;
  entities: readonly Entity[];
  signature?: string;
  /** Need-to-know: never joined (its reporters and the restricted-cases team alone know of it). */
  restricted?: boolean;
}

export interface GroupingMatch {
  incidentId: string;
  /** What people read: "same URL hxxps://evil[.]example/login", "92% similar words". */
  reason: string;
  kind: ReasonKind;
  /** The shared indicator's normalised value (not for "words"). */
  value?: string;
  /** The estimated similarity of the words, 0..1 ("words" only). */
  similarity?: number;
  /** Other incidents the report also matched, best first: why this one was picked is the order. */
  alsoMatched: { incidentId: string; reason: string }[];
}

interface Scored {
  candidate: GroupingCandidate;
  created: number;
  kind: ReasonKind;
  reason: string;
  value?: string;
  similarity?: number;
}

/** A candidate's reason to join, or undefined: the strongest shared indicator, else similar words. */
function score(
  indicators: ReadonlyMap<string, Indicator>,
  domainOf: (host: string) => string | undefined,
  reportSignature: string | undefined,
  candidate: GroupingCandidate,
  received: number,
  settings: GroupingSettings,
): Scored | undefined {
  if (candidate.entryPoint === "form" || candidate.status === "Closed" || candidate.restricted) return undefined;
  const created = Date.parse(candidate.createdTimeUtc);
  if (!Number.isFinite(created) || Math.abs(received - created) > settings.windowMs) return undefined;
  let shared: Indicator | undefined;
  if (indicators.size > 0 && candidate.entities.length > 0) {
    for (const i of candidateIndicators(candidate.entities, settings, domainOf)) {
      if (indicators.has(`${i.kind}:${i.value}`) && (!shared || byStrength(i, shared) < 0)) shared = i;
    }
  }
  if (shared) return { candidate, created, kind: shared.kind, reason: describe(shared), value: shared.value };
  if (!reportSignature || !valid(candidate.signature)) return undefined;
  const equal = equalMinima(reportSignature, candidate.signature);
  // Compared in whole hashes, so a threshold at a boundary is exact: equal/H >= t.
  if (equal < settings.similarityThreshold * SIGNATURE_HASHES) return undefined;
  const s = equal / SIGNATURE_HASHES;
  return { candidate, created, kind: "words", reason: `${Math.round(s * 100)}% similar words`, similarity: s };
}

function better(a: Scored, b: Scored): number {
  return (
    REASON_KINDS.indexOf(a.kind) - REASON_KINDS.indexOf(b.kind) ||
    (b.similarity ?? 0) - (a.similarity ?? 0) ||
    a.created - b.created ||
    compare(a.candidate.id, b.candidate.id) ||
    // One id twice in the list (a store read twice): the same pick whichever copy came first.
    compare(a.reason, b.reason)
  );
}

/**
 * Which incident a report joins, or undefined for a new incident. Joinable: created from reports (never an
 * analyst's "form" incident), not closed, not restricted, created within `windowMs` of the report. A restricted
 * report joins nothing: grouping it, either way, would tell one reporter of another's need-to-know case ("N
 * colleagues also reported") or post a restricted report's words where the triage channel sees them.
 * Among those that share a strong indicator or whose words are at least `similarityThreshold` similar, the pick
 * is the strongest reason (file hash, URL, sender, phone number, domain, then words, more similar first), then
 * the oldest incident, then the smallest id: the same whatever order the candidates come in.
 */
export function chooseIncident(
  report: GroupingReport,
  candidates: readonly GroupingCandidate[],
  settings: GroupingSettings,
): GroupingMatch | undefined {
  const received = Date.parse(report.receivedTimeUtc);
  if (!Number.isFinite(received)) throw new RangeError(`A report's time must be an ISO time, not ${report.receivedTimeUtc}.`);
  if (report.restricted) return undefined;
  // Candidates of one campaign repeat their hosts: each host's registrable domain is looked up once per decision.
  const domains = new Map<string, string | undefined>();
  const domainOf = (host: string) => {
    if (!domains.has(host)) domains.set(host, registrableDomain(host));
    return domains.get(host);
  };
  const indicators = new Map(strongIndicators(report.entities, settings, domainOf).map((i) => [`${i.kind}:${i.value}`, i]));
  const reportSignature = valid(report.signature) ? report.signature : undefined;
  const scored = new Map<string, Scored>();
  for (const candidate of candidates) {
    const s = score(indicators, domainOf, reportSignature, candidate, received, settings);
    const had = s && scored.get(candidate.id);
    if (s && (!had || better(s, had) < 0)) scored.set(candidate.id, s);
  }
  const [best, ...rest] = [...scored.values()].sort(better);
  if (!best) return undefined;
  return {
    incidentId: best.candidate.id,
    reason: best.reason,
    kind: best.kind,
    ...(best.value !== undefined && { value: best.value }),
    ...(best.similarity !== undefined && { similarity: best.similarity }),
    alsoMatched: rest.map((r) => ({ incidentId: r.candidate.id, reason: r.reason })),
  };
}
