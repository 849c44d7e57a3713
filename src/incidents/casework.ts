import { createHash } from "node:crypto";
import {
  incidentRef,
  personKey,
  UNKNOWN_OWNER,
  type Actor,
  type Contact,
  type Incident,
  type IncidentComment,
  type IncidentTask,
  type ReporterNotice,
} from "./model";

/**
 * Working an incident after the report: comments, questions to the reporters and their answers,
 * tasks, and what each reporter is told when their incident changes. Pure functions; the service
 * (src/incidents/service.ts) reads, applies them, and writes with the revision rule.
 */

/** A comment's longest message (Sentinel's comments take more; a Teams card shows a few of these). */
export const MESSAGE_MAX_LENGTH = 4000;
export const TASK_TITLE_MAX_LENGTH = 200;
/** Bounds that keep an incident's document small (Cosmos DB's limit is 2 MB per document). */
export const COMMENTS_MAX = 200;
export const TASKS_MAX = 50;
/** Notices already sent or given up on that an incident keeps, newest last, for the triage card. */
const SETTLED_NOTICES_KEPT = 20;

/** A GUID made from `parts`: the same parts give the same id, so a repeated click adds nothing twice. */
export function stableId(...parts: (string | number)[]): string {
  const hex = createHash("sha256").update(parts.join("\u001f")).digest("hex");
  // Shaped as a version-4-like GUID (Sentinel's comment and task ids are GUIDs).
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Why a comment or question can't be taken; undefined when it can. */
export function checkMessage(message: string, what: "comment" | "question" | "answer"): string | undefined {
  if (!message) return `Write the ${what} first.`;
  if (message.length > MESSAGE_MAX_LENGTH) {
    return `The ${what} is ${message.length} characters long; the most is ${MESSAGE_MAX_LENGTH}.`;
  }
  return undefined;
}

export function checkTaskTitle(title: string): string | undefined {
  if (!title) return "Give the task a title.";
  if (title.length > TASK_TITLE_MAX_LENGTH) {
    return `The task's title is ${title.length} characters long; the most is ${TASK_TITLE_MAX_LENGTH}.`;
  }
  return undefined;
}

/** Trimmed, line ends as \n, no control characters (C0, DEL, C1) but new lines and tabs. */
export function cleanText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, "\n")
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "")
      .trim()
  );
}

export function withComment(incident: Incident, comment: IncidentComment): Incident {
  return { ...incident, comments: [...(incident.comments ?? []), comment] };
}

export function withTask(incident: Incident, task: IncidentTask): Incident {
  return { ...incident, tasks: [...(incident.tasks ?? []), task] };
}

/** The people to tell about a change: everyone who reported it through the bot, but not the one who made the change. */
function reportersToTell(incident: Incident, actor: Actor): { key: string; name: string }[] {
  const people = [
    // An analyst who typed the form is its author, not a reporter waiting for news.
    ...(incident.entryPoint === "form" ? [] : [incident.createdBy]),
    ...(incident.reports ?? []).map((r) => r.reporter),
  ];
  const me = personKey(actor);
  const seen = new Set<string>();
  const out: { key: string; name: string }[] = [];
  for (const person of people) {
    const key = personKey(person);
    if (key === undefined || key === me || seen.has(key)) continue;
    seen.add(key);
    out.push({ key, name: person.name });
  }
  return out;
}

/** Whether anybody reported this incident through the bot (someone an analyst can ask). */
export function hasReporters(incident: Incident): boolean {
  return reportersToTell(incident, { name: "" }).length > 0;
}

/**
 * What a reporter should hear when `before` became `after`, in words an employee understands: who
 * handles it, that it is being investigated, closed or reopened. Nothing internal (no
 * classification, severity or analysts' notes).
 */
export function changeWords(before: Incident, after: Incident): string[] {
  const ref = incidentRef(after);
  const lines: string[] = [];
  if (after.owner && after.owner.objectId !== before.owner?.objectId) {
    lines.push(
      after.owner.assignedTo === UNKNOWN_OWNER
        ? `A SOC analyst is now handling your report ${ref}.`
        : `${after.owner.assignedTo} from the SOC is now handling your report ${ref}.`,
    );
  }
  if (after.status !== before.status) {
    if (after.status === "Active") lines.push(`The SOC is investigating ${ref}.`);
    if (after.status === "Closed") lines.push(`${ref} is closed. Thank you for reporting it: it helps keep everyone safe.`);
    if (after.status === "New") lines.push(`${ref} was reopened; the SOC will look at it again.`);
  }
  return lines;
}

/** The words a reporter reads for a comment an analyst shared with them, or a question. */
export function commentWords(incident: Incident, comment: IncidentComment): string {
  const ref = incidentRef(incident);
  return comment.kind === "question"
    ? `The SOC has a question about your report ${ref}:\n\n${comment.message}`
    : `A message from the SOC about your report ${ref}:\n\n${comment.message}`;
}

/**
 * The incident as it will be written at `revision`, with one notice for each reporter to tell (if
 * `text` says anything). The notice id names the revision: one message per change per reporter.
 */
export function withNotices(
  incident: Incident,
  text: string,
  revision: number,
  actor: Actor,
  nowUtc: string,
  questionId?: string,
): Incident {
  if (!text) return incident;
  const notices: ReporterNotice[] = reportersToTell(incident, actor).map(({ key, name }) => ({
    id: `${revision}:${key}`,
    to: key,
    name,
    text,
    ...(questionId && { questionId }),
    state: "pending",
    attempts: 0,
    dueUtc: nowUtc,
    updatedUtc: nowUtc,
  }));
  if (!notices.length) return incident;
  return { ...incident, outbox: pruneOutbox([...(incident.outbox ?? []), ...notices]) };
}

/**
 * What a store writes when an edit made from an older read meets the stored outbox: notices already
 * stored keep the stored state (an instance may have sent one since the read), new ones are added.
 */
export function mergeOutbox(stored: readonly ReporterNotice[] | undefined, written: readonly ReporterNotice[] | undefined) {
  const byId = new Map((stored ?? []).map((n) => [n.id, n]));
  for (const notice of written ?? []) if (!byId.has(notice.id)) byId.set(notice.id, notice);
  const merged = pruneOutbox([...byId.values()]);
  return merged.length ? merged : undefined;
}

/** Every pending notice, and the latest settled ones. */
function pruneOutbox(outbox: ReporterNotice[]): ReporterNotice[] {
  const settled = outbox.filter((n) => n.state !== "pending");
  const drop = new Set(settled.slice(0, Math.max(0, settled.length - SETTLED_NOTICES_KEPT)));
  return outbox.filter((n) => !drop.has(n));
}

/** When the incident's next notice may be sent (the earliest pending one, after its claim), or undefined. */
export function outboxDue(incident: Pick<Incident, "outbox">): string | undefined {
  let due: string | undefined;
  for (const n of incident.outbox ?? []) {
    if (n.state !== "pending") continue;
    const at = n.claimUntilUtc && n.claimUntilUtc > n.dueUtc ? n.claimUntilUtc : n.dueUtc;
    if (due === undefined || at < due) due = at;
  }
  return due;
}

/** Adds or replaces how `person` can be reached. */
export function withContact(contacts: readonly Contact[] | undefined, contact: Contact | undefined): Contact[] | undefined {
  if (!contact) return contacts ? [...contacts] : undefined;
  return [...(contacts ?? []).filter((c) => c.person !== contact.person), contact];
}
