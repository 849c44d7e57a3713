import { StoreUnavailableError } from "../incidents/errors";
import { backoffMs, sleep } from "./backoff";

/**
 * Cosmos DB fault handling, kept apart from the store's logic: which answers are transient, how long
 * to wait, and when to give up. All knowledge of Cosmos status codes stays in src/adapters.
 */

export interface RetryPolicy {
  /** Total time one store operation may spend, retries and waits included. */
  budgetMs: number;
  /** Longest wait for one HTTP request before it counts as lost and is retried. */
  requestTimeoutMs: number;
}

/** HTTP statuses Cosmos DB (or a gateway in front of it) uses for "try again". */
const TRANSIENT_STATUSES = new Set([
  408, // request timeout
  429, // throttled: the answer says how long to wait (x-ms-retry-after-ms)
  449, // retry with: a concurrent internal operation
  502, // bad gateway (proxies)
  503, // service unavailable
  504, // gateway timeout
]);

/** Socket-level failures (Node and @azure/core-rest-pipeline codes). ENOTFOUND is left out: it is usually a wrong endpoint. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "REQUEST_SEND_ERROR",
  "TimeoutError", // @azure/cosmos's own request timeout
]);

const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** A 429 without a retry-after header. */
const DEFAULT_THROTTLE_WAIT_MS = 100;

/** Our per-request timer fired. */
class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** The HTTP status of a Cosmos error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === "number") return code;
  if (typeof statusCode === "number") return statusCode;
  return undefined;
}

/** Whether trying the same request again may succeed. */
export function isTransient(error: unknown): boolean {
  if (error instanceof RequestTimeoutError) return true;
  const status = statusOf(error);
  if (status !== undefined) return TRANSIENT_STATUSES.has(status);
  if (typeof error !== "object" || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === "string" && TRANSIENT_NETWORK_CODES.has(code)) || name === "AbortError";
}

/** Short words for a failure, for messages and logs (never a secret: no headers, no bodies). */
export function describeFailure(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined) return `HTTP ${status}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function retryAfterMs(error: unknown): number | undefined {
  if (statusOf(error) !== 429) return undefined;
  const value = (error as { retryAfterInMs?: unknown }).retryAfterInMs;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : DEFAULT_THROTTLE_WAIT_MS;
}

/**
 * Runs one Cosmos request, retrying transient failures until `deadline` (epoch ms). Each attempt gets
 * its own abort signal and timer, so a stalled connection costs at most `requestTimeoutMs`; a 429 waits
 * what the server asked for. Non-transient errors (404, 409, 412, ...) go straight to the caller, who
 * knows what they mean. Out of time: StoreUnavailableError with the last vendor error as cause.
 *
 * The SDK's own throttling retries are switched off by the client options (see cosmos-store.ts); its
 * retry of reads after a dropped connection is cut short by the per-attempt timer.
 */
export async function withRetries<T>(
  what: string,
  deadline: number,
  policy: RetryPolicy,
  request: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw gaveUp(what, policy, lastError);
    const controller = new AbortController();
    const timeoutMs = Math.min(policy.requestTimeoutMs, remaining);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new RequestTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    const work = request(controller.signal);
    // An abandoned attempt may still fail later; that is expected, not an unhandled rejection.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, timedOut]);
    } catch (error) {
      lastError = error;
      if (!isTransient(error)) throw error;
      const wait = retryAfterMs(error) ?? backoffMs(attempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      if (Date.now() + wait >= deadline) throw gaveUp(what, policy, error);
      await sleep(wait);
    } finally {
      clearTimeout(timer);
    }
  }
}

function gaveUp(what: string, policy: RetryPolicy, lastError: unknown): StoreUnavailableError {
  const last = lastError === undefined ? "no attempt fitted in the time left" : `last failure: ${describeFailure(lastError)}`;
  return new StoreUnavailableError(`Cosmos DB could not ${what} within the ${policy.budgetMs} ms retry budget (${last}).`, {
    cause: lastError,
  });
}
