import { z } from "zod";
import { commentWords } from "../../incidents/casework";
import { incidentRef, type Incident } from "../../incidents/model";
import type { WorkResult } from "../../incidents/service";
import { reporterView } from "../../incidents/visibility";
import { helpCard, incidentListCard, triageCard, type AdaptiveCard, type Kept } from "../cards";
import { reporterUpdateCard } from "../reporter-cards";
import { describeProblem } from "../invoke";
import { whenDown } from "../outage";
import type { Services, Turn } from "../turn";
import type { CardAnswer } from "./card-actions";
import { onIncident, type TriageData } from "./triage";

/**
 * Working an incident from the triage card (comments, questions to the reporters, tasks), a
 * reporter's answer from their chat, and the lists "my reports" and "my incidents". Every incident
 * is read through the visibility rule (the service's `find`, `reportedBy`, `assignedTo`).
 */

const text = (field: string) => z.object({ [field]: z.string().max(100_000).optional().default("") });

/** The triage card again after some work: the change for everyone, or the card with why not and what was typed. */
function afterWork(s: Services, turn: Turn, incident: Incident, result: WorkResult, done: string, kept: Kept): CardAnswer {
  switch (result.kind) {
    case "done":
      if (result.isNew) s.reporters.deliver(turn.context, result.incident);
      return {
        card: triageCard(result.incident, result.isNew ? done : undefined),
        changed: result.isNew,
        incident: result.incident,
      };
    case "invalid":
      return { card: triageCard(incident, result.problem, kept) };
    case "not-found":
      return { card: helpCard("That incident no longer exists.") };
  }
}

/** Runs work on an incident; while the store is down, the triage card comes back with a banner and what was typed. */
function working(
  what: string,
  read: (raw: Record<string, unknown>) => { ok: true; kept: Kept; value: string } | { ok: false; problem: string },
  work: (s: Services, turn: Turn, incident: Incident, value: string, data: TriageData) => Promise<WorkResult>,
  done: (turn: Turn) => string,
) {
  return onIncident(what, async (s, turn, incident, data) => {
    const input = read(data.raw);
    if (!input.ok) return { problem: input.problem };
    return whenDown(
      s.log,
      what,
      async () => afterWork(s, turn, incident, await work(s, turn, incident, input.value, data), done(turn), input.kept),
      (banner) => ({ card: triageCard(incident, banner, input.kept) }),
      "triage card returned with what was typed",
    );
  });
}

function reader(field: keyof Kept) {
  const schema = text(field);
  return (raw: Record<string, unknown>) => {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return { ok: false as const, problem: describeProblem(parsed.error) };
    const value = String(parsed.data[field] ?? "");
    return { ok: true as const, value, kept: { [field]: value.slice(0, 5000) } };
  };
}

/** Add comment (shared with the reporters when the toggle is on). */
export const comment = working(
  "comment on incidents",
  reader("commentText"),
  (s, turn, incident, value, data) =>
    s.service.comment(incident.id, value, data.raw.commentShared === "true", data.revision ?? 0, turn.actor),
  (turn) => `Comment added by ${turn.actor.name}.`,
);

/** Ask the reporter: a question they get in their chat, with a box to answer in. */
export const ask = working(
  "ask reporters",
  reader("questionText"),
  (s, turn, incident, value, data) => s.service.ask(incident.id, value, data.revision ?? 0, turn.actor),
  (turn) => `Question sent to the reporters by ${turn.actor.name}.`,
);

/** Add task. */
export const addTask = working(
  "add tasks",
  reader("taskTitle"),
  (s, turn, incident, value, data) => s.service.addTask(incident.id, value, data.revision ?? 0, turn.actor),
  (turn) => `Task added by ${turn.actor.name}.`,
);

const taskRef = z.object({ taskId: z.string().min(1).max(100) });

/** A task's Done. */
export const completeTask = working(
  "complete tasks",
  (raw) => {
    const parsed = taskRef.safeParse(raw);
    return parsed.success
      ? { ok: true, value: parsed.data.taskId, kept: {} }
      : { ok: false, problem: describeProblem(parsed.error) };
  },
  (s, turn, incident, taskId) => s.service.completeTask(incident.id, taskId, turn.actor),
  (turn) => `Task done, ticked off by ${turn.actor.name}.`,
);

