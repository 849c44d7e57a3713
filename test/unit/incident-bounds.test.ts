import { randomUUID } from "node:crypto";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import {
  documentBytes,
  FULL_WORDS,
  GROWTH_BYTES_MAX,
  REPORTS_KEPT_MAX,
  STORE_ITEM_BYTES_MAX,
  WRITE_BYTES_MAX,
} from "../../src/incidents/bounds";
import { MESSAGE_MAX_LENGTH, TASK_TITLE_MAX_LENGTH, TASKS_MAX } from "../../src/incidents/casework";
import { IncidentTooLargeError } from "../../src/incidents/errors";
import type { Actor, Incident, MessageEvidence } from "../../src/incidents/model";
import { WHERE_MAX_LENGTH } from "../../src/incidents/report";
import { IncidentService } from "../../src/incidents/service";
import { COMMENT_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "../../src/incidents/validation";
import { aForm } from "../support/builders";

/*
 * The worst case of one incident's document, built through the service on the real SQLite store and
 * measured as the store holds it (the bytes of its UTF-8 JSON, as Cosmos DB counts its 2 MB): every
 * text at its longest, in a character UTF-8 writes in 3 bytes (the most per UTF-16 unit), every list
 * at its bound, the outbox full of pending notices. Nothing past the bounds is written, and what is
 * refused is refused in words (or as IncidentTooLargeError, which the Teams layer puts in words).
 */

const WS = "ws";
const T0 = new Date("2026-11-26T12:00:00.000Z");
const ALEX: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber", teamsId: "29:alex" };
/** Three UTF-8 bytes, one UTF-16 unit: the most bytes per character the limits count. */
const WIDE = "€";
const wide = (n: number) => WIDE.repeat(n);

function setup() {
  const store = new SqliteIncidentStore(":memory:");
  const directory = new LocalDirectory({
    users: [{ id: ALEX.objectId!, displayName: "Alex Wilber", analyst: true, restricted: true }],
    groups: [],
  });
  const service = new IncidentService({ store, directory, workspaceId: WS, clock: () => T0 });
  return { store, service };
}

const reporter = (i: number): Actor => ({
  objectId: `0e0e0e0e-0000-4000-8000-${String(i).padStart(12, "0")}`,
  name: wide(64),
  teamsId: `29:1${"x".repeat(120)}${i}`,
});

const evidence = (messageId: string): MessageEvidence => ({
  kind: "teams-message",
  messageId,
  link: `https://teams.microsoft.com/l/message/19:${"c".repeat(60)}@thread.v2/${messageId}?${"p".repeat(400)}`,
  author: { kind: "user", id: randomUUID(), name: wide(64) },
  sentUtc: T0.toISOString(),
  bodySha256: "a".repeat(64),
});

/** How the reporter is reached: as src/teams/reporter-notifier.ts's chatAddressOf keeps it, at a generous size. */
const address = (who: Actor) => ({
  serviceUrl: "https://smba.trafficmanager.net/emea/" + "t".repeat(60) + "/",
  channelId: "msteams",
  tenantId: randomUUID(),
  user: { id: who.teamsId, aadObjectId: who.objectId, name: who.name },
  bot: { id: "28:" + randomUUID(), name: "Incident Bot" },
  conversationId: `a:1${"z".repeat(200)}`,
});

/** A report at every field's longest, in 3-byte characters. */
const report = (submissionId: string) => ({
  submissionId,
  title: wide(TITLE_MAX_LENGTH),
  whatHappened: wide(DESCRIPTION_MAX_LENGTH - WHERE_MAX_LENGTH - "\n\nWhere: ".length),
  whenDate: "2026-11-25",
  whenTime: "09:30",
  where: wide(WHERE_MAX_LENGTH),
  urgent: "true",
});

const bytesOf = async (store: SqliteIncidentStore, id: string) => documentBytes((await store.get(WS, id))!);

describe("one incident's document, filled to its worst case", () => {
  it(`keeps ${REPORTS_KEPT_MAX} later reports, counts the next, refuses additions past the bound in words, edits past the store's bound with IncidentTooLargeError, and stays under 2 MB`, async () => {
    const { store, service } = setup();
    const id = randomUUID();
    const ev = evidence("1732600009999");
    const first = await service.report(report(id), reporter(0), "UTC", { evidence: ev, contact: address(reporter(0)) });
    expect(first.kind).toBe("created");

    for (let i = 1; i <= REPORTS_KEPT_MAX; i++) {
      const added = await service.report(report(id), reporter(i), "UTC", { evidence: ev, contact: address(reporter(i)) });
      expect(added.kind).toBe("added");
    }
    const afterReports = await bytesOf(store, id);
    // The last one kept; the next one counted, nothing of it stored.
    const over = reporter(REPORTS_KEPT_MAX + 1);
    const counted = await service.report({ ...report(id), title: "OVER-THE-CAP" }, over, "UTC", {
      evidence: ev,
      contact: address(over),
    });
    expect(counted.kind).toBe("counted");
    let stored = (await store.get(WS, id))!;
    expect(stored.reports).toHaveLength(REPORTS_KEPT_MAX);
    expect(stored.reportsNotKept).toBe(1);
    expect(JSON.stringify(stored)).not.toContain("OVER-THE-CAP");
    expect(JSON.stringify(stored)).not.toContain(over.objectId);

    // Shared comments at their longest (a notice to each reporter each) until the bound refuses one, in words.
    let refusal: string | undefined;
    for (let n = 0; n < 500 && !refusal; n++) {
      const result = await service.comment(id, `${n} ${wide(MESSAGE_MAX_LENGTH - 4)}`, true, n, ALEX);
      if (result.kind === "invalid") refusal = result.problem;
      else expect(result.kind).toBe("done");
    }
    expect(refusal).toBe(`INC-1 ${FULL_WORDS}`);
    stored = (await store.get(WS, id))!;
    expect(stored.comments!.length).toBeGreaterThan(0);
    expect(documentBytes(stored)).toBeLessThanOrEqual(GROWTH_BYTES_MAX);
    // A report arriving now is counted too (the bytes are full before the count is).
    expect((await service.report(report(id), reporter(900), "UTC", { evidence: ev })).kind).toBe("counted");
    // Tasks at their longest, up to their bound or the bytes' (refused in words).
    for (let n = 0; n < TASKS_MAX + 1; n++) {
      const task = await service.addTask(id, `${n} ${wide(TASK_TITLE_MAX_LENGTH - 4)}`, n, ALEX);
      if (task.kind === "invalid") {
        expect([`INC-1 ${FULL_WORDS}`, `This incident has ${TASKS_MAX} tasks, the most it can hold.`]).toContain(task.problem);
        break;
      }
    }

    // Edits with a notice to every reporter each, the longest closing comment and title, until the store's bound.
    let edits = 0;
    let tooLarge: unknown;
    while (!tooLarge && edits < 400) {
      const current = (await store.get(WS, id))!;
      const form = aForm({
        submissionId: id,
        title: wide(TITLE_MAX_LENGTH),
        description: wide(DESCRIPTION_MAX_LENGTH),
        status: edits % 2 ? "Active" : "Closed",
        closing: edits % 2 ? "" : "TruePositive.SuspiciousActivity",
        closingComment: edits % 2 ? "" : wide(COMMENT_MAX_LENGTH),
        owner: "me",
      });
      try {
        const updated = await service.update(id, current.revision, form, ALEX);
        expect(updated.kind).toBe("updated");
        edits++;
      } catch (error) {
        tooLarge = error;
      }
    }
    expect(tooLarge).toBeInstanceOf(IncidentTooLargeError);
    expect(edits).toBeGreaterThan(5);
    // Completing nothing, adding nothing: the worst case as stored, under the store's limit with room for its own fields.
    stored = (await store.get(WS, id))!;
    const worst = documentBytes(stored);
    expect(stored.outbox!.filter((n) => n.state === "pending").length).toBeGreaterThan(REPORTS_KEPT_MAX * 5);
    expect(worst).toBeGreaterThan(GROWTH_BYTES_MAX);
    expect(worst).toBeLessThanOrEqual(WRITE_BYTES_MAX);
    expect(worst).toBeLessThan(STORE_ITEM_BYTES_MAX - 100_000);
    console.log(
      `worst case: ${afterReports} bytes after ${REPORTS_KEPT_MAX + 1} reports; ${worst} bytes with ${stored.comments!.length} comments, ` +
        `${stored.outbox!.length} notices after ${edits} edits (limit ${STORE_ITEM_BYTES_MAX})`,
    );
  }, 120_000);
});

export type { Incident };
