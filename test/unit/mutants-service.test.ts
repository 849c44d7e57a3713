import { LocalDirectory } from "../../src/adapters/local-directory";
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { StoreUnavailableError } from "../../src/incidents/errors";
import type { Actor, Incident, IncidentComment, IncidentTask, MessageEvidence } from "../../src/incidents/model";
import type { ReportForm } from "../../src/incidents/report";
import { IncidentService, type TriageChannel } from "../../src/incidents/service";
import { aForm, aNewIncident } from "../support/builders";

/**
 * The use cases (src/incidents/service.ts) on a real SQLite store in memory and a local directory:
 * who may do what, what is stored, what reporters are told, and how notices to them are sent.
 */

const WS = "ws";
const T0 = new Date("2026-11-26T12:00:00.000Z");

const ALEX: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber", teamsId: "29:alex" };
const LEE: Actor = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a04", name: "Lee Gu" };
const MEGAN: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" };
const DIEGO: Actor = { objectId: "b7d7a1c2-5f0e-4b8e-9a51-0c1d2e3f4a02", name: "Diego Siciliani" };
const STRANGER: Actor = { objectId: "0badc0de-0000-4000-8000-000000000000", name: "Not in the directory" };
const NOBODY: Actor = { name: "A guest Teams did not identify" };
const MEGAN_KEY = `aad:${MEGAN.objectId}`;
const TIER1 = "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01";

function directory() {
  return new LocalDirectory({
    users: [
      {
        id: ALEX.objectId!,
        displayName: "Alex Wilber",
        mail: "alexw@contoso.com",
        userPrincipalName: "alexw@contoso.com",
        analyst: true,
        restricted: true,
      },
      { id: LEE.objectId!, displayName: "Lee Gu", analyst: true },
      { id: MEGAN.objectId!, displayName: "Megan Bowen", mail: "meganb@contoso.com" },
      { id: DIEGO.objectId!, displayName: "Diego Siciliani" },
    ],
    groups: [{ id: TIER1.toUpperCase(), displayName: "SOC Tier 1", mail: "soc-tier1@contoso.com" }],
  });
}

function setup(start = T0) {
  const store = new SqliteIncidentStore(":memory:");
  let now = start;
  const clock = () => now;
  const service = new IncidentService({ store, directory: directory(), workspaceId: WS, clock, tagCacheMs: 30_000 });
  return {
    service,
    store,
    clock,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    set: (at: string) => (now = new Date(at)),
    iso: () => now.toISOString(),
  };
}

type World = ReturnType<typeof setup>;

function aReport(overrides: Partial<ReportForm> = {}): ReportForm {
  return {
    submissionId: aForm().submissionId,
    title: "A caller asked for my code",
    whatHappened: "They said they were IT.",
    whenDate: "",
    whenTime: "",
    where: "",
    urgent: "false",
    ...overrides,
  };
}

async function created(world: World, result: Promise<unknown>): Promise<Incident> {
  const r = (await result) as { kind: string; incident?: Incident };
  if (r.kind !== "created" || !r.incident) throw new Error(`expected created, got ${JSON.stringify(r)}`);
  return r.incident;
}

/** An incident Megan reported from chat (so she is told of changes). */
function meganReports(world: World, overrides: Partial<ReportForm> = {}) {
  return created(world, world.service.report(aReport(overrides), MEGAN, undefined));
}

/** An incident put straight into the store, with what the test needs (comments, tasks). */
async function stored(world: World, overrides: Partial<Incident> = {}): Promise<Incident> {
  const outcome = await world.store.create(
    aNewIncident({ workspaceId: WS, createdBy: MEGAN, entryPoint: "chat-report", ...overrides }),
  );
  return outcome.incident;
}

function someComments(n: number): IncidentComment[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `00000000-0000-4000-a000-${String(i).padStart(12, "0")}`,
    message: `note ${i}`,
    author: ALEX,
    createdTimeUtc: T0.toISOString(),
    kind: "note" as const,
  }));
}

function someTasks(n: number): IncidentTask[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `00000000-0000-4000-b000-${String(i).padStart(12, "0")}`,
    title: `task ${i}`,
    status: "New" as const,
    createdBy: ALEX,
    createdTimeUtc: T0.toISOString(),
  }));
}

const EVIDENCE: MessageEvidence = {
  kind: "teams-message",
  messageId: "1700000000000",
  author: { kind: "user", id: "29:author", name: "Someone" },
  bodySha256: "ab".repeat(32),
};

const CHANNEL: TriageChannel = {
  conversationId: "19:triage@thread.tacv2",
  name: "SOC triage",
  setBy: ALEX,
  setUtc: T0.toISOString(),
  reference: { serviceUrl: "https://smba.example/" },
};

describe("who someone is to the service", () => {
  it("tells analysts from employees, and who is on the restricted-cases team", async () => {
    const { service } = setup();
    expect(await service.roleOf(LEE)).toBe("analyst");
    expect(await service.roleOf(MEGAN)).toBe("employee");
    expect(await service.viewerOf(ALEX)).toEqual({ actor: ALEX, analyst: true, restrictedTeam: true });
    expect(await service.viewerOf(LEE)).toEqual({ actor: LEE, analyst: true, restrictedTeam: false });
  });

  it("finds people and groups by object id, in any case, and the person asking when Teams named them", async () => {
    const { service } = setup();
    expect(await service.me(ALEX)).toMatchObject({ displayName: "Alex Wilber", kind: "User" });
    expect(await service.me(NOBODY)).toBeUndefined();
    expect(await service.owner(TIER1.toUpperCase())).toMatchObject({ displayName: "SOC Tier 1", kind: "Group" });
  });

  it("finds owners for what was typed, nothing for blank text, at most 15 and at most the limit asked", async () => {
    const { service } = setup();
    expect(await service.findOwners("   ")).toEqual([]);
    expect((await service.findOwners("  lee ")).map((e) => e.displayName)).toEqual(["Lee Gu"]);
    const search = jest.spyOn(LocalDirectory.prototype, "search");
    await service.findOwners("a", 3);
    await service.findOwners("a", 50);
    expect(search.mock.calls.map((c) => c[1])).toEqual([3, 15]);
    search.mockRestore();
  });
});

