import { parseTags, rankTags, suggestTags, TAG_MAX_COUNT, windowStartDay } from "../../src/incidents/tags";
import type { TagDayUsage } from "../../src/incidents/ports";

describe("normalising tags", () => {
  it("trims, collapses inner spaces and drops empty tags", () => {
    expect(parseTags("  Phishing   campaign , ,VIP ")).toEqual({ tags: ["Phishing campaign", "VIP"] });
  });

  it("drops case-insensitive duplicates, keeping the first spelling", () => {
    expect(parseTags("Phishing,phishing,PHISHING , Finance")).toEqual({ tags: ["Phishing", "Finance"] });
  });

  it("splits on commas, so no tag ever holds one", () => {
    expect(parseTags(["a,b", "c"])).toEqual({ tags: ["a", "b", "c"] });
  });

  it("bounds the length of a tag and the number of tags", () => {
    expect(parseTags("x".repeat(50)).tags).toHaveLength(1);
    expect(parseTags("x".repeat(51)).error).toMatch(/at most 50 characters/);
    const many = Array.from({ length: TAG_MAX_COUNT + 1 }, (_, i) => `t${i}`).join(",");
    expect(parseTags(many).error).toBe(`Use at most ${TAG_MAX_COUNT} tags (you gave ${TAG_MAX_COUNT + 1}).`);
    expect(parseTags(Array.from({ length: TAG_MAX_COUNT }, (_, i) => `t${i}`)).tags).toHaveLength(TAG_MAX_COUNT);
  });

  it("refuses the forms of the labels made from the category and techniques (category:, mitre:), in any case", () => {
    for (const raw of ["category:InitialAccess", "MITRE:T1566", "phishing, mitre : T1566.002"]) {
      expect(parseTags(raw).error).toMatch(/can't be a tag: category: and mitre: labels come from the incident's category and techniques/);
    }
    expect(parseTags("mitre, categories, attack:T1566").tags).toEqual(["mitre", "categories", "attack:T1566"]);
  });

  it("refuses control characters", () => {
    expect(parseTags("ok,\u0001bad").error).toBe("Tags can't contain control characters.");
  });
});

describe("ranking the workspace's recent tags", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  const use = (day: string, tag: string, count: number, time = "12:00"): TagDayUsage => ({
    day,
    tag,
    count,
    lastUsedUtc: `${day}T${time}:00.000Z`,
  });

  it("covers today and the 13 days before", () => {
    expect(windowStartDay(now)).toBe("2026-11-13");
    const ranked = rankTags([use("2026-11-12", "Too old", 50), use("2026-11-13", "Oldest kept", 1)], now);
    expect(ranked.map((r) => r.tag)).toEqual(["Oldest kept"]);
  });

  it("ranks by use, with recent use weighing more than old use", () => {
    const ranked = rankTags(
      [use("2026-11-26", "Today", 3), use("2026-11-14", "Two weeks ago", 4), use("2026-11-25", "Yesterday", 1)],
      now,
    );
    // 4 uses 12 days ago weigh 4 * 0.5^(12/7) ≈ 1.22, less than 3 today but more than 1 yesterday.
    expect(ranked.map((r) => r.tag)).toEqual(["Today", "Two weeks ago", "Yesterday"]);
  });

  it("merges spellings across days and shows the latest one", () => {
    const ranked = rankTags([use("2026-11-20", "phishing", 2), use("2026-11-26", "Phishing", 1)], now);
    expect(ranked).toEqual([expect.objectContaining({ tag: "Phishing", count: 3 })]);
  });

  it("breaks ties by the most recent use", () => {
    const ranked = rankTags([use("2026-11-26", "Early", 1, "08:00"), use("2026-11-26", "Late", 1, "18:00")], now);
    expect(ranked.map((r) => r.tag)).toEqual(["Late", "Early"]);
  });
});

describe("suggesting tags for what was typed", () => {
  const ranked = rankTags(
    ["Phishing", "Credential phishing", "Physical", "VIP", "Graphite"].map((tag, i) => ({
      day: "2026-11-26",
      tag,
      count: 10 - i,
      lastUsedUtc: "2026-11-26T10:00:00.000Z",
    })),
    new Date("2026-11-26T12:00:00Z"),
  );

  it("puts tags starting with the text first, then word matches, then inner matches, then the new tag", () => {
    expect(suggestTags(ranked, "ph", 15)).toEqual(["Phishing", "Physical", "Credential phishing", "Graphite", "ph"]);
  });

  it("does not offer the typed text again when it is already a tag (any case)", () => {
    expect(suggestTags(ranked, "vip", 15)).toEqual(["VIP"]);
  });

  it("offers the top tags for an empty query", () => {
    expect(suggestTags(ranked, "  ", 2)).toEqual(["Phishing", "Credential phishing"]);
  });

  it("keeps within the limit, the new tag included", () => {
    expect(suggestTags(ranked, "ph", 2)).toEqual(["Phishing", "ph"]);
  });

  it("does not offer text that is not a valid tag", () => {
    expect(suggestTags(ranked, "x".repeat(60), 15)).toEqual([]);
  });
});
