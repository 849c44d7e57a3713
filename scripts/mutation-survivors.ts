/**
 * Writes docs/mutation-survivors.md from a Stryker JSON report (reports/mutation/mutation.json, written by
 * `npm run test:mutation`): every mutant of src/incidents the unit tests did not kill, with why it is left.
 * The reasons are rules over file, line and mutator below, written by reading each survivor; a survivor no
 * rule explains is listed as "not yet explained" (and the script exits 1), so a new one cannot hide.
 *
 *   npx tsx scripts/mutation-survivors.ts [reports/mutation/mutation.json]
 */
import fs from "node:fs";
import path from "node:path";

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

type Rule = { file: string; lines: [number, number]; mutators?: string[]; why: string };

const HTTP = "SentinelMirror paths tested end to end over HTTP by test/teams/sentinel-sync.test.ts (a spawned bot against the test Sentinel server: minutes, so outside the mutation run)";
const RULES: Rule[] = [
  // Equivalent: the value makes no difference a user or another process can see.
  { file: "backoff.ts", lines: [9, 9], why: "jitter arithmetic: any delay within the cap is a valid backoff; the bounds are tested" },
  { file: "errors.ts", lines: [26, 26], why: "the error class's name: nothing reads it (code tests instanceof and kind)" },
  { file: "casework.ts", lines: [92, 92], why: "the placeholder actor's name when asking whether anyone would be told: names are not compared" },
  { file: "casework.ts", lines: [173, 174], mutators: ["EqualityOperator"], why: "> vs >= on equal times: the same time either way" },
  { file: "owners.ts", lines: [18, 20], why: "case and separator runs when splitting names into words: empty words never match, both sides fold alike" },
  { file: "report.ts", lines: [42, 48], why: "the suggested title's sentence cut: regex variants give the same first sentence for every input a person types (title suggestions are tested by example)" },
  { file: "report.ts", lines: [79, 79], why: "each calendar check alone: a day, month or hour out of range always moves the round-tripped date, so the other checks catch it (redundant by design)" },
  {
    file: "report.ts",
    lines: [88, 88],
    why: "the sort of the two candidate instants: they come in time order already (the offset before a change back is the larger)",
  },
  { file: "model.ts", lines: [287, 287], why: "the filter of undefined keys: personKey is called on actors that always have one of the two ids here" },
  { file: "search.ts", lines: [49, 49], why: "syncDue in the search row when undefined: the stores drop undefined columns" },
  { file: "search.ts", lines: [65, 65], why: "separator runs: empty words are dropped afterwards" },
  { file: "tags.ts", lines: [37, 37], why: "the case used for duplicate keys: both sides fold alike" },
  { file: "tags.ts", lines: [76, 76], why: "the case used for keys: both sides fold alike" },
  { file: "tags.ts", lines: [119, 119], why: "the case used for keys: both sides fold alike" },
  { file: "tags.ts", lines: [83, 83], why: "> vs >= on uses at the same millisecond: either spelling is the latest" },
  { file: "tags.ts", lines: [126, 126], mutators: ["EqualityOperator"], why: "> vs >= on uses at the same millisecond: either spelling is the latest" },
  { file: "tags.ts", lines: [108, 108], why: "> vs >= on the window's last day: today weighs as today either way" },
  {
    file: "tags.ts",
    lines: [185, 202],
    why: "the caches of parsed tags and their bound (recomputing gives the same words) and separator runs (empty words never match)",
  },
  { file: "tags.ts", lines: [216, 217], why: "the empty query's shortcut: the general path gives the same top tags" },
  { file: "tags.ts", lines: [148, 148], why: "the weight of each day computed once per call: computing it again gives the same number" },
  { file: "validation.ts", lines: [122, 122], why: "the restricted flag sent as a boolean: String(value) and the generic path give the same text" },
  { file: "service.ts", lines: [124, 124], why: "the triage channel's setting key: any constant works" },
  { file: "service.ts", lines: [209, 209], why: "the tag cache ended after a tagged create only: ending it always is slower, not different" },
  { file: "service.ts", lines: [239, 239], why: "contacts left undefined: JSON drops undefined" },
  { file: "service.ts", lines: [304, 304], why: "Assign to me without an owner: only analysts get there, and an analyst is always in the directory" },
  { file: "service.ts", lines: [318, 318], why: "stableId's constant prefix: any distinct constant works" },
  { file: "service.ts", lines: [341, 341], why: "stableId's constant prefix: any distinct constant works" },
  { file: "service.ts", lines: [365, 365], why: "stableId's constant prefix: any distinct constant works" },
  { file: "service.ts", lines: [388, 388], why: "stableId's constant prefix: any distinct constant works" },
  { file: "service.ts", lines: [410, 420], why: "defence in depth: the single visibility rule (seen) filters the store's answer afterwards" },
  { file: "service.ts", lines: [480, 482], why: "defence in depth: the single visibility rule (seen) filters the store's answer afterwards" },
  { file: "service.ts", lines: [501, 502], why: "the owner search's empty-query shortcut and trim: the directory answers nothing for blank text" },
  { file: "service.ts", lines: [513, 513], why: "the case of object ids sent to the directory: directories compare them case-insensitively" },
  { file: "service.ts", lines: [547, 547], why: "which cache entry a failed triage read empties: emptying any is slower, not different" },
  { file: "service.ts", lines: [567, 567], why: "notices added to an edit that then conflicts: the store writes nothing on a conflict" },
  { file: "service.ts", lines: [615, 615], why: "trim of the owner field: checkForm has already refused or trimmed it" },
  { file: "service.ts", lines: [637, 637], why: "which cache entry a failed tag read empties: emptying any is slower, not different" },
  { file: "service.ts", lines: [646, 646], why: "the shortcut for an empty refresh on the same day: merging nothing and ranking again gives the same list (slower)" },
  { file: "service.ts", lines: [650, 650], why: "the case used for keys: both sides fold alike" },
  {
    file: "service.ts",
    lines: [652, 652],
    why: "tags whose latest use left the window dropped from the instance's map: they have no day in it, so totalsOf leaves them out either way (a bound on memory); a time is never equal to a day, so < and <= agree",
  },
  { file: "service.ts", lines: [663, 663], why: "the case of object ids sent to the directory: directories compare them case-insensitively" },
  { file: "service.ts", lines: [696, 699], why: "an employee's severity, status and closing fields: the values put there are the form's defaults (empty means Medium, New, none)" },
  { file: "mirror.ts", lines: [76, 80], why: "the display name of Sentinel as an actor, and the new link's empty task list: not compared" },
  { file: "mirror.ts", lines: [88, 88], why: "> vs >= on equal times: the same time either way" },
  { file: "mirror.ts", lines: [163, 173], why: "how compared values are joined (separator, placeholders for empty fields, owner id case): both sides of every comparison use the same function" },
  { file: "mirror.ts", lines: [280, 284], why: "evidence words for an empty evidence line: covered by the HTTP test's comment text" },
  { file: "mirror.ts", lines: [306, 350], why: "constant id prefixes and separators of deterministic ids (any distinct constant works) and comment wording checked over HTTP" },
  { file: "mirror.ts", lines: [366, 366], why: "the poller's lease name: any constant works" },
  { file: "mirror.ts", lines: [420, 740], why: HTTP },
];

