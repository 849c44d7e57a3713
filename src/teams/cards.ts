import fs from "node:fs";
import path from "node:path";
import { MESSAGE_MAX_LENGTH, hasReporters, TASK_TITLE_MAX_LENGTH } from "../incidents/casework";
import {
  closingChoiceOf,
  incidentRef,
  type Incident,
  type IncidentComment,
  type ReportAccount,
  type ReporterNotice,
} from "../incidents/model";
import { CompiledTemplate } from "./card-template";
import { withEntityParts } from "./entity-view";
import { sentinelOf } from "./sentinel-line";
import { CARD_NAMES } from "./verbs";

/** Cards are drawn from the templates in cards/; the forms are in form-cards.ts, the read-only cards here. */

/** An Adaptive Card as sent to Teams. */
export type AdaptiveCard = Record<string, unknown> & { type: "AdaptiveCard"; version: string };

export const CARDS_DIR = path.resolve(__dirname, "..", "..", "cards");

/**
 * Templates are read and compiled once per process (card-template.ts: into functions that fill in
 * the values, with adaptivecards-templating's own expansion whenever a value needs its judgement).
 */
const templates = new Map<string, CompiledTemplate>();

export function template(name: string): CompiledTemplate {
  let t = templates.get(name);
  if (!t) {
    const json: unknown = JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), "utf8"));
    t = new CompiledTemplate(json);
    templates.set(name, t);
  }
  return t;
}

/**
 * The data a template is expanded with: every template also gets the verbs and datasets (`${verbs.assign}`).
 * Spelled out rather than `{ ...CARD_NAMES, ...data }`: V8 builds an object spread after another spread some
 * 40x slower (70-90 us for the incident card's data against about 2 us, measured: more than the expansion
 * itself). `satisfies` fails the build if CARD_NAMES gains a name not listed here.
 */
export function templateData(data: object): object {
  return { verbs: CARD_NAMES.verbs, datasets: CARD_NAMES.datasets, ...data } satisfies typeof CARD_NAMES;
}

/** Every template also gets the verbs and datasets (`${verbs.assign}`), so none is spelled in a card. */
export function expand(name: string, data: object): AdaptiveCard {
  return template(name).expand(templateData(data)) as AdaptiveCard;
}

/** Long unbroken runs (links, hashes) get a zero-width break every 30 characters, so TextRuns wrap them. */
export function wrappable(text: string): string {
  return text.replace(/\S{31,}/g, (run) => run.replace(/(\S{30})(?=\S)/g, "$1\u200b"));
}

/**
 * The severity's colour, as the style of the box its word sits in: the word is default-coloured text,
 * so it reads in every Teams theme (coloured text such as Warning yellow on white does not), and the
 * word, not the colour, says the severity.
 */
const SEVERITY_STYLE: Record<Incident["severity"], string> = {
  High: "attention",
  Medium: "warning",
  Low: "good",
  Informational: "default",
};

export const DESCRIPTION_PREVIEW = 400;

/** Made once: toLocaleString builds a new formatter on every call (~0.2 ms, the create path's largest cost of ours). */
const MONTH_UTC = new Intl.DateTimeFormat("en-GB", { month: "short", timeZone: "UTC" });
/** The formatter's twelve month names, asked once ("Sept" or "Sep" is the ICU's to say). */
const MONTHS = Array.from({ length: 12 }, (_, month) => MONTH_UTC.format(Date.UTC(2000, month, 15)));

/** Human time in UTC, e.g. "26 Nov 2026, 21:40 UTC" (Teams shows it to people in many time zones). */
export function formatUtc(iso: string): string {
  const d = new Date(iso);
  const month = MONTHS[d.getUTCMonth()] ?? MONTH_UTC.format(d);
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
  /** Assign to me and Edit, comments, tasks and questions, for the triage channel. */
  triageActions?: boolean;
  /** What the person had typed in the comment, question or task box, shown again with an error. */
  kept?: Kept;
  /** A button that opens the incident where the SOC works it (an https link only). */
  open?: { title: string; url: string };
}

export interface Kept {
  commentText?: string;
  questionText?: string;
  taskTitle?: string;
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
  return withEntityParts(incident, (entityParts) =>
    expand("incident", {
      heading: options.heading,
      note: wrappable(options.note ?? ""),
      headerStyle: options.headerStyle ?? "good",
      showTriageActions: options.triageActions === true,
      incident: { ...incident, title: wrappable(incident.title) },
      descriptionPreview: wrappable(description),
      severityStyle: SEVERITY_STYLE[incident.severity],
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
      restricted: incident.restricted === true,
      ...accountsOf(incident),
      ...(options.triageActions ? caseworkOf(incident) : { tasks: [], comments: [], unreachable: [] }),
      kept: { commentText: "", questionText: "", taskTitle: "", ...options.kept },
      sentinel: sentinelOf(incident, options.triageActions === true),
      entityParts,
      open: options.open && /^https:\/\//.test(options.open.url) ? options.open : { title: "", url: "" },
    }),
  );
}

/** The triage card shows the latest few comments, the first open tasks (with Done), and the reporters it could not reach. */
const COMMENTS_SHOWN = 3;
const COMMENT_PREVIEW = 200;
const TASKS_SHOWN = 5;

const COMMENT_LABEL: Record<IncidentComment["kind"], (c: IncidentComment) => string> = {
  note: (c) => (c.shared ? " (shared with the reporters)" : ""),
  question: () => " asked the reporters",
  answer: () => " answered",
};

const UNREACHABLE_SHOWN = 3;