describe("creating an incident from the form", () => {
  it("stores what the analyst chose, the owner resolved from the directory with its mail", async () => {
    const world = setup();
    const form = aForm({
      title: "Odd e-mail",
      description: "From the CFO",
      severity: "High",
      status: "Closed",
      closing: "FalsePositive.InaccurateData",
      closingComment: "A test",
      owner: TIER1.toUpperCase(),
      tags: "Phishing, VIP",
      restricted: "true",
    });
    const incident = await created(world, world.service.create(form, ALEX, "form"));
    expect(incident).toMatchObject({
      id: form.submissionId,
      workspaceId: WS,
      incidentNumber: 1,
      revision: 1,
      title: "Odd e-mail",
      description: "From the CFO",
      severity: "High",
      status: "Closed",
      classification: "FalsePositive",
      classificationReason: "InaccurateData",
      classificationComment: "A test",
      owner: { objectId: TIER1, ownerType: "Group", assignedTo: "SOC Tier 1", email: "soc-tier1@contoso.com" },
      labels: [
        { labelName: "Phishing", labelType: "User" },
        { labelName: "VIP", labelType: "User" },
      ],
      restricted: true,
      createdTimeUtc: T0.toISOString(),
      lastModifiedTimeUtc: T0.toISOString(),
      createdBy: ALEX,
      entryPoint: "form",
    });
    expect(incident.owner).not.toHaveProperty("userPrincipalName");
  });

  it("keeps no classification, owner, restriction or triage notice it was not given", async () => {
    const world = setup();
    const incident = await created(world, world.service.create(aForm(), ALEX, "form"));
    for (const key of [
      "classification",
      "classificationReason",
      "classificationComment",
      "owner",
      "restricted",
      "triage",
      "evidence",
      "contacts",
      "formMessageId",
      "firstActivityTimeUtc",
    ]) {
      expect(incident).not.toHaveProperty(key);
    }
  });

  it("assigns to the person submitting, with their mail and UPN, when they chose Assign to me", async () => {
    const world = setup();
    const incident = await created(world, world.service.create(aForm({ owner: "me" }), ALEX, "form"));
    expect(incident.owner).toEqual({
      objectId: ALEX.objectId,
      ownerType: "User",
      assignedTo: "Alex Wilber",
      email: "alexw@contoso.com",
      userPrincipalName: "alexw@contoso.com",
    });
  });

  it("refuses Assign to me from someone the directory does not know", async () => {
    const world = setup();
    expect(await world.service.create(aForm({ owner: "me" }), STRANGER, "form")).toEqual({
      kind: "invalid",
      errors: { owner: "You are not in the directory, so the incident can't be assigned to you." },
    });
  });

  it("does not look up an owner the form already refused", async () => {
    const world = setup();
    expect(await world.service.create(aForm({ owner: "Alex Wilber" }), ALEX, "form")).toEqual({
      kind: "invalid",
      errors: { owner: "Choose the owner from the list." },
    });
  });

  it("lets an employee decide only the title, description, urgency and need-to-know", async () => {
    const world = setup();
    const form = aForm({
      severity: "Low",
      status: "Closed",
      closing: "Undetermined",
      closingComment: "closing my own report",
      owner: "me",
      tags: "Mine",
      restricted: "true",
    });
    const incident = await created(world, world.service.create(form, MEGAN, "chat-report", { role: "employee" }));
    expect(incident).toMatchObject({ severity: "Medium", status: "New", labels: [], restricted: true });
    expect(incident).not.toHaveProperty("owner");
    expect(incident).not.toHaveProperty("classification");
    expect(await world.service.topTags(5)).toEqual([]);
    const urgent = await created(
      world,
      world.service.create(aForm({ severity: "High" }), MEGAN, "chat-report", { role: "employee" }),
    );
    expect(urgent.severity).toBe("High");
  });

  it("keeps the evidence, first activity, form message and how to reach the reporter", async () => {
    const world = setup();
    const address = { conversation: { id: "a:1" } };
    const incident = await created(
      world,
      world.service.create(aForm(), MEGAN, "message-extension", {
        evidence: EVIDENCE,
        firstActivityTimeUtc: "2026-11-26T08:00:00.000Z",
        formMessageId: "f-1",
        contact: address,
      }),
    );
    expect(incident).toMatchObject({
      evidence: [EVIDENCE],
      firstActivityTimeUtc: "2026-11-26T08:00:00.000Z",
      formMessageId: "f-1",
      contacts: [{ person: MEGAN_KEY, address }],
    });
    const guest = await created(world, world.service.create(aForm(), NOBODY, "chat-report", { contact: address }));
    expect(guest).not.toHaveProperty("contacts");
  });

  it("waits to post a triage card once a triage channel is set", async () => {
    const world = setup();
    await world.service.setTriageChannel(CHANNEL, ALEX);
    const incident = await created(world, world.service.create(aForm(), ALEX, "form"));
    expect(incident.triage).toEqual({ state: "pending", attempts: 0, updatedUtc: T0.toISOString() });
  });

  it("gives back the same incident for the same submission by the same person, and nothing to anyone else", async () => {
    const world = setup();
    const form = aForm({ title: "First" });
    const first = await created(world, world.service.create(form, ALEX, "form"));
    expect(await world.service.create({ ...form, title: "Second" }, ALEX, "form")).toEqual({
      kind: "created",
      incident: first,
      isNew: false,
    });
    expect(await world.service.create(form, LEE, "form")).toEqual({ kind: "taken" });
  });
});

