import type {
  MessagingExtensionAction,
  MessagingExtensionActionResponse,
  MessagingExtensionQuery,
  MessagingExtensionResponse,
} from "botbuilder";
import { incidentRef, type Incident, type MessageEvidence } from "../../incidents/model";
import type { Seen } from "../../incidents/service";
import { accessTo, reporterView, type Viewer } from "../../incidents/visibility";
import { cardAttachment, incidentCard, type AdaptiveCard } from "../cards";
import { reporterCard } from "../reporter-cards";
import { emptyForm, emptyReport } from "../form-cards";
import { evidenceData, messageIncidentId, messagePayload, readMessage } from "../message-source";
import { whenDown } from "../outage";
import { actionLimitMessage, searchLimitMessage } from "../rate-limit";
import { sendCard, taskCard, taskMessage, withTimeout } from "../replies";
import type { Services, Turn } from "../turn";
import { COMMANDS, VERBS } from "../verbs";
import { submitForm } from "./submit";

/** Find incident shows at most this many. */
const SEARCH_RESULTS_MAX = 25;
/** Teams gives message-extension invokes 5 s; posting a confirmation must leave room to answer. */
const POST_BUDGET_MS = 2500;

const OPEN_WHILE_DOWN = "The incident store or the directory is not answering, so this can't open now. Try again in a moment.";
const unknownCommand = (id: unknown) => `Unknown command "${String(id).slice(0, 60)}".`;

/** "Create incident" on a message: the form by role, prefilled from the message; or the incident it already made. */
export async function openFromMessage(
  s: Services,
  turn: Turn,
  action: MessagingExtensionAction,
): Promise<MessagingExtensionActionResponse> {
  if (action.commandId !== COMMANDS.fromMessage) return taskMessage(unknownCommand(action.commandId));
  const wait = s.limits.actions.take(turn.rateKey);
  if (wait) return taskMessage(actionLimitMessage(wait));
  const payload = messagePayload.safeParse(action.messagePayload);
  if (!payload.success) return taskMessage("Teams did not send the message to report. Try again from the message's menu.");
  const source = readMessage(payload.data);
  const id = messageIncidentId(s.service.workspaceId, turn.activity.conversation?.id ?? "", payload.data.id);
  const read = await whenDown<{ found: [Incident | undefined, Viewer] } | { down: true }>(
    s.log,
    "opening Create incident on a message",
    async () => ({ found: await Promise.all([s.service.messageIncident(id), turn.viewer()]) }),
    () => ({ down: true }),
    "dialog answered that it can't open",
  );
  if ("down" in read) return taskMessage(OPEN_WHILE_DOWN);
  const [existing, viewer] = read.found;
  // Someone who may not see the incident gets the form, as for a message nobody reported: what
  // they send is added to it, and nothing tells them who reported it or what they said.
  const seen = existing && accessTo(existing, viewer);
  if (existing && seen === "full") {
    const heading = `This message was already reported as ${incidentRef(existing)}`;
    return taskCard(`Already reported as ${incidentRef(existing)}`, incidentCard(existing, { heading, headerStyle: "accent" }));
  }
  const mine = existing && seen === "reporter" && reporterView(existing, viewer.actor);
  if (existing && mine) {
    const heading = `You already reported this message as ${incidentRef(existing)}`;
    return taskCard(`Already reported as ${incidentRef(existing)}`, reporterCard(mine, { heading }));
  }
  const role = viewer.analyst ? "analyst" : "employee";
  const dialog = { dialog: { evidence: source.evidence } };
  if (role === "analyst") {
    const form = { ...emptyForm(), submissionId: id, title: source.title, description: source.text };
    return taskCard("Create incident", await s.flow.formCard(turn.who, form, dialog));
  }
  const report = emptyReport({ submissionId: id, title: source.title, whatHappened: source.text });
  return taskCard("Report suspicious activity", s.flow.reportCard(turn.who, report, dialog));
}

