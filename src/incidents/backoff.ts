/**
 * How long to wait before retry number `attempt` (0 for the first): a random time between half and
 * all of `baseMs * 2^attempt`, capped at `maxMs`, so instances that failed together do not retry
 * together. One rule for every retry: the outboxes (src/incidents/mirror.ts, the reporter notices)
 * and the adapters (src/adapters/backoff.ts).
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