describe("the same Teams message reported by a second person", () => {
  it("adds their account, their evidence and how to reach them to the first incident", async () => {
    const world = setup();
    const first = await created(
      world,
      world.service.create(aForm({ title: "Megan's title" }), MEGAN, "message-extension", {
        evidence: EVIDENCE,
        contact: { a: 1 },
      }),
    );
    world.advance(60_000);
    const form = aForm({ submissionId: first.id, title: "Diego's title", description: "Diego's words" });
    const result = await world.service.create(form, DIEGO, "message-extension", { evidence: EVIDENCE, contact: { d: 2 } });
    expect(result).toMatchObject({ kind: "added", incident: { id: first.id, title: "Megan's title", revision: 2 } });
    const incident = (result as { incident: Incident }).incident;
    expect(incident.reports).toEqual([
      {
        reporter: DIEGO,
        timeUtc: world.iso(),
        entryPoint: "message-extension",
        title: "Diego's title",
        words: "Diego's words",
        // The severity their form chose (the form's default, Medium): every field they typed is kept.
        severity: "Medium",
        evidence: EVIDENCE,
      },
    ]);
    expect(incident.lastModifiedTimeUtc).toBe(world.iso());
    expect(incident.contacts).toEqual([
      { person: MEGAN_KEY, address: { a: 1 } },
      { person: `aad:${DIEGO.objectId}`, address: { d: 2 } },
    ]);
    // Reporting it again changes nothing.
    expect(await world.service.create(form, DIEGO, "message-extension", { evidence: EVIDENCE })).toMatchObject({
      kind: "created",
      isNew: false,
      incident: { revision: 2 },
    });
  });

  it("is added on top of a change made at the same moment, not over it", async () => {
    const world = setup();
    const first = await created(world, world.service.create(aForm(), MEGAN, "message-extension", { evidence: EVIDENCE }));
    const replace = world.store.replace.bind(world.store);
    jest.spyOn(world.store, "replace").mockImplementationOnce(async (next, revision) => {
      const current = (await world.store.get(WS, next.id))!;
      await replace({ ...current, title: "Renamed meanwhile" }, current.revision);
      return replace(next, revision);
    });
    const result = await world.service.create(aForm({ submissionId: first.id }), DIEGO, "message-extension", {
      evidence: EVIDENCE,
    });
    expect(result).toMatchObject({ kind: "added", incident: { title: "Renamed meanwhile", revision: 3 } });
    expect((result as { incident: Incident }).incident.reports?.map((r) => r.reporter)).toEqual([DIEGO]);
  });

  it("is added once when the same person's two submissions race", async () => {
    const world = setup();
    const first = await created(world, world.service.create(aForm(), MEGAN, "message-extension", { evidence: EVIDENCE }));
    const account = {
      reporter: DIEGO,
      timeUtc: T0.toISOString(),
      entryPoint: "message-extension" as const,
      title: "t",
      words: "w",
    };
    const replace = world.store.replace.bind(world.store);
    jest.spyOn(world.store, "replace").mockImplementationOnce(async (next, revision) => {
      const current = (await world.store.get(WS, next.id))!;
      await replace({ ...current, reports: [account] }, current.revision);
      return replace(next, revision);
    });
    const result = await world.service.create(aForm({ submissionId: first.id }), DIEGO, "message-extension", {
      evidence: EVIDENCE,
    });
    expect(result).toMatchObject({ kind: "created", isNew: false, incident: { reports: [account] } });
  });

  it("gives up after five tries when the incident keeps changing", async () => {
    const world = setup();
    const first = await created(world, world.service.create(aForm(), MEGAN, "message-extension", { evidence: EVIDENCE }));
    const replace = jest.spyOn(world.store, "replace").mockResolvedValue({ ok: false, current: first });
    const attempt = world.service.create(aForm({ submissionId: first.id }), DIEGO, "message-extension", { evidence: EVIDENCE });
    await expect(attempt).rejects.toThrow(
      new StoreUnavailableError("The incident kept changing while a report was being added to it; try again."),
    );
    expect(replace).toHaveBeenCalledTimes(5);
  });
});

