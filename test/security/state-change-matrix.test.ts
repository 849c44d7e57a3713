import { cosmosEnv, startTestBot } from "../support/bot";
import { startCosmosServer, TEST_COSMOS_KEY, type CosmosTestServer } from "../support/cosmos-server";
import { inProcessClient, startFakeSentinel } from "../support/fake-sentinel";
import { until } from "../support/until";
import { VERBS, type Verb } from "../../src/teams/verbs";
import { LEE } from "../support/teams";
import { entity, giveEntities } from "../support/entities";
import {
  EVERYONE,
  KINDS,
  NO_LIMITS,
  PEOPLE,
  TRIAGE,
  aMessage,
  click,
  conversationIdOf,
  createFromForm,
  edit,
  leaks,
  marker,
  myReportsButton,
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
 * Need-to-know after every change of state (issue 24): each verb that changes an incident, done in
 * each kind of conversation, and what each audience can read afterwards in every message the bot
 * sent or updated (test/support/audience.ts: who is in which conversation, who may read which word).
 * A restricted incident's words (restricted before or after the change) reach only the
 * restricted-cases team and its reporters; a reporter's words only the SOC and that reporter; the
 * SOC's own words (comments, tasks, tags, closing comment, what Sentinel says) only the SOC and, when
 * shared, the reporters; an analyst's words on a plain incident also the conversation they typed them
 * in. Each row runs on an incident of its own, and is judged on the messages its change touched.
 */

/** Verbs that only show something (a form, a card, a list): no row, as they change nothing. */
type ShowOnly = typeof VERBS.form | typeof VERBS.view | typeof VERBS.edit | typeof VERBS.myReports;
/** Every verb that changes an incident, and a change arriving from Sentinel. A new verb without a row does not compile. */
type Change = Exclude<Verb, ShowOnly> | "sentinel";

type Row = "create" | "edit" | "assign" | "comment" | "ask" | "task" | "done" | "restrict" | "unrestrict" | "sentinel";

/** Which rows make each change. */
const ROWS_OF: Record<Change, Row[]> = {
  [VERBS.create]: ["create"],
  [VERBS.report]: ["create"],
  [VERBS.update]: ["edit", "restrict", "unrestrict"],
  [VERBS.assign]: ["assign"],
  [VERBS.comment]: ["comment"],
  [VERBS.ask]: ["ask"],
  [VERBS.answer]: ["ask"],
  [VERBS.task]: ["task"],
  [VERBS.taskDone]: ["done"],
  sentinel: ["sentinel"],
};

/** A row in one kind of conversation: its incidents (with their words), the change, and what the change must have done. */
interface Case {
  incidents: Tracked[];
  act(): Promise<void>;
  /** The change happened (else a row would pass by doing nothing). */
  happened(): Promise<void>;
}

const CLOSING = { status: "Closed", closing: "BenignPositive.SuspiciousButExpected" };

/** An incident `who` types into the form in `kind`, every field a marker. */
async function fromForm(w: World, kind: Kind, who: Who, restricted: boolean): Promise<Tracked> {
  const t = track("", restricted);
  const typedIn = conversationIdOf(kind, who);
  const fields = {
    title: word(t, "title", marker("title"), { typedIn }),
    description: word(t, "description", marker("desc"), { typedIn }),
    tags: word(t, "tag", marker("tag"), { typedIn }),
    restricted: String(restricted),
  };
  t.formConversation = typedIn;
  w.tracked.push(t);
  t.id = await createFromForm(w, kind, who, fields);
  // Its entities: an incident's words, never typed in front of the conversation (the entry points fill them in later issues).
  const value = word(t, "entity", marker("entity"));
  await ready(w, t.id);
  await giveEntities(w.bot, t.id, { entities: [entity("url", `https://evil.example/${value}/login`), entity("app", value, "related", "directory")] });
  await ready(w, t.id);
  return t;
}

const ROWS: Record<Row, (w: World, kind: Kind) => Promise<Case>> = {
  // Alex's restricted incident from the form, and (where an employee is) Megan's report from the card.
  create: async (w, kind) => {
    const restricted = track("", true);
    const alexIn = conversationIdOf(kind, "alex");
    const fields = {
      title: word(restricted, "title", marker("title"), { typedIn: alexIn }),
      description: word(restricted, "description", marker("desc"), { typedIn: alexIn }),
      tags: word(restricted, "tag", marker("tag"), { typedIn: alexIn }),
      restricted: "true",
    };
    const report = kind === "triage" ? undefined : track("", false, ["megan"]);
    const words = report && {
      title: word(report, "reporter's title", marker("rtitle"), { owner: "megan" }),
      whatHappened: word(report, "reporter's words", marker("rwords"), { owner: "megan" }),
    };
    restricted.formConversation = alexIn;
    if (report) report.formConversation = conversationIdOf(kind, "megan");
    w.tracked.push(restricted, ...(report ? [report] : []));
    return {
      incidents: [restricted, ...(report ? [report] : [])],
      act: async () => {
        restricted.id = await createFromForm(w, kind, "alex", fields);
        if (report && words) report.id = await createFromForm(w, kind, "megan", words);
      },
      happened: async () => {
        expect((await stored(w, restricted.id)).restricted).toBe(true);
        if (report) expect((await stored(w, report.id)).description).toContain(words!.whatHappened);
      },
    };
  },
  edit: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    const typedIn = conversationIdOf(kind, "alex");
    const changes = {
      title: word(t, "new title", marker("title"), { typedIn }),
      description: word(t, "new description", marker("desc"), { typedIn }),
      tags: word(t, "new tag", marker("tag"), { typedIn }),
      ...CLOSING,
      closingComment: word(t, "closing comment", marker("closing"), { typedIn }),
    };
    return {
      incidents: [t],
      act: async () => void (await edit(w, kind, "alex", t.id, changes)),
      happened: async () => expect(await stored(w, t.id)).toMatchObject({ status: "Closed", title: changes.title }),
    };
  },
  // The key finding: an analyst ticks Restricted on Edit and types a new description.
  restrict: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", false);
    const description = word(t, "description typed while restricting", marker("desc"));
    return {
      incidents: [t],
      act: async () => {
        t.everRestricted = true;
        await edit(w, kind, "alex", t.id, { restricted: "true", description });
      },
      happened: async () => expect(await stored(w, t.id)).toMatchObject({ restricted: true, description }),
    };
  },
  unrestrict: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    const description = word(t, "description typed while lifting the restriction", marker("desc"));
    return {
      incidents: [t],
      act: async () => void (await edit(w, kind, "alex", t.id, { restricted: "false", description })),
      happened: async () => {
        const after = await stored(w, t.id);
        expect(after.restricted ?? false).toBe(false);
        expect(after.description).toBe(description);
      },
    };
  },
  assign: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    return {
      incidents: [t],
      act: async () => void (await click(w, kind, "alex", VERBS.assign, t.id)),
      happened: async () => expect((await stored(w, t.id)).owner?.objectId).toBe(PEOPLE.alex.aadObjectId),
    };
  },
  comment: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    const commentText = word(t, "comment", marker("comment"), { toReporters: true });
    return {
      incidents: [t],
      act: async () => void (await click(w, kind, "alex", VERBS.comment, t.id, { commentText, commentShared: "true" })),
      happened: async () => expect((await stored(w, t.id)).comments?.map((c) => c.message)).toContain(commentText),
    };
  },
  task: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    const taskTitle = word(t, "task", marker("task"));
    return {
      incidents: [t],
      act: async () => void (await click(w, kind, "alex", VERBS.task, t.id, { taskTitle })),
      happened: async () => expect((await stored(w, t.id)).tasks?.map((x) => x.title)).toContain(taskTitle),
    };
  },
  done: async (w, kind) => {
    const t = await fromForm(w, kind, "alex", true);
    await click(w, "triage", "alex", VERBS.task, t.id, { taskTitle: word(t, "task", marker("task")) });
    const taskId = (await ready(w, t.id)).tasks![0]!.id;
    return {
      incidents: [t],
      act: async () => void (await click(w, kind, "alex", VERBS.taskDone, t.id, { taskId })),
      happened: async () => expect((await stored(w, t.id)).tasks?.[0]?.status).toBe("Completed"),
    };
  },
  // Megan reports a message restricted, Diego reports it too; Alex asks them, Megan answers.
  ask: async (w, kind) => {
    const t = track("", true, ["megan", "diego"]);
    const payload = aMessage();
    const megan = word(t, "reporter's words", marker("megan"), { owner: "megan" });
    await reportMessage(w, "megan", payload, { title: word(t, "reporter's title", marker("mtitle"), { owner: "megan" }), whatHappened: megan, restricted: "true" });
    await reportMessage(w, "diego", payload, { title: word(t, "second reporter's title", marker("dtitle"), { owner: "diego" }), whatHappened: word(t, "second reporter's words", marker("diego"), { owner: "diego" }) });
    t.id = (await w.bot.incidents("", 500)).find((i) => i.description.includes(megan))!.id;
    w.tracked.push(t);
    await ready(w, t.id);
    const questionText = word(t, "question", marker("question"), { toReporters: true });
    const answerText = word(t, "answer", marker("answer"), { owner: "megan" });
    return {
      incidents: [t],
      act: async () => {
        await click(w, kind, "alex", VERBS.ask, t.id, { questionText });
        await settle();
        const question = (await stored(w, t.id)).comments?.find((c) => c.message === questionText);
        if (!question) return;
        await click(w, "personal", "megan", VERBS.answer, t.id, { questionId: question.id, answerText });
      },
      happened: async () => {
        const messages = (await stored(w, t.id)).comments?.map((c) => c.message).join("\n");
        expect(messages).toContain(questionText);
        expect(messages).toContain(answerText);
      },
    };
  },
  // Lee's plain incident and Alex's restricted one, changed and closed in Sentinel.
  sentinel: async (w, kind) => {
    const plain = await fromForm(w, kind, "lee", false);
    const restricted = await fromForm(w, kind, "alex", true);
    const description = word(plain, "description set in Sentinel", marker("sdesc"));
    const closing = (t: Tracked) => word(t, "closing comment set in Sentinel", marker("sclose"));
    return {
      incidents: [plain, restricted],
      act: async () => {
        const from = w.bot.connector.calls.length;
        const change = { status: "Closed", classification: "TruePositive", classificationReason: "SuspiciousActivity" };
        w.sentinel!.editInPortal(plain.id, { ...change, description, classificationComment: closing(plain) });
        w.sentinel!.editInPortal(restricted.id, { ...change, classificationComment: closing(restricted) });
        for (const t of [plain, restricted]) {
          const post = (await stored(w, t.id)).triage!.messageId!;
          // Brought home by the poll; the triage post redrawn: the bot's work for the change has started.
          await until(`Sentinel's change of ${t.id} redrawn`, () =>
            w.bot.connector.calls.slice(from).some((c) => c.method === "PUT" && c.path.endsWith(`/activities/${post}`)),
          );
        }
        await settle();
      },
      happened: async () => {
        expect(await stored(w, plain.id)).toMatchObject({ status: "Closed", description });
        expect((await stored(w, restricted.id)).status).toBe("Closed");
      },
    };
  },
};

