import type { Activity } from "botbuilder";

/**
 * Per-person rate limits, kept in this process's memory.
 *
 * Not guaranteed: a shared limit across instances. With the Cosmos DB store and N bot instances
 * behind a load balancer, a person can make up to N times the limit (each instance counts alone).
 * Counts are lost on restart. That is enough to stop a runaway client or a stuck button from
 * flooding the store; it is not a quota.
 */

/** A token bucket per key: `perMinute` requests in a burst, then one more every 60/perMinute s. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
    /** Above this many keys, full (idle) buckets are dropped. Bounds memory whatever the traffic. */
    private readonly maxKeys = 10_000,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  /** Takes one request for `key`: 0 when allowed, else how many ms until one is. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key);
    const tokens = bucket ? Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.refillPerMs) : this.perMinute;
    if (tokens >= 1) {
      if (!bucket && this.buckets.size >= this.maxKeys) this.sweep(now);
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      return 0;
    }
    this.buckets.set(key, { tokens, at: now });
    return Math.ceil((1 - tokens) / this.refillPerMs);
  }

  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.refillPerMs >= this.perMinute) this.buckets.delete(key);
    }
    // Everyone is busy: forget the oldest rather than grow without bound.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

export interface RateLimitSettings {
  createsPerMinute: number;
  searchesPerMinute: number;
  /** Card buttons and message-extension dialogs. Absent: no limit. */
  actionsPerMinute?: number;
}

/** The limits the bot applies: creating incidents and typeahead searches, each per person. */
export class RateLimits {
  readonly creates: RateLimiter;
  readonly searches: RateLimiter;
  readonly actions: RateLimiter;

  constructor(settings: RateLimitSettings, now: () => number = Date.now) {
    this.creates = new RateLimiter(settings.createsPerMinute, now);
    this.searches = new RateLimiter(settings.searchesPerMinute, now);
    this.actions = new RateLimiter(settings.actionsPerMinute ?? Number.MAX_SAFE_INTEGER, now);
  }

  /** No limits: for callers that construct the bot without settings. */
  static none(): RateLimits {
    return new RateLimits({ createsPerMinute: Number.MAX_SAFE_INTEGER, searchesPerMinute: Number.MAX_SAFE_INTEGER });
  }
}

/** Whom a request counts against: the person's directory id, else their Teams id, within their tenant. */
export function rateKey(activity: Pick<Activity, "from" | "conversation" | "channelData">): string {
  const data = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const tenant = typeof data?.tenant?.id === "string" ? data.tenant.id : (activity.conversation?.tenantId ?? "");
  const who = activity.from?.aadObjectId || activity.from?.id || "unknown";
  return `${tenant}/${who}`.toLowerCase();
}

function seconds(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return `${s} second${s === 1 ? "" : "s"}`;
}

/** The banner on a form that was not submitted because of the limit. */
export function createLimitBanner(perMinute: number, retryMs: number): string {
  return (
    `You have reached the limit of ${perMinute} new incidents a minute, so nothing was saved. Everything you typed is ` +
    `still here: try Create incident again in ${seconds(retryMs)}.`
  );
}

/** The answer to a button or dialog over the limit. */
export function actionLimitMessage(retryMs: number): string {
  return `Too many clicks in a short time, so nothing was done. Try again in ${seconds(retryMs)}.`;
}

/** The message of a typeahead refused because of the limit. */
export function searchLimitMessage(retryMs: number): string {
  return `Too many searches in a short time. Try again in ${seconds(retryMs)}.`;
}
