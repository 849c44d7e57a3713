import fs from "node:fs";
import path from "node:path";

/** The parts of a .cpuprofile (Chrome DevTools format, written by node --cpu-prof) used here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  /** "function (file:line)" */
  frame: string;
  /** Where the code lives: ours (src/...), a package, node internals, the engine. */
  area: string;
  ms: number;
  /** Share of the sampled time in the window, in %. */
  pct: number;
}

export interface ProfileSummary {
  windowMs: number;
  samples: number;
  /** Time not idle, in % of the window. */
  busyPct: number;
  /** Self time per function, highest first. */
  topSelf: Frame[];
  /** Inclusive time of our own functions (src/), highest first. */
  topOursInclusive: Frame[];
  /** Self time per area. */
  byArea: { area: string; ms: number; pct: number }[];
  /** Self time per group of areas (whose work it is). */
  byGroup: { group: string; ms: number; pct: number }[];
}

function areaOf(url: string, functionName: string, root: string): string {
  if (!url) {
    if (functionName === "(idle)") return "idle";
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "engine/native";
    return "native";
  }
  const file = url.replace(/^file:\/\//, "");
  const nm = file.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = file.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (file.startsWith("node:")) return "node internals";
  if (file.startsWith(root)) return path.relative(root, file).split(path.sep).slice(0, 2).join("/");
  return "other";
}

function label(frame: CpuProfile["nodes"][number]["callFrame"], root: string): string {
  const file = frame.url.replace(/^file:\/\//, "");
  const nm = file.lastIndexOf("/node_modules/");
  // Our TypeScript runs through tsx: profile line numbers are of the generated code, so only the file is named.
  const where = !file ? "" : nm >= 0 ? `${file.slice(nm + "/node_modules/".length)}:${frame.lineNumber + 1}` : file.startsWith(root) ? path.relative(root, file) : `${file}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${where ? ` (${where})` : ""}`;
}

/** Areas grouped by whose work they are, for the report. */
export function groupOf(area: string): string {
  if (area.startsWith("src/")) return "our code (src/)";
  if (area === "adaptivecards-templating" || area === "adaptive-expressions" || area.startsWith("antlr4")) return "card templates (adaptivecards-templating, adaptive-expressions)";
  if (area === "better-sqlite3") return "SQLite (better-sqlite3)";
  if (/^(pino|@pinojs\/|sonic-boom|quick-format-unescaped|fast-redact|thread-stream|on-exit-leak-free|atomic-sleep|fast-safe-stringify)/.test(area)) return "logging (pino)";
  if (/^(botframework-connector|@azure\/|@typespec\/|@azure-rest\/|node-fetch|agentkeepalive|jsonwebtoken|jwks-rsa|@azure\/msal)/.test(area)) return "connector client (botframework-connector, @azure/core-*): the card update";
  if (/^(botbuilder|botframework-schema|restify|find-my-way|zod|formidable|once|wrappy|assert-plus|csv|mime|negotiator|send|spdy|http-deceiver|lru-cache|uuid|dayjs|dotenv)/.test(area)) return "bot stack (botbuilder, restify, zod)";
  if (area === "node internals" || area === "native" || area === "engine/native") return "Node.js, V8 and system calls";
  if (area === "GC") return "garbage collection";
  if (area === "idle") return "idle";
  return "other";
}

/**
 * Self and inclusive time per function over the samples taken between `fromUs` and `toUs`
 * (the child's monotonic clock, which is also the profile's), so start-up is left out.
 */
export function summariseProfile(file: string, root: string, fromUs?: number, toUs?: number, top = 15): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, { ms: number; area: string }>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let t = profile.startTime;
  let windowUs = 0;
  let idleUs = 0;
  let samples = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if ((fromUs !== undefined && t < fromUs) || (toUs !== undefined && t > toUs)) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (dt <= 0) continue;
    samples++;
    windowUs += dt;
    const node = byId.get(profile.samples[i]!)!;
    const area = areaOf(node.callFrame.url, node.callFrame.functionName, root);
    if (area === "idle") idleUs += dt;
    const key = label(node.callFrame, root);
    const s = self.get(key) ?? { ms: 0, area };
    s.ms += dt / 1000;
    self.set(key, s);
    areas.set(area, (areas.get(area) ?? 0) + dt / 1000);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (!n.callFrame.url.replace(/^file:\/\//, "").startsWith(path.join(root, "src"))) continue;
      const k = label(n.callFrame, root);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt / 1000);
    }
  }
  const windowMs = windowUs / 1000;
  const groups = new Map<string, number>();
  for (const [area, v] of areas) groups.set(groupOf(area), (groups.get(groupOf(area)) ?? 0) + v);
  const pct = (ms: number) => Math.round((ms / windowMs) * 1000) / 10;
  const ms = (v: number) => Math.round(v * 10) / 10;
  return {
    windowMs: ms(windowMs),
    samples,
    busyPct: pct(windowMs - idleUs / 1000),
    topSelf: [...self.entries()]
      .filter(([, v]) => v.area !== "idle")
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([frame, v]) => ({ frame, area: v.area, ms: ms(v.ms), pct: pct(v.ms) })),
    topOursInclusive: [...inclusive.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, v]) => ({ frame, area: areaOf(`file://${path.join(root, frame.replace(/^.*\(|\)$/g, ""))}`, "", root), ms: ms(v), pct: pct(v) })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, v]) => ({ area, ms: ms(v), pct: pct(v) })),
    byGroup: [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([group, v]) => ({ group, ms: ms(v), pct: pct(v) })),
  };
}