describe("an employee's report from chat", () => {
  it("becomes a New chat report with the reporter's time, message and contact", async () => {
    const world = setup();
    const result = await world.service.report(
      aReport({ urgent: "true", whenDate: "2026-11-26", whenTime: "09:00" }),
      MEGAN,
      "Europe/Paris",
      {
        formMessageId: "card-1",
        contact: { c: 1 },
      },
    );
    expect(result).toMatchObject({
      kind: "created",
      isNew: true,
      incident: {
        severity: "High",
        status: "New",
        entryPoint: "chat-report",
        firstActivityTimeUtc: "2026-11-26T08:00:00.000Z",
        formMessageId: "card-1",
        contacts: [{ person: MEGAN_KEY, address: { c: 1 } }],
      },
    });
    expect((result as { incident: Incident }).incident).not.toHaveProperty("evidence");
  });

  it("comes from the message extension when it carries a message", async () => {
    const world = setup();
    const result = await world.service.report(aReport(), MEGAN, undefined, { evidence: EVIDENCE });
    expect(result).toMatchObject({ kind: "created", incident: { entryPoint: "message-extension", evidence: [EVIDENCE] } });
  });

  it("reports the report's own errors as they are", async () => {
    const world = setup();
    expect(await world.service.report(aReport({ title: " " }), MEGAN, undefined)).toEqual({
      kind: "invalid",
      errors: { title: "Give your report a short title." },
    });
  });

  it("reports the incident rules' errors against the report's fields", async () => {
    const world = setup();
    expect(await world.service.report(aReport({ title: "Bell\u0007" }), MEGAN, undefined)).toStrictEqual({
      kind: "invalid",
      errors: { title: "The title can't contain control characters or line breaks." },
    });
    expect(await world.service.report(aReport({ whatHappened: "Bell\u0007" }), MEGAN, undefined)).toStrictEqual({
      kind: "invalid",
      errors: { whatHappened: "The description can't contain control characters." },
    });
    expect(await world.service.report(aReport({ submissionId: "stale" }), MEGAN, undefined)).toStrictEqual({
      kind: "invalid",
      errors: { title: "This form is out of date. Open a new one with /incident." },
    });
  });
});

describe("an analyst's edit (update)", () => {
  it("is for analysts only, and for incidents they may see", async () => {
    const world = setup();
    const incident = await meganReports(world, { restricted: "true" });
    expect(await world.service.update(incident.id, 1, aForm(), MEGAN)).toEqual({ kind: "forbidden" });
    expect(await world.service.update(incident.id, 1, aForm(), LEE)).toEqual({ kind: "not-found" });
    expect(await world.service.update(aForm().submissionId, 1, aForm(), ALEX)).toEqual({ kind: "not-found" });
  });

  it("replaces the fields, drops a classification, owner and restriction the form no longer has, and tells the reporter", async () => {
    const world = setup();
    const incident = await meganReports(world, { restricted: "true" });
    const closed = await world.service.update(
      incident.id,
      1,
      aForm({ status: "Closed", closing: "Undetermined", closingComment: "done", owner: "me", restricted: "true" }),
      ALEX,
    );
    expect(closed).toMatchObject({
      kind: "updated",
      incident: { status: "Closed", classification: "Undetermined", revision: 2 },
    });
    world.advance(5_000);
    const reopened = await world.service.update(
      incident.id.toUpperCase(),
      2,
      aForm({ submissionId: "", title: "Reopened" }),
      ALEX,
    );
    expect(reopened).toMatchObject({ kind: "updated", incident: { title: "Reopened", status: "New", revision: 3 } });
    const now = (reopened as { incident: Incident }).incident;
    for (const key of ["classification", "classificationReason", "classificationComment", "owner", "restricted"]) {
      expect(now).not.toHaveProperty(key);
    }
    expect(now.lastModifiedTimeUtc).toBe(world.iso());
    expect(now.outbox?.map((n) => [n.id, n.text])).toEqual([
      [
        `2:${MEGAN_KEY}`,
        "Alex Wilber from the SOC is now handling your report INC-1.\n\nINC-1 is closed. Thank you for reporting it: it helps keep everyone safe.",
      ],
      [`3:${MEGAN_KEY}`, "INC-1 was reopened; the SOC will look at it again."],
    ]);
  });

  it("reports the form's errors and stores nothing", async () => {
    const world = setup();
    const incident = await meganReports(world);
    expect(await world.service.update(incident.id, 1, aForm({ title: "" }), ALEX)).toEqual({
      kind: "invalid",
      errors: { title: "Enter a title." },
    });
    expect((await world.service.get(incident.id))?.revision).toBe(1);
  });

  it("never overwrites a change made since the form was read, and tells nobody of it", async () => {
    const world = setup();
    const incident = await meganReports(world);
    await world.service.update(incident.id, 1, aForm({ severity: "High" }), ALEX);
    const result = await world.service.update(incident.id, 1, aForm({ status: "Active" }), LEE);
    expect(result).toMatchObject({ kind: "conflict", current: { revision: 2, severity: "High", status: "New" } });
    expect((await world.service.get(incident.id))?.outbox).toBeUndefined();
  });

  it("says not found when the incident is gone by the time it is written", async () => {
    const world = setup();
    const incident = await meganReports(world);
    jest.spyOn(world.store, "replace").mockResolvedValueOnce({ ok: false, current: undefined });
    expect(await world.service.update(incident.id, 1, aForm(), ALEX)).toEqual({ kind: "not-found" });
  });
});

describe("Assign to me from the triage card", () => {
  it("makes the analyst the owner and tells the reporter who handles it", async () => {
    const world = setup();
    const incident = await meganReports(world);
    world.advance(1_000);
    const result = await world.service.assignToMe(incident.id, 1, ALEX);
    expect(result).toMatchObject({
      kind: "updated",
      incident: { revision: 2, owner: { objectId: ALEX.objectId, assignedTo: "Alex Wilber" }, lastModifiedTimeUtc: world.iso() },
    });
    expect((result as { incident: Incident }).incident.outbox).toEqual([
      {
        id: `2:${MEGAN_KEY}`,
        to: MEGAN_KEY,
        name: "Megan Bowen",
        text: "Alex Wilber from the SOC is now handling your report INC-1.",
        state: "pending",
        attempts: 0,
        dueUtc: world.iso(),
        updatedUtc: world.iso(),
      },
    ]);
  });

  it("is refused to employees, and to analysts who may not see the incident", async () => {
    const world = setup();
    const incident = await meganReports(world, { restricted: "true" });
    expect(await world.service.assignToMe(incident.id, 1, MEGAN)).toEqual({ kind: "forbidden" });
    expect(await world.service.assignToMe(incident.id, 1, LEE)).toEqual({ kind: "not-found" });
  });

  it("reports a change made since the card was shown", async () => {
    const world = setup();
    const incident = await meganReports(world);
    await world.service.assignToMe(incident.id, 1, LEE);
    expect(await world.service.assignToMe(incident.id, 1, ALEX)).toMatchObject({
      kind: "conflict",
      current: { owner: { objectId: LEE.objectId } },
    });
  });
});

