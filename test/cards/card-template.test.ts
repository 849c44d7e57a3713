/**
 * The compiled card templates (src/teams/card-template.ts) build exactly the cards
 * adaptivecards-templating builds, key order included: for every sample of the card catalogue, as
 * the running bot makes it, and for those samples' data with values changed, removed or of another
 * type (where the compiled templates must hand over to the library and agree with it).
 */
import fs from "node:fs";
import fc from "fast-check";
import { CompiledTemplate } from "../../src/teams/card-template";
import { CARDS_DIR, template } from "../../src/teams/cards";
import { CATALOGUE } from "./catalogue";
import { startSampleWorld, type SampleWorld } from "./sample-world";

const names = fs
  .readdirSync(CARDS_DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

/** The expansion, or what it threw, as text: compared byte for byte. */
function outcome(expand: () => unknown): string {
  try {
    return JSON.stringify(expand());
  } catch (error) {
    return `threw ${String(error)}`;
  }
}

/** Every expansion the bot made while the catalogue's samples were made: the template and its data. */
const expansions: { template: CompiledTemplate; name: string; root: object; card: string }[] = [];

beforeAll(async () => {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
  const original = CompiledTemplate.prototype.expand;
  const spy = jest.spyOn(CompiledTemplate.prototype, "expand").mockImplementation(function (this: CompiledTemplate, root: object) {
    const card = original.call(this, root);
    const name = names.find((n) => template(n) === this) ?? "?";
    expansions.push({ template: this, name, root: structuredClone(root), card: JSON.stringify(card) });
    return card;
  });
  try {
    for (const entry of CATALOGUE) {
      for (const sample of entry.samples) {
        let world: SampleWorld | undefined;
        try {
          world = await startSampleWorld();
          await sample.make(world);
        } finally {
          await world?.stop();
        }
      }
    }
  } finally {
    spy.mockRestore();
  }
}, 120_000);

describe("compiled card templates", () => {
  it.each(names)("cards/%s.json compiles", (name) => {
    expect(template(name).compiled).toBe(true);
  });

  it("build, for every card the catalogue's samples made, what adaptivecards-templating builds", () => {
    const made = new Set(expansions.map((e) => e.name));
    expect([...made].sort()).toEqual(names);
    for (const e of expansions) {
      expect({ name: e.name, card: e.card }).toEqual({ name: e.name, card: outcome(() => e.template.expandWithLibrary(e.root)) });
      // Built by the compiled template itself: the library is only for data the bot does not send.
      expect({ name: e.name, compiled: e.template.expandCompiled(e.root) !== undefined }).toEqual({ name: e.name, compiled: true });
    }
  });

  it("agree with the library when the data has values missing, null, empty or of another type", () => {
    const replacement = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.constant(""),
      fc.constant("${heading}"),
      fc.constantFrom("card", "dialog", "x"),
      fc.string(),
      fc.integer({ min: -3, max: 3 }),
      fc.double(),
      fc.boolean(),
      fc.constant([]),
      fc.array(fc.record({ line: fc.string(), title: fc.string(), value: fc.string() }), { maxLength: 3 }),
      fc.constant({}),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
    );
    const leaves = (value: unknown, path: string[] = []): string[][] => {
      if (typeof value !== "object" || value === null) return [path];
      const keys = Object.keys(value);
      return [path, ...keys.flatMap((k) => leaves((value as Record<string, unknown>)[k], [...path, k]))];
    };
    const set = (root: object, path: string[], value: unknown): object => {
      const copy = structuredClone(root) as Record<string, unknown>;
      let at: Record<string, unknown> = copy;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
      const last = path[path.length - 1]!;
      if (value === undefined) delete at[last];
      else at[last] = value;
      return copy;
    };
    let handled = 0;
    const distinct = [...new Map(expansions.map((e) => [`${e.name} ${JSON.stringify(e.root)}`, e])).values()];
    fc.assert(
      fc.property(fc.nat(), fc.nat(), replacement, fc.nat(), fc.nat(), replacement, (i, j, v, k, l, w) => {
        const e = distinct[i % distinct.length]!;
        const paths = leaves(e.root).filter((p) => p.length > 0);
        let root = set(e.root, paths[j % paths.length]!, v);
        const more = leaves(root).filter((p) => p.length > 0);
        if (k % 2 && more.length) root = set(root, more[l % more.length]!, w);
        const compiled = e.template.expandCompiled(root);
        if (compiled) handled++;
        expect(outcome(() => e.template.expand(root))).toBe(outcome(() => e.template.expandWithLibrary(root)));
      }),
      { numRuns: 2000 },
    );
    // Most changed data is still the compiled templates' to build (the rest is handed over).
    expect(handled).toBeGreaterThan(700);
  }, 60_000);
});
