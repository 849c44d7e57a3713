/**
 * The Azure Cosmos DB (NoSQL API) store: any number of bot instances share one container.
 *
 * One container, partition key /workspaceId, four document types (each with `type` and `workspaceId`):
 * - incident  id = the incident id (the form's submission id): the Incident under `incident`, its
 *             lower-case title and tags under `search`, and write tokens (below).
 * - counter   id "counter": { lastNumber }, the workspace's last incident number.
 * - tag-day   id "tags:YYYY-MM-DD:<workspace hash>:<chunk>": { day, uses: { "n<incident number>": [createdTimeUtc, ...tags] } },
 *             one per workspace, day and chunk of TAG_CHUNK incident numbers (chunk = floor(number / TAG_CHUNK)), so no
 *             document holds more than TAG_CHUNK incidents' uses however many incidents a day brings (TAG_DAY_MAX_BYTES).
 * - setting   id "setting:<key>": { key, value }.
 *
 * Numbering: an atomic patch `incr` on the counter reserves the next number; the incident document is
 * then created with its number already in it, so no reader ever sees an incident without one. A create
 * whose write fails after reserving leaves a gap (allowed); duplicates cannot happen.
 * Idempotency: the document id is the incident id, so a second create of the same id gets 409 and
 * returns the incident that won. No read comes first (a new id, nearly every create, would only get a
 * 404): a repeat learns it is one from the 409, and gives its reserved number back with a decrement
 * conditional on the counter's etag from its own reservation, so a double click or a Teams retry after
 * the first create leaves no gap; a repeat racing another create leaves one (allowed). The give-back is
 * tried once, never retried: a retry after a lost answer could take back a number handed out meanwhile.
 * Each attempt writes a random `createToken`, so an attempt whose own write succeeded but whose answer
 * was lost still reports `created: true` after its retry's 409.
 * (`replace` does the same with `writeToken` and the etag: a lost answer is not mistaken for a conflict.)
 * Tag usage: counted after the incident is stored, from the stored incident (so a losing concurrent
 * submission with other tags counts nothing), as one patch of its day's chunk document that sets the
 * incident's use under its number: one operation whatever the number of tags, and a retry, a lost
 * answer or another instance finishing a half-done create can only write it again, never count it
 * twice (repeats use a conditional patch, so an edited incident is not recounted). A replace that changes
 * the incident's counted tags (`countedTags`: none while restricted) rewrites its use, conditional on its
 * revision. Counts, latest use and spelling (of the day's first use) are summed up when read. No read before the write, no etags,
 * no conflicts between instances. (Replaces the read + etag replace of a per-tag list; no documents
 * of that earlier shape were ever deployed, so none is read.)
 * Faults: 429 (after the server's retry-after), 408/449/502/503/504, timeouts and lost connections are
 * retried until the operation's budget (COSMOS_RETRY_BUDGET_MS) is spent, then StoreUnavailableError.
 * A create that failed after storing the incident (tags not yet counted) is completed by the next
 * create of the same id, which the service's "try again" leads to.
 *
 * What each operation costs, in HTTP requests (counted in test/adapters/cosmos-store.test.ts):
 * - create, new id, with tags: 3 (patch counter, create incident, patch tag-day), whatever the number
 *   of tags. Without tags: 2. First incident of a workspace: +2 (counter 404 + create); first tagged
 *   incident of a day's chunk: +1 (tag-day patch 404, create), so at most +1 per TAG_CHUNK numbers.
 * - create, existing id (a repeat): 4 (patch counter, create: 409, point read, conditional patch giving
 *   the number back), +1 conditional patch of its tag-day document when it has tags.
 * - get, getSetting: 1 point read. putSetting: 1 upsert.
 * - replace, setNotice, updateOutbox: 1 point read + 1 conditional replace (etag); after losing a race, again.
 *   A replace that changes the counted tags (a tag edited, restricted or not): +1 conditional patch of its tag-day document.
 * - tagUsage, recentTags: 1 single-partition query over the chunk documents of the days asked for (14 for the
 *   suggestion window), whatever the history: one document per TAG_CHUNK incident numbers of those
 *   days, so its size follows the window's tagged incidents, in pages of 100 documents.
 * - findByEntity: 1 single-partition query with TOP and ORDER BY: each value looked up in `search.entities` (the
 *   distinct normalised Entity.value of the incident's entities, written with the document, so a replace that removes
 *   an entity removes its value in the same write) with ARRAY_CONTAINS, served by the index on /search/*, as is
 *   `search.created` (the creation time) it filters and orders on. Incidents written before carry no entities.
 * - search, unsentNotices, dueNotices: 1 single-partition query with TOP and ORDER BY. Search by words looks each
 *   word up in `search.words` (every prefix of every title word, up to 16 characters: ARRAY_CONTAINS, served by
 *   the index on /search/*), or the whole text in `search.tags`; no CONTAINS over every title (except a typed
 *   word longer than 16 characters, checked on the incidents its first 16 already found). Incidents written
 *   before `search.words` existed are found by number and tag only until their next write.
 * The SDK sends a query-plan request before each query (no documents read): +1 round trip per query.
 * Point reads of these small documents cost about 1 RU, writes about 10 RU with the indexing policy below.
 *
 * Not relied on (the test server lacks them): transactional batch, patch in batch, stored procedures,
 * change feed, TTL, OFFSET/LIMIT, DISTINCT, GROUP BY. Every query filters on c.workspaceId in its SQL
 * and passes values only as parameters.
 * Bounds: a tag-day chunk holds at most TAG_CHUNK entries of at most ~3.1 KB each (20 tags of 50 characters
 * of 3 UTF-8 bytes; lone surrogates are stored as U+FFFD, never as 6-byte escapes): under 64 KB whatever
 * the day's volume (it was one document per day, which reached Cosmos DB's 2 MB limit after ~1,900
 * incidents with 20 tags of 50 characters). Incident documents are bounded by the form's limits,
 * counters, settings and leases by their shape. tagUsage reads those entries (14 days' worth), not one
 * line per tag.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  CosmosClient,
  type Container,
  type CosmosClientOptions,
  type IndexingPolicy,
  type ItemDefinition,
  type Resource,
  type SqlParameter,
} from "@azure/cosmos";
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import { IncidentTooLargeError, StoreUnavailableError } from "../incidents/errors";
import type { Incident, SentinelLink, TriageNotice } from "../incidents/model";
import { mergeOutbox } from "../incidents/casework";
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
} from "../incidents/ports";
import { entityQueryValues, queryWords, searchKeys, wordKey, type SearchKeys } from "../incidents/search";
import { countedTags, tagUseChange, usesByTag, utcDay } from "../incidents/tags";
import { sleep } from "./backoff";
import { describeFailure, type RetryPolicy, statusOf, withRetries } from "./cosmos-retry";

export const PARTITION_KEY_PATH = "/workspaceId";
const COUNTER_ID = "counter";
const TAG_DAY_PREFIX = "tags:";
const SETTING_PREFIX = "setting:";
const LEASE_PREFIX = "lease:";
/** Incident numbers per tag-day document: 16 entries of at most ~3.1 KB keep each under TAG_DAY_MAX_BYTES. */
export const TAG_CHUNK = 16;
/** The bound every document of this store stays under (checked by the store contract's volume test). */
export const TAG_DAY_MAX_BYTES = 64 * 1024;

