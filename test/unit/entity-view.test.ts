/**
 * The incident card's entity part (src/teams/entity-view.ts): values defanged and only in TextRuns,
 * flags and sources in words, counts, "And K more", the plain values whole in Copy values, and the
 * card under its size budget whatever the incident holds.
 */
import { defang, ENTITIES_MAX } from "../../src/incidents/entities";
import type { Incident } from "../../src/incidents/model";
import { triageCard, type AdaptiveCard } from "../../src/teams/cards";
import { CARD_CHARS_MAX, entityDetail, LEVELS, shownValue, withEntityParts } from "../../src/teams/entity-view";
import { walk, type Json } from "../cards/teams-rules";
import { entity, largestEntities, longUrl, phishingFields } from "../support/entities";

const BASE: Incident = {
  id: "6b0f6d8e-0000-4000-8000-000000000001",
  workspaceId: "w",
  incidentNumber: 7,
  revision: 3,
  title: "Phishing mail with a credential link",
  description: "",
  severity: "High",
  status: "New",
  labels: [],
  createdBy: { name: "Alex Wilber" },
  entryPoint: "form",
  createdTimeUtc: "2026-12-01T09:00:00.000Z",
  lastModifiedTimeUtc: "2026-12-01T09:00:00.000Z",
} as unknown as Incident;

/** Every text of a kind of element in the card (zero-width breaks removed), ShowCards included. */
function texts(card: AdaptiveCard, type: "TextBlock" | "TextRun"): string[] {
  const out: string[] = [];
  walk(card, (o: Json) => {
    if (o.type === type) out.push(String(o.text).replace(/\u200b/g, ""));
  });
  return out;
}

/** The Copy values box's lines. */
function copied(card: AdaptiveCard): string[] {
  let value = "";
  walk(card, (o: Json) => {
    if (o.id === "copyValuesText") value = String(o.value);
  });
  return value ? value.split("\n") : [];
}

const all = (card: AdaptiveCard) => [...texts(card, "TextBlock"), ...texts(card, "TextRun")].join("\n");

describe("defang", () => {
  it("takes the scheme off a link inside a link too, so no part of the value reads as a link", () => {
    const url = entity("url", "https://evil.example/login?next=https://contoso.sharepoint.com&b=ftp://x.example");
    expect(defang(url)).toBe("hxxps://evil[.]example/login?next=hxxps://contoso[.]sharepoint[.]com&b=fxp://x[.]example");
  });
});

