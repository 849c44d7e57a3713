import type { Child } from "./child";
import { median, round, runLoad, type LoadOptions, type LoadResult } from "./load";

export interface Measured extends LoadResult {
  /** CPU time the server process spent per answered request, in ms (robust to other load on the machine). */
  cpuMsPerRequest: number;
}

/** One load run against a child, with the child's CPU time per request. */
export async function measure(child: Child, options: Omit<LoadOptions, "url">): Promise<Measured> {
  const before = await child.cpu();
  const result = await runLoad({ ...options, url: child.url });
  const after = await child.cpu();
  return { ...result, cpuMsPerRequest: round((after - before) / 1000 / Math.max(1, result.ok), 3) };
}

export interface Summary {
  /** Medians over the runs. */
  p50: number;
  p99: number;
  rps: number;
  cpuMsPerRequest: number;
  requests: number;
  runs: Measured[];
}

export function summarise(runs: Measured[]): Summary {
  return {
    p50: round(median(runs.map((r) => r.p50)), 3),
    p99: round(median(runs.map((r) => r.p99)), 3),
    rps: round(median(runs.map((r) => r.rps)), 1),
    cpuMsPerRequest: round(median(runs.map((r) => r.cpuMsPerRequest)), 3),
    requests: runs.reduce((s, r) => s + r.ok, 0),
    runs,
  };
}

export function describe(name: string, r: Measured): string {
  return `${name}: p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.rps} req/s, ${r.cpuMsPerRequest} ms CPU/req (${r.ok} requests)`;
}
