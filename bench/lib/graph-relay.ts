import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeGraph } from "../../test/support/fake-graph";

/**
 * The fake Graph is reached through its own `fetch` (it maps the https base URL to itself); a bot
 * in another process reaches it through this relay on loopback, which hands every request to it.
 */
export async function startGraphRelay(fake: FakeGraph): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers.set(k, v);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      fake
        .fetch(`${fake.baseUrl}${req.url ?? "/"}`, { method: req.method ?? "GET", headers, ...(body && { body }) })
        .then(async (answer) => {
          const text = Buffer.from(await answer.arrayBuffer());
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json", "content-length": text.length });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
