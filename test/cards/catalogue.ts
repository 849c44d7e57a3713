/**
 * Every card template in cards/, with the cards the bot makes from it: typical ones and the worst
 * case. The Node tests (test/cards) validate and measure each sample; the browser tests
 * (test/browser) render each one in Chromium.
 *
 * A new card in cards/ fails the tests until it has an entry here: add one entry with its samples,
 * each made by the running bot (`world.say`, `world.act`, `world.submit`) or by the exported
 * function in src/teams/cards.ts that builds it. Typical data first, then the worst case: every
 * field at its limit in `heavy` text, every error shown, the longest names.
 */
import { StoreUnavailableError, DirectoryUnavailableError } from "../../src/incidents/errors";
import { ATTACH_REFUSED } from "../../src/incidents/attach";
import { COMMENT_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, RECOMMENDED_ACTIONS_MAX_LENGTH, TITLE_MAX_LENGTH, type FieldErrors, type FieldName, type IncidentForm } from "../../src/incidents/validation";
import { findTechniques, techniqueTitle, TECHNIQUES_MAX } from "../../src/incidents/attack";
import { ENTITY_BOX_MAX_LENGTH } from "../../src/incidents/form-entities";
import { ENTITIES_MAX } from "../../src/incidents/entities";
import { TAG_MAX_COUNT, TAG_MAX_LENGTH } from "../../src/incidents/tags";
import { WHERE_MAX_LENGTH, type ReportErrors } from "../../src/incidents/report";
import { incidentFormCard, reportFormCard } from "../../src/teams/form-cards";
import { triageCard } from "../../src/teams/cards";
import type { SentinelLink } from "../../src/incidents/model";
import { unavailableBanner } from "../../src/teams/outage";
import { cardOf, errorAfter, input, values, visibleText } from "../support/cards";
import { MESSAGE_MAX_LENGTH, TASK_TITLE_MAX_LENGTH } from "../../src/incidents/casework";
import { ALEX, DIEGO, LEE, MEGAN, execute, messagePayload, submitActionFromMessage, type Person } from "../support/teams";
import { until } from "../support/until";
import { LONG_GROUP_IDS, LONG_PEOPLE, NAME_MAX, heavy, text, words, type SampleWorld, type TextKind } from "./sample-world";
import type { Json } from "./teams-rules";
import { giveEntities, largestEntities, phishingFields } from "../support/entities";
import { incidentCreatedCard } from "../../src/teams/cards";

export interface CardSample {
  name: string;
  make(world: SampleWorld): Promise<Json>;
  /**
   * A larger size budget than CARD_BUDGET_BYTES for this sample, and why: a product decision written
   * down here (never a known defect kept green). The sample must still stay under it.
   */
  budget?: { bytes: number; why: string };
}

export interface CatalogueEntry {
  /** The template's file name in cards/, without .json. */
  template: string;
  samples: CardSample[];
}

/** Typical choices and tags of a SOC workspace, put there by incidents created before the sample. */
const RECENT_TAGS = ["Phishing", "Finance", "VIP", "Physical"];

async function seedIncidents(world: SampleWorld, tagLists: string[][], from?: Person): Promise<void> {
  for (const tags of tagLists) {
    const form = await world.say("incident", from);
    const card = await world.submit(form, { title: `Seed ${tags.join(" ")}`.slice(0, TITLE_MAX_LENGTH), tags: tags.join(",") }, from);
    if (!/^Incident INC-\d+ created$/.test(visibleText(card)[0] ?? "")) {
      throw new Error(`seeding tags ${tags.join(",")} did not create an incident`);
    }
  }
}

/** 20 different tags of 50 characters, and 10 others the workspace used more (so a form offers 30). */
function worstTags(kind: TextKind, prefix: "t" | "r", count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${text(kind, TAG_MAX_LENGTH - 3).trim()}${prefix}${String(i).padStart(2, "0")}`.slice(-TAG_MAX_LENGTH));
}

/** Every field at its limit; the owner is the group with the longest name. */
function worstForm(kind: TextKind, closingCommentLength: number): Omit<IncidentForm, "submissionId"> {
  return {
    title: text(kind, TITLE_MAX_LENGTH),
    description: text(kind, DESCRIPTION_MAX_LENGTH),
    severity: "Informational",
    status: "Closed",
    closing: "BenignPositive.SuspiciousButExpected",
    closingComment: text(kind, closingCommentLength),
    owner: LONG_GROUP_IDS[kind],
    tags: worstTags(kind, "t", TAG_MAX_COUNT).join(","),
    category: "PrivilegeEscalation",
    techniques: LONGEST_TECHNIQUES.join(","),
    recommendedActions: text(kind, RECOMMENDED_ACTIONS_MAX_LENGTH),
    impacted: `${LONG_PEOPLE[kind].aadObjectId},${LONG_GROUP_IDS[kind]}`,
    impactedTyped: text(kind, ENTITY_BOX_MAX_LENGTH),
    evidenceTyped: text(kind, ENTITY_BOX_MAX_LENGTH),
  };
}

/** The techniques with the longest titles, as many as an incident takes. */
const LONGEST_TECHNIQUES = findTechniques("t", 10_000)
  .sort((a, b) => techniqueTitle(b).length - techniqueTitle(a).length)
  .slice(0, TECHNIQUES_MAX)
  .map((t) => t.id);

/** Evidence whose choices are as long as the form shows them (their titles are cut to 40 characters). */
function longUrls(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `https://login-${from + i}.paypa1-secure-verification.com/account/verify?session=0f3a9`);
}