/** The one answer to anyone who may not answer this question, and to an id nobody has. */
const NOT_YOURS = "That report is not one of yours, or it no longer exists.";

const answerData = z.object({
  incidentId: z.string().min(1).max(100),
  questionId: z.string().min(1).max(100),
  answerText: z.string().max(100_000).optional().default(""),
});

/**
 * A reporter's answer to the SOC's question, from the card in their chat. Only a reporter of the
 * incident can answer (the service checks); anyone else learns nothing. The triage post is
 * updated, so the analysts see the answer.
 */
export async function answer(s: Services, turn: Turn, data: Record<string, unknown>): Promise<CardAnswer> {
  const parsed = answerData.safeParse(data);
  if (!parsed.success) return { problem: `This card action can't be read: ${describeProblem(parsed.error)}.` };
  const { incidentId, questionId, answerText } = parsed.data;
  return whenDown(
    s.log,
    "answer",
    async (): Promise<CardAnswer> => {
      const result = await s.service.answer(incidentId, questionId, answerText, turn.actor);
      if (result.kind === "not-found") return { card: helpCard(NOT_YOURS) };
      // Read again as the reporter may see it (the service checked who answers to what before anything else).
      const asked =
        result.kind === "done"
          ? { incident: result.incident, question: result.incident.comments?.find((c) => c.id === questionId) }
          : await s.service.question(incidentId, questionId, turn.actor);
      const { incident, question } = asked ?? {};
      if (!incident || !question) return { card: helpCard(result.kind === "invalid" ? result.problem : NOT_YOURS) };
      const notice = { text: commentWords(incident, question), questionId };
      if (result.kind === "invalid") {
        return { card: reporterUpdateCard(incident, notice, { note: result.problem, answer: answerText.slice(0, 5000) }) };
      }
      if (result.isNew) s.triage.refresh(turn.context, result.incident);
      const note = "Thank you: the SOC has your answer.";
      return { card: reporterUpdateCard(incident, notice, { answered: answerText.trim(), note }) };
    },
    async (banner) => {
      // Only to whom the question was asked (a read that fails too gives the banner alone).
      const { incident, question } = (await s.service.question(incidentId, questionId, turn.actor).catch(() => undefined)) ?? {};
      if (!incident || !question) return { card: helpCard(banner) };
      const notice = { text: commentWords(incident, question), questionId };
      return { card: reporterUpdateCard(incident, notice, { note: banner, answer: answerText.slice(0, 5000) }) };
    },
    "answer card returned with what was typed",
  );
}

const LIST_MAX = 20;

/** "my reports": the incidents this person reported, as a reporter sees them. */
export async function myReports(s: Services, turn: Turn): Promise<AdaptiveCard> {
  const found = await s.service.reportedBy(await turn.viewer(), LIST_MAX);
  const rows = found.map(({ incident, access }) => ({
    ref: incidentRef(incident),
    // A reporter sees their own words; the SOC (who may also report) the incident's title.
    title: access === "reporter" ? (reporterView(incident, turn.actor)?.title ?? "") : incident.title,
    detail: `${incident.status} · ${incident.owner ? `handled by ${incident.owner.assignedTo}` : "not assigned yet"}`,
  }));
  return incidentListCard(
    found.length === LIST_MAX ? `Your latest ${LIST_MAX} reports` : "Your reports",
    rows,
    "You have not reported anything yet. Tell me what you saw, in your own words, and I will help you report it.",
  );
}

/** "my incidents": what is assigned to this analyst. */
export async function myIncidents(s: Services, turn: Turn): Promise<AdaptiveCard> {
  const viewer = await turn.viewer();
  if (!viewer.analyst) return helpCard('"my incidents" lists what is assigned to a SOC analyst. Say "my reports" for yours.');
  const found = await s.service.assignedTo(viewer, LIST_MAX);
  const rows = found.map(({ incident }) => {
    const open = (incident.tasks ?? []).filter((t) => t.status === "New").length;
    return {
      ref: incidentRef(incident),
      title: incident.title,
      detail: `${incident.severity} · ${incident.status}${open ? ` · ${open} open task${open === 1 ? "" : "s"}` : ""}`,
    };
  });
  return incidentListCard(
    found.length === LIST_MAX ? `Your latest ${LIST_MAX} incidents` : "Incidents assigned to you",
    rows,
    "Nothing is assigned to you. Use Assign to me on a triage card to take one.",
  );
}
