import fs from "node:fs";
import path from "node:path";
import type { Incident } from "../../src/incidents/model";
import {
  CARDS_DIR,
  helpCard,
  incidentCreatedCard,
  triageCard,
  type AdaptiveCard,
} from "../../src/teams/cards";
import { reporterUpdateCard, reportReceivedCard } from "../../src/teams/reporter-cards";
import { emptyForm, emptyReport, incidentFormCard, reportFormCard } from "../../src/teams/form-cards";
import { CARD_ACTIONS } from "../../src/teams/handlers/card-actions";
import { DATASET_HANDLERS } from "../../src/teams/handlers/typeahead";
import { COMMANDS, DATASETS, VERBS } from "../../src/teams/verbs";
import { aNewIncident } from "../support/builders";

/*
 * One table of verbs: a card can only name a verb some handler answers, every handler is reachable
 * from some card, and no verb or command id is spelled anywhere but src/teams/verbs.ts.
 */

const incident: Incident = { ...aNewIncident(), incidentNumber: 7, revision: 3 };
/** Reported by an employee in chat, with an open task: Ask the reporter and Done show. */
const worked: Incident = {
  ...incident,
  entryPoint: "chat-report",
  createdBy: { name: "Megan Bowen", objectId: "6f1c2d3e-0000-4000-8000-000000000031" },
  tasks: [{ id: "t1", title: "Call Megan", status: "New", createdBy: { name: "Alex" }, createdTimeUtc: incident.createdTimeUtc }],
};
const evidence = { kind: "teams-message" as const, messageId: "1", author: { kind: "user" as const, name: "A" }, bodySha256: "0".repeat(64) };

/** Every card the bot draws, in each of its forms (create, edit, dialog; triage; help...). */
function everyCard(): { name: string; card: AdaptiveCard }[] {
  const choices = { ownerChoices: [{ title: "me", value: "me" }], tagChoices: [{ title: "phishing", value: "phishing" }] };
  return [
    { name: "help", card: helpCard() },
    { name: "form", card: incidentFormCard({ form: emptyForm(), ...choices }) },
    { name: "form in a dialog", card: incidentFormCard({ form: emptyForm(), ...choices, mode: "dialog", evidenceData: evidence }) },
    { name: "edit form", card: incidentFormCard({ form: emptyForm(), ...choices, edit: { incident, revision: 3 } }) },
    { name: "report", card: reportFormCard({ form: emptyReport() }) },
    { name: "report in a dialog", card: reportFormCard({ form: emptyReport(), mode: "dialog", evidenceData: evidence }) },
    { name: "triage", card: triageCard(incident) },
    { name: "triage of a report, with a task", card: triageCard(worked) },
    { name: "question to a reporter", card: reporterUpdateCard(worked, { text: "When?", questionId: "q1" }) },
    { name: "created", card: incidentCreatedCard(incident) },
    { name: "received", card: reportReceivedCard(incident) },
  ];
}

/** Verbs a card can send: Action.Execute's verb and the `verb` in an Action.Submit's data, fallbacks included. */
function verbsIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => verbsIn(n, found));
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.type === "Action.Execute" && typeof o.verb === "string") found.add(o.verb);
    if (o.type === "Action.Submit" && typeof (o.data as { verb?: unknown } | undefined)?.verb === "string") {
      found.add((o.data as { verb: string }).verb);
    }
    Object.values(o).forEach((v) => verbsIn(v, found));
  }
  return found;
}

function datasetsIn(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => datasetsIn(n, found));
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.type === "Data.Query" && typeof o.dataset === "string") found.add(o.dataset);
    Object.values(o).forEach((v) => datasetsIn(v, found));
  }
  return found;
}

describe("the verb table", () => {
  const cards = everyCard();
  const sent = new Set(cards.flatMap(({ card }) => [...verbsIn(card)]));

  it.each(cards)("every verb on the $name card has a handler", ({ card }) => {
    for (const verb of verbsIn(card)) expect(Object.keys(CARD_ACTIONS)).toContain(verb);
  });

  it("every handler's verb is on some card", () => {
    expect([...sent].sort()).toEqual(Object.keys(CARD_ACTIONS).sort());
  });

  it("every verb is in the table, and the table has nothing else", () => {
    expect(Object.keys(CARD_ACTIONS).sort()).toEqual(Object.values(VERBS).sort());
  });

  it("every typeahead dataset a card asks has a handler, and every handler is asked by a card", () => {
    const asked = new Set(cards.flatMap(({ card }) => [...datasetsIn(card)]));
    expect([...asked].sort()).toEqual(Object.keys(DATASET_HANDLERS).sort());
    expect(Object.keys(DATASET_HANDLERS).sort()).toEqual(Object.values(DATASETS).sort());
  });

  it("the templates name verbs and datasets only through the table (${verbs.x}, ${datasets.x}), and only ones it has", () => {
    for (const file of fs.readdirSync(CARDS_DIR).filter((f) => f.endsWith(".json"))) {
      const text = fs.readFileSync(path.join(CARDS_DIR, file), "utf8");
      for (const [, key] of text.matchAll(/\$\{(?:\$root\.)?verbs\.(\w+)\}/g)) expect(Object.keys(VERBS)).toContain(key);
      for (const [, key] of text.matchAll(/\$\{datasets\.(\w+)\}/g)) expect(Object.keys(DATASETS)).toContain(key);
      for (const [, value] of text.matchAll(/"(?:verb|dataset)"\s*:\s*"([^"]*)"/g)) expect(value).toMatch(/^\$\{(?:\$root\.)?[\w.]+\}$/);
    }
  });
});

describe("no verb or command id is spelled twice", () => {
  const root = path.resolve(__dirname, "..", "..");
  const files = [
    ...walk(path.join(root, "src", "teams")),
    ...fs.readdirSync(CARDS_DIR).map((f) => path.join(CARDS_DIR, f)),
  ];

  it.each([...Object.values(VERBS), ...Object.values(COMMANDS)])("%s is spelled only in src/teams/verbs.ts", (name) => {
    // As a whole name: "incident.create" in "incident.createdBy" is a property, not the verb.
    const whole = new RegExp(`(?<![\\w.])${name.replace(/\./g, "\\.")}(?![\\w.])`);
    const spelled = files.filter((f) => whole.test(fs.readFileSync(f, "utf8"))).map((f) => path.relative(root, f));
    expect(spelled).toEqual([path.join("src", "teams", "verbs.ts")]);
  });
});

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
