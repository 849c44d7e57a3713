/**
 * Polls `check` every `intervalMs` (100 ms unless a test needs finer) until it gives a value (not
 * undefined/false) and returns it; throws naming `what` after `ceilingMs`. The ceiling is generous on
 * purpose (2 shared cores): a condition that holds returns as soon as it holds, so only a failing
 * test waits that long.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ceilingMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + ceilingMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
