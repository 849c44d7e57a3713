import { checkReport, localToUtc, readReport, suggestTitle, WHERE_MAX_LENGTH, type ReportForm } from "../../src/incidents/report";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "../../src/incidents/validation";

/**
 * An employee's "Report suspicious activity" card (src/incidents/report.ts): the title suggested from
 * what they wrote, the time they give in their own time zone, and the rules a report must meet.
 */

const NOW = new Date("2026-11-26T12:00:00.000Z");
const SUBMISSION = "0f8fad5b-d9cb-469f-a165-70867728950e";

function aReport(overrides: Partial<ReportForm> = {}): ReportForm {
  return {
    submissionId: SUBMISSION,
    title: "Stranger at the badge door",
    whatHappened: "Someone followed me in without badging.",
    whenDate: "",
    whenTime: "",
    where: "",
    urgent: "false",
    ...overrides,
  };
}

function errorsOf(overrides: Partial<ReportForm>, timeZone?: string) {
  const result = checkReport(aReport(overrides), timeZone, NOW);
  return result.ok ? {} : result.errors;
}

describe("the title suggested from what someone wrote (suggestTitle)", () => {
  it("takes the first sentence, without its full stop, capitalised", () => {
    expect(suggestTitle("someone followed me through the badge door. Then they left.")).toBe(
      "Someone followed me through the badge door",
    );
  });

  it("ends a sentence at ! or ? too, dropping a run of them", () => {
    expect(suggestTitle("Where is my laptop?! It was on my desk")).toBe("Where is my laptop");
    expect(suggestTitle("Help! My screen is locked")).toBe("Help");
    expect(suggestTitle("Done...")).toBe("Done");
  });

  it("does not end a sentence at a dot inside a word (a version number)", () => {
    expect(suggestTitle("v1.2 of the app crashed")).toBe("V1.2 of the app crashed");
  });

  it("takes only the first line, whatever the line ends", () => {
    expect(suggestTitle("first line\nsecond line")).toBe("First line");
    expect(suggestTitle("first line\r\nsecond line")).toBe("First line");
  });

  it("trims and collapses white space", () => {
    expect(suggestTitle("   badge   door \t open   ")).toBe("Badge door open");
    expect(suggestTitle("\n\n  first real line\nsecond")).toBe("First real line");
  });

  it("keeps a title of 80 characters whole and shortens a longer one at a word, with an ellipsis", () => {
    expect(suggestTitle("x".repeat(80))).toBe(`X${"x".repeat(79)}`);
    expect(suggestTitle("x".repeat(81))).toBe(`X${"x".repeat(78)}…`);
    const long = suggestTitle("word ".repeat(30));
    expect(long).toBe(`Word${" word".repeat(14)}…`);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(suggestTitle(`${"a".repeat(40)} ${"b".repeat(50)}`)).toBe(`A${"a".repeat(39)}…`);
  });

  it("gives an empty title for empty text", () => {
    expect(suggestTitle("")).toBe("");
    expect(suggestTitle("  \n ")).toBe("");
  });
});

describe("a wall-clock time in the reporter's time zone (localToUtc)", () => {
  const utc = (date: string, time: string, zone?: string) => localToUtc(date, time, zone)?.toISOString();

  it("reads the time in the reporter's zone, east and west of Greenwich, in winter and summer", () => {
    expect(utc("2026-01-15", "10:00", "Europe/Paris")).toBe("2026-01-15T09:00:00.000Z");
    expect(utc("2026-07-15", "15:30", "Europe/Paris")).toBe("2026-07-15T13:30:00.000Z");
    expect(utc("2026-01-15", "10:00", "America/New_York")).toBe("2026-01-15T15:00:00.000Z");
    expect(utc("2026-01-01", "00:30", "Asia/Kathmandu")).toBe("2025-12-31T18:45:00.000Z");
  });

  it("reads a time the clocks skipped (spring forward) as the same instant as an hour later", () => {
    expect(utc("2026-03-29", "02:30", "Europe/Paris")).toBe("2026-03-29T01:30:00.000Z");
    expect(utc("2026-03-29", "03:30", "Europe/Paris")).toBe("2026-03-29T01:30:00.000Z");
  });

  it("uses UTC when the zone is unknown or not a real zone", () => {
    expect(utc("2026-01-15", "10:00", undefined)).toBe("2026-01-15T10:00:00.000Z");
    expect(utc("2026-01-15", "10:00", "Mars/Olympus")).toBe("2026-01-15T10:00:00.000Z");
  });

  it("takes midnight when no time is given, and ignores seconds", () => {
    expect(utc("2026-01-15", "", "Asia/Kolkata")).toBe("2026-01-14T18:30:00.000Z");
    expect(utc("2026-01-15", "10:30:15", undefined)).toBe("2026-01-15T10:30:00.000Z");
  });

  it("refuses dates and times that do not exist or are not written as the card writes them", () => {
    expect(utc("2028-02-29", "10:00")).toBe("2028-02-29T10:00:00.000Z");
    for (const [date, time] of [
      ["2026-02-29", "10:00"],
      ["2026-13-01", "10:00"],
      ["2026-01-15", "24:00"],
      ["2026-01-15", "10:60"],
      ["2026-1-15", "10:00"],
      ["2026-01-15", "9:00"],
      ["15/01/2026", "10:00"],
      ["2026-01-15", "10:00 pm"],
      ["x2026-01-15", "10:00"],
    ]) {
      expect([date, time, localToUtc(date!, time!, undefined)]).toEqual([date, time, undefined]);
    }
  });
});

