import { backoffMs } from "./backoff";
import { changeWords, stableId, withNotices } from "./casework";
import { SentinelError } from "./errors";
import { derivedLabels, entitiesComment, isDerivedLabel } from "./mirror-entities";
import { ownerOf } from "./owners";
import {
  incidentRef,
  UNKNOWN_OWNER,
  type Actor,
  type EntryPoint,
  type Incident,
  type IncidentComment,
  type IncidentTask,
  type MessageEvidence,
  type MirroredFields,
  type Owner,
  type SentinelLink,
  type TaskStatus,
} from "./model";
import { NO_MEASURES } from "./ports";
import type { Clock, Directory, IncidentStore, Measures } from "./ports";

/**
 * The mirror of every incident in Microsoft Sentinel, both ways. No SDK here: `SentinelApi` is the
 * port (src/adapters/sentinel-client.ts speaks REST), the store keeps the state.
 *
 * - Out: every change writes the incident's revision; the link (`incident.sentinel`) says which
 *   revision Sentinel holds, so a change not yet sent is pending in the store itself, in the same
 *   write as the change, and survives any crash. `push` claims the link (a lease in the store, so two
 *   instances never send one incident at once), PUTs the incident with the etag last seen, then its
 *   comments and tasks (ids chosen here, deterministic: a retry writes the same ones), and records
 *   the outcome. A stale etag (409) means someone changed it in Sentinel: read theirs, keep the
 *   fields changed there, apply only the fields changed in Teams, write again, and bring theirs home.
 * - Back: `poll` (one instance at a time: a lease) reads what changed in Sentinel since a watermark
 *   kept in the store, and writes changes of incidents this bot created into the store, telling
 *   reporters as any change does.
 * - Restricted incidents (need-to-know) go to Sentinel without their words: a placeholder title and
 *   description, no labels, comments, tasks or entities; Sentinel's users see that it exists, who owns
 *   it and its state, never what it is about.
 * - Entities, category and techniques (src/incidents/mirror-entities.ts): the entities as a comment per
 *   entity set, the category and techniques as labels `category:` and `mitre:` added on the way out,
 *   dropped on the way in: never tags, never part of the three-way merge.
 */

/**
 * Values of Sentinel's extensible enums this bot does not know yet, as Sentinel spells them. The
 * fields they belong to hold a stand-in, which the mirror replaces with Teams' own value: Teams keeps
 * its value, every other field still comes home, and the triage card shows Sentinel's.
 */
export interface UnreadValues {
  severity?: string;
  status?: string;
  classification?: string;
  classificationReason?: string;
}

/** An incident as Sentinel holds it. */
export interface RemoteIncident {
  /** The incident id (the resource name), which is ours: we choose it when we create it. */
  id: string;
  etag: string;
  fields: MirroredFields;
  unread?: UnreadValues | undefined;
  incidentNumber?: number | undefined;
  incidentUrl?: string | undefined;
  lastModifiedTimeUtc: string;
}

/** What is written to Sentinel for an incident. */
export interface OutgoingIncident extends MirroredFields {
  firstActivityTimeUtc?: string | undefined;
  lastActivityTimeUtc?: string | undefined;
}

export interface RemoteTask {
  id: string;
  title: string;
  description: string;
  status: TaskStatus;
}

/**
 * Microsoft Sentinel's incidents, comments and tasks (Microsoft.SecurityInsights). Failures are
 * `SentinelError`s; every write is a PUT on an id we choose, so repeating one is harmless.
 */
export interface SentinelApi {
  getIncident(id: string): Promise<RemoteIncident | undefined>;
  /** Creates (no etag) or updates (the etag last seen; a newer one in Sentinel: `conflict`). */
  putIncident(id: string, incident: OutgoingIncident, etag: string | undefined): Promise<RemoteIncident>;
  putComment(incidentId: string, commentId: string, message: string): Promise<void>;
  putTask(incidentId: string, task: RemoteTask): Promise<void>;
  /** Incidents modified after `sinceUtc`, oldest change first, a page at a time. */
  changedSince(sinceUtc: string): AsyncIterable<RemoteIncident[]>;
}

/** The author of changes that came from Sentinel. */
export const SENTINEL_ACTOR: Actor = { name: "Microsoft Sentinel" };

/** The link a new incident starts with while the sync is on: revision 1 pending, due at once. */
export function newLink(nowUtc: string): SentinelLink {
  return { revision: 0, comments: 0, reports: 0, tasks: [], attempts: 0, dueUtc: nowUtc };
}