/**
 * Only what queries filter or sort on is indexed, so writes stay cheap: document type and day, the
 * incident's number and triage notice, and the search fields (/search/* covers the elements of
 * search.words and search.tags that Find incident looks up with ARRAY_CONTAINS, search.entities that findByEntity looks
 * up, and search.created it orders on). Used when the bot creates the
 * container; an existing container keeps its own policy (the default, index everything, also works).
 */
export const INDEXING_POLICY: IndexingPolicy = {
  indexingMode: "consistent",
  automatic: true,
  includedPaths: [
    { path: "/workspaceId/?" },
    { path: "/type/?" },
    { path: "/day/?" },
    { path: "/incident/incidentNumber/?" },
    { path: "/incident/triage/state/?" },
    { path: "/incident/triage/updatedUtc/?" },
    { path: "/search/*" },
  ],
  excludedPaths: [{ path: "/*" }],
};

interface IncidentDoc extends ItemDefinition {
  id: string;
  workspaceId: string;
  type: "incident";
  /** Random per create attempt: tells "my write won" from "someone else's did" after a 409. */
  createToken: string;
  /** Random per replace attempt, for the same reason after a 412. */
  writeToken?: string;
  /** Lower-case, single-spaced title and lower-case tags, for `search`. */
  search: SearchKeys;
  incident: Incident;
}

interface SettingDoc extends ItemDefinition {
  id: string;
  workspaceId: string;
  type: "setting";
  key: string;
  value: unknown;
}

interface LeaseDoc extends ItemDefinition {
  id: string;
  workspaceId: string;
  type: "lease";
  holder: string;
  untilUtc: string;
}

interface CounterDoc extends ItemDefinition {
  id: typeof COUNTER_ID;
  workspaceId: string;
  type: "counter";
  lastNumber: number;
}

/** One incident's use of tags: its creation time, then its tags as spelled. */
type TagUse = [createdTimeUtc: string, ...tags: string[]];

interface TagDayDoc extends ItemDefinition {
  id: string;
  workspaceId: string;
  type: "tag-day";
  day: string;
  /**
   * Keyed "n<incident number>": an incident is counted once, whatever the retries (the key is the
   * patch's condition). Counts, last use and spelling are summed up when read (`usageOfDay`), so
   * writes commute and each is one patch of one operation, however many tags.
   */
  uses: Record<string, TagUse>;
  /** "e<incident number>": the revision of the edit whose counted tags `uses` holds for it (`countTagUse`). */
  [edited: `e${number}`]: number;
}

