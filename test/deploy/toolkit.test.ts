import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";
import { declarations, ROOT } from "./bicep";

/**
 * The Agents Toolkit project files against the Toolkit's own published schema (shipped in
 * @microsoft/teamsfx-core, the core of @microsoft/m365agentstoolkit-cli), and the project's rules
 * for them: the app package comes from `npm run package`, every ${{VAR}} has a source.
 */

interface Step {
  uses: string;
  name?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  writeToEnvironmentFile?: Record<string, string>;
}
interface Project {
  version: string;
  environmentFolderPath?: string;
  provision?: Step[];
  deploy?: Step[];
  publish?: Step[];
}

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/**
 * The settings scripts/package.ts reads: the keys of its settingsSchema, read from its text (importing it
 * would load @microsoft/app-manifest, whose ESM dependency Jest can't load).
 */
function packagingSettings(): string[] {
  const text = read("scripts/package.ts");
  const start = text.indexOf("export const settingsSchema = z.object({");
  const end = text.indexOf("\n});", start);
  if (start === -1 || end === -1) throw new Error("scripts/package.ts no longer has `export const settingsSchema = z.object({ ... });`");
  return [...text.slice(start, end).matchAll(/^ {2}([A-Za-z_][A-Za-z0-9_]*):/gm)].map((m) => m[1]!);
}

