import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from "botbuilder";
import restify from "restify";
import type { IncidentService } from "../incidents/service";
import type { Logger } from "../log";
import { IncidentBot } from "./bot";
import { errorResponse } from "./invoke";

export interface ServerOptions {
  port: number;
  host: string;
  maxBodyBytes: number;
  botFramework: ConfigurationBotFrameworkAuthenticationOptions;
  service: IncidentService;
  log: Logger;
  /** Shown by /healthz. */
  describe: Record<string, string | boolean>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting requests and waits for those in flight. */
  close(): Promise<void>;
}

/** The HTTP side: restify for transport, CloudAdapter for Bot Framework auth and the wire protocol. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication(options.botFramework));
  const bot = new IncidentBot(options.service, log);

  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    log.error({ err: error, activityId: context.activity.id }, "unhandled error in a turn");
    if (context.activity.type === "invoke") {
      await context.sendActivity({
        type: "invokeResponse",
        value: errorResponse(500, "InternalError", "Something went wrong on our side. Nothing was saved; please try again."),
      });
    } else {
      await context.sendActivity("Something went wrong on our side. Nothing was saved; please try again.");
    }
  };

  const server = restify.createServer({ name: "soc-incident-bot", handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: options.maxBodyBytes, mapParams: false, mapFiles: false }));

  server.get("/healthz", (_req, res, next) => {
    res.send(200, { status: "ok", ...options.describe });
    next();
  });

  server.post("/api/messages", async (req, res) => {
    const activity = req.body as { id?: unknown; type?: unknown; name?: unknown } | undefined;
    if (typeof activity !== "object" || activity === null || Array.isArray(activity) || typeof activity.type !== "string" || !activity.type) {
      res.send(400, { code: "BadRequest", message: "The body must be a Bot Framework activity: a JSON object with a type." });
      return;
    }
    const turnLog = log.child({ activityId: activity?.id, activityType: activity?.type, invoke: activity?.name });
    const started = process.hrtime.bigint();
    try {
      await adapter.process(req, res, (context) => bot.run(context));
    } catch (error) {
      turnLog.error({ err: error }, "request failed");
      if (!res.headersSent) res.send(500, { code: "InternalError", message: "The request could not be processed." });
    }
    turnLog.debug({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, "activity handled");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address()).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        server.server.closeIdleConnections?.();
      }),
  };
}
