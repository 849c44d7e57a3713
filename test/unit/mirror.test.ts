import {
  type FieldGroup,
  mergeFields,
  mirroredFields,
  mirrorState,
  outgoingComment,
  outgoingTask,
  provenanceComments,
  restrictedTitle,
  syncDue,
  withFields,
} from "../../src/incidents/mirror";
import type { Incident, IncidentComment, MessageEvidence, MirroredFields, SentinelLink } from "../../src/incidents/model";
import { aNewIncident, labels } from "../support/builders";

const T = "2026-11-20T10:00:00.000Z";

function anIncident(overrides: Partial<Incident> = {}): Incident {
  return { ...aNewIncident(), incidentNumber: 12, revision: 1, ...overrides };
}

function aLink(overrides: Partial<SentinelLink> = {}): SentinelLink {
  return { revision: 0, comments: 0, reports: 0, tasks: [], attempts: 0, dueUtc: T, ...overrides };
}

const ADELE = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "User" as const, assignedTo: "Adele Vance" };
const LYNNE = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e02", ownerType: "User" as const, assignedTo: "Lynne Robbins" };
const MEGAN = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e03", ownerType: "User" as const, assignedTo: "Megan Bowen" };

const BASE: MirroredFields = {
  title: "Stranger tailgating at building 3",
  description: "Someone followed an employee through the badge door.",
  severity: "Medium",
  status: "Active",
  owner: ADELE,
  labels: labels("Physical", "Badge"),
};

/** For each group: the base with a change made in Teams, another change, and the field group as read back. */
const CHANGES: Record<
  FieldGroup,
  { teams: Partial<MirroredFields>; sentinel: Partial<MirroredFields>; teamsShown: string; sentinelShown: string }
> = {
  title: {
    teams: { title: "Tailgating, building 3" },
    sentinel: { title: "Tailgater B3" },
    teamsShown: "Tailgating, building 3",
    sentinelShown: "Tailgater B3",
  },
  description: {
    teams: { description: "Teams words" },
    sentinel: { description: "Sentinel words" },
    teamsShown: "Teams words",
    sentinelShown: "Sentinel words",
  },
  severity: { teams: { severity: "High" }, sentinel: { severity: "Low" }, teamsShown: "High", sentinelShown: "Low" },
  status: {
    teams: { status: "Closed", classification: "TruePositive", classificationReason: "SuspiciousActivity" },
    sentinel: { status: "Closed", classification: "FalsePositive", classificationReason: "InaccurateData" },
    teamsShown: "Closed (TruePositive)",
    sentinelShown: "Closed (FalsePositive)",
  },
  owner: { teams: { owner: LYNNE }, sentinel: { owner: MEGAN }, teamsShown: "Lynne Robbins", sentinelShown: "Megan Bowen" },
  labels: {
    teams: { labels: labels("Physical", "VIP") },
    sentinel: { labels: labels("Insider") },
    teamsShown: "Physical, VIP",
    sentinelShown: "Insider",
  },
};
const NAMES: Record<FieldGroup, string> = {
  title: "Title",
  description: "Description",
  severity: "Severity",
  status: "Status",
  owner: "Owner",
  labels: "Tags",
};
const GROUPS = Object.keys(CHANGES) as FieldGroup[];