/** Cosmos DB refuses ids with these characters; "counter", "tags:..." and "setting:..." are the store's own documents. */
function isStorableIncidentId(id: string): boolean {
  return (
    id.length > 0 &&
    id.length <= 255 &&
    !/[/\\?#]/.test(id) &&
    id !== COUNTER_ID &&
    !id.startsWith(TAG_DAY_PREFIX) &&
    !id.startsWith(SETTING_PREFIX) &&
    !id.startsWith(LEASE_PREFIX)
  );
}

function incidentDoc(incident: Incident, createToken: string, writeToken?: string): IncidentDoc {
  return {
    id: incident.id,
    workspaceId: incident.workspaceId,
    type: "incident",
    createToken,
    ...(writeToken && { writeToken }),
    // As the SQLite store keeps them, so both search alike.
    search: searchKeys(incident),
    incident,
  };
}

/** A setting's key as a document id: Cosmos ids can't hold / \\ ? #. */
function settingId(key: string): string {
  return `${SETTING_PREFIX}${encodeURIComponent(key)}`;
}

/** Drops undefined fields, so `create` returns exactly what a later `get` reads back. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class CosmosIncidentStore implements IncidentStore {
  private readonly creating = new Map<string, Promise<CreateOutcome>>();

  constructor(
    private readonly client: CosmosClient,
    private readonly container: Container,
    private readonly policy: RetryPolicy,
  ) {}

  /**
   * Concurrent creates of one id in this instance share one attempt, so a double click does not burn
   * an incident number; across instances the store's 409 decides (and the loser's number is a gap).
   */
  async create(incident: NewIncident): Promise<CreateOutcome> {
    const key = `${incident.workspaceId}\n${incident.id}`;
    const running = this.creating.get(key);
    if (running) return { incident: (await running).incident, created: false };
    const attempt = this.createOnce(incident);
    this.creating.set(key, attempt);
    try {
      return await attempt;
    } finally {
      this.creating.delete(key);
    }
  }

  private async createOnce(incident: NewIncident): Promise<CreateOutcome> {
    if (!isStorableIncidentId(incident.id)) {
      throw new Error(`The incident id "${incident.id}" can't be stored in Cosmos DB (use a GUID).`);
    }
    const deadline = this.deadline();
    return this.translate("store the incident", async () => {
      // No read first: a new id (nearly every create) goes straight to the counter and the create, and the
      // create's 409 tells a repeat. A repeat then gives its number back when nobody took one since.
      const reserved = await this.nextNumber(incident.workspaceId, deadline);
      const number = reserved.number;
      const stored = plain<Incident>({ ...incident, incidentNumber: number, revision: 1 });
      const doc = incidentDoc(stored, randomUUID());
      try {
        await this.call("store the incident", deadline, (abortSignal) => this.container.items.create(doc, { abortSignal }));
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
        // Same id stored before: by another submission or an earlier create of this one (a double click,
        // a Teams retry; it may have failed before counting its tags), or by this attempt, whose answer
        // was lost (then it holds our number and token).
        const winner = await this.readIncident(incident.workspaceId, incident.id, deadline);
        if (!winner)
          throw new StoreUnavailableError(`Cosmos DB reported incident ${incident.id} as existing but could not read it.`, {
            cause: error,
          });
        if (winner.incident.incidentNumber !== number) await this.giveBack(incident.workspaceId, reserved);
        const outcome = { incident: winner.incident, created: winner.createToken === doc.createToken };
        await this.countTagUse(outcome.incident, deadline);
        return outcome;
      }
      // Stored just now, so `stored` holds the tags as created: its use may overwrite any other record of it.
      await this.countTagUse(stored, deadline, "as created");
      return { incident: stored, created: true };
    });
  }

  async get(workspaceId: string, id: string): Promise<Incident | undefined> {
    if (!isStorableIncidentId(id)) return undefined;
    const deadline = this.deadline();
    return this.translate("read the incident", async () => (await this.readIncident(workspaceId, id, deadline))?.incident);
  }

  async tagUsage(workspaceId: string, sinceDay: string): Promise<TagDayUsage[]> {
    const deadline = this.deadline();
    return this.translate("read tag usage", async () => {
      const query = {
        query: "SELECT c.day, c.uses FROM c WHERE c.workspaceId = @workspaceId AND c.type = @type AND c.day >= @sinceDay",
        parameters: [
          { name: "@workspaceId", value: workspaceId },
          { name: "@type", value: "tag-day" },
          { name: "@sinceDay", value: sinceDay },
        ],
      };
      const { resources } = await this.call("read tag usage", deadline, (abortSignal) =>
        this.container.items
          .query<Pick<TagDayDoc, "day" | "uses">>(query, { partitionKey: workspaceId, maxItemCount: 100, abortSignal })
          .fetchAll(),
      );
      // A day's chunks (and a document of the unchunked shape written before, whose entries have the same keys) as one.
      const byDay = new Map<string, Record<string, TagUse>>();
      for (const d of resources) byDay.set(d.day, Object.assign(byDay.get(d.day) ?? {}, d.uses));
      return [...byDay].flatMap(([day, uses]) => usageOfDay(day, uses));
    });
  }

  /**
   * Every tag of the window each time (`complete`), grouped per tag here from the same one query as `tagUsage`
   * (the test server has no GROUP BY): the tag-day chunks carry no order of writes to resume from, and the
   * documents read follow the window's tagged incidents.
   */
  async recentTags(workspaceId: string, sinceDay: string): Promise<TagRead> {
    return { tags: usesByTag(await this.tagUsage(workspaceId, sinceDay)), complete: true };
  }

  async replace(incident: Incident, expectedRevision: number, sentinel?: SentinelLink): Promise<ReplaceOutcome> {
    if (!isStorableIncidentId(incident.id)) return { ok: false, current: undefined };
    const deadline = this.deadline();
    const { workspaceId, id } = incident;
    const writeToken = randomUUID();
    return this.translate("update the incident", async () => {
      for (let conflicts = 0; ; conflicts++) {
        const current = await this.readIncident(workspaceId, id, deadline);
        if (!current) return { ok: false, current: undefined };
        // Our own write, whose answer was lost before a retry met the etag it had changed.
        if (current.writeToken === writeToken) return { ok: true, incident: current.incident };
        if (current.incident.revision !== expectedRevision) return { ok: false, current: current.incident };
        // The number is the store's, and the triage notice is `setNotice`'s: an edit changes neither.
        const next = plain<Incident>({
          ...incident,
          incidentNumber: current.incident.incidentNumber,
          revision: expectedRevision + 1,
        });
        if (current.incident.triage) next.triage = current.incident.triage;
        else delete next.triage;
        const outbox = mergeOutbox(current.incident.outbox, incident.outbox);
        if (outbox) next.outbox = outbox;
        else delete next.outbox;
        const link = sentinel ? plain(sentinel) : current.incident.sentinel;
        if (link) next.sentinel = link;
        else delete next.sentinel;
        const doc = incidentDoc(next, current.createToken, writeToken);
        try {
          await this.call("update the incident", deadline, (abortSignal) =>
            this.container
              .item(id, workspaceId)
              .replace(doc, { accessCondition: { type: "IfMatch", condition: current._etag }, abortSignal }),
          );
        } catch (error) {
          // Changed since read: read again; a revision change is a conflict, a notice change is not.
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
          await pauseAfterConflict(conflicts, deadline, `update incident ${id}`, error);
          continue;
        }
        // The counts follow the incident's counted tags (none while restricted): its use is rewritten whole.
        const change = tagUseChange(current.incident, next);
        if (change.added.length || change.removed.length) await this.countTagUse(next, deadline, "as edited");
        return { ok: true, incident: next };
      }
    });
  }

  async setNotice(workspaceId: string, id: string, notice: TriageNotice): Promise<Incident | undefined> {
    if (!isStorableIncidentId(id)) return undefined;
    const deadline = this.deadline();
    return this.translate("record the triage notice", async () => {
      for (let conflicts = 0; ; conflicts++) {
        const current = await this.readIncident(workspaceId, id, deadline);
        if (!current) return undefined;
        const next = plain<Incident>({ ...current.incident, triage: notice });
        // Same revision and write token: bookkeeping is not an edit, and must not hide an edit's lost answer.
        const doc = incidentDoc(next, current.createToken, current.writeToken);
        try {
          await this.call("record the triage notice", deadline, (abortSignal) =>
            this.container
              .item(id, workspaceId)
              .replace(doc, { accessCondition: { type: "IfMatch", condition: current._etag }, abortSignal }),
          );
          return next;
        } catch (error) {
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
          await pauseAfterConflict(conflicts, deadline, `record the triage notice of incident ${id}`, error);
        }
      }
    });
  }

  async updateOutbox(workspaceId: string, id: string, change: OutboxChange): Promise<Incident | undefined> {
    return this.bookkeeping("record a notice to a reporter", workspaceId, id, (incident) => {
      const outbox = change(incident.outbox ?? [], incident);
      if (!outbox) return undefined;
      const next: Incident = { ...incident, outbox };
      if (!outbox.length) delete next.outbox;
      return next;
    });
  }

  async updateSentinel(workspaceId: string, id: string, change: SentinelChange): Promise<Incident | undefined> {
    return this.bookkeeping("record the Sentinel sync", workspaceId, id, (incident) => {
      const link = change(incident.sentinel, incident);
      return link ? { ...incident, sentinel: link } : undefined;
    });
  }

  /**
   * A change that is not an edit (same revision and write token, like setNotice): `change` gets the
   * stored incident and gives the next one, or undefined for none; read again after losing a race.
   */
  private async bookkeeping(
    what: string,
    workspaceId: string,
    id: string,
    change: (incident: Incident) => Incident | undefined,
  ): Promise<Incident | undefined> {
    if (!isStorableIncidentId(id)) return undefined;
    const deadline = this.deadline();
    return this.translate(what, async () => {
      for (let conflicts = 0; ; conflicts++) {
        const current = await this.readIncident(workspaceId, id, deadline);
        if (!current) return undefined;
        const changed = change(current.incident);
        if (!changed) return current.incident;
        const next = plain<Incident>(changed);
        const doc = incidentDoc(next, current.createToken, current.writeToken);
        try {
          await this.call(what, deadline, (abortSignal) =>
            this.container
              .item(id, workspaceId)
              .replace(doc, { accessCondition: { type: "IfMatch", condition: current._etag }, abortSignal }),
          );
          return next;
        } catch (error) {
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
          await pauseAfterConflict(conflicts, deadline, `${what} of incident ${id}`, error);
        }
      }
    });
  }

  async dueSyncs(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]> {
    const where = ["c.workspaceId = @workspaceId", "c.type = @type", "c.search.syncDue <= @now"];
    const parameters: SqlParameter[] = [{ name: "@now", value: nowUtc }];
    return this.incidents("list changes due for Sentinel", workspaceId, where, "c.search.syncDue ASC", parameters, limit);
  }

  async lease(workspaceId: string, name: string, holder: string, nowUtc: string, untilUtc: string): Promise<boolean> {
    const deadline = this.deadline();
    const id = `${LEASE_PREFIX}${encodeURIComponent(name)}`;
    const doc: LeaseDoc = { id, workspaceId, type: "lease", holder, untilUtc };
    return this.translate("take a lease", async () => {
      const { resource } = await this.call("take a lease", deadline, (abortSignal) =>
        this.container.item(id, workspaceId).read<LeaseDoc>({ abortSignal }),
      );
      try {
        if (!resource) {
          await this.call("take a lease", deadline, (abortSignal) => this.container.items.create(doc, { abortSignal }));
          return true;
        }
        if (resource.holder !== holder && resource.untilUtc > nowUtc) return false;
        await this.call("take a lease", deadline, (abortSignal) =>
          this.container
            .item(id, workspaceId)
            .replace(doc, { accessCondition: { type: "IfMatch", condition: resource._etag }, abortSignal }),
        );
        return true;
      } catch (error) {
        // Another instance took it between the read and the write.
        if (statusOf(error) === 409 || statusOf(error) === 412) return false;
        throw error;
      }
    });
  }

  async dueNotices(workspaceId: string, nowUtc: string, limit: number): Promise<Incident[]> {
    const where = ["c.workspaceId = @workspaceId", "c.type = @type", "c.search.outboxDue <= @now"];
    const parameters: SqlParameter[] = [{ name: "@now", value: nowUtc }];
    return this.incidents("list notices due", workspaceId, where, "c.search.outboxDue ASC", parameters, limit);
  }

  async search(workspaceId: string, query: IncidentQuery, limit: number): Promise<Incident[]> {
    const where = ["c.workspaceId = @workspaceId", "c.type = @type"];
    const parameters: SqlParameter[] = [];
    if (query.reporter !== undefined) {
      where.push("ARRAY_CONTAINS(c.search.reporters, @reporter)");
      parameters.push({ name: "@reporter", value: query.reporter });
    }
    if (query.owner !== undefined) {
      where.push("c.search.owner = @owner");
      parameters.push({ name: "@owner", value: query.owner });
    }
    if (query.number !== undefined) {
      where.push("c.incident.incidentNumber = @number");
      parameters.push({ name: "@number", value: query.number });
    } else if (query.text) {
      // Each word by its key in the title's word prefixes (an index lookup), or the whole text as a tag.
      const words = queryWords(query.text).map((w) => ({ word: w, ...wordKey(w) }));
      const titleHasAll = words.flatMap(({ alsoContains }, i) => [
        `ARRAY_CONTAINS(c.search.words, @key${i})`,
        ...(alsoContains ? [`CONTAINS(c.search.title, @word${i})`] : []),
      ]);
      const matches = [...(titleHasAll.length ? [`(${titleHasAll.join(" AND ")})`] : []), "ARRAY_CONTAINS(c.search.tags, @text)"];
      where.push(`(${matches.join(" OR ")})`);
      parameters.push(
        ...words.flatMap(({ word, key, alsoContains }, i) => [
          { name: `@key${i}`, value: key },
          ...(alsoContains ? [{ name: `@word${i}`, value: word }] : []),
        ]),
        { name: "@text", value: query.text },
      );
    }
    return this.incidents("search incidents", workspaceId, where, "c.incident.incidentNumber DESC", parameters, limit);
  }

  /**
   * One single-partition query: ARRAY_CONTAINS of each value in `search.entities` (an index lookup per value, served by
   * /search/*), the creation time from `search.created` (indexed there too), newest first, TOP limit.
   */
  async findByEntity(workspaceId: string, values: readonly string[], options: EntityQuery): Promise<Incident[]> {
    const wanted = entityQueryValues(values);
    if (!wanted.length) return [];
    const where = [
      "c.workspaceId = @workspaceId",
      "c.type = @type",
      `(${wanted.map((_, i) => `ARRAY_CONTAINS(c.search.entities, @value${i})`).join(" OR ")})`,
    ];
    const parameters: SqlParameter[] = wanted.map((value, i) => ({ name: `@value${i}`, value }));
    if (options.since !== undefined) {
      where.push("c.search.created >= @since");
      parameters.push({ name: "@since", value: options.since });
    }
    return this.incidents("find incidents by entity", workspaceId, where, "c.search.created DESC", parameters, options.limit);
  }

  async unsentNotices(workspaceId: string, beforeUtc: string, limit: number): Promise<Incident[]> {
    const where = [
      "c.workspaceId = @workspaceId",
      "c.type = @type",
      "c.incident.triage.state IN (@pending, @failed)",
      "c.incident.triage.updatedUtc < @beforeUtc",
    ];
    const parameters: SqlParameter[] = [
      { name: "@pending", value: "pending" },
      { name: "@failed", value: "failed" },
      { name: "@beforeUtc", value: beforeUtc },
    ];
    return this.incidents(
      "list unsent triage notices",
      workspaceId,
      where,
      "c.incident.triage.updatedUtc ASC",
      parameters,
      limit,
    );
  }

  async getSetting(workspaceId: string, key: string): Promise<unknown> {
    const deadline = this.deadline();
    return this.translate("read a setting", async () => {
      const { resource } = await this.call("read a setting", deadline, (abortSignal) =>
        this.container.item(settingId(key), workspaceId).read<SettingDoc>({ abortSignal }),
      );
      return resource?.type === "setting" && resource.workspaceId === workspaceId ? resource.value : undefined;
    });
  }

  async putSetting(workspaceId: string, key: string, value: unknown): Promise<void> {
    const deadline = this.deadline();
    const doc: SettingDoc = { id: settingId(key), workspaceId, type: "setting", key, value: plain(value) };
    await this.translate("store a setting", () =>
      this.call("store a setting", deadline, (abortSignal) => this.container.items.upsert(doc, { abortSignal })),
    );
  }

  close(): Promise<void> {
    this.client.dispose();
    return Promise.resolve();
  }

  private deadline(): number {
    return Date.now() + this.policy.budgetMs;
  }

  private call<T>(what: string, deadline: number, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withRetries(what, deadline, this.policy, request);
  }

  /** At most `limit` incidents of the workspace matching `where` (SQL over parameters only), in `orderBy` order. */
  private async incidents(
    what: string,
    workspaceId: string,
    where: readonly string[],
    orderBy: string,
    parameters: readonly SqlParameter[],
    limit: number,
  ): Promise<Incident[]> {
    const top = Math.floor(limit);
    if (!(top > 0)) return [];
    const deadline = this.deadline();
    const query = {
      query: `SELECT TOP @limit VALUE c.incident FROM c WHERE ${where.join(" AND ")} ORDER BY ${orderBy}`,
      parameters: [
        { name: "@workspaceId", value: workspaceId },
        { name: "@type", value: "incident" },
        { name: "@limit", value: top },
        ...parameters,
      ],
    };
    return this.translate(what, async () => {
      const { resources } = await this.call(what, deadline, (abortSignal) =>
        this.container.items.query<Incident>(query, { partitionKey: workspaceId, abortSignal }).fetchAll(),
      );
      return resources;
    });
  }

  private async readIncident(workspaceId: string, id: string, deadline: number): Promise<(IncidentDoc & Resource) | undefined> {
    const { resource } = await this.call("read the incident", deadline, (abortSignal) =>
      this.container.item(id, workspaceId).read<IncidentDoc>({ abortSignal }),
    );
    return resource?.type === "incident" && resource.workspaceId === workspaceId ? resource : undefined;
  }

  /**
   * Reserves the workspace's next number (atomic increment; the counter is created on first use), with the
   * counter's etag after it (what `giveBack` needs).
   */
  private async nextNumber(workspaceId: string, deadline: number): Promise<{ number: number; etag?: string }> {
    const increment = async (): Promise<{ number: number; etag?: string }> => {
      const { resource } = await this.call("reserve an incident number", deadline, (abortSignal) =>
        this.container
          .item(COUNTER_ID, workspaceId)
          .patch<CounterDoc>([{ op: "incr", path: "/lastNumber", value: 1 }], { abortSignal }),
      );
      if (typeof resource?.lastNumber !== "number") throw new Error(`The counter of workspace ${workspaceId} has no lastNumber.`);
      return { number: resource.lastNumber, etag: resource._etag };
    };
    try {
      return await increment();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const counter: CounterDoc = { id: COUNTER_ID, workspaceId, type: "counter", lastNumber: 0 };
    try {
      await this.call("create the incident counter", deadline, (abortSignal) =>
        this.container.items.create(counter, { abortSignal }),
      );
    } catch (error) {
      if (statusOf(error) !== 409) throw error; // another instance created it first: fine
    }
    return increment();
  }

  /**
   * Returns a reserved number that no incident got, if the counter is as our reservation left it (its etag:
   * nobody reserved one since), so a repeated submission leaves no gap. One try and no retry: a retry after
   * a lost answer could take back a number reserved meanwhile by another create and hand it out twice.
   * Whatever goes wrong (412: another was reserved; throttled, lost, timed out) only leaves the gap, which
   * the port allows; the create goes on.
   */
  private async giveBack(workspaceId: string, reserved: { number: number; etag?: string }): Promise<void> {
    if (!reserved.etag) return;
    try {
      await this.container.item(COUNTER_ID, workspaceId).patch<CounterDoc>([{ op: "incr", path: "/lastNumber", value: -1 }], {
        accessCondition: { type: "IfMatch", condition: reserved.etag },
        abortSignal: AbortSignal.timeout(this.policy.requestTimeoutMs),
      });
    } catch {
      // The gap stays.
    }
  }

  /**
   * Counts the incident's tags (`countedTags`: none while restricted) on its day, once, however often it is
   * called: its use is stored under its number, so a repeat can only rewrite it, never add it again.
   * `"as created"` (the create that just stored the incident): one plain `set`, idempotent since every retry
   * writes the same value. `"as edited"` (a replace that changed the counted tags): the use rewritten whole,
   * with the incident's revision beside it (`e<number>`), only when no later revision's is stored (412: a
   * later edit's use is there already), so edits landing out of order leave the latest one's.
   * Otherwise (a repeat or a lost answer, whose incident may have been edited since) a conditional
   * patch that writes only when the number is not there yet: 412 means counted already.
   * 404: the day's first use, so create the document; 409: another writer created it meanwhile, so patch.
   * (Only repeats use a condition also because @vercel/cosmosdb-server compiles each distinct
   * condition as a query, which is too slow for every create of a burst.)
   */
  private async countTagUse(
    incident: Incident,
    deadline: number,
    source: "as created" | "as stored" | "as edited" = "as stored",
  ): Promise<void> {
    const tags = countedTags(incident);
    if (tags.length === 0 && source !== "as edited") return;
    const { workspaceId } = incident;
    const day = utcDay(new Date(incident.createdTimeUtc));
    const id = tagDayId(workspaceId, day, incident.incidentNumber);
    // "n" + digits: a plain property name, so neither the patch path nor the predicate needs escaping.
    const key = `n${incident.incidentNumber}`;
    const edit = `e${incident.incidentNumber}`;
    const use: TagUse = [incident.createdTimeUtc, ...tags.map(wellFormed)];
    const revision = Math.trunc(incident.revision);
    const condition =
      source === "as stored"
        ? `FROM c WHERE NOT IS_DEFINED(c.uses.${key})`
        : source === "as edited"
          ? `FROM c WHERE NOT IS_DEFINED(c.${edit}) OR c.${edit} < ${revision}`
          : undefined;
    /** true when the use is stored (now or before), false when the day's document does not exist. */
    const patch = async (): Promise<boolean> => {
      try {
        await this.call("count tag usage", deadline, (abortSignal) =>
          this.container.item(id, workspaceId).patch<TagDayDoc>(
            {
              ...(condition && { condition }),
              operations: [
                { op: "set", path: `/uses/${key}`, value: use },
                ...(source === "as edited" ? [{ op: "set" as const, path: `/${edit}`, value: revision }] : []),
              ],
            },
            { abortSignal },
          ),
        );
        return true;
      } catch (error) {
        if (statusOf(error) === 412) return true; // counted already
        if (statusOf(error) === 404) return false;
        throw error;
      }
    };
    if (await patch()) return;
    const doc: TagDayDoc = {
      id,
      workspaceId,
      type: "tag-day",
      day,
      uses: { [key]: use },
      ...(source === "as edited" && { [edit]: revision }),
    };
    try {
      await this.call("count tag usage", deadline, (abortSignal) => this.container.items.create(doc, { abortSignal }));
      return;
    } catch (error) {
      // Created meanwhile by another writer, or by our own attempt whose answer was lost: patch it.
      if (statusOf(error) !== 409) throw error;
    }
    if (!(await patch()))
      throw new StoreUnavailableError(`Cosmos DB reported the tag usage of ${day} as existing but could not update it.`);
  }

  /** Runs one store operation; vendor errors the callers did not handle become domain errors here. */
  private async translate<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw domainError(what, error);
    }
  }
}

