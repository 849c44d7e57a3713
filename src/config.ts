import { z } from "zod";
import type { CosmosSettings } from "./adapters/cosmos-store";
import type { GraphSettings } from "./adapters/graph-directory";
import type { SentinelSettings } from "./adapters/sentinel-client";

/** What src/telemetry.ts needs (declared here so that reading the settings loads none of it). */
export interface TelemetrySettings {
  connectionString: string;
  auth: "entra" | "key";
  managedIdentityClientId?: string;
}

/**
 * The only reader of process.env. Every setting is listed in .env.example with a comment.
 * All problems are reported at once, each saying how to fix it.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A URL the bot sends secrets to or trusts keys from: https, or plain http on this machine only (tests). */
const endpointUrl = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined))
  .pipe(
    z
      .string()
      .url({ message: "use a URL, e.g. https://login.example.com/..." })
      .refine((v) => {
        // Not a URL at all: the .url() check above says so (a refinement still runs after it).
        if (!URL.canParse(v)) return true;
        const url = new URL(v);
        return (
          url.protocol === "https:" || (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname))
        );
      }, "use https (plain http only for localhost, in tests)")
      .optional(),
  );

export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "use true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const schema = z
  .object({
    /** production: the refusals below apply (no local mode, no SQLite, no directory file unless PRODUCTION_ALLOW_* says so). */
    NODE_ENV: optionalText,
    /** With NODE_ENV=production, each allows one fallback that is otherwise refused. */
    PRODUCTION_ALLOW_LOCAL_MODE: bool.default("false"),
    PRODUCTION_ALLOW_SQLITE: bool.default("false"),
    PRODUCTION_ALLOW_LOCAL_DIRECTORY: bool.default("false"),
    PORT: z.coerce.number({ message: "use a port number such as 3978" }).int().min(0).max(65535).default(3978),
    /** Absent: 127.0.0.1 in local mode (nobody is authenticated), 0.0.0.0 with an app id. */
    HOST: optionalText,
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Incidents, numbers and tag suggestions are kept per workspace, as in Sentinel. */
    WORKSPACE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "use 1-64 letters, digits, dots, dashes or underscores")
      .default("default"),

    // Bot Framework credentials. None: local mode (Agents Playground, tests), no authentication.
    MicrosoftAppId: optionalText,
    MicrosoftAppPassword: optionalText,
    MicrosoftAppType: z.enum(["MultiTenant", "SingleTenant", "UserAssignedMSI"]).optional(),
    MicrosoftAppTenantId: optionalText,

    STORE: z
      .enum(["sqlite", "cosmos"], { message: "use sqlite (embedded, one machine) or cosmos (Azure Cosmos DB)" })
      .default("sqlite"),
    SQLITE_PATH: z.string().min(1).default("./data/incidents.db"),

    // --- Azure Cosmos DB store (STORE=cosmos); see src/adapters/cosmos-store.ts ---
    /** Account endpoint, e.g. https://contoso-soc.documents.azure.com:443/ */
    COSMOS_ENDPOINT: optionalText.pipe(
      z.string().url({ message: "use the account's URI, e.g. https://<account>.documents.azure.com:443/" }).optional(),
    ),
    /** Account key. Absent: Microsoft Entra ID (managed identity, az login, ...). */
    COSMOS_KEY: optionalText,
    /** key | entra. Default: key when COSMOS_KEY is set, else entra. */
    COSMOS_AUTH: z.enum(["key", "entra"], { message: "use key (COSMOS_KEY) or entra (Microsoft Entra ID)" }).optional(),
    /** Client id of a user-assigned managed identity (entra only). Absent: DefaultAzureCredential. */
    COSMOS_MANAGED_IDENTITY_CLIENT_ID: optionalText,
    COSMOS_DATABASE: z
      .string()
      .regex(/^[^/\\?#]{1,255}$/, "use 1-255 characters without / \\ ? #")
      .default("soc-incident-bot"),
    /** Partition key must be /workspaceId. */
    COSMOS_CONTAINER: z
      .string()
      .regex(/^[^/\\?#]{1,255}$/, "use 1-255 characters without / \\ ? #")
      .default("incidents"),
    /** Create the database and container at start-up when missing (needs key auth or a control-plane role). */
    COSMOS_CREATE_IF_MISSING: bool.default("false"),
    /** Total time one store operation may spend retrying throttling, 503s, timeouts and lost connections. */
    COSMOS_RETRY_BUDGET_MS: z.coerce.number({ message: "use milliseconds, e.g. 5000" }).int().min(100).max(120_000).default(5000),
    /** Longest wait for one HTTP request before it is retried (within the budget). */
    COSMOS_REQUEST_TIMEOUT_MS: z.coerce
      .number({ message: "use milliseconds, e.g. 2000" })
      .int()
      .min(50)
      .max(60_000)
      .default(2000),
    /** Discover the account's regions from its endpoint (true for Azure; false for emulators and the test server). */
    COSMOS_ENDPOINT_DISCOVERY: bool.default("true"),
    // --- end of Cosmos DB settings ---

    DIRECTORY: z.enum(["local", "graph"], { message: "use local (a JSON file) or graph (Microsoft Entra ID)" }).default("local"),
    DIRECTORY_FILE: z.string().min(1).default("./data/directory.json"),

    // --- Microsoft Graph directory (DIRECTORY=graph); see src/adapters/graph-directory.ts ---
    // An app registration (or user-assigned managed identity) with the application permissions
    // User.Read.All and GroupMember.Read.All, admin-consented.
    /** Directory (tenant) id of the organisation, a GUID or its domain (contoso.onmicrosoft.com). */
    GRAPH_TENANT_ID: optionalText.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9.-]{1,256}$/, "use the tenant's GUID or its domain, e.g. contoso.onmicrosoft.com")
        .optional(),
    ),
    /** Application (client) id of the app registration; with GRAPH_MANAGED_IDENTITY, the managed identity's client id. */
    GRAPH_CLIENT_ID: optionalText,
    /** Exactly one way to sign in: a client secret, a PEM certificate with its private key, or a managed identity. */
    GRAPH_CLIENT_SECRET: optionalText,
    GRAPH_CERTIFICATE_PATH: optionalText,
    /** Only for a PEM whose private key is encrypted. */
    GRAPH_CERTIFICATE_PASSWORD: optionalText,
    GRAPH_MANAGED_IDENTITY: bool.default("false"),
    /** Service root without version: https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn, ... */
    GRAPH_BASE_URL: z
      .string()
      .url({ message: "use the Graph service root, e.g. https://graph.microsoft.com" })
      .refine(
        (v) => /^https:\/\/[^/?#]+\/?$/i.test(v),
        "use https and no path, e.g. https://graph.microsoft.com (the client sends tokens only over https)",
      )
      .default("https://graph.microsoft.com"),
    /** Sign-in authority for national clouds, e.g. https://login.microsoftonline.us. Absent: the public cloud's. */
    GRAPH_AUTHORITY_HOST: optionalText.pipe(z.string().url({ message: "use e.g. https://login.microsoftonline.us" }).optional()),
    /**
     * Most one directory call (owner typeahead, owner check, analyst check) may take, retries included. Teams gives up at 5 s.
     */
    GRAPH_TIMEOUT_MS: z.coerce.number({ message: "use milliseconds, e.g. 2000" }).int().min(100).max(4500).default(2000),
    /**
     * How long users and groups read from Graph are reused (0: always ask; up to an hour old ones are still offered when Graph
     * fails).
     */
    GRAPH_CACHE_MS: z.coerce.number({ message: "use milliseconds, e.g. 60000" }).int().min(0).max(3_600_000).default(60_000),
    /** How long an analyst-group membership answer is reused (0: not at all). */
    GRAPH_ANALYST_CACHE_MS: z.coerce
      .number({ message: "use milliseconds, e.g. 300000" })
      .int()
      .min(0)
      .max(86_400_000)
      .default(300_000),
    /** Object id of the Entra group whose members (also through nested groups) are SOC analysts. Absent: everyone is. */
    ANALYST_GROUP_ID: optionalText.pipe(
      z
        .string()
        .regex(
          /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
          "use the group's object id, a GUID (Entra admin center > Groups > the group > Object ID)",
        )
        .optional(),
    ),
    /** Object id of the Entra group of the SOC's restricted-cases team (sees restricted incidents). Absent: the analysts are. */
    RESTRICTED_GROUP_ID: optionalText.pipe(
      z
        .string()
        .regex(GUID, "use the group's object id, a GUID (Entra admin center > Groups > the group > Object ID)")
        .optional(),
    ),
    // --- end of Microsoft Graph settings ---

    /**
     * Signs the ids forms carry, so nobody can send a form with someone else's id. At least 32 characters,
     * the same on every instance. Absent: one is made once and kept in the store.
     */
    SUBMISSION_SECRET: optionalText.pipe(
      z.string().min(32, "use at least 32 random characters, e.g. `openssl rand -base64 48`").optional(),
    ),
    /** Largest request body accepted, in bytes. Teams' own card limit is 100 KB. */
    MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
    /**
     * How long tag usage (and the triage channel) read from the store are reused, in ms (0: read every time). bench/ measures
     * both.
     */
    TAG_CACHE_MS: z.coerce.number({ message: "use milliseconds, e.g. 30000" }).int().min(0).max(3_600_000).default(30_000),
    /**
     * How often, at most, an instance looks for notices to reporters that are due and triage posts that
     * failed (retries, and those an instance stopped before sending), in seconds; it looks on the next
     * activity after that.
     */
    NOTICE_SWEEP_SECONDS: z.coerce.number({ message: "use seconds, e.g. 30" }).int().min(1).max(3600).default(30),

    // --- Microsoft Sentinel sync; see src/incidents/mirror.ts and src/adapters/sentinel-client.ts ---
    // All three set: every new incident is mirrored to this workspace and changes made there come back.
    SENTINEL_SUBSCRIPTION_ID: optionalText.pipe(
      z.string().regex(GUID, "use the subscription id, a GUID (Azure portal > the workspace > Overview)").optional(),
    ),
    SENTINEL_RESOURCE_GROUP: optionalText.pipe(
      z
        .string()
        .regex(/^[-\w.()]{0,89}[-\w()]$/, "use the resource group's name (1-90 letters, digits, - _ . ( ), not ending in .)")
        .optional(),
    ),
    /** The Log Analytics workspace's resource name (not its workspace id GUID). */
    SENTINEL_WORKSPACE_NAME: optionalText.pipe(
      z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$/,
          "use the Log Analytics workspace's name (4-63 letters, digits and -), not its workspace id",
        )
        .optional(),
    ),
    /** Azure Resource Manager: https://management.usgovcloudapi.net, https://management.chinacloudapi.cn, ... */
    SENTINEL_ARM_ENDPOINT: z
      .string()
      .url({ message: "use the Azure Resource Manager endpoint, e.g. https://management.azure.com" })
      .refine(
        (v) => /^https:\/\/[^/?#]+\/?$/i.test(v),
        "use https and no path, e.g. https://management.azure.com (the bot sends its token only over https)",
      )
      .default("https://management.azure.com"),
    SENTINEL_API_VERSION: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, "use an api-version such as 2025-09-01")
      .default("2025-09-01"),
    /** Sign-in with a client secret or certificate; neither: the managed identity (SENTINEL_CLIENT_ID: a user-assigned one). */
    SENTINEL_TENANT_ID: optionalText.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9.-]{1,256}$/, "use the tenant's GUID or its domain, e.g. contoso.onmicrosoft.com")
        .optional(),
    ),
    SENTINEL_CLIENT_ID: optionalText.pipe(z.string().regex(GUID, "use the application (client) id, a GUID").optional()),
    SENTINEL_CLIENT_SECRET: optionalText,
    SENTINEL_CERTIFICATE_PATH: optionalText,
    SENTINEL_CERTIFICATE_PASSWORD: optionalText,
    SENTINEL_AUTHORITY_HOST: optionalText.pipe(
      z.string().url({ message: "use e.g. https://login.microsoftonline.us" }).optional(),
    ),
    /** How often one instance (a lease in the store) reads what changed in Sentinel, in seconds. */
    SENTINEL_POLL_SECONDS: z.coerce.number({ message: "use seconds, e.g. 60" }).int().min(5).max(3600).default(60),
    /** How often every instance looks for changes still to send to Sentinel (retries, other instances' leftovers), in seconds. */
    SENTINEL_SYNC_SECONDS: z.coerce.number({ message: "use seconds, e.g. 10" }).int().min(1).max(600).default(10),
    /** Longest wait for one request to Sentinel before it is tried again later. */
    SENTINEL_REQUEST_TIMEOUT_MS: z.coerce
      .number({ message: "use milliseconds, e.g. 10000" })
      .int()
      .min(100)
      .max(120_000)
      .default(10_000),
    // --- end of Microsoft Sentinel settings ---

    // --- Application Insights (Azure Monitor OpenTelemetry); see src/telemetry.ts and docs/telemetry.md ---
    /** Absent: no telemetry, and nothing of it is loaded. */
    APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText.pipe(
      z
        .string()
        .regex(
          /(^|;)\s*InstrumentationKey\s*=\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*(;|$)/i,
          "use the resource's connection string (Application Insights > Overview > Connection String: " +
            "InstrumentationKey=...;IngestionEndpoint=...)",
        )
        .optional(),
    ),
    /** entra: sent with a token of the managed identity (the resource has local auth off); key: the connection string alone. */
    APPLICATIONINSIGHTS_AUTH: z
      .enum(["entra", "key"], { message: "use entra (the managed identity) or key (the connection string alone)" })
      .default("entra"),
    /** Client id of the user-assigned managed identity that sends telemetry (entra). Absent: the system-assigned one. */
    APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID: optionalText.pipe(
      z.string().regex(GUID, "use the managed identity's client id, a GUID").optional(),
    ),
    // --- end of Application Insights settings ---

    // --- Trust and limits; see src/teams/auth.ts, tenant-guard.ts, rate-limit.ts ---
    // Overrides of where Bot Framework tokens are checked and obtained, for tests (a local OpenID
    // server) and private or sovereign clouds. Only with MicrosoftAppId. Absent: the public cloud's.
    /**
     * OpenID metadata of the keys that sign the channel's tokens. Absent:
     * https://login.botframework.com/v1/.well-known/openidconfiguration
     */
    BOT_OPENID_METADATA_URL: endpointUrl,
    /** The issuer (iss) the channel's tokens must carry. Absent: https://api.botframework.com */
    BOT_TOKEN_ISSUER: optionalText,
    /**
     * OAuth 2.0 token endpoint for the bot's own token (client credentials with MicrosoftAppPassword). Absent: Microsoft Entra ID
     * via MSAL.
     */
    BOT_TOKEN_ENDPOINT: endpointUrl,
    /** Microsoft Entra tenant ids whose activities are processed, comma separated. Empty: every tenant (logged at start-up). */
    ALLOWED_TENANT_IDS: z
      .string()
      .default("")
      .transform((v, ctx) => {
        const ids = v
          .split(",")
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean);
        const bad = ids.filter((id) => !GUID.test(id));
        if (bad.length) {
          ctx.addIssue({
            code: "custom",
            message:
              "use tenant ids (GUIDs, Entra admin center > Overview > Tenant ID), comma separated; these are not: " +
              `${bad.map((b) => b.slice(0, 40)).join(", ")}`,
          });
        }
        return ids;
      }),
    /** URL prefixes the bot may send its token to (activities naming another serviceUrl are refused). Absent: Teams' hosts. */
    TRUSTED_SERVICE_URLS: z
      .string()
      .default("")
      .transform((v, ctx) => {
        const urls = v
          .split(",")
          .map((u) => u.trim())
          .filter(Boolean);
        const bad = urls.filter((u) => !/^https:\/\/[^/?#]+\/|^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/)/i.test(u));
        if (bad.length) {
          const message =
            "use https URL prefixes ending in /, e.g. https://smba.trafficmanager.net/ (plain http only for localhost)";
          ctx.addIssue({ code: "custom", message: `${message}; these are not: ${bad.map((b) => b.slice(0, 60)).join(", ")}` });
        }
        return urls;
      }),
    /** With an app id and Microsoft Graph but no ANALYST_GROUP_ID, the bot refuses to start unless this says so. */
    ANALYSTS_ARE_EVERYONE: bool.default("false"),
    // Per person, counted in this process's memory: with several bot instances (Cosmos DB), a person gets up to this much from
    // each.
    RATE_LIMIT_CREATES_PER_MINUTE: z.coerce
      .number({ message: "use a whole number, e.g. 20" })
      .int()
      .min(1)
      .max(10_000)
      .default(20),
    RATE_LIMIT_ACTIONS_PER_MINUTE: z.coerce
      .number({ message: "use a whole number, e.g. 60" })
      .int()
      .min(1)
      .max(100_000)
      .default(60),
    RATE_LIMIT_SEARCHES_PER_MINUTE: z.coerce
      .number({ message: "use a whole number, e.g. 120" })
      .int()
      .min(1)
      .max(100_000)
      .default(120),
    /** How long a write waits for another connection's lock on the SQLite file before the store counts as unavailable. */
    SQLITE_BUSY_TIMEOUT_MS: z.coerce.number({ message: "use milliseconds, e.g. 5000" }).int().min(0).max(60_000).default(5000),
    /** On SIGTERM/SIGINT, how long requests in flight may take to finish before the bot exits anyway. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number({ message: "use milliseconds, e.g. 10000" }).int().min(100).max(600_000).default(10_000),
    // --- end of trust and limits settings ---
  })
  .superRefine((c, ctx) => {
    // Trust and limits cross-field checks.
    for (const key of ["BOT_OPENID_METADATA_URL", "BOT_TOKEN_ISSUER", "BOT_TOKEN_ENDPOINT"] as const) {
      if (c[key] && !c.MicrosoftAppId) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message:
            "is set but MicrosoftAppId is not: without it requests are not authenticated at all. Set MicrosoftAppId or " +
            "remove this",
        });
      }
    }
    if (c.BOT_TOKEN_ENDPOINT && c.MicrosoftAppId && !c.MicrosoftAppPassword) {
      ctx.addIssue({
        code: "custom",
        path: ["BOT_TOKEN_ENDPOINT"],
        message: "needs MicrosoftAppPassword: the bot asks this endpoint for its token with its client secret",
      });
    }
    if (c.MicrosoftAppId && c.MicrosoftAppType !== "UserAssignedMSI" && !c.MicrosoftAppPassword) {
      ctx.addIssue({
        code: "custom",
        path: ["MicrosoftAppPassword"],
        message:
          "is required with MicrosoftAppId (the bot's client secret from its Azure Bot registration), unless " +
          "MicrosoftAppType=UserAssignedMSI",
      });
    }
    if (c.MicrosoftAppId && c.MicrosoftAppType && c.MicrosoftAppType !== "MultiTenant" && !c.MicrosoftAppTenantId) {
      ctx.addIssue({
        code: "custom",
        path: ["MicrosoftAppTenantId"],
        message: `is required when MicrosoftAppType=${c.MicrosoftAppType}: set it to your Microsoft Entra tenant id`,
      });
    }
    if (!c.MicrosoftAppId && (c.MicrosoftAppPassword || c.MicrosoftAppTenantId)) {
      ctx.addIssue({
        code: "custom",
        path: ["MicrosoftAppId"],
        message: "is empty but other bot credentials are set: set MicrosoftAppId too, or remove them all for local mode",
      });
    }
    // NODE_ENV=production: no silent fallback to what is only fit for a developer's machine.
    if (c.NODE_ENV === "production") {
      if (!c.MicrosoftAppId && !c.PRODUCTION_ALLOW_LOCAL_MODE) {
        ctx.addIssue({
          code: "custom",
          path: ["MicrosoftAppId"],
          message:
            "is required with NODE_ENV=production: without it requests are not authenticated (local mode), so anyone who " +
            "reaches the bot can read and change incidents. Set MicrosoftAppId, MicrosoftAppPassword and " +
            "MicrosoftAppTenantId (the bot's Azure Bot registration), or set PRODUCTION_ALLOW_LOCAL_MODE=true if you mean it",
        });
      }
      if (c.STORE === "sqlite" && !c.PRODUCTION_ALLOW_SQLITE) {
        ctx.addIssue({
          code: "custom",
          path: ["STORE"],
          message:
            "is sqlite with NODE_ENV=production: the SQLite file is lost when the container or App Service instance is " +
            "replaced (its disk is ephemeral) and a second instance can't share it. Set STORE=cosmos (Azure Cosmos DB), or " +
            "set PRODUCTION_ALLOW_SQLITE=true if SQLITE_PATH is on a disk that survives restarts and only one instance runs",
        });
      }
      if (c.DIRECTORY === "local" && !c.PRODUCTION_ALLOW_LOCAL_DIRECTORY) {
        ctx.addIssue({
          code: "custom",
          path: ["DIRECTORY"],
          message:
            "is local with NODE_ENV=production: people, groups and analysts would come from DIRECTORY_FILE (the sample " +
            "directory unless you replaced it), not from Microsoft Entra ID. Set DIRECTORY=graph (see GRAPH_*), or set " +
            "PRODUCTION_ALLOW_LOCAL_DIRECTORY=true if you keep that file as your directory",
        });
      }
    }
    // Production refusals: settings that would let anyone in.
    if (c.MicrosoftAppId && c.DIRECTORY === "graph" && !c.ANALYST_GROUP_ID && !c.ANALYSTS_ARE_EVERYONE) {
      ctx.addIssue({
        code: "custom",
        path: ["ANALYST_GROUP_ID"],
        message:
          "is required with MicrosoftAppId and DIRECTORY=graph: without it EVERYONE in the tenant is a SOC analyst (sees every " +
          "incident, closes and reassigns them). Set it to the SOC group's object id, or set ANALYSTS_ARE_EVERYONE=true if " +
          "you mean it",
      });
    }
    if (c.MicrosoftAppId && c.MicrosoftAppType === "MultiTenant" && c.ALLOWED_TENANT_IDS.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["ALLOWED_TENANT_IDS"],
        message:
          "is required with MicrosoftAppType=MultiTenant: otherwise people of any organisation can use the bot and see its " +
          "incidents. Set your tenant id (Entra admin center > Overview > Tenant ID)",
      });
    }
    // Cosmos DB cross-field checks.
    if (c.STORE === "cosmos" && !c.COSMOS_ENDPOINT) {
      ctx.addIssue({
        code: "custom",
        path: ["COSMOS_ENDPOINT"],
        message:
          "is required when STORE=cosmos: set it to the account's URI (Azure portal > Cosmos DB account > Keys, or `az " +
          "cosmosdb show --query documentEndpoint`)",
      });
    }
    if (c.COSMOS_AUTH === "key" && !c.COSMOS_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["COSMOS_KEY"],
        message: "is required when COSMOS_AUTH=key: set the account key, or use COSMOS_AUTH=entra",
      });
    }
    if (c.COSMOS_AUTH === "entra" && c.COSMOS_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["COSMOS_KEY"],
        message: "is set but COSMOS_AUTH=entra ignores it: remove the key (recommended) or use COSMOS_AUTH=key",
      });
    }
    if (c.COSMOS_MANAGED_IDENTITY_CLIENT_ID && c.COSMOS_KEY && c.COSMOS_AUTH !== "entra") {
      ctx.addIssue({
        code: "custom",
        path: ["COSMOS_MANAGED_IDENTITY_CLIENT_ID"],
        message: "is only used with Microsoft Entra ID auth, but COSMOS_KEY is set: remove one of them",
      });
    }
    if (c.COSMOS_REQUEST_TIMEOUT_MS > c.COSMOS_RETRY_BUDGET_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["COSMOS_REQUEST_TIMEOUT_MS"],
        message: "must not exceed COSMOS_RETRY_BUDGET_MS (one request can't outlast the whole budget)",
      });
    }
    // Microsoft Graph cross-field checks.
    if (c.DIRECTORY === "graph") {
      if (!c.GRAPH_TENANT_ID) {
        ctx.addIssue({
          code: "custom",
          path: ["GRAPH_TENANT_ID"],
          message:
            "is required when DIRECTORY=graph: set your Microsoft Entra tenant id (Entra admin center > Overview > Tenant ID)",
        });
      }
      if (!c.GRAPH_CLIENT_ID) {
        ctx.addIssue({
          code: "custom",
          path: ["GRAPH_CLIENT_ID"],
          message:
            "is required when DIRECTORY=graph: set the Application (client) ID of the app registration that reads the " +
            "directory (or of the managed identity with GRAPH_MANAGED_IDENTITY=true)",
        });
      }
      const signIns = [
        c.GRAPH_CLIENT_SECRET && "GRAPH_CLIENT_SECRET",
        c.GRAPH_CERTIFICATE_PATH && "GRAPH_CERTIFICATE_PATH",
        c.GRAPH_MANAGED_IDENTITY && "GRAPH_MANAGED_IDENTITY",
      ].filter(Boolean);
      if (signIns.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["GRAPH_CLIENT_SECRET"],
          message:
            "DIRECTORY=graph needs a way to sign in: set GRAPH_CLIENT_SECRET, or GRAPH_CERTIFICATE_PATH (PEM with private " +
            "key), or GRAPH_MANAGED_IDENTITY=true",
        });
      } else if (signIns.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["GRAPH_CLIENT_SECRET"],
          message: `set only one way to sign in to Graph, not ${signIns.join(" and ")}`,
        });
      }
    }
    // Microsoft Sentinel cross-field checks.
    const where = {
      SENTINEL_SUBSCRIPTION_ID: c.SENTINEL_SUBSCRIPTION_ID,
      SENTINEL_RESOURCE_GROUP: c.SENTINEL_RESOURCE_GROUP,
      SENTINEL_WORKSPACE_NAME: c.SENTINEL_WORKSPACE_NAME,
    };
    const missing = Object.entries(where)
      .filter(([, v]) => !v)
      .map(([k]) => k);
    if (missing.length > 0 && missing.length < 3) {
      ctx.addIssue({
        code: "custom",
        path: [missing[0]!],
        message:
          "the Sentinel sync needs all three of SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and " +
          `SENTINEL_WORKSPACE_NAME; ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing ` +
          "(or remove the others to turn the sync off)",
      });
    }
    if (missing.length === 3) {
      for (const key of [
        "SENTINEL_TENANT_ID",
        "SENTINEL_CLIENT_ID",
        "SENTINEL_CLIENT_SECRET",
        "SENTINEL_CERTIFICATE_PATH",
      ] as const) {
        if (c[key]) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message:
              "is set but the Sentinel sync is off: set SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and " +
              "SENTINEL_WORKSPACE_NAME, or remove it",
          });
        }
      }
    }
    if (c.SENTINEL_CLIENT_SECRET && c.SENTINEL_CERTIFICATE_PATH) {
      ctx.addIssue({
        code: "custom",
        path: ["SENTINEL_CLIENT_SECRET"],
        message: "set only one way to sign in to Sentinel, not SENTINEL_CLIENT_SECRET and SENTINEL_CERTIFICATE_PATH",
      });
    }
    if (c.SENTINEL_CLIENT_SECRET || c.SENTINEL_CERTIFICATE_PATH) {
      for (const key of ["SENTINEL_TENANT_ID", "SENTINEL_CLIENT_ID"] as const) {
        if (!c[key]) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message:
              "is required with SENTINEL_CLIENT_SECRET or SENTINEL_CERTIFICATE_PATH (the app registration that signs in " +
              "to Sentinel)",
          });
        }
      }
    }
    if (c.SENTINEL_CERTIFICATE_PASSWORD && !c.SENTINEL_CERTIFICATE_PATH) {
      ctx.addIssue({
        code: "custom",
        path: ["SENTINEL_CERTIFICATE_PASSWORD"],
        message: "is set but SENTINEL_CERTIFICATE_PATH is not: set the PEM file's path too, or remove the password",
      });
    }
    if (!c.APPLICATIONINSIGHTS_CONNECTION_STRING) {
      for (const key of ["APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID"] as const) {
        if (c[key]) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "is set but APPLICATIONINSIGHTS_CONNECTION_STRING is not: set the connection string too, or remove it",
          });
        }
      }
    }
    if (c.GRAPH_CERTIFICATE_PASSWORD && !c.GRAPH_CERTIFICATE_PATH) {
      ctx.addIssue({
        code: "custom",
        path: ["GRAPH_CERTIFICATE_PASSWORD"],
        message: "is set but GRAPH_CERTIFICATE_PATH is not: set the PEM file's path too, or remove the password",
      });
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    const list = problems.map((p) => `  - ${p}`).join("\n");
    super(
      `The configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${list}\n` +
        "See .env.example for every setting.",
    );
  }
}

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.innerType().shape)) {
    const value = env[key];
    // An empty value in .env means "not set", so defaults apply.
    input[key] = value === undefined || value.trim() === "" ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    // A value of the wrong kind (a word for a number, an unknown choice) stops zod before the rules
    // between settings: check those again without the broken values, so every problem is told at once.
    const broken = new Set(result.error.issues.map((issue) => String(issue.path[0] ?? "")));
    const rest = schema.safeParse(Object.fromEntries(Object.entries(input).filter(([key]) => !broken.has(key))));
    const told = new Set(result.error.issues.map((issue) => `${issue.path.join(".")}\n${issue.message}`));
    const more = rest.success
      ? []
      : rest.error.issues.filter(
          (issue) => !broken.has(String(issue.path[0] ?? "")) && !told.has(`${issue.path.join(".")}\n${issue.message}`),
        );
    throw new ConfigError(
      [...result.error.issues, ...more].map((issue) => {
        const key = issue.path.join(".") || "configuration";
        const secret = /PASSWORD|SECRET|KEY|CONNECTION_STRING/i.test(key);
        const got = input[key] !== undefined && !secret ? ` (got "${input[key]}")` : "";
        return `${key}${got}: ${issue.message}`;
      }),
    );
  }
  return result.data;
}

/** Local mode: no bot credentials, so requests are not authenticated. Only for a developer's machine. */
export function isLocalMode(config: Config): boolean {
  return !config.MicrosoftAppId;
}

/** The values botbuilder's ConfigurationBotFrameworkAuthentication reads. */
export function botFrameworkSettings(config: Config): Record<string, string | undefined> {
  return {
    MicrosoftAppId: config.MicrosoftAppId,
    MicrosoftAppPassword: config.MicrosoftAppPassword,
    MicrosoftAppType: config.MicrosoftAppType ?? (config.MicrosoftAppId ? "SingleTenant" : undefined),
    MicrosoftAppTenantId: config.MicrosoftAppTenantId,
  };
}

/** Which tokens are trusted and which tenants are served: for src/teams/server.ts. */
export function trustSettings(config: Config) {
  return {
    authOverrides: {
      ...(config.BOT_OPENID_METADATA_URL && { openIdMetadataUrl: config.BOT_OPENID_METADATA_URL }),
      ...(config.BOT_TOKEN_ISSUER && { tokenIssuer: config.BOT_TOKEN_ISSUER }),
      ...(config.BOT_TOKEN_ENDPOINT && { tokenEndpoint: config.BOT_TOKEN_ENDPOINT }),
    },
    allowedTenantIds: config.ALLOWED_TENANT_IDS,
  };
}

/** How fast one person may go, per bot instance: for src/teams/rate-limit.ts. */
export function rateLimitSettings(config: Config) {
  return {
    createsPerMinute: config.RATE_LIMIT_CREATES_PER_MINUTE,
    searchesPerMinute: config.RATE_LIMIT_SEARCHES_PER_MINUTE,
    actionsPerMinute: config.RATE_LIMIT_ACTIONS_PER_MINUTE,
  };
}

/** The Cosmos DB store's settings (STORE=cosmos), from the COSMOS_* settings. */
export function cosmosSettings(config: Config): CosmosSettings {
  return {
    endpoint: config.COSMOS_ENDPOINT ?? "",
    auth: config.COSMOS_AUTH ?? (config.COSMOS_KEY ? "key" : "entra"),
    ...(config.COSMOS_KEY && { key: config.COSMOS_KEY }),
    ...(config.COSMOS_MANAGED_IDENTITY_CLIENT_ID && { managedIdentityClientId: config.COSMOS_MANAGED_IDENTITY_CLIENT_ID }),
    database: config.COSMOS_DATABASE,
    container: config.COSMOS_CONTAINER,
    createIfMissing: config.COSMOS_CREATE_IF_MISSING,
    retryBudgetMs: config.COSMOS_RETRY_BUDGET_MS,
    requestTimeoutMs: config.COSMOS_REQUEST_TIMEOUT_MS,
    endpointDiscovery: config.COSMOS_ENDPOINT_DISCOVERY,
  };
}

/** The Microsoft Graph directory's settings (DIRECTORY=graph), from the GRAPH_* settings. */
export function graphSettings(config: Config): GraphSettings {
  const signIn: GraphSettings["signIn"] = config.GRAPH_MANAGED_IDENTITY
    ? { kind: "managed-identity" }
    : config.GRAPH_CERTIFICATE_PATH
      ? { kind: "certificate", path: config.GRAPH_CERTIFICATE_PATH, password: config.GRAPH_CERTIFICATE_PASSWORD }
      : config.GRAPH_CLIENT_SECRET
        ? { kind: "secret", secret: config.GRAPH_CLIENT_SECRET }
        : undefined;
  return {
    baseUrl: config.GRAPH_BASE_URL,
    tenantId: config.GRAPH_TENANT_ID ?? "",
    clientId: config.GRAPH_CLIENT_ID ?? "",
    signIn,
    authorityHost: config.GRAPH_AUTHORITY_HOST,
    analystGroupId: config.ANALYST_GROUP_ID,
    restrictedGroupId: config.RESTRICTED_GROUP_ID,
    timeoutMs: config.GRAPH_TIMEOUT_MS,
    cacheMs: config.GRAPH_CACHE_MS,
    analystCacheMs: config.GRAPH_ANALYST_CACHE_MS,
  };
}

/** The Microsoft Sentinel sync's settings, or undefined when it is off (the workspace is not named). */
export function sentinelSettings(config: Config): SentinelSettings | undefined {
  const {
    SENTINEL_SUBSCRIPTION_ID: subscriptionId,
    SENTINEL_RESOURCE_GROUP: resourceGroup,
    SENTINEL_WORKSPACE_NAME: workspace,
  } = config;
  if (!subscriptionId || !resourceGroup || !workspace) return undefined;
  const signIn: SentinelSettings["signIn"] = config.SENTINEL_CERTIFICATE_PATH
    ? { kind: "certificate", path: config.SENTINEL_CERTIFICATE_PATH, password: config.SENTINEL_CERTIFICATE_PASSWORD }
    : config.SENTINEL_CLIENT_SECRET
      ? { kind: "secret", secret: config.SENTINEL_CLIENT_SECRET }
      : { kind: "managed-identity" };
  return {
    armEndpoint: config.SENTINEL_ARM_ENDPOINT.replace(/\/$/, ""),
    apiVersion: config.SENTINEL_API_VERSION,
    subscriptionId,
    resourceGroup,
    workspace,
    tenantId: config.SENTINEL_TENANT_ID,
    clientId: config.SENTINEL_CLIENT_ID,
    signIn,
    authorityHost: config.SENTINEL_AUTHORITY_HOST,
    requestTimeoutMs: config.SENTINEL_REQUEST_TIMEOUT_MS,
  };
}

/** Application Insights' settings, or undefined when telemetry is off (no connection string). */
export function telemetrySettings(config: Config): TelemetrySettings | undefined {
  if (!config.APPLICATIONINSIGHTS_CONNECTION_STRING) return undefined;
  return {
    connectionString: config.APPLICATIONINSIGHTS_CONNECTION_STRING,
    auth: config.APPLICATIONINSIGHTS_AUTH,
    ...(config.APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID && {
      managedIdentityClientId: config.APPLICATIONINSIGHTS_MANAGED_IDENTITY_CLIENT_ID,
    }),
  };
}