describe("mergeFields", () => {
  describe.each(GROUPS)("the %s group", (group) => {
    const { teams, sentinel, teamsShown, sentinelShown } = CHANGES[group];

    it("keeps a change made only in Teams", () => {
      const ours = { ...BASE, ...teams };
      expect(mergeFields(BASE, ours, BASE)).toEqual({ merged: ours, fromSentinel: [], conflicts: [] });
    });

    it("takes a change made only in Sentinel, and lists it to be brought home", () => {
      const theirs = { ...BASE, ...sentinel };
      expect(mergeFields(BASE, BASE, theirs)).toEqual({ merged: theirs, fromSentinel: [group], conflicts: [] });
    });

    it("sees no conflict when both made the same change", () => {
      const same = { ...BASE, ...teams };
      expect(mergeFields(BASE, same, { ...same, labels: [...same.labels] })).toEqual({
        merged: same,
        fromSentinel: [],
        conflicts: [],
      });
    });

    it("keeps Teams' value when both changed it differently, and says so naming the field and both values", () => {
      const ours = { ...BASE, ...teams };
      const merge = mergeFields(BASE, ours, { ...BASE, ...sentinel });
      expect(merge.merged).toEqual(ours);
      expect(merge.fromSentinel).toEqual([]);
      expect(merge.conflicts).toEqual([
        `${NAMES[group]} was changed in Sentinel (to ${sentinelShown}) and in Teams (to ${teamsShown}) at the same time: ` +
          `Teams' ${teamsShown} was kept.`,
      ]);
    });

    it("leaves the group alone when it is not among the groups merged", () => {
      const others = GROUPS.filter((g) => g !== group);
      const merge = mergeFields(BASE, BASE, { ...BASE, ...sentinel }, others);
      expect(merge).toEqual({ merged: BASE, fromSentinel: [], conflicts: [] });
    });
  });

  it("merges each group on its own: Teams' change, Sentinel's change and a conflict in one merge", () => {
    const ours = { ...BASE, title: "Teams title", severity: "High" as const };
    const theirs = { ...BASE, severity: "Low" as const, owner: MEGAN, labels: labels("Insider") };
    const merge = mergeFields(BASE, ours, theirs);
    expect(merge.merged).toEqual({ ...BASE, title: "Teams title", severity: "High", owner: MEGAN, labels: labels("Insider") });
    expect(merge.fromSentinel).toEqual(["owner", "labels"]);
    expect(merge.conflicts).toHaveLength(1);
    expect(merge.conflicts[0]).toMatch(/^Severity was changed in Sentinel \(to Low\) and in Teams \(to High\)/);
  });

  it("moves classification, reason and comment with the status, and drops them when Sentinel reopens", () => {
    const closed: MirroredFields = {
      ...BASE,
      status: "Closed",
      classification: "TruePositive",
      classificationReason: "SuspiciousActivity",
      classificationComment: "Contained.",
    };
    const reclassified: MirroredFields = {
      ...closed,
      classification: "BenignPositive",
      classificationReason: "SuspiciousButExpected",
      classificationComment: "A drill.",
    };
    expect(mergeFields(closed, closed, reclassified)).toEqual({ merged: reclassified, fromSentinel: ["status"], conflicts: [] });
    // Only the comment changed: still the whole group.
    const commented = { ...closed, classificationComment: "Contained by IR." };
    expect(mergeFields(closed, closed, commented)).toEqual({ merged: commented, fromSentinel: ["status"], conflicts: [] });

    const {
      classification: _c,
      classificationReason: _r,
      classificationComment: _m,
      ...reopened
    } = { ...closed, status: "Active" as const };
    const merge = mergeFields(closed, closed, reopened);
    expect(merge.merged).toEqual(reopened);
    expect(merge.merged).not.toHaveProperty("classification");
    expect(merge.merged).not.toHaveProperty("classificationReason");
    expect(merge.merged).not.toHaveProperty("classificationComment");

    // Closed in Sentinel with a classification: all of it comes over.
    const { classification: _, classificationReason: __, classificationComment: ___, ...open } = closed;
    const active = { ...open, status: "Active" as const };
    expect(mergeFields(active, active, closed).merged).toEqual(closed);
  });

  it("sees a reclassification made in Sentinel while the incident stays Closed (classification, reason or comment alone)", () => {
    const closed: MirroredFields = {
      ...BASE,
      status: "Closed",
      classification: "TruePositive",
      classificationReason: "SuspiciousActivity",
      classificationComment: "Confirmed with the user.",
    };
    const changes: Partial<MirroredFields>[] = [
      { classification: "BenignPositive", classificationReason: "SuspiciousButExpected" },
      { classificationReason: "SuspiciousButExpected" },
      { classificationComment: "Confirmed with the user and their manager." },
    ];
    for (const change of changes) {
      const theirs = { ...closed, ...change };
      const merge = mergeFields(closed, closed, theirs);
      expect(merge.fromSentinel).toEqual(["status"]);
      expect(merge.merged).toMatchObject(change);
    }
    // Undetermined (no reason) against a reason that moved into the comment: not the same closing.
    const undetermined: MirroredFields = { ...BASE, status: "Closed", classification: "Undetermined", classificationComment: "x" };
    const moved = { ...undetermined, classificationComment: undefined, classificationReason: "InaccurateData" as const };
    expect(mergeFields(undetermined, undetermined, moved).fromSentinel).toEqual(["status"]);
    // The classification alone (Sentinel's API takes one without a reason).
    const classified = { ...undetermined, classification: "TruePositive" as const };
    expect(mergeFields(undetermined, undetermined, classified).fromSentinel).toEqual(["status"]);
  });

  it("shows a value of 60 characters whole in a conflict, and a longer one cut to 60 with an ellipsis", () => {
    const sixty = "t".repeat(60);
    const longer = "u".repeat(61);
    const merge = mergeFields(BASE, { ...BASE, title: sixty }, { ...BASE, title: longer });
    expect(merge.conflicts).toEqual([
      `Title was changed in Sentinel (to ${"u".repeat(59)}…) and in Teams (to ${sixty}) at the same time: Teams' ${sixty} was kept.`,
    ]);
  });

  it("compares owners by object id, whatever the case and the name shown", () => {
    const shouted = { ...ADELE, objectId: ADELE.objectId.toUpperCase(), assignedTo: "adele@contoso.com" };
    expect(mergeFields(BASE, BASE, { ...BASE, owner: shouted })).toEqual({ merged: BASE, fromSentinel: [], conflicts: [] });
    // Assigned to the same person on both sides, spelled differently: no conflict.
    const ours = { ...BASE, owner: LYNNE };
    const theirs = { ...BASE, owner: { ...LYNNE, objectId: LYNNE.objectId.toUpperCase() } };
    expect(mergeFields(BASE, ours, theirs)).toEqual({ merged: ours, fromSentinel: [], conflicts: [] });
    // Unassigned in Sentinel: the owner goes.
    const { owner: _, ...unowned } = BASE;
    const merge = mergeFields(BASE, BASE, unowned);
    expect(merge.fromSentinel).toEqual(["owner"]);
    expect(merge.merged).not.toHaveProperty("owner");
    // Unassigned in Teams, reassigned in Sentinel: a conflict, "nobody" kept.
    expect(mergeFields(BASE, unowned, { ...BASE, owner: MEGAN }).conflicts[0]).toMatch(
      /\(to Megan Bowen\) and in Teams \(to nobody\)/,
    );
  });

  it("compares tags whatever their order", () => {
    const reordered = { ...BASE, labels: [...BASE.labels].reverse() };
    expect(mergeFields(BASE, BASE, reordered)).toEqual({ merged: BASE, fromSentinel: [], conflicts: [] });
    expect(mergeFields(BASE, reordered, BASE).fromSentinel).toEqual([]);
    // Reordered here, changed there: Sentinel's tags, no conflict.
    const theirs = { ...BASE, labels: labels("Insider") };
    expect(mergeFields(BASE, reordered, theirs)).toEqual({
      merged: { ...BASE, labels: labels("Insider") },
      fromSentinel: ["labels"],
      conflicts: [],
    });
    // Removed in Sentinel: "none" is what the conflict line says.
    expect(mergeFields(BASE, { ...BASE, labels: labels("VIP") }, { ...BASE, labels: [] }).conflicts[0]).toMatch(
      /\(to none\) and in Teams \(to VIP\)/,
    );
  });
});

