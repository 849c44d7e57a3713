import { randomBytes } from "node:crypto";
import { documentBytes, FULL_WORDS, GROWTH_BYTES_MAX, REPORTS_KEPT_MAX, WRITE_BYTES_MAX } from "./bounds";
import { IncidentTooLargeError, StoreUnavailableError } from "./errors";
import {
  changeWords,
  checkMessage,
  checkTaskTitle,
  cleanText,
  commentWords,
  COMMENTS_MAX,
  hasReporters,
  stableId,
  TASKS_MAX,
  withComment,
  withContact,
  withNotices,
  withTask,
} from "./casework";
import type {
  Actor,
  Contact,
  EntryPoint,
  Incident,
  MirroredFields,
  IncidentComment,
  MessageEvidence,
  Owner,
  ReportAccount,
  ReporterNotice,
  TriageNotice,
} from "./model";
import { incidentRef, personKey, PROVIDER_NAME } from "./model";
import { alreadyIn, ATTACH_REFUSED, attachedAccount, attachIdShape } from "./attach";
import type { AttachOptions, AttachResult } from "./attach";
import type { Entity } from "./entities";
import { NO_MEASURES } from "./ports";
import type { Clock, Directory, DirectoryEntry, IncidentStore, Measures, NewIncident, TagUses, TagWindow } from "./ports";
import { findEntities } from "./extract";
import { reportEntities, withEntities } from "./evidence";
import { newLink } from "./mirror";
import { ownerOf } from "./owners";
import { ENTITY_VALUE_MAX_LENGTH, indicatorValue } from "./entities";
import { readQuery } from "./search";
import { checkReport, type ReportErrors, type ReportForm } from "./report";
import { rankTotals, suggestTags, tagUseChange, tagWindow, totalsOf, type RankedTag } from "./tags";
import { ASSIGN_TO_ME, checkForm, impactedRefsOf, type FieldErrors, type IncidentForm, type ValidForm } from "./validation";
import { defenderFields, directoryEntity, formEntities, NO_DEFENDER_FIELDS, withoutDefenderFields } from "./form-entities";
import { accessTo, isReporter, type Access, type Viewer } from "./visibility";

/** The longest text read as a pasted indicator: a value's limit, defanged ([.] for each dot) and with some space around. */
const INDICATOR_TYPED_MAX = 2 * ENTITY_VALUE_MAX_LENGTH;

/** An instance's view of the window's tags: each tag's uses, where the store's next read resumes, and the ranking. */
interface TagState {
  byKey: Map<string, TagUses>;
  cursor: string | undefined;
  since: string;
  ranked: RankedTag[];
}

/** Analysts triage and own incidents; employees report what they saw. */
export type Role = "analyst" | "employee";

export type CreateResult =
  | { kind: "created"; incident: Incident; /** false: this submission had already created it */ isNew: boolean }
  /** Someone else had already reported this message: this person's account was added to their incident. */
  | { kind: "added"; incident: Incident }
  /**
   * Someone else had reported this message, and its incident keeps as many later reports as it can
   * (src/incidents/bounds.ts): this one was counted, nothing of it kept. `incident` is for the log only.
   */
  | { kind: "counted"; incident: Incident }
  /** The id is someone else's incident (not a shared message): nothing written, nothing shown. */
  | { kind: "taken" }
  | { kind: "invalid"; errors: FieldErrors };

export type ReportResult = Exclude<CreateResult, { kind: "invalid" }> | { kind: "invalid"; errors: ReportErrors };

/** An incident with what the person asking may see of it. */
export interface Seen {
  incident: Incident;
  access: Exclude<Access, "none">;
}

export type UpdateResult =
  | { kind: "updated"; incident: Incident }
  | { kind: "invalid"; errors: FieldErrors }
  /** Someone changed it since it was read: nothing was written; `current` is what is stored now. */
  | { kind: "conflict"; current: Incident }
  | { kind: "not-found" }
  | { kind: "forbidden" };

/** A comment, question, answer or task: added (or already there: a repeated click), or why not. */
export type WorkResult =
  | { kind: "done"; incident: Incident; /** false: this click had already done it */ isNew: boolean }
  | { kind: "invalid"; problem: string }
  | { kind: "not-found" };

/** How sending a notice to a reporter went. */
export type NoticeOutcome =
  | { kind: "sent" }
  /** The reporter can't be reached (app not installed, blocked): not retried, shown to the SOC. */
  | { kind: "unreachable"; reason: string }
  /** Try again, not before `retryAfterMs` from now. */
  | { kind: "retry"; reason: string; retryAfterMs: number };

/** Where new incidents are announced; `reference` is whatever the transport needs to post there. */
export interface TriageChannel {
  conversationId: string;
  name?: string;
  setBy: Actor;
  setUtc: string;
  reference: Record<string, unknown>;
}

export interface CreateOptions {
  role?: Role;
  evidence?: MessageEvidence;
  firstActivityTimeUtc?: string;
  /** The Teams message that carried the form: the one message its outcome may be shown in for everyone. */
  formMessageId?: string;
  /** Where that message is (the transport's address of its conversation). */
  formConversation?: Record<string, unknown>;
  /** How to reach the reporter later (the transport's address), kept with the incident. */
  contact?: Contact["address"];
  /** A reported message's whole text and link targets, for extraction (the description holds at most part of it). */
  message?: { text: string; links: readonly string[] };
}

