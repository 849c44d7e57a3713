import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ConnectorCall {
  method: string;
  path: string;
  body: any;
  /** The request's headers (authorization: the bot's own token when it is not in local mode). */
  headers: http.IncomingHttpHeaders;
  /** Whether the connector has answered it yet. */
  answered: boolean;
}

/**
 * A small stand-in for the Bot Connector at `serviceUrl`: records what the bot sends
 * (POST .../activities to send, PUT .../activities/{id} to update) and answers as the connector does.
 */
export interface FakeConnector {
  url: string;
  calls: ConnectorCall[];
  /** Sent messages (POST), in order. */
  sent(): any[];
  /** Updated messages (PUT), in order, with the id that was updated. */
  updated(): { id: string; activity: any }[];
  /** Waits until `count` calls have arrived (bounded by the test timeout). */
  waitForCalls(count: number): Promise<void>;
  /** Makes the next calls fail with this HTTP status. */
  failNext(times: number, status: number): void;
  /** Answers every call from now on only after `ms` (a slow connector). */
  answerAfter(ms: number): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startConnector(): Promise<FakeConnector> {
  const calls: ConnectorCall[] = [];
  let failures = 0;
  let failStatus = 500;
  let counter = 0;
  let delayMs = 0;
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const call: ConnectorCall = { method: req.method ?? "", path: decodeURIComponent(req.url ?? ""), body: text ? JSON.parse(text) : undefined, headers: req.headers, answered: false };
      calls.push(call);
      waiters.splice(0).forEach((w) => w());
      res.setHeader("content-type", "application/json");
      const answer = () => {
        call.answered = true;
        if (failures > 0) {
          failures--;
          res.statusCode = failStatus;
          res.end(JSON.stringify({ error: { code: "ServiceError", message: "injected failure" } }));
          return;
        }
        res.end(JSON.stringify({ id: `activity-${++counter}` }));
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    sent: () => calls.filter((c) => c.method === "POST").map((c) => c.body),
    updated: () =>
      calls.filter((c) => c.method === "PUT").map((c) => ({ id: c.path.split("/").pop() ?? "", activity: c.body })),
    waitForCalls: async (count) => {
      while (calls.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    answerAfter: (ms) => {
      delayMs = ms;
    },
    failNext: (times, status) => {
      failures = times;
      failStatus = status;
    },
    reset: () => {
      calls.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
