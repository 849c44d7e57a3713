import { randomBytes } from "node:crypto";
import { StoreUnavailableError } from "./errors";
import type { Actor, EntryPoint, Incident, MessageEvidence, Owner, ReportAccount, TriageNotice } from "./model";
import { personKey, PROVIDER_NAME } from "./model";
import type { Clock, Directory, DirectoryEntry, IncidentStore, NewIncident } from "./ports";
import { readQuery } from "./search";
import { checkReport, type ReportErrors, type ReportForm } from "./report";
import { rankTags, suggestTags, windowStartDay, type RankedTag } from "./tags";
import { ASSIGN_TO_ME, checkForm, type FieldErrors, type IncidentForm, type ValidForm } from "./validation";
import { accessTo, isReporter, type Access, type Viewer } from "./visibility";

/** Analysts triage and own incidents; employees report what they saw. */
export type Role = "analyst" | "employee";

export type CreateResult =
  | { kind: "created"; incident: Incident; /** false: this submission had already created it */ isNew: boolean }
  /** Someone else had already reported this message: this person's account was added to their incident. */
  | { kind: "added"; incident: Incident }
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
}

export interface IncidentServiceOptions {
  store: IncidentStore;
  directory: Directory;
  workspaceId: string;
  clock?: Clock;
  /** How long tag usage and the triage channel read from the store are reused, in ms. */
  tagCacheMs?: number;
}

/** Owner typeahead shows at most this many (Teams shows 15). */
export const OWNER_RESULTS_MAX = 15;
const TRIAGE_KEY = "triageChannel";
const SECRET_KEY = "formSigningSecret";
/** How often adding a report to an incident is tried while others change it at the same moment. */
const ADD_REPORT_ATTEMPTS = 5;

/** The use cases: create (form, report, message), update with optimistic concurrency, search, suggest, triage. */
export class IncidentService {
  private readonly store: IncidentStore;
  private readonly directory: Directory;
  private readonly clock: Clock;
  private readonly cacheMs: number;
  readonly workspaceId: string;
  private tagCache: { at: number; since: string; ranked: Promise<RankedTag[]> } | undefined;
  private triageCache: { at: number; channel: Promise<TriageChannel | undefined> } | undefined;

  constructor(options: IncidentServiceOptions) {
    this.store = options.store;
    this.directory = options.directory;
    this.workspaceId = options.workspaceId;
    this.clock = options.clock ?? (() => new Date());
    this.cacheMs = options.tagCacheMs ?? 30_000;
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
    const checked = await this.checkWithOwner(effective, actor);
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const { value: v, owner } = checked;
    const now = this.clock().toISOString();
    const triage: TriageNotice | undefined = (await this.triageChannel())
      ? { state: "pending", attempts: 0, updatedUtc: now }
      : undefined;
    const created: NewIncident = {
      id: v.id,
      workspaceId: this.workspaceId,
      ...fieldsOf(v, owner),
      ...(options.firstActivityTimeUtc && { firstActivityTimeUtc: options.firstActivityTimeUtc }),
      ...(options.evidence && { evidence: [options.evidence] }),
      ...(triage && { triage }),
      createdTimeUtc: now,
      lastModifiedTimeUtc: now,
      createdBy: actor,
      entryPoint,
      ...(options.formMessageId && { formMessageId: options.formMessageId }),
      providerName: PROVIDER_NAME,
    };
    const outcome = await this.store.create(created);
    if (outcome.created) {
      if (v.tags.length) this.tagCache = undefined;
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
      evidence: options.evidence,
    };
    return this.addReport(outcome.incident, account);
  }

  /** Adds a later report of the same message to the incident, retrying when someone changed it meanwhile. */
  private async addReport(first: Incident, account: ReportAccount): Promise<CreateResult> {
    let current: Incident | undefined = first;
    for (let attempt = 0; current && attempt < ADD_REPORT_ATTEMPTS; attempt++) {
      if (isReporter(current, account.reporter)) return { kind: "created", incident: current, isNew: false };
      const next = { ...current, reports: [...(current.reports ?? []), account], lastModifiedTimeUtc: account.timeUtc };
      const outcome = await this.store.replace(next, current.revision);
      if (outcome.ok) return { kind: "added", incident: outcome.incident };
      current = outcome.current;
    }
    throw new StoreUnavailableError("The incident kept changing while a report was being added to it; try again.");
  }

