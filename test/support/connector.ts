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
  /** When it arrived (Date.now()). */
  at: number;
  /** The HTTP status it was answered with (0 until answered). */
  status: number;
}

/**
 * A small stand-in for the Bot Connector at `serviceUrl`: records what the bot sends
 * (POST .../activities to send, PUT .../activities/{id} to update, POST /v3/conversations to open a
 * 1:1 chat) and answers as the connector does: 201 and the bot's 1:1 chat id (the same for the same
 * person), 400 for parameters Teams rejects, 403 for a user who has not installed the app
 * (`notInstalled`); 403 for a send into a chat between two people (the bot is not in it); 429 with
 * Retry-After when told to throttle.
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
  /** Makes the next calls fail with this HTTP status (429: with a Retry-After of `retryAfterSeconds`). */
  failNext(times: number, status: number, retryAfterSeconds?: number): void;
  /** Answers calls `status` returns a number for with that HTTP status (undefined: as usual). */
  refuse(status: ((call: ConnectorCall) => number | undefined) | undefined): void;
  /** Teams user ids (29:...) for whom the app is not installed: opening a chat with them answers 403. */
  notInstalled: Set<string>;
  /** Messages sent to each conversation id (POST .../conversations/{id}/activities). */
  sentTo(conversationId: string): any[];
  /** Answers every call from now on only after `ms` (a slow connector). */
  answerAfter(ms: number): void;
  reset(): void;
  close(): Promise<void>;
}

/** A 1:1 chat between two people, as Teams names it: the bot is never in one (sends there answer 403). */
const PERSON_TO_PERSON = /^19:[^_@]+_[^_@]+@unq\.gbl\.spaces$/;

export async function startConnector(): Promise<FakeConnector> {
  const calls: ConnectorCall[] = [];
  let failures = 0;
  let failStatus = 500;
  let retryAfter: number | undefined;
  const notInstalled = new Set<string>();
  let refusal: ((call: ConnectorCall) => number | undefined) | undefined;
  let counter = 0;
  let delayMs = 0;
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const call: ConnectorCall = { method: req.method ?? "", path: decodeURIComponent(req.url ?? ""), body: text ? JSON.parse(text) : undefined, headers: req.headers, answered: false, at: Date.now(), status: 0 };
      calls.push(call);
      waiters.splice(0).forEach((w) => w());
      res.setHeader("content-type", "application/json");
      const answer = () => {
        call.answered = true;
        res.on("finish", () => (call.status = res.statusCode));
        if (failures > 0) {
          failures--;
          res.statusCode = failStatus;
          if (failStatus === 429 && retryAfter !== undefined) res.setHeader("retry-after", String(retryAfter));
          res.end(JSON.stringify({ error: { code: failStatus === 429 ? "Throttled" : "ServiceError", message: "injected failure" } }));
          return;
        }
        const refused = refusal?.(call);
        if (refused !== undefined) {
          res.statusCode = refused;
          if (refused === 429 && retryAfter !== undefined) res.setHeader("retry-after", String(retryAfter));
          res.end(JSON.stringify({ error: { code: "Refused", message: "refused by the test" } }));
          return;
        }
        if (call.method === "POST" && /\/v3\/conversations\/?$/.test(call.path)) {
          // Create conversation, as Teams answers it: a 1:1 chat needs isGroup false, exactly one member
          // and the tenant (else 400 BadSyntax); 201 with the bot's 1:1 chat id ("a:..."), the same id for
          // the same member every time (it finds the chat when it exists); 403 when the app is not
          // installed for the user.
          const members = call.body?.members;
          const tenant = call.body?.tenantId ?? call.body?.channelData?.tenant?.id;
          if (call.body?.isGroup !== false || !Array.isArray(members) || members.length !== 1 || !tenant) {
            res.statusCode = 400;
            res.end(JSON.stringify({ error: { code: "BadSyntax", message: "Incorrect conversation creation parameters" } }));
            return;
          }
          const member = members[0]?.id;
          if (notInstalled.has(member)) {
            res.statusCode = 403;
            res.end(JSON.stringify({ error: { code: "Forbidden", message: "The bot is not installed for this user." } }));
            return;
          }
          res.statusCode = 201;
          res.end(JSON.stringify({ id: `a:1:chat-with-${member}` }));
          return;
        }
        const into = /^\/v3\/conversations\/([^/]+)\/activities/.exec(call.path)?.[1];
        if (into && PERSON_TO_PERSON.test(into)) {
          // A chat between two people ("19:{user}_{user}@unq.gbl.spaces"): the bot is not in it.
          res.statusCode = 403;
          res.end(JSON.stringify({ error: { code: "BotNotInConversationRoster", message: "The bot is not part of the conversation roster." } }));
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
    failNext: (times, status, retryAfterSeconds) => {
      failures = times;
      failStatus = status;
      retryAfter = retryAfterSeconds;
    },
    notInstalled,
    refuse: (status) => {
      refusal = status;
    },
    sentTo: (conversationId) =>
      calls
        .filter((c) => c.method === "POST" && c.path.includes(`/v3/conversations/${conversationId}/activities`))
        .map((c) => c.body),
    reset: () => {
      calls.length = 0;
      notInstalled.clear();
      refusal = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
