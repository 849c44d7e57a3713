import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { GraphTarget } from "./graph-child";

export const ROOT = path.resolve(__dirname, "..", "..");

/**
 * bot: the real bot from an environment (with `graph`, its directory on the bench's fake Graph; `processEnv`:
 * variables the process itself must have from its start, e.g. NODE_EXTRA_CA_CERTS, or IDENTITY_ENDPOINT that
 * @azure/identity reads from process.env); floor: see floor.ts.
 */
export type ChildSpec =
  | { kind: "bot"; env: Record<string, string>; graph?: GraphTarget; processEnv?: Record<string, string> }
  | { kind: "floor" };

export type ChildRequest = { cmd: "mem" | "mark" | "cpu" | "stop"; id: number };

export interface ChildMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Whether a full GC ran first (--expose-gc). */
  gc: boolean;
}

export type ChildReply =
  | { cmd: "ready"; url: string }
  | { cmd: "mem"; id: number; mem: ChildMemory }
  | { cmd: "mark"; id: number; hrtimeUs: number }
  | { cmd: "cpu"; id: number; cpuUs: number };

export interface Child {
  url: string;
  pid: number;
  memory(): Promise<ChildMemory>;
  /** The child's monotonic clock in µs (the clock of --cpu-prof timestamps). */
  mark(): Promise<number>;
  /** CPU time (user + system) the child has used so far, in µs. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts bench/child.ts in a new Node process (TypeScript through tsx), with extra node flags. */
export async function startChild(spec: ChildSpec, nodeFlags: string[] = []): Promise<Child> {
  const child: ChildProcess = fork(path.join(ROOT, "bench", "child.ts"), [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx", "--disable-warning=DEP0111", ...nodeFlags],
    env: { ...process.env, ...(spec.kind === "bot" && spec.processEnv), BENCH_CHILD: JSON.stringify(spec) },
    // The bot logs at info to stdout, as in production; nobody reads it here.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  let nextId = 1;
  const pending = new Map<number, (reply: ChildReply) => void>();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bench child did not start within 60 s")), 60_000);
    child.on("message", (reply: ChildReply) => {
      if (reply.cmd === "ready") {
        clearTimeout(timer);
        resolve(reply.url);
      } else {
        pending.get(reply.id)?.(reply);
        pending.delete(reply.id);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the bench child exited with ${code} before it was ready`));
    });
  });
  const ask = (cmd: "mem" | "mark" | "cpu") =>
    new Promise<ChildReply>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ cmd, id } satisfies ChildRequest, (error) => error && reject(error));
    });
  return {
    url,
    pid: child.pid!,
    memory: async () => {
      const reply = await ask("mem");
      if (reply.cmd !== "mem") throw new Error("unexpected reply");
      return reply.mem;
    },
    mark: async () => {
      const reply = await ask("mark");
      if (reply.cmd !== "mark") throw new Error("unexpected reply");
      return reply.hrtimeUs;
    },
    cpu: async () => {
      const reply = await ask("cpu");
      if (reply.cmd !== "cpu") throw new Error("unexpected reply");
      return reply.cpuUs;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.send({ cmd: "stop", id: 0 } satisfies ChildRequest);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts several children at once; if one fails, stops the others and throws. */
export async function startChildren(specs: { spec: ChildSpec; nodeFlags?: string[] }[]): Promise<Child[]> {
  const settled = await Promise.allSettled(specs.map((s) => startChild(s.spec, s.nodeFlags)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === "fulfilled" ? s.value.stop() : Promise.resolve())));
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<Child>).value);
}
