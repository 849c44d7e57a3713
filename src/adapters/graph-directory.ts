import type { TokenCredential } from "@azure/identity";
import { GraphError, type Client, type GraphRequest } from "@microsoft/microsoft-graph-client";
import { z } from "zod";
import { DirectoryUnavailableError } from "../incidents/errors";
import type { Actor } from "../incidents/model";
import type { Directory, DirectoryEntry } from "../incidents/ports";
import { azureCredential, type AzureSignIn } from "./azure-credential";
import { BoundedCache, InFlight } from "./graph-cache";
import {
  BudgetedRetryHandler,
  Deadline,
  graphClient,
  GraphThrottledError,
  GraphTimeoutError,
  retryAfterMs,
  type FetchLike,
} from "./graph-middleware";
import { foldOwnerQuery, matchRank, rankOwners } from "../incidents/owners";
import { searchParameter } from "./graph-search";

/** Who counts as a SOC analyst: everyone (no ANALYST_GROUP_ID), or the members of one Entra group. */
export type AnalystRule = "everyone" | "group";

/** Where degraded answers are reported; a pino logger fits. Never given secrets or tokens. */
export interface GraphDirectoryLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface GraphDirectorySettings {
  /** Object id of the analysts' group; undefined: everyone is an analyst. */
  analystGroupId?: string | undefined;
  /** Object id of the restricted-cases team's group; undefined: the analysts are that team. */
  restrictedGroupId?: string | undefined;
  /** Most one call (search, get, isAnalyst) may take, retries included. */
  timeoutMs: number;
  /** How long search results and looked-up entries are reused. */
  cacheMs: number;
  /** How long a membership answer is reused. */
  analystCacheMs: number;
}

export interface GraphDirectoryHooks {
  /** Clock for the caches (tests move it); deadlines always use real time. */
  now?: () => number;
  logger?: GraphDirectoryLogger;
}

/** Largest `limit` honoured: Teams shows 15; this bounds the pages fetched. */
export const SEARCH_LIMIT_MAX = 50;
/** How old an entry may be and still be offered when Graph is failing. */
const FALLBACK_MAX_AGE_MS = 60 * 60_000;
/** Longest Retry-After obeyed by not calling at all (a bad header must not silence Graph for long). */
const THROTTLE_MAX_MS = 5 * 60_000;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Kind = "users" | "groups";
const KINDS: readonly Kind[] = ["users", "groups"];
/** Only what the card needs; groups have no userPrincipalName (Graph rejects selecting it). */
const SELECT: Record<Kind, string[]> = {
  users: ["id", "displayName", "mail", "userPrincipalName"],
  groups: ["id", "displayName", "mail"],
};
const SEARCHED: Record<Kind, string[]> = {
  users: ["displayName", "mail", "userPrincipalName"],
  groups: ["displayName", "mail"],
};

const objectSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
});
const pageSchema = z.object({ value: z.array(objectSchema), "@odata.nextLink": z.string().optional() });
const memberGroupsSchema = z.object({ value: z.array(z.string()) });

/**
 * The directory in Microsoft Entra ID, read through Microsoft Graph with application permissions.
 *
 * - search: users and groups in parallel with `$search` (word prefix on the display name, prefix on
 *   mail and UPN), ranked like the local directory. Answers are reused for `cacheMs`.
 * - Every call gets `timeoutMs` in all, retries included (429/503/504 are retried only while
 *   Retry-After fits in what is left). When Graph fails or runs out of time, search answers from
 *   users and groups seen in the last hour (earlier searches and lookups) that match the query, and
 *   throws DirectoryUnavailableError only when none do: a short list beats an error in a typeahead.
 * - get and isAnalyst never guess: a failure other than "not found" is DirectoryUnavailableError.
 * - isAnalyst: transitive membership of the analysts' group (checkMemberGroups), reused for
 *   `analystCacheMs`, so removing someone from the group takes up to that long to apply.
 * Not guaranteed: the caches are per process, and `$search` is eventually consistent (a user
 * created a minute ago may not be found yet; get by id is not affected).
 */
export class GraphDirectory implements Directory {
  readonly analystRule: AnalystRule;
  private readonly analystGroupId: string | undefined;
  private readonly restrictedGroupId: string | undefined;
  private readonly now: () => number;
  private readonly logger: GraphDirectoryLogger | undefined;
  private readonly searches: BoundedCache<string, DirectoryEntry[]>;
  private readonly known: BoundedCache<string, DirectoryEntry>;
  /** Per user: which of the analysts' and restricted-cases groups they belong to. */
  private readonly memberships: BoundedCache<string, string[]>;
  private readonly searchesInFlight = new InFlight<DirectoryEntry[]>();
  private readonly getsInFlight = new InFlight<DirectoryEntry | undefined>();
  private readonly membershipsInFlight = new InFlight<string[]>();
  /** Until when (real time) Graph asked us not to call, after a 429 that didn't fit in a budget. */
  private throttledUntil = 0;

