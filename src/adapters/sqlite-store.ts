import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { IncidentTooLargeError, StoreUnavailableError } from "../incidents/errors";
import { mergeOutbox } from "../incidents/casework";
import type { Incident, SentinelLink, TriageNotice } from "../incidents/model";
import type {
  CreateOutcome,
  EntityQuery,
  IncidentQuery,
  IncidentStore,
  NewIncident,
  OutboxChange,
  ReplaceOutcome,
  SentinelChange,
  TagDayUsage,
  TagRead,
  TagUses,
} from "../incidents/ports";
import { entityQueryValues, entityValues, foldText, queryWords, searchKeys, titleKeys, wordKey } from "../incidents/search";
import { countedTags, tagUseChange, utcDay, windowStartDay } from "../incidents/tags";

const SCHEMA_VERSION = 8;
/** Unit separator around each tag in tags_lower, so a search matches whole tags only. */
const SEP = "\u001f";

interface IncidentRow {
  workspace_id: string;
  id: string;
  incident_number: number;
  created_utc: string;
  revision: number;
  title_lower: string;
  tags_lower: string;
  reporters: string;
  owner_id: string | null;
  outbox_due: string | null;
  sync_due: string | null;
  notice_state: string | null;
  notice_updated: string | null;
  doc: string;
}