describe("comments", () => {
  it("adds an analyst's note, cleaned, that the reporters are not sent", async () => {
    const world = setup();
    const incident = await meganReports(world);
    world.advance(1_000);
    const result = await world.service.comment(incident.id, "  Called\r\nthe desk \u0007 ", false, 1, ALEX);
    expect(result).toMatchObject({ kind: "done", isNew: true, incident: { revision: 2, lastModifiedTimeUtc: world.iso() } });
    const [comment] = (result as { incident: Incident }).incident.comments!;
    expect(comment).toEqual({
      id: expect.any(String),
      message: "Called\nthe desk",
      author: ALEX,
      createdTimeUtc: world.iso(),
      kind: "note",
    });
    expect((result as { incident: Incident }).incident.outbox).toBeUndefined();
  });

  it("sends a shared comment to the reporters", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const result = await world.service.comment(incident.id, "We blocked the number.", true, 1, ALEX);
    const next = (result as { incident: Incident }).incident;
    expect(next.comments?.[0]).toMatchObject({ kind: "note", shared: true });
    expect(next.outbox?.map((n) => [n.id, n.text])).toEqual([
      [`2:${MEGAN_KEY}`, "A message from the SOC about your report INC-1:\n\nWe blocked the number."],
    ]);
  });

  it("adds a double click once, but the same words from a newer card again", async () => {
    const world = setup();
    const incident = await meganReports(world);
    await world.service.comment(incident.id, "Same words", false, 1, ALEX);
    const again = await world.service.comment(incident.id, "Same words", false, 1, ALEX);
    expect(again).toMatchObject({ kind: "done", isNew: false, incident: { revision: 2 } });
    const newer = await world.service.comment(incident.id, "Same words", false, 2, ALEX);
    expect(newer).toMatchObject({ kind: "done", isNew: true, incident: { revision: 3 } });
    expect((newer as { incident: Incident }).incident.comments).toHaveLength(2);
  });

  it("refuses an empty comment", async () => {
    const world = setup();
    const incident = await meganReports(world);
    expect(await world.service.comment(incident.id, " \u0001 ", false, 1, ALEX)).toEqual({
      kind: "invalid",
      problem: "Write the comment first.",
    });
  });

  it("holds at most 200 comments", async () => {
    const world = setup();
    const almost = await stored(world, { comments: someComments(199) });
    expect(await world.service.comment(almost.id, "the 200th", false, 1, ALEX)).toMatchObject({ kind: "done", isNew: true });
    expect(await world.service.comment(almost.id, "the 201st", false, 2, ALEX)).toEqual({
      kind: "invalid",
      problem: "This incident has 200 comments, the most it can hold.",
    });
  });

  it("is still added when someone changed the incident meanwhile, keeping their change", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const replace = world.store.replace.bind(world.store);
    jest.spyOn(world.store, "replace").mockImplementationOnce(async (next, revision) => {
      const current = (await world.store.get(WS, next.id))!;
      await replace({ ...current, severity: "High" }, current.revision);
      return replace(next, revision);
    });
    const result = await world.service.comment(incident.id, "noted", false, 1, ALEX);
    expect(result).toMatchObject({ kind: "done", isNew: true, incident: { severity: "High", revision: 3 } });
  });

  it("is not added when the incident became need-to-know meanwhile and the analyst may no longer see it", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const replace = world.store.replace.bind(world.store);
    jest.spyOn(world.store, "replace").mockImplementationOnce(async (next, revision) => {
      const current = (await world.store.get(WS, next.id))!;
      await replace({ ...current, restricted: true }, current.revision);
      return replace(next, revision);
    });
    expect(await world.service.comment(incident.id, "noted", false, 1, LEE)).toEqual({ kind: "not-found" });
    expect((await world.service.get(incident.id))?.comments).toBeUndefined();
  });

  it("gives up after five tries when the incident keeps changing", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const replace = jest.spyOn(world.store, "replace").mockResolvedValue({ ok: false, current: incident });
    await expect(world.service.comment(incident.id, "noted", false, 1, ALEX)).rejects.toThrow(
      new StoreUnavailableError("The incident kept changing while this was being added to it; try again."),
    );
    expect(replace).toHaveBeenCalledTimes(5);
  });
});

