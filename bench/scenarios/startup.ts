import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { ROOT, startChild } from "../lib/child";
import { startBenchConnector } from "../lib/connector";
import { botEnv, scratchDir } from "../lib/bot-env";
import { createActivities } from "../lib/data";
import { median, round, runLoad } from "../lib/load";

const MB = 1024 * 1024;

export interface StartupSettings {
  /** Start-ups of `node dist/index.js` to time. */
  starts: number;
  /** Creates between the memory readings (after `step` and after 2 x `step`). */
  step: number;
  connections: number;
  /** Skip `npm run build` (dist/ is current). */
  skipBuild?: boolean;
  /** Time the first start too (by default it is discarded: right after the build, files come from disk). */
  timeFirstStart?: boolean;
}

export interface MemoryReading {
  after: string;
  creates: number;
  rssMb: number;
  heapUsedMb: number;
  /** Whether a full GC ran before the reading (--expose-gc). */
  gc: boolean;
}

export interface StartupResult {
  buildSeconds?: number;
  /** From spawn to the first 200 on /healthz, ms. */
  startupMs: { median: number; min: number; max: number; runs: number[] };
  /** RSS of `node dist/index.js` once healthy and idle for a second, MB. */
  idleRssMb: number;
  memory: MemoryReading[];
  /** Heap after GC, second step minus first step, MB: near 0 when nothing is kept per create. */
  heapGrowthSecondStepMb: number;
  rssGrowthSecondStepMb: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Spawns `node dist/index.js` as `npm start` runs it and times it until /healthz answers 200. */
async function timeOneStart(dir: string): Promise<{ ms: number; idleRss: number }> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ["--enable-source-maps", path.join(ROOT, "dist", "index.js")], {
    // Its own directory, so that a developer's .env does not apply.
    cwd: dir,
    env: { ...process.env, ...botEnv(path.join(dir, `start-${port}.db`)), PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node dist/index.js exited with ${child.exitCode}: ${stderr.slice(0, 500)}`);
      if (Date.now() > deadline) throw new Error("node dist/index.js did not answer /healthz within 30 s");
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { ms, idleRss: rssOf(child.pid!) };
  } finally {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Start-up time of the built bot to a healthy /healthz, its idle memory, and memory after
 * `step` and 2 x `step` creates in a child with --expose-gc (full GC before each reading).
 */
export async function benchStartup(settings: StartupSettings, log: (line: string) => void): Promise<StartupResult> {
  let buildSeconds: number | undefined;
  if (!settings.skipBuild) {
    const t = process.hrtime.bigint();
    await promisify(execFile)("npm", ["run", "build", "--silent"], { cwd: ROOT });
    buildSeconds = round(Number(process.hrtime.bigint() - t) / 1e9, 1);
    log(`  npm run build: ${buildSeconds} s`);
  }
  const scratch = scratchDir("startup");
  const connector = await startBenchConnector();
  try {
    const runs: number[] = [];
    const rss: number[] = [];
    // One start first, not counted: right after the build, files come from disk rather than the page cache.
    if (!settings.timeFirstStart) await timeOneStart(scratch.dir);
    for (let i = 0; i < settings.starts; i++) {
      const { ms, idleRss } = await timeOneStart(scratch.dir);
      runs.push(round(ms, 1));
      rss.push(idleRss);
      log(`  start ${i + 1}: healthy after ${round(ms, 1)} ms, RSS idle ${round(idleRss / MB, 1)} MB`);
    }

    const bot = await startChild({ kind: "bot", env: botEnv(path.join(scratch.dir, "memory.db")) }, ["--expose-gc"]);
    const memory: MemoryReading[] = [];
    try {
      const read = async (after: string, creates: number) => {
        const m = await bot.memory();
        const r = { after, creates, rssMb: round(m.rss / MB, 1), heapUsedMb: round(m.heapUsed / MB, 2), gc: m.gc };
        memory.push(r);
        log(`  memory ${after}: RSS ${r.rssMb} MB, heap ${r.heapUsedMb} MB`);
      };
      await read("idle", 0);
      const body = createActivities(connector.url);
      let creates = 0;
      for (const step of [1, 2]) {
        // In chunks, so that no single autocannon run is long; each create is checked for a 2xx.
        let left = settings.step;
        while (left > 0) {
          const n = Math.min(left, 2500);
          const result = await runLoad({ url: bot.url, connections: settings.connections, durationSec: 120, maxRequests: n, body });
          if (result.non2xx || result.errors) throw new Error(`memory run: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
          creates += result.ok;
          left -= result.ok;
        }
        await read(`${step * settings.step} creates`, creates);
      }
    } finally {
      await bot.stop();
    }
    const [, first, second] = memory;
    return {
      ...(buildSeconds !== undefined && { buildSeconds }),
      startupMs: { median: round(median(runs), 1), min: Math.min(...runs), max: Math.max(...runs), runs },
      idleRssMb: round(median(rss) / MB, 1),
      memory,
      heapGrowthSecondStepMb: round(second!.heapUsedMb - first!.heapUsedMb, 2),
      rssGrowthSecondStepMb: round(second!.rssMb - first!.rssMb, 1),
    };
  } finally {
    await connector.close();
    scratch.remove();
  }
}