  constructor(
    private readonly client: Client,
    /** Origin of the Graph service; paging links elsewhere are not followed. */
    private readonly origin: string,
    private readonly settings: GraphDirectorySettings,
    hooks: GraphDirectoryHooks = {},
  ) {
    this.analystGroupId = settings.analystGroupId?.toLowerCase();
    this.restrictedGroupId = settings.restrictedGroupId?.toLowerCase();
    this.analystRule = this.analystGroupId ? "group" : "everyone";
    this.now = hooks.now ?? Date.now;
    this.logger = hooks.logger;
    this.searches = new BoundedCache(500, this.now);
    this.known = new BoundedCache(5000, this.now);
    this.memberships = new BoundedCache(5000, this.now);
  }

  async search(query: string, limit: number): Promise<DirectoryEntry[]> {
    const q = foldOwnerQuery(query);
    const max = Math.min(Math.floor(limit), SEARCH_LIMIT_MAX);
    if (!q || !(max > 0)) return [];
    const key = `${max}\u0000${q}`;
    const cached = this.searches.get(key, this.settings.cacheMs);
    if (cached) return cached.slice();
    // Lower case on purpose: Graph also splits the search text where lower turns to upper case,
    // so "sOc" would look for the words "s" and "oc". Its matching ignores case anyway.
    return this.searchesInFlight.run(key, () => this.searchGraph(q, max, key));
  }

  async get(objectId: string): Promise<DirectoryEntry | undefined> {
    const id = objectId.trim().toLowerCase();
    // Not an object id: nothing to ask Graph (it would answer 400), and nothing to put in a URL.
    if (!GUID.test(id)) return undefined;
    const cached = this.known.get(id, this.settings.cacheMs);
    if (cached) return cached;
    return this.getsInFlight.run(id, () => this.getGraph(id));
  }

  async isAnalyst(actor: Actor): Promise<boolean> {
    const groupId = this.analystGroupId;
    if (!groupId) return true;
    return (await this.groupsOf(actor)).includes(groupId);
  }

  async isRestrictedTeam(actor: Actor): Promise<boolean> {
    const groupId = this.restrictedGroupId;
    if (!groupId) return this.isAnalyst(actor);
    return (await this.groupsOf(actor)).includes(groupId);
  }

  /** Which of the analysts' and restricted-cases groups the person belongs to (one Graph call, cached). */
  private async groupsOf(actor: Actor): Promise<string[]> {
    const id = actor.objectId?.trim().toLowerCase();
    const groupIds = [this.analystGroupId, this.restrictedGroupId].filter((g): g is string => g !== undefined);
    if (!id || !GUID.test(id) || groupIds.length === 0) return [];
    const cached = this.memberships.get(id, this.settings.analystCacheMs);
    if (cached !== undefined) return cached;
    return this.membershipsInFlight.run(id, () => this.checkGroups(id, groupIds));
  }