describe("questions to the reporters and their answers", () => {
  it("asks the reporters, naming the question so they can answer it", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const result = await world.service.ask(incident.id, "Which number called you?", 1, ALEX);
    const next = (result as { incident: Incident }).incident;
    const question = next.comments![0]!;
    expect(question).toEqual({
      id: expect.any(String),
      message: "Which number called you?",
      author: ALEX,
      createdTimeUtc: world.iso(),
      kind: "question",
      shared: true,
    });
    expect(next.outbox).toEqual([
      expect.objectContaining({
        id: `2:${MEGAN_KEY}`,
        text: "The SOC has a question about your report INC-1:\n\nWhich number called you?",
        questionId: question.id,
      }),
    ]);
    expect(await world.service.ask(incident.id, "Which number called you?", 1, ALEX)).toMatchObject({
      kind: "done",
      isNew: false,
    });
  });

  it("has nobody to ask about an incident an analyst typed in", async () => {
    const world = setup();
    const incident = await created(world, world.service.create(aForm(), ALEX, "form"));
    expect(await world.service.ask(incident.id, "Anyone?", 1, ALEX)).toEqual({
      kind: "invalid",
      problem: "Nobody reported this incident through the bot, so there is nobody to ask.",
    });
  });

  it("refuses an empty question and a 201st comment", async () => {
    const world = setup();
    const full = await stored(world, { comments: someComments(200) });
    expect(await world.service.ask(full.id, "", 1, ALEX)).toEqual({ kind: "invalid", problem: "Write the question first." });
    expect(await world.service.ask(full.id, "One more?", 1, ALEX)).toEqual({
      kind: "invalid",
      problem: "This incident has 200 comments, the most it can hold.",
    });
  });

  it("adds the reporter's answer once, as a reply to the question", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const asked = await world.service.ask(incident.id, "Which number?", 1, ALEX);
    const questionId = (asked as { incident: Incident }).incident.comments![0]!.id;
    world.advance(1_000);
    const answered = await world.service.answer(incident.id, questionId, " +44 20 7946 0000 ", MEGAN);
    expect((answered as { incident: Incident }).incident.comments![1]).toEqual({
      id: expect.any(String),
      message: "+44 20 7946 0000",
      author: MEGAN,
      createdTimeUtc: world.iso(),
      kind: "answer",
      inReplyTo: questionId,
    });
    expect(await world.service.answer(incident.id, questionId, "+44 20 7946 0000", MEGAN)).toMatchObject({
      kind: "done",
      isNew: false,
    });
    expect(await world.service.answer(incident.id, questionId, "  ", MEGAN)).toEqual({
      kind: "invalid",
      problem: "Write the answer first.",
    });
  });

  it("takes an answer only to a question, and not past 200 comments", async () => {
    const world = setup();
    const comments = someComments(200);
    const question = { ...comments[199]!, kind: "question" as const };
    const full = await stored(world, { comments: [...comments.slice(0, 199), question] });
    expect(await world.service.answer(full.id, comments[0]!.id, "to a note", MEGAN)).toEqual({
      kind: "invalid",
      problem: "That question is not on this incident any more.",
    });
    expect(await world.service.answer(full.id, question.id, "to the question", MEGAN)).toEqual({
      kind: "invalid",
      problem: "This incident has 200 comments, the most it can hold.",
    });
  });
});

describe("tasks", () => {
  it("adds a task with its title on one line, once per click", async () => {
    const world = setup();
    const incident = await meganReports(world);
    const result = await world.service.addTask(incident.id, "  Call \n the   reporter ", 1, ALEX);
    expect((result as { incident: Incident }).incident.tasks).toEqual([
      { id: expect.any(String), title: "Call the reporter", status: "New", createdBy: ALEX, createdTimeUtc: world.iso() },
    ]);
    expect(await world.service.addTask(incident.id, "Call the reporter", 1, ALEX)).toMatchObject({ kind: "done", isNew: false });
    expect(await world.service.addTask(incident.id, " ", 1, ALEX)).toEqual({
      kind: "invalid",
      problem: "Give the task a title.",
    });
  });

  it("holds at most 50 tasks", async () => {
    const world = setup();
    const almost = await stored(world, { tasks: someTasks(49) });
    expect(await world.service.addTask(almost.id, "the 50th", 1, ALEX)).toMatchObject({ kind: "done", isNew: true });
    expect(await world.service.addTask(almost.id, "the 51st", 2, ALEX)).toEqual({
      kind: "invalid",
      problem: "This incident has 50 tasks, the most it can hold.",
    });
  });

  it("ticks a task off once, with who and when, leaving the others as they are", async () => {
    const world = setup();
    const tasks = someTasks(2);
    const incident = await stored(world, { tasks });
    world.advance(1_000);
    const done = await world.service.completeTask(incident.id, tasks[1]!.id, LEE);
    expect(done).toMatchObject({ kind: "done", isNew: true });
    expect((done as { incident: Incident }).incident.tasks).toEqual([
      tasks[0],
      { ...tasks[1], status: "Completed", completedBy: LEE, completedTimeUtc: world.iso() },
    ]);
    world.advance(1_000);
    expect(await world.service.completeTask(incident.id, tasks[1]!.id, ALEX)).toMatchObject({
      kind: "done",
      isNew: false,
      incident: { tasks: [tasks[0], { completedBy: LEE }] },
    });
    expect(await world.service.completeTask(incident.id, "gone", ALEX)).toEqual({
      kind: "invalid",
      problem: "That task is not on this incident any more.",
    });
  });
});

