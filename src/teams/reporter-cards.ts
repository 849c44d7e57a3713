import { MESSAGE_MAX_LENGTH } from "../incidents/casework";
import { indicatorsFound } from "../incidents/evidence";
import { incidentRef, type Incident, type ReporterNotice } from "../incidents/model";
import type { ReporterView } from "../incidents/visibility";
import { DESCRIPTION_PREVIEW, expand, formatUtc, wrappable, type AdaptiveCard } from "./cards";

/** The cards a reporter gets: their receipt, what they may see of their incident, and the SOC's messages to them. */

/** The employee's receipt: the number and what happens next. */
export function reportReceivedCard(incident: Incident, options: { repeated?: boolean } = {}): AdaptiveCard {
  const urgent = incident.severity === "High";
  return expand("report-received", {
    heading: `Thank you. Your report is ${incidentRef(incident)}`,
    note: options.repeated ? "You had already sent this report: this is the one the SOC has." : "",
    incident: { ...incident, title: wrappable(incident.title) },
    nextSteps: urgent
      ? "The SOC has it now, marked urgent, and will contact you shortly. If anyone is in danger, also call your local " +
        "emergency number or site security."
      : "A SOC analyst will review it and may contact you for details. You don't need to do anything else; quote the " +
        "reference if you follow up.",
    indicators: indicatorWords(indicatorsFound(incident)),
    reference: incidentRef(incident),
    priority: urgent ? "Urgent" : "Normal",
    created: formatUtc(incident.createdTimeUtc),
  });
}

/** "3 indicators were found in your report and passed to the SOC"; nothing when none were. */
function indicatorWords(count: number): string {
  if (count === 0) return "";
  return `${count} ${count === 1 ? "indicator was" : "indicators were"} found in your report and passed to the SOC.`;
}

/** What a reporter may see of an incident they reported (src/incidents/visibility.ts decides what that is). */
export function reporterCard(view: ReporterView, options: { heading: string; note?: string }): AdaptiveCard {
  const words = view.words.length > DESCRIPTION_PREVIEW ? `${view.words.slice(0, DESCRIPTION_PREVIEW)}…` : view.words;
  return expand("reporter-view", {
    heading: options.heading,
    note: options.note ?? "",
    view: { ...view, title: wrappable(view.title) },
    words: wrappable(words),
    facts: [
      { label: "Reference", value: incidentRef(view) },
      { label: "Status", value: view.status },
      { label: "Handled by", value: view.handledBy ? wrappable(view.handledBy) : "Not assigned yet" },
      { label: "Sent", value: formatUtc(view.reportedUtc) },
      ...(view.restricted ? [{ label: "Seen by", value: "the SOC's restricted-cases team only" }] : []),
    ],
  });
}

/**
 * A message to a reporter about their incident (src/incidents/casework.ts wrote its words): what
 * changed, its status and who handles it, and for a question a box to answer in. `answered`: the
 * card after they answered, showing what they sent.
 */
export function reporterUpdateCard(
  incident: Incident,
  notice: Pick<ReporterNotice, "text" | "questionId">,
  options: { answered?: string; note?: string; answer?: string } = {},
): AdaptiveCard {
  const asks = notice.questionId !== undefined && options.answered === undefined;
  return expand("reporter-update", {
    heading: notice.questionId
      ? `A question about your report ${incidentRef(incident)}`
      : `Update on your report ${incidentRef(incident)}`,
    note: options.note ?? "",
    paragraphs: notice.text.split(/\n{2,}/).map((p) => wrappable(p)),
    facts: [
      { label: "Status", value: incident.status },
      { label: "Handled by", value: incident.owner ? wrappable(incident.owner.assignedTo) : "Not assigned yet" },
    ],
    asks,
    answerMax: MESSAGE_MAX_LENGTH,
    answer: options.answer ?? "",
    answered: options.answered !== undefined ? wrappable(options.answered) : "",
    incidentId: incident.id,
    questionId: notice.questionId ?? "",
  });
}
