import { DESCRIPTION_MAX_LENGTH, readTextFields, TITLE_MAX_LENGTH, type IncidentForm } from "./validation";

/** What an employee's "Report suspicious activity" card sends. */
export interface ReportForm {
  submissionId: string;
  title: string;
  whatHappened: string;
  /** `YYYY-MM-DD`, in the reporter's time zone. */
  whenDate: string;
  /** `HH:MM`, in the reporter's time zone. */
  whenTime: string;
  where: string;
  /** "true" when urgent (Input.Toggle). */
  urgent: string;
  /** "true": only the SOC's restricted-cases team may see it (Input.Toggle). */
  restricted?: string;
}

export const REPORT_FIELDS = [
  "submissionId",
  "title",
  "whatHappened",
  "whenDate",
  "whenTime",
  "where",
  "urgent",
  "restricted",
] as const satisfies readonly (keyof ReportForm)[];

export type ReportField = Exclude<keyof ReportForm, "submissionId" | "whenDate" | "whenTime" | "urgent" | "restricted"> | "when";
export type ReportErrors = Partial<Record<ReportField, string>>;

export const WHERE_MAX_LENGTH = 200;
const TITLE_SUGGESTION_MAX = 80;
/** Clocks differ a little; a report "from the future" within this is accepted. */
const FUTURE_SKEW_MS = 10 * 60_000;

export type ReportCheck = { ok: true; form: IncidentForm; firstActivityTimeUtc?: string } | { ok: false; errors: ReportErrors };

/** A title from the first sentence or line of what someone wrote: "Someone followed me through the badge door". */
export function suggestTitle(text: string): string {
  const firstLine = text.trim().split(/\r?\n/)[0] ?? "";
  const sentence = (firstLine.match(/^(.+?[.!?])(\s|$)/)?.[1] ?? firstLine)
    .replace(/[.!?]+$/, "")
    .replace(/\s+/g, " ")
    .trim();
  const capped =
    sentence.length > TITLE_SUGGESTION_MAX ? `${sentence.slice(0, TITLE_SUGGESTION_MAX - 1).replace(/\s+\S*$/, "")}…` : sentence;
  return capped.charAt(0).toUpperCase() + capped.slice(1);
}

/** The offset of a time zone from UTC at an instant, in ms (positive east of Greenwich). */
function offsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

const DAY_MS = 86_400_000;

/** A wall-clock date and time in an IANA time zone (UTC when unknown) as a UTC instant; undefined when not a real time. */
export function localToUtc(date: string, time: string, timeZone: string | undefined): Date | undefined {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(time || "00:00");
  if (!d || !t) return undefined;
  const [y, mo, da, h, mi] = [Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2])];
  const wall = Date.UTC(y, mo - 1, da, h, mi);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== da || h > 23 || mi > 59)
    return undefined;
  const zone = knownZone(timeZone);
  // The two instants the wall time can be, by the zone's offsets a day before and a day after it (a
  // clock change, if any, falls between); one that shows that wall time in the zone is it (the earlier,
  // when the clocks went back and it happened twice). None does when the clocks went forward over it:
  // read it with the offset from before the change, as calendars do (RFC 5545).
  const before = offsetMs(wall - DAY_MS, zone);
  const after = offsetMs(wall + DAY_MS, zone);
  const real = [wall - before, wall - after].filter((t) => t + offsetMs(t, zone) === wall).sort((x, y) => x - y);
  if (real.length) return new Date(real[0]!);
  return new Date(wall - before);
}

/** The IANA zone if this runtime knows it, else UTC. */
function knownZone(timeZone: string | undefined): string {
  if (!timeZone) return "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return timeZone;
  } catch {
    return "UTC";
  }
}

/** Today's date (YYYY-MM-DD) where the person is. */
function todayIn(timeZone: string | undefined, now: Date): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: knownZone(timeZone),
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
}

/**
 * The rules of an employee's report. Employees describe what they saw; the SOC decides the rest,
 * so the result is a New incident with no owner, High when urgent and Medium otherwise.
 */
export function checkReport(report: ReportForm, timeZone: string | undefined, now: Date): ReportCheck {
  const errors: ReportErrors = {};
  const title = report.title.trim();
  const what = report.whatHappened.trim();
  const where = report.where.trim().replace(/\s+/g, " ");
  if (!title) errors.title = "Give your report a short title.";
  else if (title.length > TITLE_MAX_LENGTH)
    errors.title = `Keep the title to ${TITLE_MAX_LENGTH} characters (it has ${title.length}).`;
  if (!what) errors.whatHappened = "Tell us what happened.";
  if (where.length > WHERE_MAX_LENGTH) errors.where = `Keep the place to ${WHERE_MAX_LENGTH} characters.`;

  let firstActivityTimeUtc: string | undefined;
  if (report.whenDate.trim() || report.whenTime.trim()) {
    // A time alone is today's, where the person is.
    const date = report.whenDate.trim() || todayIn(timeZone, now);
    const when = localToUtc(date, report.whenTime.trim(), timeZone);
    if (!when) errors.when = "That date or time is not valid.";
    else if (when.getTime() > now.getTime() + FUTURE_SKEW_MS) errors.when = "That time is in the future.";
    else firstActivityTimeUtc = when.toISOString();
  }

  const description = where ? `${what}\n\nWhere: ${where}` : what;
  if (!errors.whatHappened && description.length > DESCRIPTION_MAX_LENGTH) {
    const room = DESCRIPTION_MAX_LENGTH - (description.length - what.length);
    errors.whatHappened = `Keep it to ${room} characters (it has ${what.length}).`;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    form: {
      submissionId: report.submissionId,
      title,
      description,
      severity: report.urgent === "true" ? "High" : "Medium",
      status: "New",
      closing: "",
      closingComment: "",
      owner: "",
      tags: "",
      restricted: report.restricted === "true" ? "true" : "false",
    },
    ...(firstActivityTimeUtc && { firstActivityTimeUtc }),
  };
}

/** Reads a report card's data: every field text when present ("urgent" may also be a boolean). */
export function readReport(data: unknown): { ok: true; report: ReportForm } | { ok: false; problem: string } {
  const read = readTextFields(data, REPORT_FIELDS, "report", (field, value) =>
    (field === "urgent" || field === "restricted") && typeof value === "boolean" ? String(value) : undefined,
  );
  return read.ok ? { ok: true, report: read.values } : read;
}
