/**
 * The Teams app package: manifest template filled and checked offline against the bundled v1.22 schema,
 * the icons, the command ids, and `npm run package` end to end.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { AppManifestUtils } from "@microsoft/app-manifest";
import JSZip from "jszip";
import { PNG } from "pngjs";
import { drawColorIcon, drawOutlineIcon, parseHexColor, readAccentColor } from "../../scripts/icons";
import * as verbs from "../../src/teams/verbs";
import {
  buildManifest,
  buildPackage,
  iconProblems,
  ManifestInvalidError,
  type Manifest,
  PACKAGE_FILES,
  PackageSettingsError,
  readSettings,
  readTemplate,
  SCHEMA_URL,
  validateManifest,
} from "../../scripts/package";

// @microsoft/app-manifest requires strip-bom 5, an ES module that Jest's CommonJS runtime can't load (plain Node 20
// and tsx can). It is used only when reading manifest files, which these tests don't do through the library.
jest.mock("strip-bom", () => ({ __esModule: true, default: (text: string) => text.replace(/^\uFEFF/, "") }));

const ROOT = join(__dirname, "..", "..");
const APP_ID = "0d9c5b52-7f0e-4f5c-9a51-6a0f3b7c2e11";
const BOT_ID = "6a1f2c3d-1111-4222-8333-944455556666";
const ENV = { TEAMS_APP_ID: APP_ID, MicrosoftAppId: BOT_ID, BOT_DOMAIN: "soc-bot.contoso.com" };
/** Every setting the script reads, empty, so neither the machine's environment nor a .env can leak in. */
const BLANK = {
  TEAMS_APP_ID: "",
  MicrosoftAppId: "",
  APP_VERSION: "",
  DEVELOPER_NAME: "",
  DEVELOPER_WEBSITE_URL: "",
  PRIVACY_URL: "",
  TERMS_URL: "",
  BOT_DOMAIN: "",
};

/*
 * The command ids, as issue #5 lists them. The bot's text commands are in src/teams/verbs.ts (TEXT_COMMANDS);
 * the manifest lists only some of them, so they are literals here. The message-extension ids are literals too, and are also compared with
 * src/teams/verbs.ts's COMMANDS (see "commands" below), so a rename on either side fails.
 */
const BOT_COMMANDS = [
  { title: "incident", description: "Open the incident form" },
  { title: "my reports", description: "What you reported, its status and who handles it" },
  { title: "my incidents", description: "SOC analysts: what is assigned to you" },
  { title: "help", description: "What this bot does" },
];
const ACTION_COMMAND = "createIncidentFromMessage";
const SEARCH_COMMAND = "findIncident";

function filled(env: Record<string, string> = ENV): Manifest {
  return buildManifest(readTemplate(ROOT), readSettings({ ...BLANK, ...env }), "0.1.0").manifest;
}

function png(file: string): PNG {
  return PNG.sync.read(readFileSync(join(ROOT, "manifest", file)));
}

const realFetch = globalThis.fetch;
const fetchSpy = jest.fn(() => Promise.reject(new Error("the manifest checks must not use the network")));
beforeAll(() => {
  globalThis.fetch = fetchSpy;
});
afterAll(() => {
  globalThis.fetch = realFetch;
  // The whole file ran offline: the schema came from @microsoft/app-manifest's bundled copy.
  expect(fetchSpy).not.toHaveBeenCalled();
});

