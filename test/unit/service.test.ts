import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { IncidentService } from "../../src/incidents/service";
import { aForm } from "../support/builders";

const ALEX = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" };

function setup(now = new Date("2026-11-26T12:00:00Z")) {
  const store = new SqliteIncidentStore(":memory:");
  const directory = LocalDirectory.fromFile(path.resolve(__dirname, "..", "..", "data", "directory.json"));
  let clock = now;
  const service = new IncidentService({ store, directory, workspaceId: "ws", clock: () => clock, tagCacheMs: 30_000 });
  return { service, store, advance: (ms: number) => (clock = new Date(clock.getTime() + ms)) };
}

describe("creating an incident", () => {
  it("stores it in Sentinel's shape with the owner resolved from the directory", async () => {
    const { service } = setup();
    const result = await service.create(aForm({ title: "Odd e-mail", owner: "me", tags: "Phishing" }), ALEX, "form");
    expect(result).toMatchObject({
      kind: "created",
      isNew: true,
      incident: {
        incidentNumber: 1,
        owner: { objectId: ALEX.objectId, ownerType: "User", assignedTo: "Alex Wilber (Teams)" },
        labels: [{ labelName: "Phishing", labelType: "User" }],
        createdTimeUtc: "2026-11-26T12:00:00.000Z",
        providerName: "SOC Incident Bot for Microsoft Teams",
      },
    });
  });

  it("reports field errors and the owner error together, without storing", async () => {
    const { service } = setup();
    const form = aForm({ title: " ", owner: "0badc0de-0000-4000-8000-000000000000" });
    expect(await service.create(form, ALEX, "form")).toEqual({
      kind: "invalid",
      errors: { title: "Enter a title.", owner: "That owner is not in the directory any more. Search again." },
    });
    expect(await service.get(form.submissionId)).toBeUndefined();
  });

  it("can't assign to someone Teams did not identify", async () => {
    const { service } = setup();
    const result = await service.create(aForm({ owner: "me" }), { name: "Guest" }, "form");
    expect(result).toMatchObject({ kind: "invalid", errors: { owner: expect.stringMatching(/did not tell us who you are/) } });
  });
});