describe("syncDue", () => {
  const link = aLink({ dueUtc: T });

  it("is undefined without a link, without a revision, or when Sentinel holds the revision", () => {
    expect(syncDue({ revision: 3 })).toBeUndefined();
    expect(syncDue({ sentinel: link })).toBeUndefined();
    expect(syncDue({ revision: 3, sentinel: { ...link, revision: 3 } })).toBeUndefined();
    expect(syncDue({ revision: 3, sentinel: { ...link, revision: 4 } })).toBeUndefined();
    expect(syncDue({ revision: 3, sentinel: { ...link, revision: 2 } })).toBe(T);
  });

  it("is undefined while Sentinel refused this revision, due again once the incident changed", () => {
    const rejected = { ...link, rejected: { revision: 3, reason: "Bad request" } };
    expect(syncDue({ revision: 3, sentinel: rejected })).toBeUndefined();
    expect(syncDue({ revision: 4, sentinel: rejected })).toBe(T);
  });

  it("is the due time, or the end of a claim when that is later", () => {
    const later = "2026-11-20T10:02:00.000Z";
    const earlier = "2026-11-20T09:58:00.000Z";
    expect(syncDue({ revision: 1, sentinel: link })).toBe(T);
    expect(syncDue({ revision: 1, sentinel: { ...link, claimUntilUtc: later } })).toBe(later);
    expect(syncDue({ revision: 1, sentinel: { ...link, claimUntilUtc: earlier } })).toBe(T);
    expect(syncDue({ revision: 1, sentinel: { ...link, claimUntilUtc: T } })).toBe(T);
  });
});