/**
 * The edit form with the largest lists: 100 entities (the longest-named person and group impacted,
 * 98 URLs as evidence, added over several saves as a box takes some 10), 20 techniques.
 */
async function largestListsEdit(world: SampleWorld, kind: TextKind): Promise<Json> {
  const person = LONG_PEOPLE[kind];
  const urls = longUrls(0, ENTITIES_MAX - 2);
  const perSave = Math.floor(ENTITY_BOX_MAX_LENGTH / (Math.max(...urls.map((u) => u.length)) + 1));
  const form = await world.say("incident", person);
  const first = { title: "Phishing wave", category: "InitialAccess", techniques: LONGEST_TECHNIQUES.join(","), impacted: `${person.aadObjectId},${LONG_GROUP_IDS[kind]}` };
  const created = await world.submit(form, { ...first, evidenceTyped: urls.slice(0, perSave).join("\n") }, person);
  const id = String(created.actions.find((a: Json) => a.data?.incidentId)?.data.incidentId ?? form.actions[0].data.submissionId);
  for (let at = perSave; at < urls.length; at += perSave) {
    const edit = await world.act("triage.edit", { incidentId: id }, person);
    const saved = await world.submit(edit, { evidenceTyped: urls.slice(at, at + perSave).join("\n") }, person);
    if (!visibleText(saved).some((t) => t.startsWith("Saved by"))) throw new Error(`adding evidence did not save: ${problemsOf(saved)}`);
  }
  const edit = await world.act("triage.edit", { incidentId: id }, person);
  if (input(edit, "evidenceKept").choices.length !== ENTITIES_MAX - 2) throw new Error("the edit form does not list 98 pieces of evidence");
  return edit;
}

function problemsOf(card: Json): string {
  return visibleText(card).join(" | ").slice(0, 500);
}

/** A long closing comment that is still ordinary (Sentinel allows 30,000 characters). */
const LONG_COMMENT = 1000;

/**
 * The longest message the bot gives for each field, from the bot's own answers to wrong forms,
 * and the longest banner (a dependency down).
 */
async function longestErrors(world: SampleWorld, kind: TextKind): Promise<{ errors: Required<FieldErrors>; banner: string }> {
  const wrong: [Record<string, string>, Person?][] = [
    [{ title: "", description: "d".repeat(DESCRIPTION_MAX_LENGTH + 1), severity: "Severe", status: "Done", owner: "not an id", tags: `${text(kind, TAG_MAX_LENGTH)}x` }],
    [{ title: "t".repeat(TITLE_MAX_LENGTH * 10), description: "a\u0001b", status: "Closed", owner: "me", tags: Array.from({ length: 99 }, (_, i) => `tag${i}`).join(",") }, { id: "29:no-aad-object-id", name: "Guest" }],
    [{ title: "a\u0001b", status: "Closed", closingComment: "c".repeat(COMMENT_MAX_LENGTH + 1), owner: "0badc0de-0000-4000-8000-000000000000", tags: "bad\u0007tag" }],
    [{ title: "ok", status: "Closed", closing: "Nonsense", closingComment: "a\u0001b", owner: "me" }, { id: "29:not-in-directory", name: "Visitor", aadObjectId: "0badc0de-0000-4000-8000-0000000000aa" }],
    [
      {
        title: "ok",
        category: text(kind, 100),
        techniques: Array.from({ length: 3 }, (_, i) => `${text(kind, 30)}${i}`).join(","),
        recommendedActions: "r".repeat(RECOMMENDED_ACTIONS_MAX_LENGTH + 1),
        impacted: Array.from({ length: 3 }, (_, i) => `0badc0de-0000-4000-8000-${String(i).padStart(12, "0")}`).join(","),
        impactedTyped: Array.from({ length: 5 }, (_, i) => `https://${"x".repeat(300)}${i}.com/\u0007`).join("\n"),
        evidenceTyped: Array.from({ length: 4 }, (_, i) => `${"ab".repeat(300)}${i}`).join("\n"),
      },
    ],
    [{ title: "ok", techniques: LONGEST_TECHNIQUES.join(",") + ",T1001", impacted: "x".repeat(40), recommendedActions: "a\u0001b", impactedTyped: "1,".repeat(101), evidenceTyped: "e".repeat(ENTITY_BOX_MAX_LENGTH + 1) }],
  ];
  const fields: FieldName[] = ["title", "description", "severity", "status", "closing", "closingComment", "owner", "tags", "category", "techniques", "recommendedActions", "impacted", "impactedTyped", "evidenceTyped"];
  const errors = Object.fromEntries(fields.map((f) => [f, ""])) as Required<FieldErrors>;
  for (const [typed, from] of wrong) {
    const card = await world.submit(await world.say("incident"), typed, from);
    for (const field of fields) {
      const error = errorAfter(card, field) ?? "";
      if (error.length > errors[field].length) errors[field] = error;
    }
  }
  const missing = fields.filter((f) => !errors[f]);
  if (missing.length) throw new Error(`the bot gave no error for ${missing.join(", ")}`);
  const banners = [new StoreUnavailableError("down"), new DirectoryUnavailableError("down")].map((e) => unavailableBanner(e) ?? "");
  return { errors, banner: banners.reduce((a, b) => (b.length > a.length ? b : a)) };
}

