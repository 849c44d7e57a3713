import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import JSZip from "jszip";
import { declarations, ROOT } from "./bicep";
import { parseProject, runToolkit, scriptsNeedingDevDependencies, type NpmRun, type Run } from "./toolkit-run";

// @microsoft/teamsfx-api (under teamsfx-core) loads @microsoft/app-manifest, which requires strip-bom 5, an ES module
// that Jest's CommonJS runtime can't load (plain Node 20 and the Toolkit's CLI can); as in test/manifest.
jest.mock("strip-bom", () => ({ __esModule: true, default: (text: string) => text.replace(/^\uFEFF/, "") }));

/**
 * m365agents.yml as the Microsoft 365 Agents Toolkit runs it (test/deploy/toolkit-run.ts: the Toolkit's own env
 * loader, yml parser, lifecycle and arm/deploy parameter expansion), on a fresh clone: `atk provision`, `atk deploy`
 * and `atk publish` resolve every placeholder and parameter with what the Toolkit itself writes, the app package
 * builds from the environment the Toolkit gives the package step, and devDependencies are installed before use.
 */

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
/** The one choice the person provisioning makes before `atk provision` (docs/deploy.md): the SOC analysts' group. */
const ANALYSTS = { ANALYST_GROUP_ID: "0b4a2f7e-3c1d-4e5f-8a9b-0c1d2e3f4a5b" };
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const exec = promisify(execFile);

