import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { DirectoryUnavailableError } from "../../src/incidents/errors";
import type { MessageEvidence } from "../../src/incidents/model";
import type { Directory } from "../../src/incidents/ports";
import { IncidentService } from "../../src/incidents/service";

/*
 * Entities from every intake, at the service (src/incidents/evidence.ts): nothing is written when the
 * directory fails while the reporter or a message's author is resolved; restricted incidents keep
 * their entities; an author the directory does not know is left out, never named from the message.
 */

const MEGAN = { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen", teamsId: "29:megan" };
const DIEGO = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a02", name: "Diego Siciliani", teamsId: "29:diego" };

/** The directory of data/directory.json, whose `get` can be made to fail as Microsoft Graph does when it is down. */
function directoryWithGet(): { directory: Directory; getDown: boolean } {
  const inner = LocalDirectory.fromFile(path.resolve(__dirname, "..", "..", "data", "directory.json"));
  const state = { getDown: false, directory: inner as Directory };
  state.directory = {
    search: (q, limit) => inner.search(q, limit),
    get: (id) => (state.getDown ? Promise.reject(new DirectoryUnavailableError("injected: get is down")) : inner.get(id)),
    isAnalyst: (a) => inner.isAnalyst(a),
    isRestrictedTeam: (a) => inner.isRestrictedTeam(a),
  };
  return state;
}

const report = (words: string, restricted = false) => ({
  submissionId: randomUUID(),
  title: "Suspicious text message",
  whatHappened: words,
  whenDate: "",
  whenTime: "",
  where: "",
  urgent: "false",
  ...(restricted && { restricted: "true" }),
});

const evidence = (authorId?: string): MessageEvidence => ({
  kind: "teams-message",
  messageId: "1732600000001",
  author: { kind: "user", ...(authorId && { id: authorId }), name: "Anyone can set this name" },
  bodySha256: "0".repeat(64),
});

let dir: string;
let store: SqliteIncidentStore;
let directory: ReturnType<typeof directoryWithGet>;
let service: IncidentService;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "evidence-"));
  store = new SqliteIncidentStore(path.join(dir, "incidents.db"));
  directory = directoryWithGet();
  service = new IncidentService({ store, directory: directory.directory, workspaceId: "ws" });
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("entities from a report", () => {
  it("the directory failing while the reporter is resolved: the report fails and nothing is written", async () => {
    directory.getDown = true;
    await expect(service.report(report("it linked to paypa1-login.com"), MEGAN, undefined)).rejects.toBeInstanceOf(
      DirectoryUnavailableError,
    );
    expect(await store.search("ws", {}, 10)).toEqual([]);
    // Back up: the same report is stored (the query above would have seen it).
    directory.getDown = false;
    await service.report(report("it linked to paypa1-login.com"), MEGAN, undefined);
    expect(await store.search("ws", {}, 10)).toHaveLength(1);
  });

  it("a later report of the same message while the directory fails: the incident is left as it was", async () => {
    const id = randomUUID();
    const first = await service.report({ ...report("hxxps://paypa1-login[.]com/a"), submissionId: id }, MEGAN, undefined, {
      evidence: evidence(),
    });
    expect(first.kind).toBe("created");
    const before = await service.get(id);
    directory.getDown = true;
    await expect(
      service.report({ ...report("also 203.0.113.9"), submissionId: id }, DIEGO, undefined, { evidence: evidence() }),
    ).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect(await service.get(id)).toEqual(before);
  });

  it("a restricted report keeps its entities (the display and Sentinel layers hide them)", async () => {
    const result = await service.report(report("paypa1-login.com", true), MEGAN, undefined);
    expect(result.kind === "created" && result.incident.restricted).toBe(true);
    const stored = result.kind === "created" ? await service.get(result.incident.id) : undefined;
    expect(stored?.entities?.map((e) => `${e.type}:${e.value}`)).toEqual([
      "user:megan.bowen@contoso.com",
      "domain:paypa1-login.com",
    ]);
  });

  it("a message author the directory does not know, or without an object id, is left out (never named from the message)", async () => {
    for (const authorId of ["00000000-0000-4000-8000-0000000000ff", undefined, "29:not-an-object-id"]) {
      const result = await service.report(report("nothing here"), MEGAN, undefined, { evidence: evidence(authorId) });
      const stored = result.kind === "created" ? await service.get(result.incident.id) : undefined;
      expect([authorId, stored?.entities?.map((e) => e.value)]).toEqual([authorId, ["megan.bowen@contoso.com"]]);
    }
  });
});
