import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { StoreUnavailableError } from "../../src/incidents/errors";
import { aNewIncident } from "../support/builders";
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
    dispose: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
});

describe("SQLite store specifics", () => {
  it("upgrades a file written before reporters were kept: each incident's creator finds it", async () => {
    const { dir, file } = tempFile();
    const store = new SqliteIncidentStore(file);
    const megan = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
    const a = await store.create(aNewIncident({ createdBy: megan, title: "Before the upgrade" }));
    const b = await store.create(aNewIncident({ createdBy: { teamsId: "29:guest", name: "Guest" }, title: "A guest's" }));
    await store.close();
    // As schema 1 left it: no reporters column.
    const db = new Database(file);
    db.exec("ALTER TABLE incidents DROP COLUMN reporters");
    db.pragma("user_version = 1");
    db.close();

    const upgraded = new SqliteIncidentStore(file);
    const ws = a.incident.workspaceId;
    expect((await upgraded.search(ws, { reporter: "aad:6f1c2d3e-0000-4000-8000-000000000031" }, 10)).map((i) => i.id)).toEqual([a.incident.id]);
    expect((await upgraded.search(ws, { reporter: "teams:29:guest" }, 10)).map((i) => i.id)).toEqual([b.incident.id]);
    await upgraded.close();
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

  it("shares numbering with another connection to the same file (two processes on one machine)", async () => {
    const { dir, file } = tempFile();
    const one = new SqliteIncidentStore(file);
    const two = new SqliteIncidentStore(file);
    const numbers: number[] = [];
    for (let i = 0; i < 10; i++) {
      numbers.push((await one.create(aNewIncident())).incident.incidentNumber);
      numbers.push((await two.create(aNewIncident())).incident.incidentNumber);
    }
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await one.close();
    await two.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

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
