import { createGraphDirectory } from "./adapters/graph-directory";
import { LocalDirectory } from "./adapters/local-directory";
import { SqliteIncidentStore } from "./adapters/sqlite-store";
import { randomUUID } from "node:crypto";
import { SentinelClient, type SentinelClientOptions } from "./adapters/sentinel-client";
import { Background } from "./background";
import {
  botFrameworkSettings,
  cosmosSettings,
  graphSettings,
  isLocalMode,
  loadConfig,
  rateLimitSettings,
  sentinelSettings,
  trustSettings,
  type Config,
} from "./config";
import { SentinelMirror } from "./incidents/mirror";
import type { Clock, Directory, IncidentStore, Measures } from "./incidents/ports";
import { IncidentService } from "./incidents/service";
import { createLogger, type Logger } from "./log";
import { AfterAnswer } from "./teams/after-answer";
import { IncidentBot } from "./teams/bot";
import { FormFlow } from "./teams/form-flow";
import { RateLimits, type RateLimitSettings } from "./teams/rate-limit";
import { startServer } from "./teams/server";
import { LOOPBACK_SERVICE_URLS, TEAMS_SERVICE_URLS } from "./teams/service-urls";
import { SubmissionTokens } from "./teams/submission-tokens";
import { ReporterNotifier } from "./teams/reporter-notifier";
import { TriageNotifier } from "./teams/triage-notifier";

/**
 * The composition root: configuration in, a running bot out. The only place that builds objects
 * and hands them to each other; no logic of its own.
 */

export interface App {
  url: string;
  port: number;
  /** The address it listens on. */
  address: string;
  config: Config;
  service: IncidentService;
  /** Resolves once the work started after answers so far (card updates, triage posts, notices) has finished. */
  settled(): Promise<void>;
  /** Stops the server, lets requests in flight and the work after their answers finish, then closes the store. */
  close(): Promise<void>;
}

/** Parts a caller may supply itself instead of building them from configuration (tests; telemetry from src/index.ts). */
export interface AppOverrides {
  /** What is counted for operators (src/telemetry.ts). Absent: nothing. */
  measures?: Measures;
  /** Told of each error logged at warn or above (src/telemetry.ts records it as an exception). */
  onError?: (error: Error) => void;
  directory?: Directory;
  /** The service's clock (tests move time forward: retry delays, the tag window). */
  clock?: Clock;
  /** How the Sentinel client reaches Azure (its own credential or https agent). */
  sentinel?: SentinelClientOptions;
}

function openStore(config: Config): Promise<IncidentStore> {
  switch (config.STORE) {
    case "sqlite":
      return Promise.resolve(new SqliteIncidentStore(config.SQLITE_PATH, { busyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS }));
    case "cosmos":
      // Loaded only when used: @azure/cosmos costs every start-up ~0.15 s and ~5 MB otherwise, STORE=sqlite included.
      return import("./adapters/cosmos-store").then((cosmos) => cosmos.openCosmosStore(cosmosSettings(config)));
  }
}

function openDirectory(config: Config, logger: Logger): Directory {
  switch (config.DIRECTORY) {
    case "local":
      logger.info({ file: config.DIRECTORY_FILE }, "directory: local file (analysts are the users marked analyst: true)");
      return LocalDirectory.fromFile(config.DIRECTORY_FILE);
    case "graph": {
      const directory = createGraphDirectory(graphSettings(config), { logger });
      if (directory.analystRule === "everyone") {
        logger.warn("directory: Microsoft Graph; ANALYST_GROUP_ID is not set, so EVERYONE is treated as a SOC analyst");
      } else {
        logger.info("directory: Microsoft Graph; analysts are the members (direct or nested) of ANALYST_GROUP_ID");
      }
      return directory;
    }
  }
}

/** What the Teams side is built from. */
export interface BotParts {
  service: IncidentService;
  log: Logger;
  /** The secret that signs the ids forms carry; `reload` reads it again where it is kept. */
  secret: Buffer;
  reloadSecret?: () => Promise<Buffer>;
  /** Absent: no limits. */
  rateLimits?: RateLimitSettings;
  /** Where the bot may post (src/teams/service-urls.ts). */
  trustedServiceUrls: readonly string[];
  /** The bot's app id ("" in local mode), for opening 1:1 chats with reporters. */
  botAppId?: string;
  /** How often an instance looks for notices to reporters that are due (retries, other instances' leftovers). */
  noticeSweepMs?: number;
  /** What is counted for operators (src/telemetry.ts). */
  measures?: Measures;
}

/** The Teams side: the bot and everything its handlers use. */
export function buildBot(parts: BotParts): IncidentBot {
  const { service, log, secret, reloadSecret, rateLimits, trustedServiceUrls } = parts;
  const later = new AfterAnswer(log);
  const tokens = new SubmissionTokens(secret, reloadSecret);
  return new IncidentBot({
    service,
    log,
    later,
    tokens,
    botAppId: parts.botAppId ?? "",
    trustedServiceUrls,
    flow: new FormFlow(service, log, tokens),
    limits: rateLimits ? new RateLimits(rateLimits) : RateLimits.none(),
    triage: new TriageNotifier(service, log, later, trustedServiceUrls, parts.noticeSweepMs ?? 30_000, parts.measures),
    reporters: new ReporterNotifier(
      service,
      log,
      later,
      trustedServiceUrls,
      parts.botAppId ?? "",
      parts.noticeSweepMs ?? 30_000,
      parts.measures,
    ),
  });
}

