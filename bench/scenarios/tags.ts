import path from "node:path";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { rankTotals, tagWindow, totalsOf, windowStartDay } from "../../src/incidents/tags";
import { startChildren, type Child } from "../lib/child";
import { botEnv, post, scratchDir, WORKSPACE_ID } from "../lib/bot-env";
import { searchActivities, seedIncidents, TAG_QUERIES, type SeedOptions, type SeedResult } from "../lib/data";
import { round } from "../lib/load";
import { describe, measure, summarise, type Measured, type Summary } from "../lib/measure";
import { batchedCreates } from "../lib/seed-sqlite";

export interface TagSettings {
  /** Incidents spread over a year: the small history and the large one. */
  small: number;
  large: number;
  /**
   * Also a control: `large` incidents of which only the small dataset's fall in the last 14 days
   * (the rest is older): the small dataset's recent activity with 100x its history.
   */
  control: boolean;
  rounds: number;
  durationSec: number;
  maxRequests: number;
  warmupSec: number;
  connections: number;
  /** Whole reads timed per dataset, in process. */
  wholeReads: number;
}

export interface TagDataset {
  name: string;
  incidents: number;
  seed: SeedResult;
  /** Rows of per-day tag usage a cold suggestion reads (the last 14 days). */
  windowRows: number;
  /** Distinct tags among them (what a warm suggestion filters). */
  windowTags: number;
  warm: Summary;
  cold: Summary;
  /**
   * A whole read of the window's tags and their ranking, in process (no HTTP), median of `reads` in µs: what the
   * first suggestion after a start (or after a failed read) costs on top of a cold one.
   */
  wholeRead: { medianUs: number; reads: number };
}

export interface TagRatios {
  warmP50: number;
  warmP99: number;
  coldP50: number;
  coldP99: number;
  warmCpu: number;
  coldCpu: number;
  wholeRead: number;
}

export interface TagResult {
  datasets: TagDataset[];
  /** Large / small. */
  ratios: TagRatios;
  /** Control / small: the same last 14 days, 100x the history. */
  control?: TagRatios;
}

interface Plan {
  name: string;
  parts: { count: number; options: SeedOptions }[];
}

function ratios(b: TagDataset, a: TagDataset): TagRatios {
  return {
    warmP50: round(b.warm.p50 / a.warm.p50, 2),
    warmP99: round(b.warm.p99 / a.warm.p99, 2),
    coldP50: round(b.cold.p50 / a.cold.p50, 2),
    coldP99: round(b.cold.p99 / a.cold.p99, 2),
    warmCpu: round(b.warm.cpuMsPerRequest / a.warm.cpuMsPerRequest, 2),
    coldCpu: round(b.cold.cpuMsPerRequest / a.cold.cpuMsPerRequest, 2),
    wholeRead: round(b.wholeRead.medianUs / a.wholeRead.medianUs, 2),
  };
}

