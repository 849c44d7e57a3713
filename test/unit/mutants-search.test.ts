import type { ReporterNotice } from "../../src/incidents/model";
import { foldText, queryWords, readQuery, searchKeys, titleKeys, WORD_KEY_MAX, wordKey } from "../../src/incidents/search";

/** Finding incidents (src/incidents/search.ts): how typed text is read and what a store keeps to match it. */

function aNotice(overrides: Partial<ReporterNotice>): ReporterNotice {
  return {
    id: "2:aad:x",
    to: "aad:x",
    name: "Megan Bowen",
    text: "News",
    state: "pending",
    attempts: 0,
    dueUtc: "2026-11-20T12:00:00.000Z",
    updatedUtc: "2026-11-20T12:00:00.000Z",
    ...overrides,
  };
}

const BASE = {
  title: "Odd payment",
  labels: [],
  createdBy: { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan" },
};

describe("folding text for comparison (foldText)", () => {
  it("lower-cases and turns every run of white space into one space", () => {
    expect(foldText("Odd\t\tPAYMENT \n\r Request")).toBe("odd payment request");
  });
});

describe("reading what a person typed (readQuery)", () => {
  it.each([
    ["inc 42", { number: 42 }],
    ["INC-0042", { number: 42 }],
    ["# 7", { number: 7 }],
    ["999999999", { number: 999999999 }],
    ["1234567890", { text: "1234567890" }],
    ["42a", { text: "42a" }],
    ["inc--42", { text: "inc--42" }],
    ["incident 42", { text: "incident 42" }],
    ["INC-", { text: "inc-" }],
    ["x42", { text: "x42" }],
  ])("%j is read as %j", (typed, query) => {
    expect(readQuery(typed)).toEqual(query);
  });

  it("reads text after trimming, so the 100 characters are all words", () => {
    expect(readQuery(`   ${"b".repeat(120)}`)).toEqual({ text: "b".repeat(100) });
  });
});

describe("the words a matching title must hold (queryWords)", () => {
  it("splits folded text at spaces and gives no words for no text", () => {
    expect(queryWords("odd payment")).toEqual(["odd", "payment"]);
    expect(queryWords("")).toEqual([]);
  });

  it("splits on anything but letters and digits, once per word, as titles are", () => {
    expect(queryWords("e-mail (t1566.001) e")).toEqual(["e", "mail", "t1566", "001"]);
    expect(queryWords("100% o'brien \\ _%")).toEqual(["100", "o", "brien"]);
    expect(titleKeys("Ab-ab Ü")).toEqual(["a", "ab", "ü"]);
    expect(titleKeys("x".repeat(40))).toHaveLength(WORD_KEY_MAX);
    expect(wordKey("y".repeat(17))).toEqual({ key: "y".repeat(16), alsoContains: true });
    expect(wordKey("y".repeat(16))).toEqual({ key: "y".repeat(16), alsoContains: false });
  });
});

describe("what a store keeps to find an incident (searchKeys)", () => {
  it("keeps the owner's object id in lower case", () => {
    const keys = searchKeys({
      ...BASE,
      owner: { objectId: "C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E01", ownerType: "Group", assignedTo: "SOC Tier 1" },
    });
    expect(keys.owner).toBe("c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01");
  });

  it("keeps when the next notice to a reporter is due, and nothing of the kind when none is pending", () => {
    expect(searchKeys({ ...BASE, outbox: [aNotice({ dueUtc: "2026-11-21T09:00:00.000Z" })] }).outboxDue).toBe(
      "2026-11-21T09:00:00.000Z",
    );
    const settled = searchKeys({ ...BASE, outbox: [aNotice({ state: "sent" })] });
    expect(settled).not.toHaveProperty("outboxDue");
    expect(settled).not.toHaveProperty("owner");
  });
});