/**
 * The largest form there can be: the bot's own answer to the worst values (with its choices: the
 * longest names, 20 chosen and 10 recent tags), drawn again by src/teams/cards.ts with the longest
 * message on every field at once and the banner, which no single answer of the bot combines.
 */
async function worstFormCard(world: SampleWorld, kind: TextKind, closingCommentLength: number): Promise<Json> {
  const person = LONG_PEOPLE[kind];
  const recent = worstTags(kind, "r", 10);
  await seedIncidents(world, [recent, recent], person);
  const typed = worstForm(kind, closingCommentLength);
  const answer = await world.submit(await world.say("incident", person), { ...typed, closing: "" }, person);
  const { errors, banner } = await longestErrors(world, kind);
  return incidentFormCard({
    form: { ...typed, submissionId: String(answer.actions[0].data.submissionId) },
    errors,
    banner,
    ownerChoices: input(answer, "owner").choices,
    tagChoices: input(answer, "tags").choices,
    techniqueChoices: input(answer, "techniques").choices,
    impactedChoices: input(answer, "impacted").choices,
    categoryRequired: true,
    // Attach to an existing incident: its error and the longest choice title (src/teams/attach-flow.ts), both at once.
    attach: { value: "new", error: ATTACH_REFUSED, choices: [{ title: text(kind, 120), value: "8d3c1a52-0000-4000-8000-000000000001" }] },
  });
}

/** The confirmation for the worst values, answered to a repeated click (so it carries the "already submitted" note too). */
async function worstCreatedCard(world: SampleWorld, kind: TextKind, closingCommentLength: number): Promise<Json> {
  const person = LONG_PEOPLE[kind];
  const form = await world.say("incident", person);
  // Boxes of typed entities hold entities here (text is refused): the incident is created.
  const typed = { ...worstForm(kind, closingCommentLength), impactedTyped: "", evidenceTyped: "" };
  await world.submit(form, typed, person);
  return world.submit(form, typed, person);
}

/**
 * The product decisions for the analyst's form sent back keeping, at every limit at once, everything
 * the person typed (a requirement: errors come back with what was typed kept). Its description and
 * Microsoft Defender's recommended actions take 5,000 characters each, the boxes of typed entities 700
 * each: in ordinary words such a form may use up to 80 KB, what Teams recommends staying under (its
 * limit is 100 KB; 40 KB is the limit of older clients: ../shared facts, Microsoft Learn). In text made
 * of characters JSON must escape (`"` and `\` take two characters, so four bytes in UTF-16) the two
 * texts alone are 40 KB: such a form may use up to Teams' limit, 100 KB (over it Teams refuses the
 * message); the boxes are 700 characters so that it fits (with the attach choice). Every other card, and the analyst's form
 * as people see it (new, edit, with the largest lists of entities), keeps the 40 KB budget.
 */
const FORM_WITH_DEFENDER_TEXT = {
  bytes: 80 * 1024,
  why: "the analyst's form sent back with every field at its limit, Defender's included, may use Teams' recommended 80 KB",
};

const FORM_WITH_DEFENDER_ESCAPED = {
  bytes: 100 * 1024,
  why: "the analyst's form at every limit in characters JSON must escape, Defender's fields included, stays under Teams' 100 KB limit",
};

/** The longest message the bot gives for each field of the employee's report, and the longest banner. */
async function longestReportErrors(world: SampleWorld): Promise<{ errors: Required<ReportErrors>; banner: string }> {
  const wrong: Record<string, string>[] = [
    { title: "", whatHappened: " ", whenDate: "not a date", whenTime: "25:99", where: "w".repeat(WHERE_MAX_LENGTH + 1) },
    { title: "t".repeat(TITLE_MAX_LENGTH * 10), whatHappened: "w".repeat(DESCRIPTION_MAX_LENGTH * 2), whenDate: "2099-12-31", whenTime: "23:59" },
  ];
  // Each field's error follows its input; the date and time share one, after the time.
  const after: Record<keyof ReportErrors, string> = { title: "title", whatHappened: "whatHappened", when: "whenTime", where: "where" };
  const errors: Required<ReportErrors> = { title: "", whatHappened: "", when: "", where: "" };
  for (const typed of wrong) {
    const card = await world.submit(await world.say("incident", MEGAN), typed, MEGAN);
    for (const [field, id] of Object.entries(after) as [keyof ReportErrors, string][]) {
      const error = errorAfter(card, id) ?? "";
      if (error.length > errors[field].length) errors[field] = error;
    }
  }
  const missing = Object.keys(errors).filter((f) => !errors[f as keyof ReportErrors]);
  if (missing.length) throw new Error(`the bot gave no report error for ${missing.join(", ")}`);
  const banners = [new StoreUnavailableError("down"), new DirectoryUnavailableError("down")].map((e) => unavailableBanner(e) ?? "");
  return { errors, banner: banners.reduce((a, b) => (b.length > a.length ? b : a)) };
}

/** What an employee writes to the bot in a chat. */
const EMPLOYEE_WORDS = "Someone followed me through the badge door at building 3 this morning. They had no badge and went up the stairs.";

/** Incidents in a triage channel: the channel chosen, then one created by an analyst's form. */
async function triaged(world: SampleWorld, typed: Record<string, string>): Promise<Json> {
  await world.triageHere();
  await world.submit(await world.say("incident"), typed);
  return world.triagePost(1);
}