export interface IncidentServiceOptions {
  store: IncidentStore;
  directory: Directory;
  workspaceId: string;
  clock?: Clock;
  /** How long tag usage and the triage channel read from the store are reused, in ms. */
  tagCacheMs?: number;
  /** Incidents created are mirrored to Microsoft Sentinel (src/incidents/mirror.ts). */
  mirrored?: boolean;
  /** Told of every change written (a create, an edit, a comment...), after the write: the mirror sends it on. */
  written?: (incident: Incident) => void;
  /** Told of each new incident (src/telemetry.ts counts them). */
  measures?: Measures;
  /** The analyst's form must name a category (Defender's manual alert needs one: on when the Defender sink is). */
  categoryRequired?: boolean;
}

/** Owner typeahead shows at most this many (Teams shows 15). */
export const OWNER_RESULTS_MAX = 15;
const TRIAGE_KEY = "triageChannel";
const SECRET_KEY = "formSigningSecret";
/** `messageAlias:<id a message's incident would have>` -> the incident an analyst added the message to. */
const MESSAGE_ALIAS_KEY = "messageAlias:";
const QUESTION_GONE = "That question is not on this incident any more.";

/** The SOC's question with this id on the incident; undefined for any other comment (a note, an answer) or none. */
function questionOn(incident: Incident, questionId: string): IncidentComment | undefined {
  return incident.comments?.find((c) => c.id === questionId && c.kind === "question");
}

/** How often adding to an incident (a report, a comment, a task) is tried while others change it at the same moment. */
const APPEND_ATTEMPTS = 5;
/** How long an instance has to send a notice it claimed before another may. */
const NOTICE_CLAIM_MS = 60_000;
/** A notice not sent after this many tries is given up on (shown on the triage card). */
const NOTICE_ATTEMPTS_MAX = 8;

/** The use cases: create (form, report, message), update with optimistic concurrency, search, suggest, triage. */
export class IncidentService {
  private readonly store: IncidentStore;
  private readonly directory: Directory;
  private readonly clock: Clock;
  private readonly cacheMs: number;
  private readonly mirrored: boolean;
  private readonly written: (incident: Incident) => void;
  private readonly measures: Measures;
  /** The analyst's form must name a category. */
  readonly categoryRequired: boolean;
  readonly workspaceId: string;
  private tagCache: { at: number; since: string; state: Promise<TagState> } | undefined;
  private triageCache: { at: number; channel: Promise<TriageChannel | undefined> } | undefined;

  constructor(options: IncidentServiceOptions) {
    this.store = options.store;
    this.directory = options.directory;
    this.workspaceId = options.workspaceId;
    this.clock = options.clock ?? (() => new Date());
    this.cacheMs = options.tagCacheMs ?? 30_000;
    this.mirrored = options.mirrored ?? false;
    this.written = options.written ?? (() => undefined);
    this.measures = options.measures ?? NO_MEASURES;
    this.categoryRequired = options.categoryRequired ?? false;
  }

  /** Whether this person works in the SOC. */
  async roleOf(actor: Actor): Promise<Role> {
    return (await this.directory.isAnalyst(actor)) ? "analyst" : "employee";
  }

  /** Who is looking, for the visibility rule (src/incidents/visibility.ts). */
  async viewerOf(actor: Actor): Promise<Viewer> {
    const [analyst, restrictedTeam] = await Promise.all([
      this.directory.isAnalyst(actor),
      this.directory.isRestrictedTeam(actor),
    ]);
    return { actor, analyst, restrictedTeam };
  }

  /** The incident with this id if `viewer` may see it; undefined when it does not exist or they may not (the same answer). */
  async find(id: string, viewer: Viewer): Promise<Seen | undefined> {
    const incident = await this.get(id);
    return incident && seen(incident, viewer);
  }

  /**
   * Validates the whole form (owner resolved in the directory, never taken from the card), then
   * stores it once: the same submission id always yields the same incident. An employee's form
   * can't set owner, status or classification, whatever the payload says.
   */
  async create(form: IncidentForm, actor: Actor, entryPoint: EntryPoint, options: CreateOptions = {}): Promise<CreateResult> {
    const effective = options.role === "employee" ? employeeForm(form) : form;
    // An employee's report has no category field: the SOC names it when it triages.
    const checked = await this.checkWithOwner(effective, actor, [], options.role !== "employee");
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const { value: v, owner, entities: typed } = checked;
    const fields = fieldsOf(v, owner);
    // Read before anything is written: a directory that fails here leaves nothing half-done.
    const said = { words: [v.title, v.description, options.message?.text ?? ""].join("\n"), links: options.message?.links };
    // Someone who reports (a chat report, a reported message) is part of what happened; an analyst typing the form is not.
    const reporter = entryPoint === "form" ? undefined : actor;
    const found = await reportEntities(this.directory, said, reporter, options.evidence);
    const now = this.clock().toISOString();
    const triage: TriageNotice | undefined = (await this.triageChannel())
      ? { state: "pending", attempts: 0, updatedUtc: now }
      : undefined;
    const fresh: NewIncident = {
      id: v.id,
      workspaceId: this.workspaceId,
      ...fields,
      ...defenderFields(v, typed),
      ...(options.firstActivityTimeUtc && { firstActivityTimeUtc: options.firstActivityTimeUtc }),
      ...(options.evidence && { evidence: [options.evidence] }),
      ...(triage && { triage }),
      createdTimeUtc: now,
      lastModifiedTimeUtc: now,
      createdBy: actor,
      entryPoint,
      ...(options.formMessageId && { formMessageId: options.formMessageId }),
      ...(options.formMessageId &&
        options.formConversation && { formConversation: options.formConversation, formSeen: seenFields(fields) }),
      ...(contactOf(actor, options.contact) && { contacts: [contactOf(actor, options.contact)!] }),
      providerName: PROVIDER_NAME,
      ...(this.mirrored && { sentinel: newLink(now) }),
    };
    // A message an analyst added to another incident: later reports of it go there (see attach).
    // (Only the alias is read here: the message's own incident is what store.create finds.)
    const aliased = options.evidence ? await this.addedTo(v.id) : undefined;
    // What the analyst typed ranks before what was found (mergeEntities keeps typed first past ENTITIES_MAX).
    const outcome = aliased
      ? { created: false as const, incident: aliased }
      : await this.store.create(withEntities(fresh, found));
    if (outcome.created) {
      // Read again on the next suggestion (only what changed, where the store can tell).
      if (v.tags.length && this.tagCache) this.tagCache.at = -Infinity;
      this.written(outcome.incident);
      this.measures.created(entryPoint, outcome.incident.severity);
      return { kind: "created", incident: outcome.incident, isNew: true };
    }
    // The id was used before: by this person (a double click, a retry), or, for a reported message,
    // by someone else who reported it first.
    if (isReporter(outcome.incident, actor)) return { kind: "created", incident: outcome.incident, isNew: false };
    if (!options.evidence) return { kind: "taken" };
    const account: ReportAccount = {
      reporter: actor,
      timeUtc: now,
      entryPoint,
      title: v.title,
      words: v.description,
      ...(options.firstActivityTimeUtc && { firstActivityTimeUtc: options.firstActivityTimeUtc }),
      severity: v.severity,
      ...(v.restricted && { restricted: true as const }),
      evidence: options.evidence,
    };
    return this.addReport(outcome.incident, account, contactOf(actor, options.contact), [...typed, ...found]);
  }