describe("mirrorState", () => {
  const where = { incidentNumber: 41, incidentUrl: "https://portal.azure.com/#incident/41" };

  it("is off without a link", () => {
    expect(mirrorState({ revision: 1 })).toEqual({ kind: "off" });
  });

  it("is sending until Sentinel has it (with the last error, if any)", () => {
    expect(mirrorState({ revision: 1, sentinel: aLink() })).toEqual({
      kind: "sending",
      lastError: undefined,
      incidentNumber: undefined,
      incidentUrl: undefined,
    });
    expect(mirrorState({ revision: 1, sentinel: aLink({ lastError: "Sentinel answered HTTP 503" }) })).toEqual({
      kind: "sending",
      lastError: "Sentinel answered HTTP 503",
      incidentNumber: undefined,
      incidentUrl: undefined,
    });
  });

  it("is synced when Sentinel has the revision, and says when it is behind", () => {
    const synced = aLink({ revision: 2, etag: '"e"', ...where });
    expect(mirrorState({ revision: 2, sentinel: synced })).toEqual({ kind: "synced", ...where, behind: false });
    expect(mirrorState({ revision: 3, sentinel: synced })).toEqual({ kind: "synced", ...where, behind: true });
    // An error of an earlier try, now synced: synced.
    expect(mirrorState({ revision: 2, sentinel: { ...synced, lastError: "old" } })).toEqual({
      kind: "synced",
      ...where,
      behind: false,
    });
  });

  it("is sending with the error when behind and the last try failed", () => {
    const failing = aLink({ revision: 2, etag: '"e"', lastError: "Sentinel answered HTTP 429", ...where });
    expect(mirrorState({ revision: 3, sentinel: failing })).toEqual({
      kind: "sending",
      lastError: "Sentinel answered HTTP 429",
      ...where,
    });
  });

  it("is rejected only for the revision Sentinel refused", () => {
    const rejected = aLink({ revision: 2, etag: '"e"', rejected: { revision: 3, reason: "Title too long" }, ...where });
    expect(mirrorState({ revision: 3, sentinel: rejected })).toEqual({ kind: "rejected", reason: "Title too long", ...where });
    expect(mirrorState({ revision: 4, sentinel: rejected })).toEqual({ kind: "synced", ...where, behind: true });
    // Never created there, refused: rejected, not sending.
    expect(mirrorState({ revision: 1, sentinel: aLink({ rejected: { revision: 1, reason: "No" } }) })).toMatchObject({
      kind: "rejected",
    });
  });
});

describe("mirroredFields", () => {
  const closed = anIncident({
    title: "Payroll fraud by a manager",
    description: "An employee says her manager changed bank details.",
    severity: "High",
    status: "Closed",
    classification: "TruePositive",
    classificationReason: "SuspiciousActivity",
    classificationComment: "Referred to HR and legal.",
    owner: ADELE,
    labels: labels("HR", "Fraud"),
  });

  it("gives Sentinel the incident's fields", () => {
    expect(mirroredFields(closed)).toEqual({
      title: closed.title,
      description: closed.description,
      severity: "High",
      status: "Closed",
      classification: "TruePositive",
      classificationReason: "SuspiciousActivity",
      classificationComment: "Referred to HR and legal.",
      owner: ADELE,
      labels: labels("HR", "Fraud"),
    });
    const open = mirroredFields(anIncident());
    expect(Object.keys(open).sort()).toEqual(["description", "labels", "severity", "status", "title"]);
  });

  it("gives a restricted incident a placeholder title and description, no tags and none of its words", () => {
    const fields = mirroredFields({ ...closed, restricted: true });
    expect(fields.title).toBe("Restricted incident INC-12");
    expect(restrictedTitle({ incidentNumber: 12 })).toBe("Restricted incident INC-12");
    expect(fields.labels).toEqual([]);
    expect(fields.description).toMatch(/need-to-know/i);
    // Who owns it and its state are mirrored.
    expect(fields).toMatchObject({ severity: "High", status: "Closed", classification: "TruePositive", owner: ADELE });
    const text = JSON.stringify(fields);
    for (const words of ["Payroll", "bank details", "HR", "Fraud", "Referred"]) expect(text).not.toContain(words);
  });
});

