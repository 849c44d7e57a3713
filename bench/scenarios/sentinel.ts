import path from "node:path";
import { startFakeSentinel, type FakeSentinel, type RecordedRequest } from "../../test/support/fake-sentinel";
import { execute, type Person } from "../../test/support/teams";
import { botEnv, post, scratchDir } from "../lib/bot-env";
import { startChild, type Child } from "../lib/child";
import { startBenchConnector } from "../lib/connector";
import { ANALYSTS, createForms } from "../lib/data";
import { percentile, round } from "../lib/load";
import { settled } from "../lib/settle";

export interface SentinelBenchSettings {
  /** Creates per measured phase. */
  creates: number;
  /** Creates sent at once in the clean phases, one phase each. */
  concurrency: number[];
  /** The same with faults: the incident PUT of every `faultEvery`th create fails once (503). */
  faultConcurrency: number[];
  faultEvery: number;
  /** Edits through the bot, one at a time: "Assign to me", then a comment, on as many incidents each. */
  updates: number;
  /** SENTINEL_SYNC_SECONDS of the bot: how often it sweeps for pushes due (retries). */
  syncSeconds: number;
  /** Longest wait for a phase's pushes to reach the fake Sentinel. */
  syncTimeoutSec: number;
}

/** Milliseconds; lag is from the bot's HTTP answer to the incident's PUT recorded by the fake Sentinel. */
export interface LagStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

export interface SentinelPhase {
  name: string;
  connections: number;
  creates: number;
  /** Creates whose first incident PUT was answered 503. */
  faulted: number;
  /** The creates' own latency as the client saw it (ms). */
  answer: { p50: number; p99: number };
  /** Answer -> the incident's successful PUT at Sentinel; all creates, and those without / with a fault. */
  lag: LagStats;
  lagClean?: LagStats | undefined;
  lagFaulted?: LagStats | undefined;
  /** Creates whose PUT reached Sentinel before the client had the answer (negative lag). */
  putBeforeAnswer: number;
  /** Requests to Sentinel about these incidents, per create: all, and by kind ("PUT incident", "PUT comment", ...). */
  perCreate: number;
  byKind: Record<string, number>;
  /** Per create, for those without and with a fault. */
  perCleanCreate: number;
  perFaultedCreate?: number | undefined;
  /** Not per incident: token requests to the managed-identity endpoint and poll (list) requests in the phase. */
  tokens: number;
  polls: number;
  /** From the first create sent to the last push seen. */
  seconds: number;
}

export interface SentinelUpdate {
  operation: string;
  operations: number;
  perOperation: number;
  byKind: Record<string, number>;
  lag: LagStats;
}

export interface SentinelResult {
  phases: SentinelPhase[];
  updates: SentinelUpdate[];
  /** Token requests over the whole scenario, warm-up included. */
  tokens: number;
  syncSeconds: number;
  faultEvery: number;
}

interface Sent {
  id: string;
  /** The form's owner choice ("" nobody, "me", a group id) and who sent it. */
  owner: string;
  from: Person;
  sentAt: number;
  answeredAt: number;
  faulted: boolean;
}

function lagStats(values: number[]): LagStats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50), 1),
    p90: round(percentile(sorted, 90), 1),
    p99: round(percentile(sorted, 99), 1),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What a request to the fake Sentinel was about: its incident id (if any) and kind ("PUT incident", "list", ...). */
function classifier(fake: FakeSentinel) {
  const prefix =
    `/subscriptions/${fake.subscriptionId}/resourceGroups/${fake.resourceGroup}/providers/Microsoft.OperationalInsights` +
    `/workspaces/${fake.workspace}/providers/Microsoft.SecurityInsights/incidents`;
  const of = (r: RecordedRequest): { id?: string; kind: string } => {
    const rest = r.path.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    if (!r.path.startsWith(prefix)) return { kind: "other" };
    if (rest.length === 0) return { kind: r.method === "GET" ? "list" : `${r.method} list` };
    const what = rest.length === 1 ? "incident" : rest[1] === "comments" ? "comment" : rest[1] === "tasks" ? "task" : rest[1]!;
    return { id: rest[0]!.toLowerCase(), kind: `${r.method} ${what}` };
  };
  return { prefix, of };
}

const ok = (r: RecordedRequest) => r.status >= 200 && r.status < 300;

/**
 * The analysts whose directory ids are GUIDs, as Entra object ids are. The sample directory's first
 * users (the Agents Playground's mock users, 00000000-0000-0000-0000-00000000002x) have 13 digits in
 * the last group: Sentinel refuses an owner with such an objectId (400), so "Assign to me" by them, or
 * an incident they own, would be refused, not synced.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PEOPLE = ANALYSTS.filter((p) => GUID.test(p.aadObjectId ?? ""));

/**
 * The bot with the Sentinel sync on (a child process, SQLite, local mode, SENTINEL_SYNC_SECONDS from
 * the settings), against the test Sentinel server (test/support/fake-sentinel.ts) in this process over
 * https, signed in through its App Service managed-identity endpoint; the bot trusts the test
 * certificate through NODE_EXTRA_CA_CERTS. Creates are sent over HTTP as Teams sends them; the fake's
 * record of every request (with its arrival time) gives requests per create and per edit, and the sync
 * lag: from the create's answer to the incident's PUT at Sentinel.
 */
