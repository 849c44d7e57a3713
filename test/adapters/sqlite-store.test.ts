import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { parseTypedEntity, type Entity } from "../../src/incidents/entities";
import { StoreUnavailableError } from "../../src/incidents/errors";
import type { TagTotal } from "../../src/incidents/ports";
import { aNewIncident, labels, tagTotals } from "../support/builders";
import { describeStoreContract } from "./store-contract";

function tempFile(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "incidents-"));
  return { dir, file: path.join(dir, "nested", "incidents.db") };
}

describeStoreContract("SQLite", () => {
  const { dir, file } = tempFile();
  const store = new SqliteIncidentStore(file);
  return Promise.resolve({
    store,
    largestDocumentBytes: (workspaceId: string) => Promise.resolve(largestRowBytes(file, workspaceId)),
    dispose: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
});

/** The largest row of the workspace in any table, as the sum of its values' sizes in bytes. */
function largestRowBytes(file: string, workspaceId: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%workspace_id%'").pluck().all() as string[];
    let largest = 0;
    for (const table of tables) {
      const columns = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => `coalesce(length(CAST("${c.name}" AS BLOB)), 0)`);
      const row = db.prepare(`SELECT max(${columns.join(" + ")}) FROM "${table}" WHERE workspace_id = ?`).pluck().get(workspaceId) as number | null;
      largest = Math.max(largest, row ?? 0);
    }
    return largest;
  } finally {
    db.close();
  }
}

/** What the file's incidents table has: its columns, its indexes, and the schema version. */
function shapeOf(file: string): { version: number; columns: string[]; indexes: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      version: db.pragma("user_version", { simple: true }) as number,
      columns: (db.pragma("table_info(incidents)") as { name: string }[]).map((c) => c.name).sort(),
      indexes: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents' AND sql IS NOT NULL").all() as {
        name: string;
      }[])
        .map((i) => i.name)
        .sort(),
    };
  } finally {
    db.close();
  }
}

/**
 * Turns a file written by this version back into what an older schema left: undoes migration 8 (the
 * incident_entities table), then for schema 6 or older migration 7, then migration 6 (the
 * tag_recent table), then for schema 4 or older migration 5 (the incident_keys table), then for schema 3 or
 * older migration 4 (sync_due, its index and the leases table), then, for schema 2 or 1, migration 3
 * (owner_id, outbox_due and their indexes) and, for schema 1, migration 2 (reporters).
 */
function downgrade(file: string, to: 1 | 2 | 3 | 4 | 5 | 6 | 7): void {
  const db = new Database(file);
  db.exec("DROP TABLE incident_entities");
  if (to === 7) {
    db.pragma("user_version = 7");
    db.close();
    return;
  }
  if (to < 6) db.exec("DROP TABLE tag_recent");
  else db.exec("DROP INDEX tag_recent_changed; ALTER TABLE tag_recent DROP COLUMN changed;");
  if (to < 5) db.exec("DROP TABLE incident_keys");
  if (to < 4)
    db.exec(`
    DROP INDEX incidents_sync;
    ALTER TABLE incidents DROP COLUMN sync_due;
    DROP TABLE leases;
  `);
  if (to < 3)
    db.exec(`
    DROP INDEX incidents_owner;
    DROP INDEX incidents_outbox;
    ALTER TABLE incidents DROP COLUMN owner_id;
    ALTER TABLE incidents DROP COLUMN outbox_due;
  `);
  if (to === 1) db.exec("ALTER TABLE incidents DROP COLUMN reporters");
  db.pragma(`user_version = ${to}`);
  db.close();
}

const CURRENT_COLUMNS = [
  "created_utc",
  "doc",
  "id",
  "incident_number",
  "notice_state",
  "notice_updated",
  "outbox_due",
  "owner_id",
  "reporters",
  "revision",
  "sync_due",
  "tags_lower",
  "title_lower",
  "workspace_id",
];
const CURRENT_INDEXES = ["incidents_outbox", "incidents_owner", "incidents_sync", "incidents_unsent"];

