/** The incident in Microsoft Sentinel's shape (Microsoft.SecurityInsights 2024-09-01), so a later sync is a mapping. */
import type { AlertCategory } from "./attack";
import type { Entity } from "./entities";

export const SEVERITIES = ["High", "Medium", "Low", "Informational"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ["New", "Active", "Closed"] as const;
export type Status = (typeof STATUSES)[number];

export type Classification = "Undetermined" | "TruePositive" | "BenignPositive" | "FalsePositive";
export type ClassificationReason = "SuspiciousActivity" | "SuspiciousButExpected" | "IncorrectAlertLogic" | "InaccurateData";

/** The five closing choices Sentinel offers, in its order, with its labels. */
export const CLOSING_CHOICES = [
  {
    value: "TruePositive.SuspiciousActivity",
    label: "True Positive - suspicious activity",
    classification: "TruePositive",
    reason: "SuspiciousActivity",
  },
  {
    value: "BenignPositive.SuspiciousButExpected",
    label: "Benign Positive - suspicious but expected",
    classification: "BenignPositive",
    reason: "SuspiciousButExpected",
  },
  {
    value: "FalsePositive.IncorrectAlertLogic",
    label: "False Positive - incorrect alert logic",
    classification: "FalsePositive",
    reason: "IncorrectAlertLogic",
  },
  {
    value: "FalsePositive.InaccurateData",
    label: "False Positive - inaccurate data",
    classification: "FalsePositive",
    reason: "InaccurateData",
  },
  { value: "Undetermined", label: "Undetermined", classification: "Undetermined", reason: undefined },
] as const satisfies readonly {
  value: string;
  label: string;
  classification: Classification;
  reason: ClassificationReason | undefined;
}[];

export type ClosingChoice = (typeof CLOSING_CHOICES)[number];

/** The closing choice a form sends ("TruePositive.SuspiciousActivity"), or undefined. */
export function closingChoice(value: string): ClosingChoice | undefined {
  return CLOSING_CHOICES.find((c) => c.value === value);
}

/** The closing choice an incident was closed with, or undefined when it has no classification. */
export function closingChoiceOf(incident: Pick<Incident, "classification" | "classificationReason">): ClosingChoice | undefined {
  return CLOSING_CHOICES.find((c) => c.classification === incident.classification && c.reason === incident.classificationReason);
}

export type OwnerType = "User" | "Group";

/** Sentinel's IncidentOwnerInfo; objectId is always one the directory resolved. */
export interface Owner {
  objectId: string;
  ownerType: OwnerType;
  assignedTo: string;
  email?: string;
  userPrincipalName?: string;
}

/** The name of an owner set in Microsoft Sentinel whose object id the directory does not know. */
export const UNKNOWN_OWNER = "a SOC analyst";

export interface Label {
  labelName: string;
  labelType: "User" | "AutoAssigned";
}

/** Where an incident came from: the form typed by an analyst, an employee's chat report, a message. */
export type EntryPoint = "form" | "chat-report" | "message-extension";

/** Who did something: the Teams user, by directory object id when Teams gave one. */
export interface Actor {
  objectId?: string;
  name: string;
  /** Teams user id (29:...), needed for card refresh lists. */
  teamsId?: string;
}

/** A Teams message an incident was made from, recorded as evidence. */
export interface MessageEvidence {
  kind: "teams-message";
  messageId: string;
  link?: string;
  author: { kind: "user" | "application"; id?: string; name: string };
  sentUtc?: string;
  /** SHA-256 (hex) of the message body exactly as Teams sent it, so the record can be checked against the source. */
  bodySha256: string;
}

/**
 * One person's account of an incident: what they said and when. The first reporter's account is the
 * incident's own title and description; each later report of the same Teams message adds one of these,
 * so nothing anyone typed is dropped.
 */
export interface ReportAccount {
  reporter: Actor;
  timeUtc: string;
  entryPoint: EntryPoint;
  title: string;
  words: string;
  /** When they said it happened. */
  firstActivityTimeUtc?: string;
  /** The severity their report asked for (an employee's "urgent" is High). */
  severity?: Severity;
  /** They asked that only the SOC's restricted-cases team see their report. */
  restricted?: true;
  evidence?: MessageEvidence;
  /** The form that attached it to this incident (src/incidents/attach.ts): one report per submission. */
  submissionId?: string;
}

/** Where the new-incident card was posted in the triage channel, and how that went. */
export interface TriageNotice {
  state: "pending" | "posted" | "failed";
  attempts: number;
  messageId?: string;
  lastError?: string;
  updatedUtc: string;
}

/** What a comment is: an analyst's note, a question to the reporters, or a reporter's answer. */
export type CommentKind = "note" | "question" | "answer";

/** A comment on an incident, as Sentinel's incident comment (a message, its author, its time). */
export interface IncidentComment {
  /** A GUID, deterministic from what made it, so a double click or a retry adds it once. */
  id: string;
  message: string;
  author: Actor;
  createdTimeUtc: string;
  kind: CommentKind;
  /** Shown to the reporters: an analyst chose "share with the reporter" (questions always are). */
  shared?: boolean;
  /** An answer's question. */
  inReplyTo?: string;
}

export const TASK_STATUSES = ["New", "Completed"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task on an incident, as Sentinel's incident task. */
export interface IncidentTask {
  id: string;
  title: string;
  status: TaskStatus;
  createdBy: Actor;
  createdTimeUtc: string;
  completedBy?: Actor;
  completedTimeUtc?: string;
}

/** How a reporter can be reached: the transport's address for them (opaque here), kept from when they reported. */
export interface Contact {
  /** The reporter's `personKey`. */
  person: string;
  address: Record<string, unknown>;
}

/**
 * One message to one reporter about one change, kept with the incident (an outbox): written with the
 * change, then sent, retried until sent or known unreachable.
 */
/** Outbox bookkeeping: how often something was tried, when it may be tried again, who is at it. */
export interface Retried {
  /** Tries (since the last success, for what is sent again and again). */
  attempts: number;
  /** Not to be tried before this time (backoff, Retry-After). */
  dueUtc: string;
  /** An instance is sending it until then; others leave it alone. */
  claimUntilUtc?: string;
  /** Why the last try failed. */
  lastError?: string;
}

export interface ReporterNotice extends Retried {
  /** `<incident revision that made it>:<person key>`: one message per change per reporter. */
  id: string;
  /** The reporter's `personKey`. */
  to: string;
  name: string;
  /** The words the reporter reads, without anything internal. */
  text: string;
  /** Set when it asks the reporter a question: the question comment's id, which their answer names. */
  questionId?: string;
  state: "pending" | "sent" | "unreachable";
  updatedUtc: string;
}

export interface Incident {
  /** Client-chosen GUID, as in Sentinel; equal to the form's submission id, which makes creates idempotent. */
  id: string;
  workspaceId: string;
  incidentNumber: number;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  classification?: Classification;
  classificationReason?: ClassificationReason;
  classificationComment?: string;
  owner?: Owner;
  labels: Label[];
  firstActivityTimeUtc?: string;
  lastActivityTimeUtc?: string;
  createdTimeUtc: string;
  lastModifiedTimeUtc: string;
  createdBy: Actor;
  entryPoint: EntryPoint;
  providerName: string;
  /** Increases by one on every change; updates name the revision they started from (optimistic concurrency). */
  revision: number;
  evidence?: MessageEvidence[];
  triage?: TriageNotice;
  /**
   * Need-to-know (HR, insider, legal): seen only by the SOC's restricted-cases team and the
   * incident's reporters, never posted in full to the triage channel.
   */
  restricted?: boolean;
  /** The Teams message that carried the form it was created from: the only one its outcome may update for everyone. */
  formMessageId?: string;
  /** The conversation holding `formMessageId`, as the transport addresses it (opaque here), to redraw it later. */
  formConversation?: Record<string, unknown>;
  /**
   * The fields as the form's conversation saw them when the incident was created: a shared conversation
   * is redrawn with these (and Sentinel's number), never with words or a closing set later.
   */
  formSeen?: MirroredFields;
  /** Later reports of the same message by other people, oldest first (the first reporter is `createdBy`). */
  reports?: ReportAccount[];
  /** Later reports counted but not kept, once `reports` holds REPORTS_KEPT_MAX (src/incidents/bounds.ts). */
  reportsNotKept?: number;
  /** Oldest first. */
  comments?: IncidentComment[];
  tasks?: IncidentTask[];
  /** How to reach each reporter, kept from their report. */
  contacts?: Contact[];
  /** Messages to the reporters about changes; their state is bookkeeping (the revision stays). */
  outbox?: ReporterNotice[];
  /** Its mirror in Microsoft Sentinel (src/incidents/mirror.ts): set on incidents created while the sync is on. */
  sentinel?: SentinelLink;
  /** Defender's alert category (src/incidents/attack.ts): a MITRE ATT&CK tactic or one of Defender's own. */
  category?: AlertCategory;
  /** MITRE ATT&CK Enterprise technique ids (T1566, T1566.002), checked against the shipped matrix. */
  mitreTechniques?: string[];
  /** What responders should do, in an analyst's words (<= 5,000 characters). */
  recommendedActions?: string;
  /** Impacted assets and related evidence (src/incidents/entities.ts), at most ENTITIES_MAX, duplicates merged. */
  entities?: Entity[];
  /** Entities found but not kept once the incident held ENTITIES_MAX. */
  entitiesNotKept?: number;
}

/** The incident fields mirrored to Microsoft Sentinel and back. */
export interface MirroredFields {
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  classification?: Classification;
  classificationReason?: ClassificationReason;
  classificationComment?: string;
  owner?: Owner;
  labels: Label[];
}

/**
 * How an incident stands in Microsoft Sentinel: bookkeeping written with every change (an outbox),
 * so a change is never lost: pending while the incident's revision is ahead of `revision`.
 */
export interface SentinelLink extends Retried {
  /** The incident revision Sentinel holds (0: not created there yet). */
  revision: number;
  /** Sentinel's etag of its incident as last read or written. */
  etag?: string;
  incidentNumber?: number;
  incidentUrl?: string;
  /** The mirrored fields as both sides last agreed: what tells a change made in Teams from one made in Sentinel. */
  base?: MirroredFields;
  /** How many of the incident's comments and later reports Sentinel has (both only grow, oldest first). */
  comments: number;
  reports: number;
  /** The tasks Sentinel has, as `<task id>:<status>`. */
  tasks: string[];
  /** Sentinel refused this revision (400) with this reason: not retried until the incident changes again. */
  rejected?: { revision: number; reason: string };
  /** Fields changed in both places at once, and what was kept, as people read it (the latest few). */
  conflicts?: string[];
  /** Values Sentinel holds that this bot does not know yet, and what Teams keeps instead, as people read it. */
  unread?: string[];
  syncedUtc?: string;
  /** The incident's entities as last sent (src/incidents/mirror-entities.ts): a new entity comment is due when they differ. */
  entities?: EntitiesSent;
  /** The category and technique labels last written (derived from the incident, never its tags). */
  derivedLabels?: string[];
}

/** What a sink was last sent of an incident's entities. */
export interface EntitiesSent {
  /** The digest of the entity set last sent (`entitiesDigest`). */
  digest: string;
  /** How many entity comments were sent so far. */
  comments: number;
}

export const PROVIDER_NAME = "SOC Incident Bot for Microsoft Teams";

/**
 * Who a person is, for deciding what they may see: their directory object id when Teams gave one,
 * else their Teams user id; undefined when neither is known (such a person reported nothing).
 */
export function personKey(actor: Pick<Actor, "objectId" | "teamsId">): string | undefined {
  if (actor.objectId) return `aad:${actor.objectId.toLowerCase()}`;
  if (actor.teamsId) return `teams:${actor.teamsId}`;
  return undefined;
}

/** The people who reported an incident: its creator and everyone whose report was added to it. */
export function reporterKeys(incident: Pick<Incident, "createdBy" | "reports">): string[] {
  const keys = [incident.createdBy, ...(incident.reports ?? []).map((r) => r.reporter)].map(personKey);
  return [...new Set(keys.filter((k): k is string => k !== undefined))];
}

/** "INC-42": how people refer to an incident. */
export function incidentRef(incident: Pick<Incident, "incidentNumber">): string {
  return `INC-${incident.incidentNumber}`;
}