/** When the incident's next push may start (after any backoff and claim), or undefined when nothing is to be sent. */
export function syncDue(incident: Partial<Pick<Incident, "revision" | "sentinel">>): string | undefined {
  const link = incident.sentinel;
  if (!link || incident.revision === undefined || incident.revision <= link.revision) return undefined;
  if (link.rejected?.revision === incident.revision) return undefined;
  return link.claimUntilUtc && link.claimUntilUtc > link.dueUtc ? link.claimUntilUtc : link.dueUtc;
}

/** How the incident stands in Sentinel, for the cards. */
export type MirrorState =
  | { kind: "off" }
  | { kind: "synced"; incidentNumber?: number | undefined; incidentUrl?: string | undefined; behind: boolean }
  | { kind: "sending"; lastError?: string | undefined; incidentNumber?: number | undefined; incidentUrl?: string | undefined }
  | { kind: "rejected"; reason: string; incidentNumber?: number | undefined; incidentUrl?: string | undefined };

export function mirrorState(incident: Pick<Incident, "revision" | "sentinel">): MirrorState {
  const link = incident.sentinel;
  if (!link) return { kind: "off" };
  const where = { incidentNumber: link.incidentNumber, incidentUrl: link.incidentUrl };
  if (link.rejected && link.rejected.revision === incident.revision)
    return { kind: "rejected", reason: link.rejected.reason, ...where };
  if (!link.etag) return { kind: "sending", lastError: link.lastError, ...where };
  const behind = incident.revision > link.revision;
  if (behind && link.lastError) return { kind: "sending", lastError: link.lastError, ...where };
  return { kind: "synced", ...where, behind };
}

/** The placeholder words a restricted incident has in Sentinel. */
export function restrictedTitle(incident: Pick<Incident, "incidentNumber">): string {
  return `Restricted incident ${incidentRef(incident)}`;
}
const RESTRICTED_DESCRIPTION =
  "Need-to-know: what this incident is about is kept in Microsoft Teams, seen only by the SOC's restricted-cases team.";

/** The fields Sentinel gets for an incident (a restricted one without its words). */
export function mirroredFields(incident: Incident): MirroredFields {
  const restricted = incident.restricted === true;
  return {
    title: restricted ? restrictedTitle(incident) : incident.title,
    description: restricted ? RESTRICTED_DESCRIPTION : incident.description,
    severity: incident.severity,
    status: incident.status,
    ...(incident.classification && { classification: incident.classification }),
    ...(incident.classificationReason && { classificationReason: incident.classificationReason }),
    // The closing comment is the analyst's words: a restricted incident's stays in Teams.
    ...(incident.classificationComment && !restricted && { classificationComment: incident.classificationComment }),
    ...(incident.owner && { owner: incident.owner }),
    // Category and technique labels are added on the way out (send), never merged as tags.
    labels: restricted ? [] : incident.labels.filter((l) => !isDerivedLabel(l.labelName)),
  };
}

/** The fields that change together, each compared and merged as one. */
const GROUPS = ["title", "description", "severity", "status", "owner", "labels"] as const;
export type FieldGroup = (typeof GROUPS)[number];

const GROUP_NAMES: Record<FieldGroup, string> = {
  title: "Title",
  description: "Description",
  severity: "Severity",
  status: "Status",
  owner: "Owner",
  labels: "Tags",
};

/** Groups a restricted incident mirrors: never its words, either way. */
function groupsOf(incident: Pick<Incident, "restricted">): readonly FieldGroup[] {
  return incident.restricted ? (["severity", "status", "owner"] as const) : GROUPS;
}

function groupValue(fields: MirroredFields, group: FieldGroup): string {
  switch (group) {
    case "title":
      return fields.title;
    case "description":
      return fields.description;
    case "severity":
      return fields.severity;
    case "status":
      return [
        fields.status,
        fields.classification ?? "",
        fields.classificationReason ?? "",
        fields.classificationComment ?? "",
      ].join("\u001f");
    case "owner":
      return fields.owner?.objectId.toLowerCase() ?? "";
    case "labels":
      // By name: a label's type is Sentinel's to set (read-only).
      return fields.labels
        .map((l) => l.labelName)
        .sort()
        .join("\u001f");
  }
}

function shown(fields: MirroredFields, group: FieldGroup): string {
  switch (group) {
    case "owner":
      return fields.owner?.assignedTo ?? "nobody";
    case "status":
      return fields.classification ? `${fields.status} (${fields.classification})` : fields.status;
    case "labels":
      return fields.labels.map((l) => l.labelName).join(", ") || "none";
    case "title":
    case "description":
    case "severity":
      return shorten(fields[group], 60);
  }
}

