/**
 * Waiting between retries, for every adapter (Cosmos DB, Microsoft Graph): exponential backoff with
 * jitter, so instances that failed together do not retry together. What counts as transient and how
 * long a vendor asks to wait (Retry-After) stay with each adapter.
 */

/**
 * How long to wait before retry number `attempt` (0 for the first): a random time between half and
 * all of `baseMs * 2^attempt`, capped at `maxMs`.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Resolves after `ms`; with a signal, rejects with its reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The reason a signal was aborted with, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}
