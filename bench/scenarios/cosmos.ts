import { openCosmosStore } from "../../src/adapters/cosmos-store";
import { cosmosSettings, loadConfig } from "../../src/config";
import { startCosmosServer, TEST_COSMOS_KEY } from "../../test/support/cosmos-server";
import { startChild, type Child } from "../lib/child";
import { startBenchConnector } from "../lib/connector";
import { botEnv, post, WORKSPACE_ID } from "../lib/bot-env";
import { createActivities, searchActivities, seedIncidents, TAG_QUERIES } from "../lib/data";
import { startCountingProxy, type CosmosRequestKind, type CountedRequest } from "../lib/counting-proxy";
import { round, runLoad, type LoadResult } from "../lib/load";
import { settled } from "../lib/settle";

export interface CosmosSettings {
  /** Creates one at a time, then as many again with `burst` at once. */
  creates: number;
  burst: number;
  suggestions: number;
  /** Incidents stored over the last three weeks before the suggestions are counted. */
  seeded: number;
}

export interface CosmosCount {
  operation: string;
  operations: number;
  /** Requests per operation, all kinds. */
  perOperation: number;
  byKind: Partial<Record<CosmosRequestKind, number>>;
  /** Against the in-memory test server on loopback: says nothing of a real account's latency. */
  p50: number;
  p99: number;
}

export interface CosmosResult {
  counts: CosmosCount[];
  notes: string[];
}

function count(operation: string, load: LoadResult, seen: CountedRequest[]): CosmosCount {
  const totals: Partial<Record<CosmosRequestKind, number>> = {};
  for (const r of seen) totals[r.kind] = (totals[r.kind] ?? 0) + 1;
  const ops = Math.max(1, load.ok);
  const byKind = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, round(v / ops, 2)]));
  return { operation, operations: load.ok, perOperation: round(seen.length / ops, 2), byKind, p50: load.p50, p99: load.p99 };
}

/**
 * The bot on STORE=cosmos against @vercel/cosmosdb-server, with a counting proxy in between:
 * requests sent to Cosmos DB per create (over HTTP, as Teams sends it) and per tag suggestion,
 * warm (TAG_CACHE_MS default) and cold (TAG_CACHE_MS=0).
 */
export async function benchCosmos(settings: CosmosSettings, log: (line: string) => void): Promise<CosmosResult> {
  const server = await startCosmosServer();
  const proxy = await startCountingProxy(server.endpoint);
  const connector = await startBenchConnector();
  const settingsEnv = {
    STORE: "cosmos",
    COSMOS_ENDPOINT: proxy.endpoint,
    COSMOS_KEY: TEST_COSMOS_KEY,
    COSMOS_DATABASE: "bench",
    COSMOS_CONTAINER: "incidents",
    COSMOS_CREATE_IF_MISSING: "true",
    COSMOS_ENDPOINT_DISCOVERY: "false",
  };
  const children: Child[] = [];
  try {
    // One after the other: the first creates the database and container.
    const warm = await startChild({ kind: "bot", env: botEnv("unused.db", settingsEnv) });
    children.push(warm);
    const cold = await startChild({ kind: "bot", env: botEnv("unused.db", { ...settingsEnv, TAG_CACHE_MS: "0" }) });
    children.push(cold);
    const creates = createActivities(connector.url, 5);
    const check = await post(warm.url, creates());
    if (check.status !== 200 || !/created/.test(JSON.stringify(check.json?.value?.body?.[0] ?? ""))) {
      throw new Error(`the bot on Cosmos DB did not create an incident: ${check.status} ${JSON.stringify(check.json).slice(0, 300)}`);
    }
    // The workspace's first incidents create its counter and the day's tag document: not counted.
    await runLoad({ url: warm.url, connections: 1, durationSec: 30, maxRequests: 5, body: creates });

    const counts: CosmosCount[] = [];
    const phase = async (name: string, child: Child, connections: number, requests: number, body: () => string) => {
      // Background work started by earlier turns (the triage sweep, a tag-day write) lands first.
      await settled(() => proxy.seen.length, 300);
      const mark = proxy.seen.length;
      const load = await runLoad({ url: child.url, connections, durationSec: 60, maxRequests: requests, body });
      if (load.non2xx || load.errors) throw new Error(`${name}: ${load.non2xx} non-2xx answers, ${load.errors} errors`);
      const c = count(name, load, proxy.seen.slice(mark));
      counts.push(c);
      log(`  ${name}: ${c.perOperation} requests each ${JSON.stringify(c.byKind)} (p50 ${c.p50} ms)`);
    };
    await phase("create, one at a time", warm, 1, settings.creates, creates);
    await phase(`create, ${settings.burst} at once`, warm, settings.burst, settings.creates, creates);

    // History for the suggestions: tag-day documents over three weeks (a suggestion reads the last 14).
    // Seeding sends its creates all at once to an in-memory server on 2 shared cores: a budget for that, not the bot's.
    const store = await openCosmosStore(
      cosmosSettings(loadConfig({ ...settingsEnv, COSMOS_RETRY_BUDGET_MS: "120000", COSMOS_REQUEST_TIMEOUT_MS: "60000" })),
    );
    try {
      await seedIncidents(store, WORKSPACE_ID, settings.seeded, { seed: 9, spread: "year", days: 21, oneAtATime: true });
    } finally {
      await store.close();
    }
    const suggestions = searchActivities("http://127.0.0.1:9/", "tags", TAG_QUERIES);
    // One suggestion each first, not counted: it fills the warm cache the creates emptied, and it is
    // the cold instance's first request.
    await post(warm.url, suggestions());
    await post(cold.url, suggestions());
    await phase("tag suggestion, warm (TAG_CACHE_MS 30 s)", warm, 1, settings.suggestions, suggestions);
    await phase("tag suggestion, cold (TAG_CACHE_MS=0)", cold, 1, settings.suggestions, suggestions);
    return {
      counts,
      notes: [
        "The bot on STORE=cosmos (a child process, as `npm start` runs it) against @vercel/cosmosdb-server in memory, through a proxy that counts every request; creates and suggestions are sent over HTTP as Teams sends them.",
        "A create also reads the triage channel setting when its cache (TAG_CACHE_MS) has expired, and after a tagged create that instance's next suggestion reads the store again (on Cosmos DB, every tag of the window: its tag-day chunks carry no order of writes to resume from).",
        "Not counted per operation: each instance's first turn, and then at most one a minute, starts a sweep for unsent triage notices (1 query + its query plan).",
        "Latencies are against an in-memory server on loopback and say nothing of a real account.",
      ],
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await connector.close();
    await proxy.close();
    await server.close();
  }
}
