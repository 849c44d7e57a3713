import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the proxy can do to a request instead of (or after) passing it on. */
export type Fault =
  /** Answer with this status and a Cosmos-style JSON body; 429s carry x-ms-retry-after-ms. */
  | { kind: "status"; status: number; retryAfterMs?: number }
  /** Never answer (the client must time out). */
  | { kind: "stall" }
  /** Close the connection without passing the request on. */
  | { kind: "drop" }
  /** Pass the request on (the server acts on it), then close the connection instead of answering. */
  | { kind: "lose-response" }
  /** Hold the request until `release` settles, then pass it on: lets a test order a race. */
  | { kind: "hold"; release: Promise<void> };

export interface SeenRequest {
  method: string;
  /** Decoded path, e.g. /dbs/db/colls/c/docs/tags:2026-11-20 */
  path: string;
  body: string;
  isQuery: boolean;
  /** The Authorization header as sent (URL-encoded, as Cosmos DB clients send it). */
  authorization: string;
  /** The fault applied, if any. */
  fault?: Fault["kind"];
}

interface Rule {
  fault: Fault;
  match: (request: SeenRequest) => boolean;
  remaining: number;
}

/**
 * A small HTTP proxy between the Cosmos client and the test server that injects faults into the
 * next N matching requests (or all of them until cleared) and records every request it saw.
 */
export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  private rules: Rule[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly upstream = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly server: http.Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<FaultProxy> {
    const targetUrl = new URL(target);
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => proxy.handle(req, res, targetUrl));
    server.on("connection", (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on("close", () => proxy.sockets.delete(socket));
    });
    return proxy;
  }

  /** Applies `fault` to the next `times` requests that match (default: every request until `clear()`). */
  inject(fault: Fault, options: { times?: number; match?: (request: SeenRequest) => boolean } = {}): void {
    this.rules.push({ fault, match: options.match ?? (() => true), remaining: options.times ?? Infinity });
  }

  /** Removes every fault: requests pass through again. */
  clear(): void {
    this.rules = [];
  }

  /** Requests seen since `mark` (an index into `seen`). */
  since(mark: number): SeenRequest[] {
    return this.seen.slice(mark);
  }

  async close(): Promise<void> {
    this.clear();
    for (const socket of this.sockets) socket.destroy();
    this.upstream.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, target: URL): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://proxy");
      const seen: SeenRequest = {
        method: req.method ?? "GET",
        path: decodeURIComponent(url.pathname),
        body: Buffer.concat(chunks).toString("utf8"),
        isQuery: String(req.headers["x-ms-documentdb-isquery"]).toLowerCase() === "true",
        authorization: req.headers.authorization ?? "",
      };
      this.seen.push(seen);
      const rule = this.rules.find((r) => r.remaining > 0 && r.match(seen));
      if (rule) {
        rule.remaining--;
        seen.fault = rule.fault.kind;
      }
      const fault = rule?.fault;
      if (fault?.kind === "stall") return;
      if (fault?.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === "status") {
        const headers: http.OutgoingHttpHeaders = { "content-type": "application/json" };
        if (fault.retryAfterMs !== undefined) headers["x-ms-retry-after-ms"] = String(fault.retryAfterMs);
        res.writeHead(fault.status, headers);
        res.end(JSON.stringify({ code: fault.status === 429 ? "TooManyRequests" : "ServiceUnavailable", message: `Injected ${fault.status}` }));
        return;
      }
      if (fault?.kind === "hold") {
        void fault.release.finally(() => this.forward(req, res, target, chunks, undefined));
        return;
      }
      this.forward(req, res, target, chunks, fault);
    });
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, target: URL, chunks: Buffer[], fault: Fault | undefined): void {
    const headers = { ...req.headers, host: target.host };
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: this.upstream },
      (answer) => {
        if (fault?.kind === "lose-response") {
          answer.resume();
          answer.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => req.socket.destroy());
    upstream.end(Buffer.concat(chunks));
  }
}
