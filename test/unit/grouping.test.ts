import fc from "fast-check";
import type { Entity } from "../../src/incidents/entities";
import {
  BAND_ROWS,
  chooseIncident,
  COMMON_DOMAINS,
  GROUPING_WINDOW_MS,
  groupingReport,
  groupingSettings,
  LOOKUP_VALUES_MAX,
  lookupValues,
  registrableDomain,
  reportWords,
  SIGNATURE_HASHES,
  SIGNATURE_TEXT_MAX,
  SIGNATURE_WORDS_MAX,
  SIMILARITY_MIN_WORDS,
  SIMILARITY_THRESHOLD,
  similarity,
  WORD_BANDS,
  wordKeys,
  wordsSignature,
  type GroupingCandidate,
  type GroupingReport,
  type GroupingSettings,
} from "../../src/incidents/grouping";
import type { EntryPoint, Status } from "../../src/incidents/model";
import { campaignA, campaignB, campaignC, corpus, entity, UNRELATED, type CorpusReport } from "../support/grouping-corpus";

const settings = groupingSettings({ ownDomains: ["contoso.com"] });
const T0 = Date.parse("2026-12-01T09:00:00Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const HOUR = 3_600_000;
const MINUTE = 60_000;

const signatureOf = (text: string) => wordsSignature(reportWords(text));

function report(r: Pick<CorpusReport, "text" | "entities">, ms = 0): GroupingReport {
  return { entities: r.entities, signature: signatureOf(r.text), receivedTimeUtc: at(ms) };
}

function incident(
  id: string,
  r: Pick<CorpusReport, "text" | "entities">,
  more: Partial<Omit<GroupingCandidate, "id">> = {},
): GroupingCandidate {
  const signature = signatureOf(r.text);
  return {
    id,
    entryPoint: "chat-report",
    status: "New",
    createdTimeUtc: at(0),
    entities: r.entities,
    ...(signature && { signature }),
    ...more,
  };
}

/** Words only: the same report with its indicators taken away. */
const wordsOnly = (r: CorpusReport): CorpusReport => ({ ...r, entities: [] });

/**
 * Every report in order, as the report path will run it: the candidates are the incidents the store would find
 * (sharing a lookup value or a word key), each report joins the chosen one or creates its own. Returns the
 * campaigns of the reports in each incident.
 */
function replay(reports: CorpusReport[], s: GroupingSettings = settings) {
  const incidents: { candidate: GroupingCandidate; members: string[]; values: Set<string>; keys: Set<string> }[] = [];
  const reasons: string[] = [];
  reports.forEach((r, i) => {
    const g = report(r, i * MINUTE);
    const values = lookupValues(r.entities, s);
    const keys = wordKeys(g.signature);
    const found = incidents.filter((inc) => values.some((v) => inc.values.has(v)) || keys.some((k) => inc.keys.has(k)));
    const match = chooseIncident(
      g,
      found.map((f) => f.candidate),
      s,
    );
    if (match) {
      incidents.find((inc) => inc.candidate.id === match.incidentId)!.members.push(r.campaign);
      reasons.push(match.reason);
      return;
    }
    // The store indexes an incident's entity values (what findByEntity looks up) and, once wired, its word keys.
    const values2 = new Set(r.entities.map((e) => e.value));
    incidents.push({
      candidate: incident(`inc-${String(i).padStart(3, "0")}`, r, { createdTimeUtc: at(i * MINUTE) }),
      members: [r.campaign],
      values: values2,
      keys: new Set(keys),
    });
  });
  return { groups: incidents.map((inc) => inc.members), reasons };
}

describe("the corpus as a stream of reports", () => {
  it("gives one incident per campaign and one per unrelated report, with no wrong join", () => {
    const { groups } = replay(corpus());
    const campaigns = groups.map((members) => [...new Set(members)]);
    expect(campaigns.every((c) => c.length === 1)).toBe(true); // no incident mixes two campaigns
    expect(groups.filter((g) => g[0] === "A")).toEqual([Array(24).fill("A")]);
    expect(groups.filter((g) => g[0] === "B")).toEqual([Array(24).fill("B")]);
    expect(groups.filter((g) => g[0] === "C")).toEqual([Array(12).fill("C")]);
    expect(groups.filter((g) => g[0]!.startsWith("u"))).toEqual(UNRELATED.map((u) => [u.campaign]));
  });

  it("interleaved (campaigns and unrelated reports mixed) gives the same incidents", () => {
    const all = corpus();
    const mixed = all.map((r, i) => ({ r, k: (i * 37) % all.length })).sort((a, b) => a.k - b.k);
    const { groups } = replay(mixed.map((m) => m.r));
    expect(groups.map((g) => `${g[0]}x${g.length}`).sort()).toEqual(
      ["Ax24", "Bx24", "Cx12", ...UNRELATED.map((u) => `${u.campaign}x1`)].sort(),
    );
  });

  it("campaign A (templated greetings, names, deadlines; the same URL) joins by its URL, named defanged", () => {
    const [first, ...rest] = campaignA(8);
    for (const r of rest) {
      expect(chooseIncident(report(r, HOUR), [incident("a", first!)], settings)).toMatchObject({
        incidentId: "a",
        kind: "url",
        reason: "same URL hxxps://m365-verify[.]top/login",
        value: "https://m365-verify.top/login",
      });
    }
  });

  it("campaign A without its URL still joins by its words", () => {
    const [first, ...rest] = campaignA(24).map(wordsOnly);
    for (const r of rest) {
      const match = chooseIncident(report(r, HOUR), [incident("a", first!)], settings);
      expect(match).toMatchObject({ incidentId: "a", kind: "words" });
      expect(match!.similarity).toBeGreaterThanOrEqual(SIMILARITY_THRESHOLD);
      expect(match!.reason).toBe(`${Math.round(match!.similarity! * 100)}% similar words`);
    }
  });

  it("campaign B (a different URL and domain per copy, near-identical words) joins by its words", () => {
    const [first, ...rest] = campaignB(24);
    for (const r of rest) {
      const match = chooseIncident(report(r, HOUR), [incident("b", first!)], settings);
      expect(match).toMatchObject({ incidentId: "b", kind: "words" });
      expect(match!.reason).toMatch(/^\d+% similar words$/);
    }
    // Its words are not enough to share an indicator.
    expect(lookupValues(rest[0]!.entities, settings).some((v) => lookupValues(first!.entities, settings).includes(v))).toBe(
      false,
    );
  });

  it("campaign C (short Teams vishing messages) joins by its call-back number, or its sender", () => {
    const [first, second] = campaignC(2);
    expect(chooseIncident(report(second!), [incident("c", first!)], settings)).toMatchObject({
      kind: "sender",
      reason: "same sender helpdesk[@]it-support-7f[.]onmicrosoft[.]com",
    });
    const phoneOnly = { ...second!, entities: second!.entities.filter((e) => e.type === "phone") };
    expect(chooseIncident(report(phoneOnly), [incident("c", first!)], settings)).toMatchObject({
      kind: "phone",
      reason: "same phone number +442079460958",
    });
  });
});

describe("common and own domains", () => {
  const u = (n: number) => UNRELATED[n]!;

  it("two outlook.com senders are not joined by their domain; the same outlook.com sender is", () => {
    expect(chooseIncident(report(u(4)), [incident("x", u(5))], settings)).toBeUndefined();
    const again = { text: "Another gift card request", entities: [entity("email", "jane.doe1984@outlook.com")] };
    expect(chooseIncident(report(again), [incident("x", u(4))], settings)).toMatchObject({
      reason: "same sender jane[.]doe1984[@]outlook[.]com",
    });
  });

  it("two reports about the organisation's own domain are not joined, and are when it is not set as own", () => {
    expect(chooseIncident(report(u(6)), [incident("x", u(7))], settings)).toBeUndefined();
    const notOwn = groupingSettings({ ownDomains: [] });
    expect(chooseIncident(report(u(6)), [incident("x", u(7))], notOwn)).toMatchObject({ reason: "same domain contoso[.]com" });
  });

  it("an own-domain sender is not an external sender, and the own domain never a lookup value", () => {
    expect(lookupValues(u(7).entities, settings)).toEqual([]);
    expect(lookupValues(u(7).entities, groupingSettings({ ownDomains: [] }))).toEqual([
      "https://benefits.contoso.com/enrol",
      "hr@contoso.com",
      "contoso.com",
    ]);
  });

  it("two Teams meeting links on microsoft.com are not joined, and would be without the common list", () => {
    expect(chooseIncident(report(u(8)), [incident("x", u(9))], settings)).toBeUndefined();
    const noCommon = groupingSettings({ ownDomains: ["contoso.com"], commonDomains: [] });
    expect(chooseIncident(report(u(8)), [incident("x", u(9))], noCommon)).toMatchObject({
      reason: "same domain microsoft[.]com",
    });
  });

  it("a Microsoft sign-in notice and a OneDrive share (live.com, microsoft.com) are not joined", () => {
    expect(chooseIncident(report(u(1)), [incident("x", u(5))], settings)).toBeUndefined();
  });

  it("a customer's own host on shared hosting (Public Suffix List) is its own domain", () => {
    expect(registrableDomain("evil.azurewebsites.net")).toBe("evil.azurewebsites.net");
    expect(registrableDomain("login.evil.co.uk")).toBe("evil.co.uk");
    const a = { text: "", entities: [entity("url", "https://evil.azurewebsites.net/a")] };
    const b = { text: "", entities: [entity("url", "https://evil.azurewebsites.net/b")] };
    const c = { text: "", entities: [entity("url", "https://other.azurewebsites.net/a")] };
    expect(chooseIncident(report(a), [incident("b", b)], settings)?.reason).toBe("same domain evil[.]azurewebsites[.]net");
    expect(chooseIncident(report(a), [incident("c", c)], settings)).toBeUndefined();
  });

  it("the default common list is registrable domains, and the settings check what they are given", () => {
    expect(COMMON_DOMAINS.every((d) => registrableDomain(d) === d)).toBe(true);
    expect(groupingSettings({ ownDomains: ["mail.Contoso.com"] }).allowDomains.has("contoso.com")).toBe(true);
    expect(() => groupingSettings({ ownDomains: ["not a domain"] })).toThrow(/not a domain name/);
    expect(() => groupingSettings({ ownDomains: [], windowMs: 0 })).toThrow(/window must be positive/);
    expect(() => groupingSettings({ ownDomains: [], similarityThreshold: 0 })).toThrow(/threshold/);
    expect(() => groupingSettings({ ownDomains: [], similarityThreshold: 1.01 })).toThrow(/threshold/);
    expect(() => groupingSettings({ ownDomains: [], similarityMinWords: 2 })).toThrow(/minimum words/);
    expect(groupingSettings({ ownDomains: [], similarityThreshold: 1 }).similarityThreshold).toBe(1);
  });
});

describe("which incidents may be joined", () => {
  const [first, second] = campaignA(2);

  it("the window: 71h59 joins, exactly 72h joins, 72h01 does not (either side of the incident's creation)", () => {
    expect(GROUPING_WINDOW_MS).toBe(72 * HOUR);
    const inc = incident("a", first!);
    expect(chooseIncident(report(second!, 72 * HOUR - MINUTE), [inc], settings)?.incidentId).toBe("a");
    expect(chooseIncident(report(second!, 72 * HOUR), [inc], settings)?.incidentId).toBe("a");
    expect(chooseIncident(report(second!, 72 * HOUR + MINUTE), [inc], settings)).toBeUndefined();
    expect(chooseIncident(report(second!, -(72 * HOUR + MINUTE)), [inc], settings)).toBeUndefined();
    // Words obey the window too.
    const words = incident("w", wordsOnly(first!));
    expect(chooseIncident(report(wordsOnly(second!), 72 * HOUR - MINUTE), [words], settings)?.kind).toBe("words");
    expect(chooseIncident(report(wordsOnly(second!), 72 * HOUR + MINUTE), [words], settings)).toBeUndefined();
  });

  it("the window is a setting", () => {
    const short = groupingSettings({ ownDomains: ["contoso.com"], windowMs: HOUR });
    expect(chooseIncident(report(second!, HOUR), [incident("a", first!)], short)?.incidentId).toBe("a");
    expect(chooseIncident(report(second!, HOUR + 1), [incident("a", first!)], short)).toBeUndefined();
  });

  it("closed incidents are not joined; New and Active are", () => {
    for (const status of ["New", "Active"] as const)
      expect(chooseIncident(report(second!), [incident("a", first!, { status })], settings)?.incidentId).toBe("a");
    expect(chooseIncident(report(second!), [incident("a", first!, { status: "Closed" })], settings)).toBeUndefined();
  });

  it("an analyst's incident (the form) is never joined, even by the same URL and words; reports' incidents are", () => {
    expect(chooseIncident(report(second!), [incident("f", first!, { entryPoint: "form" })], settings)).toBeUndefined();
    for (const entryPoint of ["chat-report", "message-extension"] as const)
      expect(chooseIncident(report(second!), [incident("r", first!, { entryPoint })], settings)?.incidentId).toBe("r");
    // The analyst's incident is passed over for the next one that may be joined.
    const match = chooseIncident(
      report(second!),
      [incident("f", first!, { entryPoint: "form", createdTimeUtc: at(-HOUR) }), incident("r", first!)],
      settings,
    );
    expect(match).toMatchObject({ incidentId: "r", alsoMatched: [] });
  });

  it("restricted (need-to-know) incidents are never joined, and a restricted report joins nothing", () => {
    expect(chooseIncident(report(second!), [incident("r", first!, { restricted: true })], settings)).toBeUndefined();
    expect(chooseIncident({ ...report(second!), restricted: true }, [incident("a", first!)], settings)).toBeUndefined();
    expect(
      chooseIncident({ ...report(second!), restricted: false }, [incident("a", first!, { restricted: false })], settings),
    ).toMatchObject({ incidentId: "a" });
  });

  it("a candidate with a creation time that is not a time is passed over; a report's must be a time", () => {
    expect(chooseIncident(report(second!), [incident("a", first!, { createdTimeUtc: "soon" })], settings)).toBeUndefined();
    expect(() => chooseIncident({ ...report(second!), receivedTimeUtc: "now" }, [], settings)).toThrow(/ISO time/);
  });
});

describe("two matching incidents: the deterministic pick and its reason", () => {
  const url = entity("url", "https://m365-verify.top/login");
  const otherUrl = entity("url", "https://m365-verify.top/other");
  const hash = entity("file", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  const phone = entity("phone", "+44 20 7946 0958");
  const sender = entity("email", "boss@ceo-office.top");
  const r = { text: "", entities: [url, hash, phone, sender] };

  it("the strongest reason first, even over an older incident: hash, URL, sender, phone, domain, words", () => {
    const withOnly = (id: string, e: Entity, created: number) =>
      incident(id, { text: "", entities: [e] }, { createdTimeUtc: at(created) });
    const candidates = [
      withOnly("domain", otherUrl, -50 * HOUR),
      withOnly("phone", phone, -40 * HOUR),
      withOnly("sender", sender, -30 * HOUR),
      withOnly("url", url, -20 * HOUR),
      withOnly("hash", hash, -10 * HOUR),
    ];
    const expected = [
      ["hash", "same file hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
      ["url", "same URL hxxps://m365-verify[.]top/login"],
      ["sender", "same sender boss[@]ceo-office[.]top"],
      ["phone", "same phone number +442079460958"],
      ["domain", "same domain m365-verify[.]top"],
    ];
    for (let n = 0; n < expected.length; n++) {
      const match = chooseIncident(report(r), candidates.slice(0, candidates.length - n), settings);
      expect([match?.incidentId, match?.reason]).toEqual(expected[n]);
      expect(match?.alsoMatched.map((m) => m.incidentId)).toEqual(expected.slice(n + 1).map((e) => e[0]));
    }
  });

  it("an indicator beats words, however similar", () => {
    const [a1, a2] = campaignA(2);
    const sameWords = incident("words", wordsOnly(a1!), { createdTimeUtc: at(-HOUR) });
    const sameDomain = incident("domain", { text: "", entities: [otherUrl] });
    expect(chooseIncident(report(a2!), [sameWords, sameDomain], settings)).toMatchObject({
      incidentId: "domain",
      alsoMatched: [{ incidentId: "words", reason: expect.stringMatching(/% similar words$/) as unknown }],
    });
  });

  it("the same reason: the oldest incident, then the smaller id; the others listed with their reasons", () => {
    const inc = (id: string, created: number) => incident(id, { text: "", entities: [url] }, { createdTimeUtc: at(created) });
    expect(chooseIncident(report(r), [inc("b", -HOUR), inc("a", 0), inc("c", -2 * HOUR)], settings)).toEqual({
      incidentId: "c",
      reason: "same URL hxxps://m365-verify[.]top/login",
      kind: "url",
      value: "https://m365-verify.top/login",
      alsoMatched: [
        { incidentId: "b", reason: "same URL hxxps://m365-verify[.]top/login" },
        { incidentId: "a", reason: "same URL hxxps://m365-verify[.]top/login" },
      ],
    });
    expect(chooseIncident(report(r), [inc("b", 0), inc("a", 0)], settings)?.incidentId).toBe("a");
  });

  it("two incidents joined by words: the more similar one, then the oldest", () => {
    const [a1, a2, a3] = campaignA(3).map(wordsOnly);
    const s12 = similarity(signatureOf(a2!.text), signatureOf(a1!.text))!;
    const s32 = similarity(signatureOf(a2!.text), signatureOf(a3!.text))!;
    expect(s12).not.toBe(s32);
    const older = s12 > s32 ? "i3" : "i1";
    const match = chooseIncident(
      report(a2!),
      [
        incident("i1", a1!, { createdTimeUtc: at(older === "i1" ? -HOUR : 0) }),
        incident("i3", a3!, { createdTimeUtc: at(older === "i3" ? -HOUR : 0) }),
      ],
      settings,
    );
    expect(match?.incidentId).toBe(s12 > s32 ? "i1" : "i3");
    expect(match?.similarity).toBe(Math.max(s12, s32));
    // Equal similarity: the oldest.
    const twin = (id: string, created: number) => incident(id, a1!, { createdTimeUtc: at(created) });
    expect(chooseIncident(report(a2!), [twin("y", 0), twin("z", -1)], settings)?.incidentId).toBe("z");
  });
});

describe("words and their signature", () => {
  it("the words leave out addresses, numbers and accents' marks", () => {
    expect(
      reportWords(
        "Café: pay 2.99 at hxxp://dhl-fees[.]top/pay or https://x.example/y, mail a[@]b[.]c or b@c.de. www.x.org e.g. OK",
      ),
    ).toEqual(["cafe", "pay", "at", "or", "mail", "or", "ok"]);
  });

  it(`the words are bounded: at most ${SIGNATURE_WORDS_MAX} words, from the first ${SIGNATURE_TEXT_MAX} characters`, () => {
    expect(reportWords("ab ".repeat(3_000))).toHaveLength(SIGNATURE_WORDS_MAX);
    expect(reportWords(`${"x".repeat(SIGNATURE_TEXT_MAX - 3)} ab cd`)).toEqual([expect.any(String), "ab"]);
  });

  it(`a text under ${SIMILARITY_MIN_WORDS} words has no signature; one of ${SIMILARITY_MIN_WORDS} has one`, () => {
    const words = "one two three four five six seven eight nine ten eleven twelve thirteen".split(" ");
    expect(wordsSignature(words.slice(0, SIMILARITY_MIN_WORDS - 1))).toBeUndefined();
    expect(wordsSignature(words.slice(0, SIMILARITY_MIN_WORDS))).toMatch(/^m1:/);
    expect(wordsSignature(words.slice(0, 5), 5)).toMatch(/^m1:/);
    expect(wordsSignature(words.slice(0, 4), 5)).toBeUndefined();
    // Short texts are compared by their indicators only.
    const short = { text: "I got a phishing email", entities: [] };
    expect(chooseIncident(report(short), [incident("s", short)], settings)).toBeUndefined();
  });

  it("the signature is compact, the same for the same words, and tells equal and unlike texts apart", () => {
    const [a1] = campaignA(1);
    const sig = signatureOf(a1!.text)!;
    expect(sig.length).toBeLessThanOrEqual(400);
    expect(signatureOf(a1!.text)).toBe(sig);
    expect(similarity(sig, sig)).toBe(1);
    expect(similarity(sig, signatureOf(UNRELATED[0]!.text))).toBeLessThan(0.1);
    expect(similarity(sig, undefined)).toBeUndefined();
    expect(similarity(sig, sig.slice(0, -1))).toBeUndefined();
    expect(similarity(sig, `${sig}A`)).toBeUndefined();
    expect(similarity(sig, sig.replace("m1:", "m2:"))).toBeUndefined();
  });

  it("the threshold at its boundary: joins at the pair's similarity, not one hash above", () => {
    const [a1, a2] = campaignA(2).map(wordsOnly);
    const s = similarity(signatureOf(a1!.text), signatureOf(a2!.text))!;
    const equal = Math.round(s * SIGNATURE_HASHES);
    const at = (t: number) => groupingSettings({ ownDomains: [], similarityThreshold: t });
    expect(chooseIncident(report(a2!), [incident("a", a1!)], at(equal / SIGNATURE_HASHES))?.similarity).toBe(s);
    expect(chooseIncident(report(a2!), [incident("a", a1!)], at((equal + 1) / SIGNATURE_HASHES))).toBeUndefined();
  });

  it("the minimum words is a setting: groupingReport signs with it", () => {
    const text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
    const input = { text, entities: [], receivedTimeUtc: at(0) };
    expect(groupingReport(input, settings).signature).toBe(signatureOf(text));
    expect(groupingReport(input, groupingSettings({ ownDomains: [], similarityMinWords: 15 })).signature).toMatch(/^m1:/);
    expect(groupingReport(input, groupingSettings({ ownDomains: [], similarityMinWords: 16 })).signature).toBeUndefined();
    expect(groupingReport({ ...input, restricted: true }, settings).restricted).toBe(true);
  });

  it(`word keys: ${WORD_BANDS} bands of ${BAND_ROWS}; every pair of a campaign shares one, no pair of unlike reports does`, () => {
    const all = corpus();
    const keys = all.map((r) => new Set(wordKeys(signatureOf(r.text))));
    expect(keys.every((k) => k.size === WORD_BANDS)).toBe(true);
    for (let i = 0; i < all.length; i++)
      for (let j = i + 1; j < all.length; j++) {
        const shares = [...keys[i]!].some((k) => keys[j]!.has(k));
        if (all[i]!.campaign === all[j]!.campaign) expect(shares).toBe(true);
        else if (all[i]!.campaign.startsWith("u") || all[j]!.campaign.startsWith("u")) expect(shares).toBe(false);
      }
    expect(wordKeys(undefined)).toEqual([]);
  });
});

describe("lookup values", () => {
  it(`are the strong indicators, strongest first, at most ${LOOKUP_VALUES_MAX}`, () => {
    const entities = [
      ...Array.from({ length: 20 }, (_, i) => entity("url", `https://lure-${String(i).padStart(2, "0")}.top/x`)),
      entity("phone", "+44 20 7946 0958"),
      entity("file", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
      entity("ip", "203.0.113.7"),
      entity("user", "alex@contoso.com"),
    ];
    const values = lookupValues(entities, settings);
    expect(values).toHaveLength(LOOKUP_VALUES_MAX);
    expect(values[0]).toBe("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    expect(values.slice(1)).toEqual(Array.from({ length: 15 }, (_, i) => `https://lure-${String(i).padStart(2, "0")}.top/x`));
  });

  it("leave out allowed domains and what is not a campaign's indicator (users, IPs, script URLs)", () => {
    const entities = [
      entity("url", "https://outlook.office.com/mail"),
      entity("url", "javascript:alert(1)"),
      entity("email", "noreply@microsoft.com"),
      entity("email", "attacker@gmail.com"),
      entity("ip", "203.0.113.7"),
      entity("user", "alex@contoso.com"),
      entity("url", "http://203.0.113.9/drop"),
    ];
    expect(lookupValues(entities, settings)).toEqual(["http://203.0.113.9/drop", "attacker@gmail.com"]);
  });
});

describe("determinism (property)", () => {
  const urls = ["https://a.top/x", "https://a.top/y", "https://b.top/x"].map((u) => entity("url", u));
  const others = [entity("phone", "+44 20 7946 0958"), entity("email", "x@c.top"), entity("domain", "outlook.com")];
  const pool = [...urls, ...others];
  const texts = campaignA(3)
    .map((r) => r.text)
    .concat(
      campaignB(2).map((r) => r.text),
      [UNRELATED[2]!.text, "short"],
    );
  const signatures = texts.map(signatureOf);

  const candidate = fc.record({
    id: fc.constantFrom("i1", "i2", "i3", "i4", "i5", "i6"),
    entryPoint: fc.constantFrom<EntryPoint>("form", "chat-report", "message-extension"),
    status: fc.constantFrom<Status>("New", "Active", "Closed"),
    // Few distinct times, so that ties (same reason, same time, even the same id twice) are frequent.
    createdTimeUtc: fc.constantFrom(-80, -71, -10, 0, 10, 71, 73).map((h) => at(h * HOUR)),
    entities: fc.subarray(pool),
    signature: fc.option(fc.constantFrom(...signatures), { nil: undefined }),
  });

  it("the same report and candidates in any order give the same answer", () => {
    fc.assert(
      fc.property(
        fc.subarray(pool),
        fc.constantFrom(...signatures),
        fc.array(candidate, { maxLength: 12 }),
        fc.nat(),
        (entities, signature, candidates, seed) => {
          const r: GroupingReport = { entities, signature, receivedTimeUtc: at(0) };
          const first = chooseIncident(r, candidates, settings);
          // Another order: a rotation and a reversal chosen by the seed.
          const k = candidates.length ? seed % candidates.length : 0;
          const reordered = [...candidates.slice(k), ...candidates.slice(0, k)].reverse();
          expect(chooseIncident(r, reordered, settings)).toEqual(first);
          expect(chooseIncident(r, candidates, settings)).toEqual(first);
          if (first) {
            const picked = candidates.filter((c) => c.id === first.incidentId);
            expect(picked.some((c) => c.entryPoint !== "form" && c.status !== "Closed")).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
