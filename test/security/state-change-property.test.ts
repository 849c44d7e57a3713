import fc from "fast-check";
import { startTestBot } from "../support/bot";
import { inProcessClient, startFakeSentinel } from "../support/fake-sentinel";
import { until } from "../support/until";
import { VERBS } from "../../src/teams/verbs";
import {
  EVERYONE,
  FACILITIES,
  KINDS,
  NO_LIMITS,
  PEOPLE,
  aMessage,
  click,
  conversationIdOf,
  createFromForm,
  edit,
  leaks,
  marker,
  ready,
  reportMessage,
  say,
  settle,
  stored,
  track,
  word,
  type Kind,
  type Tracked,
  type Who,
  type World,
} from "../support/audience";

/*
 * Issue 24's property: any sequence of up to 8 changes by random people, in random conversations,
 * never leaves a restricted incident's words (title, description, comments, tags, closing comment,
 * reporters' words) in a message someone outside its audience can read, nor anyone's words where
 * test/support/audience.ts says they may not be read. Each step is judged on the messages it touched,
 * with the incident's restriction as it is after the step (restricted before or after counts).
 * SQLite only (the state-change matrix runs both stores); a fixed seed; few runs, as each takes seconds.
 */

const VERB_NAMES = ["create", "report", "again", "edit", "assign", "comment", "ask", "answer", "task", "done", "sentinel"] as const;
type Step = { verb: (typeof VERB_NAMES)[number]; who: Who; kind: Kind; target: number; flag: boolean };

const step: fc.Arbitrary<Step> = fc.record({
  verb: fc.constantFrom(...VERB_NAMES),
  who: fc.constantFrom(...EVERYONE),
  kind: fc.constantFrom(...KINDS),
  target: fc.nat(15),
  flag: fc.boolean(),
});

const ANALYSTS: Who[] = ["alex", "lee"];
const SEVERITIES = ["Low", "Medium", "High"] as const;

