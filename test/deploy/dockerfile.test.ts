import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTestBot } from "../support/bot";
import { ROOT } from "./bicep";

/**
 * The Dockerfile, read and partly run without Docker (no engine here): one Node 24 base pinned by digest,
 * in step with .nvmrc, engines and App Service; its health check command run against the real bot; node
 * as PID 1 with SIGTERM (the graceful stop itself: test/teams/shutdown.test.ts); npm's cache as a BuildKit
 * cache mount; and the deps stage's clean-up of better-sqlite3's build leftovers, run on a copy of the
 * installed package, which must still open a database afterwards.
 */

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(): { op: string; args: string }[] {
  const text = read("Dockerfile")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}
const INSTRUCTIONS = instructions();
const all = (op: string) => INSTRUCTIONS.filter((i) => i.op === op).map((i) => i.args);
const one = (op: string) => {
  const found = all(op);
  if (found.length !== 1) throw new Error(`the Dockerfile has ${found.length} ${op} instructions, expected 1`);
  return found[0]!;
};

describe("Dockerfile", () => {
  it("builds every stage on one Node base pinned by digest, the same major as .nvmrc, engines and App Service", () => {
    const image = /^NODE_IMAGE=(\S+)$/.exec(one("ARG"))?.[1];
    const pinned = /^node:(\d+)-bookworm-slim@sha256:[0-9a-f]{64}$/.exec(image ?? "");
    expect(pinned).not.toBeNull();
    const major = pinned![1];
    expect(all("FROM").map((from) => from.replace(/\s+AS\s+\w+$/i, ""))).toEqual([
      "${NODE_IMAGE}",
      "${NODE_IMAGE}",
      "${NODE_IMAGE}",
    ]);
    expect(read(".nvmrc").trim()).toBe(major);
    expect(JSON.parse(read("package.json")).engines.node).toBe(`>=${major}`);
    expect(read("infra/azure.bicep")).toContain(`'NODE|${major}-lts'`);
  });

  it("keeps npm's cache in a BuildKit cache mount, not in a layer", () => {
    const installs = all("RUN").filter((run) => run.includes("npm ci"));
    expect(installs).toHaveLength(2);
    for (const run of installs) expect(run).toMatch(/^--mount=type=cache,target=\/root\/\.npm\b/);
    expect(read("Dockerfile")).not.toContain("npm cache clean");
  });

  it("runs node itself as PID 1 and stops it with SIGTERM", () => {
    expect(JSON.parse(one("CMD"))).toEqual(["node", "--enable-source-maps", "dist/index.js"]);
    expect(one("STOPSIGNAL")).toBe("SIGTERM");
    expect(one("USER")).toBe("node");
  });

  it("its health check passes while the bot answers and fails once it is gone", async () => {
    const exec = one("HEALTHCHECK").replace(/^.*?\bCMD\s+/, "");
    const [program, ...args] = JSON.parse(exec) as string[];
    expect(program).toBe("node");
    const bot = await startTestBot();
    const port = new URL(bot.app.url).port;
    // Asynchronously: the bot answers from this process.
    const check = () =>
      new Promise<number | null>((resolve) => {
        const child = execFile(process.execPath, args, { env: { ...process.env, PORT: port }, timeout: 30_000 });
        child.on("exit", (code) => resolve(code));
      });
    try {
      expect(await check()).toBe(0);
    } finally {
      await bot.stop();
    }
    expect(await check()).toBe(1);
  });

  it("drops better-sqlite3's build leftovers and keeps an addon that still opens a database", () => {
    const deps = all("RUN").find((run) => run.includes("npm ci --omit=dev"));
    const cleanUp = deps
      ?.split(/\s+&&\s+/)
      .slice(1)
      .join(" && ");
    expect(cleanUp).toMatch(/^cd node_modules\/better-sqlite3 && /);

    // A copy of the installed package (built by `npm ci` for this Node) and what it needs to load.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "soc-bot-docker-"));
    try {
      for (const pkg of ["better-sqlite3", "bindings", "file-uri-to-path"]) {
        fs.cpSync(path.join(ROOT, "node_modules", pkg), path.join(dir, "node_modules", pkg), { recursive: true });
      }
      const copy = path.join(dir, "node_modules", "better-sqlite3");
      expect(fs.existsSync(path.join(copy, "deps"))).toBe(true);
      execFileSync("sh", ["-c", cleanUp!], { cwd: dir });

      expect(fs.readdirSync(copy).sort()).toEqual(["LICENSE", "README.md", "binding.gyp", "build", "lib", "package.json"]);
      expect(fs.readdirSync(path.join(copy, "build"), { recursive: true })).toEqual([
        "Release",
        path.join("Release", "better_sqlite3.node"),
      ]);
      const opened = execFileSync(
        process.execPath,
        [
          "-e",
          "const D = require('better-sqlite3'); const db = new D(':memory:'); console.log(db.prepare('select 6 * 7 as n').get().n)",
        ],
        { cwd: dir, encoding: "utf8" },
      );
      expect(opened.trim()).toBe("42");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