describe.each(["sqlite", "cosmos"] as const)("every change, every conversation, every audience, on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  const w = { tracked: [] } as unknown as World;
  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
    const sentinel = await startFakeSentinel();
    const sync = { ...Object.fromEntries(Object.entries(sentinel.env()).filter(([k]) => k.startsWith("SENTINEL_"))), SENTINEL_SYNC_SECONDS: "1", SENTINEL_POLL_SECONDS: "5" };
    w.sentinel = sentinel;
    w.bot = await startTestBot({ ...(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {}), ...sync, ...NO_LIMITS }, { sentinel: inProcessClient(sentinel) });
    await say(w, "triage", "alex", "triage here");
    expect((await w.bot.app.service.triageChannel())?.conversationId).toBe(TRIAGE);
  }, 120_000);
  afterAll(async () => {
    await w.bot?.stop();
    await w.sentinel?.close();
    await cosmos?.close();
  });

  it("has a row for every verb that changes an incident", () => {
    const rows = new Set(Object.values(ROWS_OF).flat());
    expect([...rows].sort()).toEqual(Object.keys(ROWS).sort());
  });

  describe.each(Object.keys(ROWS) as Row[])("%s", (row) => {
    describe.each(KINDS)("in a %s conversation", (kind) => {
      const outcome: { error?: Error; seen?: Record<Who, string[]>; case?: Case } = {};
      beforeAll(async () => {
        try {
          outcome.case = await ROWS[row](w, kind);
          await settle();
          const from = w.bot.connector.calls.length;
          await outcome.case.act();
          await settle();
          outcome.seen = leaks(w.bot.connector, from, w.tracked);
        } catch (error) {
          outcome.error = error instanceof Error ? error : new Error(String(error));
        }
      }, 180_000);

      it("makes the change", async () => {
        if (outcome.error) throw outcome.error;
        await outcome.case!.happened();
      });

      it.each(EVERYONE)("%s reads in the bot's messages only what they may", (who) => {
        if (outcome.error) throw outcome.error;
        expect(outcome.seen![who]).toEqual([]);
      });
    });
  });
});

