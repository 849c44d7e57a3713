import { extractEntities, EXTRACT_LINKS_MAX } from "../../src/incidents/extract";
import { CORPUS } from "./extract-corpus";

/* Extraction over the corpus of phishing and chat texts written for the tests (test/unit/extract-corpus.ts). */

describe("extraction over the corpus", () => {
  it.each(CORPUS.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const found = extractEntities(c.text, c.links);
    const rows = found.entities.map((e) => [e.type, e.value, e.typed, e.flags?.join(",")]);
    expect(rows).toEqual(c.expected.map(([type, value, typed, flags]) => [type, value, typed, flags]));
    expect(found.notKept).toBe(c.notKept ?? 0);
    // Extracted entities are related evidence until an analyst marks one impacted.
    expect(found.entities.every((e) => e.role === "related" && e.source === "extracted")).toBe(true);
  });
});

describe("extraction's bounds", () => {
  it("reads at most EXTRACT_LINKS_MAX link targets; the rest of a crafted message is not looked at", () => {
    const links = Array.from({ length: EXTRACT_LINKS_MAX + 50 }, (_, i) => `https://h${i}.example.com/`);
    const found = extractEntities("", links);
    // The links read, and the one registrable domain they share, of which 100 are kept.
    expect(found.entities).toHaveLength(100);
    expect(found.notKept).toBe(EXTRACT_LINKS_MAX + 1 - 100);
  });

  it("an empty text and no links: nothing", () => {
    expect(extractEntities("")).toEqual({ entities: [], notKept: 0 });
  });
});
