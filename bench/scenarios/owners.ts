import path from "node:path";
import { startChildren, type Child } from "../lib/child";
import { botEnv, post, scratchDir } from "../lib/bot-env";
import { OWNER_QUERIES, searchActivities } from "../lib/data";
import { round } from "../lib/load";
import { describe, measure, summarise, type Measured, type Summary } from "../lib/measure";
import { directoryData } from "../../test/support/directory-data";
import { FakeGraph } from "../../test/support/fake-graph";
import { startGraphRelay } from "../lib/graph-relay";

export interface OwnerSettings {
  rounds: number;
  durationSec: number;
  maxRequests: number;
  warmupSec: number;
  connections: number;
  /** How long the fake Graph takes to answer each request in the cold case. */
  graphDelayMs: number;
}

export interface OwnerCase {
  name: string;
  summary: Summary;
  /** Requests the bot sent to Graph per owner search, over the measured rounds. */
  graphRequestsPerSearch?: number;
}

export interface OwnerResult {
  cases: OwnerCase[];
  graphDelayMs: number;
}

/** What people type into the owner box, for the fake Graph's sample tenant. */
const GRAPH_QUERIES = ["me", "al", "soc", "di", "lee", "ash", "ro", "isa", "ne", "nobody-here"];

/**
 * Owner typeahead: the local directory file; and the Graph directory against the fake Graph
 * (test/support/fake-graph.ts) with its cache warm (GRAPH_CACHE_MS default, every query already
 * seen) and cold (GRAPH_CACHE_MS=0, the fake answering each request after `graphDelayMs`).
 */
export async function benchOwners(settings: OwnerSettings, log: (line: string) => void): Promise<OwnerResult> {
  const scratch = scratchDir("owners");
  const fake = await FakeGraph.start(directoryData);
  const relay = await startGraphRelay(fake);
  const graphEnv = (cacheMs?: string) => ({
    DIRECTORY: "graph",
    GRAPH_TENANT_ID: "contoso.onmicrosoft.com",
    GRAPH_CLIENT_ID: "0b5c9a4e-1111-4222-8333-444455556666",
    GRAPH_CLIENT_SECRET: "not-used-the-bench-hands-a-credential",
    GRAPH_BASE_URL: fake.baseUrl,
    ANALYST_GROUP_ID: directoryData.analystGroupId,
    ...(cacheMs !== undefined && { GRAPH_CACHE_MS: cacheMs }),
  });
  const target = { origin: relay.origin, baseUrl: fake.baseUrl, token: fake.token };
  const people = [
    { id: "29:bench-megan", name: "Megan Bowen", aadObjectId: directoryData.users[0]!.id },
    { id: "29:bench-alex", name: "Alex Wilber", aadObjectId: directoryData.users[1]!.id },
  ];
  const cases: { name: string; child: Child; body: () => string; graph: boolean; delayMs: number; runs: Measured[]; graphRequests: number }[] = [];
  try {
    const db = (name: string) => path.join(scratch.dir, `${name}.db`);
    const [local, warm, cold] = (await startChildren([
      { spec: { kind: "bot", env: botEnv(db("local")) } },
      { spec: { kind: "bot", env: botEnv(db("warm"), graphEnv()), graph: target } },
      { spec: { kind: "bot", env: botEnv(db("cold"), graphEnv("0")), graph: target } },
    ])) as [Child, Child, Child];
    cases.push({
      name: "local directory file",
      child: local,
      body: searchActivities("http://127.0.0.1:9/", "owners", OWNER_QUERIES),
      graph: false,
      delayMs: 0,
      runs: [],
      graphRequests: 0,
    });
    cases.push({
      name: "Graph, cache warm",
      child: warm,
      body: searchActivities("http://127.0.0.1:9/", "owners", GRAPH_QUERIES, people),
      graph: true,
      delayMs: 0,
      runs: [],
      graphRequests: 0,
    });
    cases.push({
      name: `Graph, cache cold, Graph answering in ${settings.graphDelayMs} ms`,
      child: cold,
      body: searchActivities("http://127.0.0.1:9/", "owners", GRAPH_QUERIES, people),
      graph: true,
      delayMs: settings.graphDelayMs,
      runs: [],
      graphRequests: 0,
    });
    for (const c of cases) {
      const check = await post(c.child.url, c.body());
      if (check.status !== 200 || !Array.isArray(check.json?.value?.results)) {
        throw new Error(`owner search (${c.name}) did not answer with results: ${check.status} ${JSON.stringify(check.json).slice(0, 300)}`);
      }
      // Warm-up: every query of the set at least once, so the warm cache holds them all.
      await measure(c.child, { connections: 1, durationSec: settings.warmupSec, maxRequests: 5000, body: c.body });
    }
    for (let r = 0; r < settings.rounds; r++) {
      for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
        fake.delayMs = c.delayMs;
        const before = fake.requests.length;
        const result = await measure(c.child, { connections: settings.connections, durationSec: settings.durationSec, maxRequests: settings.maxRequests, body: c.body });
        c.graphRequests += fake.requests.length - before;
        if (result.non2xx || result.errors) throw new Error(`owners (${c.name}): ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        c.runs.push(result);
        log(`  ${describe(`${c.name}, round ${r + 1}`, result)}`);
      }
    }
    return {
      graphDelayMs: settings.graphDelayMs,
      cases: cases.map((c) => {
        const summary = summarise(c.runs);
        return { name: c.name, summary, ...(c.graph && { graphRequestsPerSearch: round(c.graphRequests / Math.max(1, summary.requests), 2) }) };
      }),
    };
  } finally {
    fake.delayMs = 0;
    await Promise.all(cases.map((c) => c.child.stop()));
    await relay.close();
    await fake.close();
    scratch.remove();
  }
}
