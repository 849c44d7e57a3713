/**
 * A server under test, in its own process so that the load generator does not share its event
 * loop: `bot` (the real bot, started by startApp from an environment) or `floor`. Controlled over
 * IPC by bench/lib/child.ts; the spec comes in BENCH_CHILD.
 */
import { startApp } from "../src/app";
import { incidentCreatedCard } from "../src/teams/cards";
import { startFloorServer } from "./lib/floor";
import { graphDirectory } from "./lib/graph-child";
import { sampleIncident } from "./lib/data";
import type { ChildReply, ChildRequest, ChildSpec } from "./lib/child";

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_CHILD ?? "{}") as ChildSpec;
  let close: () => Promise<void>;
  let url: string;
  if (spec.kind === "bot") {
    const env = { PORT: "0", HOST: "127.0.0.1", ...spec.env };
    const app = await startApp(env, undefined, spec.graph ? { directory: graphDirectory(env, spec.graph) } : {});
    url = app.url;
    close = () => app.close();
  } else {
    const floor = await startFloorServer({ port: 0, host: "127.0.0.1", maxBodyBytes: 262_144, card: incidentCreatedCard(sampleIncident()) });
    url = floor.url;
    close = () => floor.close();
  }
  const send = (reply: ChildReply) => process.send!(reply);
  process.on("message", (request: ChildRequest) => {
    switch (request.cmd) {
      case "mem": {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc) {
          gc();
          gc();
        }
        const m = process.memoryUsage();
        send({ cmd: "mem", id: request.id, mem: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, gc: !!gc } });
        break;
      }
      case "cpu": {
        const c = process.cpuUsage();
        send({ cmd: "cpu", id: request.id, cpuUs: c.user + c.system });
        break;
      }
      case "mark":
        send({ cmd: "mark", id: request.id, hrtimeUs: Number(process.hrtime.bigint() / 1000n) });
        break;
      case "stop":
        // A normal exit, so that --cpu-prof writes its profile.
        close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        break;
    }
  });
  send({ cmd: "ready", url });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
