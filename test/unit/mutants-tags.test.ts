import type { TagDayUsage } from "../../src/incidents/ports";
import { normaliseTag, parseTags, rankTags, suggestTags, utcDay, windowStartDay } from "../../src/incidents/tags";

/** Tags (src/incidents/tags.ts): cleaning what was typed, ranking the workspace's recent tags, and typeahead. */

const NOW = new Date("2026-11-26T12:00:00Z");

function use(day: string, tag: string, count: number, time = "12:00"): TagDayUsage {
  return { day, tag, count, lastUsedUtc: `${day}T${time}:00.000Z` };
}

describe("cleaning tags", () => {
  it("normalises every kind of white space inside a tag to one space", () => {
    expect(normaliseTag("\t Phishing \n\u00a0 campaign  ")).toBe("Phishing campaign");
  });

  it("refuses C1 control characters and DEL, and reads line and paragraph separators as spaces", () => {
    for (const raw of ["a\u0085b", "a\u007fb", "a\u009fb", "a\u0080b"]) {
      expect([raw, parseTags(raw).error]).toEqual([raw, "Tags can't contain control characters."]);
    }
    expect(parseTags("a\u2028b,c\u2029d")).toEqual({ tags: ["a b", "c d"] });
  });

  it("names the length of the tag that is too long", () => {
    expect(parseTags(`ok, ${"x".repeat(51)}`).error).toBe("Each tag can be at most 50 characters (one has 51).");
  });

  it("counts tags after dropping duplicates, so twenty distinct tags with repeats are fine", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `t${i}`);
    expect(parseTags([...twenty, ...twenty.map((t) => t.toUpperCase())].join(",")).tags).toEqual(twenty);
  });

  it("gives no tags for nothing typed", () => {
    expect(parseTags("")).toEqual({ tags: [] });
    expect(parseTags([])).toEqual({ tags: [] });
  });
});

describe("days", () => {
  it("are UTC days, and the window is today and the 13 days before", () => {
    expect(utcDay(new Date("2026-11-26T23:59:59.999Z"))).toBe("2026-11-26");
    expect(utcDay(new Date("2026-11-27T00:30:00+01:00"))).toBe("2026-11-26");
    expect(windowStartDay(new Date("2026-03-10T00:00:00Z"))).toBe("2026-02-25");
  });
});

describe("ranking tags", () => {
  it("weighs each use 1, halving each week of age, and adds up the uses", () => {
    const [week, today] = [rankTags([use("2026-11-19", "Old", 2)], NOW)[0]!, rankTags([use("2026-11-26", "New", 3)], NOW)[0]!];
    expect(week).toEqual({ tag: "Old", score: 1, count: 2, lastUsedUtc: "2026-11-19T12:00:00.000Z" });
    expect(today.score).toBe(3);
    const merged = rankTags([use("2026-11-19", "vip", 2), use("2026-11-26", "VIP", 3, "09:00")], NOW);
    expect(merged).toEqual([{ tag: "VIP", score: 4, count: 5, lastUsedUtc: "2026-11-26T09:00:00.000Z" }]);
  });

  it("keeps the spelling of the latest use, whatever order the days come in", () => {
    const ranked = rankTags([use("2026-11-26", "Phishing", 1), use("2026-11-20", "PHISHING", 1)], NOW);
    expect(ranked.map((r) => [r.tag, r.lastUsedUtc])).toEqual([["Phishing", "2026-11-26T12:00:00.000Z"]]);
  });

  it("does not weigh a use dated after today more than one of today", () => {
    const ranked = rankTags([use("2026-11-27", "Tomorrow", 1), use("2026-11-26", "Today", 1, "13:00")], NOW);
    expect(ranked.map((r) => [r.tag, r.score])).toEqual([
      ["Tomorrow", 1],
      ["Today", 1],
    ]);
  });

  it("breaks a tie of score and time alphabetically", () => {
    const ranked = rankTags([use("2026-11-26", "Beta", 1), use("2026-11-26", "alpha", 1), use("2026-11-26", "Gamma", 1)], NOW);
    expect(ranked.map((r) => r.tag)).toEqual(["alpha", "Beta", "Gamma"]);
  });
});

describe("typeahead", () => {
  const ranked = rankTags(
    ["Mail/phish", "Credential_theft", "cve.2024", "tlp:red", "Two words", "Zeta-red"].map((tag, i) =>
      use("2026-11-26", tag, 10 - i),
    ),
    NOW,
  );

  it("matches a word after a slash, underscore, dot, colon, dash or space", () => {
    expect(suggestTags(ranked, "phish", 10)).toEqual(["Mail/phish", "phish"]);
    expect(suggestTags(ranked, "theft", 10)).toEqual(["Credential_theft", "theft"]);
    expect(suggestTags(ranked, "2024", 10)).toEqual(["cve.2024", "2024"]);
    // Word matches come before a match inside a word ("Credential").
    expect(suggestTags(ranked, "red", 10)).toEqual(["tlp:red", "Zeta-red", "Credential_theft", "red"]);
    expect(suggestTags(ranked, "words", 10)).toEqual(["Two words", "words"]);
  });

  it("matches typed text in any case and with its spaces tidied", () => {
    expect(suggestTags(ranked, "  CVE ", 10)).toEqual(["cve.2024", "CVE"]);
    expect(suggestTags(ranked, "two   W", 10)).toEqual(["Two words", "two W"]);
  });

  it("offers nothing new for text that is two tags, or a tag listed in another case", () => {
    expect(suggestTags(ranked, "a,b", 10)).toEqual([]);
    expect(suggestTags(ranked, "TLP:RED", 10)).toEqual(["tlp:red"]);
  });

  it("offers the typed tag even when no room is left", () => {
    expect(suggestTags(ranked, "re", 1)).toEqual(["re"]);
    expect(suggestTags(ranked, "", 3)).toEqual(["Mail/phish", "Credential_theft", "cve.2024"]);
  });
});
