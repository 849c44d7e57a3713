import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { outboxDue, withContact } from "../../src/incidents/casework";
import type { Actor, Contact, Incident, ReporterNotice } from "../../src/incidents/model";
import { checkReport, type ReportForm } from "../../src/incidents/report";
import { titleMatches } from "../../src/incidents/search";
import { IncidentService } from "../../src/incidents/service";
import { suggestTags, totalsOf, usesByTag, type RankedTag } from "../../src/incidents/tags";
import { aForm, aNewIncident } from "../support/builders";

/**
 * Behaviours a mutation run (npm run test:mutation, 2 Dec 2026) showed no unit test held: each test
 * below fails with the mutant named in its title applied to src/incidents. See docs/testing.md.
 */

const WS = "ws";
const T0 = new Date("2026-11-26T12:00:00.000Z");
const ALEX: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" };
const MEGAN: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" };

function setup(options: { mirrored?: boolean } = {}) {
  const store = new SqliteIncidentStore(":memory:");
  const directory = new LocalDirectory({
    users: [
      { id: ALEX.objectId!, displayName: "Alex Wilber", analyst: true, restricted: true },
      { id: MEGAN.objectId!, displayName: "Megan Bowen" },
    ],
    groups: [],
  });
  const service = new IncidentService({ store, directory, workspaceId: WS, clock: () => T0, tagCacheMs: 30_000, ...options });
  return { store, service };
}

async function created(result: Promise<unknown>): Promise<Incident> {
  const r = (await result) as { kind: string; incident?: Incident };
  if (r.kind !== "created" || !r.incident) throw new Error(`expected created, got ${JSON.stringify(r)}`);
  return r.incident;
}

describe("the service", () => {
  it("keeps an incident restricted through an edit that keeps it so (service.ts: the restricted flag dropped on every edit)", async () => {
    const { service } = setup();
    const incident = await created(service.create(aForm({ restricted: "true" }), ALEX, "form"));
    expect(incident.restricted).toBe(true);
    const edited = await service.update(incident.id, incident.revision, aForm({ title: "Renamed", restricted: "true" }), ALEX);
    expect(edited).toMatchObject({ kind: "updated", incident: { title: "Renamed", restricted: true } });
    const opened = await service.update(incident.id, incident.revision + 1, aForm({ title: "Renamed", restricted: "false" }), ALEX);
    expect(opened.kind).toBe("updated");
    expect((opened as { incident: Incident }).incident).not.toHaveProperty("restricted");
  });

  it("adds a repeated comment, question or task once, also after others (service.ts: `some` -> `every` in the repeat checks)", async () => {
    const { service } = setup();
    const incident = await created(service.report({ submissionId: aForm().submissionId, title: "Odd call", whatHappened: "They asked for my code.", whenDate: "", whenTime: "", where: "", urgent: "false" }, MEGAN, undefined));
    const rev = incident.revision;
    await service.comment(incident.id, "First note", false, rev, ALEX);
    await service.comment(incident.id, "Second note", false, rev, ALEX);
    await service.comment(incident.id, "First note", false, rev, ALEX); // the first click again
    await service.ask(incident.id, "Who called?", rev, ALEX);
    await service.ask(incident.id, "When?", rev, ALEX);
    await service.ask(incident.id, "Who called?", rev, ALEX);
    await service.addTask(incident.id, "Call back", rev, ALEX);
    await service.addTask(incident.id, "Block the number", rev, ALEX);
    await service.addTask(incident.id, "Call back", rev, ALEX);
    const stored = (await service.get(incident.id))!;
    expect(stored.comments!.map((c) => c.message)).toEqual(["First note", "Second note", "Who called?", "When?"]);
    expect(stored.tasks!.map((t) => t.title)).toEqual(["Call back", "Block the number"]);
  });

  it("claims and settles only the notice asked for when there are several (service.ts: every notice replaced by the claimed one)", async () => {
    const { service, store } = setup();
    const pending = (id: string): ReporterNotice => ({
      id,
      to: `aad:${MEGAN.objectId}`,
      name: "Megan Bowen",
      text: `notice ${id}`,
      state: "pending",
      attempts: 0,
      dueUtc: "2026-11-26T11:00:00.000Z",
      updatedUtc: "2026-11-26T11:00:00.000Z",
    });
    const [a, b] = [pending("2:aad:megan"), pending("3:aad:megan")];
    const { incident } = await store.create(aNewIncident({ workspaceId: WS, createdBy: MEGAN, entryPoint: "chat-report", outbox: [a, b] }));
    const claim = await service.claimNotice(incident.id, a.id);
    expect(claim?.notice.id).toBe(a.id);
    expect((await service.get(incident.id))!.outbox!.find((n) => n.id === b.id)).toEqual(b);
    await service.settleNotice(incident.id, a.id, { kind: "sent" });
    const settled = (await service.get(incident.id))!.outbox!;
    expect(settled.find((n) => n.id === a.id)?.state).toBe("sent");
    expect(settled.find((n) => n.id === b.id)).toEqual(b);
    // The second one, found by its id and not as the first of the list.
    expect((await service.claimNotice(incident.id, b.id))?.notice.id).toBe(b.id);
    await service.settleNotice(incident.id, b.id, { kind: "sent" });
    expect((await service.get(incident.id))!.outbox!.map((n) => [n.id, n.state])).toEqual([
      [a.id, "sent"],
      [b.id, "sent"],
    ]);
  });

  it("links incidents to Microsoft Sentinel only when the sync is on (service.ts: `mirrored` on by default)", async () => {
    expect(await created(setup().service.create(aForm(), ALEX, "form"))).not.toHaveProperty("sentinel");
    expect((await created(setup({ mirrored: true }).service.create(aForm(), ALEX, "form"))).sentinel).toMatchObject({ revision: 0 });
  });

  it("keeps the form's conversation only with the form's message id (service.ts: kept without one)", async () => {
    const { service } = setup();
    const conversation = { conversation: { id: "a:1" } } as never;
    const without = await created(service.create(aForm(), ALEX, "form", { formConversation: conversation }));
    expect(without).not.toHaveProperty("formConversation");
    const withId = await created(service.create(aForm(), ALEX, "form", { formConversation: conversation, formMessageId: "m1" }));
    expect(withId.formConversation).toEqual(conversation);
  });
});