describe("withFields", () => {
  const closed = anIncident({
    status: "Closed",
    classification: "TruePositive",
    classificationReason: "SuspiciousActivity",
    classificationComment: "Referred to HR.",
    labels: labels("HR"),
  });
  const fromSentinel: MirroredFields = {
    ...BASE,
    title: "Sentinel title",
    status: "Closed",
    classification: "FalsePositive",
    classificationReason: "InaccurateData",
    classificationComment: "Typed in Sentinel.",
  };

  it("takes Sentinel's values of the groups named, and only those", () => {
    const next = withFields(closed, fromSentinel, ["status", "owner"]);
    expect(next).toEqual({
      ...closed,
      classification: "FalsePositive",
      classificationReason: "InaccurateData",
      classificationComment: "Typed in Sentinel.",
      owner: ADELE,
    });
  });

  it("keeps a restricted incident's own closing comment: it was never sent, so Sentinel's status does not replace it", () => {
    const restricted = { ...closed, restricted: true };
    expect(withFields(restricted, fromSentinel, ["status"])).toEqual({
      ...restricted,
      classification: "FalsePositive",
      classificationReason: "InaccurateData",
    });
    const { classificationComment: _, ...reopened } = {
      ...fromSentinel,
      status: "Active" as const,
      classification: undefined,
      classificationReason: undefined,
    };
    // Reopened in Sentinel: no classification, and no closing comment, as when reopened in Teams.
    const { classification: _c, classificationReason: _r, classificationComment: _m, ...rest } = restricted;
    expect(withFields(restricted, JSON.parse(JSON.stringify(reopened)) as MirroredFields, ["status"])).toEqual({
      ...rest,
      status: "Active",
    });
  });
});