/** The reporters the bot could not reach, a line each (the first few), so an analyst can contact them another way. */
function unreachableLines(notices: ReporterNotice[]): { line: string }[] {
  const lines = notices.slice(0, UNREACHABLE_SHOWN).map((n) => ({
    line: wrappable(`Could not tell ${n.name} about this incident in Teams: ${n.lastError ?? "unknown reason"}.`),
  }));
  const more = notices.length - UNREACHABLE_SHOWN;
  if (more > 0) lines.push({ line: `And ${more} other ${more === 1 ? "reporter" : "reporters"} could not be reached either.` });
  return lines;
}

function caseworkOf(incident: Incident) {
  const comments = incident.comments ?? [];
  const tasks = incident.tasks ?? [];
  const open = tasks.filter((t) => t.status === "New");
  const shownTasks = [...open, ...tasks.filter((t) => t.status !== "New").reverse()].slice(0, TASKS_SHOWN);
  const preview = (text: string) => (text.length > COMMENT_PREVIEW ? `${text.slice(0, COMMENT_PREVIEW)}…` : text);
  // The latest outcome per reporter: someone reached since is no longer listed.
  const latest = new Map<string, ReporterNotice>();
  for (const n of incident.outbox ?? []) if (n.state !== "pending") latest.set(n.to, n);
  return {
    commentMax: MESSAGE_MAX_LENGTH,
    taskMax: TASK_TITLE_MAX_LENGTH,
    canAsk: hasReporters(incident),
    commentsHeading: `Comments (${comments.length})${comments.length > COMMENTS_SHOWN ? `, the latest ${COMMENTS_SHOWN}` : ""}`,
    comments: comments.slice(-COMMENTS_SHOWN).map((c) => ({
      who: wrappable(c.author.name),
      when: `${COMMENT_LABEL[c.kind](c)}, ${formatUtc(c.createdTimeUtc)}: `,
      message: wrappable(preview(c.message)),
    })),
    tasksHeading:
      `Tasks: ${tasks.length - open.length} of ${tasks.length} done` +
      (open.length > TASKS_SHOWN ? `; the first ${TASKS_SHOWN} open ones below` : ""),
    tasks: shownTasks.map((t) => ({
      id: t.id,
      title: wrappable(t.title),
      open: t.status === "New",
      done: t.status === "New" ? "" : `  (done by ${t.completedBy?.name ?? "someone"})`,
    })),
    unreachable: unreachableLines([...latest.values()].filter((n) => n.state === "unreachable")),
  };
}

/** The card shows this many later reports, each cut to ACCOUNT_PREVIEW characters. */
const ACCOUNTS_SHOWN = 5;
const ACCOUNT_PREVIEW = 200;

/** Later reports of the same message, for the SOC's cards: who, when, what they said (as text, never markdown). */
function accountsOf(incident: Incident) {
  const all = incident.reports ?? [];
  const preview = (text: string) => (text.length > ACCOUNT_PREVIEW ? `${text.slice(0, ACCOUNT_PREVIEW)}…` : text);
  return {
    accountsHeading: `Also reported by ${all.length} ${all.length === 1 ? "other person" : "other people"}`,
    accounts: all.slice(0, ACCOUNTS_SHOWN).map((r) => ({
      who: wrappable(r.reporter.name),
      when: ` (${formatUtc(r.timeUtc)}): `,
      // Everything they typed: their title, their words, when it happened, how urgent, need-to-know.
      words: wrappable([`"${r.title}"`, preview(r.words), ...accountFacts(r)].filter(Boolean).join(" · ")),
    })),
    more: [
      all.length > ACCOUNTS_SHOWN ? `And ${all.length - ACCOUNTS_SHOWN} more.` : "",
      incident.reportsNotKept
        ? `${incident.reportsNotKept} later reports were counted but not kept (an incident keeps ${all.length}).`
        : "",
    ]
      .filter(Boolean)
      .join(" "),
  };
}

function accountFacts(r: ReportAccount): string[] {
  return [
    r.firstActivityTimeUtc ? `happened ${formatUtc(r.firstActivityTimeUtc)}` : "",
    // An employee's report is Medium unless marked urgent (High): only a choice they made is shown.
    r.severity && r.severity !== "Medium" ? `asked for ${r.severity} severity` : "",
    r.restricted ? "asked for the restricted-cases team only" : "",
  ];
}

/** A list of incidents ("my reports", "my incidents"): number, title, and a line of what matters. */
export function incidentListCard(
  heading: string,
  rows: { ref: string; title: string; detail: string }[],
  empty: string,
): AdaptiveCard {
  return expand("incident-list", {
    heading,
    note: "",
    rows: rows.map((r) => ({ ...r, title: wrappable(r.title), detail: wrappable(r.detail) })),
    empty: rows.length ? "" : empty,
  });
}

/** The triage channel's card for an incident: its essentials with Assign to me, Edit, comments, tasks and questions. */
export function triageCard(incident: Incident, note?: string, kept?: Kept): AdaptiveCard {
  const severity = incident.severity === "High" ? "attention" : "accent";
  return incidentCard(incident, {
    heading: `${incidentRef(incident)}: new ${incident.severity.toLowerCase()} incident`,
    headerStyle: incident.owner ? "emphasis" : severity,
    triageActions: true,
    ...(note && { note }),
    ...(kept && { kept }),
  });
}

/** The read-only card that replaces the form once the incident is stored. */
export function incidentCreatedCard(incident: Incident, options: { repeated?: boolean } = {}): AdaptiveCard {
  return incidentCard(incident, {
    heading: `Incident ${incidentRef(incident)} created`,
    ...(options.repeated && { note: "This form had already been submitted: this is the incident it created." }),
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