function copyGroup(into: MirroredFields, from: MirroredFields, group: FieldGroup): void {
  switch (group) {
    case "status":
      into.status = from.status;
      delete into.classification;
      delete into.classificationReason;
      delete into.classificationComment;
      if (from.classification) into.classification = from.classification;
      if (from.classificationReason) into.classificationReason = from.classificationReason;
      if (from.classificationComment) into.classificationComment = from.classificationComment;
      return;
    case "owner":
      if (from.owner) into.owner = from.owner;
      else delete into.owner;
      return;
    case "labels":
      into.labels = from.labels;
      return;
    case "title":
    case "description":
      into[group] = from[group];
      return;
    case "severity":
      into.severity = from.severity;
  }
}

export interface Merge {
  /** What both sides should hold: Teams' value where Teams changed a field, Sentinel's elsewhere. */
  merged: MirroredFields;
  /** Fields changed in Sentinel only: to be written into the store. */
  fromSentinel: FieldGroup[];
  /** Fields changed on both sides to different values, as people read it (Teams' value is kept). */
  conflicts: string[];
}

/** A three-way merge against the fields both sides last agreed on (`base`). */
export function mergeFields(
  base: MirroredFields,
  ours: MirroredFields,
  theirs: MirroredFields,
  groups: readonly FieldGroup[] = GROUPS,
): Merge {
  const merged: MirroredFields = { ...ours, labels: [...ours.labels] };
  const fromSentinel: FieldGroup[] = [];
  const conflicts: string[] = [];
  for (const group of groups) {
    const was = groupValue(base, group);
    const here = groupValue(ours, group) !== was;
    const there = groupValue(theirs, group) !== was;
    if (!there) continue;
    if (!here) {
      copyGroup(merged, theirs, group);
      fromSentinel.push(group);
    } else if (groupValue(ours, group) !== groupValue(theirs, group)) {
      conflicts.push(
        `${GROUP_NAMES[group]} was changed in Sentinel (to ${shown(theirs, group)}) and in Teams (to ${shown(ours, group)}) ` +
          `at the same time: Teams' ${shown(ours, group)} was kept.`,
      );
    }
  }
  return { merged, fromSentinel, conflicts };
}

/** The incident with Sentinel's values for `groups`. */
export function withFields(incident: Incident, fields: MirroredFields, groups: readonly FieldGroup[]): Incident {
  const next: Incident = { ...incident };
  const target = next as unknown as MirroredFields;
  for (const group of groups) copyGroup(target, fields, group);
  // A restricted incident's closing comment is never sent (mirroredFields), so Sentinel's status never replaces it.
  if (incident.restricted) {
    delete next.classificationComment;
    if (incident.classificationComment && next.status === "Closed") next.classificationComment = incident.classificationComment;
  }
  return next;
}

const ENTRY_WORDS: Record<EntryPoint, string> = {
  form: "the incident form in the SOC Incident Bot",
  "chat-report": "a chat report to the SOC Incident Bot",
  "message-extension": "Create incident on a Teams message",
};

