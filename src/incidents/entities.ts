import { domainToASCII, domainToUnicode } from "node:url";
import ipaddr from "ipaddr.js";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { parse as parseDomain } from "tldts";

/**
 * Entities: the users, devices, addresses and files an incident is about (impacted assets) or that
 * point to what happened (related evidence), as Microsoft Defender's manual alert takes them
 * (`entityDefinitions`: type, identifier, value, role). Every value is normalised here, one rule per
 * type, so the same indicator typed twice, defanged once, or in another case is one entity.
 */

/** Defender's limit on entity definitions in one alert, and ours per incident. */
export const ENTITIES_MAX = 100;
/** Defender's limit on an identifier value. */
export const ENTITY_VALUE_MAX_LENGTH = 1000;

export const ENTITY_TYPES = [
  "user",
  "group",
  "device",
  "mailbox",
  "ip",
  "url",
  "domain",
  "file",
  "email",
  "phone",
  "app",
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** How each type is identified (Defender's identifier names where Defender has the type). */
export const IDENTIFIERS = {
  user: ["userPrincipalName", "aadUserId"],
  group: ["objectGuid"],
  device: ["deviceName", "deviceId"],
  mailbox: ["mailboxPrimaryAddress"],
  ip: ["address"],
  url: ["url"],
  domain: ["domainName"],
  file: ["sha256", "sha1"],
  email: ["emailAddress"],
  phone: ["phoneNumber"],
  app: ["appId", "name"],
} as const satisfies Record<EntityType, readonly string[]>;
export type EntityIdentifier = (typeof IDENTIFIERS)[EntityType][number];

/** What people read for each type, singular and plural. */
export const TYPE_NAMES: Record<EntityType, [string, string]> = {
  user: ["User", "Users"],
  group: ["Group", "Groups"],
  device: ["Device", "Devices"],
  mailbox: ["Mailbox", "Mailboxes"],
  ip: ["IP address", "IP addresses"],
  url: ["URL", "URLs"],
  domain: ["Domain", "Domains"],
  file: ["File hash", "File hashes"],
  email: ["Email address", "Email addresses"],
  phone: ["Phone number", "Phone numbers"],
  app: ["App", "Apps"],
};

export type EntityRole = "impacted" | "related";
/** typed: an analyst entered it; extracted: found in a report or message; directory: a person or group the directory named. */
export type EntitySource = "typed" | "extracted" | "directory";

/** What a value is, beyond its type, that a reader should know (shown beside it). */
export type EntityFlag =
  /** An IP address in a private, loopback, link-local or other reserved range. */
  | "private"
  | "reserved"
  /** A URL whose scheme runs code or carries its content (javascript:, data:, vbscript:): evidence only. */
  | "script"
  /** An internationalised domain name (shown in Unicode, kept in punycode). */
  | "idn"
  /** A domain mixing scripts (Latin with Cyrillic or Greek...): a lookalike. */
  | "mixed-script";

export interface Entity {
  type: EntityType;
  identifier: EntityIdentifier;
  /** The normalised value: refanged, canonical case, what Defender gets and what the stores index. */
  value: string;
  role: EntityRole;
  source: EntitySource;
  /** The form people wrote, when it differs from `value` (a defanged URL, a number with spaces). */
  typed?: string;
  /** A person's or group's name, as the directory gives it. */
  name?: string;
  flags?: EntityFlag[];
}

export type EntityCheck = { ok: true; entity: Entity } | { ok: false; error: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const HASH_LENGTHS: Record<number, "sha256" | "sha1"> = { 64: "sha256", 40: "sha1" };
/** Schemes kept as evidence. Those that run code are kept, flagged, never rendered as links. */
const WEB_SCHEMES = new Set(["http:", "https:", "ftp:", "ftps:", "sftp:"]);
const SCRIPT_SCHEMES = new Set(["javascript:", "data:", "vbscript:"]);
/** Device names: NetBIOS and DNS host names (letters, digits, hyphens, dots, underscores). */
const DEVICE_NAME = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,254}$/u;
/** Microsoft Defender for Endpoint device ids are 40 hex characters. */
const MDE_DEVICE_ID = /^[0-9a-f]{40}$/i;

/**
 * The usual ways people defang an indicator so it can't be clicked: hxxp, h**p, fxp, [.], (.), {.},
 * [dot], (dot), " dot ", [@], [at], (at), [:], [://]. One pass, leftmost first.
 */
const DEFANGED = new RegExp(
  [
    String.raw`\bh(?:xx|\*\*)p(s?)(?:\[:\/\/\]|\[?:\]?(?:\/\/)?)?`,
    String.raw`\bfxp(s?):\/\/`,
    String.raw`\[:\/\/\]`,
    String.raw`\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\}|\s\[?dot\]?\s`,
    String.raw`\[(?:@|at)\]|\((?:@|at)\)|\{(?:@|at)\}`,
    String.raw`\[:\]`,
  ].join("|"),
  "gi",
);

function refanged(match: string, https: string | undefined, ftps: string | undefined): string {
  if (https !== undefined) return `http${https.toLowerCase()}://`;
  if (ftps !== undefined) return `ftp${ftps.toLowerCase()}://`;
  if (match === "[://]") return "://";
  if (match === "[:]") return ":";
  return /@|at/i.test(match) ? "@" : ".";
}

/** Undoes the usual ways people defang an indicator (see DEFANGED). The reverse of `defang`. */
export function refang(text: string): string {
  return text.replace(DEFANGED, refanged);
}

/**
 * `refang`, keeping where each character came from: `origin(i)` is the index in `text` of the refanged
 * text's character i (or of the end, for i = its length), so a match in the refanged text can be shown
 * as people wrote it: `text.slice(origin(start), origin(end))`. Costs one entry per defanged part.
 */
export function refangMapped(text: string): { text: string; origin: (index: number) => number } {
  /** Each replacement: where it starts and ends in the output, and the span it replaced. */
  const edits: { out: number; outEnd: number; from: number; to: number }[] = [];
  const parts: string[] = [];
  let at = 0;
  let length = 0;
  for (const m of text.matchAll(DEFANGED)) {
    const plain = refanged(m[0], m[1], m[2]);
    parts.push(text.slice(at, m.index), plain);
    const out = length + (m.index - at);
    length = out + plain.length;
    edits.push({ out, outEnd: length, from: m.index, to: m.index + m[0].length });
    at = m.index + m[0].length;
  }
  parts.push(text.slice(at));
  const origin = (index: number): number => {
    // The last edit starting at or before `index`.
    let lo = 0;
    let hi = edits.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (edits[mid]!.out <= index) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return index;
    const edit = edits[found]!;
    return index < edit.outEnd ? edit.from : edit.to + (index - edit.outEnd);
  };
  return { text: parts.join(""), origin };
}

/** An indicator as it may be shown: never clickable (hxxps://evil[.]example/login, a[@]b[.]example, 203.0.113[.]7). */
export function defang(entity: Pick<Entity, "type" | "value">): string {
  const v = entity.value;
  switch (entity.type) {
    case "url": {
      const scheme = v.indexOf(":");
      const head = v.slice(0, scheme).replace(/^http/i, "hxxp").replace(/^ftp/i, "fxp");
      // A link inside the link (?next=https://...) loses its scheme too, so no part of it reads as a link.
      const rest = v
        .slice(scheme + 1)
        .replace(/\b(h)tt(ps?:\/\/)/gi, "$1xx$2")
        .replace(/\b(f)t(ps?:\/\/)/gi, "$1x$2");
      // The host's dots, and the dots of anything that reads as a host later in the URL.
      return `${head}${SCRIPT_SCHEMES.has(`${head.toLowerCase()}:`) ? "[:]" : ":"}${rest.replace(/\./g, "[.]")}`;
    }
    case "domain":
    case "email":
    case "mailbox":
      return v.replace(/\./g, "[.]").replace(/@/g, "[@]");
    case "ip":
      return v.includes(":") ? v.replace(/:/g, "[:]") : v.replace(/\.(?=\d+$)/, "[.]");
    default:
      return v;
  }
}

/** Where an entity came from, as people read it (the cards, Sentinel's table). */
export const SOURCE_WORDS: Record<EntitySource, string> = {
  typed: "entered by an analyst",
  extracted: "found in a report",
  directory: "from the directory",
};

/** What a value's flags say, as people read them: an IP's "reserved range", a domain's "reserved name". */
export function flagWords(entity: Pick<Entity, "type" | "flags">): string[] {
  return (entity.flags ?? []).map((flag) => {
    switch (flag) {
      case "private":
        return "private range";
      case "reserved":
        return entity.type === "ip" ? "reserved range" : "reserved name (tests, examples)";
      case "script":
        return "script URL: do not open";
      case "idn":
        return "international domain";
      case "mixed-script":
        return "lookalike letters (mixed scripts)";
    }
  });
}

/** The key two entities share when they are the same thing (type, identifier and normalised value). */
export function entityKey(entity: Pick<Entity, "type" | "identifier" | "value">): string {
  return `${entity.type}:${entity.identifier}:${entity.value}`;
}

/** The value the stores index and the search looks up for a pasted indicator (defanged or not), or undefined. */
export function indicatorValue(typed: string): string | undefined {
  const found = parseTypedEntity(typed, "related", "typed");
  return found.ok ? found.entity.value : undefined;
}

function tooLong(value: string): string | undefined {
  return value.length > ENTITY_VALUE_MAX_LENGTH
    ? `is ${value.length} characters long; Defender takes at most ${ENTITY_VALUE_MAX_LENGTH}`
    : undefined;
}

/** Latin mixed with another script in one label: pаypal (with a Cyrillic а). */
function mixedScript(unicodeHost: string): boolean {
  return unicodeHost.split(".").some((label) => {
    const latin = /\p{Script=Latin}/u.test(label);
    const other = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u.test(label);
    return latin && other;
  });
}

/** A host name's flags: IDN when it has punycode labels, mixed-script when a label mixes Latin with a lookalike script. */
function hostFlags(asciiHost: string): EntityFlag[] {
  if (!/(^|\.)xn--/i.test(asciiHost)) return [];
  const unicode = domainToUnicode(asciiHost);
  return mixedScript(unicode) ? ["idn", "mixed-script"] : ["idn"];
}

function ipFlags(address: ipaddr.IPv4 | ipaddr.IPv6): EntityFlag[] {
  const range = address.range();
  if (range === "unicast") return [];
  if (
    range === "private" ||
    range === "uniqueLocal" ||
    range === "loopback" ||
    range === "linkLocal" ||
    range === "carrierGradeNat"
  )
    return ["private"];
  return ["reserved"];
}

function withFlags(entity: Entity, flags: EntityFlag[]): Entity {
  return flags.length ? { ...entity, flags } : entity;
}

function checkIp(raw: string): { value: string; flags: EntityFlag[] } | string {
  const text = raw.replace(/^\[|\]$/g, "");
  // Only the dotted-quad form for IPv4 (ipaddr.js also takes 0x7f.1 and 2130706433, which people don't mean).
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const ip = ipaddr.IPv4.parse(text);
    return { value: ip.toString(), flags: ipFlags(ip) };
  }
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) {
    const ip = ipaddr.IPv6.parse(text);
    // An IPv4-mapped address is the IPv4 address.
    if (ip.isIPv4MappedAddress()) {
      const v4 = ip.toIPv4Address();
      return { value: v4.toString(), flags: ipFlags(v4) };
    }
    return { value: ip.toRFC5952String(), flags: ipFlags(ip) };
  }
  return `${raw} is not an IP address (IPv4 like 203.0.113.7, or IPv6 like 2001:db8::7)`;
}

