import path from "node:path";
import { startChildren, type Child } from "../lib/child";
import { startBenchConnector } from "../lib/connector";
import { botEnv, post, scratchDir } from "../lib/bot-env";
import { createActivities } from "../lib/data";
import { round } from "../lib/load";
import { describe, measure, summarise, type Measured, type Summary } from "../lib/measure";
import { settled } from "../lib/settle";

export interface CreateSettings {
  concurrency: number[];
  rounds: number;
  durationSec: number;
  maxRequests: number;
  warmupSec: number;
}

export interface CreateRow {
  connections: number;
  floor: Summary;
  create: Summary;
  /** Diagnostic: creates whose invoke carries no replyToId, so no card update is sent. */
  createNoUpdate: Summary;
  /** create / floor */
  p50Ratio: number;
  p99Ratio: number;
  rpsRatio: number;
  cpuRatio: number;
}

export interface CreateResult {
  rows: CreateRow[];
  /** Incidents created in the run (warm-up included) and card updates the connector received. */
  creates: number;
  connectorPuts: number;
}

/**
 * Creating an incident against the floor, in the same run: both servers run in their own process,
 * rounds alternate between them (ABBA), and each figure is the median over rounds.
 */
export async function benchCreate(settings: CreateSettings, log: (line: string) => void): Promise<CreateResult> {
  const connector = await startBenchConnector();
  const scratch = scratchDir("create");
  const [bot, floor] = (await startChildren([{ spec: { kind: "bot", env: botEnv(path.join(scratch.dir, "incidents.db")) } }, { spec: { kind: "floor" } }])) as [Child, Child];
  try {
    const body = createActivities(connector.url);
    // Diagnostic: the same creates without replyToId, so the bot has no card message to update.
    const noUpdate = createActivities(connector.url, 1, { updateCard: false });
    // Both answer what they should before anything is timed.
    const check = await post(bot.url, body());
    if (check.status !== 200 || !/created/.test(JSON.stringify(check.json?.value?.body?.[0] ?? ""))) {
      throw new Error(`the bot did not create an incident: ${check.status} ${JSON.stringify(check.json).slice(0, 300)}`);
    }
    const floorCheck = await post(floor.url, body());
    if (floorCheck.status !== 200 || floorCheck.json?.type !== "application/vnd.microsoft.card.adaptive") {
      throw new Error(`the floor did not answer with a card: ${floorCheck.status} ${JSON.stringify(floorCheck.json).slice(0, 300)}`);
    }
    let creates = 1;
    for (const target of [floor, bot]) {
      const warm = await measure(target, { connections: 8, durationSec: settings.warmupSec, maxRequests: 5000, body });
      if (target === bot) creates += warm.ok;
    }
    const rows: CreateRow[] = [];
    for (const connections of settings.concurrency) {
      const runs: Record<"floor" | "create" | "no-update", Measured[]> = { floor: [], create: [], "no-update": [] };
      for (let round = 0; round < settings.rounds; round++) {
        const order = round % 2 === 0 ? (["floor", "create", "no-update"] as const) : (["no-update", "create", "floor"] as const);
        for (const which of order) {
          const target = which === "floor" ? floor : bot;
          const puts = connector.counts.put;
          const result = await measure(target, { connections, durationSec: settings.durationSec, maxRequests: settings.maxRequests, body: which === "no-update" ? noUpdate : body });
          // Requests still in flight when a timed run ends finish afterwards: let their card updates land.
          await settled(() => connector.counts.put);
          if (result.non2xx || result.errors) throw new Error(`${which} at c=${connections}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
          const updates = connector.counts.put - puts;
          if (which !== "floor") creates += result.ok;
          if (which === "create" && updates < result.ok) throw new Error(`only ${updates} card updates reached the connector for ${result.ok} creates`);
          if (which === "no-update" && updates > 0) throw new Error(`${updates} card updates were sent for creates without replyToId`);
          runs[which].push(result);
          log(`  ${describe(`${which.padEnd(9)} c=${String(connections).padStart(2)} round ${round + 1}`, result)}`);
        }
      }
      const f = summarise(runs.floor);
      const c = summarise(runs.create);
      rows.push({
        connections,
        floor: f,
        create: c,
        createNoUpdate: summarise(runs["no-update"]),
        p50Ratio: round(c.p50 / f.p50, 2),
        p99Ratio: round(c.p99 / f.p99, 2),
        rpsRatio: round(c.rps / f.rps, 2),
        cpuRatio: round(c.cpuMsPerRequest / f.cpuMsPerRequest, 2),
      });
    }
    return { rows, creates, connectorPuts: connector.counts.put };
  } finally {
    await Promise.all([bot.stop(), floor.stop()]);
    await connector.close();
    scratch.remove();
  }
}
