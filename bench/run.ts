/**
 * `npm run bench`: how close the bot runs to its own stack's floor (issue #7).
 *
 *   npm run bench                  every scenario, measured: bench/results/latest.json and the
 *                                  generated part of docs/performance.md (~5-6 minutes)
 *   npm run bench -- --smoke       every scenario with tiny counts: checks that the suite runs and
 *                                  writes bench/results/smoke.json; checks no target (CI)
 *   npm run bench -- --only=tags,search  some scenarios: bench/results/partial.json, docs untouched
 *   npm run bench -- --report      re-renders docs/performance.md from bench/results/latest.json
 *
 * Everything runs on loopback, every run is bounded by a duration and a request count, and the
 * servers under test run in child processes that are stopped at the end. Targets are checked here,
 * in the report, never in timed tests.
 */
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./lib/child";
import { loadNow, machine, type Machine } from "./lib/machine";
import { evaluate, renderReport, writeReport, type Target } from "./lib/report";
import { benchCards, type CardSize } from "./scenarios/cards";
import { benchCosmos, type CosmosResult } from "./scenarios/cosmos";
import { benchCreate, type CreateResult } from "./scenarios/create";
import { benchExtract, type ExtractResult } from "./scenarios/extract";
import { benchOwners, type OwnerResult } from "./scenarios/owners";
import { benchProfile, type ProfileResult } from "./scenarios/profile";
import { benchSearch, SEARCH_SETTINGS, type SearchResult } from "./scenarios/search";
import { benchSentinel, type SentinelResult } from "./scenarios/sentinel";
import { benchStartup, type StartupResult } from "./scenarios/startup";
import { benchTags, type TagResult } from "./scenarios/tags";

/** `load`: the machine's 1-minute load average when the scenario started and ended. */
export type Outcome<T> = ({ ok: true; result: T } | { ok: false; error: string }) & { seconds: number; load: [number, number] };

export interface Results {
  kind: "full" | "smoke" | "partial";
  machine: Machine;
  seconds: number;
  scenarios: {
    create?: Outcome<CreateResult>;
    tags?: Outcome<TagResult>;
    owners?: Outcome<OwnerResult>;
    cosmos?: Outcome<CosmosResult>;
    startup?: Outcome<StartupResult>;
    cards?: Outcome<CardSize[]>;
    profile?: Outcome<ProfileResult>;
    sentinel?: Outcome<SentinelResult>;
    search?: Outcome<SearchResult>;
    extract?: Outcome<ExtractResult>;
  };
  targets: Target[];
}

const SCENARIOS = ["create", "tags", "owners", "cosmos", "startup", "cards", "profile", "sentinel", "search", "extract"] as const;
type Scenario = (typeof SCENARIOS)[number];