/** A short random pause before reading a document again after losing an etag race; out of time: unavailable. */
async function pauseAfterConflict(conflicts: number, deadline: number, what: string, cause: unknown): Promise<void> {
  const wait = Math.random() * Math.min(200, 10 * 2 ** conflicts);
  if (Date.now() + wait >= deadline) {
    throw new StoreUnavailableError(`Cosmos DB could not ${what}: the document kept changing.`, { cause });
  }
  await sleep(wait);
}

/**
 * The id of the day's document holding this incident number's use: one per TAG_CHUNK numbers, so its
 * size is bounded. The workspace's hash is in it because @vercel/cosmosdb-server evaluates a patch's
 * condition against every document with the id, whatever its partition; real Cosmos DB needs only the
 * day and chunk, but an id unique across workspaces is right for both.
 */
function tagDayId(workspaceId: string, day: string, incidentNumber: number): string {
  const workspace = createHash("sha256").update(workspaceId).digest("hex").slice(0, 16);
  return `${TAG_DAY_PREFIX}${day}:${workspace}:${Math.floor(incidentNumber / TAG_CHUNK)}`;
}

/** Lone surrogates as U+FFFD: JSON would escape each as 6 bytes, and the chunk's bound assumes at most 3 per character. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/**
 * Per tag (case-insensitively) of one day: how many incidents used it, the latest use, and the
 * spelling of its first use (earliest incident, then lowest number). Pure.
 */