  private async searchGraph(q: string, limit: number, key: string): Promise<DirectoryEntry[]> {
    const deadline = new Deadline(this.settings.timeoutMs);
    try {
      const outcomes = await Promise.allSettled(KINDS.map((kind) => deadline.race(this.searchKind(kind, q, limit, deadline))));
      const found = outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value : []));
      for (const entry of found) this.known.set(entry.objectId, entry);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (!failed) {
        const result = rankOwners(found, q, limit, "last");
        this.searches.set(key, result);
        return result;
      }
      const earlier = [...this.known.values(FALLBACK_MAX_AGE_MS)].filter((e) => matchRank(e, q) !== undefined);
      const offered = rankOwners([...found, ...earlier], q, limit, "last");
      const reason = describeFailure(failed.reason);
      if (offered.length === 0)
        throw new DirectoryUnavailableError(`Microsoft Graph could not search the directory: ${reason}`, {
          cause: failed.reason,
        });
      this.logger?.warn(
        { directory: "graph", operation: "search", reason, offered: offered.length },
        "owner search answered from earlier results: Microsoft Graph is failing",
      );
      return offered;
    } finally {
      deadline.dispose();
    }
  }

  /** One kind's matches, following `@odata.nextLink` only until `limit` are in hand. */
  private async searchKind(kind: Kind, text: string, limit: number, deadline: Deadline): Promise<DirectoryEntry[]> {
    const entries: DirectoryEntry[] = [];
    let request: GraphRequest = this.client
      .api(`/${kind}`)
      .search(searchParameter(text, SEARCHED[kind]))
      .select(SELECT[kind])
      .top(limit);
    for (;;) {
      const page = pageSchema.parse(await this.send(request.header("ConsistencyLevel", "eventual"), deadline));
      for (const item of page.value) entries.push(toEntry(kind, item));
      const next = page["@odata.nextLink"];
      if (entries.length >= limit || !next || !this.isOwnLink(next)) return entries.slice(0, limit);
      request = this.client.api(next);
    }
  }

  private async getGraph(id: string): Promise<DirectoryEntry | undefined> {
    const deadline = new Deadline(this.settings.timeoutMs);
    try {
      // A user and a group can't share an id: ask for both at once, take whichever exists.
      const entry = await firstDefined(KINDS.map((kind) => deadline.race(this.getKind(kind, id, deadline))));
      if (entry) this.known.set(entry.objectId, entry);
      return entry;
    } catch (error) {
      throw new DirectoryUnavailableError(`Microsoft Graph could not look up a directory object: ${describeFailure(error)}`, {
        cause: error,
      });
    } finally {
      deadline.dispose();
    }
  }

  private async getKind(kind: Kind, id: string, deadline: Deadline): Promise<DirectoryEntry | undefined> {
    try {
      return toEntry(kind, objectSchema.parse(await this.send(this.client.api(`/${kind}/${id}`).select(SELECT[kind]), deadline)));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async checkGroups(userId: string, groupIds: string[]): Promise<string[]> {
    const deadline = new Deadline(this.settings.timeoutMs);
    try {
      let member: string[];
      try {
        // Transitive: members of nested groups count. Answers only with the ids it was given.
        const body = await deadline.race(
          this.send(this.client.api(`/users/${userId}/checkMemberGroups`), deadline, { groupIds }),
        );
        const found = memberGroupsSchema.parse(body).value.map((g) => g.toLowerCase());
        member = groupIds.filter((g) => found.includes(g));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        member = []; // not a user of this tenant
      }
      this.memberships.set(userId, member);
      return member;
    } catch (error) {
      throw new DirectoryUnavailableError(
        `Microsoft Graph could not check membership of the analysts' group: ${describeFailure(error)}`,
        { cause: error },
      );
    } finally {
      deadline.dispose();
    }
  }

  /**
   * GET, or POST with a JSON body, within the deadline: aborted when it expires, retried only inside
   * it. While Graph is throttling us, fails at once: every request would count against the limit.
   */
  private async send(request: GraphRequest, deadline: Deadline, body?: unknown): Promise<unknown> {
    const holdOffMs = this.throttledUntil - Date.now();
    if (holdOffMs > 0) throw new GraphThrottledError(holdOffMs);
    const bounded = request.option("signal", deadline.signal).middlewareOptions([deadline]);
    try {
      return (await (body === undefined ? bounded.get() : bounded.post(body))) as unknown;
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 429) {
        const waitMs = Math.min(retryAfterMs(error.headers?.get("Retry-After") ?? null) ?? 0, THROTTLE_MAX_MS);
        this.throttledUntil = Math.max(this.throttledUntil, Date.now() + waitMs);
      }
      throw error;
    }
  }

  private isOwnLink(link: string): boolean {
    try {
      return new URL(link).origin === this.origin;
    } catch {
      return false;
    }
  }
}

function toEntry(kind: Kind, item: z.infer<typeof objectSchema>): DirectoryEntry {
  const email = item.mail ?? undefined;
  const userPrincipalName = kind === "users" ? (item.userPrincipalName ?? undefined) : undefined;
  return {
    objectId: item.id.toLowerCase(),
    kind: kind === "users" ? "User" : "Group",
    displayName: item.displayName || email || userPrincipalName || item.id,
    ...(email && { email }),
    ...(userPrincipalName && { userPrincipalName }),
  };
}

/** The first promise to give a value; undefined when all give none; the first failure when none gives one. */
async function firstDefined<T>(attempts: Promise<T | undefined>[]): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    let pending = attempts.length;
    let failure: Error | undefined;
    const settle = () => {
      if (--pending > 0) return;
      if (failure) reject(failure);
      else resolve(undefined);
    };
    for (const attempt of attempts) {
      attempt.then(
        (value) => {
          if (value !== undefined) resolve(value);
          settle();
        },
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
          settle();
        },
      );
    }
  });
}