function settings(smoke: boolean) {
  return smoke
    ? {
        create: { concurrency: [1, 4], rounds: 1, durationSec: 0.3, maxRequests: 200, warmupSec: 0.2 },
        tags: { small: 200, large: 1000, control: false, rounds: 1, durationSec: 0.3, maxRequests: 200, warmupSec: 0.2, connections: 1, wholeReads: 20 },
        owners: { rounds: 1, durationSec: 0.3, maxRequests: 100, warmupSec: 0.3, connections: 1, graphDelayMs: 50 },
        cosmos: { creates: 4, burst: 2, suggestions: 3, seeded: 10 },
        startup: { starts: 1, step: 50, connections: 4, timeFirstStart: true },
        profile: { durationSec: 0.5, connections: 4 },
        // One fault (the 10th create), so the retry path runs: it waits for the bot's backoff (2.5-5 s).
        sentinel: { creates: 10, concurrency: [1, 4], faultConcurrency: [4], faultEvery: 10, updates: 2, syncSeconds: 1, syncTimeoutSec: 30 },
        search: SEARCH_SETTINGS.smoke,
        extract: { runs: 3 },
      }
    : {
        create: { concurrency: [1, 32], rounds: 5, durationSec: 1.2, maxRequests: 20_000, warmupSec: 1 },
        tags: { small: 1000, large: 100_000, control: true, rounds: 8, durationSec: 0.75, maxRequests: 20_000, warmupSec: 0.5, connections: 1, wholeReads: 500 },
        owners: { rounds: 3, durationSec: 2, maxRequests: 20_000, warmupSec: 1, connections: 1, graphDelayMs: 50 },
        cosmos: { creates: 100, burst: 8, suggestions: 50, seeded: 300 },
        startup: { starts: 5, step: 5000, connections: 8 },
        profile: { durationSec: 6, connections: 8 },
        sentinel: { creates: 300, concurrency: [1, 16], faultConcurrency: [1, 16], faultEvery: 10, updates: 20, syncSeconds: 1, syncTimeoutSec: 60 },
        search: SEARCH_SETTINGS.full,
        extract: { runs: 51 },
      };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--report")) {
    const latest = JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "results", "latest.json"), "utf8")) as Results;
    latest.targets = evaluate(latest);
    process.stdout.write(`wrote ${path.relative(ROOT, writeReport(path.join(ROOT, "docs", "performance.md"), renderReport(latest)))}\n`);
    return;
  }
  const smoke = args.includes("--smoke");
  const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",").filter(Boolean);
  for (const name of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"; there are ${SCENARIOS.join(", ")}`);
  }
  const chosen = SCENARIOS.filter((s) => !only || only.includes(s));
  const kind: Results["kind"] = smoke ? "smoke" : only ? "partial" : "full";
  const s = settings(smoke);
  const started = Date.now();
  const results: Results = { kind, machine: machine(), seconds: 0, scenarios: {}, targets: [] };
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`bench (${kind}) on ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, load average ${results.machine.loadAverage.start}`);

  const run = async <T>(name: Scenario, work: () => Promise<T> | T): Promise<Outcome<T>> => {
    log(`== ${name}`);
    const t = Date.now();
    const loadAtStart = loadNow();
    const done = () => ({ seconds: Math.round((Date.now() - t) / 100) / 10, load: [loadAtStart, loadNow()] as [number, number] });
    try {
      const result = await work();
      return { ok: true, result, ...done() };
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`  FAILED: ${message}`);
      return { ok: false, error: message.split("\n")[0]!, ...done() };
    }
  };
  const profilesDir = path.join(ROOT, "bench", "results", "profiles");
  const scenario = async (name: Scenario, say: (line: string) => void): Promise<void> => {
    switch (name) {
      case "create":
        results.scenarios.create = await run(name, () => benchCreate(s.create, say));
        break;
      case "tags":
        results.scenarios.tags = await run(name, () => benchTags(s.tags, say));
        break;
      case "owners":
        results.scenarios.owners = await run(name, () => benchOwners(s.owners, say));
        break;
      case "cosmos":
        results.scenarios.cosmos = await run(name, () => benchCosmos(s.cosmos, say));
        break;
      case "startup":
        results.scenarios.startup = await run(name, () => benchStartup(s.startup, say));
        break;
      case "cards":
        results.scenarios.cards = await run(name, () => benchCards());
        break;
      case "profile":
        results.scenarios.profile = await run(name, () => benchProfile({ ...s.profile, outDir: profilesDir }));
        break;
      case "sentinel":
        results.scenarios.sentinel = await run(name, () => benchSentinel(s.sentinel, say));
        break;
      case "search":
        results.scenarios.search = await run(name, () => benchSearch(s.search, say));
        break;
      case "extract":
        results.scenarios.extract = await run(name, () => benchExtract(s.extract, say));
        break;
    }
  };
  // One scenario at a time, the smoke run too: side by side on 2 cores (the start-up scenario compiles the
  // project meanwhile), a bench child's Cosmos DB test server missed the store's 5 s start-up budget.
  for (const name of chosen) await scenario(name, smoke ? (line) => log(`[${name}] ${line.trim()}`) : log);
  results.machine.loadAverage.end = loadNow();
  results.seconds = Math.round((Date.now() - started) / 1000);
  results.targets = evaluate(results);

  const file = path.join(ROOT, "bench", "results", `${kind === "full" ? "latest" : kind}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(ROOT, file)} (${results.seconds} s)`);
  if (kind === "full") {
    const doc = writeReport(path.join(ROOT, "docs", "performance.md"), renderReport(results));
    log(`wrote ${path.relative(ROOT, doc)}`);
  }
  if (!smoke) for (const t of results.targets) log(`  ${t.met === undefined ? "n/a " : t.met ? "met " : "MISS"}  ${t.name}: ${t.measured} (target ${t.target})`);

  const failed = Object.entries(results.scenarios).filter(([, o]) => !o.ok);
  if (smoke) {
    // The smoke run checks that every scenario ran and that the JSON reads back; not the targets.
    const back = JSON.parse(fs.readFileSync(file, "utf8")) as Results;
    const missing = chosen.filter((n) => !back.scenarios[n]);
    if (missing.length || failed.length) {
      log(`smoke: FAILED (${[...failed.map(([n]) => n), ...missing].join(", ")})`);
      process.exitCode = 1;
    } else log("smoke: every scenario ran");
  } else if (failed.length) {
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