function toRow(incident: Incident): IncidentRow {
  const keys = searchKeys(incident);
  return {
    workspace_id: incident.workspaceId,
    id: incident.id,
    incident_number: incident.incidentNumber,
    created_utc: incident.createdTimeUtc,
    revision: incident.revision,
    title_lower: keys.title,
    tags_lower: `${SEP}${keys.tags.join(SEP)}${SEP}`,
    reporters: `${SEP}${keys.reporters.join(SEP)}${SEP}`,
    owner_id: keys.owner ?? null,
    outbox_due: keys.outboxDue ?? null,
    sync_due: keys.syncDue ?? null,
    notice_state: incident.triage?.state ?? null,
    notice_updated: incident.triage?.updatedUtc ?? null,
    doc: JSON.stringify(incident),
  };
}

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE incidents (
      workspace_id    TEXT    NOT NULL,
      id              TEXT    NOT NULL,
      incident_number INTEGER NOT NULL,
      created_utc     TEXT    NOT NULL,
      revision        INTEGER NOT NULL,
      -- lower-case title and tags (tags between unit separators) for search
      title_lower     TEXT    NOT NULL,
      tags_lower      TEXT    NOT NULL,
      -- triage notice state, for retrying the ones not posted
      notice_state    TEXT,
      notice_updated  TEXT,
      doc             TEXT    NOT NULL,
      PRIMARY KEY (workspace_id, id),
      UNIQUE (workspace_id, incident_number)
    );
    CREATE INDEX incidents_unsent ON incidents (workspace_id, notice_state, notice_updated)
      WHERE notice_state IN ('pending', 'failed');
    CREATE TABLE settings (
      workspace_id TEXT NOT NULL,
      key          TEXT NOT NULL,
      value        TEXT NOT NULL,
      PRIMARY KEY (workspace_id, key)
    );
    CREATE TABLE counters (
      workspace_id TEXT PRIMARY KEY,
      last_number  INTEGER NOT NULL
    );
    -- One row per workspace, day and tag: suggestions read at most 14 days of these,
    -- however many incidents were ever stored.
    CREATE TABLE tag_usage (
      workspace_id  TEXT    NOT NULL,
      day           TEXT    NOT NULL,
      tag_key       TEXT    NOT NULL,
      tag           TEXT    NOT NULL,
      count         INTEGER NOT NULL,
      last_used_utc TEXT    NOT NULL,
      PRIMARY KEY (workspace_id, day, tag_key)
    );
  `,
  // Who reported each incident (personKey between unit separators), so a reporter finds their own.
  // Incidents stored before had their creator as the only reporter.
  2: `
    ALTER TABLE incidents ADD COLUMN reporters TEXT NOT NULL DEFAULT '';
    UPDATE incidents SET reporters = char(31) || CASE
        WHEN json_extract(doc, '$.createdBy.objectId') IS NOT NULL THEN 'aad:' || lower(json_extract(doc, '$.createdBy.objectId'))
        WHEN json_extract(doc, '$.createdBy.teamsId') IS NOT NULL THEN 'teams:' || json_extract(doc, '$.createdBy.teamsId')
        ELSE '' END || char(31);
  `,
  // The owner, for "my incidents"; when the next notice to a reporter is due, for sending it.
  // Incidents stored before have no notices; their owner is read from the document.
  3: `
    ALTER TABLE incidents ADD COLUMN owner_id TEXT;
    ALTER TABLE incidents ADD COLUMN outbox_due TEXT;
    UPDATE incidents SET owner_id = lower(json_extract(doc, '$.owner.objectId'));
    CREATE INDEX incidents_owner ON incidents (workspace_id, owner_id, incident_number) WHERE owner_id IS NOT NULL;
    CREATE INDEX incidents_outbox ON incidents (workspace_id, outbox_due) WHERE outbox_due IS NOT NULL;
  `,
  // When the next change for Microsoft Sentinel is due (incidents stored before are not mirrored),
  // and leases (one Sentinel poller at a time among processes sharing the file).
  4: `
    ALTER TABLE incidents ADD COLUMN sync_due TEXT;
    CREATE INDEX incidents_sync ON incidents (workspace_id, sync_due) WHERE sync_due IS NOT NULL;
    CREATE TABLE leases (
      workspace_id TEXT NOT NULL,
      name         TEXT NOT NULL,
      holder       TEXT NOT NULL,
      until_utc    TEXT NOT NULL,
      PRIMARY KEY (workspace_id, name)
    );
  `,
  // Search without a scan: one row per incident and key (every prefix of every title word up to 16
  // characters, and SEP + each whole tag), walked newest first by the primary key. Filled for incidents
  // stored before by \`backfillKeys\` in the same transaction.
  5: `
    CREATE TABLE incident_keys (
      workspace_id    TEXT    NOT NULL,
      key             TEXT    NOT NULL,
      incident_number INTEGER NOT NULL,
      PRIMARY KEY (workspace_id, key, incident_number)
    ) WITHOUT ROWID;
  `,
  // Tag suggestions by distinct tag: one row per workspace and tag with its uses per day over the last
  // TAG_WINDOW_DAYS days of its own latest use (\`days\`: "YYYY-MM-DD:count,..."), so a cold suggestion reads
  // one row per tag used in the window, not one per tag and day. Filled from tag_usage (the 20 days up to each
  // workspace's latest day, more than a window) in the same transaction.
  6: `
    CREATE TABLE tag_recent (
      workspace_id  TEXT NOT NULL,
      tag_key       TEXT NOT NULL,
      tag           TEXT NOT NULL,
      last_used_utc TEXT NOT NULL,
      days          TEXT NOT NULL,
      PRIMARY KEY (workspace_id, tag_key)
    ) WITHOUT ROWID;
    -- Covering: the read needs no row lookups.
    CREATE INDEX tag_recent_used ON tag_recent (workspace_id, last_used_utc, tag, days);
    INSERT INTO tag_recent (workspace_id, tag_key, tag, last_used_utc, days)
      SELECT t.workspace_id, t.tag_key,
        (SELECT l.tag FROM tag_usage l WHERE l.workspace_id = t.workspace_id AND l.tag_key = t.tag_key
          ORDER BY l.day DESC LIMIT 1),
        max(t.last_used_utc), group_concat(t.day || ':' || t.count, ',')
      FROM tag_usage t
      WHERE t.day >= (SELECT date(max(m.day), '-20 days') FROM tag_usage m WHERE m.workspace_id = t.workspace_id)
      GROUP BY t.workspace_id, t.tag_key;
  `,
  // The order tags were written in, per workspace (\`changed\`: one more than the workspace's latest on every
  // write of the row), so a suggestion cache refreshes from the tags written since its last read, not from
  // every tag of the window. Rows from before start at 0: a cache's first read is a full one.
  7: `
    ALTER TABLE tag_recent ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tag_recent_changed ON tag_recent (workspace_id, changed);
  `,
  // Incidents by entity value (\`findByEntity\`): one row per incident and distinct normalised Entity.value, walked
  // newest first per value by the primary key, so a lookup reads at most \`limit\` rows per value. Written with the
  // incident in its create or replace transaction. Filled here from the documents stored before.
  8: `
    CREATE TABLE incident_entities (
      workspace_id    TEXT    NOT NULL,
      value           TEXT    NOT NULL,
      created_utc     TEXT    NOT NULL,
      incident_number INTEGER NOT NULL,
      PRIMARY KEY (workspace_id, value, created_utc, incident_number)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO incident_entities (workspace_id, value, created_utc, incident_number)
      SELECT i.workspace_id, json_extract(e.value, '$.value'), i.created_utc, i.incident_number
      FROM incidents i, json_each(i.doc, '$.entities') e
      WHERE json_type(e.value, '$.value') = 'text' AND json_extract(e.value, '$.value') <> '';
  `,
};

/** Visits a tag's uses per day, as tag_recent keeps them: "YYYY-MM-DD:count" joined by commas. */
function eachDay(days: string, visit: (day: string, uses: number) => void): void {
  for (const entry of days.split(",")) if (entry) visit(entry.slice(0, 10), Number(entry.slice(11)) || 0);
}

/** A tag_recent row as the port's TagUses. */
function usesOf(tag: string, lastUsedUtc: string, days: string): TagUses {
  const perDay: [string, number][] = [];
  eachDay(days, (day, uses) => perDay.push([day, uses]));
  return { tag, lastUsedUtc, days: perDay };
}

/**
 * A tag's per-day uses after one more use on `day`: that day counted once more, and days before the window
 * that ends on it dropped (no later suggestion reads them: a suggestion's window ends on its own day, at or after
 * this use's). Returns the new `days` and whether `day` is now the latest (its spelling then becomes the tag's).
 */
function addUse(days: string | undefined, day: string): { days: string; latest: boolean } {
  const oldest = windowStartDay(new Date(`${day}T00:00:00Z`));
  const byDay = new Map<string, number>();
  let latest = true;
  if (days !== undefined)
    eachDay(days, (known, uses) => {
      if (known < oldest) return;
      if (known >= day) latest = false;
      byDay.set(known, uses);
    });
  const seen = byDay.get(day);
  byDay.set(day, (seen ?? 0) + 1);
  // A day already there keeps its first spelling, as tag_usage does.
  return { days: [...byDay].map(([d, n]) => `${d}:${n}`).join(","), latest: latest && seen === undefined };
}

/** A tag's per-day uses after one use on `day` is taken back (an edit restricted its incident or removed the tag). */
function removeUse(days: string, day: string): string {
  const kept: string[] = [];
  eachDay(days, (known, uses) => {
    const left = known === day ? uses - 1 : uses;
    if (left > 0) kept.push(`${known}:${left}`);
  });
  return kept.join(",");
}

/** What search looks an incident up by: its title's word prefixes, and SEP + each whole (folded) tag. */
function keysOf(incident: Pick<Incident, "title" | "labels">): string[] {
  return [...new Set([...titleKeys(incident.title), ...incident.labels.map((l) => `${SEP}${foldText(l.labelName)}`)])];
}

/**
 * The embedded store: one SQLite file (WAL), for one machine. Several processes may share the file:
 * each create is one IMMEDIATE transaction, so numbering and idempotency hold across them.
 * Does not scale past one machine (use the Cosmos DB store for that).
 */
export class SqliteIncidentStore implements IncidentStore {
  private readonly db: Database.Database;
  private readonly createTx: Database.Transaction<(incident: NewIncident) => CreateOutcome>;
  private readonly stmts;
  private readonly byEntity = new Map<number, Database.Statement<(string | number)[], { doc: string }>>();
  private readonly replaceTx: Database.Transaction<
    (incident: Incident, expectedRevision: number, sentinel?: SentinelLink) => ReplaceOutcome
  >;
  private readonly sentinelTx: Database.Transaction<
    (workspaceId: string, id: string, change: SentinelChange) => Incident | undefined
  >;
  private readonly setNoticeTx: Database.Transaction<
    (workspaceId: string, id: string, notice: TriageNotice) => Incident | undefined
  >;
  private readonly outboxTx: Database.Transaction<
    (workspaceId: string, id: string, change: OutboxChange) => Incident | undefined
  >;

  /** `busyTimeoutMs`: how long a write waits for another connection's lock before failing as unavailable (default 5 s). */
  constructor(file: string, options: { busyTimeoutMs?: number } = {}) {
    try {
      if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new Database(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      this.migrate();
    } catch (error) {
      throw new StoreUnavailableError(`Can't open the SQLite store at ${file}: ${(error as Error).message}`, { cause: error });
    }
    const db = this.db;
    this.stmts = {
      get: db.prepare<[string, string], { doc: string }>("SELECT doc FROM incidents WHERE workspace_id = ? AND id = ?"),
      nextNumber: db.prepare<[string], { last_number: number }>(
        `INSERT INTO counters (workspace_id, last_number) VALUES (?, 1)
         ON CONFLICT (workspace_id) DO UPDATE SET last_number = last_number + 1
         RETURNING last_number`,
      ),
      insert: db.prepare<[IncidentRow]>(
        `INSERT INTO incidents (workspace_id, id, incident_number, created_utc, revision, title_lower, tags_lower,
           reporters, owner_id, outbox_due, sync_due, notice_state, notice_updated, doc)
         VALUES (@workspace_id, @id, @incident_number, @created_utc, @revision, @title_lower, @tags_lower,
           @reporters, @owner_id, @outbox_due, @sync_due, @notice_state, @notice_updated, @doc)`,
      ),
      replace: db.prepare<[IncidentRow & { expected: number }]>(
        `UPDATE incidents SET revision = @revision, title_lower = @title_lower, tags_lower = @tags_lower,
           reporters = @reporters, owner_id = @owner_id, outbox_due = @outbox_due, sync_due = @sync_due,
           notice_state = @notice_state,
           notice_updated = @notice_updated, doc = @doc
         WHERE workspace_id = @workspace_id AND id = @id AND revision = @expected`,
      ),
      due: db.prepare<[string, string, number], { doc: string }>(
        `SELECT doc FROM incidents WHERE workspace_id = ? AND outbox_due IS NOT NULL AND outbox_due <= ?
         ORDER BY outbox_due LIMIT ?`,
      ),
      dueSyncs: db.prepare<[string, string, number], { doc: string }>(
        `SELECT doc FROM incidents WHERE workspace_id = ? AND sync_due IS NOT NULL AND sync_due <= ?
         ORDER BY sync_due LIMIT ?`,
      ),
      lease: db.prepare<[string, string, string, string, string], { holder: string }>(
        `INSERT INTO leases (workspace_id, name, holder, until_utc) VALUES (?, ?, ?, ?)
         ON CONFLICT (workspace_id, name) DO UPDATE SET holder = excluded.holder, until_utc = excluded.until_utc
           WHERE leases.holder = excluded.holder OR leases.until_utc <= ?
         RETURNING holder`,
      ),
      unsent: db.prepare<[string, string, number], { doc: string }>(
        `SELECT doc FROM incidents WHERE workspace_id = ? AND notice_state IN ('pending', 'failed') AND notice_updated < ?
         ORDER BY notice_updated LIMIT ?`,
      ),
      getSetting: db.prepare<[string, string], { value: string }>(
        "SELECT value FROM settings WHERE workspace_id = ? AND key = ?",
      ),
      putSetting: db.prepare<[string, string, string]>(
        "INSERT INTO settings (workspace_id, key, value) VALUES (?, ?, ?) ON CONFLICT (workspace_id, key) DO UPDATE SET " +
          "value = excluded.value",
      ),
      useTag: db.prepare<[string, string, string, string, string]>(
        `INSERT INTO tag_usage (workspace_id, day, tag_key, tag, count, last_used_utc) VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (workspace_id, day, tag_key) DO UPDATE SET count = count + 1,
           last_used_utc = max(last_used_utc, excluded.last_used_utc)`,
      ),
      unuseTag: db.prepare<[string, string, string]>(
        "UPDATE tag_usage SET count = count - 1 WHERE workspace_id = ? AND day = ? AND tag_key = ?",
      ),
      dropUnusedTag: db.prepare<[string, string, string]>(
        "DELETE FROM tag_usage WHERE workspace_id = ? AND day = ? AND tag_key = ? AND count <= 0",
      ),
      recentTag: db.prepare<[string, string], { tag: string; last_used_utc: string; days: string }>(
        "SELECT tag, last_used_utc, days FROM tag_recent WHERE workspace_id = ? AND tag_key = ?",
      ),
      // The workspace id twice: the row's, and the one whose latest write `changed` follows.
      putRecentTag: db.prepare<[string, string, string, string, string, string]>(
        `INSERT INTO tag_recent (workspace_id, tag_key, tag, last_used_utc, days, changed) VALUES (?, ?, ?, ?, ?,
           (SELECT coalesce(max(changed), 0) + 1 FROM tag_recent WHERE workspace_id = ?))
         ON CONFLICT (workspace_id, tag_key) DO UPDATE SET tag = excluded.tag, last_used_utc = excluded.last_used_utc,
           days = excluded.days, changed = excluded.changed`,
      ),
      // Rows as arrays (no object per row): [tag, last_used_utc, days].
      recentTags: db
        .prepare<[string, string], [string, string, string]>(
          "SELECT tag, last_used_utc, days FROM tag_recent WHERE workspace_id = ? AND last_used_utc >= ?",
        )
        .raw(),
      lastTagChange: db
        .prepare<[string], number>("SELECT coalesce(max(changed), 0) FROM tag_recent WHERE workspace_id = ?")
        .pluck(),
      // [tag, last_used_utc, days]
      changedTags: db
        .prepare<[string, number], [string, string, string]>(
          "SELECT tag, last_used_utc, days FROM tag_recent WHERE workspace_id = ? AND changed > ?",
        )
        .raw(),
      addKey: db.prepare<[string, string, number]>(
        "INSERT OR IGNORE INTO incident_keys (workspace_id, key, incident_number) VALUES (?, ?, ?)",
      ),
      dropKey: db.prepare<[string, string, number]>(
        "DELETE FROM incident_keys WHERE workspace_id = ? AND key = ? AND incident_number = ?",
      ),
      addEntity: db.prepare<[string, string, string, number]>(
        "INSERT OR IGNORE INTO incident_entities (workspace_id, value, created_utc, incident_number) VALUES (?, ?, ?, ?)",
      ),
      dropEntity: db.prepare<[string, string, string, number]>(
        "DELETE FROM incident_entities WHERE workspace_id = ? AND value = ? AND created_utc = ? AND incident_number = ?",
      ),
      tagUsage: db.prepare<[string, string], { day: string; tag: string; count: number; last_used_utc: string }>(
        "SELECT day, tag, count, last_used_utc FROM tag_usage WHERE workspace_id = ? AND day >= ?",
      ),
    };
    this.createTx = db.transaction((incident: NewIncident): CreateOutcome => {
      const existing = this.stmts.get.get(incident.workspaceId, incident.id);
      if (existing) return { incident: JSON.parse(existing.doc) as Incident, created: false };
      const { last_number } = this.stmts.nextNumber.get(incident.workspaceId)!;
      const stored: Incident = { ...incident, incidentNumber: last_number, revision: 1 };
      this.stmts.insert.run(toRow(stored));
      this.writeKeys(undefined, stored);
      this.writeEntities(undefined, stored);
      for (const tag of countedTags(incident)) this.useTag(incident, tag);
      return { incident: stored, created: true };
    });
    this.replaceTx = db.transaction((incident: Incident, expectedRevision: number, sentinel?: SentinelLink): ReplaceOutcome => {
      const current = this.readDoc(incident.workspaceId, incident.id);
      if (!current || current.revision !== expectedRevision) return { ok: false, current };
      const next: Incident = { ...incident, revision: expectedRevision + 1 };
      if (current.triage) next.triage = current.triage;
      else delete next.triage;
      const link = sentinel ?? current.sentinel;
      if (link) next.sentinel = link;
      else delete next.sentinel;
      const outbox = mergeOutbox(current.outbox, incident.outbox);
      if (outbox) next.outbox = outbox;
      else delete next.outbox;
      this.stmts.replace.run({ ...toRow(next), expected: expectedRevision });
      this.writeKeys(current, next);
      this.writeEntities(current, next);
      // The counts follow the incident's counted tags (none while restricted), on its creation day.
      const { added, removed } = tagUseChange(current, next);
      for (const tag of added) this.useTag(current, tag);
      for (const tag of removed) this.unuseTag(current, tag);
      return { ok: true, incident: next };
    });
    this.setNoticeTx = db.transaction((workspaceId: string, id: string, notice: TriageNotice): Incident | undefined => {
      const current = this.readDoc(workspaceId, id);
      if (!current) return undefined;
      const next: Incident = { ...current, triage: notice };
      this.stmts.replace.run({ ...toRow(next), expected: current.revision });
      return next;
    });
    this.outboxTx = db.transaction((workspaceId: string, id: string, change: OutboxChange): Incident | undefined => {
      const current = this.readDoc(workspaceId, id);
      if (!current) return undefined;
      const outbox = change(current.outbox ?? [], current);
      if (!outbox) return current;
      const next: Incident = { ...current, outbox };
      if (!outbox.length) delete next.outbox;
      this.stmts.replace.run({ ...toRow(next), expected: current.revision });
      return next;
    });
    this.sentinelTx = db.transaction((workspaceId: string, id: string, change: SentinelChange): Incident | undefined => {
      const current = this.readDoc(workspaceId, id);
      if (!current) return undefined;
      const link = change(current.sentinel, current);
      if (!link) return current;
      const next: Incident = { ...current, sentinel: link };
      this.stmts.replace.run({ ...toRow(next), expected: current.revision });
      return next;
    });
  }

  /** Counts one use of `tag` by `incident`, on its creation day (tag_usage and tag_recent). */
  private useTag(incident: Pick<Incident, "workspaceId" | "createdTimeUtc">, tag: string): void {
    const { workspaceId, createdTimeUtc: used } = incident;
    const day = utcDay(new Date(used));
    const key = tag.toLowerCase();
    this.stmts.useTag.run(workspaceId, day, key, tag, used);
    const recent = this.stmts.recentTag.get(workspaceId, key);
    const next = addUse(recent?.days, day);
    const lastUsed = recent && recent.last_used_utc > used ? recent.last_used_utc : used;
    const spelling = next.latest || !recent ? tag : recent.tag;
    this.stmts.putRecentTag.run(workspaceId, key, spelling, lastUsed, next.days, workspaceId);
  }

  /**
   * Takes back the use `useTag` counted. The tag_recent row stays (its uses now fewer, maybe none), written
   * again so that a suggestion cache reading from its cursor sees the change.
   */
  private unuseTag(incident: Pick<Incident, "workspaceId" | "createdTimeUtc">, tag: string): void {
    const { workspaceId } = incident;
    const day = utcDay(new Date(incident.createdTimeUtc));
    const key = tag.toLowerCase();
    this.stmts.unuseTag.run(workspaceId, day, key);
    this.stmts.dropUnusedTag.run(workspaceId, day, key);
    const recent = this.stmts.recentTag.get(workspaceId, key);
    if (!recent) return;
    this.stmts.putRecentTag.run(workspaceId, key, recent.tag, recent.last_used_utc, removeUse(recent.days, day), workspaceId);
  }

  /** Brings the incident's search keys from `before`'s (none for a new incident) to `after`'s; bookkeeping changes neither. */
  private writeKeys(before: Incident | undefined, after: Incident): void {
    const old = new Set(before ? keysOf(before) : []);
    const next = new Set(keysOf(after));
    for (const key of old) if (!next.has(key)) this.stmts.dropKey.run(after.workspaceId, key, after.incidentNumber);
    for (const key of next) if (!old.has(key)) this.stmts.addKey.run(after.workspaceId, key, after.incidentNumber);
  }

  /**
   * Brings the incident's rows of incident_entities from `before`'s values (none for a new incident) to `after`'s: a
   * value the edit removed no longer finds it. Restricted or not (the visibility rule is applied when reading).
   */
  private writeEntities(before: Incident | undefined, after: Incident): void {
    const old = new Set(before ? entityValues(before) : []);
    const next = new Set(entityValues(after));
    const { workspaceId, createdTimeUtc, incidentNumber } = after;
    // The creation time of the rows written before (a replace never changes it; the stored one is what the rows hold).
    const oldCreated = before?.createdTimeUtc ?? createdTimeUtc;
    const moved = oldCreated !== createdTimeUtc;
    for (const value of old) {
      if (moved || !next.has(value)) this.stmts.dropEntity.run(workspaceId, value, oldCreated, incidentNumber);
    }
    for (const value of next) {
      if (moved || !old.has(value)) this.stmts.addEntity.run(workspaceId, value, createdTimeUtc, incidentNumber);
    }
  }

  private readDoc(workspaceId: string, id: string): Incident | undefined {
    const row = this.stmts.get.get(workspaceId, id);
    return row ? (JSON.parse(row.doc) as Incident) : undefined;
  }

  create(incident: NewIncident): Promise<CreateOutcome> {
    return this.run(() => this.createTx.immediate(incident));
  }

  get(workspaceId: string, id: string): Promise<Incident | undefined> {
    return this.run(() => {
      const row = this.stmts.get.get(workspaceId, id);
      return row ? (JSON.parse(row.doc) as Incident) : undefined;
    });
  }

  tagUsage(workspaceId: string, sinceDay: string): Promise<TagDayUsage[]> {
    return this.run(() =>
      this.stmts.tagUsage.all(workspaceId, sinceDay).map((r) => ({
        day: r.day,
        tag: r.tag,
        count: r.count,
        lastUsedUtc: r.last_used_utc,
      })),
    );
  }

  /**
   * One row per tag (tag_recent). The cursor returned is the workspace's latest write, read first (a write
   * in between is read again next time, never missed). Without a cursor: the tags used on `sinceDay` or
   * later. With one: the tags written after it, through an index on that order (none to read when it is the
   * latest), so a refresh costs what changed. A cursor past the latest write (the file was replaced by an
   * older copy) gets a whole read.
   */
  recentTags(workspaceId: string, sinceDay: string, cursor?: string): Promise<TagRead> {
    return this.run(() => {
      const latest = this.stmts.lastTagChange.get(workspaceId)!;
      const given = cursor !== undefined && /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined;
      const after = given !== undefined && given <= latest ? given : undefined;
      if (after === undefined) {
        const rows = this.stmts.recentTags.all(workspaceId, sinceDay);
        const tags = rows.map(([tag, lastUsedUtc, days]) => usesOf(tag, lastUsedUtc, days));
        return { tags, complete: true, cursor: String(latest) };
      }
      const rows = after === latest ? [] : this.stmts.changedTags.all(workspaceId, after);
      const tags = rows.map(([tag, lastUsedUtc, days]) => usesOf(tag, lastUsedUtc, days));
      return { tags, complete: false, cursor: String(latest) };
    });
  }

  replace(incident: Incident, expectedRevision: number, sentinel?: SentinelLink): Promise<ReplaceOutcome> {
    return this.run(() => this.replaceTx.immediate(incident, expectedRevision, sentinel));
  }

  updateSentinel(workspaceId: string, id: string, change: SentinelChange): Promise<Incident | undefined> {
    return this.run(() => this.sentinelTx.immediate(workspaceId, id, change));
  }

  dueSyncs(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]> {
    return this.run(() => this.stmts.dueSyncs.all(workspaceId, nowUtc, limit).map((r) => JSON.parse(r.doc) as Incident));
  }

  lease(workspaceId: string, name: string, holder: string, nowUtc: string, untilUtc: string): Promise<boolean> {
    return this.run(() => this.stmts.lease.get(workspaceId, name, holder, untilUtc, nowUtc) !== undefined);
  }

  setNotice(workspaceId: string, id: string, notice: TriageNotice): Promise<Incident | undefined> {
    return this.run(() => this.setNoticeTx.immediate(workspaceId, id, notice));
  }

  updateOutbox(workspaceId: string, id: string, change: OutboxChange): Promise<Incident | undefined> {
    return this.run(() => this.outboxTx.immediate(workspaceId, id, change));
  }

  dueNotices(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]> {
    return this.run(() => this.stmts.due.all(workspaceId, nowUtc, limit).map((r) => JSON.parse(r.doc) as Incident));
  }

  search(workspaceId: string, query: IncidentQuery, limit: number): Promise<Incident[]> {
    return this.run(() => {
      const where = ["workspace_id = ?"];
      const params: (string | number)[] = [workspaceId];
      if (query.reporter !== undefined) {
        where.push("instr(reporters, ?) > 0");
        params.push(`${SEP}${query.reporter}${SEP}`);
      }
      if (query.owner !== undefined) {
        where.push("owner_id = ?");
        params.push(query.owner);
      }
      if (query.number !== undefined) {
        where.push("incident_number = ?");
        params.push(query.number);
      } else if (query.text) {
        // Two walks of incident_keys newest first, each stopping at `limit`: the title's words, the whole tag.
        const words = queryWords(query.text).map((word) => ({ word, ...wordKey(word) }));
        const byTitle = words.length ? this.byKeys(workspaceId, words, query, limit) : [];
        const byTag = this.byKeys(
          workspaceId,
          [{ word: query.text, key: `${SEP}${query.text}`, alsoContains: false }],
          query,
          limit,
        );
        const seen = new Set<number>();
        return [...byTitle, ...byTag]
          .sort((a, b) => b.number - a.number)
          .filter((r) => !seen.has(r.number) && seen.add(r.number))
          .slice(0, limit)
          .map((r) => JSON.parse(r.doc) as Incident);
      }
      const sql = `SELECT doc FROM incidents WHERE ${where.join(" AND ")} ORDER BY incident_number DESC LIMIT ?`;
      return this.db
        .prepare<(string | number)[], { doc: string }>(sql)
        .all(...params, limit)
        .map((r) => JSON.parse(r.doc) as Incident);
    });
  }

  /**
   * Incidents having every key (and the query's reporter and owner), newest first, at most `limit`: walks the
   * most selective key's rows of incident_keys in number order (the primary key) and checks the others by point
   * lookups, so it stops once `limit` are found. A key marked `alsoContains` (a typed word longer than the keys)
   * must also be in the title as typed.
   */
  private byKeys(
    workspaceId: string,
    keys: readonly { word: string; key: string; alsoContains: boolean }[],
    query: IncidentQuery,
    limit: number,
  ): { number: number; doc: string }[] {
    const [first, ...rest] = [...keys].sort((a, b) => b.key.length - a.key.length);
    const conditions: string[] = [];
    const params: (string | number)[] = [workspaceId, first!.key];
    for (const { key } of rest) {
      conditions.push(
        "EXISTS (SELECT 1 FROM incident_keys o " +
          "WHERE o.workspace_id = k.workspace_id AND o.key = ? AND o.incident_number = k.incident_number)",
      );
      params.push(key);
    }
    for (const { word } of keys.filter((k) => k.alsoContains)) {
      conditions.push("instr(i.title_lower, ?) > 0");
      params.push(word);
    }
    if (query.reporter !== undefined) {
      conditions.push("instr(i.reporters, ?) > 0");
      params.push(`${SEP}${query.reporter}${SEP}`);
    }
    if (query.owner !== undefined) {
      conditions.push("i.owner_id = ?");
      params.push(query.owner);
    }
    const sql = `SELECT k.incident_number AS number, i.doc FROM incident_keys k
      JOIN incidents i ON i.workspace_id = k.workspace_id AND i.incident_number = k.incident_number
      WHERE k.workspace_id = ? AND k.key = ?${conditions.map((c) => ` AND ${c}`).join("")}
      ORDER BY k.incident_number DESC LIMIT ?`;
    return this.db.prepare<(string | number)[], { number: number; doc: string }>(sql).all(...params, limit);
  }

  /**
   * One statement: per value, its rows of incident_entities newest first from `since` (a range of the primary key),
   * at most `limit` each, united, then the incidents they name, newest first, at most `limit`. Reads at most
   * values x limit index rows however many incidents hold a value.
   */
  findByEntity(workspaceId: string, values: readonly string[], options: EntityQuery): Promise<Incident[]> {
    return this.run(() => {
      const wanted = entityQueryValues(values);
      const limit = Math.floor(options.limit);
      if (!wanted.length || !(limit > 0)) return [];
      const since = options.since ?? "";
      const params = [workspaceId, ...wanted.flatMap((value) => [workspaceId, value, since, limit]), limit];
      return this.byEntityStatement(wanted.length)
        .all(...params)
        .map((r) => JSON.parse(r.doc) as Incident);
    });
  }

  /** findByEntity's statement for `count` values, prepared once per count (at most ENTITIES_MAX of them). */
  private byEntityStatement(count: number): Database.Statement<(string | number)[], { doc: string }> {
    let statement = this.byEntity.get(count);
    if (!statement) {
      const perValue =
        "SELECT * FROM (SELECT incident_number FROM incident_entities WHERE workspace_id = ? AND value = ? " +
        "AND created_utc >= ? ORDER BY created_utc DESC, incident_number DESC LIMIT ?)";
      const numbers = Array.from({ length: count }, () => perValue).join(" UNION ");
      statement = this.db.prepare<(string | number)[], { doc: string }>(
        `SELECT doc FROM incidents WHERE workspace_id = ? AND incident_number IN (${numbers})
         ORDER BY created_utc DESC, incident_number DESC LIMIT ?`,
      );
      this.byEntity.set(count, statement);
    }
    return statement;
  }

  unsentNotices(workspaceId: string, beforeUtc: string, limit: number): Promise<Incident[]> {
    return this.run(() => this.stmts.unsent.all(workspaceId, beforeUtc, limit).map((r) => JSON.parse(r.doc) as Incident));
  }

  getSetting(workspaceId: string, key: string): Promise<unknown> {
    return this.run(() => {
      const row = this.stmts.getSetting.get(workspaceId, key);
      return row ? (JSON.parse(row.value) as unknown) : undefined;
    });
  }

  putSetting(workspaceId: string, key: string, value: unknown): Promise<void> {
    return this.run(() => {
      this.stmts.putSetting.run(workspaceId, key, JSON.stringify(value));
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `the database was written by a newer version of this bot (schema ${current}, this one knows ${SCHEMA_VERSION})`,
      );
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      this.db
        .transaction(() => {
          this.db.exec(MIGRATIONS[v]!);
          if (v === 5) this.backfillKeys();
          this.db.pragma(`user_version = ${v}`);
        })
        .immediate();
    }
  }

  /** Migration 5: the search keys of the incidents stored before it. */
  private backfillKeys(): void {
    const add = this.db.prepare<[string, string, number]>(
      "INSERT OR IGNORE INTO incident_keys (workspace_id, key, incident_number) VALUES (?, ?, ?)",
    );
    // All at once (title and labels only): better-sqlite3 runs no other statement while one iterates.
    const rows = this.db
      .prepare<[], { workspace_id: string; incident_number: number; title: string; labels: string }>(
        "SELECT workspace_id, incident_number, json_extract(doc, '$.title') AS title, json_extract(doc, '$.labels') AS labels " +
          "FROM incidents",
      )
      .all();
    for (const row of rows) {
      const incident = { title: row.title, labels: JSON.parse(row.labels) as Incident["labels"] };
      for (const key of keysOf(incident)) add.run(row.workspace_id, key, row.incident_number);
    }
  }

  private run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      // By code, not by class: a second copy of better-sqlite3's JS in one process (Jest's module
      // registries, bundles) throws a SqliteError that is not an instance of this copy's class.
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT)/.test(code)) {
        return Promise.reject(new StoreUnavailableError(`The SQLite store failed: ${code}`, { cause: error }));
      }
      if (code === "SQLITE_TOOBIG") {
        return Promise.reject(new IncidentTooLargeError("The SQLite store refused a row over its size limit.", { cause: error }));
      }
      if (!this.db.open) return Promise.reject(new StoreUnavailableError("The SQLite store is closed.", { cause: error }));
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
