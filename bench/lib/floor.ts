import {
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  TeamsActivityHandler,
  type TurnContext,
} from "botbuilder";
import restify from "restify";

/**
 * The floor: the bot's own stack (restify + bodyParser, CloudAdapter in local mode, a
 * TeamsActivityHandler) answering Action.Execute with a card built once. Whatever the real bot
 * costs above this is ours.
 */
class FloorBot extends TeamsActivityHandler {
  constructor(private readonly card: Record<string, unknown>) {
    super();
  }

  protected override async onAdaptiveCardInvoke(_context: TurnContext, _value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    return { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: this.card };
  }
}

export async function startFloorServer(options: { port: number; host: string; maxBodyBytes: number; card: Record<string, unknown> }) {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const bot = new FloorBot(options.card);
  const server = restify.createServer({ name: "floor", handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: options.maxBodyBytes, mapParams: false, mapFiles: false }));
  server.post("/api/messages", async (req, res) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.server.closeIdleConnections?.();
      }),
  };
}