/*
 * The lists ("my reports", "my incidents", and the help card's My reports button as an older client
 * sends it) go to the person only: asked in a shared conversation, nothing of them is posted there.
 */
describe.each(["sqlite", "cosmos"] as const)("the lists, asked in every conversation, on STORE=%s", (store) => {
  let cosmos: CosmosTestServer | undefined;
  const w = { tracked: [] } as unknown as World;
  let meganPlainTitle = "";
  beforeAll(async () => {
    if (store === "cosmos") cosmos = await startCosmosServer();
    w.bot = await startTestBot({ ...(store === "cosmos" ? cosmosEnv(cosmos!.endpoint, TEST_COSMOS_KEY) : {}), ...NO_LIMITS });
    await say(w, "triage", "alex", "triage here");
    // Megan's plain report from her chat.
    const plain = track("", false, ["megan"]);
    meganPlainTitle = word(plain, "reporter's title", marker("rtitle"), { owner: "megan" });
    plain.id = await createFromForm(w, "personal", "megan", { title: meganPlainTitle, whatHappened: word(plain, "reporter's words", marker("rwords"), { owner: "megan" }) });
    // A message Megan reports restricted and Diego reports again, each in their own words.
    const both = track("", true, ["megan", "diego"]);
    const payload = aMessage();
    const megan = word(both, "reporter's words", marker("megan"), { owner: "megan" });
    await reportMessage(w, "megan", payload, { title: word(both, "reporter's title", marker("mtitle"), { owner: "megan" }), whatHappened: megan, restricted: "true" });
    await reportMessage(w, "diego", payload, { title: word(both, "second reporter's title", marker("dtitle"), { owner: "diego" }), whatHappened: word(both, "second reporter's words", marker("diego"), { owner: "diego" }) });
    both.id = (await w.bot.incidents("", 50)).find((i) => i.description.includes(megan))!.id;
    // Alex's restricted incidents: one he takes, one he gives to Lee (who is not on the restricted-cases team).
    const mine = track("", true);
    mine.formConversation = conversationIdOf("personal", "alex");
    w.tracked.push(mine);
    mine.id = await createFromForm(w, "personal", "alex", { title: word(mine, "title", marker("title")), restricted: "true" });
    await click(w, "personal", "alex", VERBS.assign, mine.id);
    const lees = track("", true);
    lees.formConversation = conversationIdOf("personal", "alex");
    w.tracked.push(lees);
    lees.id = await createFromForm(w, "personal", "alex", { title: word(lees, "title", marker("title")), restricted: "true" });
    await edit(w, "personal", "alex", lees.id, { owner: LEE.aadObjectId! });
    await settle();
    w.tracked.push(plain, both);
    expect((await stored(w, lees.id)).owner?.objectId).toBe(LEE.aadObjectId);
    expect((await stored(w, mine.id)).owner?.objectId).toBe(PEOPLE.alex.aadObjectId);
  }, 180_000);
  afterAll(async () => {
    await w.bot?.stop();
    await cosmos?.close();
  });

  const LISTS: Record<"my reports" | "my incidents" | "the My reports button", (kind: Kind, who: Who) => Promise<void>> = {
    "my reports": (kind, who) => say(w, kind, who, "my reports"),
    "my incidents": (kind, who) => say(w, kind, who, "my incidents"),
    "the My reports button": (kind, who) => myReportsButton(w, kind, who),
  };
  const cells = (Object.keys(LISTS) as (keyof typeof LISTS)[]).flatMap((list) =>
    KINDS.flatMap((kind) => (kind === "triage" ? (["alex", "lee"] as Who[]) : EVERYONE.filter((x) => x !== "guest")).map((who) => [list, kind, who] as const)),
  );

  it.each(cells)("%s, asked in a %s conversation by %s, shows no one anything they may not read", async (list, kind, who) => {
    const from = w.bot.connector.calls.length;
    await LISTS[list](kind, who);
    await settle();
    expect(leaks(w.bot.connector, from, w.tracked)).toEqual(Object.fromEntries(EVERYONE.map((x) => [x, []])));
    // The list did go somewhere: Megan's own reports reach her.
    if (list !== "my incidents" && who === "megan") {
      expect(w.bot.connector.calls.slice(from).map((c) => JSON.stringify(c.body ?? "")).join("\n")).toContain(meganPlainTitle);
    }
  });
});