describe("provenanceComments", () => {
  const evidence: MessageEvidence = {
    kind: "teams-message",
    messageId: "1700000000000",
    link: "https://teams.microsoft.com/l/message/19:abc/1700000000000",
    author: { kind: "user", id: "29:x", name: "Unknown Sender" },
    sentUtc: "2026-11-20T09:55:00.000Z",
    bodySha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  };
  const reported = anIncident({
    entryPoint: "message-extension",
    createdBy: { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" },
    evidence: [evidence],
  });
  const report = {
    reporter: { objectId: "6f1c2d3e-0000-4000-8000-000000000031", name: "Megan Bowen" },
    timeUtc: "2026-11-20T11:30:00.000Z",
    entryPoint: "chat-report" as const,
    title: "Same odd message",
    words: "It asked me for my password too.",
    evidence: { ...evidence, bodySha256: "a".repeat(64) },
  };

  it("tells who reported it, how and when, and the evidence with its SHA-256 and link", () => {
    const [created, ...rest] = provenanceComments(reported);
    expect(rest).toEqual([]);
    expect(created!.message).toContain("Alex Wilber");
    expect(created!.message).toContain("2026-11-20 10:00 UTC");
    expect(created!.message).toContain("Create incident on a Teams message");
    expect(created!.message).toContain("INC-12");
    expect(created!.message).toContain("Unknown Sender");
    expect(created!.message).toContain(evidence.bodySha256);
    expect(created!.message).toContain(evidence.link);
  });

  it("names how it was reported: the analyst's form, a chat report, or a Teams message, and when that message was sent", () => {
    const words = (entryPoint: Incident["entryPoint"]) => provenanceComments(anIncident({ entryPoint }))[0]!.message;
    expect(words("form")).toContain("through the incident form in the SOC Incident Bot.");
    expect(words("chat-report")).toContain("through a chat report to the SOC Incident Bot.");
    expect(words("message-extension")).toContain("through Create incident on a Teams message.");
    expect(provenanceComments(reported)[0]!.message).toContain(
      `Evidence: a Teams message by Unknown Sender, sent 2026-11-20 09:55 UTC, ${evidence.link}. SHA-256 of its body as Teams sent it: ${evidence.bodySha256}.`,
    );
  });

  it("gives the same ids for the same incident, other ids for another, and each later report an id of its own", () => {
    const first = provenanceComments(reported);
    expect(provenanceComments(JSON.parse(JSON.stringify(reported)) as Incident)).toEqual(first);
    const other = provenanceComments(anIncident({ ...reported, id: "11111111-2222-4333-8444-555555555555" }));
    expect(other[0]!.id).not.toBe(first[0]!.id);
    for (const c of [...first, ...other])
      expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);

    const withReports = provenanceComments({ ...reported, reports: [report, { ...report, title: "Third" }] });
    expect(withReports).toHaveLength(3);
    // The comments written earlier keep their ids; later reports get their own.
    expect(withReports[0]).toEqual(first[0]);
    expect(new Set(withReports.map((c) => c.id)).size).toBe(3);
    expect(provenanceComments({ ...reported, reports: [report, { ...report, title: "Third" }] })).toEqual(withReports);
    expect(withReports[1]!.message).toContain("Megan Bowen");
    expect(withReports[1]!.message).toContain("Same odd message");
    expect(withReports[1]!.message).toContain("It asked me for my password too.");
    expect(withReports[1]!.message).toContain("a".repeat(64));
  });

  it("says nothing of what a restricted incident is about: no words, no evidence, no reporter's name", () => {
    const restricted = { ...reported, restricted: true, title: "Manager payroll fraud", reports: [report] };
    const comments = provenanceComments(restricted);
    expect(comments.map((c) => c.id)).toEqual(provenanceComments({ ...reported, reports: [report] }).map((c) => c.id));
    const text = comments.map((c) => c.message).join("\n");
    expect(text).toContain("INC-12");
    expect(comments[1]!.message).toBe("Also reported in Microsoft Teams by another person on 2026-11-20 11:30 UTC.");
    for (const words of [
      "Manager payroll fraud",
      "Same odd message",
      "password",
      evidence.bodySha256,
      "a".repeat(64),
      evidence.link!,
      "Unknown Sender",
      "Megan Bowen",
      "Alex Wilber",
    ]) {
      expect(text).not.toContain(words);
    }
  });
});

describe("outgoingComment and outgoingTask", () => {
  const comment = (overrides: Partial<IncidentComment>): IncidentComment => ({
    id: "c-1",
    message: "Checked the badge logs.",
    author: { name: "Adele Vance" },
    createdTimeUtc: T,
    kind: "note",
    ...overrides,
  });

  it("says who wrote each kind of comment in Teams, under the comment's own id", () => {
    expect(outgoingComment(comment({}))).toEqual({ id: "c-1", message: "Adele Vance in Teams: Checked the badge logs." });
    expect(outgoingComment(comment({ shared: true }))).toEqual({
      id: "c-1",
      message: "Adele Vance in Teams (shared with the reporters): Checked the badge logs.",
    });
    expect(outgoingComment(comment({ kind: "question", message: "When?", shared: true }))).toEqual({
      id: "c-1",
      message: "Adele Vance asked the reporters in Teams: When?",
    });
    expect(outgoingComment(comment({ kind: "answer", author: { name: "Megan Bowen" }, message: "At 9." }))).toEqual({
      id: "c-1",
      message: "Megan Bowen (reporter) answered in Teams: At 9.",
    });
  });

  it("gives a task its id, title, status and who added and completed it", () => {
    const task = { id: "t-1", title: "Pull CCTV", status: "New" as const, createdBy: { name: "Adele Vance" }, createdTimeUtc: T };
    expect(outgoingTask(task)).toEqual({
      id: "t-1",
      title: "Pull CCTV",
      status: "New",
      description: "Added in Microsoft Teams by Adele Vance on 2026-11-20 10:00 UTC.",
    });
    const done = {
      ...task,
      status: "Completed" as const,
      completedBy: { name: "Lynne Robbins" },
      completedTimeUtc: "2026-11-21T08:30:00.000Z",
    };
    expect(outgoingTask(done).description).toBe(
      "Added in Microsoft Teams by Adele Vance on 2026-11-20 10:00 UTC. Completed by Lynne Robbins on 2026-11-21 08:30 UTC.",
    );
  });
});
