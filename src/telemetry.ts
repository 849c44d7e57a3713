import { ManagedIdentityCredential } from "@azure/identity";
import { shutdownAzureMonitor, useAzureMonitor, type AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import { metrics, trace, type AttributeValue, type Attributes, type SpanStatus } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import type { TelemetrySettings } from "./config";
import type { Measures } from "./incidents/ports";

/**
 * Application Insights through the Azure Monitor OpenTelemetry distro: requests, dependencies (Cosmos DB, Microsoft Graph,
 * Microsoft Sentinel, the Bot Connector), exceptions, and the bot's own measures (src/incidents/ports.ts). Loaded only when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set, and before anything else (src/index.ts), so that its instrumentations see
 * http, undici and the Azure SDK load.
 *
 * Nothing of an incident, and no person, reaches it: every span is scrubbed while it ends (`scrubSpan`), before any processor
 * or exporter reads it: URLs keep their scheme, host, the API's own path words and the query's parameter names, nothing else
 * (Graph's `$search="displayName:..."` is a person's name; paths carry object ids, conversation ids and incident ids);
 * GUIDs and e-mail addresses anywhere become placeholders; error messages are dropped (they may quote what was sent), their
 * type and stack frames kept. Request and response bodies are never recorded (no instrumentation here reads them).
 * The measures carry closed sets of values and numbers only. docs/telemetry.md.
 */

export interface Telemetry {
  measures: Measures;
  /** Records an error as an exception: its type and stack frames, not its message. */
  exception(error: unknown): void;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The API words of the paths the bot serves and calls; any other path segment is someone's id or name. */
const PATH_WORDS = new Set(
  [
    // This bot
    "api",
    "messages",
    "healthz",
    // Bot Connector, Bot Framework sign-in and its keys
    "v3",
    "conversations",
    "activities",
    "members",
    "pagedmembers",
    "attachments",
    "teams",
    "v1",
    "v2.0",
    "oauth2",
    "token",
    ".well-known",
    "openidconfiguration",
    "openid-configuration",
    "keys",
    "discovery",
    "common",
    "botframework.com",
    // Microsoft Graph
    "v1.0",
    "beta",
    "users",
    "groups",
    "checkMemberGroups",
    "getMemberGroups",
    "memberOf",
    "transitiveMemberOf",
    "transitiveMembers",
    "$count",
    // Azure Resource Manager: Microsoft Sentinel
    "subscriptions",
    "resourceGroups",
    "providers",
    "Microsoft.OperationalInsights",
    "workspaces",
    "Microsoft.SecurityInsights",
    "incidents",
    "comments",
    "tasks",
    // Cosmos DB
    "dbs",
    "colls",
    "docs",
    "pkranges",
    "offers",
    // Managed identity (App Service, IMDS)
    "msi",
    "metadata",
    "identity",
    "instance",
  ].map((w) => w.toLowerCase()),
);
/** Query parameters whose values are kept: chosen by the bot, never by a person. */
const QUERY_VALUES_KEPT = new Set(["api-version"]);
/** Attributes that hold a URL, or its path or query. */
const URL_KEYS = new Set(["http.url", "url.full", "http.target", "url.path", "url.query", "http.route", "url.original"]);
const GUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const EMAIL = /[^\s"'<>@/?#&=:;,()]+@[^\s"'<>@/?#&=:;,()]+\.[A-Za-z]{2,}/g;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>]+/gi;
const STACK_FRAME = /^\s+at /;

function scrubPath(path: string): string {
  return path
    .split("/")
    .map((segment) => {
      if (segment === "") return segment;
      let word = segment;
      try {
        word = decodeURIComponent(segment);
      } catch {
        // not percent-encoded as it should be: compared as it is
      }
      return PATH_WORDS.has(word.toLowerCase()) ? segment : ":id";
    })
    .join("/");
}

function scrubQuery(query: string): string {
  if (!query) return "";
  const names = query
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [name = "", ...rest] = pair.split("=");
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "));
      } catch {
        // kept encoded
      }
      if (!/^[$A-Za-z][\w.-]{0,40}$/.test(decoded)) return ":param";
      return QUERY_VALUES_KEPT.has(decoded.toLowerCase()) && rest.length ? pair : decoded;
    });
  return `?${names.join("&")}`;
}

/** A URL, or a path with its query, as telemetry may keep it: the API's own words only. */
export function scrubUrl(value: string): string {
  const hash = value.indexOf("#");
  const withoutHash = hash >= 0 ? value.slice(0, hash) : value;
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(withoutHash)?.[0] ?? "";
  const rest = withoutHash.slice(origin.length);
  const q = rest.indexOf("?");
  const path = q >= 0 ? rest.slice(0, q) : rest;
  const query = q >= 0 ? rest.slice(q + 1) : "";
  // The user-info part of an origin (user:password@) is a secret or a name.
  const host = origin.replace(/\/\/[^/@]*@/, "//");
  // A bare word (an attribute holding only a query, e.g. url.query "a=b") is a query.
  if (!origin && !path.startsWith("/") && q < 0) return scrubQuery(path).slice(1);
  return `${host}${scrubPath(path)}${q >= 0 ? scrubQuery(query) : ""}`;
}