  /** Adds a later report of the same message (or an attached one) to the incident, retrying when someone changed it meanwhile. */
  private async addReport(
    first: Incident,
    account: ReportAccount,
    contact: Contact | undefined,
    entities: readonly Entity[] = [],
  ): Promise<CreateResult> {
    let current: Incident | undefined = first;
    for (let attempt = 0; current && attempt < APPEND_ATTEMPTS; attempt++) {
      if (alreadyIn(current, account)) return { kind: "created", incident: current, isNew: false };
      let next: Incident = {
        ...current,
        reports: [...(current.reports ?? []), account],
        lastModifiedTimeUtc: account.timeUtc,
        // Need-to-know only grows from a report: what they asked to keep to the restricted-cases team stays there.
        ...(account.restricted && { restricted: true }),
      };
      next = withEntities(next, entities);
      const contacts = withContact(current.contacts, contact);
      if (contacts) next.contacts = contacts;
      const full = (current.reports?.length ?? 0) >= REPORTS_KEPT_MAX || documentBytes(next) > GROWTH_BYTES_MAX;
      // Full: counted, nothing of it kept (they are not a reporter of it: no notices, no view of it).
      if (full) next = { ...current, reportsNotKept: (current.reportsNotKept ?? 0) + 1 };
      const outcome = await this.store.replace(next, current.revision);
      if (outcome.ok) {
        this.written(outcome.incident);
        return { kind: full ? "counted" : "added", incident: outcome.incident };
      }
      current = outcome.current;
    }
    throw new StoreUnavailableError("The incident kept changing while a report was being added to it; try again.");
  }

  /**
   * Attach to an existing incident (src/incidents/attach.ts): an analyst's report joins `targetId`, which
   * must exist in this workspace and be one they see in full (a restricted one: the restricted-cases
   * team only); added as a later report of the same message is, once per submission.
   */
  async attach(
    targetId: string,
    form: IncidentForm,
    actor: Actor,
    entryPoint: EntryPoint,
    options: AttachOptions = {},
  ): Promise<AttachResult> {
    const viewer = await this.viewerOf(actor);
    const seenTarget = attachIdShape(targetId) ? await this.find(targetId, viewer) : undefined;
    const target = seenTarget?.access === "full" ? seenTarget.incident : undefined;
    const read = attachedAccount(form, actor, entryPoint, this.clock().toISOString(), options.evidence);
    // The impacted people and groups chosen in the form, named by the directory (as for a new incident).
    const errors: FieldErrors = read.ok ? {} : read.errors;
    const directory = read.ok ? await this.resolveImpacted(impactedRefsOf(form), errors) : [];
    if (!target || !read.ok || Object.keys(errors).length > 0) {
      return { kind: "invalid", errors, ...(!target && { attachTo: ATTACH_REFUSED }) };
    }
    // What the report brings, read before anything is written (as for a new report).
    const said = {
      words: [read.account.title, read.account.words, options.message?.text ?? ""].join("\n"),
      links: options.message?.links,
    };
    const reporter = entryPoint === "form" ? undefined : actor;
    const found = await reportEntities(this.directory, said, reporter, options.evidence);
    const entities = [...(options.entities ?? []), ...directory, ...read.typed, ...found];
    const result = await this.addReport(target, read.account, contactOf(actor, options.contact), entities);
    // The message now belongs to this incident: someone else's Create incident on it finds this one.
    if (options.messageIncidentId && !(await this.get(options.messageIncidentId))) {
      await this.store.putSetting(this.workspaceId, `${MESSAGE_ALIAS_KEY}${options.messageIncidentId.toLowerCase()}`, target.id);
    }
    if (result.kind === "counted") return result;
    if (result.kind !== "added" && result.kind !== "created") throw new Error(`addReport answered ${result.kind}`);
    // What they may see of it now: a restricted report restricts it, and someone may have restricted it meanwhile.
    const access = accessTo(result.incident, viewer);
    if (access === "none") throw new Error("an attached report's reporter lost sight of the incident");
    return result.kind === "added"
      ? { kind: "added", incident: result.incident, before: target, access }
      : { kind: "already", incident: result.incident, access };
  }