function usageOfDay(day: string, uses: Record<string, TagUse> | undefined): TagDayUsage[] {
  const byKey = new Map<string, { tag: string; count: number; lastUsedUtc: string; first: [string, number] }>();
  for (const [key, [at, ...tags]] of Object.entries(uses ?? {})) {
    const first: [string, number] = [at, Number(key.slice(1))];
    const seen = new Set<string>();
    for (const tag of tags) {
      const lower = tag.toLowerCase();
      if (seen.has(lower)) continue;
      seen.add(lower);
      const entry = byKey.get(lower);
      if (!entry) {
        byKey.set(lower, { tag, count: 1, lastUsedUtc: at, first });
        continue;
      }
      entry.count += 1;
      if (at > entry.lastUsedUtc) entry.lastUsedUtc = at;
      if (first[0] < entry.first[0] || (first[0] === entry.first[0] && first[1] < entry.first[1])) {
        entry.tag = tag;
        entry.first = first;
      }
    }
  }
  return [...byKey.values()]
    .sort((a, b) => (a.first[0] === b.first[0] ? a.first[1] - b.first[1] : a.first[0] < b.first[0] ? -1 : 1))
    .map(({ tag, count, lastUsedUtc }) => ({ day, tag, count, lastUsedUtc }));
}

function domainError(what: string, error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  const status = statusOf(error);
  if (status === 401 || status === 403) {
    return new StoreUnavailableError(
      `Cosmos DB refused to ${what} (HTTP ${status}): check COSMOS_KEY, or that the bot's identity has the "Cosmos DB ` +
        'Built-in Data Contributor" role on the account.',
      { cause: error },
    );
  }
  if (status === 404) {
    return new StoreUnavailableError(
      `Cosmos DB could not ${what}: the database or container was not found (HTTP 404). Was it deleted?`,
      { cause: error },
    );
  }
  if (status !== undefined && status >= 500) {
    return new StoreUnavailableError(`Cosmos DB failed to ${what} (HTTP ${status}).`, { cause: error });
  }
  if (isCredentialError(error)) {
    return new StoreUnavailableError(`Could not get a Microsoft Entra ID token for Cosmos DB (${describeFailure(error)}).`, {
      cause: error,
    });
  }
  if (status === 413) {
    return new IncidentTooLargeError(`Cosmos DB refused to ${what}: the document is over its item size limit (HTTP 413).`, {
      cause: error,
    });
  }
  if (status !== undefined) {
    // 400, ...: a bug on our side, not an outage.
    return new Error(`Cosmos DB rejected the request to ${what} (HTTP ${status}).`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isCredentialError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "CredentialUnavailableError" || name === "AuthenticationError" || name === "AggregateAuthenticationError";
}

/** What the Cosmos DB store needs; `cosmosSettings` in config.ts maps it from the COSMOS_* settings. */
export interface CosmosSettings {
  /** The account's URI. */
  endpoint: string;
  /** key: the account key; entra: Microsoft Entra ID (a managed identity, az login, ...). */
  auth: "key" | "entra";
  key?: string;
  /** Client id of a user-assigned managed identity (entra only). Absent: DefaultAzureCredential. */
  managedIdentityClientId?: string;
  database: string;
  container: string;
  /** Create the database and container at start-up when missing. */
  createIfMissing: boolean;
  /** Total time one store operation may spend, retries included, and the longest wait for one request. */
  retryBudgetMs: number;
  requestTimeoutMs: number;
  /** Discover the account's regions (true for Azure; false for emulators and the test server). */
  endpointDiscovery: boolean;
}

/** Test hooks for `openCosmosStore`. */
export interface CosmosStoreOptions {
  /**
   * Merged into the CosmosClient options (connectionPolicy is merged field by field): tests pass an agent, endpoint discovery
   * off.
   */
  clientOptions?: Partial<CosmosClientOptions>;
  /** Used instead of the Entra ID credential built from the configuration. */
  credential?: TokenCredential;
}

/**
 * Connects to Cosmos DB as configured and checks that the database and container exist (creating
 * them when COSMOS_CREATE_IF_MISSING=true). Fails with a StoreUnavailableError that says what is
 * missing and how to fix it.
 */
export async function openCosmosStore(settings: CosmosSettings, options: CosmosStoreOptions = {}): Promise<CosmosIncidentStore> {
  const { endpoint, auth } = settings;
  if (!endpoint) throw new StoreUnavailableError("COSMOS_ENDPOINT is not set: set it to the Cosmos DB account's URI.");
  const policy: RetryPolicy = { budgetMs: settings.retryBudgetMs, requestTimeoutMs: settings.requestTimeoutMs };
  const client = new CosmosClient({
    endpoint,
    ...(auth === "key" ? { key: settings.key } : { aadCredentials: options.credential ?? entraCredential(settings) }),
    userAgentSuffix: "soc-incident-bot",
    ...options.clientOptions,
    connectionPolicy: {
      requestTimeout: settings.requestTimeoutMs,
      enableEndpointDiscovery: settings.endpointDiscovery,
      // Throttling is retried by this adapter, within its budget and after the server's retry-after.
      retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 0 },
      ...options.clientOptions?.connectionPolicy,
    },
  });
  try {
    const container = await ensureContainer(client, settings, policy);
    return new CosmosIncidentStore(client, container, policy);
  } catch (error) {
    client.dispose();
    throw error;
  }
}

function entraCredential(settings: CosmosSettings): TokenCredential {
  return settings.managedIdentityClientId
    ? new ManagedIdentityCredential({ clientId: settings.managedIdentityClientId })
    : new DefaultAzureCredential();
}

const ENTRA_CANT_CREATE = " (this needs key auth: Entra ID data-plane roles can't create databases or containers)";

async function ensureContainer(client: CosmosClient, settings: CosmosSettings, policy: RetryPolicy): Promise<Container> {
  const { auth, database: databaseId, container: containerId } = settings;
  const where = `Cosmos DB at ${settings.endpoint}`;
  const deadline = Date.now() + policy.budgetMs;
  const howToCreate =
    `Create it (container "${containerId}" with partition key ${PARTITION_KEY_PATH} in database "${databaseId}"), for ` +
    "example with " +
    `\`az cosmosdb sql container create --account-name <account> --resource-group <group> --database-name ${databaseId} ` +
    `--name ${containerId} --partition-key-path ${PARTITION_KEY_PATH}\`, ` +
    "or set COSMOS_CREATE_IF_MISSING=true to let the bot create it at " +
    `start-up${auth === "entra" ? ENTRA_CANT_CREATE : ""}.`;
  const step = async <T>(what: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await withRetries(what, deadline, policy, request);
    } catch (error) {
      if (error instanceof StoreUnavailableError)
        throw new StoreUnavailableError(`Can't reach ${where}: ${error.message}`, { cause: error.cause });
      throw error;
    }
  };
  const exists = async (what: string, request: (signal: AbortSignal) => Promise<unknown>): Promise<boolean> => {
    try {
      await step(what, request);
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw startupError(what, where, error);
    }
  };
  const database = client.database(databaseId);
  const container = database.container(containerId);

  if (!(await exists("read the database", (abortSignal) => database.read({ abortSignal })))) {
    if (!settings.createIfMissing) {
      throw new StoreUnavailableError(`${where} has no database "${databaseId}" (COSMOS_DATABASE). ${howToCreate}`);
    }
    try {
      await step("create the database", (abortSignal) => client.databases.createIfNotExists({ id: databaseId }, { abortSignal }));
    } catch (error) {
      throw startupError(`create the database "${databaseId}"`, where, error);
    }
  }

  if (!(await exists("read the container", (abortSignal) => container.read({ abortSignal })))) {
    if (!settings.createIfMissing) {
      throw new StoreUnavailableError(
        `${where} has no container "${containerId}" (COSMOS_CONTAINER) in database "${databaseId}". ${howToCreate}`,
      );
    }
    try {
      await step("create the container", (abortSignal) =>
        database.containers.createIfNotExists(
          { id: containerId, partitionKey: { paths: [PARTITION_KEY_PATH] }, indexingPolicy: INDEXING_POLICY },
          { abortSignal },
        ),
      );
    } catch (error) {
      throw startupError(`create the container "${containerId}"`, where, error);
    }
  }

  const { resource } = await step("read the container", (abortSignal) => container.read({ abortSignal }));
  const paths = resource?.partitionKey?.paths ?? [];
  if (paths.length !== 1 || paths[0] !== PARTITION_KEY_PATH) {
    throw new StoreUnavailableError(
      `The container "${containerId}" in database "${databaseId}" is partitioned on ${paths.join(", ") || "nothing"}, but ` +
        `this bot needs ${PARTITION_KEY_PATH}. ` +
        `A partition key can't be changed: create a new container with partition key ${PARTITION_KEY_PATH} and set ` +
        "COSMOS_CONTAINER to it.",
    );
  }
  return container;
}

function startupError(what: string, where: string, error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  const status = statusOf(error);
  if (status === 401 || status === 403) {
    return new StoreUnavailableError(
      `${where} refused to ${what} (HTTP ${status}). With key auth, check COSMOS_KEY. With Entra ID, give the bot's identity ` +
        "the " +
        '"Cosmos DB Built-in Data Contributor" role on the account, and create the database and container beforehand ' +
        "(data-plane roles can't create them).",
      { cause: error },
    );
  }
  return domainError(what, error);
}
