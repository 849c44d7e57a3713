import type { Actor, EntryPoint, Incident, OwnerType, ReporterNotice, SentinelLink, Severity, TriageNotice } from "./model";

/** A new incident as the store receives it: everything but the number and revision, which the store assigns (revision 1). */
export type NewIncident = Omit<Incident, "incidentNumber" | "revision">;

/**
 * What to look for, newest first: a number; or text, matching incidents whose title holds every word of it or that have it as a
 * tag.
 */
export interface IncidentQuery {
  number?: number;
  /** Lower-case, single-spaced. */
  text?: string;
  /** Only incidents this person reported (a `personKey`), as the creator or with a later report. */
  reporter?: string;
  /** Only incidents owned by this user or group (directory object id, lower case). */
  owner?: string;
}

/** What `findByEntity` looks at besides the values. */
export interface EntityQuery {
  /** Only incidents created at or after this ISO time. */
  since?: string;
  limit: number;
}

/**
 * A change to an incident's outbox, given the stored outbox and incident: the new outbox, or
 * undefined to write nothing. May be called again (with what is stored then) when another write won.
 */
export type OutboxChange = (outbox: readonly ReporterNotice[], incident: Incident) => ReporterNotice[] | undefined;

/**
 * A change to an incident's Sentinel link, given the stored link and incident: the new link, or
 * undefined to write nothing. May be called again (with what is stored then) when another write won.
 */
export type SentinelChange = (link: SentinelLink | undefined, incident: Incident) => SentinelLink | undefined;

export type ReplaceOutcome =
  | { ok: true; incident: Incident }
  /** Someone changed it first (or it is gone): nothing was written. */
  | { ok: false; current: Incident | undefined };

/** How often a tag was used on one UTC day in one workspace. */
export interface TagDayUsage {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  /** The tag as first spelled that day. */
  tag: string;
  count: number;
  /** ISO time of the latest use that day. */
  lastUsedUtc: string;
}

/** One tag's uses per UTC day (`YYYY-MM-DD`, uses), as a store keeps them; case-insensitively one tag. */
export interface TagUses {
  /** The spelling of the latest use. */
  tag: string;
  /** ISO time of the latest use. */
  lastUsedUtc: string;
  days: readonly (readonly [day: string, uses: number])[];
}

/**
 * What `recentTags` read. `complete`: every tag used on or after the day asked for (what was known before
 * is replaced); otherwise only the tags written after the cursor given, each whole. `cursor`: where the
 * next read may start, when the store can tell what changed.
 */
export interface TagRead {
  tags: TagUses[];
  complete: boolean;
  cursor?: string;
}

/** One tag's use over the suggestion window (case-insensitively): what ranking needs (`totalsOf`, tags.ts). */
export interface TagTotal {
  /** The spelling of the latest use. */
  tag: string;
  /** Incidents that used it in the window. */
  count: number;
  /** Sum over its days in the window of count x `dayWeight(day, window)` (tags.ts). */
  weight: number;
  /** ISO time of the latest use. */
  lastUsedUtc: string;
}

/** The days a suggestion looks at: `sinceDay` to `today` (UTC `YYYY-MM-DD`). */
export interface TagWindow {
  sinceDay: string;
  today: string;
}

export interface CreateOutcome {
  incident: Incident;
  /** false when an incident with this id already existed: the earlier one is returned unchanged. */
  created: boolean;
}

/**
 * Where incidents live.
 *
 * Guarantees every implementation gives, also across processes sharing one database:
 * - `create` is idempotent on `incident.id`: the same id yields the same incident, never a second one,
 *   even when submitted concurrently; the incident that won is returned.
 * - incident numbers are unique and increasing per workspace. Gaps are allowed (a failed write may
 *   consume a number); duplicates are not.
 * - a create is all or nothing: no incident without its number, no tag use counted twice.
 * - tag usage counts each incident's `countedTags` (tags.ts) on its creation day: a restricted incident's
 *   tags are never counted, and a replace brings the counts to the incident's new state.
 * - an incident's entities are kept with it, and `findByEntity` follows every create and replace in the same write:
 *   an entity removed by a replace no longer finds the incident.
 * - `tagUsage` reads per-day aggregates, so its cost depends on the days asked for, not on how many
 *   incidents were ever stored. `recentTags` reads one entry per tag; given a cursor, a store that can
 *   tell what changed (SQLite) reads only the tags written since, so a refresh follows what changed,
 *   not the distinct tags of the window.
 * Failures of the database itself surface as `StoreUnavailableError`.
 */
