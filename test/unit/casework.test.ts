import {
  changeWords,
  checkMessage,
  checkTaskTitle,
  cleanText,
  MESSAGE_MAX_LENGTH,
  mergeOutbox,
  outboxDue,
  stableId,
  TASK_TITLE_MAX_LENGTH,
  withNotices,
} from "../../src/incidents/casework";
import type { Actor, Incident, Owner, ReporterNotice, ReportAccount } from "../../src/incidents/model";
import { aNewIncident } from "../support/builders";

/** A stored incident (number 7, revision 3); override what the test is about. */
function anIncident(overrides: Partial<Incident> = {}): Incident {
  return { ...aNewIncident(), incidentNumber: 7, revision: 3, ...overrides };
}

const ALEX: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000020", name: "Alex Wilber" };
const MEGAN: Actor = { objectId: "6F1C2D3E-0000-4000-8000-000000000031", name: "Megan Bowen" };
const MEGAN_KEY = "aad:6f1c2d3e-0000-4000-8000-000000000031";
const LEE: Actor = { objectId: "6f1c2d3e-0000-4000-8000-000000000032", name: "Lee Gu" };
const LEE_KEY = "aad:6f1c2d3e-0000-4000-8000-000000000032";
const GUEST: Actor = { teamsId: "29:guest-mri", name: "A guest" };
const GUEST_KEY = "teams:29:guest-mri";

