/**
 * Every name by which a card, the manifest or a person reaches a handler, spelled here and nowhere
 * else in src/teams or cards/: card templates get VERBS and DATASETS as template data
 * (`${verbs.assign}`), and a test fails when a card names a verb no handler answers, or a handler
 * answers a verb no card names.
 */

/** Card actions (Action.Execute verbs, and `data.verb` of their Action.Submit fallbacks). */
export const VERBS = {
  /** Create an incident from the analyst's form. */
  create: "incident.create",
  /** Open the form for the clicker's role (the help card's button). */
  form: "incident.form",
  /** Create an incident from an employee's report. */
  report: "report.create",
  /** Save an edit made from the triage card. */
  update: "incident.update",
  /** Triage card: Assign to me. */
  assign: "triage.assign",
  /** Triage card: Edit (opens the form on the incident). */
  edit: "triage.edit",
  /** Back to the triage card (Cancel on the edit form). */
  view: "triage.view",
  /** Triage card: Add comment (optionally shared with the reporters). */
  comment: "triage.comment",
  /** Triage card: Ask the reporter. */
  ask: "triage.ask",
  /** Triage card: Add task. */
  task: "triage.task",
  /** Triage card: a task's Done. */
  taskDone: "triage.taskDone",
  /** The help card's My reports: the person's reports. */
  myReports: "help.myReports",
  /** A reporter's answer to the SOC's question, from the card in their chat. */
  answer: "report.answer",
} as const;
export type Verb = (typeof VERBS)[keyof typeof VERBS];

/** Data.Query datasets of the form's typeahead (`application/search`). */
export const DATASETS = {
  owners: "owners",
  tags: "tags",
  /** The shipped ATT&CK Enterprise techniques (src/incidents/attack.ts). */
  techniques: "techniques",
  /** Attach to an existing incident: the incidents the analyst sees in full (src/teams/attach-flow.ts). */
  incidents: "incidents",
} as const;
export type Dataset = (typeof DATASETS)[keyof typeof DATASETS];

/** The message extension's commands, as in manifest/manifest.json. */
export const COMMANDS = { fromMessage: "createIncidentFromMessage", find: "findIncident" } as const;

/** What people type to the bot, after the @mention is stripped; case and a leading slash don't matter. */
export const TEXT_COMMANDS = {
  form: ["incident", "new incident", "create incident"],
  triage: ["triage here", "set triage channel"],
  help: ["help"],
  myReports: ["my reports", "my report"],
  myIncidents: ["my incidents", "my queue"],
} as const;

/** The names card templates use, as template data. */
export const CARD_NAMES = { verbs: VERBS, datasets: DATASETS } as const;
