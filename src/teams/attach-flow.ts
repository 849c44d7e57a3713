import type { AttachOptions, AttachResult } from "../incidents/attach";
import { incidentRef, type EntryPoint, type Incident, type MessageEvidence } from "../incidents/model";
import type { IncidentForm } from "../incidents/validation";
import type { Viewer } from "../incidents/visibility";
import { helpCard, incidentCard, type AdaptiveCard } from "./cards";
import { NEW_INCIDENT, type Choice } from "./form-cards";
import type { FormRender, SubmitOutcome } from "./form-flow";
import { whenDown } from "./outage";
import { restrictedCard } from "./shared-view";
import type { Services, Turn } from "./turn";

/**
 * Attach to an existing incident, the Teams side: the analyst's form (in chat, or the dialog of Create
 * incident on a message) has an "Add to an existing incident" choice, filled by the `incidents`
 * typeahead with the incidents they see in full. Sent with one chosen, the report joins that incident
 * (IncidentService.attach checks the id) and the analyst is told which one; nothing is created.
 */

/** The form's attach field: what was chosen, the error next to it, and the choice shown for it. */
export interface AttachField {
  value: string;
  error?: string;
  choices: Choice[];
}

/** What a form shows of its attach field, when it comes back. */
export interface AttachRender {
  attach?: AttachField;
}

export interface AttachInput {
  form: IncidentForm;
  /** The chosen incident's id, as the card sent it (checked by the service). */
  attachTo: string;
  entryPoint: EntryPoint;
  evidence?: MessageEvidence;
  /** The reported message's whole text and link targets, for extraction. */
  message?: AttachOptions["message"];
  /** The id a new incident of that message would have (later reports of it then join the chosen incident). */
  messageIncidentId?: string;
  contact?: Record<string, unknown>;
}

/** A choice's longest title (Teams cuts longer ones anyway). */
const CHOICE_TITLE_MAX = 120;

/** The chosen incident's id; none when nothing or NEW_INCIDENT was chosen (create one); a problem when it is not text. */
export function attachTarget(data: Record<string, unknown>): { id?: string } | { problem: string } {
  const value = data.attachTo;
  if (value === undefined || value === null) return {};
  if (typeof value !== "string") return { problem: "The incident to add to (attachTo) must be text." };
  const id = value.trim();
  return id && id !== NEW_INCIDENT ? { id } : {};
}

/** "INC-7: Phishing e-mail from payroll": how an incident is offered. */
function choiceTitle(incident: Incident): string {
  return `${incidentRef(incident)}: ${incident.title}`.slice(0, CHOICE_TITLE_MAX);
}

/**
 * The `incidents` typeahead: by number, title words or tag, the incidents `viewer` sees in full (the one
 * visibility rule, through the service's search): never a restricted one to an analyst outside the
 * restricted-cases team, never one they only reported.
 */
export async function attachChoices(s: Services, typed: string, top: number, viewer: Viewer): Promise<Choice[]> {
  // Answered to analysts only (src/teams/handlers/typeahead.ts); each result through the visibility rule.
  const found = await s.service.search(typed, top, viewer);
  return found.filter((f) => f.access === "full").map(({ incident }) => ({ title: choiceTitle(incident), value: incident.id }));
}

/**
 * The attach field shown again: the chosen incident with its title when the analyst sees it in full
 * (its number only on a card others read), nothing chosen when the id was refused.
 */
async function shownAgain(s: Services, turn: Turn, id: string, error: string | undefined, dialog: boolean): Promise<AttachField> {
  if (error) return { value: NEW_INCIDENT, error, choices: [] };
  const seen = await s.service.find(id, await turn.viewer());
  if (seen?.access !== "full") return { value: NEW_INCIDENT, choices: [] };
  const title = turn.who.shared === true && !dialog ? incidentRef(seen.incident) : choiceTitle(seen.incident);
  return { value: seen.incident.id, choices: [{ title, value: seen.incident.id }] };
}

