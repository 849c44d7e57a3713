import { randomUUID } from "node:crypto";
import type { Owner, ReporterNotice, SentinelLink } from "../../src/incidents/model";
import type { IncidentStore, TagUses } from "../../src/incidents/ports";
import { checkEntity, ENTITIES_MAX, indicatorValue, parseTypedEntity, type Entity, type EntityRole, type EntityType } from "../../src/incidents/entities";
import { totalsOf } from "../../src/incidents/tags";
import { aNewIncident, labels, tagTotals } from "../support/builders";

/** A pending notice to a reporter, due at `dueUtc`; override what the test is about. */
function aNotice(id: string, dueUtc: string, overrides: Partial<ReporterNotice> = {}): ReporterNotice {
  return {
    id,
    to: id.slice(id.indexOf(":") + 1),
    name: "Megan Bowen",
    text: "The SOC is investigating INC-1.",
    state: "pending",
    attempts: 0,
    dueUtc,
    updatedUtc: dueUtc,
    ...overrides,
  };
}

/** A Sentinel link, not yet sent (revision 0), due at `dueUtc`; override what the test is about. */
function aLink(dueUtc: string, overrides: Partial<SentinelLink> = {}): SentinelLink {
  return { revision: 0, comments: 0, reports: 0, tasks: [], attempts: 0, dueUtc, ...overrides };
}

/** An entity as the domain makes it from what a person typed (normalised), or a test failure when it is not one. */
function anEntity(typed: string, role: EntityRole = "related", type?: EntityType): Entity {
  const found = type ? checkEntity(type, typed, role, "typed") : parseTypedEntity(typed, role, "typed");
  if (!found.ok) throw new Error(`not an entity: ${typed}: ${found.error}`);
  return found.entity;
}