const ADELE: Owner = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01", ownerType: "User", assignedTo: "Adele Vance" };
const TIER1: Owner = { objectId: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e02", ownerType: "Group", assignedTo: "SOC Tier 1" };

const NOW = "2026-11-20T12:00:00.000Z";

function aReport(reporter: Actor): ReportAccount {
  return { reporter, timeUtc: "2026-11-20T10:05:00.000Z", entryPoint: "message-extension", title: "Same", words: "Me too" };
}

function aNotice(id: string, overrides: Partial<ReporterNotice> = {}): ReporterNotice {
  return {
    id,
    to: id.slice(id.indexOf(":") + 1),
    name: "Megan Bowen",
    text: "The SOC is investigating INC-7.",
    state: "pending",
    attempts: 0,
    dueUtc: NOW,
    updatedUtc: NOW,
    ...overrides,
  };
}

describe("what a reporter hears about a change (changeWords)", () => {
  const before = anIncident({ status: "New", severity: "Medium" });

  it("says who handles the report when an owner takes it, or another owner does", () => {
    expect(changeWords(before, { ...before, owner: ADELE })).toEqual(["Adele Vance from the SOC is now handling your report INC-7."]);
    expect(changeWords({ ...before, owner: ADELE }, { ...before, owner: TIER1 })).toEqual([
      "SOC Tier 1 from the SOC is now handling your report INC-7.",
    ]);
  });

  it("says nothing about the owner when it stays the same one or is removed", () => {
    expect(changeWords({ ...before, owner: ADELE }, { ...before, owner: { ...ADELE, assignedTo: "Adele V." } })).toEqual([]);
    expect(changeWords({ ...before, owner: ADELE }, before)).toEqual([]);
  });

  it("says the SOC is investigating when it becomes Active", () => {
    expect(changeWords(before, { ...before, status: "Active" })).toEqual(["The SOC is investigating INC-7."]);
  });

  it("says it is closed, and thanks the reporter, when it becomes Closed", () => {
    expect(changeWords({ ...before, status: "Active" }, { ...before, status: "Closed" })).toEqual([
      "INC-7 is closed. Thank you for reporting it: it helps keep everyone safe.",
    ]);
  });

  it("says it was reopened when a closed incident becomes New again", () => {
    expect(changeWords({ ...before, status: "Closed" }, { ...before, status: "New" })).toEqual([
      "INC-7 was reopened; the SOC will look at it again.",
    ]);
  });

  it("tells the owner first, then the status, when both change at once", () => {
    expect(changeWords(before, { ...before, owner: TIER1, status: "Active" })).toEqual([
      "SOC Tier 1 from the SOC is now handling your report INC-7.",
      "The SOC is investigating INC-7.",
    ]);
  });

  it("says nothing when only the severity, title, tags or description change", () => {
    expect(changeWords(before, { ...before, severity: "High" })).toEqual([]);
    expect(
      changeWords(before, {
        ...before,
        severity: "Informational",
        title: "Renamed",
        description: "Analyst's notes",
        labels: [{ labelName: "Internal", labelType: "User" }],
      }),
    ).toEqual([]);
  });

  it("never mentions the classification, its reason or comment, nor the severity", () => {
    const closed = {
      ...before,
      status: "Closed" as const,
      severity: "High" as const,
      classification: "TruePositive" as const,
      classificationReason: "SuspiciousActivity" as const,
      classificationComment: "Insider: HR informed",
    };
    const words = changeWords(before, closed).join("\n");
    expect(words).toContain("INC-7 is closed.");
    expect(words).not.toMatch(/positive|suspicious|insider|HR|classif|severity|high/i);
    // Only the classification changes: nothing at all.
    expect(changeWords(closed, { ...closed, classification: "FalsePositive", classificationReason: "InaccurateData" })).toEqual([]);
  });
});

describe("notices to the reporters (withNotices)", () => {
  const reported = anIncident({
    entryPoint: "chat-report",
    createdBy: MEGAN,
    reports: [aReport(GUEST), aReport(MEGAN), aReport(LEE)],
  });

  it("writes one pending notice per reporter, due now, with the id <revision>:<personKey>", () => {
    const next = withNotices(reported, "The SOC is investigating INC-7.", 4, ALEX, NOW);
    const base = { text: "The SOC is investigating INC-7.", state: "pending", attempts: 0, dueUtc: NOW, updatedUtc: NOW };
    expect(next.outbox).toEqual([
      { id: `4:${MEGAN_KEY}`, to: MEGAN_KEY, name: "Megan Bowen", ...base },
      { id: `4:${GUEST_KEY}`, to: GUEST_KEY, name: "A guest", ...base },
      { id: `4:${LEE_KEY}`, to: LEE_KEY, name: "Lee Gu", ...base },
    ]);
    expect(next.outbox?.[0]).not.toHaveProperty("questionId");
    // Nothing else of the incident changes.
    expect({ ...next, outbox: undefined }).toEqual({ ...reported, outbox: undefined });
  });

  it("does not tell the person who made the change, whatever the case of their object id", () => {
    const lee = { ...LEE, objectId: LEE.objectId!.toUpperCase() };
    expect(withNotices(reported, "News", 4, lee, NOW).outbox?.map((n) => n.to)).toEqual([MEGAN_KEY, GUEST_KEY]);
    expect(withNotices(reported, "News", 4, { ...GUEST, name: "Renamed guest" }, NOW).outbox?.map((n) => n.to)).toEqual([
      MEGAN_KEY,
      LEE_KEY,
    ]);
  });

  it("does not tell the analyst who typed a form-made incident, only those who reported it later", () => {
    const formMade = anIncident({ entryPoint: "form", createdBy: ALEX, reports: [aReport(MEGAN)] });
    expect(withNotices(formMade, "News", 2, LEE, NOW).outbox?.map((n) => n.id)).toEqual([`2:${MEGAN_KEY}`]);
    const formOnly = anIncident({ entryPoint: "form", createdBy: ALEX });
    expect(withNotices(formOnly, "News", 2, LEE, NOW)).toBe(formOnly);
  });

  it("tells the creator of an incident reported by message too", () => {
    const byMessage = anIncident({ entryPoint: "message-extension", createdBy: MEGAN });
    expect(withNotices(byMessage, "News", 2, ALEX, NOW).outbox?.map((n) => n.to)).toEqual([MEGAN_KEY]);
  });

  it("skips a reporter who can't be told apart (neither object id nor Teams id)", () => {
    const anonymous = anIncident({ entryPoint: "chat-report", createdBy: { name: "Nobody known" }, reports: [aReport(LEE)] });
    expect(withNotices(anonymous, "News", 2, ALEX, NOW).outbox?.map((n) => n.to)).toEqual([LEE_KEY]);
  });

  it("writes nothing when there is nothing to say or nobody to tell", () => {
    expect(withNotices(reported, "", 4, ALEX, NOW)).toBe(reported);
    const onlyMe = anIncident({ entryPoint: "chat-report", createdBy: MEGAN });
    expect(withNotices(onlyMe, "News", 4, MEGAN, NOW)).toBe(onlyMe);
    expect(withNotices(onlyMe, "News", 4, MEGAN, NOW)).not.toHaveProperty("outbox");
  });

  it("names the question a notice asks", () => {
    const next = withNotices(reported, "A question", 4, ALEX, NOW, "q-1");
    expect(next.outbox?.map((n) => n.questionId)).toEqual(["q-1", "q-1", "q-1"]);
  });

  it("keeps the notices already there, adding the new ones after them", () => {
    const earlier = aNotice(`2:${MEGAN_KEY}`, { state: "sent", attempts: 1 });
    const next = withNotices({ ...reported, outbox: [earlier] }, "News", 4, ALEX, NOW);
    expect(next.outbox?.map((n) => n.id)).toEqual([earlier.id, `4:${MEGAN_KEY}`, `4:${GUEST_KEY}`, `4:${LEE_KEY}`]);
    expect(next.outbox?.[0]).toBe(earlier);
  });

  it("keeps every pending notice but only the latest 20 settled ones", () => {
    const settled = Array.from({ length: 25 }, (_, i) => aNotice(`${i}:aad:x`, { state: i % 2 ? "sent" : "unreachable" }));
    const pending = aNotice("1:aad:y");
    const next = withNotices({ ...reported, outbox: [pending, ...settled] }, "News", 40, ALEX, NOW);
    expect(next.outbox?.map((n) => n.id)).toEqual([
      "1:aad:y",
      ...settled.slice(5).map((n) => n.id),
      `40:${MEGAN_KEY}`,
      `40:${GUEST_KEY}`,
      `40:${LEE_KEY}`,
    ]);
  });
});

describe("merging the stored outbox with an edit's (mergeOutbox)", () => {
  it("keeps a stored notice's stored state, even when the edit carries an older copy of it", () => {
    const sent = aNotice("2:aad:a", { state: "sent", attempts: 1 });
    const claimed = aNotice("2:aad:b", { claimUntilUtc: "2026-11-20T12:02:00.000Z" });
    const stale = [aNotice("2:aad:a"), aNotice("2:aad:b")];
    expect(mergeOutbox([sent, claimed], stale)).toEqual([sent, claimed]);
  });

  it("adds the notices new in the edit, after the stored ones", () => {
    const stored = aNotice("2:aad:a", { state: "sent", attempts: 1 });
    const added = aNotice("3:aad:a");
    expect(mergeOutbox([stored], [aNotice("2:aad:a"), added])).toEqual([stored, added]);
    expect(mergeOutbox(undefined, [added])).toEqual([added]);
  });

  it("keeps stored notices the edit does not carry", () => {
    const stored = [aNotice("2:aad:a"), aNotice("2:aad:b", { state: "unreachable" })];
    expect(mergeOutbox(stored, undefined)).toEqual(stored);
    expect(mergeOutbox(stored, [])).toEqual(stored);
  });

  it("gives undefined, not an empty outbox, when there are no notices", () => {
    expect(mergeOutbox(undefined, undefined)).toBeUndefined();
    expect(mergeOutbox([], [])).toBeUndefined();
  });

  it("keeps every pending notice but only the latest 20 settled ones", () => {
    const settled = Array.from({ length: 20 }, (_, i) => aNotice(`${i}:aad:x`, { state: "sent" }));
    const pending = aNotice("30:aad:y");
    const newlySettled = aNotice("31:aad:x", { state: "unreachable" });
    expect(mergeOutbox([...settled, pending], [newlySettled])?.map((n) => n.id)).toEqual([
      ...settled.slice(1).map((n) => n.id),
      "30:aad:y",
      "31:aad:x",
    ]);
  });
});

describe("when an incident's next notice is due (outboxDue)", () => {
  it("is undefined without pending notices", () => {
    expect(outboxDue({})).toBeUndefined();
    expect(outboxDue({ outbox: [] })).toBeUndefined();
    expect(outboxDue({ outbox: [aNotice("1:a", { state: "sent" }), aNotice("1:b", { state: "unreachable" })] })).toBeUndefined();
  });

  it("is the earliest pending notice's due time, ignoring settled ones", () => {
    expect(
      outboxDue({
        outbox: [
          aNotice("1:a", { state: "sent", dueUtc: "2026-11-20T08:00:00.000Z" }),
          aNotice("2:a", { dueUtc: "2026-11-20T11:00:00.000Z" }),
          aNotice("2:b", { dueUtc: "2026-11-20T10:00:00.000Z" }),
          aNotice("1:c", { state: "unreachable", dueUtc: "2026-11-20T09:00:00.000Z" }),
        ],
      }),
    ).toBe("2026-11-20T10:00:00.000Z");
  });

  it("waits for a claim later than the due time, and ignores one that lapsed before it", () => {
    const claimed = aNotice("1:a", { dueUtc: "2026-11-20T10:00:00.000Z", claimUntilUtc: "2026-11-20T12:00:00.000Z" });
    expect(outboxDue({ outbox: [claimed] })).toBe("2026-11-20T12:00:00.000Z");
    const retried = aNotice("1:a", { dueUtc: "2026-11-20T10:00:00.000Z", claimUntilUtc: "2026-11-20T09:00:00.000Z" });
    expect(outboxDue({ outbox: [retried] })).toBe("2026-11-20T10:00:00.000Z");
    // The claimed one is due after an unclaimed later one.
    const later = aNotice("1:b", { dueUtc: "2026-11-20T11:00:00.000Z" });
    expect(outboxDue({ outbox: [claimed, later] })).toBe("2026-11-20T11:00:00.000Z");
  });
});

describe("ids made from what made them (stableId)", () => {
  const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("gives the same id for the same parts, another for other parts", () => {
    expect(stableId("comment", "inc-1", 3, "Hello")).toBe(stableId("comment", "inc-1", 3, "Hello"));
    expect(stableId("comment", "inc-1", 3, "Hello")).not.toBe(stableId("comment", "inc-1", 4, "Hello"));
    expect(stableId("comment", "inc-1", 3, "Hello")).not.toBe(stableId("task", "inc-1", 3, "Hello"));
  });

  it("keeps the parts apart: moving text from one part to the next gives another id", () => {
    expect(stableId("ab", "c")).not.toBe(stableId("a", "bc"));
    expect(stableId("a b")).not.toBe(stableId("a", "b"));
  });

  it("is shaped as a lower-case version-4 GUID", () => {
    for (const parts of [[""], ["comment", "x"], ["task", 1, "Call the reporter"], ["ünïcødé 🚨"]]) {
      expect(stableId(...parts)).toMatch(GUID);
    }
  });
});

describe("checking what an analyst or reporter typed", () => {
  it("takes a message of exactly MESSAGE_MAX_LENGTH characters, not one more", () => {
    expect(MESSAGE_MAX_LENGTH).toBe(4000);
    expect(checkMessage("x".repeat(MESSAGE_MAX_LENGTH), "comment")).toBeUndefined();
    expect(checkMessage("x".repeat(MESSAGE_MAX_LENGTH + 1), "comment")).toBe(
      `The comment is ${MESSAGE_MAX_LENGTH + 1} characters long; the most is ${MESSAGE_MAX_LENGTH}.`,
    );
    expect(checkMessage("x".repeat(MESSAGE_MAX_LENGTH + 1), "answer")).toMatch(/^The answer is 4001 characters long/);
  });

  it("asks for the message when it is empty, naming what it is", () => {
    expect(checkMessage("", "comment")).toBe("Write the comment first.");
    expect(checkMessage("", "question")).toBe("Write the question first.");
    expect(checkMessage("", "answer")).toBe("Write the answer first.");
    expect(checkMessage("?", "question")).toBeUndefined();
  });

  it("takes a task title of exactly TASK_TITLE_MAX_LENGTH characters, not one more, and not an empty one", () => {
    expect(TASK_TITLE_MAX_LENGTH).toBe(200);
    expect(checkTaskTitle("t".repeat(TASK_TITLE_MAX_LENGTH))).toBeUndefined();
    expect(checkTaskTitle("t".repeat(TASK_TITLE_MAX_LENGTH + 1))).toBe(
      `The task's title is ${TASK_TITLE_MAX_LENGTH + 1} characters long; the most is ${TASK_TITLE_MAX_LENGTH}.`,
    );
    expect(checkTaskTitle("")).toBe("Give the task a title.");
    expect(checkTaskTitle("t")).toBeUndefined();
  });
});

describe("cleaning typed text (cleanText)", () => {
  it("trims and writes every line end as \\n", () => {
    expect(cleanText("  one\r\ntwo\rthree\nfour \n\t ")).toBe("one\ntwo\nthree\nfour");
  });

  it("drops control characters but keeps new lines and tabs", () => {
    expect(cleanText("a\u0000b\u0007c\u0008d\u000be\u000cf\u001bg\u001fh\u007fi\tj\nk")).toBe("abcdefghi\tj\nk");
  });

  it("keeps other text as typed", () => {
    const text = "Ünïcødé 🚨 <b>html</b> 'quotes' \"double\" ${not.a.template} 100%";
    expect(cleanText(text)).toBe(text);
  });

  it("gives an empty text for white space and control characters only", () => {
    expect(cleanText(" \r\n\t\u0001 ")).toBe("");
  });

  it("drops the C1 control characters (U+0080-U+009F) too, as the validation of descriptions and tags refuses them", () => {
    // U+009B is a terminal's CSI; U+0085 a next-line that not every reader shows as one.
    expect(cleanText("a\u0080b\u0085c\u009bd\u009fe")).toBe("abcde");
  });
});
