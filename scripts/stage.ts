/**
 * `npm run stage`: the folder the bot runs from in production, as the Dockerfile builds it and as `atk deploy`
 * ships it to App Service (m365agents.yml): dist/ compiled from src/, the card templates (cards/, read at run
 * time), package.json, package-lock.json and the production dependencies only (`npm ci --omit=dev`). Start it
 * with `node dist/index.js` in that folder.
 *
 *   npm run stage                          # .deployment/app
 *   npm run stage -- --out <folder>        # somewhere else (emptied first)
 *
 * better-sqlite3 is compiled (or its prebuilt binary fetched) for THIS machine: stage on Linux x64 for App Service.
 * Only STORE=sqlite loads it; the production shape (STORE=cosmos) never does.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
export const DEFAULT_STAGE = join(ROOT, ".deployment", "app");

export interface StageOptions {
  /** Emptied, then filled. */
  outDir: string;
  /** Extra arguments for `npm ci --omit=dev` (tests: --offline --ignore-scripts). */
  npmArgs?: string[];
  /** Where the compiler's and npm's output goes (default: this process's). */
  stdio?: "inherit" | "pipe";
}

export function stage(options: StageOptions): string {
  const out = resolve(options.outDir);
  if (out === ROOT || ROOT.startsWith(`${out}/`)) throw new Error(`refusing to empty ${out}: it holds the project`);
  const stdio = options.stdio ?? "inherit";
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // tsc straight into the stage: the project's own dist/ is left as it is.
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(out, "dist")], {
    cwd: ROOT,
    stdio,
  });
  for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(out, file));
  cpSync(join(ROOT, "cards"), join(out, "cards"), { recursive: true });
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--omit=dev", "--no-audit", "--no-fund", ...(options.npmArgs ?? [])], {
    cwd: out,
    stdio,
    shell: process.platform === "win32",
  });
  if (!existsSync(join(out, "dist", "index.js"))) throw new Error(`${out}/dist/index.js was not built`);
  return out;
}

if (require.main === module) {
  const at = process.argv.indexOf("--out");
  const outDir = at === -1 ? DEFAULT_STAGE : process.argv[at + 1];
  if (!outDir) {
    process.stderr.write("--out needs a folder, e.g. --out .deployment/app\n");
    process.exit(1);
  }
  const out = stage({ outDir });
  process.stdout.write(`Staged the bot in ${out}: start it there with node dist/index.js\n`);
}
