import type { Actor, EntryPoint, Incident, Owner } from "./model";
import { PROVIDER_NAME } from "./model";
import type { Clock, Directory, DirectoryEntry, IncidentStore, TagDayUsage } from "./ports";
import { rankTags, suggestTags, windowStartDay, type RankedTag } from "./tags";
import { ASSIGN_TO_ME, checkForm, type FieldErrors, type IncidentForm } from "./validation";

export type CreateResult =
  | { kind: "created"; incident: Incident; /** false: this submission had already created it */ isNew: boolean }
  | { kind: "invalid"; errors: FieldErrors };

export interface IncidentServiceOptions {
  store: IncidentStore;
  directory: Directory;
  workspaceId: string;
  clock?: Clock;
  /** How long tag usage read from the store is reused, in ms. */
  tagCacheMs?: number;
}

/** Owner typeahead shows at most this many (Teams shows 15). */
export const OWNER_RESULTS_MAX = 15;

/** The use cases: create an incident from a form, suggest tags, find owners. */
export class IncidentService {
  private readonly store: IncidentStore;
  private readonly directory: Directory;
  private readonly clock: Clock;
  private readonly tagCacheMs: number;
  readonly workspaceId: string;
  private tagCache: { at: number; since: string; usage: Promise<TagDayUsage[]> } | undefined;

  constructor(options: IncidentServiceOptions) {
    this.store = options.store;
    this.directory = options.directory;
    this.workspaceId = options.workspaceId;
    this.clock = options.clock ?? (() => new Date());
    this.tagCacheMs = options.tagCacheMs ?? 30_000;
  }

  /**
   * Validates the whole form (owner resolved in the directory, never taken from the card), then
   * stores it once: the same submission id always yields the same incident.
   */
  async create(form: IncidentForm, actor: Actor, entryPoint: EntryPoint): Promise<CreateResult> {
    const checked = checkForm(form);
    const errors: FieldErrors = checked.ok ? {} : { ...checked.errors };
    const owner = errors.owner ? undefined : await this.resolveOwner(form.owner.trim(), actor, errors);
    if (!checked.ok || Object.keys(errors).length > 0) return { kind: "invalid", errors };

    const v = checked.value;
    const now = this.clock().toISOString();
    const outcome = await this.store.create({
      id: v.id,
      workspaceId: this.workspaceId,
      title: v.title,
      description: v.description,
      severity: v.severity,
      status: v.status,
      ...(v.classification && { classification: v.classification }),
      ...(v.classificationReason && { classificationReason: v.classificationReason }),
      ...(v.classificationComment && { classificationComment: v.classificationComment }),
      ...(owner && { owner }),
      labels: v.tags.map((labelName) => ({ labelName, labelType: "User" as const })),
      createdTimeUtc: now,
      lastModifiedTimeUtc: now,
      createdBy: actor,
      entryPoint,
      providerName: PROVIDER_NAME,
    });
    if (outcome.created && v.tags.length) this.tagCache = undefined;
    return { kind: "created", incident: outcome.incident, isNew: outcome.created };
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

  private async rankedTags(): Promise<RankedTag[]> {
    const now = this.clock();
    const since = windowStartDay(now);
    const cached = this.tagCache;
    if (!cached || cached.since !== since || now.getTime() - cached.at > this.tagCacheMs) {
      const usage = this.store.tagUsage(this.workspaceId, since);
      this.tagCache = { at: now.getTime(), since, usage };
      // A failed read must not stay cached.
      usage.catch(() => {
        if (this.tagCache?.usage === usage) this.tagCache = undefined;
      });
    }
    return rankTags(await this.tagCache!.usage, now);
  }

  private async resolveOwner(ref: string, actor: Actor, errors: FieldErrors): Promise<Owner | undefined> {
    if (!ref) return undefined;
    const objectId = ref === ASSIGN_TO_ME ? actor.objectId : ref;
    if (!objectId) {
      errors.owner = "Teams did not tell us who you are, so \"Assign to me\" can't be used here. Search for yourself instead.";
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
