import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { declarations, ROOT } from "./bicep";

/**
 * Runs m365agents.yml's lifecycles with the Microsoft 365 Agents Toolkit's own code (@microsoft/teamsfx-core, the
 * library its CLI and VS Code extension run): its env loader (envUtil.readEnv), its yml parser (with its schema
 * check), its Lifecycle.execute (which resolves each step's ${{...}} placeholders just before the step runs and
 * stops at the first unresolved one), and its arm/deploy parameter expansion (ArmDeployImpl.getDeployParameters,
 * which refuses a parameters file with a placeholder left). Only the drivers that would reach Azure, Microsoft 365
 * or npm are replaced, by recorders that write what the real ones write (writeToEnvironmentFile, Bicep outputs).
 */

const load = createRequire(__filename);
const CORE = path.dirname(load.resolve("@microsoft/teamsfx-core/package.json"));
const fromCore = <T>(module: string): T => load(load.resolve(module, { paths: [CORE] })) as T;
const core = <T>(file: string): T => load(path.join(CORE, "build", file)) as T;

interface Result<T, E = Error> {
  isOk(): boolean;
  isErr(): boolean;
  value: T;
  error: E;
}
interface Logger {
  info(m: string): void;
  warning(m: string): void;
  error(m: string): void;
  debug(m: string): void;
  verbose(m: string): void;
  log(l: number, m: string): void;
}
export interface StepDef {
  uses: string;
  name?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  writeToEnvironmentFile?: Record<string, string>;
}
interface Lifecycle {
  name: string;
  driverDefs: StepDef[];
  execute(ctx: object): Promise<{ result: Result<Map<string, string>, LifecycleFailure> }>;
}
interface LifecycleFailure {
  kind: string;
  error?: Error;
  reason?: { kind: string; failedDriver: StepDef; unresolvedPlaceHolders?: string[]; error?: Error };
}

const { setTools } = core<{ setTools: (tools: object) => void }>("common/globalVars.js");
const { envUtil } = core<{ envUtil: { readEnv(projectPath: string, env: string): Promise<Result<Record<string, string>>> } }>(
  "component/utils/envUtil.js",
);
const { yamlParser } = core<{ yamlParser: { parse(file: string, validateSchema: boolean): Promise<Result<Partial<Record<LifecycleName, Lifecycle>>>> } }>(
  "component/configManager/parser.js",
);
const { ArmDeployImpl } = core<{
  ArmDeployImpl: new (args: object, ctx: object) => { getDeployParameters(file: string): Promise<{ parameters: Record<string, { value: unknown }> }> };
}>("component/driver/arm/deployImpl.js");
const { validateArgs: validateArmArgs } = core<{ validateArgs: (args: object) => Promise<string[]> }>("component/driver/arm/validator.js");
const { Container } = fromCore<{ Container: { set(id: string, value: unknown): void; remove(id: string): void; has(id: string): boolean } }>("typedi");
const { ok, err } = fromCore<{ ok: <T>(v: T) => Result<T>; err: <E>(e: E) => Result<never, E> }>("@microsoft/teamsfx-api");

const quiet: Logger = { info() {}, warning() {}, error() {}, debug() {}, verbose() {}, log() {} };
setTools({ logProvider: quiet, ui: undefined, telemetryReporter: undefined, tokenProvider: {} });

export const LIFECYCLES = ["provision", "deploy", "publish"] as const;
export type LifecycleName = (typeof LIFECYCLES)[number];

/** The yml parsed by the Toolkit (schema checked): its lifecycles. Throws the Toolkit's error if it refuses the file. */
export async function parseProject(file = path.join(ROOT, "m365agents.yml")): Promise<Partial<Record<LifecycleName, Lifecycle>>> {
  const parsed = await yamlParser.parse(file, true);
  if (parsed.isErr()) throw parsed.error;
  return parsed.value;
}