  /**
   * The incident a reported message belongs to: the one made from it (its id is the message's), or the one an
   * analyst added the message to (attach). Undefined when neither; no visibility rule applied here.
   */
  async messageIncident(id: string): Promise<Incident | undefined> {
    return (await this.get(id)) ?? this.addedTo(id);
  }

  /** The incident an analyst added the message with this (would-be incident) id to, if any. */
  private async addedTo(messageIncidentId: string): Promise<Incident | undefined> {
    const target = await this.store.getSetting(this.workspaceId, `${MESSAGE_ALIAS_KEY}${messageIncidentId.toLowerCase()}`);
    return typeof target === "string" ? this.get(target) : undefined;
  }

  /** An employee's report from chat: New, unowned, High when urgent; the reporter is recorded. */
  async report(
    report: ReportForm,
    actor: Actor,
    timeZone: string | undefined,
    where: Pick<CreateOptions, "evidence" | "formMessageId" | "contact" | "message"> = {},
  ): Promise<ReportResult> {
    const { evidence, formMessageId, contact, message } = where;
    const checked = checkReport(report, timeZone, this.clock());
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const result = await this.create(checked.form, actor, evidence ? "message-extension" : "chat-report", {
      role: "employee",
      ...(checked.firstActivityTimeUtc && { firstActivityTimeUtc: checked.firstActivityTimeUtc }),
      ...(evidence && { evidence }),
      ...(formMessageId && { formMessageId }),
      ...(contact && { contact }),
      ...(message && { message }),
    });
    if (result.kind !== "invalid") return result;
    // Only title and description can fail here; they are the report's title and what happened.
    return {
      kind: "invalid",
      errors: {
        ...(result.errors.title && { title: result.errors.title }),
        ...(result.errors.description && { whatHappened: result.errors.description }),
      },
    };
  }

  /** Saves an analyst's edit made from `revision`; a concurrent change is reported, never overwritten. */
  async update(id: string, revision: number, form: IncidentForm, actor: Actor): Promise<UpdateResult> {
    const viewer = await this.viewerOf(actor);
    if (!viewer.analyst) return { kind: "forbidden" };
    const current = (await this.find(id, viewer))?.incident;
    if (!current) return { kind: "not-found" };
    const checked = await this.checkWithOwner({ ...form, submissionId: current.id }, actor, current.entities ?? [], true);
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const next: Incident = {
      ...withoutDefenderFields(withoutClassification(current)),
      ...fieldsOf(checked.value, checked.owner),
      ...defenderFields(checked.value, checked.entities),
      lastModifiedTimeUtc: this.clock().toISOString(),
    };
    if (!checked.owner) delete next.owner;
    if (!checked.value.restricted) delete next.restricted;
    return this.replaceFrom(current, next, revision, actor);
  }

  /** "Assign to me" from the triage card: the analyst becomes the owner if nobody changed it since `revision`. */
  async assignToMe(id: string, revision: number, actor: Actor): Promise<UpdateResult> {
    const viewer = await this.viewerOf(actor);
    if (!viewer.analyst) return { kind: "forbidden" };
    const current = (await this.find(id, viewer))?.incident;
    if (!current) return { kind: "not-found" };
    const errors: FieldErrors = {};
    const owner = await this.resolveOwner(ASSIGN_TO_ME, actor, errors);
    if (!owner) return { kind: "invalid", errors };
    return this.replaceFrom(current, { ...current, owner, lastModifiedTimeUtc: this.clock().toISOString() }, revision, actor);
  }

  /**
   * An analyst's comment from the triage card; `shared`: the reporters get it too. `seenRevision`
   * (the card's) makes the comment's id, so a double click adds it once; comments from an older card
   * are still added (they change no field), never lost.
   */
  async comment(id: string, typed: string, shared: boolean, seenRevision: number, actor: Actor): Promise<WorkResult> {
    const message = cleanText(typed);
    const problem = checkMessage(message, "comment");
    if (problem) return { kind: "invalid", problem };
    const personal = personKey(actor) ?? actor.name;
    const commentId = stableId(id, "comment", personal, seenRevision, message);
    return this.append(id, actor, "analyst", (incident, now) => {
      if (incident.comments?.some((c) => c.id === commentId)) return undefined;
      if ((incident.comments?.length ?? 0) >= COMMENTS_MAX)
        return `This incident has ${COMMENTS_MAX} comments, the most it can hold.`;
      const comment: IncidentComment = {
        id: commentId,
        message,
        author: actor,
        createdTimeUtc: now,
        kind: "note",
        ...(shared && { shared: true }),
      };
      // Indicators an analyst notes (a URL, a hash they found) become related evidence.
      const next = withEntities(withComment(incident, comment), findEntities(message));
      return shared ? withNotices(next, commentWords(next, comment), incident.revision + 1, actor, now) : next;
    });
  }

  /** A question to the incident's reporters: a comment they get in their chat, with a box to answer in. */
  async ask(id: string, typed: string, seenRevision: number, actor: Actor): Promise<WorkResult> {
    const message = cleanText(typed);
    const problem = checkMessage(message, "question");
    if (problem) return { kind: "invalid", problem };
    const questionId = stableId(id, "question", personKey(actor) ?? actor.name, seenRevision, message);
    return this.append(id, actor, "analyst", (incident, now) => {
      if (incident.comments?.some((c) => c.id === questionId)) return undefined;
      if (!hasReporters(incident)) return "Nobody reported this incident through the bot, so there is nobody to ask.";
      if ((incident.comments?.length ?? 0) >= COMMENTS_MAX)
        return `This incident has ${COMMENTS_MAX} comments, the most it can hold.`;
      const question: IncidentComment = {
        id: questionId,
        message,
        author: actor,
        createdTimeUtc: now,
        kind: "question",
        shared: true,
      };
      const next = withComment(incident, question);
      return withNotices(next, commentWords(next, question), incident.revision + 1, actor, now, questionId);
    });
  }

