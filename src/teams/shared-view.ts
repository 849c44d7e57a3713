import { incidentRef, type Incident } from "../incidents/model";
import { expand, incidentCreatedCard, triageCard, type AdaptiveCard } from "./cards";

/**
 * What everyone in a conversation sees of an incident, in the messages that are its own (the triage
 * post, the analyst's confirmation) and in any answer posted where others read it. One rule, decided
 * from the incident as it is after a change, and from what it was before it where that says less:
 * an incident restricted before or after a change shows as its line only, so restricting an incident
 * never shows its new words to those who are about to lose sight of it.
 */

/** A conversation is shared (a channel, a group chat) unless Teams says it is a 1:1 chat; unknown is shared. */
export function isShared(conversation: { conversationType?: unknown } | undefined): boolean {
  return conversation?.conversationType !== "personal";
}

/** The card that says only that an incident exists and is restricted; `open` adds the team's Open button. */
export function restrictedCard(incident: Incident, options: { heading: string; open: boolean }): AdaptiveCard {
  return expand("restricted", {
    heading: options.heading,
    note: "It is restricted: only the SOC's restricted-cases team and the people who reported it can see it.",
    style: "attention",
    showOpen: options.open,
    incidentId: incident.id,
  });
}

/** What the triage channel shows of a restricted incident, whatever happens to it: a line, and Open for the team. */
export function restrictedTriageCard(incident: Incident): AdaptiveCard {
  return restrictedCard(incident, { heading: `${incidentRef(incident)}: a restricted report arrived`, open: true });
}

/**
 * The triage post after a change: `full` (the triage card as the analyst who clicked sees it) unless the
 * incident is restricted after the change or was before it.
 */
export function triagePostCard(after: Incident, before?: Pick<Incident, "restricted">, full?: AdaptiveCard): AdaptiveCard {
  if (after.restricted || before?.restricted) return restrictedTriageCard(after);
  return full ?? triageCard(after);
}

/**
 * The analyst's confirmation (the message their form was in) as everyone in its conversation may see it
 * now. In their 1:1 chat: the incident as it is. In a shared conversation: only what was there when it
 * was created (`formSeen`), plus its place in Microsoft Sentinel; never a classification, a closing
 * comment, entities or words set later (an incident stored before the bot kept what a shared conversation saw:
 * its number only).
 */
export function confirmationCard(after: Incident, before?: Pick<Incident, "restricted">): AdaptiveCard {
  if (after.restricted || before?.restricted) {
    return restrictedCard(after, { heading: `Restricted incident ${incidentRef(after)} created`, open: false });
  }
  const conversation = (after.formConversation as { conversation?: { conversationType?: unknown } } | undefined)?.conversation;
  if (!isShared(conversation)) return incidentCreatedCard(after);
  if (!after.formSeen) return noticeCard(`Incident ${incidentRef(after)} created`, "The SOC works it in its triage channel.");
  // Everything a later change could have set is dropped, then what the conversation saw is put back.
  const rest: Incident = { ...after };
  delete rest.classification;
  delete rest.classificationReason;
  delete rest.classificationComment;
  delete rest.owner;
  // Category, techniques, actions and entities are not among the fields the conversation saw: never shown there.
  delete rest.category;
  delete rest.mitreTechniques;
  delete rest.recommendedActions;
  delete rest.entities;
  delete rest.entitiesNotKept;
  return incidentCreatedCard({ ...rest, ...after.formSeen });
}

/** What the others in a shared conversation see where a person's report (private wherever it is made) was. */
export function reportSentCard(): AdaptiveCard {
  return noticeCard("A report was sent to the SOC", "What it says is seen only by the SOC and the person who sent it.");
}

/** A line for everyone in a conversation that names nothing of an incident's words. */
function noticeCard(heading: string, note: string): AdaptiveCard {
  return expand("restricted", { heading, note, style: "emphasis", showOpen: false, incidentId: "" });
}