/** The dialog's submit: errors come back in the dialog; success closes it and posts the confirmation. */
export async function submitFromMessage(
  s: Services,
  turn: Turn,
  action: MessagingExtensionAction,
): Promise<MessagingExtensionActionResponse> {
  if (action.commandId !== COMMANDS.fromMessage) return taskMessage(unknownCommand(action.commandId));
  const wait = s.limits.actions.take(turn.rateKey);
  if (wait) return taskMessage(actionLimitMessage(wait));
  const data = (action.data ?? {}) as Record<string, unknown>;
  const verb = data.verb === VERBS.report ? VERBS.report : VERBS.create;
  const fromPayload = messagePayload.safeParse(action.messagePayload);
  // The message's whole text and link targets are read for indicators when Teams sends it again.
  const read = fromPayload.success ? readMessage(fromPayload.data) : undefined;
  const evidence = read ? read.evidence : await carriedEvidence(s, data);
  if (!evidence) {
    return taskMessage(
      "This dialog lost track of the message it was opened on. Close it and use Create incident on the message again.",
    );
  }
  const outcome = await submitForm(s, turn, verb, data, { evidence, ...(read && { message: read.indicators }) });
  if ("problem" in outcome) return taskMessage(`That form could not be read: ${outcome.problem}`);
  if (outcome.kind === "form")
    return taskCard(verb === VERBS.report ? "Report suspicious activity" : "Create incident", outcome.card);
  const ref = incidentRef(outcome.incident);
  // Their own words and the number, nothing of the first report.
  if (outcome.kind !== "created") return taskCard(outcome.kind === "added" ? "Report added" : "Report counted", outcome.card);
  if (!outcome.isNew) return taskMessage(`This message was already reported as ${ref}.`);
  // An employee's report is theirs and the SOC's: its receipt stays in the dialog, not in the chat.
  if (verb === VERBS.report) return taskCard("Report sent", outcome.card);
  try {
    await withTimeout(sendCard(turn.context, outcome.forEveryone), POST_BUDGET_MS);
    return {};
  } catch (error) {
    s.log.warn({ err: error, incidentId: outcome.incident.id }, "could not post the confirmation in the conversation");
    return taskMessage(
      `${ref} was created. I could not post the confirmation in this conversation (the bot may not be added here).`,
    );
  }
}

/**
 * Evidence the dialog carried in its data, when Teams did not send the message again: only with the
 * token the server gave it (src/teams/submission-tokens.ts), so nobody can make up a message.
 */
async function carriedEvidence(s: Services, data: Record<string, unknown>): Promise<MessageEvidence | undefined> {
  const carried = evidenceData.safeParse(data.evidence);
  if (!carried.success || typeof data.submissionId !== "string") return undefined;
  const evidence: MessageEvidence = carried.data;
  return (await s.tokens.verifyEvidence(evidence, data.submissionId, data.evidenceToken)) ? evidence : undefined;
}

/** "Find incident" in the compose box: by number, words of the title or a tag; recent ones on open. */
export async function searchIncidents(
  s: Services,
  turn: Turn,
  query: MessagingExtensionQuery,
): Promise<MessagingExtensionResponse> {
  const say = (text: string): MessagingExtensionResponse => ({ composeExtension: { type: "message", text } });
  if (query.commandId !== COMMANDS.find) return say(unknownCommand(query.commandId));
  const wait = s.limits.searches.take(turn.rateKey);
  if (wait) return say(searchLimitMessage(wait));
  const param = (query.parameters ?? []).find((p) => p.name !== "initialRun");
  const text = typeof param?.value === "string" ? param.value : "";
  const count = Math.min(Math.max(Number(query.queryOptions?.count) || SEARCH_RESULTS_MAX, 1), SEARCH_RESULTS_MAX);
  const incidents = await whenDown(
    s.log,
    "find incident",
    async () => s.service.search(text, count, await turn.viewer()),
    () => undefined,
    "answered that the store is down",
  );
  if (!incidents) return say("The incident store is not answering. Try again in a moment.");
  const viewer = await turn.viewer();
  const attachments = incidents.map((found) => searchResult(found, viewer)).filter((a) => a !== undefined);
  return { composeExtension: { type: "result", attachmentLayout: "list", attachments } };
}

/** A search result: the incident's card (what a reporter may see, for a reporter), with a one-line preview. */
function searchResult({ incident, access }: Seen, viewer: Viewer) {
  const ref = incidentRef(incident);
  let card: AdaptiveCard, title: string, text: string;
  if (access === "full") {
    card = incidentCard(incident, { heading: `${ref} · ${incident.severity} · ${incident.status}`, headerStyle: "emphasis" });
    const tags = incident.labels.length ? ` · ${incident.labels.map((l) => l.labelName).join(", ")}` : "";
    [title, text] = [
      incident.title,
      `${incident.severity} · ${incident.status} · ${incident.owner?.assignedTo ?? "Unassigned"}${tags}`,
    ];
  } else {
    const view = reporterView(incident, viewer.actor);
    if (!view) return undefined;
    card = reporterCard(view, { heading: `Your report ${ref}` });
    [title, text] = [view.title, `${view.status} · ${view.handledBy ?? "Not assigned yet"}`];
  }
  const preview = { title: `${ref}: ${title}`.slice(0, 120), text: text.slice(0, 200) };
  return { ...cardAttachment(card), preview: { contentType: "application/vnd.microsoft.card.thumbnail", content: preview } };
}