  /** An employee's report from chat: New, unowned, High when urgent; the reporter is recorded. */
  async report(
    report: ReportForm,
    actor: Actor,
    timeZone: string | undefined,
    where: Pick<CreateOptions, "evidence" | "formMessageId"> = {},
  ): Promise<ReportResult> {
    const { evidence, formMessageId } = where;
    const checked = checkReport(report, timeZone, this.clock());
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const result = await this.create(checked.form, actor, evidence ? "message-extension" : "chat-report", {
      role: "employee",
      ...(checked.firstActivityTimeUtc && { firstActivityTimeUtc: checked.firstActivityTimeUtc }),
      ...(evidence && { evidence }),
      ...(formMessageId && { formMessageId }),
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
    const checked = await this.checkWithOwner({ ...form, submissionId: current.id }, actor);
    if (!checked.ok) return { kind: "invalid", errors: checked.errors };
    const next: Incident = {
      ...withoutClassification(current),
      ...fieldsOf(checked.value, checked.owner),
      lastModifiedTimeUtc: this.clock().toISOString(),
    };
    if (!checked.owner) delete next.owner;
    if (!checked.value.restricted) delete next.restricted;
    return this.replaceFrom(next, revision);
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
    return this.replaceFrom({ ...current, owner, lastModifiedTimeUtc: this.clock().toISOString() }, revision);
  }

  /**
   * By number ("INC-42", "#42", "42"), by words of the title or by a tag, newest first; recent ones
   * when empty. Only what `viewer` may see: the SOC every incident but restricted ones (unless on the
   * restricted-cases team), anyone else the incidents they reported.
   */
  async search(typed: string, limit: number, viewer: Viewer): Promise<Seen[]> {
    const query = readQuery(typed);
    if (!viewer.analyst) {
      const reporter = personKey(viewer.actor);
      if (reporter === undefined) return [];
      query.reporter = reporter;
    }
    const found = await this.store.search(this.workspaceId, query, limit);
    return found.map((incident) => seen(incident, viewer)).filter((s): s is Seen => s !== undefined);
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

  private async replaceFrom(next: Incident, revision: number): Promise<UpdateResult> {
    const outcome = await this.store.replace(next, revision);
    if (outcome.ok) return { kind: "updated", incident: outcome.incident };
    return outcome.current ? { kind: "conflict", current: outcome.current } : { kind: "not-found" };
  }

  private async checkWithOwner(
    form: IncidentForm,
    actor: Actor,
  ): Promise<{ ok: true; value: ValidForm; owner: Owner | undefined } | { ok: false; errors: FieldErrors }> {
    const checked = checkForm(form);
    const errors: FieldErrors = checked.ok ? {} : { ...checked.errors };
    const owner = errors.owner ? undefined : await this.resolveOwner(form.owner.trim(), actor, errors);
    if (!checked.ok || Object.keys(errors).length > 0) return { ok: false, errors };
    return { ok: true, value: checked.value, owner };
  }

  private async rankedTags(): Promise<RankedTag[]> {
    const now = this.clock();
    const since = windowStartDay(now);
    const cached = this.tagCache;
    if (!cached || cached.since !== since || now.getTime() - cached.at >= this.cacheMs) {
      // Ranked once per read, not per keystroke: the ranking depends on the day only, as the cache entry does (`since`).
      const ranked = this.store.tagUsage(this.workspaceId, since).then((usage) => rankTags(usage, now));
      this.tagCache = { at: now.getTime(), since, ranked };
      // A failed read must not stay cached.
      ranked.catch(() => {
        if (this.tagCache?.ranked === ranked) this.tagCache = undefined;
      });
    }
    return this.tagCache!.ranked;
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
    return {
      objectId: entry.objectId,
      ownerType: entry.kind,
      assignedTo: entry.displayName,
      ...(entry.email && { email: entry.email }),
      ...(entry.userPrincipalName && { userPrincipalName: entry.userPrincipalName }),
    };
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