describe("reports' times", () => {
  const NOW = new Date("2026-12-01T12:00:00.000Z");
  const report = (whenDate: string, whenTime: string): ReportForm => ({
    submissionId: aForm().submissionId,
    title: "Tailgater",
    whatHappened: "Walked in behind me.",
    whenDate,
    whenTime,
    where: "",
    urgent: "false",
  });
  it.each([
    ["2026-11-30x", "10:00"],
    ["x2026-11-30", "10:00"],
    ["2026-11-30", "10:00x"],
    ["2026-11-30", "x10:00"],
  ])("refuses %s %s: the whole field must be a date or a time (report.ts: the regexes' anchors)", (date, time) => {
    expect(checkReport(report(date, time), "UTC", NOW)).toMatchObject({ ok: false, errors: { when: "That date or time is not valid." } });
  });

  it("accepts 23:30, the last hour of a day (report.ts: `h > 23` -> `h >= 23`)", () => {
    expect(checkReport(report("2026-11-30", "23:30"), "UTC", NOW)).toMatchObject({ ok: true, firstActivityTimeUtc: "2026-11-30T23:30:00.000Z" });
  });

  it("reads a date and time with spaces around them (report.ts: the date or time used untrimmed)", () => {
    expect(checkReport(report(" 2026-11-30 ", " 10:00 "), "UTC", NOW)).toMatchObject({ ok: true, firstActivityTimeUtc: "2026-11-30T10:00:00.000Z" });
  });
});

describe("casework", () => {
  const notice = (id: string, dueUtc: string): ReporterNotice => ({
    id,
    to: "aad:x",
    name: "Megan Bowen",
    text: "t",
    state: "pending",
    attempts: 0,
    dueUtc,
    updatedUtc: dueUtc,
  });
  it("finds the earliest due notice whatever the order (casework.ts: the last one taken)", () => {
    expect(outboxDue({ outbox: [notice("1:a", "2026-11-20T10:00:00.000Z"), notice("2:a", "2026-11-20T11:00:00.000Z")] })).toBe(
      "2026-11-20T10:00:00.000Z",
    );
  });

  it("replaces a person's contact instead of adding a second, and copies the list when there is none new (casework.ts)", () => {
    const old: Contact = { person: "aad:x", address: { conversation: { id: "a:old" } } };
    const other: Contact = { person: "aad:y", address: { conversation: { id: "a:y" } } };
    const fresh: Contact = { person: "aad:x", address: { conversation: { id: "a:new" } } };
    expect(withContact([old, other], fresh)).toEqual([other, fresh]);
    const kept = [old];
    const copy = withContact(kept, undefined);
    expect(copy).toEqual([old]);
    expect(copy).not.toBe(kept);
    expect(withContact(undefined, undefined)).toBeUndefined();
  });
});

describe("tags and search", () => {
  const ranked = (...tags: string[]): RankedTag[] => tags.map((tag, i) => ({ tag, score: 10 - i, count: 1, lastUsedUtc: T0.toISOString() }));
  it("puts a tag with a word starting with the text before one only containing it (tags.ts: `startsWith` -> `endsWith`)", () => {
    expect(suggestTags(ranked("Incredible", "Stolen credentials"), "cred", 5)).toEqual(["Stolen credentials", "Incredible", "cred"]);
  });

  it("keeps the latest use's time and spelling when an older day comes after it (tags.ts: the later row always taken)", () => {
    const totals = totalsOf(
      usesByTag([
        { day: "2026-11-20", tag: "PHISHING", count: 1, lastUsedUtc: "2026-11-20T10:00:00.000Z" },
        { day: "2026-11-19", tag: "phishing", count: 1, lastUsedUtc: "2026-11-19T10:00:00.000Z" },
      ]),
      { sinceDay: "2026-11-13", today: "2026-11-26" },
    );
    expect(totals).toEqual([expect.objectContaining({ tag: "PHISHING", count: 2, lastUsedUtc: "2026-11-20T10:00:00.000Z" })]);
  });

  it("matches a title only when every word does, a long word in full (search.ts titleMatches)", () => {
    expect(titleMatches("Phishing e-mail to finance", ["phish", "fin"])).toBe(true);
    expect(titleMatches("Phishing e-mail to finance", ["phish", "payroll"])).toBe(false);
    const long = "supercalifragilistic";
    expect(titleMatches(`A ${long} alert`, [long])).toBe(true);
    expect(titleMatches(`A ${long} alert`, [`${long}x`])).toBe(false);
  });
});
