import { foldOwnerQuery, matchRank, rankOwners } from "../../src/incidents/owners";
import type { DirectoryEntry } from "../../src/incidents/ports";

/** Owner typeahead (src/incidents/owners.ts): what is asked of the directory and the order people see. */

function entry(objectId: string, displayName: string, more: Partial<DirectoryEntry> = {}): DirectoryEntry {
  return { objectId, kind: "User", displayName, ...more };
}

describe("what is asked of the directory (foldOwnerQuery)", () => {
  it("trims and lower-cases what was typed", () => {
    expect(foldOwnerQuery("  Alex WILBER \t")).toBe("alex wilber");
    expect(foldOwnerQuery("   ")).toBe("");
  });

  it("asks at most 120 characters, counted after trimming", () => {
    expect(foldOwnerQuery(`   ${"A".repeat(200)}`)).toBe("a".repeat(120));
    expect(foldOwnerQuery("b".repeat(120))).toHaveLength(120);
  });
});

describe("how well a person or group matches (matchRank)", () => {
  it("ranks a display name that starts with the query first, whatever its case", () => {
    expect(matchRank(entry("1", "Alex Wilber"), "alex")).toBe(0);
    expect(matchRank(entry("1", "alex wilber"), "alex w")).toBe(0);
  });

  it("then a word of the display name, words split at spaces, dashes, underscores, dots and brackets", () => {
    for (const name of ["Jean Luc", "Jean-Luc", "Jean_Luc", "Jean.Luc", "Jean (Luc)", "Jean\tLuc"]) {
      expect([name, matchRank(entry("1", name), "luc")]).toEqual([name, 1]);
    }
    expect(matchRank(entry("1", "Alex Wilber (Teams)"), "teams")).toBe(1);
  });

  it("then the mail or the user principal name, whatever their case", () => {
    expect(matchRank(entry("1", "Bob Stone", { email: "Al.Bob@Contoso.com" }), "al.b")).toBe(2);
    expect(matchRank(entry("1", "Bob Stone", { userPrincipalName: "ALB@contoso.com" }), "alb")).toBe(2);
  });

  it("does not match a query that only appears inside a word, the mail's domain or nowhere", () => {
    expect(matchRank(entry("1", "Camel CaseAl", { email: "camel@contoso.com" }), "al")).toBeUndefined();
    expect(matchRank(entry("1", "Bob Stone", { email: "bob@contoso.com" }), "contoso")).toBeUndefined();
    expect(matchRank(entry("1", "Bob Stone"), "zed")).toBeUndefined();
  });
});

describe("typeahead order (rankOwners)", () => {
  it("orders alphabetically within the same kind of match", () => {
    const entries = [
      entry("1", "Alma Zane"),
      entry("2", "Alex Young"),
      entry("3", "Zoe Alvarez"),
      entry("4", "Yann Albert"),
      entry("5", "Mail Only", { email: "al@contoso.com" }),
    ];
    expect(rankOwners(entries, "al", 10, "drop").map((e) => e.displayName)).toEqual([
      "Alex Young",
      "Alma Zane",
      "Yann Albert",
      "Zoe Alvarez",
      "Mail Only",
    ]);
  });

  it("keeps what the rule does not match after everything it does, alphabetically, when asked to", () => {
    const entries = [entry("1", "Zed"), entry("2", "Bob"), entry("3", "Alan")];
    expect(rankOwners(entries, "al", 10, "last").map((e) => e.displayName)).toEqual(["Alan", "Bob", "Zed"]);
    expect(rankOwners(entries, "al", 10, "drop").map((e) => e.displayName)).toEqual(["Alan"]);
  });

  it("keeps the first of two entries with one object id", () => {
    const entries = [entry("1", "Alan Turing"), entry("1", "Alan T. (copy)"), entry("2", "Alan Kay")];
    expect(rankOwners(entries, "alan", 10, "last").map((e) => e.displayName)).toEqual(["Alan Kay", "Alan Turing"]);
  });

  it("gives nothing for a limit of zero or less", () => {
    const entries = [entry("1", "Alan"), entry("2", "Alma")];
    expect(rankOwners(entries, "al", 0, "last")).toEqual([]);
    expect(rankOwners(entries, "al", -1, "last")).toEqual([]);
  });
});
