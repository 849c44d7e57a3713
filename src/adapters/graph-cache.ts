/**
 * A small in-process cache: entries expire by age, and the oldest go first when it is full.
 * Per process only: each instance of the bot warms its own (fine for read-mostly directory data).
 */
export class BoundedCache<K, V> {
  private readonly items = new Map<K, { value: V; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  set(key: K, value: V): void {
    this.items.delete(key);
    this.items.set(key, { value, at: this.now() });
    while (this.items.size > this.capacity) {
      const oldest = this.items.keys().next();
      if (oldest.done) break;
      this.items.delete(oldest.value);
    }
  }

  /** The value stored less than `maxAgeMs` ago (so never, with 0). */
  get(key: K, maxAgeMs: number): V | undefined {
    const item = this.items.get(key);
    return item && this.now() - item.at < maxAgeMs ? item.value : undefined;
  }

  /** Removes the entry for `key` if it still holds `value` (a later set is left alone). */
  forget(key: K, value: V): void {
    if (this.items.get(key)?.value === value) this.items.delete(key);
  }

  /** Every value stored less than `maxAgeMs` ago. */
  *values(maxAgeMs: number): Generator<V> {
    const now = this.now();
    for (const item of this.items.values()) if (now - item.at < maxAgeMs) yield item.value;
  }
}

/** Runs `work` once per key at a time: callers asking for the same thing meanwhile share its promise. */
export class InFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = work();
    this.running.set(key, promise);
    const done = () => {
      if (this.running.get(key) === promise) this.running.delete(key);
    };
    promise.then(done, done);
    return promise;
  }
}