function explain(file: string, m: Mutant): string | undefined {
  const name = path.basename(file);
  const line = m.location.start.line;
  return RULES.find((r) => r.file === name && line >= r.lines[0] && line <= r.lines[1] && (!r.mutators || r.mutators.includes(m.mutatorName)))?.why;
}

const input = process.argv[2] ?? path.join("reports", "mutation", "mutation.json");
const report = JSON.parse(fs.readFileSync(input, "utf8")) as Report;
const out: string[] = [
  "# Surviving mutants of src/incidents",
  "",
  "Written by `npx tsx scripts/mutation-survivors.ts` from the report of `npm run test:mutation` (see [testing](testing.md)):",
  "every mutant the unit tests (and the Sentinel mirror's adapter test) did not kill, and why it is left.",
  "",
  "| File | Line | Mutant | Status | Why it is left |",
  "|---|---|---|---|---|",
];
let unexplained = 0;
const totals: Record<string, number> = {};
for (const [file, data] of Object.entries(report.files)) {
  for (const m of data.mutants) totals[m.status] = (totals[m.status] ?? 0) + 1;
  const left = data.mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage");
  left.sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column);
  for (const m of left) {
    const why = explain(file, m);
    if (!why) unexplained++;
    const replacement = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 60).replace(/\|/g, "\\|").replace(/`/g, "'");
    out.push(`| ${path.basename(file)} | ${m.location.start.line} | ${m.mutatorName}: \`${replacement}\` | ${m.status === "NoCoverage" ? "no coverage" : "survived"} | ${why ?? "**not yet explained**"} |`);
  }
}
const detected = (totals.Killed ?? 0) + (totals.Timeout ?? 0);
const valid = detected + (totals.Survived ?? 0) + (totals.NoCoverage ?? 0);
out.splice(5, 0, `Score: **${((100 * detected) / valid).toFixed(2)}%** (${detected} of ${valid} killed or timed out; ${totals.Survived ?? 0} survived, ${totals.NoCoverage ?? 0} without coverage; ${totals.CompileError ?? 0} did not compile). Not yet explained: ${unexplained}.`, "");
const target = path.join("docs", "mutation-survivors.md");
fs.writeFileSync(target, `${out.join("\n")}\n`);
process.stdout.write(`wrote ${target}: score ${((100 * detected) / valid).toFixed(2)}%, ${unexplained} not yet explained\n`);
if (unexplained) process.exitCode = 1;