describe("lists of incidents", () => {
  it("shows a person the incidents they reported, newest first, and nothing to someone Teams did not identify", async () => {
    const world = setup();
    const first = await meganReports(world);
    const second = await meganReports(world, { restricted: "true" });
    await created(world, world.service.create(aForm(), ALEX, "form"));
    const mine = await world.service.reportedBy(await world.service.viewerOf(MEGAN), 10);
    expect(mine.map((s) => [s.incident.id, s.access])).toEqual([
      [second.id, "reporter"],
      [first.id, "reporter"],
    ]);
    expect(await world.service.reportedBy(await world.service.viewerOf(NOBODY), 10)).toEqual([]);
  });

  it("shows an analyst the incidents assigned to them, whatever the case of their id; nothing to employees", async () => {
    const world = setup();
    const mine = await created(world, world.service.create(aForm({ owner: "me" }), ALEX, "form"));
    await created(world, world.service.create(aForm({ owner: "me" }), LEE, "form"));
    const alex = { objectId: ALEX.objectId!.toUpperCase(), name: "Alex" };
    expect(
      (await world.service.assignedTo(await world.service.viewerOf(alex), 10)).map((s) => [s.incident.id, s.access]),
    ).toEqual([[mine.id, "full"]]);
    expect(await world.service.assignedTo({ actor: MEGAN, analyst: false, restrictedTeam: false }, 10)).toEqual([]);
    expect(await world.service.assignedTo({ actor: NOBODY, analyst: true, restrictedTeam: false }, 10)).toEqual([]);
  });

  it("searches what the person may see: an employee their own reports, an analyst all but need-to-know", async () => {
    const world = setup();
    const megans = await meganReports(world, { title: "Odd caller" });
    const secret = await meganReports(world, { title: "Odd manager", restricted: "true" });
    const alexs = await created(world, world.service.create(aForm({ title: "Odd invoice" }), ALEX, "form"));
    const ids = async (actor: Actor, typed = "odd") =>
      (await world.service.search(typed, 10, await world.service.viewerOf(actor))).map((s) => s.incident.id);
    expect(await ids(MEGAN)).toEqual([secret.id, megans.id]);
    expect(await ids(DIEGO)).toEqual([]);
    expect(await ids(NOBODY)).toEqual([]);
    expect(await ids(LEE)).toEqual([alexs.id, megans.id]);
    expect(await ids(ALEX)).toEqual([alexs.id, secret.id, megans.id]);
    expect(await ids(ALEX, "INC-1")).toEqual([megans.id]);
  });
});

describe("notices to reporters: claiming and settling", () => {
  async function withNotice(world: World) {
    const incident = await meganReports(world);
    await world.service.assignToMe(incident.id, 1, ALEX);
    return { incidentId: incident.id, noticeId: `2:${MEGAN_KEY}` };
  }

  it("claims a due notice for a minute, during which nobody else may", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    expect(await world.service.dueNotices(10)).toHaveLength(1);
    const claim = await world.service.claimNotice(incidentId, noticeId);
    expect(claim?.notice).toMatchObject({
      id: noticeId,
      state: "pending",
      claimUntilUtc: "2026-11-26T12:01:00.000Z",
      updatedUtc: world.iso(),
    });
    expect(claim?.incident.outbox?.[0]).toEqual(claim?.notice);
    expect(await world.service.claimNotice(incidentId, noticeId)).toBeUndefined();
    world.advance(59_999);
    expect(await world.service.claimNotice(incidentId, noticeId)).toBeUndefined();
    world.advance(1);
    expect(await world.service.claimNotice(incidentId, noticeId)).toMatchObject({
      notice: { claimUntilUtc: "2026-11-26T12:02:00.000Z" },
    });
  });

  it("claims nothing for an unknown incident or notice", async () => {
    const world = setup();
    const { incidentId } = await withNotice(world);
    expect(await world.service.claimNotice(incidentId, "9:aad:nobody")).toBeUndefined();
    expect(await world.service.claimNotice(aForm().submissionId, "2:x")).toBeUndefined();
  });

  it("marks a sent notice sent, forgetting the claim and an earlier error", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    await world.service.claimNotice(incidentId, noticeId);
    await world.service.settleNotice(incidentId, noticeId, { kind: "retry", reason: "busy", retryAfterMs: 0 });
    await world.service.claimNotice(incidentId, noticeId);
    world.advance(2_000);
    const sent = await world.service.settleNotice(incidentId, noticeId, { kind: "sent" });
    expect(sent).toMatchObject({ state: "sent", attempts: 2, updatedUtc: world.iso() });
    expect(sent).not.toHaveProperty("claimUntilUtc");
    expect(sent).not.toHaveProperty("lastError");
    expect((await world.service.get(incidentId))?.outbox).toEqual([sent]);
    expect(await world.service.settleNotice(incidentId, noticeId, { kind: "sent" })).toBeUndefined();
    expect(await world.service.claimNotice(incidentId, noticeId)).toBeUndefined();
    expect(await world.service.dueNotices(10)).toEqual([]);
  });

  it("gives up on a reporter who can't be reached, keeping the first 300 characters of why", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    const settled = await world.service.settleNotice(incidentId, noticeId, { kind: "unreachable", reason: "x".repeat(400) });
    expect(settled).toMatchObject({ state: "unreachable", attempts: 1, lastError: "x".repeat(300) });
  });

  it("tries again after the wait asked for, not before", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    await world.service.claimNotice(incidentId, noticeId);
    const retry = await world.service.settleNotice(incidentId, noticeId, {
      kind: "retry",
      reason: "y".repeat(400),
      retryAfterMs: 30_000,
    });
    expect(retry).toMatchObject({
      state: "pending",
      attempts: 1,
      dueUtc: "2026-11-26T12:00:30.000Z",
      lastError: "y".repeat(300),
    });
    expect(retry).not.toHaveProperty("claimUntilUtc");
    expect(await world.service.dueNotices(10)).toEqual([]);
    world.advance(29_999);
    expect(await world.service.claimNotice(incidentId, noticeId)).toBeUndefined();
    world.advance(1);
    expect(await world.service.dueNotices(10)).toHaveLength(1);
    expect(await world.service.claimNotice(incidentId, noticeId)).toBeDefined();
  });

  it("never waits less than nothing", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    const retry = await world.service.settleNotice(incidentId, noticeId, { kind: "retry", reason: "odd", retryAfterMs: -60_000 });
    expect(retry?.dueUtc).toBe(world.iso());
  });

  it("gives up after the eighth try", async () => {
    const world = setup();
    const { incidentId, noticeId } = await withNotice(world);
    const outcome = { kind: "retry" as const, reason: "throttled", retryAfterMs: 0 };
    for (let i = 1; i <= 7; i++) {
      expect(await world.service.settleNotice(incidentId, noticeId, outcome)).toMatchObject({ state: "pending", attempts: i });
    }
    expect(await world.service.settleNotice(incidentId, noticeId, outcome)).toMatchObject({
      state: "unreachable",
      attempts: 8,
      lastError: "throttled",
    });
  });
});

