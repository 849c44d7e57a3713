import type { Logger } from "./log";

/**
 * Work the bot does on its own, not for a request: runs now or every so often, never twice at once
 * per name, and is waited for on stop. What is not done when it stops stays in the store (an
 * outbox), for the next start or another instance.
 */
export class Background {
  private readonly running = new Set<Promise<unknown>>();
  private readonly busy = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** Starts `work` now; a failure is logged with `what`, never thrown. Nothing once stopping. */
  run(what: string, work: () => Promise<unknown>): void {
    if (this.stopped) return;
    const running: Promise<unknown> = Promise.resolve()
      .then(work)
      .catch((error: unknown) => this.log.warn({ err: error, work: what }, "background work failed"))
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /** Runs `work` now and then every `ms`, skipping a turn while the last one is still running. */
  every(ms: number, what: string, work: () => Promise<unknown>): void {
    const tick = () => {
      if (this.busy.has(what)) return;
      this.busy.add(what);
      this.run(what, () => work().finally(() => this.busy.delete(what)));
    };
    const timer = setInterval(tick, ms);
    timer.unref();
    this.timers.push(timer);
    tick();
  }

  /** Starts nothing more and resolves once what is running has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