/** Top-level names reserved for testing, documentation and local use (RFC 2606, RFC 6761, RFC 6762). */
const SPECIAL_USE_TLDS = new Set(["example", "test", "invalid", "localhost", "local"]);

function checkDomain(raw: string): { value: string; flags: EntityFlag[] } | string {
  const host = raw.replace(/\.$/, "");
  const ascii = domainToASCII(host.toLowerCase());
  if (!ascii) return `${raw} is not a domain name`;
  const parsed = parseDomain(ascii);
  // The special-use names (RFC 2606, 6761: example, test, invalid, localhost...) are kept, marked reserved:
  // they appear in test messages and training lures, and a real one on a device means a local set-up.
  const special = parsed.publicSuffix !== null && SPECIAL_USE_TLDS.has(parsed.publicSuffix);
  if (!parsed.domain || parsed.isIp || !(parsed.isIcann || parsed.isPrivate || special)) {
    return `${raw} is not a domain name with a known ending (like contoso.com)`;
  }
  return { value: ascii, flags: special ? ["reserved", ...hostFlags(ascii)] : hostFlags(ascii) };
}

function checkEmail(raw: string): { value: string; flags: EntityFlag[] } | string {
  const at = raw.lastIndexOf("@");
  const local = raw.slice(0, at);
  if (at <= 0 || !/^[^\s@"<>()[\],;:]+$/.test(local) || local.length > 64) return `${raw} is not an email address`;
  const domain = checkDomain(raw.slice(at + 1));
  if (typeof domain === "string") return `${raw} is not an email address (${domain})`;
  // Mail systems compare addresses without case in practice (Exchange, Entra): one entity, lower case.
  return { value: `${local.toLowerCase()}@${domain.value}`, flags: domain.flags };
}

function checkUrl(raw: string): { value: string; flags: EntityFlag[] } | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${raw} is not a web address (start it with https://)`;
  }
  if (SCRIPT_SCHEMES.has(url.protocol)) return { value: raw.trim(), flags: ["script"] };
  if (!WEB_SCHEMES.has(url.protocol)) {
    return `${raw} has a scheme (${url.protocol}) this form does not take: use http, https or ftp addresses`;
  }
  if (!url.hostname) return `${raw} has no host name`;
  // WHATWG URL: the host is punycode and lower case, the path kept as sent (paths are case-sensitive).
  const flags = url.hostname.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) ? [] : hostFlags(url.hostname);
  return { value: url.href, flags };
}