/** Median time of a whole read of the window's tags (`recentTags` without a cursor) and its ranking, in µs. */
async function measureWholeRead(store: SqliteIncidentStore, reads: number): Promise<{ medianUs: number; reads: number }> {
  const times: number[] = [];
  for (let i = 0; i < reads + 20; i++) {
    const window = tagWindow(new Date());
    const started = process.hrtime.bigint();
    rankTotals(totalsOf((await store.recentTags(WORKSPACE_ID, window.sinceDay)).tags, window), window);
    if (i >= 20) times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  return { medianUs: round(times[Math.floor(times.length / 2)]!, 1), reads };
}

/**
 * Tag typeahead over histories of different sizes, seeded through the store's own create, each
 * with the cache warm (TAG_CACHE_MS default, 30 s) and cold (TAG_CACHE_MS=0: the store is asked on
 * every suggestion; after the first, whole read, for the tags written since the last one). All bots run at once and rounds go round-robin over them, so that the machine's
 * other load falls on every configuration alike; figures are medians over rounds.
 */
export async function benchTags(settings: TagSettings, log: (line: string) => void): Promise<TagResult> {
  const now = new Date();
  const plans: Plan[] = [
    { name: `${settings.small} over a year`, parts: [{ count: settings.small, options: { now, seed: 7, spread: "year" } }] },
    { name: `${settings.large} over a year`, parts: [{ count: settings.large, options: { now, seed: 7, spread: "year" } }] },
  ];
  if (settings.control) {
    plans.push({
      name: `${settings.large}, last 14 days as ${settings.small}`,
      parts: [
        { count: settings.small, options: { now, seed: 7, spread: "year" } },
        { count: settings.large - settings.small, options: { now, seed: 8, spread: "old" } },
      ],
    });
  }
  const scratch = scratchDir("tags");
  const bots: { plan: number; mode: "warm" | "cold"; child: Child; runs: Measured[] }[] = [];
  try {
    const seeded: { seed: SeedResult; windowRows: number; windowTags: number; wholeRead: { medianUs: number; reads: number } }[] = [];
    for (const [i, plan] of plans.entries()) {
      const file = path.join(scratch.dir, `incidents-${i}.db`);
      const store = new SqliteIncidentStore(file);
      const batched = batchedCreates(store);
      const seed: SeedResult = { incidents: 0, seconds: 0, inWindow: 0 };
      for (const part of plan.parts) {
        const s = await seedIncidents(batched.store, WORKSPACE_ID, part.count, part.options);
        seed.incidents += s.incidents;
        seed.seconds = round(seed.seconds + s.seconds, 2);
        seed.inWindow += s.inWindow;
      }
      batched.finish();
      const usage = await store.tagUsage(WORKSPACE_ID, windowStartDay(new Date()));
      const wholeRead = await measureWholeRead(store, settings.wholeReads);
      await store.close();
      const windowTags = new Set(usage.map((u) => u.tag.toLowerCase())).size;
      seeded.push({ seed, windowRows: usage.length, windowTags, wholeRead });
      log(
        `  ${plan.name}: seeded in ${seed.seconds} s; last 14 days: ${seed.inWindow} incidents, ${usage.length} tag-day rows, ${windowTags} tags; ` +
          `whole read ${wholeRead.medianUs} us`,
      );
    }
    const configs = plans.flatMap((_, i) => (["warm", "cold"] as const).map((mode) => ({ plan: i, mode })));
    const children = await startChildren(
      configs.map(({ plan, mode }) => ({ spec: { kind: "bot", env: botEnv(path.join(scratch.dir, `incidents-${plan}.db`), mode === "cold" ? { TAG_CACHE_MS: "0" } : {}) } })),
    );
    children.forEach((child, k) => bots.push({ ...configs[k]!, child, runs: [] }));
    const body = searchActivities("http://127.0.0.1:9/", "tags", TAG_QUERIES);
    for (const bot of bots) {
      const check = await post(bot.child.url, body());
      if (check.status !== 200 || !Array.isArray(check.json?.value?.results)) {
        throw new Error(`tag search did not answer with results: ${check.status} ${JSON.stringify(check.json).slice(0, 300)}`);
      }
      await measure(bot.child, { connections: settings.connections, durationSec: settings.warmupSec, maxRequests: 5000, body });
    }
    for (let r = 0; r < settings.rounds; r++) {
      const order = r % 2 === 0 ? bots : [...bots].reverse();
      for (const bot of order) {
        const result = await measure(bot.child, { connections: settings.connections, durationSec: settings.durationSec, maxRequests: settings.maxRequests, body });
        if (result.non2xx || result.errors) throw new Error(`tags, ${plans[bot.plan]!.name}, ${bot.mode}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        bot.runs.push(result);
        log(`  ${describe(`${plans[bot.plan]!.name}, ${bot.mode}, round ${r + 1}`, result)}`);
      }
    }
    const datasets: TagDataset[] = plans.map((plan, i) => ({
      name: plan.name,
      incidents: seeded[i]!.seed.incidents,
      ...seeded[i]!,
      warm: summarise(bots.find((b) => b.plan === i && b.mode === "warm")!.runs),
      cold: summarise(bots.find((b) => b.plan === i && b.mode === "cold")!.runs),
    }));
    return {
      datasets,
      ratios: ratios(datasets[1]!, datasets[0]!),
      ...(settings.control && { control: ratios(datasets[2]!, datasets[0]!) }),
    };
  } finally {
    await Promise.all(bots.map((b) => b.child.stop()));
    scratch.remove();
  }
}
