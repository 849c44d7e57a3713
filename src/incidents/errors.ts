/**
 * Unexpected failures the domain names. Expected outcomes (an invalid form) are values, not errors.
 * Adapters wrap the vendor error as `cause`; only the Teams layer turns these into words for people.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The incident would be larger than its store keeps (Cosmos DB's 413, or the bot's own bound): nothing was written. */
export class IncidentTooLargeError extends Error {
  override readonly name = "IncidentTooLargeError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class DirectoryUnavailableError extends Error {
  override readonly name = "DirectoryUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Microsoft Sentinel did not take a request. `kind` says what to do: `retry` later (throttled, down,
 * timed out; `retryAfterMs` when it said), `conflict` (the etag is stale: read, merge, write again),
 * `rejected` (400: it won't take this content; `message` is its reason), `forbidden` (the bot's
 * identity lacks the role) and `missing` (no such workspace), both retried slowly until fixed.
 */
export class SentinelError extends Error {
  override readonly name = "SentinelError";
  constructor(
    readonly kind: "retry" | "conflict" | "rejected" | "forbidden" | "missing",
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number | undefined; status?: number | undefined },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
}

/**
 * Microsoft Defender (through Microsoft Graph) did not take a request. `kind` says what to do: `retry`
 * later (throttled, down, timed out, connection lost; `retryAfterMs` when it said; for a create the
 * alert may have been made: look for it before creating again), `rejected` (400: it won't take this
 * content; `message` is its reason), `forbidden` (403: the bot's identity lacks `permission`, retried
 * slowly until granted) and `missing` (404: no such incident).
 */
export class DefenderError extends Error {
  override readonly name = "DefenderError";
  constructor(
    readonly kind: "retry" | "rejected" | "forbidden" | "missing",
    message: string,
    options?: {
      cause?: unknown;
      retryAfterMs?: number | undefined;
      status?: number | undefined;
      permission?: string | undefined;
    },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
    this.permission = options?.permission;
  }
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** The Graph application permission the identity needs (forbidden). */
  readonly permission: string | undefined;
}
