import { ActivityTypes, type Middleware, type TurnContext } from "botbuilder";
import type { Logger } from "../log";

/**
 * Where the bot may send its token: the Bot Connector hosts of the Teams clouds (public, GCC, GCC High,
 * DoD). botbuilder attaches the bot's token to whatever `serviceUrl` it is given, so this list is the
 * bot's own check, on every activity and on every stored conversation reference it posts to.
 */
export const TEAMS_SERVICE_URLS = [
  "https://smba.trafficmanager.net/",
  "https://smba.infra.gcc.teams.microsoft.com/",
  "https://smba.infra.gov.teams.microsoft.us/",
  "https://smba.infra.dod.teams.microsoft.us/",
] as const;

/** In local mode (no token at all): this machine only, as the Agents Playground and the tests are. */
export const LOOPBACK_SERVICE_URLS = ["http://localhost:", "http://127.0.0.1:", "http://[::1]:"] as const;

/** Whether `serviceUrl` starts with one of the trusted prefixes (scheme and host compared in lower case). */
export function isTrustedServiceUrl(serviceUrl: unknown, trusted: readonly string[]): boolean {
  if (typeof serviceUrl !== "string") return false;
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  const normal = `${url.protocol}//${url.host}${url.pathname}`.toLowerCase();
  return trusted.some((prefix) => normal.startsWith(prefix.toLowerCase()));
}

/**
 * Botbuilder middleware, after the token check: an activity whose `serviceUrl` is not trusted goes
 * no further, so nothing is ever sent there. An invoke gets a 403 answer in the HTTP response itself.
 */
export class ServiceUrlGuard implements Middleware {
  constructor(
    private readonly trusted: readonly string[],
    private readonly log: Logger,
  ) {}

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const { activity } = context;
    if (isTrustedServiceUrl(activity.serviceUrl, this.trusted)) return next();
    this.log.warn({ activityType: String(activity.type).slice(0, 60) }, "activity refused: its serviceUrl is not a trusted host");
    if (activity.type === "invoke") {
      const message = "This bot answers Microsoft Teams only. Nothing was processed.";
      await context.sendActivity({
        type: ActivityTypes.InvokeResponse,
        value: {
          status: 403,
          body: { statusCode: 403, type: "application/vnd.microsoft.error", value: { code: "Forbidden", message } },
        },
      });
    }
  }
}
