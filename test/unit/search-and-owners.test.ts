import { rankOwners } from "../../src/incidents/owners";
import type { DirectoryEntry } from "../../src/incidents/ports";
import { queryWords, readQuery, searchKeys, titleMatches } from "../../src/incidents/search";

describe("what a person types in Find incident", () => {
  it.each([
    ["INC-42", { number: 42 }],
    ["inc42", { number: 42 }],
    ["#7", { number: 7 }],
    ["  12 ", { number: 12 }],
    ["Phishing   MAIL\tfrom CEO", { text: "phishing mail from ceo" }],
    ["", {}],
    ["   ", {}],
    ["INC-1234567890", { text: "inc-1234567890" }],
  ])("%j is read as %j", (typed, query) => {
    expect(readQuery(typed)).toEqual(query);
  });

  it("is cut at 100 characters", () => {
    expect(readQuery("a".repeat(150)).text).toHaveLength(100);
  });

  it("is compared with keys folded the same way as the stored title and tags", () => {
    const keys = searchKeys({
      title: "Odd  Payment\nRequest",
      labels: [{ labelName: "Finance Team", labelType: "User" }],
      createdBy: { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan" },
      reports: [{ reporter: { teamsId: "29:abc", name: "Guest" }, timeUtc: "", entryPoint: "message-extension", title: "", words: "" }],
    });
    expect(keys).toEqual({
      title: "odd payment request",
      words: ["o", "od", "odd", "p", "pa", "pay", "paym", "payme", "paymen", "payment", "r", "re", "req", "requ", "reque", "reques", "request"],
      tags: ["finance team"],
      reporters: ["aad:6f1c2d3e-0000-4000-8000-000000000031", "teams:29:abc"],
    });
    expect(queryWords(readQuery("payment ODD").text!).every((w) => keys.words.includes(w))).toBe(true);
    expect(titleMatches("Odd  Payment\nRequest", queryWords(readQuery("PAY req").text!))).toBe(true);
    expect(titleMatches("Odd  Payment\nRequest", queryWords(readQuery("ayment").text!))).toBe(false);
  });
});

describe("owner typeahead order, one rule for every directory", () => {
  const entry = (objectId: string, displayName: string, email?: string): DirectoryEntry => ({
    objectId,
    kind: "User",
    displayName,
    ...(email && { email }),
  });
  const entries = [
    entry("1", "Zoe Alvarez"),
    entry("2", "Alan Turing"),
    entry("3", "Bob Stone", "al.bob@contoso.com"),
    entry("4", "Camel CaseAl"),
    entry("2", "Alan Turing (again)"),
  ];

  it("puts a name that starts with the query first, then a word of it, then the mail, dropping duplicates", () => {
    expect(rankOwners(entries, "al", 10, "last").map((e) => e.objectId)).toEqual(["2", "1", "3", "4"]);
  });

  it("drops what it does not match when asked to (the local file), keeps it last otherwise (Graph found it)", () => {
    expect(rankOwners(entries, "al", 10, "drop").map((e) => e.objectId)).toEqual(["2", "1", "3"]);
  });

  it("returns at most the limit", () => {
    expect(rankOwners(entries, "al", 2, "last").map((e) => e.objectId)).toEqual(["2", "1"]);
  });
});
