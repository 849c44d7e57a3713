import {
  ActivityEventNames,
  ActivityTypes,
  CloudAdapter,
  INVOKE_RESPONSE_KEY,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from "botbuilder";
import restify from "restify";
import { z } from "zod";
import { IncidentTooLargeError } from "../incidents/errors";
import type { Logger } from "../log";
import { createAuthentication, type AuthOverrides } from "./auth";
import type { IncidentBot } from "./bot";
import { describeProblem, errorResponse } from "./invoke";
import { TOO_LARGE } from "./outage";
import { ServiceUrlGuard } from "./service-urls";
import { TenantGuard } from "./tenant-guard";

export interface ServerOptions {
  port: number;
  host: string;
  maxBodyBytes: number;
  botFramework: ConfigurationBotFrameworkAuthenticationOptions;
  /** Test and private-cloud endpoints for Bot Framework tokens; see auth.ts. */
  authOverrides?: AuthOverrides;
  /** Tenants whose activities are processed; empty or absent: every tenant. */
  allowedTenantIds?: readonly string[];
  /** The only service URLs activities may name (src/teams/service-urls.ts). */
  trustedServiceUrls: readonly string[];
  /** The bot every authenticated activity goes to (built in src/app.ts). */
  bot: Pick<IncidentBot, "run" | "settled" | "attach">;
  log: Logger;
  /** Shown by /healthz. */
  describe: Record<string, string | boolean>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The address it listens on (127.0.0.1: this machine only). */
  address: string;
  /** Stops accepting requests and waits for those in flight (a request still uploading is refused). */
  close(): Promise<void>;
}

/**
 * What every activity must carry before the bot looks at it: the Bot Connector always sends these,
 * and the bot can't answer without them. Checked before authentication; reveals nothing.
 */
const activityShape = z.object({
  type: z.string().min(1).max(64),
  serviceUrl: z
    .string({ message: "serviceUrl is missing" })
    .max(2048, "serviceUrl is too long")
    .url("serviceUrl is not a URL")
    .refine((u) => /^https?:\/\//i.test(u), "serviceUrl must be an http or https URL"),
  conversation: z.object(
    { id: z.string({ message: "conversation.id is missing" }).min(1).max(1024) },
    { message: "conversation is missing" },
  ),
  name: z.string().max(256, "name is longer than 256 characters").optional(),
});

/**
 * activityShape's rules without zod, for the activities that pass them all (nearly every one): true
 * only when activityShape would accept the activity; otherwise activityShape decides and explains.
 */
function plainlyValid(activity: { type?: unknown; name?: unknown; serviceUrl?: unknown; conversation?: unknown }): boolean {
  const { type, name, serviceUrl, conversation } = activity;
  if (typeof type !== "string" || type.length < 1 || type.length > 64) return false;
  if (name !== undefined && (typeof name !== "string" || name.length > 256)) return false;
  if (typeof serviceUrl !== "string" || serviceUrl.length > 2048 || !/^https?:\/\//i.test(serviceUrl)) return false;
  // What zod's url() checks: that new URL() takes it.
  if (!URL.canParse(serviceUrl)) return false;
  if (typeof conversation !== "object" || conversation === null || Array.isArray(conversation)) return false;
  const id = (conversation as { id?: unknown }).id;
  return typeof id === "string" && id.length >= 1 && id.length <= 1024;
}

const NOT_JSON = { code: "UnsupportedMediaType", message: "Send the activity as JSON, with Content-Type: application/json." };
const ENCODED = { code: "UnsupportedMediaType", message: "Send the activity uncompressed: Content-Encoding is not accepted." };
/** The events botbuilder runs the bot's own turns with (continueConversationAsync, createConversationAsync). */
const PROACTIVE_TURNS: ReadonlySet<string> = new Set([
  ActivityEventNames.ContinueConversation,
  ActivityEventNames.CreateConversation,
]);

const STOPPING = { code: "ServiceUnavailable", message: "The bot is restarting. Nothing was processed; try again in a moment." };

/** The HTTP side: restify for transport, CloudAdapter for Bot Framework auth and the wire protocol. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log, bot } = options;
  const adapter = new CloudAdapter(createAuthentication(options.botFramework, options.authOverrides));
  bot.attach(adapter, options.botFramework.MicrosoftAppId ?? "");
  const guard = new TenantGuard(options.allowedTenantIds ?? [], log);
  if (guard.allowsEveryTenant) log.info("ALLOWED_TENANT_IDS is empty: activities from every tenant are accepted");
  else log.info({ allowedTenants: options.allowedTenantIds?.length }, "only activities from ALLOWED_TENANT_IDS are processed");
  // Middleware runs after CloudAdapter has checked the request's token.
  adapter.use(new ServiceUrlGuard(options.trustedServiceUrls, log));
  adapter.use(guard);
  adapter.use({ onTurn: answerUnknownInvokes });

  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    // A turn the bot started itself (a triage post, a notice to a reporter): nobody to apologise to,
    // and the caller must see the failure to record it and try again.
    if (context.activity.type === "event" && PROACTIVE_TURNS.has(context.activity.name ?? "")) throw error;
    // An incident that can't hold more is no bug of the turn's: said in words, not a 500.
    const tooLarge = error instanceof IncidentTooLargeError;
    if (tooLarge) log.warn({ err: error, activityId: context.activity.id }, "an incident can't hold more; nothing was saved");
    else log.error({ err: error, activityId: context.activity.id }, "unhandled error in a turn");
    if (tooLarge && context.activity.type === "invoke") {
      await context.sendActivity({ type: "invokeResponse", value: errorResponse(413, "IncidentTooLarge", TOO_LARGE) });
    } else if (tooLarge) {
      await context.sendActivity(TOO_LARGE);
    } else if (context.activity.type === "invoke") {
      await context.sendActivity({
        type: "invokeResponse",
        value: errorResponse(500, "InternalError", "Something went wrong on our side. Nothing was saved; please try again."),
      });
    } else {
      await context.sendActivity("Something went wrong on our side. Nothing was saved; please try again.");
    }
  };

  let stopping = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const server = restify.createServer({ name: "soc-incident-bot", handleUncaughtExceptions: false });
  // Before the body is read: restify's gzip reader crashes the process on a bad stream and counts
  // compressed bytes against the size limit, and only JSON is an activity.
  server.use((req, res, next) => {
    if (req.method !== "POST") return next();
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
      res.send(415, ENCODED);
      return next(false);
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
      res.send(415, NOT_JSON);
      return next(false);
    }
    return next();
  });
  server.use(restify.plugins.bodyParser({ maxBodySize: options.maxBodyBytes, mapParams: false, mapFiles: false }));

  server.get("/healthz", (_req, res, next) => {
    if (stopping) {
      // As for /api/messages while stopping: no kept-alive connection to hold the stop open.
      res.header("connection", "close");
      res.send(503, { status: "stopping", ...options.describe });
    } else res.send(200, { status: "ok", ...options.describe });
    next();
  });

  server.post("/api/messages", async (req, res) => {
    if (stopping) {
      res.header("connection", "close");
      res.send(503, STOPPING);
      return;
    }
    const activity = req.body as
      { id?: unknown; type?: unknown; name?: unknown; serviceUrl?: unknown; conversation?: unknown } | undefined;
    if (
      typeof activity !== "object" ||
      activity === null ||
      Array.isArray(activity) ||
      typeof activity.type !== "string" ||
      !activity.type
    ) {
      res.send(400, { code: "BadRequest", message: "The body must be a Bot Framework activity: a JSON object with a type." });
      return;
    }
    if (!plainlyValid(activity)) {
      const shape = activityShape.safeParse(activity);
      if (!shape.success) {
        res.send(400, { code: "BadRequest", message: `This activity can't be used: ${describeProblem(shape.error)}.` });
        return;
      }
    }
    inFlight++;
    // Made only when something is logged (an error, or debug): most turns log nothing here.
    const turnLog = () =>
      log.child({
        activityId: String(activity.id).slice(0, 100),
        activityType: activity.type,
        invoke: typeof activity.name === "string" ? activity.name : undefined,
      });
    const started = process.hrtime.bigint();
    try {
      await adapter.process(req, withoutErrorDetail(res), (context) => bot.run(context));
    } catch (error) {
      turnLog().error({ err: error }, "request failed");
      if (!res.headersSent) res.send(500, { code: "InternalError", message: "The request could not be processed." });
    } finally {
      if (log.isLevelEnabled("debug")) {
        turnLog().debug({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, "activity handled");
      }
      const done = () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      };
      // Counted until the answer has been handed to the socket, so a stop never cuts it short.
      if (res.writableFinished || res.destroyed) done();
      else res.once("close", done);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port, address } = server.address();
  return {
    port,
    address,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
      });
      server.server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      // Work the bot started after answering (the card update for everyone) finishes too.
      await bot.settled();
      // Keep-alive connections whose last answer has gone out: nothing left to wait for.
      server.server.closeIdleConnections();
      await closed;
    },
  };
}

/**
 * The response botbuilder writes to, except that a failed turn's 5xx never carries the error's text
 * (botbuilder sends `err.message`: connector hosts and ports, store errors). The log has the details.
 */
function withoutErrorDetail(res: restify.Response) {
  let status = 200;
  return {
    socket: res.socket,
    header: (name: string, value: string) => {
      res.header(name, value);
    },
    status: (code: number) => {
      status = code;
      res.status(code);
    },
    send: (body: unknown) => {
      res.send(status >= 500 ? { code: "InternalError", message: "The request could not be processed." } : body);
    },
    end: () => {
      res.end();
    },
  };
}

/**
 * An invoke no handler answered gets botbuilder's bare 501; say instead, as for unknown verbs,
 * that this bot does not handle it (a request naming something unknown is the caller's mistake).
 */
async function answerUnknownInvokes(context: TurnContext, next: () => Promise<void>): Promise<void> {
  await next();
  if (context.activity.type !== "invoke") return;
  const answer = context.turnState.get<{ value?: { status?: number } } | undefined>(INVOKE_RESPONSE_KEY);
  if (answer?.value?.status !== undefined && answer.value.status !== 501) return;
  const name =
    typeof context.activity.name === "string" && context.activity.name ? `"${context.activity.name.slice(0, 60)}"` : "unnamed";
  context.turnState.set(INVOKE_RESPONSE_KEY, {
    type: ActivityTypes.InvokeResponse,
    value: errorResponse(400, "BadRequest", `This bot does not handle ${name} invokes.`),
  });
}
