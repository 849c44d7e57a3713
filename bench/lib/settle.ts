/** Waits until `value` has not changed for `quietMs` (at most `maxMs`): work a run left behind has landed. */
export async function settled(value: () => number, quietMs = 200, maxMs = 5000): Promise<void> {
  let last = value();
  let stableSince = Date.now();
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && Date.now() - stableSince < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = value();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
}
