import fs from "node:fs";
import path from "node:path";
import { Template } from "adaptivecards-templating";
import { closingChoiceOf, incidentRef, type Incident } from "../incidents/model";
import { CARD_NAMES } from "./verbs";

/** Cards are drawn from the templates in cards/; the forms are in form-cards.ts, the read-only cards here. */

/** An Adaptive Card as sent to Teams. */
export type AdaptiveCard = Record<string, unknown> & { type: "AdaptiveCard"; version: string };

export const CARDS_DIR = path.resolve(__dirname, "..", "..", "cards");

/** Templates are read and parsed once per process; only the expansion runs per request. */
const templates = new Map<string, Template>();

function template(name: string): Template {
  let t = templates.get(name);
  if (!t) {
    const json: unknown = JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), "utf8"));
    t = new Template(json);
    templates.set(name, t);
  }
  return t;
}

/** Every template also gets the verbs and datasets (`${verbs.assign}`), so none is spelled in a card. */
export function expand(name: string, data: object): AdaptiveCard {
  return template(name).expand({ $root: { ...CARD_NAMES, ...data } }) as AdaptiveCard;
}

/** Long unbroken runs (links, hashes) get a zero-width break every 30 characters, so TextRuns wrap them. */
export function wrappable(text: string): string {
  return text.replace(/\S{31,}/g, (run) => run.replace(/(\S{30})(?=\S)/g, "$1\u200b"));
}

const SEVERITY_COLOR: Record<Incident["severity"], string> = {
  High: "Attention",
  Medium: "Warning",
  Low: "Good",
  Informational: "Default",
};

const DESCRIPTION_PREVIEW = 400;

/** Made once: toLocaleString builds a new formatter on every call (~0.2 ms, the create path's largest cost of ours). */
const MONTH_UTC = new Intl.DateTimeFormat("en-GB", { month: "short", timeZone: "UTC" });

/** Human time in UTC, e.g. "26 Nov 2026, 21:40 UTC" (Teams shows it to people in many time zones). */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  const month = MONTH_UTC.format(d);
  const hh = String(d.getUTCHours()).padStart(2, "0");
  const mm = String(d.getUTCMinutes()).padStart(2, "0");
  return `${d.getUTCDate()} ${month} ${d.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

const ENTRY_POINT_LABEL: Record<Incident["entryPoint"], string> = {
  form: "incident form",
  "chat-report": "employee report in chat",
  "message-extension": "a Teams message",
};

export interface IncidentCardOptions {
  heading: string;
  note?: string;
  headerStyle?: "good" | "accent" | "attention" | "emphasis";
  /** Assign to me and Edit, for the triage channel. */
  triageActions?: boolean;
}

/** An incident, read-only: the confirmation, the triage card, a search result. User text goes in TextRuns: never markdown. */
export function incidentCard(incident: Incident, options: IncidentCardOptions): AdaptiveCard {
  const closing = incident.classification ? (closingChoiceOf(incident)?.label ?? incident.classification) : "";
  const description =
    incident.description.length > DESCRIPTION_PREVIEW
      ? `${incident.description.slice(0, DESCRIPTION_PREVIEW)}…`
      : incident.description;
  const owner = incident.owner
    ? `${incident.owner.assignedTo}${incident.owner.ownerType === "Group" ? " (group)" : ""}`
    : "Unassigned";
  const evidence = incident.evidence?.[0];
  const comment = incident.classificationComment ?? "";
  return expand("incident", {
    heading: options.heading,
    note: options.note ?? "",
    headerStyle: options.headerStyle ?? "good",
    showTriageActions: options.triageActions === true,
    incident: { ...incident, title: wrappable(incident.title) },
    descriptionPreview: wrappable(description),
    severityColor: SEVERITY_COLOR[incident.severity],
    closing,
    closingComment: wrappable(comment.length > DESCRIPTION_PREVIEW ? `${comment.slice(0, DESCRIPTION_PREVIEW)}…` : comment),
    owner: wrappable(owner),
    tags: incident.labels.length ? wrappable(incident.labels.map((l) => l.labelName).join(", ")) : "None",
    createdBy: wrappable(`${incident.createdBy.name}, from ${ENTRY_POINT_LABEL[incident.entryPoint]}`),
    created: formatUtc(incident.createdTimeUtc),
    firstActivity: incident.firstActivityTimeUtc ? formatUtc(incident.firstActivityTimeUtc) : "",
    evidence: evidence
      ? `From a message by ${evidence.author.name}${evidence.sentUtc ? `, sent ${formatUtc(evidence.sentUtc)}` : ""}`
      : "",
    link: evidence?.link && /^https:\/\//.test(evidence.link) ? evidence.link : "",
  });
}

/** The triage channel's card for an incident: its essentials with Assign to me and Edit. */
export function triageCard(incident: Incident, note?: string): AdaptiveCard {
  const severity = incident.severity === "High" ? "attention" : "accent";
  return incidentCard(incident, {
    heading: `${incidentRef(incident)}: new ${incident.severity.toLowerCase()} incident`,
    headerStyle: incident.owner ? "emphasis" : severity,
    triageActions: true,
    ...(note && { note }),
  });
}

/** The read-only card that replaces the form once the incident is stored. */
export function incidentCreatedCard(incident: Incident, options: { repeated?: boolean } = {}): AdaptiveCard {
  return incidentCard(incident, {
    heading: `Incident ${incidentRef(incident)} created`,
    ...(options.repeated && { note: "This form had already been submitted: this is the incident it created." }),
  });
}

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
    reference: incidentRef(incident),
    priority: urgent ? "Urgent" : "Normal",
    created: formatUtc(incident.createdTimeUtc),
  });
}

/** What the bot does, with a button that opens the form. */
export function helpCard(hint = ""): AdaptiveCard {
  return expand("help", { hint });
}

/** The attachment that carries a card in a message. */
export function cardAttachment(card: AdaptiveCard): { contentType: string; content: AdaptiveCard } {
  return { contentType: "application/vnd.microsoft.card.adaptive", content: card };
}