/** How long the waits below poll: generous, yet inside the 30 s a sample's beforeAll has (test/cards/cards.test.ts), so a failure names what it waited for. */
const WAIT_CEILING_MS = 20_000;

/** The `count`th update the bot sent `person` about their reports (a notice in their 1:1 chat), once Teams took it. */
async function noticeTo(world: SampleWorld, person: Person, count: number): Promise<Json> {
  return until(
    `${person.name}'s update number ${count}`,
    () =>
      world.bot.connector.calls
        .filter((c) => c.method === "POST" && c.status === 200 && c.body?.recipient?.id === person.id)
        .map((c) => cardOf(c.body))
        .filter((card) => card.body?.[0]?.id === "reporterUpdate")[count - 1],
    WAIT_CEILING_MS,
  );
}

/** Megan's report from her chat; the incident as stored. */
async function meganReport(world: SampleWorld, typed: Record<string, string> = {}) {
  await world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), typed, MEGAN);
  return (await world.bot.incidents())[0]!;
}

/** Waits until every notice is sent or given up on. */
async function noticesSettled(world: SampleWorld): Promise<void> {
  await until(
    "every notice sent or given up on",
    async () => !(await world.bot.incidents()).some((incident) => (incident.outbox ?? []).some((n) => n.state === "pending")),
    WAIT_CEILING_MS,
  );
}

/** The same Teams message reported by each of `people` through the message extension. */
async function reportedByMany(world: SampleWorld, people: Person[]) {
  const payload = messagePayload();
  for (const person of people) {
    const dialog = await world.dialog(person, payload);
    await world.bot.post(submitActionFromMessage(world.bot.serviceUrl, { ...dialog.actions[0].data, ...values(dialog) }, { from: person, payload }));
  }
  return (await world.bot.incidents())[0]!;
}

/** The triage card with the longest comments and task titles in text JSON must escape, ten open tasks, five reporters not reached. */
async function worstWorkedTriage(world: SampleWorld): Promise<Json> {
  // Employees and guests (an analyst offered an already reported message gets the incident, not a report).
  const guests = [1, 2, 3].map((i) => ({ id: `29:guest-${i}`, name: i === 1 ? heavy(NAME_MAX) : `Guest ${i}` }));
  const incident = await reportedByMany(world, [MEGAN, DIEGO, ...guests]);
  const ref = { incidentId: incident.id, revision: String(incident.revision) };
  world.bot.connector.refuse((call) => (call.body?.attachments?.[0]?.content?.body?.[0]?.id === "reporterUpdate" ? 403 : undefined));
  for (let i = 0; i < 3; i++) {
    await world.act("triage.comment", { ...ref, commentText: `${i}${heavy(MESSAGE_MAX_LENGTH - 1)}`, commentShared: "true" }, LONG_PEOPLE.heavy);
  }
  await noticesSettled(world);
  let card: Json = {};
  for (let i = 0; i < 10; i++) card = await world.act("triage.task", { ...ref, taskTitle: `${i}${heavy(TASK_TITLE_MAX_LENGTH - 1)}` }, LONG_PEOPLE.heavy);
  world.bot.connector.refuse(undefined);
  // Three reporters named, the others counted; five open tasks shown of ten.
  const seen = visibleText(card).join("\n");
  if (!seen.includes("And 2 other reporters could not be reached either.") || (seen.match(/^Could not tell /gm) ?? []).length !== 3) {
    throw new Error("the unreachable reporters are not listed as three and a count");
  }
  if (!seen.includes("Tasks: 0 of 10 done; the first 5 open ones below")) throw new Error("the open tasks are not cut to five");
  return card;
}

