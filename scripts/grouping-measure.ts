/**
 * Measures the grouping rule on the test corpus (test/support/grouping-corpus.ts): exact Jaccard similarity of
 * word shingles within and across campaigns for shingle sizes 1-4, the MinHash estimate for the shipped size, and
 * the time per decision against 100 candidates. `npx tsx scripts/grouping-measure.ts`. Not a test: it prints.
 */
import { performance } from "node:perf_hooks";
import {
  chooseIncident,
  groupingSettings,
  lookupValues,
  reportWords,
  similarity,
  SHINGLE_WORDS,
  wordKeys,
  wordsSignature,
  type GroupingCandidate,
} from "../src/incidents/grouping";
import { corpus } from "../test/support/grouping-corpus";

const reports = corpus();
const words = reports.map((r) => reportWords(r.text));

function shingles(w: string[], k: number): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i + k <= w.length; i++) s.add(w.slice(i, i + k).join(" "));
  return s;
}
function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

console.log(
  `corpus: ${reports.length} reports; words per report ${Math.min(...words.map((w) => w.length))}..${Math.max(...words.map((w) => w.length))}`,
);
for (const k of [1, 2, 3, 4]) {
  const sets = words.map((w) => shingles(w, k));
  const within: Record<string, number[]> = {};
  let across = 0;
  let acrossPair = "";
  for (let i = 0; i < reports.length; i++)
    for (let j = i + 1; j < reports.length; j++) {
      const s = jaccard(sets[i]!, sets[j]!);
      if (reports[i]!.campaign === reports[j]!.campaign) (within[reports[i]!.campaign] ??= []).push(s);
      else if (s > across) [across, acrossPair] = [s, `${reports[i]!.campaign}/${reports[j]!.campaign}`];
    }
  const mins = Object.entries(within).map(([c, v]) => `${c} min ${pct(Math.min(...v))}`);
  console.log(`k=${k}: within ${mins.join(", ")}; across max ${pct(across)} (${acrossPair})`);
}

const sigs = words.map((w) => wordsSignature(w));
const within: Record<string, number[]> = {};
let across = 0;
let acrossPair = "";
for (let i = 0; i < reports.length; i++)
  for (let j = i + 1; j < reports.length; j++) {
    const s = similarity(sigs[i], sigs[j]);
    if (s === undefined) continue;
    if (reports[i]!.campaign === reports[j]!.campaign) (within[reports[i]!.campaign] ??= []).push(s);
    else if (s > across) [across, acrossPair] = [s, `${reports[i]!.campaign}/${reports[j]!.campaign}`];
  }
console.log(
  `MinHash estimate (k=${SHINGLE_WORDS}, 128 x 16 bits): within ${Object.entries(within)
    .map(([c, v]) => `${c} min ${pct(Math.min(...v))} (${v.length} pairs)`)
    .join(", ")}; across max ${pct(across)} (${acrossPair}); unsigned (too short): ${sigs.filter((s) => !s).length}`,
);
console.log(`signature length: ${sigs.find(Boolean)!.length} characters`);

// Time per decision: one report against 100 candidates (90 unrelated-looking, 10 sharing nothing but words).
const settings = groupingSettings({ ownDomains: ["contoso.com"] });
const base = Date.parse("2026-12-01T12:00:00Z");
const candidates: GroupingCandidate[] = Array.from({ length: 100 }, (_, i) => {
  const r = reports[(i * 7) % reports.length]!;
  return {
    id: `inc-${i}`,
    entryPoint: "chat-report",
    status: "New",
    createdTimeUtc: new Date(base - i * 60_000).toISOString(),
    entities: r.entities,
    signature: sigs[(i * 7) % reports.length],
  };
});
const probe = reports[5]!;
const report = { entities: probe.entities, signature: sigs[5], receivedTimeUtc: new Date(base).toISOString() };
for (let i = 0; i < 200; i++) chooseIncident(report, candidates, settings);
const runs = 2_000;
let t = performance.now();
for (let i = 0; i < runs; i++) chooseIncident(report, candidates, settings);
const decision = (performance.now() - t) / runs;
t = performance.now();
for (let i = 0; i < runs; i++) wordsSignature(reportWords(probe.text));
const signing = (performance.now() - t) / runs;
t = performance.now();
for (let i = 0; i < runs; i++) lookupValues(probe.entities, settings);
const lookup = (performance.now() - t) / runs;
console.log(
  `per decision vs 100 candidates: ${(decision * 1000).toFixed(0)} us; words+signature of one report: ` +
    `${(signing * 1000).toFixed(0)} us; lookup values: ${(lookup * 1000).toFixed(1)} us`,
);

// Similarity to the first report of each campaign (the signature its incident keeps), and the word keys' hit rates.
const firsts = new Map<string, number>();
reports.forEach((r, i) => firsts.has(r.campaign) || firsts.set(r.campaign, i));
const toFirst: Record<string, number[]> = {};
reports.forEach((r, i) => {
  const f = firsts.get(r.campaign)!;
  if (f !== i && r.campaign.length === 1) (toFirst[r.campaign] ??= []).push(similarity(sigs[i], sigs[f])!);
});
console.log(
  "to the campaign's first report: " +
    Object.entries(toFirst)
      .map(([c, v]) => `${c} min ${pct(Math.min(...v))} median ${pct(v.sort((a, b) => a - b)[v.length >> 1]!)}`)
      .join(", "),
);
const keys = sigs.map((s) => new Set(wordKeys(s)));
let sameHit = 0,
  same = 0,
  otherHit = 0,
  other = 0;
for (let i = 0; i < reports.length; i++)
  for (let j = i + 1; j < reports.length; j++) {
    const hit = [...keys[i]!].some((k) => keys[j]!.has(k));
    if (reports[i]!.campaign === reports[j]!.campaign) [same, sameHit] = [same + 1, sameHit + (hit ? 1 : 0)];
    else [other, otherHit] = [other + 1, otherHit + (hit ? 1 : 0)];
  }
console.log(`word keys shared: same campaign ${sameHit}/${same}, different ${otherHit}/${other}`);