  /** A reporter's answer to a question about an incident they reported: added as a comment the SOC sees. */
  async answer(id: string, questionId: string, typed: string, actor: Actor): Promise<WorkResult> {
    // Who answers, and to what, first: what is wrong with the answer is told only to a reporter, about a question.
    const reported = await this.reportedIncident(id, actor);
    if (!reported) return { kind: "not-found" };
    if (!questionOn(reported, questionId)) return { kind: "invalid", problem: QUESTION_GONE };
    const message = cleanText(typed);
    const problem = checkMessage(message, "answer");
    if (problem) return { kind: "invalid", problem };
    const answerId = stableId(id, "answer", questionId, personKey(actor) ?? actor.name, message);
    return this.append(id, actor, "reporter", (incident, now) => {
      if (incident.comments?.some((c) => c.id === answerId)) return undefined;
      if (!questionOn(incident, questionId)) return QUESTION_GONE;
      if ((incident.comments?.length ?? 0) >= COMMENTS_MAX)
        return `This incident has ${COMMENTS_MAX} comments, the most it can hold.`;
      return withComment(incident, {
        id: answerId,
        message,
        author: actor,
        createdTimeUtc: now,
        kind: "answer",
        inReplyTo: questionId,
      });
    });
  }

  /**
   * The SOC's question `questionId` on incident `id`, with the incident, when `actor` reported it (read through
   * the visibility rule); undefined otherwise: the same for an id nobody has, a comment that is not a
   * question (a note, an answer) and an incident they did not report, so an id tells nobody anything.
   */
  async question(
    id: string,
    questionId: string,
    actor: Actor,
  ): Promise<{ incident: Incident; question: IncidentComment } | undefined> {
    const incident = await this.reportedIncident(id, actor);
    const question = incident && questionOn(incident, questionId);
    return question && incident && { incident, question };
  }

  /** The incident `id` when `actor` is one of its reporters, read through the visibility rule; otherwise undefined. */
  private async reportedIncident(id: string, actor: Actor): Promise<Incident | undefined> {
    const seen = await this.find(id, await this.viewerOf(actor));
    return seen && isReporter(seen.incident, actor) ? seen.incident : undefined;
  }

  /** A task on the incident, added from the triage card (a double click adds it once). */
  async addTask(id: string, typed: string, seenRevision: number, actor: Actor): Promise<WorkResult> {
    const title = cleanText(typed).replace(/\s+/g, " ");
    const problem = checkTaskTitle(title);
    if (problem) return { kind: "invalid", problem };
    const taskId = stableId(id, "task", personKey(actor) ?? actor.name, seenRevision, title);
    return this.append(id, actor, "analyst", (incident, now) => {
      if (incident.tasks?.some((t) => t.id === taskId)) return undefined;
      if ((incident.tasks?.length ?? 0) >= TASKS_MAX) return `This incident has ${TASKS_MAX} tasks, the most it can hold.`;
      return withTask(incident, { id: taskId, title, status: "New", createdBy: actor, createdTimeUtc: now });
    });
  }

  /** Ticks a task off; ticking one that is already done changes nothing. */
  async completeTask(id: string, taskId: string, actor: Actor): Promise<WorkResult> {
    return this.append(
      id,
      actor,
      "analyst",
      (incident, now) => {
        const task = incident.tasks?.find((t) => t.id === taskId);
        if (!task) return "That task is not on this incident any more.";
        if (task.status === "Completed") return undefined;
        const done = { ...task, status: "Completed" as const, completedBy: actor, completedTimeUtc: now };
        return { ...incident, tasks: incident.tasks!.map((t) => (t.id === taskId ? done : t)) };
      },
      false,
    );
  }

  /** The incidents this person reported (any role), newest first, as a reporter sees them. */
  async reportedBy(viewer: Viewer, limit: number): Promise<Seen[]> {
    const reporter = personKey(viewer.actor);
    if (reporter === undefined) return [];
    const found = await this.store.search(this.workspaceId, { reporter }, limit);
    return found.map((incident) => seen(incident, viewer)).filter((s): s is Seen => s !== undefined);
  }

  /** The incidents assigned to this analyst (as a user), newest first, through the visibility rule. */
  async assignedTo(viewer: Viewer, limit: number): Promise<Seen[]> {
    const owner = viewer.actor.objectId?.toLowerCase();
    if (!viewer.analyst || !owner) return [];
    const found = await this.store.search(this.workspaceId, { owner }, limit);
    return found.map((incident) => seen(incident, viewer)).filter((s): s is Seen => s !== undefined);
  }

  /** Incidents with a notice to a reporter that may be sent now. */
  async dueNotices(limit: number): Promise<Incident[]> {
    return this.store.dueNotices(this.workspaceId, this.clock().toISOString(), limit);
  }

  /**
   * Claims a notice for sending, so that no other instance sends it meanwhile: the incident and the
   * notice when it is pending, due and unclaimed; undefined otherwise (sent, someone else's, not due).
   */
  async claimNotice(incidentId: string, noticeId: string): Promise<{ incident: Incident; notice: ReporterNotice } | undefined> {
    const now = this.clock();
    const nowUtc = now.toISOString();
    const until = new Date(now.getTime() + NOTICE_CLAIM_MS).toISOString();
    let claimed: ReporterNotice | undefined;
    const incident = await this.store.updateOutbox(this.workspaceId, incidentId, (outbox) => {
      claimed = undefined;
      const notice = outbox.find((n) => n.id === noticeId);
      if (!notice || notice.state !== "pending" || notice.dueUtc > nowUtc) return undefined;
      if (notice.claimUntilUtc && notice.claimUntilUtc > nowUtc) return undefined;
      claimed = { ...notice, claimUntilUtc: until, updatedUtc: nowUtc };
      return outbox.map((n) => (n.id === noticeId ? claimed! : n));
    });
    return incident && claimed ? { incident, notice: claimed } : undefined;
  }

