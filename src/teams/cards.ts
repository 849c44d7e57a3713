import fs from "node:fs";
import path from "node:path";
import { Template } from "adaptivecards-templating";
import { CLOSING_CHOICES, incidentRef, type Incident } from "../incidents/model";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, type FieldErrors, type IncidentForm } from "../incidents/validation";

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

function expand(name: string, data: object): AdaptiveCard {
  return template(name).expand({ $root: data }) as AdaptiveCard;
}

export interface Choice {
  title: string;
  value: string;
}

export interface FormView {
  form: IncidentForm;
  errors?: FieldErrors;
  /** A problem that belongs to no field (the store did not answer...). */
  banner?: string;
  ownerChoices: Choice[];
  tagChoices: Choice[];
}

const NO_ERRORS: Required<FieldErrors> = {
  title: "",
  description: "",
  severity: "",
  status: "",
  closing: "",
  closingComment: "",
  owner: "",
  tags: "",
};

/** The incident form, with the values, choices and errors given (every value kept as typed). */
export function incidentFormCard(view: FormView): AdaptiveCard {
  return expand("incident-form", {
    form: { ...view.form, severity: view.form.severity || "Medium", status: view.form.status || "New" },
    submissionId: view.form.submissionId,
    errors: { ...NO_ERRORS, ...view.errors },
    banner: view.banner ?? "",
    ownerChoices: view.ownerChoices,
    tagChoices: view.tagChoices,
    limits: { title: TITLE_MAX_LENGTH, description: DESCRIPTION_MAX_LENGTH },
  });
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

/** The read-only card that replaces the form once the incident is stored. User text goes in TextRuns: never markdown. */
export function incidentCreatedCard(incident: Incident, options: { repeated?: boolean } = {}): AdaptiveCard {
  const closing = incident.classification
    ? (CLOSING_CHOICES.find((c) => c.classification === incident.classification && c.reason === incident.classificationReason)?.label ??
      incident.classification)
    : "";
  const description =
    incident.description.length > DESCRIPTION_PREVIEW ? `${incident.description.slice(0, DESCRIPTION_PREVIEW)}…` : incident.description;
  const owner = incident.owner
    ? `${incident.owner.assignedTo}${incident.owner.ownerType === "Group" ? " (group)" : ""}`
    : "Unassigned";
  return expand("incident-created", {
    heading: `Incident ${incidentRef(incident)} created`,
    note: options.repeated ? "This form had already been submitted: this is the incident it created." : "",
    incident,
    descriptionPreview: description,
    severityColor: SEVERITY_COLOR[incident.severity],
    closing,
    closingComment: incident.classificationComment ?? "",
    owner,
    tags: incident.labels.length ? incident.labels.map((l) => l.labelName).join(", ") : "None",
    createdBy: incident.createdBy.name,
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
