import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The Bot Connector at serviceUrl, as small and fast as possible: it drains the body and answers
 * with an activity id, keeping only counts. A create's PUT (the card updated for everyone) goes here.
 */
export interface BenchConnector {
  url: string;
  /** Requests by method, and TCP connections the bot opened to send them. */
  counts: { post: number; put: number; other: number; connections: number };
  close(): Promise<void>;
}

export async function startBenchConnector(): Promise<BenchConnector> {
  const counts = { post: 0, put: 0, other: 0, connections: 0 };
  const answer = Buffer.from(JSON.stringify({ id: "activity-1" }));
  const server = http.createServer((req, res) => {
    if (req.method === "PUT") counts.put++;
    else if (req.method === "POST") counts.post++;
    else counts.other++;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on("connection", () => counts.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