describe("random changes by random people (STORE=sqlite)", () => {
  const w = { tracked: [] } as unknown as World;
  /** The message each incident made with the message extension came from, to report it again. */
  const payloads = new Map<Tracked, ReturnType<typeof aMessage>>();
  let changes = 0;
  beforeAll(async () => {
    const sentinel = await startFakeSentinel();
    const sync = { ...Object.fromEntries(Object.entries(sentinel.env()).filter(([k]) => k.startsWith("SENTINEL_"))), SENTINEL_SYNC_SECONDS: "1", SENTINEL_POLL_SECONDS: "5" };
    w.sentinel = sentinel;
    w.bot = await startTestBot({ ...sync, ...NO_LIMITS }, { sentinel: inProcessClient(sentinel) });
    await say(w, "triage", "alex", "triage here");
  }, 120_000);
  afterAll(async () => {
    await w.bot?.stop();
    await w.sentinel?.close();
  });

  /** A person's own kind of form, in a conversation they are in (employees are not in the triage channel). */
  const where = (who: Who, kind: Kind): Kind => (kind === "triage" && !ANALYSTS.includes(who) ? "personal" : kind);

  async function create(who: Who, kind: Kind, restricted: boolean, pool: Tracked[]): Promise<void> {
    const at = where(who, kind);
    const t = track("", restricted, [who]);
    const typedIn = conversationIdOf(at, who);
    t.formConversation = typedIn;
    const fields: Record<string, string> = ANALYSTS.includes(who)
      ? {
          title: word(t, "title", marker("title"), { owner: who, typedIn }),
          description: word(t, "description", marker("desc"), { owner: who, typedIn }),
          tags: word(t, "tag", marker("tag"), { owner: who, typedIn }),
        }
      : { title: word(t, "reporter's title", marker("rtitle"), { owner: who }), whatHappened: word(t, "reporter's words", marker("rwords"), { owner: who }) };
    w.tracked.push(t);
    pool.push(t);
    t.id = await createFromForm(w, at, who, { ...fields, restricted: String(restricted) });
  }

  async function report(who: Who, restricted: boolean, pool: Tracked[]): Promise<void> {
    const t = track("", restricted, [who]);
    const payload = aMessage();
    const words = marker("rwords");
    w.tracked.push(t);
    pool.push(t);
    // An analyst gets the full form in the dialog, anyone else the short report.
    // An analyst's incident is confirmed in the message's conversation, as typed in front of everyone there.
    const analyst = ANALYSTS.includes(who);
    const field = analyst ? "description" : "whatHappened";
    const how = { owner: who, ...(analyst && { typedIn: FACILITIES }) };
    await reportMessage(w, who, payload, { title: word(t, "reporter's title", marker("rtitle"), how), [field]: word(t, "reporter's words", words, how), restricted: String(restricted) });
    const made = (await w.bot.incidents("", 500)).find((i) => i.description.includes(words));
    if (!made) throw new Error("the report was not stored");
    t.id = made.id;
    payloads.set(t, payload);
    await ready(w, t.id);
  }

  async function run(s: Step, pool: Tracked[]): Promise<void> {
    const t = pool[s.target % pool.length]!;
    const typedIn = conversationIdOf(s.kind, s.who);
    switch (s.verb) {
      case "create":
        return create(s.who, s.kind, s.flag, pool);
      case "report":
        return report(s.who, s.flag, pool);
      case "again": {
        // Another employee's report of the same message (an analyst gets the incident itself, not a form).
        const payload = payloads.get(t);
        if (!payload || ANALYSTS.includes(s.who)) return;
        await reportMessage(w, s.who, payload, {
          title: word(t, "reporter's title", marker("atitle"), { owner: s.who }),
          whatHappened: word(t, "reporter's words", marker("awords"), { owner: s.who }),
        });
        if (!t.reporters.includes(s.who)) t.reporters.push(s.who);
        return;
      }
      case "edit":
        await edit(w, s.kind, s.who, t.id, { description: word(t, "new description", marker("desc"), { typedIn }), restricted: String(s.flag) });
        return;
      case "assign":
        await click(w, s.kind, s.who, VERBS.assign, t.id);
        return;
      case "comment":
        await click(w, s.kind, s.who, VERBS.comment, t.id, { commentText: word(t, "comment", marker("comment"), { typedIn, toReporters: s.flag }), commentShared: String(s.flag) });
        return;
      case "ask":
        await click(w, s.kind, s.who, VERBS.ask, t.id, { questionText: word(t, "question", marker("question"), { toReporters: true }) });
        return;
      case "task":
        await click(w, s.kind, s.who, VERBS.task, t.id, { taskTitle: word(t, "task", marker("task"), { typedIn }) });
        return;
      case "done": {
        const task = (await stored(w, t.id)).tasks?.[0];
        if (task) await click(w, s.kind, s.who, VERBS.taskDone, t.id, { taskId: task.id });
        return;
      }
      case "answer": {
        const question = [...((await stored(w, t.id)).comments ?? [])].reverse().find((c) => c.kind === "question");
        if (!question) return;
        await click(w, "personal", s.who, VERBS.answer, t.id, { questionId: question.id, answerText: word(t, "answer", marker("answer"), { owner: s.who }) });
        return;
      }
      case "sentinel": {
        const before = await ready(w, t.id);
        const from = w.bot.connector.calls.length;
        const severity = SEVERITIES.find((x) => x !== before.severity)!;
        w.sentinel!.editInPortal(t.id, {
          severity,
          status: "Closed",
          classification: "TruePositive",
          classificationReason: "SuspiciousActivity",
          classificationComment: word(t, "closing comment set in Sentinel", marker("sclose")),
          ...(s.flag && { description: word(t, "description set in Sentinel", marker("sdesc")) }),
        });
        await until(`Sentinel's change of ${t.id} brought home`, async () => (await stored(w, t.id)).severity === severity);
        const post = before.triage!.messageId!;
        await until(`the triage post of ${t.id} redrawn`, () =>
          w.bot.connector.calls.slice(from).some((c) => c.method === "PUT" && c.path.endsWith(`/activities/${post}`)),
        );
        return;
      }
    }
  }

  it("never shows anyone words they may not read", async () => {
    await fc.assert(
      fc.asyncProperty(step, fc.array(step, { minLength: 0, maxLength: 7 }), async (first, rest) => {
        const pool: Tracked[] = [];
        // The first change makes an incident; the others work on the incidents made so far (or make more).
        const steps = [{ ...first, verb: first.flag ? ("report" as const) : ("create" as const) }, ...rest];
        for (const s of steps) {
          const revisions = await Promise.all(pool.map(async (t) => (t.id ? (await stored(w, t.id)).revision : 0)));
          const from = w.bot.connector.calls.length;
          await run(s, pool);
          await settle();
          for (const t of pool) if ((await stored(w, t.id)).restricted) t.everRestricted = true;
          const after = await Promise.all(pool.slice(0, revisions.length).map(async (t) => (await stored(w, t.id)).revision));
          changes += after.filter((r, i) => r !== revisions[i]).length + (pool.length - revisions.length);
          const seen = leaks(w.bot.connector, from, w.tracked);
          const found = EVERYONE.flatMap((who) => seen[who].map((l) => `${who} (${PEOPLE[who].name}) reads ${l}`));
          expect({ step: s, found }).toEqual({ step: s, found: [] });
        }
      }),
      { numRuns: 6, seed: 24, endOnFailure: true },
    );
    // The runs did change incidents (else the property would hold by doing nothing).
    expect(changes).toBeGreaterThan(6);
  }, 600_000);
});
