/**
 * `npm run package`: builds the Teams app package, a zip with manifest.json, color.png and outline.png at its root.
 *
 *   npm run package                      # writes dist/appPackage/soc-incident-bot.zip
 *   npm run package -- --out my-app.zip  # somewhere else
 *
 * manifest/manifest.json is a template: every `${{NAME}}` in a string value is replaced by a setting (see
 * PLACEHOLDERS below), validDomains is filled from BOT_DOMAIN, and the result is checked against the bundled
 * v1.22 JSON schema (offline, @microsoft/app-manifest) and against what the schema can't say (icon sizes,
 * white-on-transparent outline, one bot id, no placeholder left). Every problem is reported at once.
 *
 * This is a separate tool from the bot: it reads its own settings (environment, then .env in the current
 * folder), with its own schema here; src/config.ts does not know them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { AppManifestUtils, type TeamsManifestV1D22 } from "@microsoft/app-manifest";
import { config as loadDotenv } from "dotenv";
import JSZip from "jszip";
import { PNG } from "pngjs";
import { z } from "zod";
import { COLOR_SIZE, OUTLINE_SIZE } from "./icons";

export type Manifest = TeamsManifestV1D22.TeamsManifestV1D22 & { $schema?: string };

export const SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.22/MicrosoftTeams.schema.json";
export const DEFAULT_OUT = join("dist", "appPackage", "soc-incident-bot.zip");
/** The files of the package, all at the zip's root. */
export const PACKAGE_FILES = ["manifest.json", "color.png", "outline.png"] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Teams wants major.minor.patch, no pre-release or build suffix (the schema's own semver definition). */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** A host name, optionally with a leading `*.` wildcard; no scheme, port or path. */
const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Placeholder defaults: fine for a custom app uploaded in your own organisation; set real pages before publishing. */
const DEFAULTS = {
  DEVELOPER_NAME: "Security Operations Centre",
  DEVELOPER_WEBSITE_URL: "https://www.example.com/soc-incident-bot",
  PRIVACY_URL: "https://www.example.com/soc-incident-bot/privacy",
  TERMS_URL: "https://www.example.com/soc-incident-bot/terms",
} as const;

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const httpsUrl = (example: string) =>
  optionalText.pipe(
    z
      .string()
      .url({ message: `use a full https URL, e.g. ${example}` })
      .refine((v) => /^https:\/\//i.test(v), `use https (Teams rejects other schemes), e.g. ${example}`)
      .refine((v) => v.length <= 2048, "use at most 2048 characters")
      .optional(),
  );

export const settingsSchema = z.object({
  /** The Teams app's own id: one GUID for the life of the app, the same in every version. Not the bot's id. */
  TEAMS_APP_ID: optionalText.pipe(
    z
      .string({
        required_error: `is required: the Teams app's own id, a GUID you make once and keep for every version (Teams recognises updates by it); it is not the bot's id. For example TEAMS_APP_ID=${randomUUID()}`,
      })
      .regex(GUID, `use a GUID (8-4-4-4-12 hex digits); to make a new one: node -e "console.log(crypto.randomUUID())"`),
  ),
  /** The bot's Microsoft App ID, the same value the bot runs with. */
  MicrosoftAppId: optionalText.pipe(
    z
      .string({
        required_error:
          "is required to package the app: the bot's Microsoft App ID (Azure portal > your Azure Bot > Configuration > Microsoft App ID), the same value the bot runs with",
      })
      .regex(GUID, "use the bot's Microsoft App ID, a GUID (Azure portal > your Azure Bot > Configuration)"),
  ),
  APP_VERSION: optionalText.pipe(
    z.string().regex(SEMVER, "use major.minor.patch such as 1.0.3, without a suffix; raise it for every update you upload").optional(),
  ),
  DEVELOPER_NAME: optionalText.pipe(z.string().max(32, "use at most 32 characters (Teams' limit)").optional()),
  DEVELOPER_WEBSITE_URL: httpsUrl("https://contoso.com/soc"),
  PRIVACY_URL: httpsUrl("https://contoso.com/privacy"),
  TERMS_URL: httpsUrl("https://contoso.com/terms"),
  BOT_DOMAIN: optionalText.pipe(
    z
      .string()
      .regex(DOMAIN, "use a host name only, e.g. soc-bot.contoso.com (no https://, port or path)")
      .optional(),
  ),
});

export type PackageSettings = z.infer<typeof settingsSchema>;

/** Settings, or every problem with them. */
export class PackageSettingsError extends Error {
  override readonly name = "PackageSettingsError";
  constructor(readonly problems: string[]) {
    super(
      `The app package can't be built: ${problems.length} setting${problems.length === 1 ? " needs" : "s need"} fixing:\n` +
        `${problems.map((p) => `  - ${p}`).join("\n")}\nSet them in the environment or in .env (see .env.example).`,
    );
  }
}

/** The filled manifest (or an icon) breaks the schema or a Teams rule. */
export class ManifestInvalidError extends Error {
  override readonly name = "ManifestInvalidError";
  constructor(readonly problems: string[]) {
    super(`The app manifest is not valid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const KEYS = Object.keys(settingsSchema.shape) as (keyof PackageSettings)[];

export function readSettings(env: NodeJS.ProcessEnv): PackageSettings {
  const input: Record<string, string | undefined> = {};
  for (const key of KEYS) input[key] = env[key];
  const result = settingsSchema.safeParse(input);
  if (result.success) return result.data;
  throw new PackageSettingsError(
    result.error.issues.map((issue) => {
      const key = issue.path.join(".") || "settings";
      const got = input[key]?.trim() ? ` (got "${input[key].trim()}")` : "";
      return `${key}${got}: ${issue.message}`;
    }),
  );
}

/** The values of the template's placeholders, and a note for each default used. */
export function placeholderValues(settings: PackageSettings, packageVersion: string): { values: Record<string, string>; notes: string[] } {
  const notes: string[] = [];
  const pick = (key: keyof typeof DEFAULTS): string => {
    const value = settings[key];
    if (value) return value;
    notes.push(`${key} is not set: using the placeholder "${DEFAULTS[key]}" (fine for a custom app in your organisation; set a real one before publishing to the org's catalog)`);
    return DEFAULTS[key];
  };
  if (!settings.APP_VERSION) notes.push(`APP_VERSION is not set: using package.json's version ${packageVersion}`);
  return {
    values: {
      TEAMS_APP_ID: settings.TEAMS_APP_ID.toLowerCase(),
      BOT_ID: settings.MicrosoftAppId.toLowerCase(),
      APP_VERSION: settings.APP_VERSION ?? packageVersion,
      DEVELOPER_NAME: pick("DEVELOPER_NAME"),
      DEVELOPER_WEBSITE_URL: pick("DEVELOPER_WEBSITE_URL"),
      PRIVACY_URL: pick("PRIVACY_URL"),
      TERMS_URL: pick("TERMS_URL"),
    },
    notes,
  };
}

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Replaces `${{NAME}}` in every string of a JSON value (not in the raw text, so a value can't break the JSON).
 * Throws when the template names a placeholder that has no value.
 */
export function fillTemplate(template: unknown, values: Record<string, string>): unknown {
  const missing = new Set<string>();
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") {
      return node.replace(PLACEHOLDER, (whole, name: string) => {
        const value = values[name];
        if (value === undefined) {
          missing.add(name);
          return whole;
        }
        return value;
      });
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  const filled = walk(template);
  if (missing.size > 0) {
    throw new ManifestInvalidError([...missing].map((name) => `manifest/manifest.json uses \${{${name}}}, which the packaging script does not fill`));
  }
  return filled;
}

export function readTemplate(rootDir: string): unknown {
  const file = join(rootDir, "manifest", "manifest.json");
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`Could not read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The filled manifest: placeholders replaced, validDomains from BOT_DOMAIN. */
export function buildManifest(template: unknown, settings: PackageSettings, packageVersion: string): { manifest: Manifest; notes: string[] } {
  const { values, notes } = placeholderValues(settings, packageVersion);
  const manifest = fillTemplate(template, values) as Manifest;
  const domains = new Set(manifest.validDomains ?? []);
  if (settings.BOT_DOMAIN) domains.add(settings.BOT_DOMAIN.toLowerCase());
  manifest.validDomains = [...domains];
  return { manifest, notes };
}

/** Problems with an icon that the schema can't see: its size, and for the outline, white on transparent. */
export function iconProblems(kind: "color" | "outline", file: string, data: Buffer): string[] {
  let png: PNG;
  try {
    png = PNG.sync.read(data);
  } catch (error) {
    return [`${file} is not a readable PNG: ${error instanceof Error ? error.message : String(error)}`];
  }
  const size = kind === "color" ? COLOR_SIZE : OUTLINE_SIZE;
  const problems: string[] = [];
  if (png.width !== size || png.height !== size) problems.push(`${file} is ${png.width}x${png.height}; the ${kind} icon must be ${size}x${size}`);
  if (kind === "outline") {
    let coloured = 0;
    let opaque = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const alpha = png.data[i + 3]!;
      if (alpha > 0 && (png.data[i]! !== 255 || png.data[i + 1]! !== 255 || png.data[i + 2]! !== 255)) coloured++;
      if (alpha === 255) opaque++;
    }
    if (coloured > 0) problems.push(`${file} has ${coloured} visible pixel(s) that are not white; the outline icon must be white on transparent`);
    if (opaque === png.width * png.height) problems.push(`${file} has no transparent pixel; the outline icon must be white on a transparent background`);
  }
  return problems;
}

/** Rules of Teams that the JSON schema does not express. */
function ruleProblems(manifest: Manifest): string[] {
  const problems: string[] = [];
  const text = JSON.stringify(manifest);
  const left = text.match(PLACEHOLDER);
  if (left) problems.push(`placeholders left unfilled: ${[...new Set(left)].join(", ")}`);
  if (manifest.version !== undefined && !SEMVER.test(manifest.version)) problems.push(`/version "${manifest.version}" must be major.minor.patch, such as 1.0.0`);
  const botIds = new Set([...(manifest.bots ?? []).map((b) => b.botId), ...(manifest.composeExtensions ?? []).map((c) => c.botId)]);
  if (botIds.size > 1) problems.push(`the bot and the message extension must use the same bot id, not ${[...botIds].join(" and ")}`);
  for (const bot of manifest.bots ?? []) {
    for (const list of bot.commandLists ?? []) {
      const outside = list.scopes.filter((s) => !bot.scopes.includes(s));
      if (outside.length) problems.push(`a command list is for ${outside.join(", ")}, which the bot's scopes don't include`);
    }
  }
  const ids = (manifest.composeExtensions ?? []).flatMap((c) => (c.commands ?? []).map((cmd) => cmd.id));
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length) problems.push(`message extension command ids must be unique: ${[...new Set(repeated)].join(", ")}`);
  return problems;
}

/**
 * Checks a filled manifest against the bundled v1.22 schema (never the network) and the rules above.
 * Returns every problem; an empty list means valid.
 */
export async function validateManifest(manifest: Manifest): Promise<string[]> {
  if (manifest.$schema !== SCHEMA_URL) return [`$schema must be ${SCHEMA_URL} (got ${String(manifest.$schema)})`];
  const bundled = join(dirname(require.resolve("@microsoft/app-manifest/package.json")), "build", "json-schemas", "teams", "v1.22", "MicrosoftTeams.schema.json");
  if (!existsSync(bundled)) {
    // validateAgainstSchema would fall back to downloading the schema: refuse, the check must work offline.
    throw new Error(`@microsoft/app-manifest no longer bundles the v1.22 schema (${bundled}); update it or pin a version that does`);
  }
  const schemaErrors = await AppManifestUtils.validateAgainstSchema(manifest);
  return [...schemaErrors, ...ruleProblems(manifest)];
}

export interface PackageOptions {
  /** Where the settings come from. */
  env: NodeJS.ProcessEnv;
  /** The repository: manifest/ and package.json are read from here. */
  rootDir?: string;
  /** The zip to write; relative paths are taken from rootDir. */
  outFile?: string;
}

export interface PackageResult {
  zipPath: string;
  manifest: Manifest;
  /** Defaults that were used, worth a look. */
  notes: string[];
}

/** Fills, validates and zips. Throws PackageSettingsError or ManifestInvalidError with every problem. */
export async function buildPackage(options: PackageOptions): Promise<PackageResult> {
  const rootDir = resolve(options.rootDir ?? join(__dirname, ".."));
  const settings = readSettings(options.env);
  const packageJson = JSON.parse(readFileSync(join(rootDir, "package.json"), "utf8")) as { version?: string };
  const packageVersion = packageJson.version ?? "1.0.0";
  const { manifest, notes } = buildManifest(readTemplate(rootDir), settings, packageVersion);

  const icons = { color: manifest.icons.color, outline: manifest.icons.outline };
  const iconData: Record<string, Buffer> = {};
  const problems = await validateManifest(manifest);
  for (const [kind, name] of Object.entries(icons) as ["color" | "outline", string][]) {
    const expected = `${kind}.png`;
    if (name !== expected) {
      problems.push(`icons.${kind} must be "${expected}" (the package holds manifest.json, color.png and outline.png at its root)`);
      continue;
    }
    const file = join(rootDir, "manifest", name);
    if (!existsSync(file)) {
      problems.push(`manifest/${name} is missing: run npx tsx scripts/icons.ts`);
      continue;
    }
    iconData[name] = readFileSync(file);
    problems.push(...iconProblems(kind, `manifest/${name}`, iconData[name]));
  }
  if (problems.length) throw new ManifestInvalidError(problems);

  const zip = new JSZip();
  // A fixed date keeps the zip the same for the same inputs.
  const date = new Date(Date.UTC(2025, 0, 1));
  zip.file("manifest.json", `${JSON.stringify(manifest, null, 2)}\n`, { date });
  for (const [name, data] of Object.entries(iconData)) zip.file(name, data, { date });
  const content = await zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 9 } });

  const zipPath = resolve(rootDir, options.outFile ?? DEFAULT_OUT);
  mkdirSync(dirname(zipPath), { recursive: true });
  writeFileSync(zipPath, content);
  return { zipPath, manifest, notes };
}

function parseArgs(argv: string[]): { outFile?: string } {
  const out = argv.indexOf("--out");
  if (out === -1) return {};
  const value = argv[out + 1];
  if (!value) throw new Error("--out needs a file name, e.g. --out dist/appPackage/soc-incident-bot.zip");
  return { outFile: resolve(value) };
}

/** The CLI: settings from the environment and .env (in the current folder), like the bot itself. */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    // .env fills only what the environment leaves unset, as for the bot.
    loadDotenv({ processEnv: env as Record<string, string> });
    const result = await buildPackage({ env, ...parseArgs(argv) });
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    process.stdout.write(
      `Wrote ${result.zipPath}\n  app id ${result.manifest.id}, version ${result.manifest.version}, bot ${result.manifest.bots?.[0]?.botId}\n` +
        `Upload it in Teams (Apps > Manage your apps > Upload an app) or in the Teams admin center (Manage apps > Upload new app).\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof PackageSettingsError || error instanceof ManifestInvalidError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`The app package could not be built: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