describe("tag suggestions", () => {
  it("sees a new tag right after this instance created it, despite the cache", async () => {
    const { service } = setup();
    expect(await service.suggestTags("ran", 15)).toEqual(["ran"]);
    await service.create(aForm({ tags: "Ransomware" }), ALEX, "form");
    expect(await service.suggestTags("ran", 15)).toEqual(["Ransomware", "ran"]);
  });

  it("reuses tag usage within the cache period and reads again after it", async () => {
    const { service, store, advance } = setup();
    await service.create(aForm({ tags: "One" }), ALEX, "form");
    const read = jest.spyOn(store, "recentTags");
    await service.suggestTags("", 15);
    await service.suggestTags("o", 15);
    expect(read).toHaveBeenCalledTimes(1);
    advance(31_000);
    await service.suggestTags("o", 15);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it("forgets tags older than two weeks", async () => {
    const { service, advance } = setup();
    await service.create(aForm({ tags: "Old news" }), ALEX, "form");
    advance(14 * 86_400_000);
    expect(await service.topTags(10)).toEqual([]);
  });

  it("refreshes from what was written since its last read: another instance's tags, even one dated before the latest use", async () => {
    const { service, store, advance } = setup();
    // Another instance on the same database, its clock an hour behind.
    const directory = LocalDirectory.fromFile(path.resolve(__dirname, "..", "..", "data", "directory.json"));
    const other = new IncidentService({ store, directory, workspaceId: "ws", clock: () => new Date("2026-11-26T11:00:00Z") });
    await service.create(aForm({ tags: "Phishing, VIP" }), ALEX, "form");
    const read = jest.spyOn(store, "recentTags");
    expect(await service.topTags(5)).toEqual(["Phishing", "VIP"]);
    expect(read).toHaveBeenLastCalledWith("ws", "2026-11-13", undefined);
    const first = await read.mock.results[0]!.value;
    // The other instance tags twice more, dated before VIP's latest use (which does not move); this one
    // sees it once its cache period is over.
    await other.create(aForm({ tags: "vip" }), ALEX, "form");
    await other.create(aForm({ tags: "VIP, Ransomware" }), ALEX, "form");
    advance(30_000);
    expect(await service.topTags(5)).toEqual(["VIP", "Phishing", "Ransomware"]);
    expect(read).toHaveBeenLastCalledWith("ws", "2026-11-13", first.cursor);
    expect((await read.mock.results[1]!.value).tags.map((t: { tag: string }) => t.tag).sort()).toEqual(["Ransomware", "VIP"]);
    // Nothing written since: the same ranking, from an empty read.
    advance(30_000);
    expect(await service.suggestTags("", 5)).toEqual(["VIP", "Phishing", "Ransomware"]);
    expect(await read.mock.results[2]!.value).toMatchObject({ tags: [], complete: false });
  });

  it("follows a database put back from an older copy: the tags written after the copy are gone at the next refresh", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tags-restore-"));
    const file = path.join(dir, "incidents.db");
    const store = new SqliteIncidentStore(file);
    let clock = new Date("2026-11-26T12:00:00Z");
    const directory = LocalDirectory.fromFile(path.resolve(__dirname, "..", "..", "data", "directory.json"));
    const service = new IncidentService({ store, directory, workspaceId: "ws", clock: () => clock, tagCacheMs: 30_000 });
    try {
      await service.create(aForm({ tags: "Phishing" }), ALEX, "form");
      const copy = new Database(file);
      copy.exec(`VACUUM INTO '${path.join(dir, "copy.db")}'`);
      await service.create(aForm({ tags: "Ransomware" }), ALEX, "form");
      expect(await service.topTags(5)).toEqual(["Phishing", "Ransomware"]);
      // The older copy's tags put back (as a restore would), through another connection.
      copy.exec(`ATTACH '${path.join(dir, "copy.db")}' AS older; DELETE FROM tag_recent; INSERT INTO tag_recent SELECT * FROM older.tag_recent; DETACH older;`);
      copy.close();
      clock = new Date(clock.getTime() + 30_000);
      expect(await service.topTags(5)).toEqual(["Phishing"]);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("after a failed refresh, reads every tag again", async () => {
    const { service, store, advance } = setup();
    await service.create(aForm({ tags: "Phishing" }), ALEX, "form");
    expect(await service.topTags(5)).toEqual(["Phishing"]);
    const read = jest.spyOn(store, "recentTags").mockRejectedValueOnce(new Error("down"));
    advance(30_000);
    await expect(service.topTags(5)).rejects.toThrow("down");
    expect(await service.topTags(5)).toEqual(["Phishing"]);
    expect(read).toHaveBeenCalledTimes(2);
    expect(read).toHaveBeenLastCalledWith("ws", "2026-11-13", undefined);
  });

  it("does not keep a failed read in the cache", async () => {
    const { service, store } = setup();
    const read = jest.spyOn(store, "recentTags").mockRejectedValueOnce(new Error("down"));
    await expect(service.suggestTags("", 5)).rejects.toThrow("down");
    await expect(service.suggestTags("", 5)).resolves.toEqual([]);
    expect(read).toHaveBeenCalledTimes(2);
  });
});

describe("finding owners", () => {
  it("searches users and groups, at most 15", async () => {
    const { service } = setup();
    const found = await service.findOwners("soc", 50);
    expect(found.map((e) => [e.displayName, e.kind])).toEqual([
      ["SOC Incident Response", "Group"],
      ["SOC Tier 1", "Group"],
      ["SOC Tier 2", "Group"],
      ["Socrates Papadopoulos", "User"],
    ]);
  });

  it("gives at most 15 owners however many match (40 users and 20 groups named Eve here)", async () => {
    const store = new SqliteIncidentStore(":memory:");
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    const directory = new LocalDirectory({
      users: Array.from({ length: 40 }, (_, i) => ({ id: id(i), displayName: `Eve ${i}`, mail: `eve${i}@example.com` })),
      groups: Array.from({ length: 20 }, (_, i) => ({ id: id(100 + i), displayName: `Eve's group ${i}` })),
    });
    const service = new IncidentService({ store, directory, workspaceId: "ws" });
    expect(await service.findOwners("eve", 50)).toHaveLength(15);
    expect(await service.findOwners("eve", 5)).toHaveLength(5);
    // Fewer than 15 matches: all of them, the exact name first.
    const threes = (await service.findOwners("eve 3", 50)).map((e) => e.displayName);
    expect(threes[0]).toBe("Eve 3");
    expect(threes.slice(1).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `Eve 3${i}`).sort());
    await store.close();
  });
});

describe("working an incident: who may, at the service itself (the Teams layer checks first; this holds without it)", () => {
  const MEGAN = { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" };
  const DIEGO = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a02", name: "Diego Siciliani" };

  async function meganReport(service: IncidentService) {
    const result = await service.report({ submissionId: aForm().submissionId, title: "A caller asked for my code", whatHappened: "They said IT.", whenDate: "", whenTime: "", where: "", urgent: "false" }, MEGAN, undefined);
    if (result.kind !== "created") throw new Error(result.kind);
    return result.incident;
  }

  it("lets its reporter neither comment, ask, add nor tick off tasks; an analyst may", async () => {
    const { service } = setup();
    const incident = await meganReport(service);
    expect(await service.comment(incident.id, "mine", false, 1, MEGAN)).toEqual({ kind: "not-found" });
    expect(await service.ask(incident.id, "mine?", 1, MEGAN)).toEqual({ kind: "not-found" });
    expect(await service.addTask(incident.id, "mine", 1, MEGAN)).toEqual({ kind: "not-found" });
    const added = await service.addTask(incident.id, "Call Megan", 1, ALEX);
    expect(added).toMatchObject({ kind: "done", isNew: true });
    const taskId = (await service.get(incident.id))!.tasks![0]!.id;
    expect(await service.completeTask(incident.id, taskId, MEGAN)).toEqual({ kind: "not-found" });
    expect(await service.completeTask(incident.id, taskId, ALEX)).toMatchObject({ kind: "done", isNew: true });
    expect(await service.comment(incident.id, "ok", false, 3, ALEX)).toMatchObject({ kind: "done", isNew: true });
  });

  it("lets its reporter neither edit nor take it; an analyst may", async () => {
    const { service } = setup();
    const incident = await meganReport(service);
    const edit = aForm({ submissionId: incident.id, title: incident.title, status: "Closed", closing: "Undetermined", closingComment: "Mine now" });
    expect(await service.update(incident.id, 1, edit, MEGAN)).toEqual({ kind: "forbidden" });
    expect(await service.assignToMe(incident.id, 1, MEGAN)).toEqual({ kind: "forbidden" });
    expect((await service.get(incident.id))?.revision).toBe(1);
    expect(await service.assignToMe(incident.id, 1, ALEX)).toMatchObject({ kind: "updated" });
    expect(await service.update(incident.id, 2, edit, ALEX)).toMatchObject({ kind: "updated", incident: { status: "Closed" } });
  });

  it("lets only a reporter answer a question, and only a question on that incident", async () => {
    const { service } = setup();
    const incident = await meganReport(service);
    const asked = await service.ask(incident.id, "Which number?", 1, ALEX);
    if (asked.kind !== "done") throw new Error(asked.kind);
    const questionId = asked.incident.comments![0]!.id;
    expect(await service.answer(incident.id, questionId, "not mine", DIEGO)).toEqual({ kind: "not-found" });
    expect(await service.answer(incident.id, questionId, "analyst", ALEX)).toEqual({ kind: "not-found" });
    expect(await service.answer(incident.id, "0badc0de-0000-4000-8000-000000000000", "x", MEGAN)).toEqual({
      kind: "invalid",
      problem: "That question is not on this incident any more.",
    });
    expect(await service.answer(incident.id, questionId, "+44 20 7946 0000", MEGAN)).toMatchObject({ kind: "done", isNew: true });
  });
});