/** TRUSTED_SERVICE_URLS, else the Teams clouds' hosts, or in local mode (no token to protect) this machine only. */
export function trustedServiceUrls(config: Config): readonly string[] {
  if (config.TRUSTED_SERVICE_URLS.length) return config.TRUSTED_SERVICE_URLS;
  return isLocalMode(config) ? LOOPBACK_SERVICE_URLS : TEAMS_SERVICE_URLS;
}

/** SUBMISSION_SECRET, or one made once and kept in the store, so every instance signs alike. */
function formSecret(config: Config, service: IncidentService): { secret: () => Promise<Buffer>; reload?: () => Promise<Buffer> } {
  if (config.SUBMISSION_SECRET) {
    const fixed = Buffer.from(config.SUBMISSION_SECRET, "utf8");
    return { secret: () => Promise.resolve(fixed) };
  }
  return { secret: () => service.signingSecret(), reload: () => service.signingSecret() };
}

export async function startApp(env: NodeJS.ProcessEnv = process.env, log?: Logger, overrides: AppOverrides = {}): Promise<App> {
  const config = loadConfig(env);
  const logger = log ?? createLogger(config.LOG_LEVEL, undefined, overrides.onError);
  if (isLocalMode(config)) {
    logger.warn(
      "LOCAL MODE: MicrosoftAppId is not set, so requests are NOT authenticated. Use this only on a developer machine " +
        "(Agents Playground, tests). Set MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId to run in Teams.",
    );
  }
  const store = await openStore(config);
  const directory = overrides.directory ?? openDirectory(config, logger);
  const sentinel = sentinelSettings(config);
  const background = new Background(logger);
  let mirror: SentinelMirror | undefined;
  const service = new IncidentService({
    store,
    directory,
    workspaceId: config.WORKSPACE_ID,
    tagCacheMs: config.TAG_CACHE_MS,
    ...(overrides.clock && { clock: overrides.clock }),
    mirrored: sentinel !== undefined,
    ...(overrides.measures && { measures: overrides.measures }),
    // Each change goes to Sentinel as soon as it is written, without holding up the answer.
    written: (incident) => {
      if (mirror && incident.sentinel) background.run("Sentinel push", () => mirror!.push(incident.id));
    },
  });
  const secret = formSecret(config, service);
  const trusted = trustedServiceUrls(config);
  const bot = buildBot({
    trustedServiceUrls: trusted,
    service,
    log: logger,
    secret: await secret.secret(),
    ...(secret.reload && { reloadSecret: secret.reload }),
    rateLimits: rateLimitSettings(config),
    botAppId: config.MicrosoftAppId ?? "",
    noticeSweepMs: config.NOTICE_SWEEP_SECONDS * 1000,
    ...(overrides.measures && { measures: overrides.measures }),
  });
  const server = await startServer({
    port: config.PORT,
    // Local mode authenticates nobody: this machine only, unless HOST says otherwise.
    host: config.HOST ?? (isLocalMode(config) ? "127.0.0.1" : "0.0.0.0"),
    trustedServiceUrls: trusted,
    maxBodyBytes: config.MAX_BODY_BYTES,
    botFramework: botFrameworkSettings(config),
    ...trustSettings(config),
    bot,
    log: logger,
    describe: { store: config.STORE, directory: config.DIRECTORY, localMode: isLocalMode(config) },
  });
  if (sentinel) {
    const log = logger.child({ component: "sentinel" });
    mirror = new SentinelMirror({
      store,
      api: new SentinelClient(sentinel, overrides.sentinel),
      directory,
      workspaceId: config.WORKSPACE_ID,
      instanceId: randomUUID(),
      pollEveryMs: config.SENTINEL_POLL_SECONDS * 1000,
      // A push makes a few requests in a row (more with many comments), each at most the timeout.
      claimMs: Math.max(5_000, 6 * config.SENTINEL_REQUEST_TIMEOUT_MS),
      ...(overrides.clock && { clock: overrides.clock }),
      log,
      ...(overrides.measures && { measures: overrides.measures }),
      changed: (incident) => bot.changedElsewhere(incident),
    });
    const running = mirror;
    background.every(config.SENTINEL_SYNC_SECONDS * 1000, "Sentinel retry sweep", () => running.sweep());
    background.every(config.SENTINEL_POLL_SECONDS * 1000, "Sentinel poll", () => running.poll());
    log.info(
      {
        workspace: sentinel.workspace,
        resourceGroup: sentinel.resourceGroup,
        armEndpoint: sentinel.armEndpoint,
        apiVersion: sentinel.apiVersion,
      },
      "Sentinel sync: on; new incidents are mirrored to this workspace and changes made there come back",
    );
  } else {
    logger.info(
      "Sentinel sync: off (set SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME to turn it on)",
    );
  }
  const where = { port: server.port, store: config.STORE, directory: config.DIRECTORY, workspace: config.WORKSPACE_ID };
  logger.info(where, "bot listening on /api/messages");
  return {
    url: server.url,
    port: server.port,
    address: server.address,
    config,
    service,
    settled: () => bot.settled(),
    close: async () => {
      // Stops listening at once (before the first await), so new connections are refused from here on.
      const serverClosed = server.close();
      // What the mirror has not sent stays pending in the store, for the next start or another instance.
      await background.stop();
      await serverClosed;
      // Card redraws the background work started after the server had drained.
      await bot.settled();
      await store.close();
    },
  };
}