  /** Records how sending a claimed notice went: sent, unreachable, or to be retried later (given up after a few tries). */
  async settleNotice(incidentId: string, noticeId: string, outcome: NoticeOutcome): Promise<ReporterNotice | undefined> {
    const now = this.clock();
    const nowUtc = now.toISOString();
    let settled: ReporterNotice | undefined;
    await this.store.updateOutbox(this.workspaceId, incidentId, (outbox) => {
      const notice = outbox.find((n) => n.id === noticeId);
      if (!notice || notice.state !== "pending") return undefined;
      const attempts = notice.attempts + 1;
      const base = { ...notice, attempts, updatedUtc: nowUtc };
      delete base.claimUntilUtc;
      if (outcome.kind === "sent") {
        settled = { ...base, state: "sent" };
        delete settled.lastError;
      } else if (outcome.kind === "unreachable" || attempts >= NOTICE_ATTEMPTS_MAX) {
        settled = { ...base, state: "unreachable", lastError: outcome.reason.slice(0, 300) };
      } else {
        const due = new Date(now.getTime() + Math.max(0, outcome.retryAfterMs)).toISOString();
        settled = { ...base, dueUtc: due, lastError: outcome.reason.slice(0, 300) };
      }
      return outbox.map((n) => (n.id === noticeId ? settled! : n));
    });
    return settled;
  }

  /**
   * By number ("INC-42", "#42", "42"), by words of the title or by a tag, newest first; recent ones
   * when empty. An indicator pasted as it is or defanged (hxxps://evil[.]example/login) also finds, first, the
   * incidents holding it as an entity (`findByEntity`, by its normalised value), for the SOC. Only what `viewer` may
   * see: the SOC every incident but restricted ones (unless on the restricted-cases team), anyone else the
   * incidents they reported.
   */
  async search(typed: string, limit: number, viewer: Viewer): Promise<Seen[]> {
    const query = readQuery(typed);
    if (!viewer.analyst) {
      const reporter = personKey(viewer.actor);
      if (reporter === undefined) return [];
      query.reporter = reporter;
    }
    // What was typed as an indicator (defanged or not), looked up by its normalised value beside the text search. For
    // the SOC only: an entity is an incident's words, and a reporter finding their report by one an analyst added would
    // learn it.
    const indicator =
      viewer.analyst && query.text !== undefined && typed.length <= INDICATOR_TYPED_MAX ? indicatorValue(typed) : undefined;
    const [byEntity, byText] = await Promise.all([
      indicator === undefined ? [] : this.store.findByEntity(this.workspaceId, [indicator], { limit }),
      this.store.search(this.workspaceId, query, limit),
    ]);
    const byId = new Map<string, Seen>();
    for (const incident of byEntity) {
      const s = seen(incident, viewer);
      if (s?.access === "full") byId.set(incident.id, s);
    }
    for (const incident of byText) {
      const s = seen(incident, viewer);
      if (s && !byId.has(incident.id)) byId.set(incident.id, s);
    }
    // The pasted indicator's incidents first (an exact match), then the words' and tags'.
    return [...byId.values()].slice(0, limit);
  }

  /** Tags for the typeahead: the workspace's last 14 days, ranked by use and recency, filtered by what was typed. */
  async suggestTags(typed: string, limit: number): Promise<string[]> {
    return suggestTags(await this.rankedTags(), typed, limit);
  }

  /** The most used recent tags, shown as ready choices on a new form. */
  async topTags(limit: number): Promise<string[]> {
    return (await this.rankedTags()).slice(0, limit).map((r) => r.tag);
  }

  /** Users and groups matching what was typed; nothing for an empty query (the card shows "Assign to me"). */
  async findOwners(typed: string, limit = OWNER_RESULTS_MAX): Promise<DirectoryEntry[]> {
    const query = typed.trim();
    if (!query) return [];
    return this.directory.search(query, Math.min(limit, OWNER_RESULTS_MAX));
  }

  /** The person as the directory knows them, for "Assign to me (<name>)". */
  async me(actor: Actor): Promise<DirectoryEntry | undefined> {
    return actor.objectId ? this.directory.get(actor.objectId) : undefined;
  }

  /** A user or group by object id, for showing a chosen owner again. */
  async owner(objectId: string): Promise<DirectoryEntry | undefined> {
    return this.directory.get(objectId.toLowerCase());
  }

  async get(id: string): Promise<Incident | undefined> {
    return this.store.get(this.workspaceId, id.toLowerCase());
  }

  /**
   * The secret that signs the ids forms carry, made once (32 random bytes) and kept as a workspace
   * setting, so every instance on the same store signs alike. Two instances starting at once may
   * each make one; the one stored last wins, and the others read it again when a token fails.
   */
  async signingSecret(): Promise<Buffer> {
    const stored = await this.store.getSetting(this.workspaceId, SECRET_KEY);
    if (typeof stored === "string" && stored.length >= 43) return Buffer.from(stored, "base64url");
    await this.store.putSetting(this.workspaceId, SECRET_KEY, randomBytes(32).toString("base64url"));
    const kept = await this.store.getSetting(this.workspaceId, SECRET_KEY);
    return Buffer.from(String(kept), "base64url");
  }