describe("SQLite store specifics", () => {
  it("writes schema 8: the owner, outbox and Sentinel sync columns and their indexes, the search keys, the recent tags in write order and the entity values", async () => {
    const { dir, file } = tempFile();
    await new SqliteIncidentStore(file).close();
    expect(shapeOf(file)).toEqual({ version: 8, columns: CURRENT_COLUMNS, indexes: CURRENT_INDEXES });
    const db = new Database(file, { readonly: true });
    expect(
      db
        .prepare("SELECT name FROM sqlite_master WHERE name IN ('incident_keys', 'tag_recent', 'tag_recent_used', 'tag_recent_changed', 'incident_entities') ORDER BY name")
        .pluck()
        .all(),
    ).toEqual(["incident_entities", "incident_keys", "tag_recent", "tag_recent_changed", "tag_recent_used"]);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a file written before reporters were kept: each incident's creator finds it", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const megan = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
    const owner = { objectId: "C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E01", ownerType: "User" as const, assignedTo: "Adele Vance" };
    const a = await store.create(aNewIncident({ createdBy: megan, title: "Before the upgrade", owner }));
    const b = await store.create(aNewIncident({ createdBy: { teamsId: "29:guest", name: "Guest" }, title: "A guest's" }));
    await store.close();
    // As schema 1 left it: no reporters, owner or outbox columns, no indexes but the unsent one.
    downgrade(file, 1);
    expect(shapeOf(file)).toEqual({
      version: 1,
      columns: CURRENT_COLUMNS.filter((c) => !["reporters", "owner_id", "outbox_due", "sync_due"].includes(c)),
      indexes: ["incidents_unsent"],
    });

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file)).toEqual({ version: 8, columns: CURRENT_COLUMNS, indexes: CURRENT_INDEXES });
    const ws = a.incident.workspaceId;
    expect((await upgraded.search(ws, { reporter: "aad:6f1c2d3e-0000-4000-8000-000000000031" }, 10)).map((i) => i.id)).toEqual([a.incident.id]);
    expect((await upgraded.search(ws, { reporter: "teams:29:guest" }, 10)).map((i) => i.id)).toEqual([b.incident.id]);
    expect((await upgraded.search(ws, { owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01" }, 10)).map((i) => i.id)).toEqual([a.incident.id]);
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-2 file: incidents owned before the upgrade are found by their owner, and notices work", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const adele = { objectId: "C3A9E0F1-1B2C-4D3E-8F40-5A6B7C8D9E01", ownerType: "User" as const, assignedTo: "Adele Vance" };
    const group = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e99", ownerType: "Group" as const, assignedTo: "SOC Tier 1" };
    const megan = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
    const mine = await store.create(aNewIncident({ title: "Adele's", owner: adele, createdBy: megan }));
    const theirs = await store.create(aNewIncident({ title: "The group's", owner: group }));
    const nobodys = await store.create(aNewIncident({ title: "Nobody's" }));
    const later = await store.create(aNewIncident({ title: "Adele's too", owner: adele }));
    await store.close();
    downgrade(file, 2);
    expect(shapeOf(file)).toEqual({
      version: 2,
      columns: CURRENT_COLUMNS.filter((c) => !["owner_id", "outbox_due", "sync_due"].includes(c)),
      indexes: ["incidents_unsent"],
    });

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file)).toEqual({ version: 8, columns: CURRENT_COLUMNS, indexes: CURRENT_INDEXES });
    const ws = mine.incident.workspaceId;
    const ids = async (query: Parameters<SqliteIncidentStore["search"]>[1]) => (await upgraded.search(ws, query, 10)).map((i) => i.id);
    expect(await ids({ owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01" })).toEqual([later.incident.id, mine.incident.id]);
    expect(await ids({ owner: group.objectId })).toEqual([theirs.incident.id]);
    expect(await ids({ owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", reporter: "aad:6f1c2d3e-0000-4000-8000-000000000031" })).toEqual([
      mine.incident.id,
    ]);
    expect(await ids({})).toEqual([later.incident.id, nobodys.incident.id, theirs.incident.id, mine.incident.id]);
    // Nothing was due before the upgrade; a notice written after it is.
    const now = "2026-11-20T12:00:00.000Z";
    expect(await upgraded.dueNotices(ws, now, 10)).toEqual([]);
    const notice = {
      id: "2:aad:megan",
      to: "aad:megan",
      name: "Megan Bowen",
      text: "Adele Vance from the SOC is now handling your report INC-1.",
      state: "pending" as const,
      attempts: 0,
      dueUtc: now,
      updatedUtc: now,
    };
    await upgraded.updateOutbox(ws, mine.incident.id, (outbox) => [...outbox, notice]);
    expect((await upgraded.dueNotices(ws, now, 10)).map((i) => i.id)).toEqual([mine.incident.id]);
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-4 file: incidents stored before are found by title words and whole tags, and edits keep the keys", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const ws = "ws-upgrade";
    const badge = await store.create(aNewIncident({ workspaceId: ws, title: "Badge reader at door 3", labels: labels("Physical") }));
    const phish = await store.create(aNewIncident({ workspaceId: ws, title: "Phishing e-mail to finance", labels: labels("Finance team") }));
    await store.close();
    downgrade(file, 4);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'incident_keys'").pluck().get()).toBe(0);
    db.close();

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file).version).toBe(8);
    const titles = async (text: string) => (await upgraded.search(ws, { text }, 10)).map((i) => i.title);
    expect(await titles("badge do")).toEqual(["Badge reader at door 3"]);
    expect(await titles("mail")).toEqual(["Phishing e-mail to finance"]);
    expect(await titles("finance team")).toEqual(["Phishing e-mail to finance"]);
    expect(await titles("physical")).toEqual(["Badge reader at door 3"]);
    // An edit replaces the keys: the old title's words no longer find it, the new ones do.
    expect((await upgraded.replace({ ...badge.incident, title: "Tailgating at door 3", labels: labels("Tailgating") }, 1)).ok).toBe(true);
    expect(await titles("badge")).toEqual([]);
    expect(await titles("physical")).toEqual([]);
    expect(await titles("tailg")).toEqual(["Tailgating at door 3"]);
    expect(await titles("door")).toEqual(["Tailgating at door 3"]);
    expect(phish.incident.incidentNumber).toBe(2);
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-5 file: tag suggestions read the tags used before, summed by day as before, and go on counting", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const ws = "ws-upgrade-tags";
    const at = (day: string, time = "10:00") => `${day}T${time}:00.000Z`;
    const use = (day: string, ...tags: string[]) => store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at(day), labels: labels(...tags) }));
    await use("2026-10-01", "Old"); // more than 20 days before the workspace's latest day: not carried over
    await use("2026-11-10", "Phishing");
    await use("2026-11-18", "phishing", "VIP");
    await use("2026-11-20", "PHISHING");
    await store.create(aNewIncident({ workspaceId: "ws-other", createdTimeUtc: at("2026-11-20"), labels: labels("Elsewhere") }));
    const window = { sinceDay: "2026-11-07", today: "2026-11-20" };
    const before = await tagTotals(store, ws, window);
    await store.close();
    downgrade(file, 5);

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file).version).toBe(8);
    const sorted = (totals: TagTotal[]) => [...totals].sort((a, b) => a.tag.localeCompare(b.tag));
    expect(sorted(await tagTotals(upgraded, ws, window))).toEqual(sorted(before));
    expect(sorted(await tagTotals(upgraded, ws, window)).map((t) => [t.tag, t.count])).toEqual([
      ["PHISHING", 3],
      ["VIP", 1],
    ]);
    expect((await tagTotals(upgraded, "ws-other", window)).map((t) => t.tag)).toEqual(["Elsewhere"]);
    await upgraded.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-21"), labels: labels("vip") }));
    const next = sorted(await tagTotals(upgraded, ws, { sinceDay: "2026-11-08", today: "2026-11-21" }));
    expect(next.map((t) => [t.tag, t.count, t.lastUsedUtc])).toEqual([
      ["PHISHING", 3, at("2026-11-20")],
      ["vip", 2, at("2026-11-21")],
    ]);
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-6 file: the tags used before are read in full, and a refresh after that reads only what is written next", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const ws = "ws-upgrade-changed";
    const at = (day: string) => `${day}T10:00:00.000Z`;
    await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-18"), labels: labels("Phishing", "VIP") }));
    const before = await store.recentTags(ws, "2026-11-07");
    await store.close();
    downgrade(file, 6);

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file).version).toBe(8);
    const full = await upgraded.recentTags(ws, "2026-11-07");
    expect(full.tags).toEqual(before.tags);
    expect(full).toMatchObject({ complete: true, cursor: "0" });
    expect(await upgraded.recentTags(ws, "2026-11-07", full.cursor)).toEqual({ tags: [], complete: false, cursor: "0" });
    await upgraded.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at("2026-11-19"), labels: labels("vip") }));
    const next = await upgraded.recentTags(ws, "2026-11-07", full.cursor);
    expect(next).toEqual({
      tags: [{ tag: "vip", lastUsedUtc: at("2026-11-19"), days: [["2026-11-18", 1], ["2026-11-19", 1]] }],
      complete: false,
      cursor: "1",
    });
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-7 file (as the code before entities were indexed left it): incidents stored with entities are found by them, and edits follow", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const ws = "ws-upgrade-entities";
    const entity = (typed: string): Entity => {
      const found = parseTypedEntity(typed, "related", "extracted");
      if (!found.ok) throw new Error(found.error);
      return found.entity;
    };
    const url = entity("hxxps://evil[.]example/login");
    const ip = entity("203.0.113.7");
    const phish = await store.create(aNewIncident({ workspaceId: ws, title: "Phish", entities: [url, ip] }));
    const older = await store.create(aNewIncident({ workspaceId: ws, title: "No entities" }));
    await store.create(aNewIncident({ workspaceId: "ws-other", title: "Elsewhere", entities: [ip] }));
    await store.close();
    downgrade(file, 7);
    const before = new Database(file, { readonly: true });
    expect(before.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'incident_entities'").pluck().get()).toBe(0);
    before.close();

    const upgraded = new SqliteIncidentStore(file);
    expect(shapeOf(file).version).toBe(8);
    const titles = async (value: string, workspace = ws) => (await upgraded.findByEntity(workspace, [value], { limit: 10 })).map((i) => i.title);
    expect(await titles("https://evil.example/login")).toEqual(["Phish"]);
    expect(await titles("203.0.113.7")).toEqual(["Phish"]);
    expect(await titles("203.0.113.7", "ws-other")).toEqual(["Elsewhere"]);
    expect(await upgraded.get(ws, older.incident.id)).toEqual(older.incident);
    // An edit after the upgrade brings the rows the migration wrote to the incident's new entities.
    expect((await upgraded.replace({ ...phish.incident, entities: [ip] }, 1)).ok).toBe(true);
    expect(await titles("https://evil.example/login")).toEqual([]);
    expect(await titles("203.0.113.7")).toEqual(["Phish"]);
    await upgraded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a tag's uses of the last 14 days of its latest use only: older days are dropped, a window still sees all of its own", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const ws = "ws-recent";
    const at = (day: string) => `${day}T12:00:00.000Z`;
    for (const day of ["2026-11-01", "2026-11-07", "2026-11-08", "2026-11-20", "2026-11-21"]) {
      await store.create(aNewIncident({ workspaceId: ws, createdTimeUtc: at(day), labels: labels("Phishing") }));
    }
    const db = new Database(file, { readonly: true });
    // The 21st's window starts on the 8th: the 1st and the 7th are gone, the 8th (its first day) is kept.
    expect(db.prepare("SELECT days FROM tag_recent WHERE workspace_id = ?").pluck().get(ws)).toBe("2026-11-08:1,2026-11-20:1,2026-11-21:1");
    db.close();
    expect((await tagTotals(store, ws, { sinceDay: "2026-11-08", today: "2026-11-21" }))[0]).toMatchObject({ count: 3 });
    expect((await tagTotals(store, ws, { sinceDay: "2026-11-09", today: "2026-11-22" }))[0]).toMatchObject({ count: 2 });
    // A tag last used before the window is not read at all.
    expect(await tagTotals(store, ws, { sinceDay: "2026-11-22", today: "2026-12-05" })).toEqual([]);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps incidents and numbering across a reopen of the file", async () => {
    const { dir, file } = tempFile();
    const first = new SqliteIncidentStore(file);
    const a = await first.create(aNewIncident());
    await first.close();
    const second = new SqliteIncidentStore(file);
    expect(await second.get(a.incident.workspaceId, a.incident.id)).toEqual(a.incident);
    const b = await second.create(aNewIncident());
    expect(b.incident.incidentNumber).toBe(2);
    await second.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shares numbering and idempotency with two other processes writing the same file at once", async () => {
    const { dir, file } = tempFile();
    await new SqliteIncidentStore(file).close(); // the schema, before the writers race
    const writer = path.resolve(__dirname, "..", "support", "sqlite-writer.ts");
    const run = () =>
      new Promise<{ id: string; number: number; created: boolean }[]>((resolve, reject) => {
        execFile(process.execPath, ["--import", "tsx", writer, file, "60", "ws-two-processes", "shared"], { cwd: path.resolve(__dirname, "..", "..") }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
        );
      });
    const [a, b] = await Promise.all([run(), run()]);
    const all = [...a, ...b];
    // 30 shared ids + 30 own ids per writer: 90 incidents, numbered 1..90 without a gap or a duplicate.
    const numberOf = new Map<string, number>();
    for (const { id, number } of all) {
      if (numberOf.has(id)) expect(number).toBe(numberOf.get(id));
      numberOf.set(id, number);
    }
    expect(numberOf.size).toBe(90);
    expect([...numberOf.values()].sort((x, y) => x - y)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
    expect(all.filter((o) => o.created)).toHaveLength(90);
    const store = new SqliteIncidentStore(file);
    expect(await store.search("ws-two-processes", {}, 1000)).toHaveLength(90);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("reports a closed store as unavailable, not as a crash", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    await store.close();
    await expect(store.create(aNewIncident())).rejects.toBeInstanceOf(StoreUnavailableError);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to open a path it cannot create, with the path in the message", () => {
    const { dir } = tempFile();
    const notADirectory = path.join(dir, "plain-file");
    fs.writeFileSync(notADirectory, "");
    const file = path.join(notADirectory, "incidents.db");
    expect(() => new SqliteIncidentStore(file)).toThrow(StoreUnavailableError);
    expect(() => new SqliteIncidentStore(file)).toThrow(file);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