describe("manifest template", () => {
  it("is a v1.22 template whose every id is a placeholder", () => {
    const template = readTemplate(ROOT) as Manifest;
    expect(template.$schema).toBe(SCHEMA_URL);
    expect(template.manifestVersion).toBe("1.22");
    expect(template.id).toBe("${{TEAMS_APP_ID}}");
    expect(template.bots?.[0]?.botId).toBe("${{BOT_ID}}");
    expect(template.composeExtensions?.[0]?.botId).toBe("${{BOT_ID}}");
    expect(template.version).toBe("${{APP_VERSION}}");
  });

  it("filled, has zero errors against the bundled v1.22 schema", async () => {
    const bundled = join(dirname(require.resolve("@microsoft/app-manifest/package.json")), "build/json-schemas/teams/v1.22/MicrosoftTeams.schema.json");
    expect(existsSync(bundled)).toBe(true);
    const manifest = filled();
    expect(await AppManifestUtils.validateAgainstSchema(manifest)).toEqual([]);
    expect(await validateManifest(manifest)).toEqual([]);
  });

  it("fills the ids, the version, the developer and validDomains from the settings", () => {
    const manifest = filled({
      ...ENV,
      APP_VERSION: "2.3.4",
      DEVELOPER_NAME: "Contoso SOC",
      DEVELOPER_WEBSITE_URL: "https://contoso.com/soc",
      PRIVACY_URL: "https://contoso.com/privacy",
      TERMS_URL: "https://contoso.com/terms",
    });
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.version).toBe("2.3.4");
    expect(manifest.bots?.[0]?.botId).toBe(BOT_ID);
    expect(manifest.composeExtensions?.[0]?.botId).toBe(BOT_ID);
    expect(manifest.developer).toEqual({
      name: "Contoso SOC",
      websiteUrl: "https://contoso.com/soc",
      privacyUrl: "https://contoso.com/privacy",
      termsOfUseUrl: "https://contoso.com/terms",
    });
    expect(manifest.validDomains).toEqual(["soc-bot.contoso.com"]);
    expect(JSON.stringify(manifest)).not.toMatch(/\$\{\{/);
  });

  it("keeps the Teams limits on name and descriptions", () => {
    const manifest = filled();
    expect(manifest.name.short).toBe("SOC Incident");
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
    expect(manifest.description.full).toMatch(/Sentinel/);
    expect(manifest.accentColor).toMatch(/^#[0-9A-F]{6}$/i);
  });
});

describe("bad manifests are reported", () => {
  it("a short name over 30 characters", async () => {
    const manifest = filled();
    manifest.name.short = "SOC Incident intake for the whole company";
    const problems = await validateManifest(manifest);
    expect(problems).toEqual([expect.stringMatching(/^\/name\/short must NOT have more than 30 characters/)]);
    expect(await AppManifestUtils.validateAgainstSchema(manifest)).toHaveLength(1);
  });

  it("a missing privacy URL, a bot id that is not a GUID and an unknown scope, all at once", async () => {
    const manifest = filled() as Record<string, any>;
    delete manifest.developer.privacyUrl;
    manifest.bots[0].botId = "my-bot";
    manifest.bots[0].scopes.push("meeting");
    const problems = await validateManifest(manifest as Manifest);
    expect(problems.join("\n")).toMatch(/\/developer must have required property 'privacyUrl'/);
    expect(problems.join("\n")).toMatch(/\/bots\/0\/botId must match pattern/);
    expect(problems.join("\n")).toMatch(/\/bots\/0\/scopes\/3 must be equal to one of the allowed values/);
    expect(problems.join("\n")).toMatch(/same bot id/);
  });

  it("a placeholder left unfilled or a version that is not major.minor.patch", async () => {
    const manifest = filled();
    manifest.version = "${{APP_VERSION}}";
    const problems = await validateManifest(manifest);
    expect(problems).toContain("placeholders left unfilled: ${{APP_VERSION}}");
    expect(problems.join("\n")).toMatch(/\/version .* must be major\.minor\.patch/);
  });

  it("a template placeholder the script does not know", () => {
    const template = readTemplate(ROOT) as Manifest;
    template.developer.mpnId = "${{MPN_ID}}";
    expect(() => buildManifest(template, readSettings({ ...BLANK, ...ENV }), "0.1.0")).toThrow(ManifestInvalidError);
    expect(() => buildManifest(template, readSettings({ ...BLANK, ...ENV }), "0.1.0")).toThrow(/\$\{\{MPN_ID\}\}/);
  });
});

describe("commands", () => {
  it("the bot is in personal, team and groupChat; my reports and my incidents (lists for the person only) are offered in the 1:1 chat alone", () => {
    const bot = filled().bots?.[0];
    expect(filled().bots).toHaveLength(1);
    expect(bot?.scopes).toEqual(["personal", "team", "groupChat"]);
    const lists = bot?.commandLists ?? [];
    expect(lists.map((l) => l.scopes)).toEqual([["personal"], ["team"], ["groupChat"]]);
    expect(lists[0]?.commands).toEqual(BOT_COMMANDS);
    const shared = BOT_COMMANDS.filter((c) => c.title !== "my reports" && c.title !== "my incidents");
    for (const list of lists.slice(1)) expect(list.commands).toEqual(shared);
  });

  it("the message extension has the action and the search command the bot handles", () => {
    const extension = filled().composeExtensions?.[0];
    expect(extension?.commands?.map((c) => c.id)).toEqual([ACTION_COMMAND, SEARCH_COMMAND]);
    expect(extension?.commands?.[0]).toEqual(
      expect.objectContaining({ id: ACTION_COMMAND, type: "action", title: "Create incident", context: ["message"], fetchTask: true }),
    );
    expect(extension?.commands?.[1]).toEqual(
      expect.objectContaining({ id: SEARCH_COMMAND, type: "query", title: "Find incident", context: ["compose", "commandBox"], initialRun: true }),
    );
    expect(extension?.commands?.[1]?.parameters).toEqual([expect.objectContaining({ name: "query", title: "Number, words or tag" })]);
  });

  it("every command in the bot's menu is one the bot answers (src/teams/verbs.ts)", () => {
    const answered = Object.values(verbs.TEXT_COMMANDS).flat() as string[];
    const listed = (filled().bots?.[0]?.commandLists ?? []).flatMap((l) => l.commands.map((c) => c.title));
    expect(listed.length).toBeGreaterThan(0);
    for (const title of listed) expect(answered).toContain(title);
  });

  it("the message-extension ids are the ones src/teams/verbs.ts routes", () => {
    const handled = verbs.COMMANDS;
    const ids = filled().composeExtensions?.[0]?.commands?.map((c) => c.id);
    expect([...Object.values(handled)].sort()).toEqual([...(ids ?? [])].sort());
  });
});

describe("icons", () => {
  it("color.png is 192x192, opaque, on the accent colour", () => {
    const color = png("color.png");
    expect([color.width, color.height]).toEqual([192, 192]);
    let seeThrough = 0;
    for (let i = 3; i < color.data.length; i += 4) if (color.data[i] !== 255) seeThrough++;
    expect(seeThrough).toBe(0);
    const [r, g, b] = parseHexColor(readAccentColor(ROOT));
    expect([...color.data.subarray(0, 3)]).toEqual([r, g, b]);
    expect(iconProblems("color", "color.png", readFileSync(join(ROOT, "manifest", "color.png")))).toEqual([]);
  });

  it("outline.png is 32x32, white on transparent", () => {
    const outline = png("outline.png");
    expect([outline.width, outline.height]).toEqual([32, 32]);
    let transparent = 0;
    let solid = 0;
    let notWhite = 0;
    for (let i = 0; i < outline.data.length; i += 4) {
      const alpha = outline.data[i + 3]!;
      if (alpha === 0) transparent++;
      else if (outline.data[i] !== 255 || outline.data[i + 1] !== 255 || outline.data[i + 2] !== 255) notWhite++;
      if (alpha === 255) solid++;
    }
    expect(notWhite).toBe(0);
    expect(transparent).toBeGreaterThan(100);
    expect(solid).toBeGreaterThan(100);
    expect(iconProblems("outline", "outline.png", readFileSync(join(ROOT, "manifest", "outline.png")))).toEqual([]);
  });

  it("the committed icons are what scripts/icons.ts draws (re-run it after changing the glyph or accentColor)", () => {
    expect(Buffer.compare(png("color.png").data, drawColorIcon(readAccentColor(ROOT)).data)).toBe(0);
    expect(Buffer.compare(png("outline.png").data, drawOutlineIcon().data)).toBe(0);
  });

  it("a wrong size or a coloured outline is reported", () => {
    const colorAsOutline = readFileSync(join(ROOT, "manifest", "color.png"));
    const problems = iconProblems("outline", "outline.png", colorAsOutline);
    expect(problems.join("\n")).toMatch(/is 192x192; the outline icon must be 32x32/);
    expect(problems.join("\n")).toMatch(/not white/);
    expect(problems.join("\n")).toMatch(/no transparent pixel/);
    expect(iconProblems("color", "color.png", Buffer.from("not a png"))).toEqual([expect.stringMatching(/not a readable PNG/)]);
  });
});

describe("settings", () => {
  it("reports every missing or wrong setting at once", () => {
    let error: unknown;
    try {
      readSettings({ ...BLANK, APP_VERSION: "1.0", BOT_DOMAIN: "https://soc-bot.contoso.com/api", TERMS_URL: "http://contoso.com/terms" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PackageSettingsError);
    const problems = (error as PackageSettingsError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(/[ :]/)[0])).toEqual(["TEAMS_APP_ID", "MicrosoftAppId", "APP_VERSION", "TERMS_URL", "BOT_DOMAIN"]);
    expect(problems[0]).toMatch(/is required: the Teams app's own id.*TEAMS_APP_ID=[0-9a-f-]{36}/);
  });

  it("rejects ids that are not GUIDs", () => {
    expect(() => readSettings({ ...BLANK, TEAMS_APP_ID: "soc-bot", MicrosoftAppId: BOT_ID })).toThrow(/TEAMS_APP_ID \(got "soc-bot"\): use a GUID/);
  });
});

describe("npm run package", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "app-package-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function expectPackage(zipPath: string): Promise<Manifest> {
    const zip = await JSZip.loadAsync(readFileSync(zipPath));
    const names = Object.values(zip.files)
      .filter((f) => !f.dir)
      .map((f) => f.name)
      .sort();
    expect(names).toEqual([...PACKAGE_FILES].sort());
    expect(Object.keys(zip.files).sort()).toEqual(names);
    for (const icon of ["color.png", "outline.png"]) {
      expect(Buffer.compare(await zip.file(icon)!.async("nodebuffer"), readFileSync(join(ROOT, "manifest", icon)))).toBe(0);
    }
    const manifest = JSON.parse(await zip.file("manifest.json")!.async("string")) as Manifest;
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots?.[0]?.botId).toBe(BOT_ID);
    expect(manifest.composeExtensions?.[0]?.botId).toBe(BOT_ID);
    expect(JSON.stringify(manifest)).not.toMatch(/\$\{\{/);
    expect(await AppManifestUtils.validateAgainstSchema(manifest)).toEqual([]);
    return manifest;
  }

  it("buildPackage writes a zip with exactly manifest.json and the two icons, ids filled", async () => {
    const result = await buildPackage({ env: { ...BLANK, ...ENV }, rootDir: ROOT, outFile: join(dir, "direct.zip") });
    expect(result.zipPath).toBe(join(dir, "direct.zip"));
    const manifest = await expectPackage(result.zipPath);
    expect(manifest.version).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    expect(result.notes.join("\n")).toMatch(/PRIVACY_URL is not set/);
  });

  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const run = promisify(execFile);

  it("as a command: writes the zip and exits 0", async () => {
    const out = join(dir, "cli.zip");
    const { stdout } = await run(npm, ["run", "--silent", "package", "--", "--out", out], { cwd: ROOT, env: { ...process.env, ...BLANK, ...ENV } });
    expect(stdout).toContain(`Wrote ${out}`);
    await expectPackage(out);
  }, 60_000);

  it("as a command: names every missing setting and exits 1", async () => {
    const out = join(dir, "never.zip");
    const failure = await run(npm, ["run", "--silent", "package", "--", "--out", out], { cwd: ROOT, env: { ...process.env, ...BLANK } }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/2 settings need fixing/);
    expect(failure?.stderr).toMatch(/- TEAMS_APP_ID: is required/);
    expect(failure?.stderr).toMatch(/- MicrosoftAppId: is required/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