/** `base` moved by `ms` milliseconds, as an ISO time. */
function shifted(base: string, ms: number): string {
  return new Date(Date.parse(base) + ms).toISOString();
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The bound every stored document (Cosmos DB) or row (SQLite) must stay under, whatever the volume. */
export const DOCUMENT_MAX_BYTES = 64 * 1024;

export interface StoreUnderTest {
  store: IncidentStore;
  /** The size in bytes (UTF-8 JSON for a document, the sum of its values for a row) of the workspace's largest document or row. */
  largestDocumentBytes(workspaceId: string): Promise<number>;
  /** Tears down whatever the factory started. */
  dispose(): Promise<void>;
}

/**
 * What every IncidentStore must do, written once and run against each implementation
 * (SQLite here, Cosmos DB on @vercel/cosmosdb-server in its own suite).
 */
export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`IncidentStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: IncidentStore;
    let ws: string;

    beforeEach(async () => {
      sut = await open();
      store = sut.store;
      ws = `ws-${randomUUID()}`;
    });
    afterEach(async () => {
      await sut.dispose();
    });

    it("numbers incidents 1, 2, 3 in each workspace, independently of other workspaces", async () => {
      const other = `ws-${randomUUID()}`;
      const a = await store.create(aNewIncident({ workspaceId: ws }));
      const b = await store.create(aNewIncident({ workspaceId: other }));
      const c = await store.create(aNewIncident({ workspaceId: ws }));
      const d = await store.create(aNewIncident({ workspaceId: ws }));
      expect([a.incident.incidentNumber, c.incident.incidentNumber, d.incident.incidentNumber]).toEqual([1, 2, 3]);
      expect(b.incident.incidentNumber).toBe(1);
      expect([a.created, b.created, c.created, d.created]).toEqual([true, true, true, true]);
    });

    it("returns the first incident, unchanged, when the same id is created again", async () => {
      const first = aNewIncident({ workspaceId: ws, title: "First" });
      const a = await store.create(first);
      const b = await store.create({ ...first, title: "Second try with other text" });
      expect(b.created).toBe(false);
      expect(b.incident).toEqual(a.incident);
      expect(b.incident.title).toBe("First");
    });

    it("leaves no gap in the numbers after a repeat that came once the first create was done (a double click, a Teams retry)", async () => {
      const first = aNewIncident({ workspaceId: ws, labels: labels("Phishing") });
      const a = await store.create(first);
      for (let i = 0; i < 3; i++) expect((await store.create(first)).created).toBe(false);
      const older = await store.create(aNewIncident({ workspaceId: ws }));
      expect((await store.create(first)).incident).toEqual(a.incident); // a repeat of an older one, too
      const next = await store.create(aNewIncident({ workspaceId: ws }));
      expect([older.incident.incidentNumber, next.incident.incidentNumber]).toEqual([a.incident.incidentNumber + 1, a.incident.incidentNumber + 2]);
    });

    it("keeps every field of Sentinel's shape through a round trip", async () => {
      const incident = aNewIncident({
        workspaceId: ws,
        severity: "High",
        status: "Closed",
        classification: "TruePositive",
        classificationReason: "SuspiciousActivity",
        classificationComment: "Contained by IR.",
        owner: {
          objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
          ownerType: "Group",
          assignedTo: "SOC Tier 1",
          email: "soc-tier1@contoso.com",
        },
        labels: labels("Phishing", "Finance"),
        firstActivityTimeUtc: "2026-11-19T22:00:00.000Z",
        description: "Line one\nLine two ${not.a.template} <b>html</b> 'quotes' \"double\" ünïcødé 🚨",
      });
      const { incident: stored } = await store.create(incident);
      expect(stored).toEqual({ ...incident, incidentNumber: 1, revision: 1 });
      expect(await store.get(ws, incident.id)).toEqual(stored);
    });

    it("finds nothing for an unknown id or for another workspace's incident", async () => {
      const { incident } = await store.create(aNewIncident({ workspaceId: ws }));
      expect(await store.get(ws, randomUUID())).toBeUndefined();
      expect(await store.get(`ws-${randomUUID()}`, incident.id)).toBeUndefined();
    });

    it("gives unique numbers and one incident per id when creates with repeated ids are in flight together", async () => {
      const ids = Array.from({ length: 40 }, () => randomUUID());
      const attempts = [...ids, ...ids.slice(0, 20), ...ids.slice(0, 10)].map((id) =>
        store.create(aNewIncident({ workspaceId: ws, id, title: `Incident ${id}` })),
      );
      const outcomes = await Promise.all(attempts);
      const byId = new Map<string, number>();
      for (const o of outcomes) {
        const seen = byId.get(o.incident.id);
        if (seen !== undefined) expect(o.incident.incidentNumber).toBe(seen);
        byId.set(o.incident.id, o.incident.incidentNumber);
      }
      expect(byId.size).toBe(40);
      expect(new Set(byId.values()).size).toBe(40);
      expect(outcomes.filter((o) => o.created)).toHaveLength(40);
    });

    it("counts tag use per UTC day, case-insensitively, once per incident", async () => {
      const day1 = "2026-11-18T09:00:00.000Z";
      const day2 = "2026-11-19T23:59:00.000Z";
      const repeated = aNewIncident({ workspaceId: ws, createdTimeUtc: day2, labels: labels("phishing", "VIP") });
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: day1, labels: labels("Phishing") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: "2026-11-18T11:00:00.000Z", labels: labels("PHISHING") }));
      await store.create(repeated);
      await store.create(repeated);
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, createdTimeUtc: day2, labels: labels("Other workspace") }));

      const usage = await store.tagUsage(ws, "2026-11-01");
      const simplified = usage
        .map((u) => ({ day: u.day, tag: u.tag.toLowerCase(), count: u.count }))
        .sort((a, b) => (a.day + a.tag).localeCompare(b.day + b.tag));
      expect(simplified).toEqual([
        { day: "2026-11-18", tag: "phishing", count: 2 },
        { day: "2026-11-19", tag: "phishing", count: 1 },
        { day: "2026-11-19", tag: "vip", count: 1 },
      ]);
      const latest18 = usage.find((u) => u.day === "2026-11-18");
      expect(latest18?.lastUsedUtc).toBe("2026-11-18T11:00:00.000Z");
    });

    it("sums tag use per tag over a window: one total per tag, its weight by day, the latest spelling and time", async () => {
      const at = (day: string, time: string) => `${day}T${time}:00.000Z`;
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-12", "10:00"), labels: labels("Phishing", "Before") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-13", "10:00"), labels: labels("phishing") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-20", "09:00"), labels: labels("PHISHING", "VIP") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-20", "11:00"), labels: labels("vip") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-27", "01:00"), labels: labels("Tomorrow") }));
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, createdTimeUtc: at("2026-11-20", "09:00"), labels: labels("Other") }));
      const window = { sinceDay: "2026-11-13", today: "2026-11-26" };
      const week = Math.pow(2, 1);
      const today = Math.pow(2, 13 / 7);

      const totals = await tagTotals(store, ws, window);
      const byTag = Object.fromEntries(totals.map((t) => [t.tag, t]));
      // A day keeps its first spelling ("VIP"); across days the latest day's wins ("PHISHING").
      expect(Object.keys(byTag).sort()).toEqual(["PHISHING", "Tomorrow", "VIP"]);
      expect(byTag.PHISHING).toMatchObject({ count: 2, lastUsedUtc: at("2026-11-20", "09:00") });
      expect(byTag.PHISHING!.weight).toBeCloseTo(1 + week, 9);
      expect(byTag.VIP).toMatchObject({ count: 2, lastUsedUtc: at("2026-11-20", "11:00") });
      expect(byTag.VIP!.weight).toBeCloseTo(2 * week, 9);
      // A use dated after today (a clock ahead) weighs as today's.
      expect(byTag.Tomorrow!.weight).toBeCloseTo(today, 9);
      expect(await tagTotals(store, `ws-${randomUUID()}`, window)).toEqual([]);
    });

    it("reads only the days asked for", async () => {
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: "2026-10-01T10:00:00.000Z", labels: labels("Old") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: "2026-11-20T10:00:00.000Z", labels: labels("New") }));
      const usage = await store.tagUsage(ws, "2026-11-07");
      expect(usage.map((u) => u.tag)).toEqual(["New"]);
    });

    it("reads recent tags whole, then from a cursor only the tags written after it (or, from a store that can't tell, whole again)", async () => {
      const at = (day: string, time = "10:00") => `${day}T${time}:00.000Z`;
      const since = "2026-11-07";
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-10-01"), labels: labels("Old") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-18"), labels: labels("Phishing", "VIP") }));
      const full = await store.recentTags(ws, since);
      expect(full.complete).toBe(true);
      // In no particular order: tags by name, each one's days by day.
      const byTag = (tags: TagUses[]) =>
        [...tags].map((t) => ({ ...t, days: [...t.days].sort((a, b) => a[0].localeCompare(b[0])) })).sort((a, b) => a.tag.localeCompare(b.tag));
      expect(byTag(full.tags)).toEqual([
        { tag: "Phishing", lastUsedUtc: at("2026-11-18"), days: [["2026-11-18", 1]] },
        { tag: "VIP", lastUsedUtc: at("2026-11-18"), days: [["2026-11-18", 1]] },
      ]);
      // Another workspace's writes, and an incident dated before the latest use (a clock behind): its tag is
      // written, though its latest use does not move.
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, createdTimeUtc: at("2026-11-19"), labels: labels("Elsewhere") }));
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-17"), labels: labels("phishing") }));
      const phishing = { tag: "Phishing", lastUsedUtc: at("2026-11-18"), days: [["2026-11-17", 1], ["2026-11-18", 1]] };
      const next = await store.recentTags(ws, since, full.cursor ?? "0");
      if (full.cursor === undefined) {
        expect(next.complete).toBe(true);
        expect(byTag(next.tags)).toEqual([phishing, { tag: "VIP", lastUsedUtc: at("2026-11-18"), days: [["2026-11-18", 1]] }]);
        return;
      }
      expect({ ...next, tags: byTag(next.tags) }).toEqual({ tags: [phishing], complete: false, cursor: expect.any(String) });
      expect(await store.recentTags(ws, since, next.cursor)).toEqual({ tags: [], complete: false, cursor: next.cursor });
      // The cursor before it still reads it: a read is never lost, only read again.
      expect(byTag((await store.recentTags(ws, since, full.cursor)).tags)).toEqual([phishing]);
      // Not a cursor this store gave, or one past its latest write (an older copy of the database put back): a whole read.
      for (const bad of ["x'; DROP TABLE tag_recent; --", "-1", "1e3", "", "999999999999999"]) {
        expect((await store.recentTags(ws, since, bad)).complete).toBe(true);
      }
    });

    it("replaces an incident only from the revision it was read at, and never silently overwrites", async () => {
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, labels: labels("Phishing") }));
      const first = await store.replace({ ...incident, status: "Active" }, 1);
      expect(first).toEqual({ ok: true, incident: { ...incident, status: "Active", revision: 2 } });
      const stale = await store.replace({ ...incident, status: "Closed" }, 1);
      expect(stale).toEqual({ ok: false, current: { ...incident, status: "Active", revision: 2 } });
      expect(await store.get(ws, incident.id)).toMatchObject({ status: "Active", revision: 2 });
      const gone = await store.replace({ ...incident, id: randomUUID() }, 1);
      expect(gone).toEqual({ ok: false, current: undefined });
      // An edit counts the tags it adds once, on the incident's day; one keeping its tags counts nothing again.
      await store.replace({ ...incident, labels: labels("Phishing", "Extra"), revision: 2 }, 2);
      await store.replace({ ...incident, labels: labels("phishing", "Extra"), status: "Closed", revision: 3 }, 3);
      const usage = await store.tagUsage(ws, "2026-01-01");
      expect(usage.map((u) => [u.tag, u.count]).sort()).toEqual([["Extra", 1], ["Phishing", 1]]);
    });

    it("never counts a restricted incident's tags; restricting by an edit takes them back, unrestricting counts them again", async () => {
      const at = "2026-11-18T10:00:00.000Z";
      const since = "2026-11-07";
      const window = { sinceDay: since, today: "2026-11-20" };
      const counts = async () =>
        Object.fromEntries(
          (await store.tagUsage(ws, since)).map((u) => [u.tag.toLowerCase(), u.count]).sort(([a], [b]) => String(a).localeCompare(String(b))),
        );
      const suggested = async () => Object.fromEntries((await tagTotals(store, ws, window)).map((t) => [t.tag.toLowerCase(), t.count]));
      const open = (await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at, labels: labels("Phishing", "Payroll") }))).incident;
      const secret = (
        await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at, labels: labels("ceo-insider-payroll", "phishing"), restricted: true }))
      ).incident;
      expect(await counts()).toEqual({ payroll: 1, phishing: 1 });
      expect(await suggested()).toEqual({ payroll: 1, phishing: 1 });
      const before = await store.recentTags(ws, since);

      // Restricted by an edit: its tags leave the counts, and a read from the cursor before it sees them go.
      const restricted = await store.replace({ ...open, restricted: true }, 1);
      expect(restricted.ok).toBe(true);
      expect(await counts()).toEqual({});
      expect(await suggested()).toEqual({});
      const changed = await store.recentTags(ws, since, before.cursor);
      expect(totalsOf(changed.tags, window)).toEqual([]);
      if (!changed.complete) expect(changed.tags.map((t) => t.tag.toLowerCase()).sort()).toEqual(["payroll", "phishing"]);

      // Unrestricted: counted again, on its own day, once.
      const reopened = { ...open, revision: 2 };
      delete reopened.restricted;
      expect((await store.replace(reopened, 2)).ok).toBe(true);
      expect(await counts()).toEqual({ payroll: 1, phishing: 1 });
      expect((await store.tagUsage(ws, since)).every((u) => u.day === "2026-11-18")).toBe(true);

      // The restricted one edited (tags changed, still restricted): nothing counted; unrestricted: its tags as they are now.
      expect((await store.replace({ ...secret, labels: labels("ceo-insider-payroll", "Board") }, 1)).ok).toBe(true);
      expect(await counts()).toEqual({ payroll: 1, phishing: 1 });
      const shown = { ...secret, labels: labels("ceo-insider-payroll", "Board"), revision: 2 };
      delete shown.restricted;
      expect((await store.replace(shown, 2)).ok).toBe(true);
      expect(await counts()).toEqual({ board: 1, "ceo-insider-payroll": 1, payroll: 1, phishing: 1 });
      expect(await suggested()).toEqual({ board: 1, "ceo-insider-payroll": 1, payroll: 1, phishing: 1 });
    });

    it("counts the tags of an incident created restricted once it is unrestricted, where no tag was counted before", async () => {
      const at = "2026-11-18T10:00:00.000Z";
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at, labels: labels("Insider"), restricted: true }));
      expect(await store.tagUsage(ws, "2026-11-01")).toEqual([]);
      const shown = { ...incident };
      delete shown.restricted;
      expect((await store.replace(shown, 1)).ok).toBe(true);
      expect((await store.tagUsage(ws, "2026-11-01")).map((u) => [u.day, u.tag, u.count])).toEqual([["2026-11-18", "Insider", 1]]);
      // Restricted again from that revision: gone again.
      expect((await store.replace({ ...shown, restricted: true, revision: 2 }, 2)).ok).toBe(true);
      expect(await store.tagUsage(ws, "2026-11-01")).toEqual([]);
    });

    it("lets exactly one of two replaces from the same revision win when both are in flight together", async () => {
      const { incident } = await store.create(aNewIncident({ workspaceId: ws }));
      const outcomes = await Promise.all([
        store.replace({ ...incident, owner: { objectId: "a", ownerType: "User", assignedTo: "A" } }, 1),
        store.replace({ ...incident, owner: { objectId: "b", ownerType: "User", assignedTo: "B" } }, 1),
      ]);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    });

    it("keeps an incident's entities, category, techniques and recommended actions through create and replace; one without them as it was", async () => {
      const entities = [
        anEntity("hxxps://evil[.]example/login"),
        anEntity("alex@contoso.com", "impacted", "user"),
        anEntity("LAPTOP-7F3K", "impacted", "device"),
        anEntity("203.0.113[.]7"),
        { ...anEntity("xn--pypal-4ve.com"), source: "extracted" as const },
      ];
      expect(entities[0]).toMatchObject({ value: "https://evil.example/login", typed: "hxxps://evil[.]example/login" });
      const incident = aNewIncident({
        workspaceId: ws,
        category: "InitialAccess",
        mitreTechniques: ["T1566", "T1566.002"],
        recommendedActions: "Block the domain.\nReset Alex's password.",
        entities,
        entitiesNotKept: 3,
      });
      const { incident: stored } = await store.create(incident);
      expect(stored).toEqual({ ...incident, incidentNumber: 1, revision: 1 });
      expect(await store.get(ws, incident.id)).toEqual(stored);

      const edited = { ...stored, category: "Exfiltration" as const, entities: entities.slice(1), mitreTechniques: ["T1041"] };
      delete edited.entitiesNotKept;
      expect(await store.replace(edited, 1)).toEqual({ ok: true, incident: { ...edited, revision: 2 } });
      expect(await store.get(ws, incident.id)).toEqual({ ...edited, revision: 2 });

      // An incident of the shape written before entities existed: read back without any of these fields.
      const plain = await store.create(aNewIncident({ workspaceId: ws, title: "Older shape" }));
      const read = await store.get(ws, plain.incident.id);
      expect(read).toEqual(plain.incident);
      expect(read).not.toHaveProperty("entities");
      expect(read).not.toHaveProperty("category");
      expect(await store.findByEntity(ws, ["https://evil.example/login"], { limit: 10 })).toEqual([]);
    });

    it("finds incidents by an entity's normalised value, exactly, newest first: restricted ones too, never another workspace's", async () => {
      const at = (minute: number) => `2026-11-20T10:${String(minute).padStart(2, "0")}:00.000Z`;
      const make = (title: string, minute: number, entities: Entity[], more: Partial<Parameters<typeof aNewIncident>[0]> = {}) =>
        store.create(aNewIncident({ workspaceId: ws, title, createdTimeUtc: at(minute), entities, ...more }));
      await make("Phish to finance", 1, [anEntity("hxxps://evil[.]example/login"), anEntity("evil.example")]);
      await make("Board phish", 2, [anEntity("https://evil.example/login")], { restricted: true });
      await make("Same domain, other page", 3, [anEntity("https://EVIL.example/Login"), anEntity("LAPTOP-7F3K", "impacted", "device")]);
      await make("No entities", 4, []);
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, title: "Elsewhere", entities: [anEntity("https://evil.example/login")] }));
      const titles = async (values: string[], limit = 10) => (await store.findByEntity(ws, values, { limit })).map((i) => i.title);

      // The host is case-insensitive (normalised to lower case), the path is not: /Login is another URL.
      expect(indicatorValue("hxxps://EVIL[.]example/login")).toBe("https://evil.example/login");
      expect(await titles([indicatorValue("hxxps://EVIL[.]example/login")!])).toEqual(["Board phish", "Phish to finance"]);
      expect(await titles(["https://evil.example/Login"])).toEqual(["Same domain, other page"]);
      expect(await titles(["https://evil.example/login/"])).toEqual([]);
      expect(await titles(["https://evil.example"])).toEqual([]);
      expect(await titles(["evil.example"])).toEqual(["Phish to finance"]);
      // Device names are kept in lower case: the normalised value finds it, the typed spelling does not.
      expect(await titles([indicatorValue("device: LAPTOP-7F3K")!])).toEqual(["Same domain, other page"]);
      expect(await titles(["LAPTOP-7F3K"])).toEqual([]);
      // Several values: every incident holding any of them, once, newest first.
      expect(await titles(["evil.example", "https://evil.example/login", "laptop-7f3k", "nothing.example"])).toEqual([
        "Same domain, other page",
        "Board phish",
        "Phish to finance",
      ]);
      expect(await titles([])).toEqual([]);
      expect(await titles(["", "x".repeat(1001)])).toEqual([]);
    });

    it("follows replace: an entity removed no longer finds the incident, one added does, bookkeeping keeps them", async () => {
      const url = anEntity("hxxp://paypa1-login[.]com/verify");
      const phone = anEntity("+44 20 7946 0958");
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, entities: [url, phone] }));
      const ids = async (value: string) => (await store.findByEntity(ws, [value], { limit: 10 })).map((i) => i.id);
      expect(await ids(url.value)).toEqual([incident.id]);
      expect(await ids("+442079460958")).toEqual([incident.id]);

      const hash = anEntity("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
      expect((await store.replace({ ...incident, entities: [phone, hash] }, 1)).ok).toBe(true);
      expect(await ids(url.value)).toEqual([]);
      expect(await ids(phone.value)).toEqual([incident.id]);
      expect(await ids("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).toEqual([incident.id]);
      // Found as stored now: what it is found by is what it holds.
      expect((await store.findByEntity(ws, [phone.value], { limit: 10 }))[0]?.entities).toEqual([phone, hash]);

      // Bookkeeping (the triage notice, the outbox, the Sentinel link) is not an edit: the entities stay findable.
      await store.setNotice(ws, incident.id, { state: "posted", attempts: 1, updatedUtc: "2026-11-20T11:00:00.000Z" });
      await store.updateOutbox(ws, incident.id, () => [aNotice("2:aad:x", "2026-11-20T12:00:00.000Z")]);
      await store.updateSentinel(ws, incident.id, () => aLink("2026-11-20T12:00:00.000Z"));
      expect(await ids(hash.value)).toEqual([incident.id]);

      // Restricted by an edit: still indexed (the visibility rule decides at read time who sees it).
      expect((await store.replace({ ...incident, entities: [hash], restricted: true, revision: 2 }, 2)).ok).toBe(true);
      expect(await ids(hash.value)).toEqual([incident.id]);
      expect(await ids(phone.value)).toEqual([]);
      // Every entity removed: found by none of them.
      const bare = { ...incident, revision: 3 };
      delete bare.entities;
      expect((await store.replace(bare, 3)).ok).toBe(true);
      expect(await ids(hash.value)).toEqual([]);
      // A replace that lost (stale revision) writes no entity either.
      expect((await store.replace({ ...incident, entities: [url] }, 1)).ok).toBe(false);
      expect(await ids(url.value)).toEqual([]);
    });

    it("finds by entity within the limit and from `since`, newest first, and refuses more values than an incident holds", async () => {
      const value = anEntity("198.51.100.23");
      const at = (day: number) => `2026-11-${String(10 + day).padStart(2, "0")}T09:00:00.000Z`;
      for (let n = 0; n < 6; n++)
        await store.create(aNewIncident({ workspaceId: ws, title: `Scan ${n}`, createdTimeUtc: at(n), entities: [value] }));
      const titles = async (options: { since?: string; limit: number }) =>
        (await store.findByEntity(ws, ["198.51.100.23"], options)).map((i) => i.title);
      expect(await titles({ limit: 3 })).toEqual(["Scan 5", "Scan 4", "Scan 3"]);
      expect(await titles({ limit: 10, since: at(3) })).toEqual(["Scan 5", "Scan 4", "Scan 3"]);
      expect(await titles({ limit: 2, since: at(1) })).toEqual(["Scan 5", "Scan 4"]);
      expect(await titles({ limit: 10, since: at(6) })).toEqual([]);
      expect(await titles({ limit: 0 })).toEqual([]);
      const many = Array.from({ length: ENTITIES_MAX + 1 }, (_, i) => `10.0.0.${i}`);
      await expect(store.findByEntity(ws, many, { limit: 10 })).rejects.toThrow(/at most 100 values/);
      expect(await store.findByEntity(ws, [...many.slice(0, ENTITIES_MAX - 1), "198.51.100.23"], { limit: 1 })).toHaveLength(1);
    });

    it("finds incidents by number, by every word of the title or by a whole tag, newest first", async () => {
      const make = (title: string, ...tags: string[]) => store.create(aNewIncident({ workspaceId: ws, title, labels: labels(...tags) }));
      await make("Badge reader at door 3", "Physical");
      await make("Phishing e-mail to finance", "Phishing", "Finance team");
      await make("Second badge alarm", "physical");
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, title: "Badge elsewhere", labels: labels("Physical") }));
      const titles = async (query: Parameters<IncidentStore["search"]>[1], limit = 10) =>
        (await store.search(ws, query, limit)).map((i) => i.title);

      expect(await titles({ number: 2 })).toEqual(["Phishing e-mail to finance"]);
      expect(await titles({ number: 99 })).toEqual([]);
      expect(await titles({ text: "badge" })).toEqual(["Second badge alarm", "Badge reader at door 3"]);
      expect(await titles({ text: "badge door" })).toEqual(["Badge reader at door 3"]);
      expect(await titles({ text: "physical" })).toEqual(["Second badge alarm", "Badge reader at door 3"]);
      expect(await titles({ text: "finance team" })).toEqual(["Phishing e-mail to finance"]);
      expect(await titles({ text: "team" })).toEqual([]);
      expect(await titles({})).toEqual(["Second badge alarm", "Phishing e-mail to finance", "Badge reader at door 3"]);
      expect(await titles({}, 2)).toEqual(["Second badge alarm", "Phishing e-mail to finance"]);
      expect(await titles({ text: "100% o'brien \\ _%" })).toEqual([]);
    });

    it("finds a title by the start of its words as they are typed, newest first, within the limit", async () => {
      const make = (title: string, ...tags: string[]) => store.create(aNewIncident({ workspaceId: ws, title, labels: labels(...tags) }));
      await make("Phishing e-mail to finance (T1566.001)");
      await make("Suspicious sign-in from Kazakhstan, internationalisation team");
      for (let i = 0; i < 12; i++) await make(`Phished mailbox ${i}`);
      const titles = async (text: string, limit = 20) => (await store.search(ws, { text }, limit)).map((i) => i.title);

      expect(await titles("p")).toHaveLength(13);
      expect(await titles("phish", 3)).toEqual(["Phished mailbox 11", "Phished mailbox 10", "Phished mailbox 9"]);
      expect(await titles("phishi")).toEqual(["Phishing e-mail to finance (T1566.001)"]);
      expect(await titles("e-mail")).toEqual(["Phishing e-mail to finance (T1566.001)"]);
      expect(await titles("mail fin")).toEqual(["Phishing e-mail to finance (T1566.001)"]);
      expect(await titles("t1566.001")).toEqual(["Phishing e-mail to finance (T1566.001)"]);
      expect(await titles("sign in kaz")).toEqual(["Suspicious sign-in from Kazakhstan, internationalisation team"]);
      // Inside a word is not the start of one: a difference from the substring search before issue 16.
      expect(await titles("hish")).toEqual([]);
      // Longer than the 16 characters a store indexes: found by those, then checked as typed.
      expect(await titles("internationalisation")).toEqual(["Suspicious sign-in from Kazakhstan, internationalisation team"]);
      expect(await titles("internationalisatiox")).toEqual([]);
      expect(await titles("mailbox 7")).toEqual(["Phished mailbox 7"]);
    });

    it("finds only what a person reported when asked by reporter, also after their report was added to another's", async () => {
      const megan = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
      const guest = { teamsId: "29:guest-mri", name: "A guest" };
      const mine = await store.create(aNewIncident({ workspaceId: ws, title: "Mine: badge door", createdBy: megan }));
      const theirs = await store.create(aNewIncident({ workspaceId: ws, title: "Theirs: badge alarm", createdBy: guest }));
      await store.create(aNewIncident({ workspaceId: ws, title: "Nobody's: badge lost" }));
      const titles = async (query: Parameters<IncidentStore["search"]>[1]) => (await store.search(ws, query, 10)).map((i) => i.title);
      const meganKey = "aad:6f1c2d3e-0000-4000-8000-000000000031";

      expect(await titles({ reporter: meganKey })).toEqual(["Mine: badge door"]);
      expect(await titles({ reporter: "teams:29:guest-mri" })).toEqual(["Theirs: badge alarm"]);
      expect(await titles({ reporter: meganKey, number: theirs.incident.incidentNumber })).toEqual([]);
      expect(await titles({ reporter: meganKey, number: mine.incident.incidentNumber })).toEqual(["Mine: badge door"]);
      expect(await titles({ reporter: meganKey, text: "alarm" })).toEqual([]);
      expect(await titles({ reporter: "aad:6f1c2d3e" })).toEqual([]);

      const added = {
        ...theirs.incident,
        reports: [{ reporter: megan, timeUtc: "2026-11-20T11:00:00.000Z", entryPoint: "message-extension" as const, title: "Same", words: "Me too" }],
      };
      expect((await store.replace(added, theirs.incident.revision)).ok).toBe(true);
      expect(await titles({ reporter: meganKey })).toEqual(["Theirs: badge alarm", "Mine: badge door"]);
      expect(await titles({ reporter: meganKey, text: "alarm" })).toEqual(["Theirs: badge alarm"]);
    });

    it("lists incidents whose triage notice is not yet posted, oldest first", async () => {
      const notice = (state: "pending" | "posted" | "failed", updatedUtc: string) => ({ state, attempts: 1, updatedUtc });
      const a = await store.create(aNewIncident({ workspaceId: ws, title: "a", triage: notice("pending", "2026-11-20T10:00:02.000Z") }));
      await store.create(aNewIncident({ workspaceId: ws, title: "b", triage: notice("posted", "2026-11-20T10:00:00.000Z") }));
      await store.create(aNewIncident({ workspaceId: ws, title: "c", triage: notice("failed", "2026-11-20T10:00:01.000Z") }));
      await store.create(aNewIncident({ workspaceId: ws, title: "d" }));
      await store.create(aNewIncident({ workspaceId: ws, title: "e", triage: notice("pending", "2026-11-20T10:05:00.000Z") }));
      const unsent = await store.unsentNotices(ws, "2026-11-20T10:01:00.000Z", 10);
      expect(unsent.map((i) => i.title)).toEqual(["c", "a"]);
      const posted = await store.setNotice(ws, a.incident.id, notice("posted", "2026-11-20T10:00:30.000Z"));
      expect(posted).toMatchObject({ revision: 1, triage: { state: "posted" } });
      expect((await store.unsentNotices(ws, "2026-11-20T10:01:00.000Z", 10)).map((i) => i.title)).toEqual(["c"]);
      expect(await store.setNotice(ws, randomUUID(), notice("posted", "2026-11-20T10:00:30.000Z"))).toBeUndefined();
    });

    it("keeps the notice and the revision apart: bookkeeping is not an edit, an edit does not undo bookkeeping", async () => {
      const pending = { state: "pending" as const, attempts: 0, updatedUtc: "2026-11-20T10:00:00.000Z" };
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, triage: pending }));
      await store.setNotice(ws, incident.id, { state: "posted", attempts: 1, messageId: "m-1", updatedUtc: "2026-11-20T10:00:01.000Z" });
      // An edit made from revision 1, carrying the stale pending notice, still applies...
      const edited = await store.replace({ ...incident, status: "Active" }, 1);
      expect(edited.ok).toBe(true);
      // ...and leaves the recorded notice alone.
      expect(await store.get(ws, incident.id)).toMatchObject({ status: "Active", revision: 2, triage: { state: "posted", messageId: "m-1" } });
    });

    it("changes the outbox as bookkeeping: same revision, read back by get, nothing written when the change gives nothing", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const first = aNotice("2:aad:megan", t);
      const second = aNotice("2:teams:29:guest", t, { name: "A guest" });
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, outbox: [first, second] }));
      const given: { outbox: readonly ReporterNotice[]; incident: unknown }[] = [];

      const sent = { ...first, state: "sent" as const, attempts: 1, updatedUtc: shifted(t, 1000) };
      const changed = await store.updateOutbox(ws, incident.id, (outbox, current) => {
        given.push({ outbox, incident: current });
        return outbox.map((n) => (n.id === first.id ? sent : n));
      });
      // The change saw what was stored.
      expect(given[given.length - 1]).toEqual({ outbox: [first, second], incident });
      expect(changed).toEqual({ ...incident, outbox: [sent, second], revision: 1 });
      expect(await store.get(ws, incident.id)).toEqual(changed);

      // Undefined: nothing written (the outbox is not dropped).
      expect(await store.updateOutbox(ws, incident.id, () => undefined)).toEqual(changed);
      expect(await store.get(ws, incident.id)).toEqual(changed);

      // Bookkeeping is not an edit: an edit from revision 1 still applies.
      expect(await store.replace({ ...incident, status: "Active" }, 1)).toMatchObject({ ok: true, incident: { revision: 2 } });

      // No such incident (or another workspace's): undefined, nothing created.
      const change = (outbox: readonly ReporterNotice[]) => [...outbox, aNotice("9:aad:x", t)];
      const unknown = randomUUID();
      expect(await store.updateOutbox(ws, unknown, change)).toBeUndefined();
      expect(await store.get(ws, unknown)).toBeUndefined();
      const other = `ws-${randomUUID()}`;
      expect(await store.updateOutbox(other, incident.id, change)).toBeUndefined();
      expect(await store.get(other, incident.id)).toBeUndefined();
      expect((await store.get(ws, incident.id))?.outbox).toEqual([sent, second]);
    });

    it("gives an incident without notices an outbox through updateOutbox, and finds it due afterwards", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const { incident } = await store.create(aNewIncident({ workspaceId: ws }));
      expect(await store.dueNotices(ws, t, 10)).toEqual([]);
      const notice = aNotice("1:aad:megan", t);
      const changed = await store.updateOutbox(ws, incident.id, (outbox) => [...outbox, notice]);
      expect(changed).toEqual({ ...incident, outbox: [notice] });
      expect((await store.dueNotices(ws, t, 10)).map((i) => i.id)).toEqual([incident.id]);
      // Emptied: no longer due.
      await store.updateOutbox(ws, incident.id, () => []);
      expect(await store.dueNotices(ws, t, 10)).toEqual([]);
    });

    it("lists incidents with a notice due, earliest first: at the due time exactly, after a claim lapses, never once settled", async () => {
      const now = "2026-11-20T12:00:00.000Z";
      const make = (title: string, outbox?: ReporterNotice[], workspaceId = ws) =>
        store.create(aNewIncident({ workspaceId, title, ...(outbox && { outbox }) }));
      await make("exactly now", [aNotice("1:aad:a", now)]);
      await make("a millisecond later", [aNotice("1:aad:a", shifted(now, 1))]);
      await make("sent", [aNotice("1:aad:a", shifted(now, -HOUR), { state: "sent", attempts: 1 })]);
      await make("unreachable", [aNotice("1:aad:a", shifted(now, -HOUR), { state: "unreachable", attempts: 5 })]);
      await make("claimed", [aNotice("1:aad:a", shifted(now, -2 * HOUR), { claimUntilUtc: shifted(now, 5 * MINUTE) })]);
      // Due long ago, but claimed until an hour ago: due from then.
      await make("claim lapsed", [aNotice("1:aad:a", shifted(now, -4 * HOUR), { claimUntilUtc: shifted(now, -HOUR) })]);
      await make("earliest", [aNotice("1:aad:a", shifted(now, -3 * HOUR)), aNotice("1:aad:b", shifted(now, -MINUTE))]);
      // The settled notice is older, but only the pending one counts.
      await make("settled and pending", [
        aNotice("1:aad:a", shifted(now, -5 * HOUR), { state: "sent", attempts: 1 }),
        aNotice("2:aad:a", shifted(now, -30 * MINUTE)),
      ]);
      await make("no notices");
      const other = `ws-${randomUUID()}`;
      await make("other workspace", [aNotice("1:aad:a", shifted(now, -10 * HOUR))], other);
      const titles = async (at: string, limit = 20, workspaceId = ws) =>
        (await store.dueNotices(workspaceId, at, limit)).map((i) => i.title);

      expect(await titles(now)).toEqual(["earliest", "claim lapsed", "settled and pending", "exactly now"]);
      expect(await titles(now, 2)).toEqual(["earliest", "claim lapsed"]);
      expect(await titles(shifted(now, 1))).toEqual(["earliest", "claim lapsed", "settled and pending", "exactly now", "a millisecond later"]);
      expect(await titles(shifted(now, 5 * MINUTE))).toEqual([
        "earliest",
        "claim lapsed",
        "settled and pending",
        "exactly now",
        "a millisecond later",
        "claimed",
      ]);
      // Settled notices are never due, however late it gets.
      expect(await titles(shifted(now, 24 * HOUR))).toEqual(await titles(shifted(now, 5 * MINUTE)));
      expect(await titles(now, 20, other)).toEqual(["other workspace"]);
      expect(await titles(now, 20, `ws-${randomUUID()}`)).toEqual([]);
    });

    it("follows the outbox's bookkeeping when listing notices due: a claim hides the notice until it lapses, a sent one is gone", async () => {
      const now = "2026-11-20T12:00:00.000Z";
      const notice = aNotice("2:aad:megan", shifted(now, -MINUTE));
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, outbox: [notice] }));
      expect((await store.dueNotices(ws, now, 10)).map((i) => i.id)).toEqual([incident.id]);

      const claimUntilUtc = shifted(now, 2 * MINUTE);
      await store.updateOutbox(ws, incident.id, (outbox) => outbox.map((n) => ({ ...n, claimUntilUtc })));
      expect(await store.dueNotices(ws, now, 10)).toEqual([]);
      expect(await store.dueNotices(ws, shifted(claimUntilUtc, -1), 10)).toEqual([]);
      expect((await store.dueNotices(ws, claimUntilUtc, 10)).map((i) => i.id)).toEqual([incident.id]);

      await store.updateOutbox(ws, incident.id, (outbox) => outbox.map(({ claimUntilUtc: _, ...n }) => ({ ...n, state: "sent" as const })));
      expect(await store.dueNotices(ws, shifted(now, 24 * HOUR), 10)).toEqual([]);
    });

    it("finds an owner's incidents, newest first, also with a reporter, a number or words, and follows a reassignment", async () => {
      const owner = (objectId: string, assignedTo: string): Owner => ({ objectId, ownerType: "User", assignedTo });
      const adele = owner("C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E01", "Adele Vance");
      const adeleId = "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01";
      const lynne = owner("c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e02", "Lynne Robbins");
      const megan = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
      const meganKey = "aad:6f1c2d3e-0000-4000-8000-000000000031";
      const door = await store.create(aNewIncident({ workspaceId: ws, title: "Badge door", owner: adele, createdBy: megan }));
      await store.create(aNewIncident({ workspaceId: ws, title: "Phishing mail", owner: adele, labels: labels("Badge") }));
      const alarm = await store.create(aNewIncident({ workspaceId: ws, title: "Badge alarm", owner: lynne, createdBy: megan }));
      await store.create(aNewIncident({ workspaceId: ws, title: "Badge lost" }));
      await store.create(aNewIncident({ workspaceId: `ws-${randomUUID()}`, title: "Badge elsewhere", owner: adele }));
      const titles = async (query: Parameters<IncidentStore["search"]>[1]) => (await store.search(ws, query, 10)).map((i) => i.title);

      expect(await titles({ owner: adeleId })).toEqual(["Phishing mail", "Badge door"]);
      expect(await titles({ owner: lynne.objectId })).toEqual(["Badge alarm"]);
      expect(await titles({ owner: "c3a9e0f1" })).toEqual([]);
      expect(await titles({ owner: adeleId, text: "door" })).toEqual(["Badge door"]);
      expect(await titles({ owner: adeleId, text: "badge" })).toEqual(["Phishing mail", "Badge door"]);
      expect(await titles({ owner: adeleId, text: "alarm" })).toEqual([]);
      expect(await titles({ owner: adeleId, reporter: meganKey })).toEqual(["Badge door"]);
      expect(await titles({ owner: lynne.objectId, reporter: meganKey, text: "badge" })).toEqual(["Badge alarm"]);
      expect(await titles({ owner: adeleId, reporter: meganKey, text: "phishing" })).toEqual([]);
      expect(await titles({ owner: adeleId, number: door.incident.incidentNumber })).toEqual(["Badge door"]);
      expect(await titles({ owner: adeleId, number: alarm.incident.incidentNumber })).toEqual([]);
      expect((await store.search(ws, { owner: adeleId }, 1)).map((i) => i.title)).toEqual(["Phishing mail"]);

      // Reassigned to Adele, then Badge door taken away from her.
      expect((await store.replace({ ...alarm.incident, owner: adele }, 1)).ok).toBe(true);
      const { owner: _, ...unowned } = door.incident;
      expect((await store.replace(unowned, 1)).ok).toBe(true);
      expect(await titles({ owner: adeleId })).toEqual(["Badge alarm", "Phishing mail"]);
      expect(await titles({ owner: lynne.objectId })).toEqual([]);
    });

    it("merges the outbox on replace: a stored notice keeps its stored state, new notices are added", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const toMegan = aNotice("2:aad:megan", t);
      const toGuest = aNotice("2:teams:29:guest", t, { name: "A guest" });
      const { incident: read } = await store.create(aNewIncident({ workspaceId: ws, outbox: [toMegan, toGuest] }));

      // Since the read: one notice sent, the other claimed by an instance sending it (bookkeeping).
      const sent = { ...toMegan, state: "sent" as const, attempts: 1, updatedUtc: shifted(t, 1000) };
      const claimed = { ...toGuest, claimUntilUtc: shifted(t, 2 * MINUTE), updatedUtc: shifted(t, 1000) };
      await store.updateOutbox(ws, read.id, () => [sent, claimed]);

      // An edit from the read, carrying both notices as they were then and a new one.
      const fresh = aNotice("3:aad:megan", shifted(t, 3 * MINUTE));
      const outcome = await store.replace({ ...read, status: "Closed", outbox: [toMegan, toGuest, fresh] }, 1);
      expect(outcome).toEqual({ ok: true, incident: { ...read, status: "Closed", revision: 2, outbox: [sent, claimed, fresh] } });
      const stored = await store.get(ws, read.id);
      expect(stored).toEqual(outcome.ok && outcome.incident);
      expect(stored?.outbox?.find((n) => n.id === toMegan.id)).toMatchObject({ state: "sent", attempts: 1 });

      // Not resurrected as pending or unclaimed: nothing is due before the claim lapses (the new notice is due later).
      expect((await store.dueNotices(ws, shifted(t, MINUTE), 10)).map((i) => i.id)).toEqual([]);
      expect((await store.dueNotices(ws, shifted(t, 2 * MINUTE), 10)).map((i) => i.id)).toEqual([read.id]);

      // An edit that carries no outbox at all keeps the stored one.
      const { outbox: _, ...withoutOutbox } = stored!;
      expect((await store.replace({ ...withoutOutbox, status: "Active" }, 2)).ok).toBe(true);
      expect((await store.get(ws, read.id))?.outbox).toEqual([sent, claimed, fresh]);
    });

    it("does not let an edit from a read made before a notice was sent send it again", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const notice = aNotice("2:aad:megan", t);
      const { incident: read } = await store.create(aNewIncident({ workspaceId: ws, outbox: [notice] }));
      expect((await store.dueNotices(ws, t, 10)).map((i) => i.id)).toEqual([read.id]);
      await store.updateOutbox(ws, read.id, (outbox) => outbox.map((n) => ({ ...n, state: "sent" as const, attempts: 1 })));
      expect(await store.dueNotices(ws, t, 10)).toEqual([]);

      expect((await store.replace({ ...read, title: "Edited from the older read" }, 1)).ok).toBe(true);
      expect((await store.get(ws, read.id))?.outbox).toEqual([{ ...notice, state: "sent", attempts: 1 }]);
      expect(await store.dueNotices(ws, shifted(t, 24 * HOUR), 10)).toEqual([]);
    });

    it("changes the Sentinel link as bookkeeping: same revision, the stored incident returned, nothing written for undefined", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const link = aLink(t);
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, sentinel: link }));
      const given: { link: SentinelLink | undefined; incident: unknown }[] = [];

      const synced = aLink(t, { revision: 1, etag: '"e-1"', incidentNumber: 7, syncedUtc: shifted(t, 1000) });
      const changed = await store.updateSentinel(ws, incident.id, (stored, current) => {
        given.push({ link: stored, incident: current });
        return synced;
      });
      // The change saw what was stored; the revision did not move.
      expect(given[given.length - 1]).toEqual({ link, incident });
      expect(changed).toEqual({ ...incident, sentinel: synced, revision: 1 });
      expect(await store.get(ws, incident.id)).toEqual(changed);

      // Undefined: nothing written (the link is neither dropped nor changed), the stored incident returned.
      expect(await store.updateSentinel(ws, incident.id, () => undefined)).toEqual(changed);
      expect(await store.get(ws, incident.id)).toEqual(changed);

      // Bookkeeping is not an edit: an edit from revision 1 still applies, and keeps the link.
      expect(await store.replace({ ...incident, status: "Active" }, 1)).toMatchObject({ ok: true, incident: { revision: 2 } });
      expect((await store.get(ws, incident.id))?.sentinel).toEqual(synced);

      // An incident without a link gets one (the change is given undefined).
      const { incident: unlinked } = await store.create(aNewIncident({ workspaceId: ws }));
      const seen: (SentinelLink | undefined)[] = [];
      const linked = await store.updateSentinel(ws, unlinked.id, (stored) => {
        seen.push(stored);
        return link;
      });
      expect(seen[seen.length - 1]).toBeUndefined();
      expect(linked).toEqual({ ...unlinked, sentinel: link });
      // Both are due now: the first one's edit (revision 2) and the newly linked one.
      expect((await store.dueSyncs(ws, t, 10)).map((i) => i.id).sort()).toEqual([incident.id, unlinked.id].sort());

      // No such incident (or another workspace's): undefined, nothing created.
      const unknown = randomUUID();
      expect(await store.updateSentinel(ws, unknown, () => link)).toBeUndefined();
      expect(await store.get(ws, unknown)).toBeUndefined();
      const other = `ws-${randomUUID()}`;
      expect(await store.updateSentinel(other, incident.id, () => link)).toBeUndefined();
      expect(await store.get(other, incident.id)).toBeUndefined();
      expect((await store.get(ws, incident.id))?.sentinel).toEqual(synced);
    });

    it("keeps the stored Sentinel link on replace unless one is given: an edit from an older read never overwrites it", async () => {
      const t = "2026-11-20T10:00:00.000Z";
      const { incident: read } = await store.create(aNewIncident({ workspaceId: ws, sentinel: aLink(t) }));
      // Since the read: pushed (bookkeeping).
      const synced = aLink(t, { revision: 1, etag: '"e-1"', incidentNumber: 3 });
      await store.updateSentinel(ws, read.id, () => synced);

      // An edit from the read, carrying the link as it was then: the stored link stays.
      const edited = await store.replace({ ...read, title: "Edited from the older read" }, 1);
      expect(edited).toEqual({ ok: true, incident: { ...read, title: "Edited from the older read", revision: 2, sentinel: synced } });
      expect(await store.get(ws, read.id)).toEqual(edited.ok && edited.incident);
      // ...and the edit is pending for Sentinel (revision 2 ahead of the link's 1).
      expect((await store.dueSyncs(ws, t, 10)).map((i) => i.id)).toEqual([read.id]);

      // An edit that carries no link at all keeps the stored one.
      const { sentinel: _, ...withoutLink } = read;
      expect((await store.replace({ ...withoutLink, status: "Active" }, 2)).ok).toBe(true);
      expect((await store.get(ws, read.id))?.sentinel).toEqual(synced);

      // The mirror's own write gives the link: written with the change, and not due any more.
      const home = aLink(t, { revision: 4, etag: '"e-2"', incidentNumber: 3, syncedUtc: shifted(t, MINUTE) });
      const mirrored = await store.replace({ ...read, severity: "High" }, 3, home);
      expect(mirrored).toEqual({ ok: true, incident: { ...read, severity: "High", revision: 4, sentinel: home } });
      expect(await store.get(ws, read.id)).toEqual(mirrored.ok && mirrored.incident);
      expect(await store.dueSyncs(ws, shifted(t, HOUR), 10)).toEqual([]);

      // A replace from a stale revision writes neither the incident nor the given link.
      const refused = await store.replace({ ...read, severity: "Low" }, 3, aLink(t, { revision: 9 }));
      expect(refused.ok).toBe(false);
      expect((await store.get(ws, read.id))?.sentinel).toEqual(home);
    });

    it("lists incidents with a change due for Sentinel, earliest first, after any claim, never synced, rejected or unlinked ones", async () => {
      const now = "2026-11-20T12:00:00.000Z";
      const make = async (title: string, sentinel: SentinelLink | undefined, edits = 0, workspaceId = ws) => {
        const { incident } = await store.create(aNewIncident({ workspaceId, title, ...(sentinel && { sentinel }) }));
        let current = incident;
        for (let i = 0; i < edits; i++) {
          const outcome = await store.replace({ ...current, description: `edit ${i}` }, current.revision);
          if (!outcome.ok) throw new Error("edit failed");
          current = outcome.incident;
        }
        return current;
      };
      await make("exactly now", aLink(now));
      await make("a millisecond later", aLink(shifted(now, 1)));
      await make("earliest", aLink(shifted(now, -3 * HOUR)));
      // Due long ago, but claimed until an hour ago: due from then.
      await make("claim lapsed", aLink(shifted(now, -4 * HOUR), { claimUntilUtc: shifted(now, -HOUR) }));
      // Claimed long ago, then backed off: due when the backoff ends (the later of the two).
      await make("backed off after a claim", aLink(shifted(now, -30 * MINUTE), { claimUntilUtc: shifted(now, -2 * HOUR) }));
      await make("claimed", aLink(shifted(now, -2 * HOUR), { claimUntilUtc: shifted(now, 5 * MINUTE) }));
      await make("synced", aLink(shifted(now, -5 * HOUR), { revision: 1, etag: '"e"' }));
      await make("rejected", aLink(shifted(now, -5 * HOUR), { rejected: { revision: 1, reason: "Bad request" } }));
      // Sentinel refused revision 1; revision 2 is a new change, due again.
      await make("edited after a rejection", aLink(shifted(now, -2 * HOUR), { rejected: { revision: 1, reason: "Bad" } }), 1);
      // Synced at 1, edited twice since.
      await make("behind", aLink(shifted(now, -10 * MINUTE), { revision: 1, etag: '"e"' }), 2);
      await make("not mirrored", undefined, 2);
      const other = `ws-${randomUUID()}`;
      await make("other workspace", aLink(shifted(now, -10 * HOUR)), 0, other);
      const titles = async (at: string, limit = 20, workspaceId = ws) =>
        (await store.dueSyncs(workspaceId, at, limit)).map((i) => i.title);

      const dueNow = ["earliest", "edited after a rejection", "claim lapsed", "backed off after a claim", "behind", "exactly now"];
      expect(await titles(now)).toEqual(dueNow);
      expect(await titles(now, 3)).toEqual(dueNow.slice(0, 3));
      expect(await titles(shifted(now, 1))).toEqual([...dueNow, "a millisecond later"]);
      expect(await titles(shifted(now, 5 * MINUTE - 1))).toEqual([...dueNow, "a millisecond later"]);
      expect(await titles(shifted(now, 5 * MINUTE))).toEqual([...dueNow, "a millisecond later", "claimed"]);
      // Synced, rejected and unlinked incidents are never due, however late it gets.
      expect(await titles(shifted(now, 24 * HOUR))).toEqual(await titles(shifted(now, 5 * MINUTE)));
      expect(await titles(now, 20, other)).toEqual(["other workspace"]);
      expect(await titles(now, 20, `ws-${randomUUID()}`)).toEqual([]);
    });

    it("follows the link's bookkeeping when listing changes due for Sentinel: claimed, backed off, synced, edited again", async () => {
      const now = "2026-11-20T12:00:00.000Z";
      const { incident } = await store.create(aNewIncident({ workspaceId: ws, sentinel: aLink(shifted(now, -MINUTE)) }));
      const ids = async (at: string) => (await store.dueSyncs(ws, at, 10)).map((i) => i.id);
      expect(await ids(now)).toEqual([incident.id]);

      const claimUntilUtc = shifted(now, 2 * MINUTE);
      await store.updateSentinel(ws, incident.id, (link) => link && { ...link, claimUntilUtc });
      expect(await ids(now)).toEqual([]);
      expect(await ids(shifted(claimUntilUtc, -1))).toEqual([]);
      expect(await ids(claimUntilUtc)).toEqual([incident.id]);

      // Failed, retried in 7 s (the claim let go).
      const retryAt = shifted(now, 7000);
      await store.updateSentinel(ws, incident.id, ({ claimUntilUtc: _, ...link } = aLink(now)) => ({ ...link, attempts: 1, dueUtc: retryAt }));
      expect(await ids(shifted(retryAt, -1))).toEqual([]);
      expect(await ids(retryAt)).toEqual([incident.id]);

      // Synced: gone; edited again: due again.
      await store.updateSentinel(ws, incident.id, (link) => link && { ...link, revision: 1, attempts: 0, dueUtc: now });
      expect(await ids(shifted(now, 24 * HOUR))).toEqual([]);
      expect((await store.replace({ ...incident, status: "Active" }, 1)).ok).toBe(true);
      expect(await ids(now)).toEqual([incident.id]);

      // Refused by Sentinel at revision 2: gone until the next edit.
      await store.updateSentinel(ws, incident.id, (link) => link && { ...link, rejected: { revision: 2, reason: "Bad request" } });
      expect(await ids(shifted(now, 24 * HOUR))).toEqual([]);
      const stored = await store.get(ws, incident.id);
      expect((await store.replace({ ...stored!, status: "Closed", classification: "FalsePositive" }, 2)).ok).toBe(true);
      expect(await ids(now)).toEqual([incident.id]);
    });

    it("gives a lease to its first holder, refuses others while it runs, lets the holder renew, and frees it when it lapses", async () => {
      const t = "2026-11-20T12:00:00.000Z";
      const lease = (holder: string, at: number, until: number, name = "sentinelPoll", workspaceId = ws) =>
        store.lease(workspaceId, name, holder, shifted(t, at), shifted(t, until));

      expect(await lease("a", 0, MINUTE)).toBe(true);
      expect(await lease("b", 30_000, 90_000)).toBe(false);
      // The holder renews before it lapses: until two minutes now.
      expect(await lease("a", 30_000, 2 * MINUTE)).toBe(true);
      // Past the first term, inside the renewed one: still a's.
      expect(await lease("b", 90_000, 3 * MINUTE)).toBe(false);
      expect(await lease("b", 2 * MINUTE - 1, 3 * MINUTE)).toBe(false);
      // Lapsed at two minutes: b takes it, and a is refused in turn.
      expect(await lease("b", 2 * MINUTE, 3 * MINUTE)).toBe(true);
      expect(await lease("a", 2 * MINUTE + 1000, 4 * MINUTE)).toBe(false);
      expect(await lease("b", 2 * MINUTE + 1000, 4 * MINUTE)).toBe(true);

      // Other names and other workspaces have leases of their own.
      expect(await lease("a", 2 * MINUTE + 1000, 4 * MINUTE, "another")).toBe(true);
      expect(await lease("a", 2 * MINUTE + 1000, 4 * MINUTE, "sentinelPoll", `ws-${randomUUID()}`)).toBe(true);
    });

    it("gives a free lease to exactly one of two holders asking at the same time", async () => {
      const t = "2026-11-20T12:00:00.000Z";
      for (const name of ["race-1", "race-2", "race-3"]) {
        const outcomes = await Promise.all([
          store.lease(ws, name, "x", t, shifted(t, MINUTE)),
          store.lease(ws, name, "y", t, shifted(t, MINUTE)),
        ]);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        // The winner holds it: it renews, the loser is still refused.
        const winner = outcomes[0] ? "x" : "y";
        const loser = outcomes[0] ? "y" : "x";
        expect(await store.lease(ws, name, winner, shifted(t, 1000), shifted(t, MINUTE))).toBe(true);
        expect(await store.lease(ws, name, loser, shifted(t, 1000), shifted(t, MINUTE))).toBe(false);
      }
      // A lapsed lease, asked for by both at once: again exactly one.
      const later = shifted(t, 2 * MINUTE);
      const retaken = await Promise.all([
        store.lease(ws, "race-1", "x", later, shifted(later, MINUTE)),
        store.lease(ws, "race-1", "y", later, shifted(later, MINUTE)),
      ]);
      expect(retaken.filter(Boolean)).toHaveLength(1);
    });

    it("keeps every document under 64 KB and every count exact after 2,500 incidents with 20 tags of 50 characters in one day", async () => {
      // One day's document listed every tagged incident: with tags like these it passed Cosmos DB's 2 MB item limit
      // after ~1,900 incidents. 3-byte characters, so each tag is 150 bytes of UTF-8; 400 distinct tags in the day.
      const tag = (k: number) => `标签 ${k} `.padEnd(50, "界");
      const incidents = Array.from({ length: 2500 }, (_, j) =>
        aNewIncident({
          workspaceId: ws,
          title: `Incident ${j}`,
          createdTimeUtc: shifted("2026-11-20T00:00:00.000Z", j * 30_000),
          labels: labels(...Array.from({ length: 20 }, (_, i) => tag((j * 7 + i * 20) % 400))),
        }),
      );
      const expected = new Map<string, number>();
      for (const incident of incidents) for (const l of incident.labels) expected.set(l.labelName, (expected.get(l.labelName) ?? 0) + 1);
      for (let next = 0; next < incidents.length; next += 16) {
        const wave = incidents.slice(next, next + 16);
        // Each incident twice, as a double click or a retry would: still counted once.
        await Promise.all([...wave, ...wave.slice(0, 2)].map((incident) => store.create(incident)));
      }

      expect(await sut.largestDocumentBytes(ws)).toBeLessThanOrEqual(DOCUMENT_MAX_BYTES);
      const usage = await store.tagUsage(ws, "2026-11-20");
      expect(usage.every((u) => u.day === "2026-11-20")).toBe(true);
      expect(new Map(usage.map((u) => [u.tag, u.count]))).toEqual(expected);
      expect(usage.reduce((sum, u) => sum + u.count, 0)).toBe(50_000);
    }, 180_000);

    it("keeps small settings per workspace", async () => {
      expect(await store.getSetting(ws, "triageChannel")).toBeUndefined();
      await store.putSetting(ws, "triageChannel", { conversationId: "19:a", serviceUrl: "https://x/" });
      await store.putSetting(ws, "triageChannel", { conversationId: "19:b", serviceUrl: "https://x/" });
      expect(await store.getSetting(ws, "triageChannel")).toEqual({ conversationId: "19:b", serviceUrl: "https://x/" });
      expect(await store.getSetting(`ws-${randomUUID()}`, "triageChannel")).toBeUndefined();
    });
  });
}
