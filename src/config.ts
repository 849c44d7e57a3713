import { z } from "zod";

/**
 * The only reader of process.env. Every setting is listed in .env.example with a comment.
 * All problems are reported at once, each saying how to fix it.
 */

export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "use true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const schema = z
  .object({
    PORT: z.coerce.number({ message: "use a port number such as 3978" }).int().min(0).max(65535).default(3978),
    HOST: z.string().default("0.0.0.0"),
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

    STORE: z.enum(["sqlite", "cosmos"], { message: "use sqlite (embedded, one machine) or cosmos (Azure Cosmos DB)" }).default("sqlite"),
    SQLITE_PATH: z.string().min(1).default("./data/incidents.db"),

    DIRECTORY: z.enum(["local", "graph"], { message: "use local (a JSON file) or graph (Microsoft Entra ID)" }).default("local"),
    DIRECTORY_FILE: z.string().min(1).default("./data/directory.json"),

    /** Largest request body accepted, in bytes. Teams' own card limit is 100 KB. */
    MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(262_144),
    /** How long tag usage (and the triage channel) read from the store are reused, in ms (0: read every time). bench/ measures both. */
    TAG_CACHE_MS: z.coerce.number({ message: "use milliseconds, e.g. 30000" }).int().min(0).max(3_600_000).default(30_000),
  })
  .superRefine((c, ctx) => {
    if (c.MicrosoftAppId && c.MicrosoftAppType !== "UserAssignedMSI" && !c.MicrosoftAppPassword) {
      ctx.addIssue({
        code: "custom",
        path: ["MicrosoftAppPassword"],
        message: "is required with MicrosoftAppId (the bot's client secret from its Azure Bot registration), unless MicrosoftAppType=UserAssignedMSI",
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
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`The configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p}`).join("\n")}\nSee .env.example for every setting.`);
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
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join(".") || "configuration";
        const got = input[key] !== undefined && !/PASSWORD|SECRET|KEY/i.test(key) ? ` (got "${input[key]}")` : "";
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