describe("the entity part of the incident card", () => {
  it("shows a device, a phone number and a hash as they were typed, anything that can open defanged", () => {
    const typed = (type: Parameters<typeof entity>[0], raw: string) => shownValue(entity(type, raw, "related", "typed"), 200).replace(/\u200b/g, "");
    expect(typed("device", "FIN-LAPTOP-07")).toBe("FIN-LAPTOP-07");
    expect(typed("phone", "+44 20 7946 0958")).toBe("+44 20 7946 0958");
    expect(typed("url", "hxxps://Paypa1-Login[.]com/x")).toBe("hxxps://paypa1-login[.]com/x");
    expect(typed("domain", "Paypa1-Login.com")).toBe("paypa1-login[.]com");
  });

  const card = triageCard({ ...BASE, ...phishingFields(), entitiesNotKept: 3 });

  it("shows each value defanged, in a TextRun, never the plain form outside Copy values", () => {
    const runs = texts(card, "TextRun").join("\n");
    expect(runs).toContain("hxxps://evil[.]example/login?next=hxxps://contoso[.]sharepoint[.]com");
    expect(runs).toContain("javascript[:]alert(document[.]cookie)");
    expect(runs).toContain("billing[@]paypa1-login[.]com");
    expect(runs).not.toContain("https://evil.example");
    expect(runs).not.toContain("10.20.30.40");
    // The plain forms are only in the Copy values box, whole, one a line.
    expect(copied(card)).toEqual(expect.arrayContaining(["https://evil.example/login?next=https://contoso.sharepoint.com", "10.20.30.40", "javascript:alert(document.cookie)"]));
    expect(copied(card)).toHaveLength(phishingFields().entities!.length);
  });

  it("puts no entity value, defanged or plain, in a TextBlock (which Teams reads as markdown)", () => {
    const blocks = texts(card, "TextBlock").join("\n");
    for (const e of phishingFields().entities!) {
      expect(blocks).not.toContain(e.value);
      expect(blocks).not.toContain(defang(e));
    }
    expect(blocks).not.toMatch(/evil|paypa1|javascript/);
  });

  it("says the counts, the types, the roles, the sources and the flags in words", () => {
    const text = all(card);
    for (const said of [
      "11 indicators, 2 impacted (3 not kept: the incident holds 100)",
      "URLs: 2",
      "User: 1, 1 impacted",
      "Category",
      "Initial access",
      "T1566.002 Phishing: Spearphishing Link",
      "T1078 Valid Accounts",
      "Block the sender and the domain",
    ]) {
      expect(text).toContain(said);
    }
    expect(entityDetail(entity("ip", "10.0.0.1", "related", "typed"))).toBe("evidence · entered by an analyst · private range");
    expect(entityDetail(entity("ip", "240.0.0.1"))).toBe("evidence · found in a report · reserved range");
    expect(entityDetail(entity("url", "javascript:alert(1)"))).toBe("evidence · found in a report · script URL: do not open");
    expect(entityDetail(entity("domain", "xn--pypal-4ve.com"))).toBe("evidence · found in a report · international domain · lookalike letters (mixed scripts)");
    expect(entityDetail(entity("user", "megan.bowen@contoso.com", "impacted", "directory", "Megan Bowen"))).toBe("impacted · Megan Bowen · from the directory");
  });

  it("lists impacted assets first within a type", () => {
    const urls = [entity("url", "https://a.example/1"), entity("url", "https://b.example/2", "impacted", "typed")];
    const runs = texts(triageCard({ ...BASE, entities: urls }), "TextRun");
    const first = runs.findIndex((t) => t.includes("b[.]example"));
    const second = runs.findIndex((t) => t.includes("a[.]example"));
    expect(first).toBeGreaterThan(-1);
    expect(first).toBeLessThan(second);
  });

  it("shows a value that reads as markdown or a template as it was recorded, in a TextRun only", () => {
    const typed = ["[Reset your password](https://evil.example/reset)", "${incident.title} ${$root.verbs.assign}", "**URGENT** <at>Everyone</at>"];
    const marked = triageCard({ ...BASE, entities: typed.map((t) => entity("app", t, "related", "directory")) });
    const runs = texts(marked, "TextRun");
    for (const t of typed) expect(runs).toContain(t);
    expect(texts(marked, "TextBlock").join("\n")).not.toMatch(/evil|\$\{|URGENT|<at>/);
  });

  it("shows nothing of it for an incident without any", () => {
    const plain = triageCard(BASE);
    expect(JSON.stringify(plain)).not.toContain("incidentEntities");
  });
});

describe("a card with the largest entity lists", () => {
  const largest = { ...phishingFields(), entities: largestEntities(), entitiesNotKept: 37, recommendedActions: '"\\'.repeat(2500) };

  it("stays under the card budget and counts what it does not show", () => {
    const card = triageCard({ ...BASE, ...largest });
    expect(JSON.stringify(card).length).toBeLessThan(CARD_CHARS_MAX);
    const text = all(card);
    expect(text).toContain(`${ENTITIES_MAX} indicators`);
    expect(text).toContain("(37 not kept: the incident holds 100)");
    expect(text).toMatch(/URLs: \d+, \d+ impacted/);
    expect(text).toMatch(/And \d+ more\./);
  });

  it("cuts a long value in the list, and lists values whole or not at all in Copy values", () => {
    const url = entity("url", longUrl(1));
    const card = triageCard({ ...BASE, entities: [url] });
    const runs = texts(card, "TextRun");
    const shown = runs.find((t) => t.startsWith("hxxps://phish1"));
    expect(shown!.length).toBeLessThanOrEqual(LEVELS[0]!.preview + 1);
    expect(shown!.endsWith("…")).toBe(true);
    expect(copied(card)).toEqual([url.value]);
    // Every line of the copy box is one whole value; what does not fit is counted.
    const big = triageCard({ ...BASE, ...largest });
    const values = new Set(largest.entities.map((e) => e.value));
    expect(copied(big).length).toBeGreaterThan(0);
    for (const line of copied(big)) expect(values.has(line)).toBe(true);
    expect(all(big)).toContain(`${largest.entities.length - copied(big).length} more values did not fit on this card.`);
  });

  it("draws less the less room the rest of the card leaves, down to a line that still says how many", () => {
    const incident = { ...BASE, ...largest } as Incident;
    const drawn = (filler: number) => withEntityParts(incident, (parts) => ({ filler: "x".repeat(filler), parts }));
    const shownValues = (card: object) => (JSON.stringify(card).match(/"fontType":"Monospace"/g) ?? []).length;
    const roomy = drawn(0);
    const tight = drawn(CARD_CHARS_MAX - 9000);
    const full = drawn(CARD_CHARS_MAX - 700);
    for (const card of [roomy, tight, full]) expect(JSON.stringify(card).length).toBeLessThan(CARD_CHARS_MAX);
    expect(shownValues(roomy)).toBeGreaterThan(shownValues(tight));
    expect(shownValues(tight)).toBeGreaterThan(0);
    expect(shownValues(full)).toBe(0);
    expect(JSON.stringify(full)).toContain("100 indicators, 31 impacted (37 not kept: the incident holds 100): not listed, this card is full");
  });
});
