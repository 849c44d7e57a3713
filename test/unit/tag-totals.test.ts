import type { TagDayUsage } from "../../src/incidents/ports";
import { dayWeight, rankTags, rankTotals, tagWindow, totalsOf, usesByTag } from "../../src/incidents/tags";

/** Per-tag totals (what stores sum for tag suggestions) rank exactly as per-day usage does. */

const NOW = new Date("2026-11-26T12:00:00Z");
const WINDOW = tagWindow(NOW);

function use(day: string, tag: string, count: number, time = "12:00"): TagDayUsage {
  return { day, tag, count, lastUsedUtc: `${day}T${time}:00.000Z` };
}

describe("per-tag totals", () => {
  it("spans today and the 13 days before", () => {
    expect(WINDOW).toEqual({ sinceDay: "2026-11-13", today: "2026-11-26" });
  });

  it("weighs a day 2^(days after the window's first / 7), a day after today as today", () => {
    expect(dayWeight("2026-11-13", WINDOW)).toBe(1);
    expect(dayWeight("2026-11-20", WINDOW)).toBeCloseTo(2, 12);
    expect(dayWeight("2026-11-26", WINDOW)).toBeCloseTo(Math.pow(2, 13 / 7), 12);
    expect(dayWeight("2026-11-28", WINDOW)).toBe(dayWeight("2026-11-26", WINDOW));
  });

  it("sums each tag's days case-insensitively, with the latest use's spelling and time, and leaves out days before the window", () => {
    const totals = totalsOf(
      usesByTag([
        use("2026-11-20", "vip", 2, "09:00"),
        use("2026-11-26", "VIP", 3, "08:00"),
        use("2026-11-12", "vip", 5),
        use("2026-11-25", "Old", 1),
        // Only days before the window: no total at all.
        use("2026-11-12", "Gone", 4),
      ]),
      WINDOW,
    );
    expect(totals).toEqual([
      { tag: "VIP", count: 5, weight: 2 * dayWeight("2026-11-20", WINDOW) + 3 * dayWeight("2026-11-26", WINDOW), lastUsedUtc: "2026-11-26T08:00:00.000Z" },
      { tag: "Old", count: 1, weight: dayWeight("2026-11-25", WINDOW), lastUsedUtc: "2026-11-25T12:00:00.000Z" },
    ]);
  });

  it("ranks totals in the order and with the scores rankTags gives the per-day usage they sum", () => {
    // Deterministic pseudo-random usage: 60 tags over 16 days (two before the window), spellings varying by day.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const usage: TagDayUsage[] = [];
    for (let d = 0; d < 16; d++) {
      const day = new Date(Date.parse("2026-11-11T00:00:00Z") + d * 86_400_000).toISOString().slice(0, 10);
      for (let t = 0; t < 60; t++) {
        if (next(3) === 0) continue;
        const spelling = next(2) ? `Tag ${t}` : `TAG ${t}`;
        usage.push(use(day, spelling, 1 + next(9), `${String(next(24)).padStart(2, "0")}:${String(next(60)).padStart(2, "0")}`));
      }
    }
    const byDay = rankTags(usage, NOW);
    const byTag = rankTotals(totalsOf(usesByTag(usage), WINDOW), WINDOW);
    expect(byTag.map((r) => [r.tag, r.count, r.lastUsedUtc])).toEqual(byDay.map((r) => [r.tag, r.count, r.lastUsedUtc]));
    byTag.forEach((r, i) => expect(r.score).toBeCloseTo(byDay[i]!.score, 9));
  });
});