/** One npm command as the Toolkit's cli/runNpmCommand would run it: its args and the environment its child gets. */
export interface NpmRun {
  lifecycle: LifecycleName;
  args: string;
  env: NodeJS.ProcessEnv;
  installed: boolean;
}
export interface ArmRun {
  args: Record<string, unknown>;
  parameters: Record<string, { value: unknown }>;
}
export interface Run {
  /** Per lifecycle: undefined when it ran to the end, else why the Toolkit stopped (and at which step). */
  failures: Partial<Record<LifecycleName, { step: string; unresolved?: string[]; error?: string }>>;
  steps: { lifecycle: LifecycleName; uses: string; with: Record<string, unknown> }[];
  npm: NpmRun[];
  arm: ArmRun[];
  /** process.env after the run (what the next command would see), restored afterwards. */
  env: NodeJS.ProcessEnv;
}

/** The npm scripts that run a binary only a devDependency provides (e.g. tsx). */
export function scriptsNeedingDevDependencies(): Set<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
    devDependencies: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const binsOf = (name: string): string[] => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      name: string;
      bin?: string | Record<string, string>;
    };
    if (!manifest.bin) return [];
    return typeof manifest.bin === "string" ? [manifest.name.replace(/^@[^/]+\//, "")] : Object.keys(manifest.bin);
  };
  const devBins = new Set(Object.keys(pkg.devDependencies).flatMap((n) => (n.startsWith("@types/") ? [] : binsOf(n))));
  for (const n of Object.keys(pkg.dependencies)) for (const b of binsOf(n)) devBins.delete(b);
  const needing = new Set<string>();
  for (const [script, command] of Object.entries(pkg.scripts)) {
    const first = command.trim().split(/\s+/)[0]!;
    if (devBins.has(first)) needing.add(script);
  }
  return needing;
}

/** A stand-in for a Bicep output, of the right shape for its name. */
function outputValue(name: string, suffix: string): string {
  if (/RESOURCE_ID$/.test(name)) return `/subscriptions/${randomUUID()}/resourceGroups/rg-soc/providers/Microsoft.Web/sites/socbot${suffix}`;
  if (/DOMAIN$/.test(name)) return `socbot${suffix}.azurewebsites.net`;
  if (/ENDPOINT$/.test(name)) return `https://socbot${suffix}.example.net/`;
  if (/_NAME$/.test(name)) return `socbot${suffix}`;
  return randomUUID();
}

const BICEP_OUTPUTS = declarations(fs.readFileSync(path.join(ROOT, "infra", "azure.bicep"), "utf8"))
  .filter((d) => d.kind === "output")
  .map((d) => d.name);

export interface RunOptions {
  /** What the person running `atk provision` sets in env/.env.dev (or the environment) before the first run. */
  preset?: Record<string, string>;
  lifecycles?: readonly LifecycleName[];
  /** Called for every npm command (after the recorder's checks); return an error message to fail the step. */
  onNpm?: (run: NpmRun) => Promise<string | undefined>;
}

/**
 * `atk provision`, then `atk deploy`, then `atk publish` on a fresh clone: env/.env.dev read by the Toolkit, the
 * choices the Toolkit itself makes or asks for before provision (RESOURCE_SUFFIX, the subscription and resource
 * group), `preset`, then each lifecycle run by the Toolkit's Lifecycle. node_modules starts empty in every
 * lifecycle (a separate command, possibly on a fresh machine): an npm script that needs a devDependency fails
 * unless an `npm ci` (or `npm install`) ran before it in the same lifecycle.
 */