function schemaFor(version: string): object {
  const core = path.dirname(require.resolve("@microsoft/teamsfx-core/package.json"));
  const file = path.join(core, "resource", "yaml-schema", version, "yaml.schema.json");
  if (!fs.existsSync(file)) throw new Error(`@microsoft/teamsfx-core ships no schema for ${version} (${file})`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as object;
}

const FILES = { dev: "m365agents.yml", local: "m365agents.local.yml" } as const;
const projects = Object.fromEntries(Object.entries(FILES).map(([env, file]) => [env, parse(read(file)) as Project])) as Record<
  keyof typeof FILES,
  Project
>;

describe.each(Object.entries(FILES))("%s: %s", (env, file) => {
  const project = projects[env as keyof typeof FILES];

  it("is valid against the Toolkit's schema for its version", () => {
    expect(project.version).toMatch(/^v1\.\d+$/);
    // The schema's own $schema line names the draft (07), which ajv knows.
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schemaFor(project.version));
    validate(project);
    expect(validate.errors ?? []).toEqual([]);
    // The schema bites: an action missing its required inputs is refused.
    expect(validate({ ...project, provision: [{ uses: "arm/deploy", with: { templates: [] } }] })).toBe(false);
  });

  it("names the same schema version in its yaml-language-server line", () => {
    expect(read(file).split("\n")[0]).toBe(
      `# yaml-language-server: $schema=https://aka.ms/m365-agents-toolkits/${project.version}/yaml.schema.json`,
    );
  });

  it("has a source for every ${{VAR}}: its env file, an earlier step's output, or a Bicep output", () => {
    const envFile = read(path.join("env", `.env.${env}`));
    const known = new Set([...envFile.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
    const outputs = declarations(read("infra/azure.bicep"))
      .filter((d) => d.kind === "output")
      .map((d) => d.name);
    const missing: string[] = [];
    const uses = (text: string) => [...text.matchAll(/\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);
    for (const stage of ["provision", "deploy", "publish"] as const) {
      for (const step of project[stage] ?? []) {
        const files = [JSON.stringify(step.with ?? {}), JSON.stringify(step.env ?? {})];
        if (step.uses === "arm/deploy") {
          files.push(read("infra/azure.parameters.json"));
          outputs.forEach((o) => known.add(o));
        }
        if (step.uses === "aadApp/update") files.push(read("infra/aad.manifest.json"));
        for (const name of files.flatMap(uses)) if (!known.has(name)) missing.push(`${stage} ${step.uses}: ${name}`);
        for (const name of Object.values(step.writeToEnvironmentFile ?? {})) known.add(name);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe("m365agents.yml's lifecycle", () => {
  const project = projects.dev;
  const steps = (stage: "provision" | "deploy" | "publish") => project[stage] ?? [];

  it("provisions a single-tenant Entra app with a secret kept as SECRET_, the Graph permissions, the Teams app and the Bicep", () => {
    expect(steps("provision").map((s) => s.uses)).toEqual([
      "aadApp/create",
      "aadApp/update",
      "teamsApp/create",
      "arm/deploy",
      "cli/runNpmCommand",
      "teamsApp/validateAppPackage",
      "teamsApp/update",
    ]);
    const app = steps("provision")[0]!;
    expect(app.with).toMatchObject({ signInAudience: "AzureADMyOrg", generateClientSecret: true, generateServicePrincipal: true });
    expect(app.writeToEnvironmentFile?.clientSecret).toMatch(/^SECRET_/);
    const arm = steps("provision")[3]!.with as { templates: { path: string; parameters: string }[] };
    expect(arm.templates).toEqual([expect.objectContaining({ path: "./infra/azure.bicep", parameters: "./infra/azure.parameters.json" })]);
    // The Graph application permissions: User.Read.All and GroupMember.Read.All on Microsoft Graph.
    const manifest = JSON.parse(read("infra/aad.manifest.json")) as {
      signInAudience: string;
      requiredResourceAccess: { resourceAppId: string; resourceAccess: { id: string; type: string }[] }[];
    };
    expect(manifest.signInAudience).toBe("AzureADMyOrg");
    expect(manifest.requiredResourceAccess).toEqual([
      {
        resourceAppId: "00000003-0000-0000-c000-000000000000",
        resourceAccess: [
          { id: "df021288-bdef-4463-88db-98f22de89214", type: "Role" },
          { id: "98830695-27a2-44f7-8c18-0c3ebc9698f6", type: "Role" },
        ],
      },
    ]);
  });

  it.each(["provision", "publish"] as const)(
    "%s builds the app package with npm run package (scripts/package.ts), given every packaging setting, and uses that zip",
    (stage) => {
      const all = steps(stage);
      expect(all.map((s) => s.uses)).not.toContain("teamsApp/zipAppPackage");
      const packaging = all.filter((s) => s.uses === "cli/runNpmCommand" && String(s.with?.args).startsWith("run package"));
      expect(packaging).toHaveLength(1);
      const out = /--out (\S+)$/.exec(String(packaging[0]!.with?.args))?.[1];
      expect(out).toBe("./dist/appPackage/soc-incident-bot.${{TEAMSFX_ENV}}.zip");
      expect(packagingSettings()).toContain("TEAMS_APP_ID");
      expect(Object.keys(packaging[0]!.env ?? {}).sort()).toEqual(packagingSettings().sort());
      const zips = all.filter((s) => s.with && "appPackagePath" in s.with).map((s) => s.with!.appPackagePath);
      expect(zips.length).toBeGreaterThanOrEqual(2);
      expect(new Set(zips)).toEqual(new Set([out]));
      // Packaging comes before anything that uses the zip.
      expect(all.indexOf(packaging[0]!)).toBeLessThan(all.findIndex((s) => s.with && "appPackagePath" in s.with));
    },
  );

  it("deploys the folder npm run stage makes to the web app the Bicep outputs", () => {
    const deploy = steps("deploy");
    expect(deploy.map((s) => s.uses)).toEqual(["cli/runNpmCommand", "cli/runNpmCommand", "azureAppService/zipDeploy"]);
    const staged = /^run stage -- --out (\S+)$/.exec(String(deploy[1]!.with?.args))?.[1];
    expect(staged).toBeDefined();
    expect(deploy[2]!.with).toMatchObject({ artifactFolder: staged, resourceId: "${{BOT_AZURE_APP_SERVICE_RESOURCE_ID}}" });
    expect(JSON.parse(read("package.json")).scripts.stage).toBe("tsx scripts/stage.ts");
  });

  it("publishes to the org's app catalog", () => {
    expect(steps("publish").at(-1)?.uses).toBe("teamsApp/publishAppPackage");
  });
});

describe("m365agents.local.yml", () => {
  it("writes local mode's settings for the Playground: no app id, SQLite, the sample directory", () => {
    const write = (projects.local.provision ?? []).find((s) => s.uses === "file/createOrUpdateEnvironmentFile");
    expect(write?.with).toMatchObject({ target: "./.localConfigs", envs: { STORE: "sqlite", DIRECTORY: "local" } });
    expect(Object.keys((write?.with?.envs as object) ?? {})).not.toContain("MicrosoftAppId");
    expect((write?.with?.envs as Record<string, unknown>).NODE_ENV).not.toBe("production");
  });
});