describe("tag suggestions over time", () => {
  it("offers the most used tags, at most as many as asked", async () => {
    const world = setup();
    await world.service.create(aForm({ tags: "Phishing, VIP" }), ALEX, "form");
    await world.service.create(aForm({ tags: "Phishing" }), ALEX, "form");
    expect(await world.service.topTags(1)).toEqual(["Phishing"]);
    expect(await world.service.topTags(5)).toEqual(["Phishing", "VIP"]);
  });

  it("reads the store again once the cache period has passed", async () => {
    const world = setup();
    const read = jest.spyOn(world.store, "recentTags");
    await world.service.topTags(5);
    world.advance(29_999);
    await world.service.topTags(5);
    expect(read).toHaveBeenCalledTimes(1);
    world.advance(1);
    await world.service.topTags(5);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it("drops a tag at the midnight it leaves the two-week window, even within the cache period", async () => {
    const world = setup();
    await world.service.create(aForm({ tags: "Fading" }), ALEX, "form");
    world.set("2026-12-09T23:59:50.000Z");
    expect(await world.service.topTags(5)).toEqual(["Fading"]);
    world.advance(20_000);
    expect(await world.service.topTags(5)).toEqual([]);
  });
});

describe("workspace settings", () => {
  it("makes a 32-byte form-signing secret once and keeps it", async () => {
    const world = setup();
    const secret = await world.service.signingSecret();
    expect(secret).toHaveLength(32);
    expect((await world.service.signingSecret()).equals(secret)).toBe(true);
    const other = new IncidentService({ store: world.store, directory: directory(), workspaceId: WS });
    expect((await other.signingSecret()).equals(secret)).toBe(true);
  });

  it("replaces a stored secret too short to be one, and keeps a good one", async () => {
    const world = setup();
    await world.store.putSetting(WS, "formSigningSecret", "c2hvcnQ");
    const made = await world.service.signingSecret();
    expect(made).toHaveLength(32);
    const good = Buffer.alloc(32, 7).toString("base64url");
    expect(good).toHaveLength(43);
    await world.store.putSetting(WS, "formSigningSecret", good);
    expect((await world.service.signingSecret()).equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it("lets only an analyst set the triage channel, seen at once by this instance", async () => {
    const world = setup();
    expect(await world.service.triageChannel()).toBeUndefined();
    expect(await world.service.setTriageChannel(CHANNEL, MEGAN)).toBe(false);
    expect(await world.store.getSetting(WS, "triageChannel")).toBeUndefined();
    expect(await world.service.setTriageChannel(CHANNEL, ALEX)).toBe(true);
    expect(await world.service.triageChannel()).toEqual(CHANNEL);
  });

  it("sees a channel another instance set once the cache period has passed", async () => {
    const world = setup();
    const other = new IncidentService({ store: world.store, directory: directory(), workspaceId: WS, clock: world.clock });
    expect(await world.service.triageChannel()).toBeUndefined();
    await other.setTriageChannel(CHANNEL, ALEX);
    world.advance(29_999);
    expect(await world.service.triageChannel()).toBeUndefined();
    world.advance(1);
    expect(await world.service.triageChannel()).toEqual(CHANNEL);
  });

  it("does not keep a failed read of the triage channel", async () => {
    const world = setup();
    await world.service.setTriageChannel(CHANNEL, ALEX);
    world.advance(30_000);
    const read = jest.spyOn(world.store, "getSetting").mockRejectedValueOnce(new StoreUnavailableError("down"));
    await expect(world.service.triageChannel()).rejects.toThrow("down");
    expect(await world.service.triageChannel()).toEqual(CHANNEL);
    expect(read).toHaveBeenCalledTimes(2);
  });
});

describe("the triage card's own bookkeeping", () => {
  it("records how posting went without changing the revision", async () => {
    const world = setup();
    await world.service.setTriageChannel(CHANNEL, ALEX);
    const incident = await created(world, world.service.create(aForm(), ALEX, "form"));
    world.advance(1_000);
    const after = await world.service.recordNotice(incident.id.toUpperCase(), { state: "posted", attempts: 1, messageId: "m-1" });
    expect(after).toMatchObject({
      revision: 1,
      triage: { state: "posted", attempts: 1, messageId: "m-1", updatedUtc: world.iso() },
    });
  });

  it("lists cards still to be posted once they have been left alone long enough", async () => {
    const world = setup();
    await world.service.setTriageChannel(CHANNEL, ALEX);
    const incident = await created(world, world.service.create(aForm(), ALEX, "form"));
    world.advance(60_000);
    expect(await world.service.unsentNotices(60_000, 10)).toEqual([]);
    world.advance(1);
    expect((await world.service.unsentNotices(60_000, 10)).map((i) => i.id)).toEqual([incident.id]);
  });
});