export async function benchSentinel(settings: SentinelBenchSettings, log: (line: string) => void): Promise<SentinelResult> {
  const fake = await startFakeSentinel();
  const connector = await startBenchConnector();
  const scratch = scratchDir("sentinel");
  const { prefix, of } = classifier(fake);
  let bot: Child | undefined;
  try {
    const sentinelEnv = fake.env();
    bot = await startChild({
      kind: "bot",
      env: botEnv(path.join(scratch.dir, "incidents.db"), { ...sentinelEnv, SENTINEL_SYNC_SECONDS: String(settings.syncSeconds) }),
      // Read by Node at start (the CA) and by @azure/identity from process.env (the identity endpoint).
      processEnv: sentinelEnv,
    });
    const child = bot;
    const forms = createForms(11);
    let n = 0;
    /** One create as Teams sends it; the incident's id is the form's submission id. */
    const createOne = async (beforeSend?: (id: string) => boolean): Promise<Sent> => {
      const from = PEOPLE[n++ % PEOPLE.length]!;
      const form = forms();
      const id = form.submissionId.toLowerCase();
      const faulted = beforeSend?.(id) ?? false;
      const body = JSON.stringify(execute(connector.url, "incident.create", { ...form }, { from, replyToId: "card-message-1" }));
      const sentAt = Date.now();
      const answer = await post(child.url, body);
      const answeredAt = Date.now();
      if (answer.status !== 200 || !/created/.test(JSON.stringify(answer.json?.value?.body?.[0] ?? ""))) {
        throw new Error(`the bot did not create an incident: ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`);
      }
      return { id, owner: form.owner, from, sentAt, answeredAt, faulted };
    };
    const byId = (from: number) => {
      const map = new Map<string, RecordedRequest[]>();
      for (const r of fake.requests.slice(from)) {
        const { id } = of(r);
        if (id) map.set(id, [...(map.get(id) ?? []), r]);
      }
      return map;
    };
    /** Waits until every id has a successful request of each kind in `kinds` since `from`. */
    const synced = async (ids: string[], from: number, kinds: string[], what: string) => {
      const deadline = Date.now() + settings.syncTimeoutSec * 1000;
      for (;;) {
        const seen = byId(from);
        const missing = ids.filter((id) => !kinds.every((k) => (seen.get(id) ?? []).some((r) => ok(r) && of(r).kind === k)));
        if (!missing.length) break;
        if (Date.now() > deadline) {
          const first = (seen.get(missing[0]!) ?? []).map((r) => `${of(r).kind} ${r.status}`).join(", ") || "no request";
          throw new Error(
            `${what}: ${missing.length} of ${ids.length} did not reach Sentinel within ${settings.syncTimeoutSec} s ` +
              `(${missing[0]}: ${first})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Anything a push still sends after that (it should not) lands before counting.
      await settled(() => fake.requests.length, 300);
    };
    const firstOk = (requests: RecordedRequest[] | undefined, kind: string) => requests?.find((r) => ok(r) && of(r).kind === kind);

    // Warm-up, not counted: the first token, the TLS connection, the first push.
    const warm = await createOne();
    await synced([warm.id], 0, ["PUT incident", "PUT comment"], "warm-up");
    log(`  warm-up: ${fake.requests.length} Sentinel requests, ${fake.tokensIssued()} token request(s)`);

    const phases: SentinelPhase[] = [];
    const phase = async (connections: number, faultEvery: number | undefined): Promise<Sent[]> => {
      const name = `${faultEvery ? `503 on the first PUT of every ${faultEvery}th create` : "creates"}, c=${connections}`;
      const mark = fake.requests.length;
      const tokens = fake.tokensIssued();
      const sent: Sent[] = [];
      let next = 0;
      const started = Date.now();
      // Armed before the create is sent: the create's own first PUT is the one that fails.
      const arm = (index: number) => (id: string) => {
        if (!faultEvery || index % faultEvery !== faultEvery - 1) return false;
        fake.failNext(1, { kind: "status", status: 503 }, new RegExp(`^PUT ${escapeRegExp(prefix)}/${id}$`));
        return true;
      };
      const lanes = Array.from({ length: connections }, async () => {
        while (next < settings.creates) {
          const index = next++;
          sent.push(await createOne(arm(index)));
        }
      });
      await Promise.all(lanes);
      await synced(
        sent.map((s) => s.id),
        mark,
        ["PUT incident", "PUT comment"],
        name,
      );
      fake.heal();
      const seen = byId(mark);
      const lags = sent.map((s) => firstOk(seen.get(s.id), "PUT incident")!.at - s.answeredAt);
      const lagOf = (which: Sent[]) => (which.length ? lagStats(which.map((s) => firstOk(seen.get(s.id), "PUT incident")!.at - s.answeredAt)) : undefined);
      const requestsOf = (which: Sent[]) => which.reduce((sum, s) => sum + (seen.get(s.id)?.length ?? 0), 0);
      const byKind: Record<string, number> = {};
      for (const s of sent) for (const r of seen.get(s.id) ?? []) byKind[of(r).kind] = (byKind[of(r).kind] ?? 0) + 1;
      const clean = sent.filter((s) => !s.faulted);
      const faulted = sent.filter((s) => s.faulted);
      const answers = sent.map((s) => s.answeredAt - s.sentAt).sort((a, b) => a - b);
      const after = fake.requests.slice(mark);
      const lastAt = Math.max(...after.map((r) => r.at));
      const result: SentinelPhase = {
        name,
        connections,
        creates: sent.length,
        faulted: faulted.length,
        answer: { p50: percentile(answers, 50), p99: percentile(answers, 99) },
        lag: lagStats(lags),
        lagClean: faultEvery ? lagOf(clean) : undefined,
        lagFaulted: faultEvery ? lagOf(faulted) : undefined,
        putBeforeAnswer: lags.filter((l) => l < 0).length,
        perCreate: round(requestsOf(sent) / sent.length, 2),
        byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(v / sent.length, 2)])),
        perCleanCreate: round(requestsOf(clean) / Math.max(1, clean.length), 2),
        perFaultedCreate: faulted.length ? round(requestsOf(faulted) / faulted.length, 2) : undefined,
        tokens: fake.tokensIssued() - tokens,
        polls: after.filter((r) => of(r).kind === "list").length,
        seconds: round((lastAt - started) / 1000, 1),
      };
      phases.push(result);
      log(
        `  ${name}: lag p50 ${result.lag.p50} ms, p99 ${result.lag.p99} ms (max ${result.lag.max}); ` +
          `${result.perCreate} Sentinel requests per create ${JSON.stringify(result.byKind)}; ${result.tokens} token requests; ` +
          `${result.seconds} s`,
      );
      return sent;
    };

    let oneAtATime: Sent[] = [];
    for (const c of settings.concurrency) {
      const sent = await phase(c, undefined);
      if (c === settings.concurrency[0]) oneAtATime = sent;
    }
    for (const c of settings.faultConcurrency) await phase(c, settings.faultEvery);

    // Edits through the bot, one at a time, on incidents created unowned and already in Sentinel.
    const unowned = oneAtATime.filter((s) => s.owner === "").slice(0, settings.updates);
    if (!unowned.length) throw new Error("no incident created unowned to edit");
    const updates: SentinelUpdate[] = [];
    const edit = async (
      operation: string,
      kinds: string[],
      act: (s: Sent, by: Person) => { verb: string; data: Record<string, unknown>; expect: RegExp },
    ) => {
      const mark = fake.requests.length;
      const lags: number[] = [];
      for (const s of unowned) {
        const by = PEOPLE[(PEOPLE.indexOf(s.from) + 1) % PEOPLE.length]!;
        const { verb, data, expect } = act(s, by);
        const from = fake.requests.length;
        const answer = await post(child.url, JSON.stringify(execute(connector.url, verb, data, { from: by })));
        const answeredAt = Date.now();
        if (answer.status !== 200 || !expect.test(JSON.stringify(answer.json ?? ""))) {
          throw new Error(`${operation}: unexpected answer ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`);
        }
        await synced([s.id], from, kinds, operation);
        // To the request that carries the edit: the incident's PUT (a field), the comment's (a comment).
        lags.push(firstOk(byId(from).get(s.id), kinds[kinds.length - 1]!)!.at - answeredAt);
      }
      const seen = [...byId(mark).values()].flat();
      const byKind: Record<string, number> = {};
      for (const r of seen) byKind[of(r).kind] = (byKind[of(r).kind] ?? 0) + 1;
      const count: SentinelUpdate = {
        operation,
        operations: unowned.length,
        perOperation: round(seen.length / unowned.length, 2),
        byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(v / unowned.length, 2)])),
        lag: lagStats(lags),
      };
      updates.push(count);
      log(`  ${operation}: ${count.perOperation} Sentinel requests each ${JSON.stringify(count.byKind)}; lag p50 ${count.lag.p50} ms`);
    };
    await edit("Assign to me (triage.assign)", ["PUT incident"], (s) => ({
      verb: "triage.assign",
      data: { incidentId: s.id, revision: 1 },
      expect: /Assigned to/,
    }));
    await edit("comment (triage.comment)", ["PUT comment"], (s) => ({
      verb: "triage.comment",
      data: { incidentId: s.id, revision: 2, commentText: "Checked the sender's other messages: none reached anyone else." },
      expect: /Comment added/,
    }));
    return { phases, updates, tokens: fake.tokensIssued(), syncSeconds: settings.syncSeconds, faultEvery: settings.faultEvery };
  } finally {
    await bot?.stop();
    await connector.close();
    await fake.close();
    scratch.remove();
  }
}
