import { TurnContext } from "botbuilder";
import { z } from "zod";
import type { Incident } from "../../incidents/model";
import { readForm } from "../../incidents/validation";
import { helpCard, triageCard } from "../cards";
import { confirmationCard, triagePostCard } from "../shared-view";
import { formOf } from "../form-cards";
import { describeProblem } from "../invoke";
import type { Services, Turn } from "../turn";
import { TEXT_COMMANDS } from "../verbs";
import type { CardAnswer } from "./card-actions";

/** What every triage button sends: the incident, and the revision the card showed. */
const incidentRefData = z.object({
  incidentId: z.string().min(1).max(100),
  revision: z.coerce.number().int().min(1).optional(),
});

export type TriageHandler = (s: Services, turn: Turn, incident: Incident, data: TriageData) => Promise<CardAnswer>;
export type TriageData = z.infer<typeof incidentRefData> & { raw: Record<string, unknown> };

const gone: CardAnswer = { card: helpCard("That incident no longer exists.") };

/**
 * Reads the incident a triage button names, for an analyst who may see it (src/incidents/visibility.ts),
 * then hands it to `handle`. Others learn nothing: not whether it exists, not what it says.
 *
 * What everyone else sees in the clicked message (and, after a change, in the incident's other own
 * messages) is decided from the incident after the change and before it (src/teams/shared-view.ts):
 * restricting an incident never shows its new words to the channel.
 */
export function onIncident(doing: string, handle: TriageHandler) {
  return async (s: Services, turn: Turn, data: Record<string, unknown>): Promise<CardAnswer> => {
    const ref = incidentRefData.safeParse(data);
    if (!ref.success) return { problem: `This card action can't be read: ${describeProblem(ref.error)}.` };
    const viewer = await turn.viewer();
    if (!viewer.analyst) return { card: helpCard(`Only SOC analysts can ${doing}.`) };
    const found = await s.service.find(ref.data.incidentId, viewer);
    if (!found || found.access !== "full") return gone;
    const before = found.incident;
    const answer = await handle(s, turn, before, { ...ref.data, raw: data });
    if (!("card" in answer)) return answer;
    const after = answer.changed && answer.incident ? answer.incident : before;
    if (answer.changed) s.triage.changed(turn.context, before, after);
    const replyTo = turn.activity.replyToId;
    const atConfirmation = replyTo !== undefined && replyTo === before.formMessageId;
    const forEveryone = atConfirmation ? confirmationCard(after, before) : triagePostCard(after, before, answer.card);
    return { ...answer, ownMessage: turn.isOwnMessage(before), forEveryone };
  };
}

/** The triage card (Cancel on the edit form; Open on a restricted incident's line). */
export const view = onIncident("open incidents", (_s, _turn, incident) => Promise.resolve({ card: triageCard(incident) }));

/** Edit: the full form on the incident. */
export const edit = onIncident("edit incidents", async (s, turn, incident) => ({
  card: await s.flow.formCard(turn.who, formOf(incident), { edit: { incident, revision: incident.revision } }),
}));

/** Assign to me: the analyst becomes the owner, unless someone changed the incident since the card was drawn. */
export const assign = onIncident("take incidents", async (s, turn, incident, { revision }) => {
  if (revision === undefined) return { problem: "revision: Assign to me needs the revision the card showed." };
  const { actor } = turn;
  const result = await s.service.assignToMe(incident.id, revision, actor);
  switch (result.kind) {
    case "updated": {
      s.reporters.deliver(turn.context, result.incident);
      const note = `Assigned to ${result.incident.owner?.assignedTo ?? actor.name} by ${actor.name}.`;
      return { card: triageCard(result.incident, note), changed: true, incident: result.incident };
    }
    case "conflict": {
      const owner = result.current.owner;
      const note =
        `This incident changed before your click${owner ? `: it is now assigned to ${owner.assignedTo}` : ""}. ` +
        "Nothing was overwritten; click again if you still want it.";
      return { card: triageCard(result.current, note) };
    }
    case "forbidden":
      return { card: helpCard("Only SOC analysts can take incidents.") };
    case "invalid":
      return { card: triageCard(incident, result.errors.owner ?? "Could not assign this incident.") };
    case "not-found":
      return gone;
  }
});

/** Save changes on the edit form. */
export const update = onIncident("edit incidents", async (s, turn, incident, { revision, raw }) => {
  const form = readForm({ ...raw, submissionId: incident.id });
  if (!form.ok) return { problem: form.problem };
  if (revision === undefined) return { problem: "revision: the edit form's revision is missing." };
  const { updated, card } = await s.flow.submitUpdate(incident, revision, form.form, turn.who);
  if (updated) s.reporters.deliver(turn.context, updated);
  return { card, changed: updated !== undefined, ...(updated && { incident: updated }) };
});

/** "triage here" in a team channel: every new incident is posted there. Analysts only. */
export async function registerTriage(s: Services, turn: Turn): Promise<string> {
  const activity = turn.activity;
  const channelId = (activity.channelData as { channel?: { id?: unknown } } | undefined)?.channel?.id;
  if (activity.conversation?.conversationType !== "channel" || typeof channelId !== "string") {
    return `Say "${TEXT_COMMANDS.triage[0]}" in the team channel where the SOC should see new incidents.`;
  }
  const reference = TurnContext.getConversationReference(activity);
  // A new post in the channel for each incident: the channel itself, not this message's thread.
  reference.conversation = { ...reference.conversation!, id: channelId };
  delete reference.activityId;
  const channel = { conversationId: channelId, setBy: turn.actor, setUtc: new Date().toISOString(), reference };
  const ok = await s.service.setTriageChannel(channel, turn.actor);
  return ok
    ? "Done: every new incident will be posted in this channel, with Assign to me and Edit."
    : "Only SOC analysts can choose the triage channel.";
}
