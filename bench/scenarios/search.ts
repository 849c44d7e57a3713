/**
 * Find incident (issue 16): the store's search at 1,000 vs 100,000 incidents on SQLite (p50 per typed
 * query, store level, no HTTP), and on Cosmos DB (the test server through a counting proxy) the requests
 * each search sends. Part of `npm run bench` (section 8 of the report; `--only=search`); also runs alone:
 *   npx tsx bench/scenarios/search.ts [--smoke]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openCosmosStore } from "../../src/adapters/cosmos-store";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { cosmosSettings, loadConfig } from "../../src/config";
import type { IncidentStore } from "../../src/incidents/ports";
import { readQuery } from "../../src/incidents/search";
import { startCosmosServer, TEST_COSMOS_KEY } from "../../test/support/cosmos-server";
import { startCountingProxy } from "../lib/counting-proxy";
import { seedIncidents } from "../lib/data";
import { machine } from "../lib/machine";
import { batchedCreates } from "../lib/seed-sqlite";

/** What a person types in the compose box, keystroke by keystroke, and a few whole searches. */
export const FIND_QUERIES = ["", "p", "ph", "phi", "phis", "phish", "phishing e", "tailgating", "car park", "inc-42", "phishing", "usb stick"];
/** Two words that each match many incidents but never the same one: the walk reads every row of the longer word. */
export const WORST_QUERY = "phishing canteen";
const LIMIT = 25;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeSearches(store: IncidentStore, ws: string, queries: readonly string[], rounds: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const typed of queries) {
      const started = process.hrtime.bigint();
      await store.search(ws, readQuery(typed), LIMIT);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export interface SearchSettings {
  /** Incidents in the small and the large SQLite store. */
  sizes: [number, number];
  /** Times the typed queries are run per size (the worst query a tenth as often). */
  rounds: number;
  /** Incidents on the Cosmos DB test server. */
  cosmosSeeded: number;
}

export interface SearchSize {
  incidents: number;
  p50: number;
  p99: number;
  /** p50 of WORST_QUERY. */
  worstP50: number;
}

export interface SearchResult {
  sqlite: SearchSize[];
  /** p50 large / small. */
  p50Ratio: number;
  cosmos: { incidents: number; searches: number; perSearch: number; byKind: Record<string, number> };
}

export const SEARCH_SETTINGS: Record<"smoke" | "full", SearchSettings> = {
  smoke: { sizes: [100, 1_000], rounds: 5, cosmosSeeded: 200 },
  full: { sizes: [1_000, 100_000], rounds: 200, cosmosSeeded: 2_000 },
};

export async function benchSearch(settings: SearchSettings, log: (line: string) => void): Promise<SearchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-search-"));
  const { sizes, rounds } = settings;
  try {
    const rows: string[] = [];
    const sqlite: SearchSize[] = [];
    for (const size of sizes) {
      const store = new SqliteIncidentStore(path.join(dir, `search-${size}.db`));
      const batched = batchedCreates(store);
      await seedIncidents(batched.store, "bench", size);
      batched.finish();
      await timeSearches(store, "bench", FIND_QUERIES, 3); // warm-up
      const typed = await timeSearches(store, "bench", FIND_QUERIES, rounds);
      const worst = await timeSearches(store, "bench", [WORST_QUERY], Math.max(5, rounds / 10));
      sqlite.push({ incidents: size, p50: typed.p50, p99: typed.p99, worstP50: worst.p50 });
      rows.push(`| SQLite, ${size.toLocaleString("en")} incidents | ${typed.p50.toFixed(3)} | ${typed.p99.toFixed(3)} | ${worst.p50.toFixed(3)} |`);
      await store.close();
    }
    log("| Store | p50 ms (typed queries) | p99 ms | p50 ms, two common words never together |");
    log("|---|---|---|---|");
    for (const row of rows) log(row);
    const p50Ratio = sqlite[1]!.p50 / sqlite[0]!.p50;
    log(`SQLite p50 ${sizes[1].toLocaleString("en")} / ${sizes[0].toLocaleString("en")}: ${p50Ratio.toFixed(2)}x (target <= 1.5x)`);

    // Cosmos DB: requests and query pages per search (they do not depend on the volume: TOP n, one query).
    const server = await startCosmosServer();
    const proxy = await startCountingProxy(server.endpoint);
    const config = loadConfig({
      STORE: "cosmos",
      COSMOS_ENDPOINT: proxy.endpoint,
      COSMOS_KEY: TEST_COSMOS_KEY,
      COSMOS_DATABASE: "bench",
      COSMOS_CONTAINER: "incidents",
      COSMOS_CREATE_IF_MISSING: "true",
      COSMOS_ENDPOINT_DISCOVERY: "false",
      // Seeding sends a thousand creates at once to an in-memory server on 2 cores.
      COSMOS_RETRY_BUDGET_MS: "120000",
      COSMOS_REQUEST_TIMEOUT_MS: "60000",
    });
    const cosmos = await openCosmosStore(cosmosSettings(config));
    try {
      const seeded = settings.cosmosSeeded;
      await seedIncidents(cosmos, "bench", seeded);
      const mark = proxy.seen.length;
      const searches = FIND_QUERIES.length * 3;
      await timeSearches(cosmos, "bench", FIND_QUERIES, 3);
      const seen = proxy.seen.slice(mark);
      const byKind: Record<string, number> = {};
      for (const r of seen) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
      const kinds = Object.entries(byKind)
        .map(([k, v]) => `${k} ${(v / searches).toFixed(2)}`)
        .join(", ");
      log(`Cosmos DB (${seeded.toLocaleString("en")} incidents): ${(seen.length / searches).toFixed(2)} requests per search (${kinds})`);
      const perKind = Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v / searches]));
      return { sqlite, p50Ratio, cosmos: { incidents: seeded, searches, perSearch: seen.length / searches, byKind: perKind } };
    } finally {
      await cosmos.close();
      await proxy.close();
      await server.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const log = (line: string) => console.log(line);
  log(`machine: ${JSON.stringify(machine())}`);
  benchSearch(process.argv.includes("--smoke") ? SEARCH_SETTINGS.smoke : SEARCH_SETTINGS.full, log).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