export interface IncidentStore {
  create(incident: NewIncident): Promise<CreateOutcome>;
  get(workspaceId: string, id: string): Promise<Incident | undefined>;
  /** Per-day tag usage for days >= `sinceDay` (UTC `YYYY-MM-DD`). */
  tagUsage(workspaceId: string, sinceDay: string): Promise<TagDayUsage[]>;
  /**
   * What tag suggestions read: without `cursor`, every tag used on `sinceDay` or later, each with its uses
   * per day (`complete`). With a cursor a read returned, the tags written since (whatever their days), or,
   * from a store that can't tell, every tag again (`complete`).
   */
  recentTags(workspaceId: string, sinceDay: string, cursor?: string): Promise<TagRead>;
  /**
   * Writes `incident` (same id) only if the stored revision is still `expectedRevision`; the stored
   * copy gets revision `expectedRevision + 1`. Tag usage follows the incident's counted tags
   * (`countedTags`, tags.ts: none while restricted) on its creation day: a tag the edit adds is counted once,
   * one it removes (or a restriction) is taken back; an edit keeping them counts nothing again.
   * Never overwrites a concurrent change silently. The stored outbox is merged with the written one
   * (`mergeOutbox`): notices stored keep their stored state, new ones are added.
   * The stored Sentinel link is kept too, unless `sentinel` is given: the mirror's own write, which
   * brings a change made in Sentinel home together with the link that records it.
   */
  replace(incident: Incident, expectedRevision: number, sentinel?: SentinelLink): Promise<ReplaceOutcome>;
  /**
   * Records the triage notice's state on the incident without changing its revision: bookkeeping is
   * not an edit, so cards showing revision N stay valid. `replace` never changes the stored notice.
   * Undefined when there is no such incident.
   */
  setNotice(workspaceId: string, id: string, notice: TriageNotice): Promise<Incident | undefined>;
  /**
   * Changes the incident's outbox (notices to its reporters) without changing its revision, like
   * `setNotice`. Returns the incident as stored afterwards, or undefined when there is no such incident.
   */
  updateOutbox(workspaceId: string, id: string, change: OutboxChange): Promise<Incident | undefined>;
  /**
   * Changes the incident's Sentinel link without changing its revision (bookkeeping, like
   * `updateOutbox`). Returns the incident as stored afterwards, or undefined when there is no such incident.
   */
  updateSentinel(workspaceId: string, id: string, change: SentinelChange): Promise<Incident | undefined>;
  /** Incidents with a change for Sentinel due at or before `nowUtc` (`syncDue`), earliest first. */
  dueSyncs(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]>;
  /**
   * Takes or renews the lease `name` for `holder` until `untilUtc` when it is free, lapsed (at
   * `nowUtc`) or already the holder's; false when another holder has it. Atomic across instances.
   */
  lease(workspaceId: string, name: string, holder: string, nowUtc: string, untilUtc: string): Promise<boolean>;
  /** Incidents with a notice to a reporter due at or before `nowUtc` (`outboxDue`), earliest first. */
  dueNotices(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]>;
  /** Incidents matching the query, newest first, at most `limit`. An empty query gives the most recent. */
  search(workspaceId: string, query: IncidentQuery, limit: number): Promise<Incident[]>;
  /**
   * Incidents holding an entity whose normalised `Entity.value` (entities.ts: what `indicatorValue` gives for a pasted
   * indicator) is exactly one of `values`, created at or after `since` (ISO time) when given, newest first (by creation
   * time), at most `limit`. One indexed query whose cost follows `values` x `limit`, never the number of incidents stored.
   * Restricted incidents are found too: the caller applies the visibility rule. At most ENTITIES_MAX values.
   */
  findByEntity(workspaceId: string, values: readonly string[], options: EntityQuery): Promise<Incident[]>;
  /** Incidents whose triage notice is pending or failed and was last touched before `beforeUtc`, oldest first. */
  unsentNotices(workspaceId: string, beforeUtc: string, limit: number): Promise<Incident[]>;
  /** A small per-workspace setting (the triage channel), or undefined. */
  getSetting(workspaceId: string, key: string): Promise<unknown>;
  putSetting(workspaceId: string, key: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}

/** A user or a group of the tenant's directory. */
export interface DirectoryEntry {
  objectId: string;
  kind: OwnerType;
  displayName: string;
  email?: string;
  userPrincipalName?: string;
}

/**
 * The organisation's directory (Microsoft Entra ID in production).
 * Names sent back by a card are never trusted: owners are always resolved here by object id.
 * Failures surface as `DirectoryUnavailableError`.
 */
export interface Directory {
  /** Users and groups whose name, mail or UPN starts with (or contains a word starting with) the query; at most `limit`. */
  search(query: string, limit: number): Promise<DirectoryEntry[]>;
  /** The user or group with this object id, or undefined. */
  get(objectId: string): Promise<DirectoryEntry | undefined>;
  /** Whether this person works in the SOC (gets the full form and may assign, close, triage). */
  isAnalyst(actor: Actor): Promise<boolean>;
  /**
   * Whether this person is on the SOC's restricted-cases team (sees restricted incidents). Where no
   * such team is set up, the analysts are that team.
   */
  isRestrictedTeam(actor: Actor): Promise<boolean>;
}

/** The clock, so that tests and benchmarks can place incidents in time. */
export type Clock = () => Date;

/**
 * What the bot counts for its operators (Application Insights, src/telemetry.ts; nothing when it is not set up). Every value
 * passed is from a closed set or a number: never an incident's words, a person, or an id.
 */
export interface Measures {
  /** A new incident was stored (not a repeat of the same submission, not a later report of a reported message). */
  created(entryPoint: EntryPoint, severity: Severity): void;
  /** One push of a change to Sentinel ended; `lagMs`: from the change being written here to Sentinel having it (synced only). */
  synced(outcome: "synced" | "retry" | "rejected", lagMs?: number): void;
  /** One notice ended: to a reporter (1:1 chat) or to the triage channel. */
  noticed(kind: "reporter" | "triage", outcome: "sent" | "unreachable" | "retry" | "failed"): void;
}

/** Counts nothing. */
export const NO_MEASURES: Measures = { created: () => undefined, synced: () => undefined, noticed: () => undefined };