function checkPhone(raw: string): { value: string; flags: EntityFlag[] } | string {
  const text = raw.replace(/^00/, "+");
  if (!text.startsWith("+")) return `${raw}: write a phone number in international form, starting with + and the country code`;
  const phone = parsePhoneNumberFromString(text);
  if (!phone || !phone.isPossible()) return `${raw} is not a phone number`;
  return { value: phone.number, flags: [] };
}

function checkFile(raw: string): { value: string; identifier: "sha256" | "sha1" } | string {
  const text = raw.toLowerCase();
  if (!HEX.test(text)) return `${raw} is not a file hash (a SHA-256 has 64 hexadecimal characters, a SHA-1 40)`;
  const identifier = HASH_LENGTHS[text.length];
  if (!identifier) {
    return `${raw.slice(0, 12)}… has ${text.length} hexadecimal characters: a SHA-256 has 64, a SHA-1 40`;
  }
  return { value: text, identifier };
}

/**
 * Checks and normalises one value of a known type. `identifier` may be left out where the value says
 * which it is (a hash's length, a GUID). Errors are sentences a person can act on.
 */
export function checkEntity(
  type: EntityType,
  raw: string,
  role: EntityRole,
  source: EntitySource,
  identifier?: EntityIdentifier,
): EntityCheck {
  const trimmed = raw.trim();
  if (!trimmed) return { ok: false, error: "Enter a value." };
  const long = tooLong(trimmed);
  if (long) return { ok: false, error: `That ${TYPE_NAMES[type][0].toLowerCase()} ${long}.` };
  if (CONTROL.test(trimmed)) return { ok: false, error: "A value can't contain control characters or line breaks." };
  const base = { type, role, source } as const;
  const typed = (value: string) => (value !== trimmed ? { typed: trimmed } : {});
  const fail = (error: string): EntityCheck => ({ ok: false, error: `${error}.` });
  switch (type) {
    case "ip": {
      const r = checkIp(refang(trimmed));
      return typeof r === "string"
        ? fail(r)
        : { ok: true, entity: withFlags({ ...base, identifier: "address", value: r.value, ...typed(r.value) }, r.flags) };
    }
    case "domain": {
      const r = checkDomain(refang(trimmed));
      return typeof r === "string"
        ? fail(r)
        : { ok: true, entity: withFlags({ ...base, identifier: "domainName", value: r.value, ...typed(r.value) }, r.flags) };
    }
    case "url": {
      const r = checkUrl(refang(trimmed));
      return typeof r === "string"
        ? fail(r)
        : { ok: true, entity: withFlags({ ...base, identifier: "url", value: r.value, ...typed(r.value) }, r.flags) };
    }
    case "email":
    case "mailbox": {
      const r = checkEmail(refang(trimmed));
      const id = type === "email" ? "emailAddress" : "mailboxPrimaryAddress";
      return typeof r === "string"
        ? fail(r)
        : { ok: true, entity: withFlags({ ...base, identifier: id, value: r.value, ...typed(r.value) }, r.flags) };
    }
    case "phone": {
      const r = checkPhone(trimmed);
      return typeof r === "string"
        ? fail(r)
        : { ok: true, entity: { ...base, identifier: "phoneNumber", value: r.value, ...typed(r.value) } };
    }
    case "file": {
      const r = checkFile(trimmed);
      if (typeof r === "string") return fail(r);
      if (identifier && identifier !== r.identifier)
        return fail(`${trimmed.slice(0, 12)}… is a ${r.identifier.toUpperCase()} hash, not ${identifier.toUpperCase()}`);
      return { ok: true, entity: { ...base, identifier: r.identifier, value: r.value, ...typed(r.value) } };
    }
    case "user": {
      if (GUID.test(trimmed) && identifier !== "userPrincipalName")
        return { ok: true, entity: { ...base, identifier: "aadUserId", value: trimmed.toLowerCase() } };
      const r = checkEmail(trimmed);
      return typeof r === "string"
        ? fail(`${trimmed} is not a user (a user principal name like alex@contoso.com, or a directory object id)`)
        : { ok: true, entity: { ...base, identifier: "userPrincipalName", value: r.value, ...typed(r.value) } };
    }
    case "group":
      return GUID.test(trimmed)
        ? { ok: true, entity: { ...base, identifier: "objectGuid", value: trimmed.toLowerCase() } }
        : fail(`${trimmed} is not a group's directory object id`);
    case "device": {
      if (identifier !== "deviceName" && (MDE_DEVICE_ID.test(trimmed) || GUID.test(trimmed))) {
        return { ok: true, entity: { ...base, identifier: "deviceId", value: trimmed.toLowerCase() } };
      }
      // Device names compare without case (NetBIOS, DNS).
      return DEVICE_NAME.test(trimmed)
        ? {
            ok: true,
            entity: { ...base, identifier: "deviceName", value: trimmed.toLowerCase(), ...typed(trimmed.toLowerCase()) },
          }
        : fail(`${trimmed} is not a device name (letters, digits, hyphens and dots, like LAPTOP-7F3K or web01.contoso.com)`);
    }
    case "app":
      return GUID.test(trimmed) && identifier !== "name"
        ? { ok: true, entity: { ...base, identifier: "appId", value: trimmed.toLowerCase() } }
        : { ok: true, entity: { ...base, identifier: "name", value: trimmed } };
  }
}