  /** Makes a channel the SOC's triage channel; analysts only. */
  async setTriageChannel(channel: TriageChannel, actor: Actor): Promise<boolean> {
    if ((await this.roleOf(actor)) !== "analyst") return false;
    await this.store.putSetting(this.workspaceId, TRIAGE_KEY, channel);
    this.triageCache = undefined;
    return true;
  }

  async triageChannel(): Promise<TriageChannel | undefined> {
    const now = this.clock().getTime();
    if (!this.triageCache || now - this.triageCache.at >= this.cacheMs) {
      const channel = this.store.getSetting(this.workspaceId, TRIAGE_KEY) as Promise<TriageChannel | undefined>;
      this.triageCache = { at: now, channel };
      channel.catch(() => {
        if (this.triageCache?.channel === channel) this.triageCache = undefined;
      });
    }
    return this.triageCache.channel;
  }

  /** Records how posting the triage card went (not an edit: the revision stays). */
  async recordNotice(id: string, notice: Omit<TriageNotice, "updatedUtc">): Promise<Incident | undefined> {
    return this.store.setNotice(this.workspaceId, id.toLowerCase(), { ...notice, updatedUtc: this.clock().toISOString() });
  }

  /** Incidents whose triage card is still to be posted, untouched for `idleMs`. */
  async unsentNotices(idleMs: number, limit: number): Promise<Incident[]> {
    return this.store.unsentNotices(this.workspaceId, new Date(this.clock().getTime() - idleMs).toISOString(), limit);
  }

  /** Writes an edit made from `revision`, with a notice to each reporter when the change is one they should know of. */
  private async replaceFrom(current: Incident, next: Incident, revision: number, actor: Actor): Promise<UpdateResult> {
    // Told only when the edit applies to what is stored (a conflict writes nothing).
    const noticed =
      current.revision === revision
        ? withNotices(next, changeWords(current, next).join("\n\n"), revision + 1, actor, next.lastModifiedTimeUtc)
        : next;
    fits(noticed);
    const outcome = await this.store.replace(noticed, revision);
    if (outcome.ok) {
      // Tags restricted, unrestricted or edited: read again on the next suggestion.
      const { added, removed } = tagUseChange(current, outcome.incident);
      if ((added.length || removed.length) && this.tagCache) this.tagCache.at = -Infinity;
      this.written(outcome.incident);
      return { kind: "updated", incident: outcome.incident };
    }
    return outcome.current ? { kind: "conflict", current: outcome.current } : { kind: "not-found" };
  }

  /**
   * Reads the incident for someone who may work on it (`needs`: an analyst with full access, or one
   * of its reporters), applies `change` to what is stored (undefined: nothing to do; a string: why
   * not) and writes it, reading again and retrying when someone changed it meanwhile.
   */
  private async append(
    id: string,
    actor: Actor,
    needs: "analyst" | "reporter",
    change: (incident: Incident, nowUtc: string) => Incident | string | undefined,
    /** false: the change adds no words (ticking a task off), so only the store's bound applies. */
    grows = true,
  ): Promise<WorkResult> {
    const viewer = await this.viewerOf(actor);
    let current = (await this.find(id, viewer))?.incident;
    const allowed = (incident: Incident) =>
      needs === "analyst" ? accessTo(incident, viewer) === "full" : isReporter(incident, actor);
    for (let attempt = 0; current && allowed(current) && attempt < APPEND_ATTEMPTS; attempt++) {
      const now = this.clock().toISOString();
      const next = change(current, now);
      if (next === undefined) return { kind: "done", incident: current, isNew: false };
      if (typeof next === "string") return { kind: "invalid", problem: next };
      const bytes = documentBytes(next);
      if (grows && bytes > GROWTH_BYTES_MAX) return { kind: "invalid", problem: `${incidentRef(current)} ${FULL_WORDS}` };
      fits(next, bytes);
      const outcome = await this.store.replace({ ...next, lastModifiedTimeUtc: now }, current.revision);
      if (outcome.ok) {
        this.written(outcome.incident);
        return { kind: "done", incident: outcome.incident, isNew: true };
      }
      current = outcome.current;
    }
    if (!current || !allowed(current)) return { kind: "not-found" };
    throw new StoreUnavailableError("The incident kept changing while this was being added to it; try again.");
  }

  /** The form checked, its owner and impacted people resolved in the directory, its entities put with `existing`. */
  private async checkWithOwner(
    form: IncidentForm,
    actor: Actor,
    existing: readonly Entity[],
    byAnalyst: boolean,
  ): Promise<{ ok: true; value: ValidForm; owner: Owner | undefined; entities: Entity[] } | { ok: false; errors: FieldErrors }> {
    const checked = checkForm(form, { categoryRequired: byAnalyst && this.categoryRequired });
    const errors: FieldErrors = checked.ok ? {} : { ...checked.errors };
    const [owner, directory] = await Promise.all([
      errors.owner ? undefined : this.resolveOwner(form.owner.trim(), actor, errors),
      errors.impacted ? [] : this.resolveImpacted(impactedRefsOf(form), errors),
    ]);
    if (!checked.ok || Object.keys(errors).length > 0) return { ok: false, errors };
    const v = checked.value;
    const entities = formEntities(existing, {
      directory,
      impacted: v.impactedTyped,
      kept: v.evidenceKept,
      evidence: v.evidenceTyped,
    });
    if (!entities.ok)
      return { ok: false, errors: { [v.evidenceTyped.length ? "evidenceTyped" : "impactedTyped"]: entities.error } };
    return { ok: true, value: v, owner, entities: entities.entities };
  }