/** Teams' deep link to a channel message. */
const TEAMS_MESSAGE_LINK = "https://teams.microsoft.com/l/message";

/** A link to the incident's post in the triage channel once posted; undefined otherwise (or while the store is down). */
async function triagePostLink(s: Services, incident: Incident): Promise<string | undefined> {
  const messageId = incident.triage?.state === "posted" ? incident.triage.messageId : undefined;
  const channel = messageId ? await s.service.triageChannel().catch(() => undefined) : undefined;
  if (!messageId || !channel) return undefined;
  const thread = channel.conversationId.split(";")[0] ?? channel.conversationId;
  const tenant = (channel.reference.conversation as { tenantId?: unknown } | undefined)?.tenantId;
  const query = new URLSearchParams({ ...(typeof tenant === "string" && { tenantId: tenant }), parentMessageId: messageId });
  return `${TEAMS_MESSAGE_LINK}/${encodeURIComponent(thread)}/${encodeURIComponent(messageId)}?${query.toString()}`;
}

/**
 * What the analyst is told: which incident their report joined, as much of it as they may see now,
 * with a button to its post in the triage channel (and Open in Sentinel, once it is there).
 */
export async function attachedCard(
  s: Services,
  incident: Incident,
  access: "full" | "reporter",
  repeated: boolean,
): Promise<AdaptiveCard> {
  const ref = incidentRef(incident);
  if (access !== "full") return restrictedCard(incident, { heading: `Added to ${ref}`, open: false });
  const again = repeated ? " This form had already been sent: it was added once." : "";
  const url = await triagePostLink(s, incident);
  return incidentCard(incident, {
    heading: `Added to ${ref}`,
    note: `Added to ${ref}: ${incident.title}.${again}`,
    headerStyle: "good",
    ...(url && { open: { title: "Open in the triage channel", url } }),
  });
}

/** The analyst's form with a chosen incident: added to it, or the form back with what to fix (nothing written). */
export async function submitAttach(
  s: Services,
  turn: Turn,
  input: AttachInput,
  render: Pick<FormRender, "dialog">,
): Promise<SubmitOutcome> {
  const { form, attachTo } = input;
  const back = async (more: FormRender, error?: string): Promise<SubmitOutcome> => {
    const attach = await shownAgain(s, turn, attachTo, error, render.dialog !== undefined).catch(() => undefined);
    return { kind: "form", card: await s.flow.formCard(turn.who, form, { ...render, ...more, ...(attach && { attach }) }) };
  };
  return whenDown(
    s.log,
    "attach",
    async () => {
      const options = {
        ...(input.evidence && { evidence: input.evidence }),
        ...(input.message && { message: input.message }),
        ...(input.messageIncidentId && { messageIncidentId: input.messageIncidentId }),
        ...(input.contact && { contact: input.contact }),
      };
      const result: AttachResult = await s.service.attach(attachTo, form, turn.who.actor, input.entryPoint, options);
      switch (result.kind) {
        case "invalid":
          return back({ errors: result.errors }, result.attachTo);
        case "counted": {
          const words = `${incidentRef(result.incident)} holds as many reports as it can, so yours was counted but not kept.`;
          return { kind: "counted", incident: result.incident, card: helpCard(words) };
        }
        case "already":
          return { kind: "added", incident: result.incident, card: await attachedCard(s, result.incident, result.access, true) };
        case "added": {
          const { incident, before } = result;
          s.log.info(
            { incidentId: incident.id, incidentNumber: incident.incidentNumber },
            "report attached to an existing incident",
          );
          // The triage post (and a confirmation, when need-to-know changed), drawn from the state after the change.
          s.triage.changed(turn.context, before, incident);
          return { kind: "added", incident, card: await attachedCard(s, incident, result.access, false) };
        }
      }
    },
    (banner) => back({ banner }),
  );
}