export const CATALOGUE: CatalogueEntry[] = [
  {
    template: "help",
    samples: [
      { name: "answer to help", make: (world) => world.say("help") },
      { name: "answer to a button on an incident that no longer exists", make: (world) => world.act("triage.assign", { incidentId: "0badc0de-0000-4000-8000-0000000000ff", revision: "1" }) },
      {
        name: "worst case: answer to an unknown command in a channel, with the hint (nothing else in it varies)",
        make: (world) => world.say("what can you do?", ALEX, "channel"),
      },
    ],
  },
  {
    template: "incident-form",
    samples: [
      {
        name: "new form in a workspace with no recent tags",
        make: (world) => world.say("incident"),
      },
      {
        name: "new form with the workspace's recent tags",
        make: async (world) => {
          await seedIncidents(world, [RECENT_TAGS.slice(0, 2), RECENT_TAGS.slice(2)]);
          return world.say("incident");
        },
      },
      {
        name: "answer to a blank title and Closed without classification, values kept",
        make: async (world) => {
          await seedIncidents(world, [RECENT_TAGS]);
          const form = await world.say("incident");
          return world.submit(form, { title: "   ", description: words(300), severity: "High", status: "Closed", owner: "me", tags: "Phishing,VIP" });
        },
      },
      {
        name: "dialog for an incident from a Teams message, prefilled from it",
        make: async (world) => {
          await seedIncidents(world, [RECENT_TAGS]);
          return world.dialog();
        },
      },
      {
        name: "answer to an incident chosen to attach to that can't be added to, values kept",
        make: async (world) => {
          const form = await world.say("incident");
          return world.submit(form, { title: "Same sender again", attachTo: "8d3c1a52-0000-4000-8000-00000000dead" });
        },
      },
      {
        name: "Edit from the triage channel, after someone else saved first",
        make: async (world) => {
          await seedIncidents(world, [RECENT_TAGS]);
          const triage = await triaged(world, { title: "Suspicious login", tags: "Phishing" });
          const mine = await world.act("triage.edit", triage.actions[1].data);
          const theirs = await world.act("triage.edit", triage.actions[1].data, LEE);
          await world.submit(theirs, { status: "Active" }, LEE);
          return world.submit(mine, { severity: "High" });
        },
      },
      {
        name: "new form: the Defender fields empty (category, techniques, actions, impacted, evidence)",
        make: async (world) => {
          const card = await world.say("incident");
          if (input(card, "category").value !== "" || input(card, "evidenceTyped").value !== "") throw new Error("the new form is not empty");
          return card;
        },
      },
      {
        name: "edit form with the largest lists: 100 entities, 98 of them evidence to untick, 20 techniques, the longest names",
        make: (world) => largestListsEdit(world, "words"),
      },
      {
        name: "worst case: edit form with the largest lists sent back with a 5,000-character description, recommended actions too long, both boxes full, and their errors",
        make: async (world) => {
          const edit = await largestListsEdit(world, "words");
          const bad = {
            description: text("words", DESCRIPTION_MAX_LENGTH),
            recommendedActions: "r".repeat(RECOMMENDED_ACTIONS_MAX_LENGTH + 1),
            impactedTyped: text("words", ENTITY_BOX_MAX_LENGTH),
            evidenceTyped: text("words", ENTITY_BOX_MAX_LENGTH),
          };
          return world.submit(edit, bad, LONG_PEOPLE.words);
        },
        budget: FORM_WITH_DEFENDER_TEXT,
      },
      {
        name: "worst case: every field at its limit, longest names, 30 tag choices, every error and the banner, a 1,000-character closing comment",
        make: (world) => worstFormCard(world, "words", LONG_COMMENT),
        budget: FORM_WITH_DEFENDER_TEXT,
      },
      {
        name: "worst case in text JSON must escape",
        make: (world) => worstFormCard(world, "heavy", LONG_COMMENT),
        budget: FORM_WITH_DEFENDER_ESCAPED,
      },
      {
        name: "worst case with a closing comment at its 2,000-character limit",
        make: (world) => worstFormCard(world, "words", COMMENT_MAX_LENGTH),
        budget: FORM_WITH_DEFENDER_TEXT,
      },
      {
        name: "worst case with a 2,000-character closing comment, in text JSON must escape",
        make: (world) => worstFormCard(world, "heavy", COMMENT_MAX_LENGTH),
        budget: FORM_WITH_DEFENDER_ESCAPED,
      },
    ],
  },
  {
    template: "incident",
    samples: [
      {
        name: "confirmation of a typical incident",
        make: async (world) => {
          const form = await world.say("incident");
          return world.submit(form, {
            title: "Stranger tailgating at building 3",
            description: "Followed an employee through the badge door at 08:10.",
            severity: "High",
            status: "Active",
            owner: "c3a9e0f1-1b2c-4d3e-8f40-5a6b7c8d9e01",
            tags: "Physical,Tailgating",
          });
        },
      },
      {
        name: "confirmation of an incident created Closed, answered to a repeated submission",
        make: async (world) => {
          const form = await world.say("incident");
          const typed = { title: "Badge reader false alarm", status: "Closed", closing: "FalsePositive.InaccurateData", closingComment: "Reader clock was wrong." };
          await world.submit(form, typed);
          return world.submit(form, typed);
        },
      },
      {
        name: "a report attached to an existing incident: Added to INC-1, with Open in the triage channel",
        make: async (world) => {
          const triage = await triaged(world, { title: "Phishing from a fake payroll address", severity: "High", tags: "Phishing" });
          const attachTo = String(triage.actions[1].data.incidentId);
          return world.submit(await world.say("incident"), { title: "Same sender again", attachTo });
        },
      },
      {
        name: "triage channel card with Assign to me and Edit",
        make: (world) => triaged(world, { title: "Suspicious login from a new country", severity: "High", tags: "Identity" }),
      },
      {
        name: "triage card of an incident in Sentinel: its number, Open in Sentinel, a conflict reported",
        make: async (world) => {
          await triaged(world, { title: "Suspicious login from a new country", severity: "High", tags: "Identity" });
          const [incident] = await world.bot.incidents();
          const link: SentinelLink = {
            revision: incident!.revision,
            etag: '"5f0c"',
            incidentNumber: 4711,
            incidentUrl: "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/x/incidents/" + incident!.id,
            comments: 0,
            reports: 1,
            tasks: [],
            attempts: 0,
            dueUtc: incident!.createdTimeUtc,
            conflicts: ["Severity was changed in Sentinel (to Low) and in Teams (to High) at the same time: Teams' High was kept."],
          };
          return triageCard({ ...incident!, sentinel: link });
        },
      },
      {
        name: "worst case: triage card of an incident Sentinel refused, with its longest reason and five conflicts",
        make: async (world) => {
          await triaged(world, { title: "Suspicious login from a new country", tags: "Identity" });
          const [incident] = await world.bot.incidents();
          const conflict = (field: string) =>
            `${field} was changed in Sentinel (to ${heavy(60)}) and in Teams (to ${heavy(60)}) at the same time: Teams' ${heavy(60)} was kept.`;
          const link: SentinelLink = {
            revision: incident!.revision - 1,
            etag: '"5f0c"',
            incidentNumber: 999_999_999,
            incidentUrl: "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/" + "x".repeat(400),
            comments: 0,
            reports: 1,
            tasks: [],
            attempts: 3,
            dueUtc: incident!.createdTimeUtc,
            rejected: { revision: incident!.revision, reason: heavy(600) },
            conflicts: ["Title", "Description", "Severity", "Status", "Owner"].map(conflict),
          };
          return triageCard({ ...incident!, sentinel: link });
        },
      },
      {
        name: "triage channel card after Assign to me",
        make: async (world) => {
          const triage = await triaged(world, { title: "Suspicious login from a new country", tags: "Identity" });
          return world.act("triage.assign", triage.actions[0].data);
        },
      },
      {
        name: "triage card of an employee's report being worked: a shared comment, a question answered, two tasks, one done",
        make: async (world) => {
          const incident = await meganReport(world);
          const ref = { incidentId: incident.id, revision: String(incident.revision) };
          await world.act("triage.comment", { ...ref, commentText: "Number traced to a known vishing campaign.", commentShared: "false" });
          await world.act("triage.ask", { ...ref, questionText: "Did you give them any code or password?" });
          const question = await noticeTo(world, MEGAN, 1);
          await world.act("report.answer", { ...question.actions[0].data, answerText: "No, I hung up and called the service desk." }, MEGAN);
          await world.act("triage.task", { ...ref, taskTitle: "Block the caller's number at the PBX" });
          const card = await world.act("triage.task", { ...ref, taskTitle: "Warn the finance team about the campaign" });
          const done = card.body.find((b: Json) => b.id === "tasks").items[1].columns[1].items[0].actions[0];
          return world.act(done.verb, done.data);
        },
      },
      {
        name: "worst case: the longest comments and task titles in text JSON must escape, ten open tasks, five reporters not reached",
        make: worstWorkedTriage,
      },
      {
        name: "an incident from a Teams message, offered again for the same message, with a link to it",
        make: async (world) => {
          const dialog = await world.dialog();
          await world.bot.post(submitActionFromMessage(world.bot.serviceUrl, { ...dialog.actions[0].data, ...values(dialog) }, { from: ALEX, payload: messagePayload() }));
          return world.dialog(LEE);
        },
      },
      {
        name: "search result in the compose box",
        make: async (world) => {
          await seedIncidents(world, [["Physical"]]);
          const [found] = await world.find("INC-1");
          if (!found) throw new Error("the search found nothing");
          return found;
        },
      },
      {
        name: "confirmation with eight ordinary tags",
        make: async (world) => {
          const form = await world.say("incident");
          return world.submit(form, {
            title: "Invoice fraud attempt on the finance team",
            severity: "Medium",
            tags: "Phishing,Finance,VIP,Credential theft,Executive,Mailbox rule,Wire transfer,Spoofed domain",
          });
        },
      },
      {
        name: "confirmation of a phishing report whose title is mostly a link",
        make: async (world) => {
          const form = await world.say("incident");
          return world.submit(form, {
            title: "Phishing link https://login.microsoftonline.com.account-verify.example/common/oauth2/v2.0/authorize?client_id=8f2d1c7a-5b3e-4c1d-9a0f-2e7b6c5d4a3f&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            severity: "High",
          });
        },
      },
      {
        name: "worst case: every field at its limit, longest names, 20 tags, a 1,000-character closing comment, repeated",
        make: (world) => worstCreatedCard(world, "words", LONG_COMMENT),
      },
      {
        name: "worst case in text JSON must escape",
        make: (world) => worstCreatedCard(world, "heavy", LONG_COMMENT),
      },
      {
        name: "worst case with a closing comment at its 2,000-character limit",
        make: (world) => worstCreatedCard(world, "words", COMMENT_MAX_LENGTH),
      },
      {
        name: "worst case with a 2,000-character closing comment, in text JSON must escape",
        make: (world) => worstCreatedCard(world, "heavy", COMMENT_MAX_LENGTH),
      },
    ],
  },
  {
    template: "incident-entities",
    samples: [
      {
        name: "triage card of a phishing report: category, techniques, recommended actions, its entities defanged",
        make: async (world) => {
          await triaged(world, { title: "Phishing mail with a credential link", severity: "High", tags: "Phishing" });
          const [incident] = await world.bot.incidents();
          await giveEntities(world.bot, incident!.id, phishingFields());
          return world.act("triage.view", { incidentId: incident!.id });
        },
      },
      {
        name: "the triage post redrawn after Assign to me in the analyst's chat, with the entities",
        make: async (world) => {
          await triaged(world, { title: "Phishing mail with a credential link", tags: "Phishing" });
          const incident = await until("the triage post recorded", async () => (await world.bot.incidents()).find((i) => i.triage?.state === "posted"), WAIT_CEILING_MS);
          const given = await giveEntities(world.bot, incident.id, phishingFields());
          await world.act("triage.assign", { incidentId: given.id, revision: String(given.revision) });
          const messageId = given.triage?.messageId;
          const update = await until("the triage post redrawn", () => world.bot.connector.updated().find((u) => u.id === messageId), WAIT_CEILING_MS);
          return cardOf(update.activity);
        },
      },
      {
        name: "confirmation in the analyst's own chat of an incident with a category and entities",
        make: async (world) => {
          await world.submit(await world.say("incident"), { title: "Invoice fraud attempt", severity: "Medium" });
          const [incident] = await world.bot.incidents();
          return incidentCreatedCard(await giveEntities(world.bot, incident!.id, { ...phishingFields(), mitreTechniques: ["T1566"] }));
        },
      },
      {
        name: "worst case: 100 entities of every type (1,000-character URLs, javascript: URLs, IPv6, IDN, flags), 37 not kept, 20 techniques, on a triage card",
        make: async (world) => {
          await triaged(world, { title: "Mass phishing campaign", severity: "High" });
          const [incident] = await world.bot.incidents();
          const techniques = ["T1566", "T1566.001", "T1566.002", "T1566.003", "T1078", "T1078.004", "T1110", "T1110.003", "T1204", "T1204.001", "T1204.002", "T1059", "T1059.001", "T1071", "T1071.001", "T1105", "T1114", "T1114.002", "T1534", "T1598"];
          const fields = { ...phishingFields(), mitreTechniques: techniques, recommendedActions: heavy(5000), entities: largestEntities(), entitiesNotKept: 37 };
          await giveEntities(world.bot, incident!.id, fields);
          return world.act("triage.view", { incidentId: incident!.id });
        },
      },
      {
        name: "worst case: the largest entity lists on the fullest triage card (the longest comments and tasks): drawn as a line",
        make: async (world) => {
          await worstWorkedTriage(world);
          const [incident] = await world.bot.incidents();
          await giveEntities(world.bot, incident!.id, { ...phishingFields(), entities: largestEntities(), entitiesNotKept: 37 });
          const card = await world.act("triage.view", { incidentId: incident!.id });
          if (!visibleText(card).some((t) => t.includes("not listed, this card is full"))) throw new Error("the entities are not drawn as a line");
          return card;
        },
      },
      {
        name: "worst case: the largest entity lists on a confirmation with every field at its limit in text JSON must escape",
        make: async (world) => {
          await worstCreatedCard(world, "heavy", COMMENT_MAX_LENGTH);
          const [incident] = await world.bot.incidents();
          return incidentCreatedCard(await giveEntities(world.bot, incident!.id, { ...phishingFields(), entities: largestEntities(), entitiesNotKept: 37 }));
        },
      },
    ],
  },
  {
    template: "report-form",
    samples: [
      { name: "an employee's new report", make: (world) => world.say("incident", MEGAN) },
      { name: "an employee's report prefilled from what they wrote", make: (world) => world.say(EMPLOYEE_WORDS, MEGAN) },
      {
        name: "answer to a report without what happened and with a time in the future, values kept",
        make: async (world) => world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), { whatHappened: " ", whenDate: "2099-01-01", whenTime: "09:00" }, MEGAN),
      },
      { name: "dialog for a report from a Teams message", make: (world) => world.dialog(MEGAN) },
      {
        name: "worst case: every field at its limit in text JSON must escape, every error and the banner",
        make: async (world) => {
          const typed = await world.say(heavy(DESCRIPTION_MAX_LENGTH), MEGAN);
          const { errors, banner } = await longestReportErrors(world);
          return reportFormCard({
            form: {
              submissionId: String(typed.actions[0].data.submissionId),
              title: heavy(TITLE_MAX_LENGTH),
              whatHappened: heavy(DESCRIPTION_MAX_LENGTH),
              whenDate: "2026-11-26",
              whenTime: "23:59",
              where: heavy(WHERE_MAX_LENGTH),
              urgent: "true",
            },
            errors,
            banner,
          });
        },
      },
    ],
  },
  {
    template: "reporter-view",
    samples: [
      {
        name: "an employee's own report in Find incident",
        make: async (world) => {
          await world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), {}, MEGAN);
          const [mine] = await world.find("", MEGAN);
          if (!mine) throw new Error("the employee found nothing");
          return mine;
        },
      },
      {
        name: "a second report of the same message, added to the first",
        make: async (world) => {
          const first = await world.dialog(ALEX);
          await world.bot.post(submitActionFromMessage(world.bot.serviceUrl, { ...first.actions[0].data, ...values(first) }, { from: ALEX, payload: messagePayload() }));
          const mine = await world.dialog(MEGAN);
          const res = await world.bot.post(submitActionFromMessage(world.bot.serviceUrl, { ...mine.actions[0].data, ...values(mine) }, { from: MEGAN, payload: messagePayload() }));
          const card = res.body?.task?.value?.card?.content;
          if (!card) throw new Error(`the bot answered the second report with ${JSON.stringify(res.body).slice(0, 300)}`);
          return card;
        },
      },
      {
        name: "worst case: the longest title and words in text JSON must escape, found by their reporter",
        make: async (world) => {
          const typed = { title: heavy(TITLE_MAX_LENGTH), whatHappened: heavy(DESCRIPTION_MAX_LENGTH - WHERE_MAX_LENGTH - 20), where: heavy(WHERE_MAX_LENGTH) };
          await world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), typed, MEGAN);
          const [mine] = await world.find("", MEGAN);
          if (!mine) throw new Error("the employee found nothing");
          return mine;
        },
      },
    ],
  },
  {
    template: "restricted",
    samples: [
      {
        name: "a restricted report in the triage channel",
        make: async (world) => {
          await world.triageHere();
          await world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), { restricted: "true" }, MEGAN);
          return world.triagePost(1);
        },
      },
      {
        name: "worst case: what everyone in a chat sees once an analyst creates a restricted incident there",
        make: async (world) => {
          await world.submit(await world.say("incident"), { title: heavy(TITLE_MAX_LENGTH), restricted: "true" });
          await until("the card update for everyone", () => world.bot.connector.updated().length > 0, 20_000);
          return cardOf(world.bot.connector.updated()[0]!.activity);
        },
      },
      {
        name: "what the others in a group chat see once an employee reports there",
        make: async (world) => {
          const form = await world.say("incident", MEGAN, "groupChat");
          const data = { ...form.actions[0].data, ...values(form), title: "Tailgater", whatHappened: EMPLOYEE_WORDS };
          await world.bot.post(execute(world.bot.serviceUrl, "report.create", data, { from: MEGAN, where: "groupChat", replyToId: "report-form" }));
          const update = await until("the card update for everyone", () => world.bot.connector.updated().find((u) => u.id === "report-form"), 20_000);
          return cardOf(update.activity);
        },
      },
    ],
  },
  {
    template: "report-received",
    samples: [
      { name: "receipt of an employee's report", make: async (world) => world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), {}, MEGAN) },
      { name: "receipt of an urgent report", make: async (world) => world.submit(await world.say(EMPLOYEE_WORDS, MEGAN), { urgent: "true" }, MEGAN) },
      {
        name: "receipt of a phishing report: the indicators found in it counted",
        make: async (world) =>
          world.submit(
            await world.say("Got a text from +44 7700 900123 saying my parcel is held, it linked to hxxps://paypa1-login[.]com/parcel", MEGAN),
            {},
            MEGAN,
          ),
      },
      {
        name: "worst case: the longest title in text JSON must escape, urgent, answered to a repeated submission",
        make: async (world) => {
          const form = await world.say(EMPLOYEE_WORDS, LONG_PEOPLE.heavy);
          // The receipt shows the title, not what happened.
          const typed = { title: heavy(TITLE_MAX_LENGTH), whatHappened: words(500), where: heavy(WHERE_MAX_LENGTH), urgent: "true" };
          await world.submit(form, typed, LONG_PEOPLE.heavy);
          return world.submit(form, typed, LONG_PEOPLE.heavy);
        },
      },
    ],
  },
  {
    template: "reporter-update",
    samples: [
      {
        name: "update: an analyst took the report",
        make: async (world) => {
          const incident = await meganReport(world);
          await world.act("triage.assign", { incidentId: incident.id, revision: String(incident.revision) });
          return noticeTo(world, MEGAN, 1);
        },
      },
      {
        name: "a question from the SOC, with a box to answer in",
        make: async (world) => {
          const incident = await meganReport(world);
          await world.act("triage.ask", { incidentId: incident.id, revision: String(incident.revision), questionText: "Which number did they call from?" });
          return noticeTo(world, MEGAN, 1);
        },
      },
      {
        name: "the reporter's card once they answered",
        make: async (world) => {
          const incident = await meganReport(world);
          await world.act("triage.ask", { incidentId: incident.id, revision: String(incident.revision), questionText: "Which number did they call from?" });
          const question = await noticeTo(world, MEGAN, 1);
          return world.act("report.answer", { ...question.actions[0].data, answerText: "+44 20 7946 0000, at about 9:15." }, MEGAN);
        },
      },
      {
        name: "worst case: a question at its 4,000-character limit in text JSON must escape, answered too long (the answer kept)",
        make: async (world) => {
          const incident = await meganReport(world);
          await world.act("triage.ask", { incidentId: incident.id, revision: String(incident.revision), questionText: heavy(MESSAGE_MAX_LENGTH) }, LONG_PEOPLE.heavy);
          const question = await noticeTo(world, MEGAN, 1);
          return world.act("report.answer", { ...question.actions[0].data, answerText: heavy(MESSAGE_MAX_LENGTH + 1) }, MEGAN);
        },
      },
    ],
  },
  {
    template: "incident-list",
    samples: [
      {
        name: "my reports, one handled by an analyst",
        make: async (world) => {
          const incident = await meganReport(world);
          await meganReport(world, { title: "A USB stick left in the lobby" });
          await world.act("triage.assign", { incidentId: incident.id, revision: String(incident.revision) });
          await noticesSettled(world);
          return world.say("my reports", MEGAN);
        },
      },
      {
        name: "my incidents, for an analyst",
        make: async (world) => {
          const incident = await meganReport(world);
          const card = await world.act("triage.assign", { incidentId: incident.id, revision: String(incident.revision) });
          if (!visibleText(card).some((t) => t.startsWith("Assigned to"))) throw new Error("not assigned");
          await world.act("triage.task", { incidentId: incident.id, revision: "2", taskTitle: "Call the reporter back" });
          await noticesSettled(world);
          return world.say("my incidents", ALEX);
        },
      },
      {
        name: "worst case: twenty reports with the longest titles in text JSON must escape, handled by the longest name",
        make: async (world) => {
          for (let i = 0; i < 20; i++) {
            const incident = await meganReport(world, { title: `${i}${heavy(TITLE_MAX_LENGTH - 1)}` });
            await world.act("triage.assign", { incidentId: incident.id, revision: String(incident.revision) }, LONG_PEOPLE.heavy);
            await noticesSettled(world);
          }
          return world.say("my reports", MEGAN);
        },
      },
    ],
  },
];