describe("the rules of a report (checkReport)", () => {
  it("makes a New, unowned, untagged Medium incident of the report, the place added to the description", () => {
    const result = checkReport(
      aReport({ title: "  Tailgater  ", whatHappened: "  Followed me in.  ", where: "  Building   3, door\tB " }),
      undefined,
      NOW,
    );
    expect(result).toStrictEqual({
      ok: true,
      form: {
        submissionId: SUBMISSION,
        title: "Tailgater",
        description: "Followed me in.\n\nWhere: Building 3, door B",
        severity: "Medium",
        status: "New",
        closing: "",
        closingComment: "",
        owner: "",
        tags: "",
        restricted: "false",
      },
    });
  });

  it("makes an urgent report High, and keeps need-to-know when asked for", () => {
    expect(checkReport(aReport({ urgent: "true" }), undefined, NOW)).toMatchObject({ ok: true, form: { severity: "High" } });
    expect(checkReport(aReport({ urgent: "yes" }), undefined, NOW)).toMatchObject({ ok: true, form: { severity: "Medium" } });
    expect(checkReport(aReport({ restricted: "true" }), undefined, NOW)).toMatchObject({
      ok: true,
      form: { restricted: "true" },
    });
    expect(checkReport(aReport({ restricted: "on" }), undefined, NOW)).toMatchObject({ ok: true, form: { restricted: "false" } });
  });

  it("leaves out the place when none is given", () => {
    const result = checkReport(aReport({ whatHappened: "It happened.", where: "   " }), undefined, NOW);
    expect(result.ok && result.form.description).toBe("It happened.");
  });

  it("needs a title and what happened, and names both at once", () => {
    expect(errorsOf({ title: "  ", whatHappened: "\n" })).toEqual({
      title: "Give your report a short title.",
      whatHappened: "Tell us what happened.",
    });
  });

  it(`bounds the title at ${TITLE_MAX_LENGTH} characters`, () => {
    expect(errorsOf({ title: "t".repeat(TITLE_MAX_LENGTH) })).toEqual({});
    expect(errorsOf({ title: "t".repeat(TITLE_MAX_LENGTH + 1) })).toEqual({
      title: `Keep the title to ${TITLE_MAX_LENGTH} characters (it has ${TITLE_MAX_LENGTH + 1}).`,
    });
  });

  it(`bounds the place at ${WHERE_MAX_LENGTH} characters, counted after white space is collapsed`, () => {
    expect(errorsOf({ where: "w".repeat(WHERE_MAX_LENGTH) })).toEqual({});
    expect(errorsOf({ where: `w${"  ".repeat(150)}w` })).toEqual({});
    expect(errorsOf({ where: "w".repeat(WHERE_MAX_LENGTH + 1) })).toEqual({
      where: `Keep the place to ${WHERE_MAX_LENGTH} characters.`,
    });
  });

  it(`bounds what happened so that the description, place included, stays within ${DESCRIPTION_MAX_LENGTH}`, () => {
    expect(errorsOf({ whatHappened: "w".repeat(DESCRIPTION_MAX_LENGTH) })).toEqual({});
    expect(errorsOf({ whatHappened: "w".repeat(DESCRIPTION_MAX_LENGTH + 1) })).toEqual({
      whatHappened: `Keep it to ${DESCRIPTION_MAX_LENGTH} characters (it has ${DESCRIPTION_MAX_LENGTH + 1}).`,
    });
    // "\n\nWhere: B3" takes 11 characters of the description.
    expect(errorsOf({ whatHappened: "w".repeat(DESCRIPTION_MAX_LENGTH - 11), where: "B3" })).toEqual({});
    expect(errorsOf({ whatHappened: "w".repeat(DESCRIPTION_MAX_LENGTH - 10), where: "B3" })).toEqual({
      whatHappened: `Keep it to ${DESCRIPTION_MAX_LENGTH - 11} characters (it has ${DESCRIPTION_MAX_LENGTH - 10}).`,
    });
  });

  it("asks for what happened, not for a shorter text, when only a long place was given", () => {
    expect(errorsOf({ whatHappened: "", where: "p".repeat(DESCRIPTION_MAX_LENGTH) })).toEqual({
      whatHappened: "Tell us what happened.",
      where: `Keep the place to ${WHERE_MAX_LENGTH} characters.`,
    });
  });

  it("records when it happened, read in the reporter's time zone", () => {
    const result = checkReport(aReport({ whenDate: "2026-11-26", whenTime: "09:15" }), "Europe/Paris", NOW);
    expect(result).toMatchObject({ ok: true, firstActivityTimeUtc: "2026-11-26T08:15:00.000Z" });
  });

  it("records no time when none is given", () => {
    const result = checkReport(aReport({ whenDate: " ", whenTime: " " }), "Europe/Paris", NOW);
    expect(result.ok).toBe(true);
    expect(result).not.toHaveProperty("firstActivityTimeUtc");
  });

  it("takes today (UTC) when only a time is given, and midnight when only a date is", () => {
    expect(checkReport(aReport({ whenTime: "08:00" }), undefined, NOW)).toMatchObject({
      firstActivityTimeUtc: "2026-11-26T08:00:00.000Z",
    });
    expect(checkReport(aReport({ whenDate: "2026-11-20" }), undefined, NOW)).toMatchObject({
      firstActivityTimeUtc: "2026-11-20T00:00:00.000Z",
    });
  });

  it("refuses a date or time that does not exist", () => {
    expect(errorsOf({ whenDate: "2026-02-30", whenTime: "10:00" })).toEqual({ when: "That date or time is not valid." });
    expect(errorsOf({ whenDate: "2026-11-26", whenTime: "25:00" })).toEqual({ when: "That date or time is not valid." });
  });

  it("accepts a time up to ten minutes ahead (clocks differ), not later", () => {
    expect(checkReport(aReport({ whenDate: "2026-11-26", whenTime: "12:10" }), undefined, NOW)).toMatchObject({
      ok: true,
      firstActivityTimeUtc: "2026-11-26T12:10:00.000Z",
    });
    expect(errorsOf({ whenDate: "2026-11-26", whenTime: "12:11" })).toEqual({ when: "That time is in the future." });
    expect(errorsOf({ whenDate: "2026-11-26", whenTime: "13:05" }, "Europe/Paris")).toEqual({});
    expect(errorsOf({ whenDate: "2026-11-26", whenTime: "13:11" }, "Europe/Paris")).toEqual({
      when: "That time is in the future.",
    });
  });
});

describe("reading a report card's data (readReport)", () => {
  it("reads every field as text, absent ones as empty", () => {
    expect(readReport({ title: "T", whatHappened: "W", verb: "report", extra: 42 })).toStrictEqual({
      ok: true,
      report: {
        submissionId: "",
        title: "T",
        whatHappened: "W",
        whenDate: "",
        whenTime: "",
        where: "",
        urgent: "",
        restricted: "",
      },
    });
  });

  it("takes the toggles as booleans too", () => {
    const read = readReport({ urgent: true, restricted: false });
    expect(read.ok && [read.report.urgent, read.report.restricted]).toEqual(["true", "false"]);
  });

  it("names the fields that are not text, and only a toggle may be a boolean", () => {
    expect(readReport({ title: true, where: 3, urgent: "true" })).toEqual({
      ok: false,
      problem: "These report fields must be text: title, where.",
    });
    expect(readReport({ urgent: 1 })).toEqual({ ok: false, problem: "These report fields must be text: urgent." });
  });

  it("refuses data that is not an object", () => {
    for (const data of [undefined, null, "report", ["title"]]) {
      expect(readReport(data)).toEqual({ ok: false, problem: "The report data is missing or is not an object." });
    }
  });
});