/** Free text (a span's name, an attribute the instrumentations set): URLs scrubbed, GUIDs and e-mail addresses replaced. */
export function scrubText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (url) => scrubUrl(url))
    .replace(EMAIL, ":email")
    .replace(GUID, ":id");
}

function scrubValue(key: string, value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === "string") return URL_KEYS.has(key) ? scrubText(scrubUrl(value)) : scrubText(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? scrubText(v) : v)) as AttributeValue;
  return value;
}

/** An error as telemetry may keep it: its type and stack frames, without its message (it may quote what was sent). */
export function exceptionAttributes(error: unknown): Attributes {
  const type = error instanceof Error ? error.name || error.constructor.name : typeof error;
  const frames = error instanceof Error && error.stack ? error.stack.split("\n").filter((line) => STACK_FRAME.test(line)) : [];
  return {
    "exception.type": scrubText(type),
    "exception.message": scrubText(type),
    ...(frames.length && { "exception.stacktrace": scrubText([type, ...frames].join("\n")) }),
  };
}

/** What `scrubSpan` changes on an ending span (the SDK's Span, still writable while it ends). */
export interface EndingSpan {
  readonly name: string;
  readonly attributes: Attributes;
  readonly events: { name: string; attributes?: Attributes }[];
  readonly status: SpanStatus;
  setAttribute(key: string, value: AttributeValue): unknown;
  updateName(name: string): unknown;
  setStatus(status: SpanStatus): unknown;
}

/** Scrubs one span before anything reads it. */
export function scrubSpan(span: EndingSpan): void {
  span.updateName(scrubText(span.name));
  for (const [key, value] of Object.entries(span.attributes)) {
    const scrubbed = scrubValue(key, value);
    if (scrubbed !== undefined && scrubbed !== value) span.setAttribute(key, scrubbed);
  }
  if (span.status.message) span.setStatus({ code: span.status.code });
  for (const event of span.events) {
    const attributes = event.attributes;
    if (!attributes) continue;
    if (event.name === "exception") {
      const type = typeof attributes["exception.type"] === "string" ? attributes["exception.type"] : "Error";
      attributes["exception.message"] = scrubText(type);
      const stack = attributes["exception.stacktrace"];
      if (typeof stack === "string") {
        attributes["exception.stacktrace"] = scrubText(
          [type, ...stack.split("\n").filter((l) => STACK_FRAME.test(l))].join("\n"),
        );
      }
    }
    for (const [key, value] of Object.entries(attributes)) attributes[key] = scrubValue(key, value);
  }
}

type SpanProcessor = NonNullable<AzureMonitorOpenTelemetryOptions["spanProcessors"]>[number];

/** A span processor that scrubs each span while it ends, before the distro's processors and exporter see it. */
function scrubbingProcessor(): SpanProcessor {
  const processor = {
    onStart: () => undefined,
    onEnding: (span: EndingSpan) => scrubSpan(span),
    onEnd: () => undefined,
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  return processor;
}

/** Starts the distro (once per process) and returns the bot's measures and exceptions on it. */
export function startTelemetry(settings: TelemetrySettings): Telemetry {
  const credential =
    settings.auth === "entra"
      ? settings.managedIdentityClientId
        ? new ManagedIdentityCredential({ clientId: settings.managedIdentityClientId })
        : new ManagedIdentityCredential()
      : undefined;
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString: settings.connectionString, ...(credential && { credential }) },
    // Live Metrics posts span details to an endpoint of its own, outside what the scrubbing was tested against.
    enableLiveMetrics: false,
    instrumentationOptions: {
      http: { enabled: true },
      azureSdk: { enabled: true },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
    spanProcessors: [scrubbingProcessor()],
  });
  // Microsoft Graph is called with fetch (undici), which the distro does not instrument.
  registerInstrumentations({ tracerProvider: trace.getTracerProvider(), instrumentations: [new UndiciInstrumentation()] });

  const meter = metrics.getMeter("soc-incident-bot");
  const created = meter.createCounter("incidents.created", { description: "New incidents stored" });
  const syncs = meter.createCounter("sentinel.syncs", { description: "Pushes of a change to Microsoft Sentinel, by outcome" });
  const lag = meter.createHistogram("sentinel.sync_lag", {
    description: "From a change written here to Microsoft Sentinel having it",
    unit: "ms",
  });
  const notices = meter.createCounter("notices", { description: "Notices to reporters and the triage channel, by outcome" });
  const logger = logs.getLogger("soc-incident-bot");
  return {
    measures: {
      created: (entryPoint, severity) => created.add(1, { entry_point: entryPoint, severity }),
      synced: (outcome, lagMs) => {
        syncs.add(1, { outcome });
        if (lagMs !== undefined) lag.record(lagMs);
      },
      noticed: (kind, outcome) => notices.add(1, { kind, outcome }),
    },
    exception: (error) =>
      logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: "ERROR", attributes: exceptionAttributes(error) }),
    shutdown: async () => {
      await shutdownAzureMonitor();
    },
  };
}