export async function runToolkit(options: RunOptions = {}): Promise<Run> {
  const saved = { ...process.env };
  const devOnly = scriptsNeedingDevDependencies();
  const run: Run = { failures: {}, steps: [], npm: [], arm: [], env: {} };
  const registered = new Set<string>();
  try {
    // Nothing of the test's own environment leaks in: only what the Toolkit would have.
    const envFile = fs.readFileSync(path.join(ROOT, "env", ".env.dev"), "utf8");
    for (const m of envFile.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)) delete process.env[m[1]!];
    for (const name of BICEP_OUTPUTS) delete process.env[name];
    const loaded = await envUtil.readEnv(ROOT, "dev");
    if (loaded.isErr()) throw loaded.error;
    // What the Toolkit's coordinator does before provision: a RESOURCE_SUFFIX if none, and asks for the
    // subscription and resource group when the yml's placeholders for them are empty.
    const suffix = process.env.RESOURCE_SUFFIX || randomUUID().slice(0, 6);
    process.env.RESOURCE_SUFFIX = suffix;
    process.env.AZURE_SUBSCRIPTION_ID ||= randomUUID();
    process.env.AZURE_RESOURCE_GROUP_NAME ||= `rg-socbot${suffix}-dev`;
    Object.assign(process.env, options.preset ?? {});

    const project = await parseProject();
    let lifecycle: LifecycleName = "provision";
    let installed = false;
    const uses = new Set(LIFECYCLES.flatMap((l) => (project[l]?.driverDefs ?? []).map((d) => d.uses)));
    const writes = (outputs: Map<string, string> | undefined, value: (name: string) => string): Map<string, string> =>
      new Map([...(outputs ?? new Map<string, string>())].map(([, name]) => [name, value(name)]));

    for (const id of uses) {
      const driver = {
        execute: async (args: Record<string, unknown>, _ctx: object, outputs?: Map<string, string>) => {
          run.steps.push({ lifecycle, uses: id, with: args });
          if (id === "arm/deploy") {
            const problems = await validateArmArgs(args);
            if (problems.length) return { result: err(new Error(problems.join("; "))), summaries: [] };
            const impl = new ArmDeployImpl(args, { projectPath: ROOT, logProvider: quiet });
            try {
              for (const template of args.templates as { parameters: string }[]) {
                run.arm.push({ args, parameters: (await impl.getDeployParameters(template.parameters)).parameters });
              }
            } catch (error) {
              return { result: err(error as Error), summaries: [] };
            }
            return { result: ok(new Map(BICEP_OUTPUTS.map((n) => [n, outputValue(n, suffix)]))), summaries: [] };
          }
          if (id === "cli/runNpmCommand") {
            const command = String(args.args);
            // The real driver runs npm with { ...process.env, ...env } (the step's env: already applied by Lifecycle).
            const npm: NpmRun = { lifecycle, args: command, env: { ...process.env }, installed };
            run.npm.push(npm);
            if (/^(ci|install)\b/.test(command)) installed = true;
            const script = /^run\s+(\S+)/.exec(command)?.[1];
            if (script && devOnly.has(script) && !installed) {
              return { result: err(new Error(`npm run ${script} needs devDependencies, and no npm ci ran before it`)), summaries: [] };
            }
            const problem = await options.onNpm?.(npm);
            if (problem) return { result: err(new Error(problem)), summaries: [] };
            return { result: ok(new Map<string, string>()), summaries: [] };
          }
          // Entra app, Teams app and publish steps: what they write to the environment file.
          return { result: ok(writes(outputs, () => randomUUID())), summaries: [] };
        },
      };
      Container.set(id, driver);
      registered.add(id);
    }

    for (const name of options.lifecycles ?? LIFECYCLES) {
      const cycle = project[name];
      if (!cycle) continue;
      lifecycle = name;
      installed = false;
      const { result } = await cycle.execute({ logProvider: quiet, projectPath: undefined, telemetryReporter: undefined });
      if (result.isErr()) {
        const failure = result.error;
        const step = failure.reason?.failedDriver;
        run.failures[name] = {
          step: step ? (step.name ? `${step.uses} (${step.name})` : step.uses) : "?",
          ...(failure.reason?.unresolvedPlaceHolders && { unresolved: [...new Set(failure.reason.unresolvedPlaceHolders)].sort() }),
          ...((failure.reason?.error ?? failure.error) && {
            error: `${(failure.reason?.error ?? failure.error)!.name}: ${(failure.reason?.error ?? failure.error)!.message}`,
          }),
        };
        break;
      }
    }
    run.env = { ...process.env };
    return run;
  } finally {
    for (const id of registered) Container.remove(id);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