function isNotFound(error: unknown): boolean {
  return error instanceof GraphError && error.statusCode === 404;
}

/** Why a call failed, for messages and logs: status and Graph's error code, never tokens or secrets. */
export function describeFailure(error: unknown): string {
  if (error instanceof GraphTimeoutError) return `no answer within ${error.budgetMs} ms`;
  if (error instanceof GraphThrottledError) return `throttled: Graph asked to wait another ${Math.ceil(error.waitMs / 1000)} s`;
  if (error instanceof GraphError) {
    if (error.statusCode > 0) {
      const code = error.code ? ` ${error.code}` : "";
      const hint =
        error.statusCode === 401 || error.statusCode === 403
          ? " (check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and the credential, and that User.Read.All and GroupMember.Read.All " +
            "are granted with admin consent)"
          : "";
      return `HTTP ${error.statusCode}${code}${hint}`;
    }
    // Failures before any answer: signing in (the credential's error names) or the network.
    if (error.code && /Authentication|Credential/.test(error.code)) {
      return (
        `signing in to Microsoft Entra ID failed (${error.code}): check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and the ` +
        "secret, certificate or managed identity"
      );
    }
    return `request failed (${error.code ?? "network error"})`;
  }
  if (error instanceof z.ZodError) return "unexpected answer from Graph";
  if (error instanceof Error) return `${error.name} (signing in to Microsoft Entra ID or reaching Graph failed)`;
  return "unknown failure";
}

export interface GraphDirectoryOptions extends GraphDirectoryHooks {
  /** Replaces the credential built from the GRAPH_* settings (tests, or a caller's own). */
  credential?: TokenCredential;
  /** Replaces global fetch as the client's transport (tests route the https base URL to a local fake). */
  fetch?: FetchLike;
}

/** How the bot signs in to Microsoft Graph: exactly one of a client secret, a certificate or a managed identity. */
export type GraphSignIn = AzureSignIn;

/** What the Graph directory needs; `graphSettings` in config.ts maps it from the GRAPH_* settings. */
export interface GraphSettings extends GraphDirectorySettings {
  /** Service root without version, e.g. https://graph.microsoft.com. */
  baseUrl: string;
  tenantId: string;
  clientId: string;
  signIn: GraphSignIn | undefined;
  /** Sign-in authority for national clouds; undefined: the public cloud's. */
  authorityHost?: string | undefined;
}

/**
 * The Graph directory for these settings: the credential they describe (secret, certificate or
 * managed identity), the Graph client with the token provider for `<baseUrl>/.default`, and a
 * middleware chain whose retries respect the call's time budget.
 */
export function createGraphDirectory(settings: GraphSettings, options: GraphDirectoryOptions = {}): GraphDirectory {
  const base = new URL(settings.baseUrl);
  const credential = options.credential ?? createGraphCredential(settings);
  // The client's chain with BudgetedRetryHandler for its RetryHandler: retries respect the call's time budget.
  const client = graphClient(base, credential, {
    retry: new BudgetedRetryHandler(),
    ...(options.fetch && { fetch: options.fetch }),
  });
  return new GraphDirectory(
    client,
    base.origin,
    {
      analystGroupId: settings.analystGroupId,
      restrictedGroupId: settings.restrictedGroupId,
      timeoutMs: settings.timeoutMs,
      cacheMs: settings.cacheMs,
      analystCacheMs: settings.analystCacheMs,
    },
    { ...(options.now && { now: options.now }), ...(options.logger && { logger: options.logger }) },
  );
}

/** The @azure/identity credential the settings describe. Errors name the setting to fix. */
export function createGraphCredential(
  settings: Pick<GraphSettings, "tenantId" | "clientId" | "signIn" | "authorityHost">,
): TokenCredential {
  const { tenantId, clientId, signIn } = settings;
  if (!tenantId || !clientId) throw new Error("DIRECTORY=graph needs GRAPH_TENANT_ID and GRAPH_CLIENT_ID (see .env.example).");
  if (!signIn) {
    throw new Error(
      "DIRECTORY=graph needs a way to sign in: GRAPH_CLIENT_SECRET, GRAPH_CERTIFICATE_PATH or GRAPH_MANAGED_IDENTITY=true " +
        "(see .env.example).",
    );
  }
  return azureCredential(signIn, {
    tenantId,
    clientId,
    authorityHost: settings.authorityHost,
    certificateSetting: "GRAPH_CERTIFICATE_PATH",
  });
}