/** `ip: 10.0.0.1`, `device: LAPTOP-7`: a value with its type named (the type names people use). */
const PREFIXES: Record<string, EntityType> = {
  user: "user",
  upn: "user",
  group: "group",
  device: "device",
  host: "device",
  computer: "device",
  mailbox: "mailbox",
  ip: "ip",
  url: "url",
  link: "url",
  domain: "domain",
  hash: "file",
  file: "file",
  sha256: "file",
  sha1: "file",
  email: "email",
  sender: "email",
  phone: "phone",
  tel: "phone",
  app: "app",
};

/**
 * One typed value, its type named (`ip: 203.0.113.7`) or told by its shape: an address with a scheme
 * is a URL, digits and dots an IP, 40 or 64 hex characters a hash, x@y an email address, + and digits a
 * phone number, a dotted name with a known ending a domain, anything else a device name. A value that
 * looks like one type but fails its rule gets that type's error (10.0.0.300 is "not an IP address").
 */
export function parseTypedEntity(raw: string, role: EntityRole, source: EntitySource): EntityCheck {
  const text = raw.trim();
  const prefixed = /^([a-z0-9]+)\s*:\s*(?!\/\/)(.+)$/i.exec(text);
  const named = prefixed && PREFIXES[prefixed[1]!.toLowerCase()];
  if (named) {
    const hint = prefixed[1]!.toLowerCase();
    const identifier = hint === "sha256" || hint === "sha1" ? hint : undefined;
    return checkEntity(named, prefixed[2]!, role, source, identifier);
  }
  const plain = refang(text);
  if (/^[a-z][a-z0-9+.-]*:/i.test(plain) && !/^\+?\d/.test(plain) && !ipaddr.IPv6.isValid(plain.replace(/^\[|\]$/g, ""))) {
    return checkEntity("url", text, role, source);
  }
  if (/^\[?[0-9a-f:]+(\.\d+){0,3}\]?$/i.test(plain) && plain.includes(":")) return checkEntity("ip", text, role, source);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(plain) || /^\d+(\.\d+){3,}$/.test(plain)) return checkEntity("ip", text, role, source);
  if (HEX.test(plain) && plain.length >= 32 && /\d/.test(plain) && /[a-f]/i.test(plain))
    return checkEntity("file", text, role, source);
  if (/^[^\s@]+@[^\s@]+$/.test(plain)) return checkEntity("email", text, role, source);
  if (/^(\+|00)[\d\s().-]{6,}$/.test(plain)) return checkEntity("phone", text, role, source);
  if (/^[^\s/]+\.[^\s/.]+$/.test(plain) && !/^[\d.]+$/.test(plain)) {
    const domain = checkEntity("domain", text, role, source);
    if (domain.ok) return domain;
  }
  if (/[/\s]/.test(plain)) {
    return {
      ok: false,
      error:
        `${text.slice(0, 60)} is not an indicator this form knows. ` +
        'Name its type, like "url: https://…" or "device: LAPTOP-7".',
    };
  }
  return checkEntity("device", text, role, source);
}