let dir: string;
let fresh: Run;
const packages: { run: NpmRun; zip: string; manifest?: { id: string; version: string; bots: { botId: string }[]; validDomains?: string[] } }[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "toolkit-"));
  fresh = await runToolkit({
    preset: ANALYSTS,
    // The package step for real: `npm run package` with the environment the Toolkit gives it, into a scratch zip.
    onNpm: async (run) => {
      const out = /^run package -- --out (\S+)$/.exec(run.args)?.[1];
      if (!out) return undefined;
      const zip = path.join(dir, `${run.lifecycle}.zip`);
      try {
        await exec(npm, ["run", "--silent", "package", "--", "--out", zip], { cwd: ROOT, env: run.env });
      } catch (error) {
        return `npm run package failed: ${(error as { stderr?: string }).stderr ?? String(error)}`;
      }
      const files = await JSZip.loadAsync(fs.readFileSync(zip));
      packages.push({ run, zip: out, manifest: JSON.parse(await files.file("manifest.json")!.async("string")) });
      return undefined;
    },
  });
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("m365agents.yml run by the Toolkit's own code on a fresh clone", () => {
  it("provisions, deploys and publishes to the end: every placeholder and arm/deploy parameter resolves", () => {
    expect(fresh.failures).toEqual({});
    // Every step of every lifecycle ran.
    const steps = (l: string) => fresh.steps.filter((s) => s.lifecycle === l).map((s) => s.uses);
    expect(steps("provision")).toEqual([
      "arm/deploy",
      "teamsApp/create",
      "cli/runNpmCommand",
      "cli/runNpmCommand",
      "teamsApp/validateAppPackage",
      "teamsApp/update",
    ]);
    expect(steps("deploy")).toEqual(["cli/runNpmCommand", "cli/runNpmCommand", "azureAppService/zipDeploy"]);
    expect(steps("publish").at(-1)).toBe("teamsApp/publishAppPackage");
    // Nothing is left unexpanded anywhere.
    expect(JSON.stringify(fresh.steps)).not.toMatch(/\$\{\{/);
    expect(JSON.stringify(fresh.arm)).not.toMatch(/\$\{\{/);
  });

  it("gives arm/deploy only parameters the Bicep has, every one it requires, of its type, none empty", () => {
    const params = declarations(read("infra/azure.bicep")).filter((d) => d.kind === "param");
    const typeOf = new Map(params.map((p) => [p.name, /^param \w+ (\w+)/.exec(p.text.trim())![1]!]));
    expect(fresh.arm).toHaveLength(1);
    const given = fresh.arm[0]!.parameters;
    expect(Object.keys(given).filter((n) => !typeOf.has(n))).toEqual([]);
    const required = params.filter((p) => !/^param \w+ \w+\s*=/.test(p.text.trim())).map((p) => p.name);
    expect(required.filter((n) => !(n in given))).toEqual([]);
    const jsType = { string: "string", bool: "boolean", int: "number", object: "object", array: "object" } as Record<string, string>;
    for (const [name, { value }] of Object.entries(given)) {
      expect({ name, type: typeof value }).toEqual({ name, type: jsType[typeOf.get(name)!] });
      expect({ name, empty: value === "" }).toEqual({ name, empty: false });
    }
    expect(given.resourceBaseName?.value).toBe(`socbot${fresh.env.RESOURCE_SUFFIX}`);
    expect(given.analystGroupId?.value).toBe(ANALYSTS.ANALYST_GROUP_ID);
  });

  it("without the analysts' group, provision stops at its first step, arm/deploy, naming ANALYST_GROUP_ID only", async () => {
    const run = await runToolkit({ lifecycles: ["provision"] });
    expect(run.failures.provision).toEqual({
      step: "arm/deploy",
      error: expect.stringMatching(/^MissingEnvironmentVariablesError: .*ANALYST_GROUP_ID/),
    });
    expect(run.failures.provision?.error?.replace(/.*ANALYST_GROUP_ID/, "")).not.toMatch(/[A-Z]+_[A-Z_]+/);
    expect(run.steps.map((s) => s.uses)).toEqual(["arm/deploy"]);
  }, 60_000);

  it("builds the app package in provision and publish from the environment the Toolkit gives npm run package", () => {
    expect(packages.map((p) => p.run.lifecycle)).toEqual(["provision", "publish"]);
    for (const p of packages) {
      expect(p.zip).toBe(`./dist/appPackage/soc-incident-bot.dev.zip`);
      expect(p.manifest).toMatchObject({
        id: fresh.env.TEAMS_APP_ID,
        version: JSON.parse(read("package.json")).version,
        bots: [expect.objectContaining({ botId: fresh.env.BOT_ID })],
      });
      expect(p.manifest?.validDomains).toContain(fresh.env.BOT_DOMAIN);
    }
    // The zip the later steps use is the one the package step wrote.
    for (const s of fresh.steps.filter((x) => x.with && "appPackagePath" in x.with)) expect(s.with.appPackagePath).toBe(packages[0]!.zip);
  });

  it("installs the devDependencies (npm ci) before any npm script that needs one, in every lifecycle", () => {
    // The check bites: the package and stage scripts run tsx, a devDependency (and build, tsc, another).
    expect([...scriptsNeedingDevDependencies()]).toEqual(expect.arrayContaining(["package", "stage", "build"]));
    const scripts = fresh.npm.filter((n) => /^run (package|stage)\b/.test(n.args));
    expect(scripts.map((n) => `${n.lifecycle}: ${n.args.split(" ")[1]}`)).toEqual(["provision: package", "deploy: stage", "publish: package"]);
    for (const n of scripts) expect({ args: n.args, installed: n.installed }).toEqual({ args: n.args, installed: true });
  });
});

describe("m365agents.yml's lifecycle", () => {
  it("the Toolkit's parser accepts both project files (its schema check included) and refuses a broken one", async () => {
    for (const file of ["m365agents.yml", "m365agents.local.yml"]) await expect(parseProject(path.join(ROOT, file))).resolves.toHaveProperty("provision");
    const broken = path.join(dir, "broken.yml");
    fs.writeFileSync(broken, read("m365agents.yml").replace(/\n {6}templates:\n[\s\S]*?deploymentName: soc-incident-bot\n/, "\n"));
    expect(fs.readFileSync(broken, "utf8")).not.toMatch(/templates:/);
    await expect(parseProject(broken)).rejects.toMatchObject({ name: "InvalidYamlSchemaError" });
  });

  it.each(["m365agents.yml", "m365agents.local.yml"])("%s names its schema version in its yaml-language-server line", (file) => {
    const version = /^version: (v1\.\d+)$/m.exec(read(file))?.[1];
    expect(version).toBeDefined();
    expect(read(file).split("\n")[0]).toBe(`# yaml-language-server: $schema=https://aka.ms/m365-agents-toolkits/${version}/yaml.schema.json`);
  });

  it("pins the Bicep CLI the Toolkit downloads for arm/deploy (no Bicep on PATH needed)", async () => {
    const project = await parseProject();
    const arm = project.provision!.driverDefs.find((d) => d.uses === "arm/deploy")!;
    expect(arm.with?.bicepCliVersion).toMatch(/^v\d+\.\d+\.\d+$/);
  });

  it("provisions no Entra app and no client secret: the bot is the user-assigned managed identity", async () => {
    const project = await parseProject();
    const all = ["provision", "deploy", "publish"].flatMap((l) => project[l as "provision"]?.driverDefs ?? []);
    expect(all.map((d) => d.uses).filter((u) => u.startsWith("aadApp/"))).toEqual([]);
    expect(JSON.stringify(all)).not.toMatch(/SECRET_/);
    expect(fs.existsSync(path.join(ROOT, "infra", "aad.manifest.json"))).toBe(false);
  });

  it("deploys the folder npm run stage makes to the web app the Bicep outputs", () => {
    const deploy = fresh.steps.filter((s) => s.lifecycle === "deploy");
    const staged = /^run stage -- --out (\S+)$/.exec(String(deploy[1]!.with.args))?.[1];
    expect(staged).toBeDefined();
    expect(deploy[2]!.with).toMatchObject({ artifactFolder: staged, resourceId: fresh.env.BOT_AZURE_APP_SERVICE_RESOURCE_ID });
    expect(JSON.parse(read("package.json")).scripts.stage).toBe("tsx scripts/stage.ts");
  });
});

describe("m365agents.local.yml", () => {
  it("writes local mode's settings for the Playground: no app id, SQLite, the sample directory", async () => {
    const project = await parseProject(path.join(ROOT, "m365agents.local.yml"));
    const write = project.provision!.driverDefs.find((s) => s.uses === "file/createOrUpdateEnvironmentFile");
    expect(write?.with).toMatchObject({ target: "./.localConfigs", envs: { STORE: "sqlite", DIRECTORY: "local" } });
    expect(Object.keys((write?.with?.envs as object) ?? {})).not.toContain("MicrosoftAppId");
    expect((write?.with?.envs as Record<string, unknown>).NODE_ENV).not.toBe("production");
  });
});
