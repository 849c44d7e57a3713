import fs from "node:fs";
import path from "node:path";
import { ROOT, startChild } from "../lib/child";
import { startBenchConnector } from "../lib/connector";
import { botEnv, scratchDir } from "../lib/bot-env";
import { createActivities } from "../lib/data";
import { runLoad, type LoadResult } from "../lib/load";
import { summariseProfile, type ProfileSummary } from "../lib/profile";

export interface ProfileResult {
  load: LoadResult;
  profileFile: string;
  summary: ProfileSummary;
}

/** The create path under load in a child started with --cpu-prof; only the loaded window is summarised. */
export async function benchProfile(settings: { durationSec: number; connections: number; outDir: string }): Promise<ProfileResult> {
  const connector = await startBenchConnector();
  const scratch = scratchDir("profile");
  // Every thread writes a profile (tsx's module hooks run in one of their own): a fresh directory
  // per run, and the main thread's file (thread id 0 in the default name) is the one read.
  const dir = path.resolve(settings.outDir, `create-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  // Keep the last few runs' profiles only.
  const earlier = fs.readdirSync(settings.outDir).filter((d) => /^create-\d+$/.test(d)).sort();
  for (const old of earlier.slice(0, Math.max(0, earlier.length - 3))) fs.rmSync(path.join(settings.outDir, old), { recursive: true, force: true });
  const bot = await startChild({ kind: "bot", env: botEnv(path.join(scratch.dir, "incidents.db")) }, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  try {
    const body = createActivities(connector.url);
    await runLoad({ url: bot.url, connections: settings.connections, durationSec: 1, maxRequests: 2000, body });
    const from = await bot.mark();
    const load = await runLoad({ url: bot.url, connections: settings.connections, durationSec: settings.durationSec, maxRequests: 50_000, body });
    const to = await bot.mark();
    await bot.stop();
    const main = fs.readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (!main) throw new Error(`no main-thread profile in ${dir}: ${fs.readdirSync(dir).join(", ")}`);
    const file = path.join(dir, main);
    return { load, profileFile: path.relative(ROOT, file), summary: summariseProfile(file, ROOT, from, to) };
  } finally {
    await bot.stop();
    await connector.close();
    scratch.remove();
  }
}