function utc(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

function evidenceWords(evidence: MessageEvidence | undefined): string {
  if (!evidence) return "";
  const parts = [
    `Evidence: a Teams message by ${evidence.author.name}`,
    evidence.sentUtc ? `, sent ${utc(evidence.sentUtc)}` : "",
    evidence.link ? `, ${evidence.link}` : "",
    `. SHA-256 of its body as Teams sent it: ${evidence.bodySha256}.`,
  ];
  return `\n${parts.join("")}`;
}

/** A comment Sentinel gets, with the id it is written under. */
export interface OutgoingComment {
  id: string;
  message: string;
}

/**
 * Where the incident came from, as comments: who reported it, how and when, and the message it was
 * made from; then each later report of the same message. Ids are made from the incident and the
 * report's place, so a retry writes the same comments.
 */
export function provenanceComments(incident: Incident): OutgoingComment[] {
  const first = incident.evidence?.[0];
  const who = incident.createdBy;
  const comments: OutgoingComment[] = [
    {
      id: stableId(incident.id, "sentinel", "created"),
      message:
        // A restricted incident's reporters are not named, as in its later reports.
        `Reported in Microsoft Teams${incident.restricted ? "" : ` by ${who.name}`} on ${utc(incident.createdTimeUtc)}, ` +
        `through ${ENTRY_WORDS[incident.entryPoint]}. ` +
        `In Teams: ${incidentRef(incident)}.${incident.restricted ? "" : evidenceWords(first)}`,
    },
  ];
  (incident.reports ?? []).forEach((report, index) => {
    comments.push({
      id: stableId(incident.id, "sentinel", "report", index),
      message: incident.restricted
        ? `Also reported in Microsoft Teams by another person on ${utc(report.timeUtc)}.`
        : `Also reported in Microsoft Teams by ${report.reporter.name} on ${utc(report.timeUtc)}, through ` +
          `${ENTRY_WORDS[report.entryPoint]}: "${report.title}"${report.words ? `\n${report.words}` : ""}` +
          (report.firstActivityTimeUtc ? `\nHappened: ${utc(report.firstActivityTimeUtc)}.` : "") +
          (report.severity && report.severity !== "Medium" ? `\nAsked for ${report.severity} severity.` : "") +
          evidenceWords(report.evidence),
    });
  });
  return comments;
}

/** An incident comment as Sentinel gets it (its author field is Sentinel's: the bot's identity). */
export function outgoingComment(comment: IncidentComment): OutgoingComment {
  const by = comment.author.name;
  const text =
    comment.kind === "question"
      ? `${by} asked the reporters in Teams: ${comment.message}`
      : comment.kind === "answer"
        ? `${by} (reporter) answered in Teams: ${comment.message}`
        : `${by} in Teams${comment.shared ? " (shared with the reporters)" : ""}: ${comment.message}`;
  return { id: comment.id, message: text };
}

export function outgoingTask(task: IncidentTask): RemoteTask {
  const done = task.completedBy ? ` Completed by ${task.completedBy.name} on ${utc(task.completedTimeUtc ?? "")}.` : "";
  return {
    id: task.id,
    title: task.title,
    description: `Added in Microsoft Teams by ${task.createdBy.name} on ${utc(task.createdTimeUtc)}.${done}`,
    status: task.status,
  };
}

function taskKey(task: Pick<IncidentTask, "id" | "status">): string {
  return `${task.id}:${task.status}`;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** How long an instance has to finish a push or a pull it claimed before another may, unless the options say. */
const CLAIM_MS = 60_000;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;
/** A conflicting write is merged and tried again this often before the push is retried later. */
const CONFLICT_TRIES = 3;
/** The watermark is read back this far, so a change stamped a little late in Sentinel is not skipped. */
const WATERMARK_OVERLAP_MS = 2 * 60_000;
const WATERMARK_KEY = "sentinelWatermark";
const POLL_LEASE = "sentinelPoll";
const CONFLICTS_KEPT = 5;
/** Conflicts and reasons are kept this short on the incident. */
const REASON_MAX = 600;
/** Writes to Sentinel at once for one incident's comments and tasks. */
const PARALLEL_WRITES = 4;

export interface MirrorLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface MirrorOptions {
  store: IncidentStore;
  api: SentinelApi;
  /** Names an owner set in Sentinel: by its object id, never by the text Sentinel holds. */
  directory: Directory;
  workspaceId: string;
  /** Who holds the poll lease: this instance, unique among those sharing the store. */
  instanceId: string;
  /** How often the poll runs, which is how long its lease is held (renewed by each poll). */
  pollEveryMs: number;
  /**
   * How long a push or pull may hold an incident before another instance may take it over (when its
   * holder died). Longer than a push takes; a push that outlasts it is repeated, harmlessly (same ids).
   */
  claimMs?: number;
  clock?: Clock;
  log: MirrorLog;
  /** Told how each push ended, and how long after the change it reached Sentinel (src/telemetry.ts). */
  measures?: Measures;
  /** After a change made in Sentinel was written here, or the first push gave Sentinel's number: cards to redraw. */
  changed?: (incident: Incident) => void;
}

export type PushOutcome = "synced" | "not-due" | "retry" | "rejected";

/** Sends incidents to Microsoft Sentinel and brings changes made there back. */
export class SentinelMirror {
  private readonly store: IncidentStore;
  private readonly api: SentinelApi;
  private readonly workspaceId: string;
  private readonly clock: Clock;
  private readonly log: MirrorLog;
  private readonly measures: Measures;

  constructor(private readonly options: MirrorOptions) {
    this.store = options.store;
    this.api = options.api;
    this.workspaceId = options.workspaceId;
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log;
    this.measures = options.measures ?? NO_MEASURES;
  }

  /** Pushes every incident whose change is due (retries, and pushes another instance stopped). Returns how many were tried. */
  async sweep(limit = 20): Promise<number> {
    const due = await this.store.dueSyncs(this.workspaceId, this.clock().toISOString(), limit);
    for (const incident of due) await this.push(incident.id);
    return due.length;
  }

  /** Sends the incident's latest change to Sentinel when it is due and no other instance is sending it. */
  async push(id: string): Promise<PushOutcome> {
    const claimed = await this.claim(id, (incident, nowUtc) => {
      const due = syncDue(incident);
      return due !== undefined && due <= nowUtc;
    });
    if (!claimed) return "not-due";
    const { incident, until } = claimed;
    const link = incident.sentinel!;
    try {
      const sent = await this.send(incident, link);
      const settled: SentinelLink = {
        ...link,
        revision: incident.revision,
        etag: sent.remote.etag,
        ...(sent.remote.incidentNumber !== undefined && { incidentNumber: sent.remote.incidentNumber }),
        ...(sent.remote.incidentUrl && { incidentUrl: sent.remote.incidentUrl }),
        base: sent.put,
        comments: sent.comments,
        reports: sent.reports,
        tasks: sent.tasks,
        ...(sent.entities && { entities: sent.entities }),
        ...(sent.derivedLabels.length && { derivedLabels: sent.derivedLabels }),
        attempts: 0,
        dueUtc: this.clock().toISOString(),
        syncedUtc: this.clock().toISOString(),
        ...(sent.conflicts.length && { conflicts: [...(link.conflicts ?? []), ...sent.conflicts].slice(-CONFLICTS_KEPT) }),
      };
      delete settled.claimUntilUtc;
      delete settled.lastError;
      delete settled.rejected;
      if (!sent.derivedLabels.length) delete settled.derivedLabels;
      // Sentinel now holds what was written: Teams' values.
      delete settled.unread;
      const stored = sent.fromSentinel.length
        ? await this.bringHome(incident, sent.put, sent.fromSentinel, settled, until)
        : await this.settle(id, until, () => settled);
      this.log.info(
        { incidentId: id, revision: incident.revision, fromSentinel: sent.fromSentinel },
        "incident synced to Sentinel",
      );
      if (stored && (!link.etag || sent.fromSentinel.length || sent.conflicts.length)) this.options.changed?.(stored);
      this.measures.synced("synced", Math.max(0, this.clock().getTime() - Date.parse(incident.lastModifiedTimeUtc)));
      return "synced";
    } catch (error) {
      return this.failed(incident, until, error);
    }
  }

  /**
   * Reads what changed in Sentinel since the watermark and writes it into the store. One instance at
   * a time (a lease renewed by each poll). Returns how many incidents changed here.
   */
  async poll(): Promise<number> {
    const now = this.clock();
    const until = new Date(now.getTime() + this.options.pollEveryMs * 2 + 30_000).toISOString();
    if (!(await this.store.lease(this.workspaceId, POLL_LEASE, this.options.instanceId, now.toISOString(), until))) return 0;
    const mark = await this.store.getSetting(this.workspaceId, WATERMARK_KEY);
    if (typeof mark !== "string") {
      // The first poll: changes from now on (everything before was made by this bot).
      await this.store.putSetting(this.workspaceId, WATERMARK_KEY, now.toISOString());
      return 0;
    }
    const since = new Date(Date.parse(mark) - WATERMARK_OVERLAP_MS).toISOString();
    let newest = mark;
    let pulled = 0;
    for await (const page of this.api.changedSince(since)) {
      for (const remote of page) {
        const local = await this.store.get(this.workspaceId, remote.id.toLowerCase());
        if (local?.sentinel?.etag && local.sentinel.etag !== remote.etag) {
          const read = await this.readable(remote, mirroredFields(local));
          if (await this.pull(local.id, read.remote, read.unread)) pulled++;
        }
        if (remote.lastModifiedTimeUtc > newest) newest = remote.lastModifiedTimeUtc;
      }
      // Progress is kept page by page: a stop in the middle resumes from here.
      if (newest !== mark) await this.store.putSetting(this.workspaceId, WATERMARK_KEY, newest);
    }
    return pulled;
  }

  /**
   * Sentinel's fields with their owner named as this bot names owners. Sentinel's `assignedTo` is text
   * anyone who may edit incidents there can write (a crafted "IT Support. Your account is locked: sign
   * in at ..."), and owners' names reach reporters' notices and the cards: the owner is looked up in the
   * directory by its object id (our own owner when it is the same one), and one the directory does not
   * know is "a SOC analyst". A directory that is down fails the read, which is tried again later.
   */
  private async named(fields: MirroredFields, ours: MirroredFields): Promise<MirroredFields> {
    const owner = fields.owner;
    if (!owner) return fields;
    if (ours.owner && ours.owner.objectId.toLowerCase() === owner.objectId.toLowerCase()) return { ...fields, owner: ours.owner };
    const entry = await this.options.directory.get(owner.objectId);
    const named: Owner = entry
      ? { ...ownerOf(entry), objectId: owner.objectId }
      : { objectId: owner.objectId, ownerType: owner.ownerType, assignedTo: UNKNOWN_OWNER };
    if (!entry)
      this.log.warn({ objectId: owner.objectId }, "an owner set in Sentinel is not in the directory; shown as a SOC analyst");
    return { ...fields, owner: named };
  }

  /**
   * Sentinel's incident as the mirror may use it: its owner named from the directory (`named`), and
   * each value this bot does not know yet replaced by Teams' own (`ours`), with a line saying so.
   */
  private async readable(remote: RemoteIncident, ours: MirroredFields): Promise<{ remote: RemoteIncident; unread: string[] }> {
    const fields = { ...(await this.named(remote.fields, ours)) };
    // Labels derived from the category and techniques are ours to write, never tags brought home.
    fields.labels = fields.labels.filter((l) => !isDerivedLabel(l.labelName));
    const raw = remote.unread ?? {};
    const unread: string[] = [];
    const quoted = (value: string) => `"${shorten(value, 40)}"`;
    if (raw.severity !== undefined) {
      fields.severity = ours.severity;
      unread.push(`Sentinel's severity ${quoted(raw.severity)} is not one this bot knows yet: Teams keeps ${ours.severity}.`);
    }
    const closing = [raw.status, raw.classification, raw.classificationReason].filter((v) => v !== undefined);
    if (closing.length) {
      copyGroup(fields, ours, "status");
      const kept = shown(ours, "status");
      unread.push(`Sentinel's status ${closing.map(quoted).join(", ")} is not one this bot knows yet: Teams keeps ${kept}.`);
    }
    return { remote: { ...remote, fields }, unread };
  }

  /** Writes Sentinel's changes of one incident into the store (when no push of it is under way). */
  private async pull(id: string, remote: RemoteIncident, unread: readonly string[] = []): Promise<boolean> {
    const claimed = await this.claim(id, () => true);
    if (!claimed) return false;
    const { incident, until } = claimed;
    const link = incident.sentinel!;
    if (link.etag === remote.etag) {
      await this.settle(id, until, (stored) => stored);
      return false;
    }
    // Logged once per incident and value: the lines are kept with the link.
    const fresh = unread.filter((line) => !(link.unread ?? []).includes(line));
    if (fresh.length) this.log.warn({ incidentId: id, unread: fresh }, "Sentinel holds a value this bot does not know yet");
    const ours = mirroredFields(incident);
    const base = link.base ?? ours;
    const merge = mergeFields(base, ours, remote.fields, groupsOf(incident));
    // What both sides now agree on: Sentinel's values where they changed there; a field changed in
    // Teams keeps the old base, so the next push still sends it.
    const agreed: MirroredFields = { ...base, labels: [...base.labels] };
    for (const group of merge.fromSentinel) copyGroup(agreed, remote.fields, group);
    const settled: SentinelLink = {
      ...link,
      etag: remote.etag,
      base: agreed,
      ...(remote.incidentNumber !== undefined && { incidentNumber: remote.incidentNumber }),
      ...(remote.incidentUrl && { incidentUrl: remote.incidentUrl }),
      ...(merge.conflicts.length && { conflicts: [...(link.conflicts ?? []), ...merge.conflicts].slice(-CONFLICTS_KEPT) }),
      unread: [...unread],
    };
    delete settled.claimUntilUtc;
    if (!unread.length) delete settled.unread;
    if (!merge.fromSentinel.length) {
      const stored = await this.settle(id, until, () => settled);
      // Only a value this bot does not know changed there: the triage card shows it.
      if (stored && (fresh.length || unread.length !== (link.unread ?? []).length)) this.options.changed?.(stored);
      return false;
    }
    const stored = await this.bringHome(incident, remote.fields, merge.fromSentinel, settled, until);
    if (stored) {
      this.log.info({ incidentId: id, fields: merge.fromSentinel }, "change made in Sentinel written here");
      this.options.changed?.(stored);
      return true;
    }
    return false;
  }

  /**
   * Writes Sentinel's values of `groups` into the stored incident, with `settled` as its link. The
   * fields are written only where Teams did not change them since `read` (a later change in Teams
   * wins and is pushed next); reporters are told as for any change. Returns the stored incident.
   */
  private async bringHome(
    read: Incident,
    fields: MirroredFields,
    groups: readonly FieldGroup[],
    settled: SentinelLink,
    until: string,
  ): Promise<Incident | undefined> {
    const before = mirroredFields(read);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = attempt === 0 ? read : await this.store.get(this.workspaceId, read.id);
      if (!current) return undefined;
      const now = mirroredFields(current);
      const untouched = groups.filter((g) => groupValue(now, g) === groupValue(before, g));
      const next = withFields(current, fields, untouched);
      next.lastModifiedTimeUtc = this.clock().toISOString();
      // Sentinel holds this revision when it held the one read (a push, or a pull with nothing pending here) and nothing
      // else changed here since it was read; else a change made here is still to be sent.
      const link: SentinelLink = {
        ...settled,
        revision:
          current.revision === read.revision && settled.revision === read.revision ? current.revision + 1 : settled.revision,
      };
      const noticed = withNotices(
        next,
        changeWords(current, next).join("\n\n"),
        current.revision + 1,
        SENTINEL_ACTOR,
        next.lastModifiedTimeUtc,
      );
      const outcome = await this.store.replace(noticed, current.revision, link);
      if (outcome.ok) return outcome.incident;
    }
    // It kept changing here: let go; the next push merges again from Sentinel's copy.
    await this.settle(read.id, until, (stored) => stored);
    return undefined;
  }

  /** Everything Sentinel should have of this incident, sent. */
  private async send(incident: Incident, link: SentinelLink) {
    const ours = mirroredFields(incident);
    const derived = incident.restricted ? [] : derivedLabels(incident);
    const outgoing = (fields: MirroredFields): OutgoingIncident => ({
      ...fields,
      labels: [...fields.labels, ...derived],
      firstActivityTimeUtc: incident.firstActivityTimeUtc,
      lastActivityTimeUtc: incident.lastActivityTimeUtc,
    });
    let put = ours;
    let fromSentinel: FieldGroup[] = [];
    let conflicts: string[] = [];
    let remote: RemoteIncident | undefined;
    // Only comments or tasks are new (and the last try went through): the incident's fields are
    // Sentinel's already, so they are not written again.
    const derivedSame = derived.map((l) => l.labelName).join("\u001f") === (link.derivedLabels ?? []).join("\u001f");
    if (
      link.etag &&
      link.base &&
      link.attempts === 0 &&
      derivedSame &&
      GROUPS.every((g) => groupValue(ours, g) === groupValue(link.base!, g))
    ) {
      remote = {
        id: incident.id,
        etag: link.etag,
        fields: link.base,
        incidentNumber: link.incidentNumber,
        incidentUrl: link.incidentUrl,
        lastModifiedTimeUtc: "",
      };
    }
    // Not created yet; after a try whose answer was lost, Sentinel may have it: then it is an update.
    let etag = remote
      ? undefined
      : (link.etag ?? (link.attempts > 0 ? (await this.api.getIncident(incident.id))?.etag : undefined));
    let recreated = false;
    for (let attempt = 0; !remote; attempt++) {
      try {
        remote = await this.api.putIncident(incident.id, outgoing(put), etag);
      } catch (error) {
        // Deleted in Sentinel: an update of it finds nothing, so it is written again as new (once).
        if (error instanceof SentinelError && error.kind === "missing" && etag !== undefined && !recreated) {
          recreated = true;
          etag = undefined;
          continue;
        }
        if (!(error instanceof SentinelError && error.kind === "conflict") || attempt + 1 >= CONFLICT_TRIES) throw error;
        const theirs = await this.api.getIncident(incident.id);
        if (!theirs) {
          // Deleted in Sentinel meanwhile: written again.
          etag = undefined;
          continue;
        }
        const merge = mergeFields(link.base ?? ours, ours, (await this.readable(theirs, ours)).remote.fields, groupsOf(incident));
        put = merge.merged;
        fromSentinel = merge.fromSentinel;
        conflicts = merge.conflicts;
        etag = theirs.etag;
      }
    }
    const writes: (() => Promise<void>)[] = [];
    const provenance = provenanceComments(incident);
    for (const comment of provenance.slice(link.reports))
      writes.push(() => this.api.putComment(incident.id, comment.id, comment.message));
    const comments = incident.restricted ? link.comments : (incident.comments ?? []).length;
    for (const comment of (incident.comments ?? []).slice(link.comments, comments)) {
      const out = outgoingComment(comment);
      writes.push(() => this.api.putComment(incident.id, out.id, out.message));
    }
    const sentTasks = new Set(link.tasks);
    const tasks = incident.restricted ? [] : (incident.tasks ?? []).filter((t) => !sentTasks.has(taskKey(t)));
    for (const task of tasks) writes.push(() => this.api.putTask(incident.id, outgoingTask(task)));
    // A restricted incident's entities are its words: never sent.
    const entities = incident.restricted ? undefined : entitiesComment(incident, link.entities);
    if (entities) writes.push(() => this.api.putComment(incident.id, entities.id, entities.message));
    await inParallel(writes, PARALLEL_WRITES);
    return {
      remote,
      put,
      fromSentinel,
      conflicts,
      reports: provenance.length,
      comments,
      tasks: [...new Set([...link.tasks, ...tasks.map(taskKey)])],
      entities: entities?.sent ?? link.entities,
      derivedLabels: derived.map((l) => l.labelName),
    };
  }

  /** Records why a push failed: when to try again, or that Sentinel refused this revision. */
  private async failed(incident: Incident, until: string, error: unknown): Promise<PushOutcome> {
    const kind = error instanceof SentinelError ? error.kind : "retry";
    const reason = (
      error instanceof SentinelError ? error.message : `unexpected failure: ${String((error as Error)?.message ?? error)}`
    ).slice(0, REASON_MAX);
    const now = this.clock();
    let first = false;
    const stored = await this.settle(incident.id, until, (link) => {
      const attempts = link.attempts + 1;
      first = attempts === 1;
      const next: SentinelLink = { ...link, attempts, dueUtc: now.toISOString() };
      delete next.claimUntilUtc;
      if (kind === "rejected") {
        next.rejected = { revision: incident.revision, reason };
        delete next.lastError;
        return next;
      }
      const retryAfter = error instanceof SentinelError && error.retryAfterMs !== undefined ? error.retryAfterMs : undefined;
      const wait = retryAfter ?? backoffMs(attempts - 1, RETRY_BASE_MS, RETRY_MAX_MS);
      next.dueUtc = new Date(now.getTime() + wait).toISOString();
      next.lastError = reason;
      return next;
    });
    // Analysts see it on the triage card: a refusal, or the first failure of a run (not every retry).
    if (stored && (kind === "rejected" || first)) this.options.changed?.(stored);
    this.log.warn(
      { incidentId: incident.id, kind, reason },
      kind === "rejected" ? "Sentinel refused the incident" : "could not reach Sentinel; will retry",
    );
    this.measures.synced(kind === "rejected" ? "rejected" : "retry");
    return kind === "rejected" ? "rejected" : "retry";
  }

  /** Takes the incident's link for this instance when `wanted` and nobody holds it: the incident as claimed. */
  private async claim(
    id: string,
    wanted: (incident: Incident, nowUtc: string) => boolean,
  ): Promise<{ incident: Incident; until: string } | undefined> {
    const now = this.clock();
    const nowUtc = now.toISOString();
    const until = new Date(now.getTime() + (this.options.claimMs ?? CLAIM_MS)).toISOString();
    let mine = false;
    const incident = await this.store.updateSentinel(this.workspaceId, id, (link, stored) => {
      mine = false;
      if (!link || !wanted(stored, nowUtc)) return undefined;
      if (link.claimUntilUtc && link.claimUntilUtc > nowUtc) return undefined;
      mine = true;
      return { ...link, claimUntilUtc: until };
    });
    return incident && mine ? { incident, until } : undefined;
  }

  /** Changes the link, and lets go of it, while this instance still holds its claim (`until`). */
  private settle(id: string, until: string, change: (link: SentinelLink) => SentinelLink): Promise<Incident | undefined> {
    return this.store.updateSentinel(this.workspaceId, id, (link) => {
      if (!link || link.claimUntilUtc !== until) return undefined;
      const next = { ...change(link) };
      delete next.claimUntilUtc;
      return next;
    });
  }
}

/** Runs `work`, at most `limit` at once; the first failure is thrown once all started have ended. */
async function inParallel(work: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  const lanes = Array.from({ length: Math.min(limit, work.length) }, async () => {
    while (next < work.length && failure === undefined) {
      const job = work[next++]!;
      try {
        await job();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(JSON.stringify(error));
      }
    }
  });
  await Promise.all(lanes);
  if (failure !== undefined) throw failure;
}
