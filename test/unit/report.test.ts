import { checkReport, localToUtc, readReport, suggestTitle, type ReportForm } from "../../src/incidents/report";

/**
 * An employee's "Report suspicious activity": the title suggested from their words, and the rules
 * checkReport applies (when it happened, read in the person's time zone; where; urgent -> High).
 */

const ID = "6b1f3c1e-8d2a-4c55-9e0f-2f7b1a3c4d5e";

function aReport(overrides: Partial<ReportForm> = {}): ReportForm {
  return {
    submissionId: ID,
    title: "Someone followed me through the badge door",
    whatHappened: "A man without a badge walked in behind me at door 3.",
    whenDate: "",
    whenTime: "",
    where: "",
    urgent: "false",
    ...overrides,
  };
}

/** A fixed "now" well after every date below (2026-12-01 12:00 UTC). */
const NOW = new Date("2026-12-01T12:00:00.000Z");

/** When the report says it happened, as checkReport records it (fails the test on errors). */
function firstActivity(whenDate: string, whenTime: string, timeZone: string | undefined, now = NOW): string | undefined {
  const result = checkReport(aReport({ whenDate, whenTime }), timeZone, now);
  if (!result.ok) throw new Error(`expected the report to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.firstActivityTimeUtc;
}

function errorsOf(report: Partial<ReportForm>, timeZone?: string, now = NOW) {
  const result = checkReport(aReport(report), timeZone, now);
  return result.ok ? {} : result.errors;
}

describe("the title suggested from what someone wrote", () => {
  it.each([
    ["someone followed me through the badge door at building 3. They had no badge.", "Someone followed me through the badge door at building 3"],
    ["  lost my laptop!!!  \nIt was in a taxi on the way to the airport", "Lost my laptop"],
    ["my screen shows a ransom note\r\nand the files end in .locked", "My screen shows a ransom note"],
    ["Is this e-mail a scam? It asks for my password", "Is this e-mail a scam"],
    ["Version 1.2 of the VPN client asks for my password. Odd", "Version 1.2 of the VPN client asks for my password"],
    ["phishing   mail\tfrom   the  ceo", "Phishing mail from the ceo"],
    ["ünexpected login from abroad", "Ünexpected login from abroad"],
    ["", ""],
    ["   \n  ", ""],
    ["...", ""],
  ])("%j -> %j", (text, title) => {
    expect(suggestTitle(text)).toBe(title);
  });

  it("keeps a first sentence of 80 characters whole, and cuts a longer one at a word with an ellipsis", () => {
    const eighty = `Badge ${"x".repeat(66)} at door`;
    expect(eighty).toHaveLength(80);
    expect(suggestTitle(eighty)).toBe(eighty);
    expect(suggestTitle(`${eighty}s`)).toBe(`Badge ${"x".repeat(66)} at…`);
    expect(suggestTitle("word ".repeat(30))).toBe(`Word${" word".repeat(14)}…`);
    expect(suggestTitle("The quick brown fox jumps over the lazy dog and keeps running far away from the farm house")).toBe(
      "The quick brown fox jumps over the lazy dog and keeps running far away from…",
    );
    // One word longer than the limit: cut inside it.
    const long = suggestTitle("a".repeat(100));
    expect(long).toBe(`A${"a".repeat(78)}…`);
    expect(long).toHaveLength(80);
  });
});

describe("a report that is complete", () => {
  it("becomes a New, unowned, Medium incident with nothing an employee may not set", () => {
    expect(checkReport(aReport({ title: "  Tailgater at door 3 ", whatHappened: "  He walked in behind me.  " }), "Europe/London", NOW)).toEqual({
      ok: true,
      form: {
        submissionId: ID,
        title: "Tailgater at door 3",
        description: "He walked in behind me.",
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

  it.each([
    ["true", "High"],
    ["false", "Medium"],
    ["", "Medium"],
    ["yes", "Medium"],
    ["TRUE", "Medium"],
  ])("urgent %p -> severity %p", (urgent, severity) => {
    const result = checkReport(aReport({ urgent }), undefined, NOW);
    expect(result.ok && result.form.severity).toBe(severity);
  });

  it.each([
    ["true", "true"],
    ["false", "false"],
    [undefined, "false"],
    ["1", "false"],
  ])("restricted %p -> %p", (restricted, expected) => {
    const result = checkReport(aReport({ restricted }), undefined, NOW);
    expect(result.ok && result.form.restricted).toBe(expected);
  });

  it("adds the place to the description, with its spaces tidied", () => {
    const result = checkReport(aReport({ whatHappened: "Tailgating.", where: "  Building 3,\n  north   door " }), undefined, NOW);
    expect(result.ok && result.form.description).toBe("Tailgating.\n\nWhere: Building 3, north door");
  });
});

describe("what a report needs", () => {
  it("reports every missing or wrong field at once", () => {
    expect(errorsOf({ title: " ", whatHappened: "\n", whenDate: "2026-13-01", where: "x".repeat(201) })).toEqual({
      title: "Give your report a short title.",
      whatHappened: "Tell us what happened.",
      where: "Keep the place to 200 characters.",
      when: "That date or time is not valid.",
    });
  });

  it("takes a title of 256 characters, not 257", () => {
    expect(errorsOf({ title: "t".repeat(256) })).toEqual({});
    expect(errorsOf({ title: ` ${"t".repeat(256)} ` })).toEqual({});
    expect(errorsOf({ title: "t".repeat(257) })).toEqual({ title: "Keep the title to 256 characters (it has 257)." });
  });

  it("takes a place of 200 characters, not 201, counted after spaces are tidied", () => {
    expect(errorsOf({ where: "p".repeat(200) })).toEqual({});
    expect(errorsOf({ where: "p".repeat(201) })).toEqual({ where: "Keep the place to 200 characters." });
    // 200 once the run of spaces is one space and the ends are trimmed.
    expect(errorsOf({ where: `   ${"p".repeat(100)}      ${"q".repeat(99)}   ` })).toEqual({});
    expect(errorsOf({ where: `${"p".repeat(100)}      ${"q".repeat(100)}` })).toEqual({ where: "Keep the place to 200 characters." });
    const result = checkReport(aReport({ whatHappened: "w", where: "p".repeat(200) }), undefined, NOW);
    expect(result.ok && result.form.description).toBe(`w\n\nWhere: ${"p".repeat(200)}`);
  });

  it("keeps what happened and the place within the description's 5,000 characters, saying how much room there is", () => {
    expect(errorsOf({ whatHappened: "w".repeat(5000) })).toEqual({});
    expect(errorsOf({ whatHappened: "w".repeat(5001) })).toEqual({ whatHappened: "Keep it to 5000 characters (it has 5001)." });
    // "\n\nWhere: Desk 4" takes 15 of them.
    expect(errorsOf({ whatHappened: "w".repeat(4985), where: "Desk 4" })).toEqual({});
    expect(errorsOf({ whatHappened: "w".repeat(4986), where: "Desk 4" })).toEqual({ whatHappened: "Keep it to 4985 characters (it has 4986)." });
  });
});

describe("when it happened, in the person's time zone", () => {
  it("is left out when neither date nor time is given", () => {
    const result = checkReport(aReport(), "Europe/London", NOW);
    expect(result.ok).toBe(true);
    expect(result).not.toHaveProperty("firstActivityTimeUtc");
  });

  it.each([
    ["2026-07-01", "08:30", "Europe/London", "2026-07-01T07:30:00.000Z"],
    ["2026-01-15", "08:30", "Europe/London", "2026-01-15T08:30:00.000Z"],
    ["2026-07-01", "08:30", "America/New_York", "2026-07-01T12:30:00.000Z"],
    ["2026-01-15", "08:30", "America/New_York", "2026-01-15T13:30:00.000Z"],
    ["2026-07-01", "14:00", "Asia/Kolkata", "2026-07-01T08:30:00.000Z"],
    ["2026-07-01", "14:00", "UTC", "2026-07-01T14:00:00.000Z"],
    // A date alone is the start of that day there.
    ["2026-07-01", "", "Europe/London", "2026-06-30T23:00:00.000Z"],
    ["2026-01-15", "", "America/New_York", "2026-01-15T05:00:00.000Z"],
    // Seconds, which some clients add, are dropped.
    ["2026-01-15", "08:30:59", "UTC", "2026-01-15T08:30:00.000Z"],
    ["2024-02-29", "12:00", "UTC", "2024-02-29T12:00:00.000Z"],
  ])("%s %p in %s is %s", (date, time, zone, utc) => {
    expect(firstActivity(date, time, zone)).toBe(utc);
  });

  it.each([[undefined], ["Mars/Olympus_Mons"], [""]])("is read as UTC when the time zone is %p", (zone) => {
    expect(firstActivity("2026-07-01", "14:00", zone)).toBe("2026-07-01T14:00:00.000Z");
  });

  describe("across a daylight-saving change", () => {
    it.each([
      // Europe/London: clocks go forward at 01:00 GMT on 29 March 2026, back at 02:00 BST on 25 October 2026.
      ["2026-03-29", "00:59", "Europe/London", "2026-03-29T00:59:00.000Z"],
      ["2026-03-29", "02:00", "Europe/London", "2026-03-29T01:00:00.000Z"],
      ["2026-03-29", "12:00", "Europe/London", "2026-03-29T11:00:00.000Z"],
      ["2026-10-25", "00:59", "Europe/London", "2026-10-24T23:59:00.000Z"],
      ["2026-10-25", "02:00", "Europe/London", "2026-10-25T02:00:00.000Z"],
      ["2026-10-25", "12:00", "Europe/London", "2026-10-25T12:00:00.000Z"],
      // America/New_York: forward at 02:00 EST on 8 March 2026, back at 02:00 EDT on 1 November 2026.
      ["2026-03-08", "01:59", "America/New_York", "2026-03-08T06:59:00.000Z"],
      ["2026-03-08", "03:00", "America/New_York", "2026-03-08T07:00:00.000Z"],
      ["2026-03-08", "12:00", "America/New_York", "2026-03-08T16:00:00.000Z"],
      ["2026-11-01", "00:59", "America/New_York", "2026-11-01T04:59:00.000Z"],
      ["2026-11-01", "02:00", "America/New_York", "2026-11-01T07:00:00.000Z"],
      ["2026-11-01", "12:00", "America/New_York", "2026-11-01T17:00:00.000Z"],
    ])("%s %s in %s is %s", (date, time, zone, utc) => {
      expect(firstActivity(date, time, zone)).toBe(utc);
    });

    it.each([
      // Clocks never showed these times. As in RFC 5545 (and Temporal's default), such a time is read
      // with the offset from before the change: when a clock not yet put forward showed it.
      ["2026-03-29", "01:30", "Europe/London", "2026-03-29T01:30:00.000Z"],
      ["2026-03-08", "02:30", "America/New_York", "2026-03-08T07:30:00.000Z"],
    ])("reads %s %s in %s, a time skipped when clocks went forward, as %s", (date, time, zone, utc) => {
      expect(firstActivity(date, time, zone)).toBe(utc);
    });

    it.each([
      // Clocks showed these times twice: either is a moment the person may mean; the earlier is taken (as
      // RFC 5545 and Temporal's default do), so the same words always give the same time.
      ["2026-10-25", "01:30", "Europe/London", "2026-10-25T00:30:00.000Z"],
      ["2026-11-01", "01:30", "America/New_York", "2026-11-01T05:30:00.000Z"],
    ])("reads %s %s in %s, a time that happened twice when clocks went back, as the earlier: %s", (date, time, zone, utc) => {
      expect(firstActivity(date, time, zone)).toBe(utc);
    });
  });

  it.each([
    // 18:00 on 15 January in Los Angeles is already 16 January in UTC: "17:00" was an hour ago.
    ["America/Los_Angeles", "2026-01-16T02:00:00.000Z", "17:00", "2026-01-16T01:00:00.000Z"],
    // 09:00 on 16 January in Auckland is still 15 January in UTC: "08:00" was an hour ago, not a day and an hour.
    ["Pacific/Auckland", "2026-01-15T20:00:00.000Z", "08:00", "2026-01-15T19:00:00.000Z"],
    // Where the dates agree.
    ["UTC", "2026-06-01T12:00:00.000Z", "11:00", "2026-06-01T11:00:00.000Z"],
    ["Europe/London", "2026-06-01T12:00:00.000Z", "11:00", "2026-06-01T10:00:00.000Z"],
  ])("takes a time without a date as today where the person is (in %s at %s, %s is %s)", (zone, now, time, utc) => {
    expect(firstActivity("", time, zone, new Date(now))).toBe(utc);
  });

  it.each([
    ["2026-02-30", "10:00"],
    ["2026-02-29", "10:00"],
    ["2026-13-01", "10:00"],
    ["2026-2-28", "10:00"],
    ["28/02/2026", "10:00"],
    ["yesterday", ""],
    ["2026-02-28", "24:00"],
    ["2026-02-28", "12:60"],
    ["2026-02-28", "9:00"],
    ["2026-02-28", "noon"],
  ])("refuses %p %p as not a real date or time", (whenDate, whenTime) => {
    expect(errorsOf({ whenDate, whenTime }, "Europe/London")).toEqual({ when: "That date or time is not valid." });
    expect(localToUtc(whenDate, whenTime, "Europe/London")).toBeUndefined();
  });

  it("accepts up to ten minutes in the future (clocks differ), and refuses later", () => {
    // Now is 13:00 in London (BST), 12:00 UTC.
    const now = new Date("2026-06-01T12:00:00.000Z");
    expect(firstActivity("2026-06-01", "13:00", "Europe/London", now)).toBe("2026-06-01T12:00:00.000Z");
    expect(firstActivity("2026-06-01", "13:10", "Europe/London", now)).toBe("2026-06-01T12:10:00.000Z");
    expect(errorsOf({ whenDate: "2026-06-01", whenTime: "13:11" }, "Europe/London", now)).toEqual({ when: "That time is in the future." });
    // The same wall-clock time read in UTC is an hour later still.
    expect(errorsOf({ whenDate: "2026-06-01", whenTime: "12:11" }, "Europe/London", now)).toEqual({});
    expect(errorsOf({ whenDate: "2026-06-01", whenTime: "12:11" }, "UTC", now)).toEqual({ when: "That time is in the future." });
    expect(errorsOf({ whenDate: "2099-01-01" }, "Europe/London", now)).toEqual({ when: "That time is in the future." });
  });
});

describe("reading a report card's data", () => {
  it("takes text, and booleans for the toggles", () => {
    expect(readReport({ title: "t", whatHappened: "w", urgent: true, restricted: false })).toEqual({
      ok: true,
      report: { submissionId: "", title: "t", whatHappened: "w", whenDate: "", whenTime: "", where: "", urgent: "true", restricted: "false" },
    });
  });

  it("names the fields that are not text, and refuses what is not an object", () => {
    expect(readReport({ title: 1, where: ["x"], urgent: "true" })).toEqual({ ok: false, problem: "These report fields must be text: title, where." });
    expect(readReport([])).toEqual({ ok: false, problem: "The report data is missing or is not an object." });
    expect(readReport(null)).toEqual({ ok: false, problem: "The report data is missing or is not an object." });
  });
});