const SOURCE_RANK: Record<EntitySource, number> = { typed: 0, directory: 1, extracted: 2 };

/**
 * Which entity is kept first when there are more than ENTITIES_MAX: impacted assets, then typed,
 * directory, extracted; then as they came.
 */
function rank(entity: Entity): number {
  return (entity.role === "impacted" ? 0 : 10) + SOURCE_RANK[entity.source];
}

/** Two records of one entity as one: impacted wins over related, a person's word over extraction, first spelling kept. */
function combine(a: Entity, b: Entity): Entity {
  const flags = [...new Set([...(a.flags ?? []), ...(b.flags ?? [])])];
  return {
    ...a,
    role: a.role === "impacted" || b.role === "impacted" ? "impacted" : "related",
    source: SOURCE_RANK[b.source] < SOURCE_RANK[a.source] ? b.source : a.source,
    ...((a.name ?? b.name) && { name: a.name ?? b.name }),
    ...((a.typed ?? b.typed) && { typed: a.typed ?? b.typed }),
    ...(flags.length && { flags }),
  };
}

export interface MergedEntities {
  entities: Entity[];
  /** Entities left out because the incident holds ENTITIES_MAX (counted, said so on the cards). */
  notKept: number;
}

/**
 * Adds `incoming` to `existing`: duplicates (same key) merged, then at most ENTITIES_MAX kept, by rank.
 * What is already kept stays kept unless an impacted asset or a person's entry needs its place.
 */
export function mergeEntities(existing: readonly Entity[], incoming: readonly Entity[], notKeptBefore = 0): MergedEntities {
  const byKey = new Map<string, Entity>();
  for (const e of [...existing, ...incoming]) {
    const key = entityKey(e);
    const had = byKey.get(key);
    byKey.set(key, had ? combine(had, e) : e);
  }
  const all = [...byKey.values()];
  const order = new Map(all.map((e, i) => [e, i]));
  const sorted = [...all].sort((a, b) => rank(a) - rank(b) || order.get(a)! - order.get(b)!);
  const kept = new Set(sorted.slice(0, ENTITIES_MAX));
  return { entities: all.filter((e) => kept.has(e)), notKept: notKeptBefore + Math.max(0, all.length - ENTITIES_MAX) };
}

/** The entities grouped by type, in ENTITY_TYPES order, impacted first within a type. */
export function entitiesByType(entities: readonly Entity[]): { type: EntityType; entities: Entity[] }[] {
  return ENTITY_TYPES.map((type) => ({
    type,
    entities: entities.filter((e) => e.type === type).sort((a, b) => (a.role === b.role ? 0 : a.role === "impacted" ? -1 : 1)),
  })).filter((g) => g.entities.length > 0);
}
