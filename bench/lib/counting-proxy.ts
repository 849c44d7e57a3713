import http from "node:http";
import type { AddressInfo } from "node:net";

export type CosmosRequestKind = "point read" | "write" | "query" | "query plan" | "other";

/** One request the client sent, as Cosmos DB would bill it. */
export interface CountedRequest {
  method: string;
  path: string;
  kind: CosmosRequestKind;
  status: number;
}

function kindOf(req: http.IncomingMessage): CosmosRequestKind {
  const h = req.headers;
  if (String(h["x-ms-cosmos-is-query-plan-request"]).toLowerCase() === "true") return "query plan";
  if (String(h["x-ms-documentdb-isquery"]).toLowerCase() === "true") return "query";
  if (req.method === "GET") return "point read";
  if (req.method === "POST" || req.method === "PUT" || req.method === "PATCH" || req.method === "DELETE") return "write";
  return "other";
}

/** A pass-through HTTP proxy in front of the Cosmos DB test server that records every request. */
export async function startCountingProxy(target: string): Promise<{ endpoint: string; seen: CountedRequest[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const seen: CountedRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: CountedRequest = { method: req.method ?? "GET", path: decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname), kind: kindOf(req), status: 0 };
    seen.push(record);
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