  /** Impacted people and groups by object id, named as the directory names them (never as the card does). */
  private async resolveImpacted(ids: string[], errors: FieldErrors): Promise<Entity[]> {
    const entries = await Promise.all(ids.map((id) => this.directory.get(id)));
    const unknown = ids.filter((_, i) => !entries[i]);
    if (unknown.length) {
      errors.impacted =
        `${unknown.length === 1 ? "One person or group chosen is" : `${unknown.length} people or groups chosen are`} ` +
        `not in the directory any more (${unknown.slice(0, 3).join(", ")}). Search again.`;
      return [];
    }
    return entries.map((entry) => directoryEntity(entry!));
  }

  /**
   * The window's tags, ranked: reused for `cacheMs` (and while the day is the same), then read again. A
   * read after the first asks the store for the tags written since the last one (the cursor), so on a
   * store that can tell (SQLite) a refresh costs what changed, not the distinct tags of the window.
   */
  private async rankedTags(): Promise<RankedTag[]> {
    const now = this.clock();
    const window = tagWindow(now);
    const since = window.sinceDay;
    const cached = this.tagCache;
    if (!cached || cached.since !== since || now.getTime() - cached.at >= this.cacheMs) {
      // After a failed read, a whole one.
      const previous = cached ? cached.state.catch(() => undefined) : Promise.resolve(undefined);
      const state = previous.then((known) => this.readTags(known, window));
      this.tagCache = { at: now.getTime(), since, state };
      // A failed read must not stay cached.
      state.catch(() => {
        if (this.tagCache?.state === state) this.tagCache = undefined;
      });
    }
    return (await this.tagCache!.state).ranked;
  }

  private async readTags(known: TagState | undefined, window: TagWindow): Promise<TagState> {
    const read = await this.store.recentTags(this.workspaceId, window.sinceDay, known?.cursor);
    // Nothing written, same day: the same ranked list (and its words, made once per list: tags.ts).
    if (known && !read.complete && read.tags.length === 0 && known.since === window.sinceDay) {
      return { ...known, cursor: read.cursor };
    }
    const byKey = read.complete || !known ? new Map<string, TagUses>() : known.byKey;
    for (const uses of read.tags) byKey.set(uses.tag.toLowerCase(), uses);
    // Tags whose latest use left the window have no day in it left: forgotten, as the store's full read would.
    for (const [key, uses] of byKey) if (uses.lastUsedUtc < window.sinceDay) byKey.delete(key);
    return { byKey, cursor: read.cursor, since: window.sinceDay, ranked: rankTotals(totalsOf(byKey.values(), window), window) };
  }

  private async resolveOwner(ref: string, actor: Actor, errors: FieldErrors): Promise<Owner | undefined> {
    if (!ref) return undefined;
    const objectId = ref === ASSIGN_TO_ME ? actor.objectId : ref;
    if (!objectId) {
      errors.owner = 'Teams did not tell us who you are, so "Assign to me" can\'t be used here. Search for yourself instead.';
      return undefined;
    }
    const entry = await this.directory.get(objectId.toLowerCase());
    if (!entry) {
      errors.owner =
        ref === ASSIGN_TO_ME
          ? "You are not in the directory, so the incident can't be assigned to you."
          : "That owner is not in the directory any more. Search again.";
      return undefined;
    }
    return ownerOf(entry);
  }
}

/** How to reach `actor` later, when the transport gave an address and Teams said who they are. */
function contactOf(actor: Actor, address: Contact["address"] | undefined): Contact | undefined {
  const person = personKey(actor);
  return address && person ? { person, address } : undefined;
}

/** Refuses, before the store sees it, a write larger than an incident's document may be. */
function fits(incident: Incident, bytes = documentBytes(incident)): void {
  if (bytes > WRITE_BYTES_MAX) {
    throw new IncidentTooLargeError(
      `${incidentRef(incident)} would be ${bytes} bytes, over the ${WRITE_BYTES_MAX} kept per incident.`,
    );
  }
}

function seen(incident: Incident, viewer: Viewer): Seen | undefined {
  const access = accessTo(incident, viewer);
  return access === "none" ? undefined : { incident, access };
}

/** What an employee may decide: title, description, how urgent (High or Medium), and need-to-know. Nothing else. */
function employeeForm(form: IncidentForm): IncidentForm {
  return {
    ...form,
    severity: form.severity === "High" ? "High" : "Medium",
    status: "New",
    closing: "",
    closingComment: "",
    owner: "",
    // Their tags would lead the analysts' suggestions: the SOC tags what employees report.
    tags: "",
    // Defender's fields are the SOC's (entities found in their words are extracted, never typed by them).
    ...NO_DEFENDER_FIELDS,
  };
}

function withoutClassification(incident: Incident): Incident {
  const rest = { ...incident };
  delete rest.classification;
  delete rest.classificationReason;
  delete rest.classificationComment;
  return rest;
}

/** The incident fields a valid form sets. */
/** What a conversation saw of a new incident: its fields, without the restricted flag. */
function seenFields({ restricted, ...seen }: ReturnType<typeof fieldsOf>): MirroredFields {
  void restricted;
  return seen;
}

function fieldsOf(v: ValidForm, owner: Owner | undefined) {
  return {
    title: v.title,
    description: v.description,
    severity: v.severity,
    status: v.status,
    ...(v.classification && { classification: v.classification }),
    ...(v.classificationReason && { classificationReason: v.classificationReason }),
    ...(v.classificationComment && { classificationComment: v.classificationComment }),
    ...(owner && { owner }),
    labels: v.tags.map((labelName) => ({ labelName, labelType: "User" as const })),
    ...(v.restricted && { restricted: true }),
  };
}
