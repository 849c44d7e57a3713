import type { Logger } from "../log";

/**
 * Work that need not hold up the person's answer (the card update for everyone, the triage post):
 * it starts at once, runs after the invoke is answered, and is tracked until it ends, so a stop
 * waits for it instead of cutting it off. The one path for all such work.
 */
export class AfterAnswer {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  /** Starts `work`; a failure is logged with `what`, never thrown. */
  start(what: string, work: () => Promise<unknown>): void {
    const running: Promise<unknown> = Promise.resolve()
      .then(work)
      .catch((error: unknown) => this.log.warn({ err: error, work: what }, "work after the answer failed"))
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /** Resolves once all work started so far (and any it started in turn) has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
