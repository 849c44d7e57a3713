import type { TokenCredential } from "@azure/identity";
import {
  AuthenticationHandler,
  Client,
  RedirectHandler,
  RedirectHandlerOptions,
  TelemetryHandler,
  type Context,
  type Middleware,
  type MiddlewareOptions,
} from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials";
import { abortReason, backoffMs, retryAfterMs, sleep } from "./backoff";

export { retryAfterMs };

/** What the Graph client's last middleware calls; global fetch unless a test routes it elsewhere. */
export type FetchLike = (input: RequestInfo, init?: RequestInit) => Promise<Response>;

/** Raised (as the abort reason) when a directory call used up its time. */
export class GraphTimeoutError extends Error {
  override readonly name = "GraphTimeoutError";
  constructor(readonly budgetMs: number) {
    super(`Microsoft Graph did not answer within ${budgetMs} ms`);
  }
}

/** Raised without asking Graph while it has asked us (429 + Retry-After) to hold off. */
export class GraphThrottledError extends Error {
  override readonly name = "GraphThrottledError";
  constructor(readonly waitMs: number) {
    super(`Microsoft Graph asked to wait another ${Math.ceil(waitMs / 1000)} s (throttled)`);
  }
}

/**
 * The time one directory call may take, retries included. Every request of the call carries it
 * (as a per-request middleware option) so the retry middleware knows how long it may still wait.
 */
export class Deadline implements MiddlewareOptions {
  readonly signal: AbortSignal;
  readonly expiresAt: number;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly budgetMs: number) {
    this.expiresAt = Date.now() + budgetMs;
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => this.controller.abort(new GraphTimeoutError(budgetMs)), budgetMs);
  }

  remainingMs(): number {
    return this.expiresAt - Date.now();
  }

  /**
   * `work`, or a GraphTimeoutError once the time is up, whichever comes first. Also covers what
   * the abort signal can't reach (a token request that hangs); `work` is left to settle unobserved.
   */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.signal.aborted) reject(abortReason(this.signal));
      else this.signal.addEventListener("abort", () => reject(abortReason(this.signal)), { once: true });
      work.then(resolve, reject);
    });
  }

  /** Stops the timer; requests still running are aborted. */
  dispose(): void {
    clearTimeout(this.timer);
    if (!this.signal.aborted) this.controller.abort(new GraphTimeoutError(this.budgetMs));
  }
}

const RETRYABLE = new Set([429, 503, 504]);
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 1000;

/**
 * Retries 429, 503 and 504 like the Graph client's RetryHandler (Retry-After honoured, else a
 * short exponential backoff), but only while the wait and another attempt fit in the call's
 * Deadline. When they don't, the throttled answer is passed on at once: the caller degrades
 * instead of keeping Teams waiting. The stock RetryHandler would sleep up to 3 times whatever
 * Retry-After says (capped at 180 s), far beyond any typeahead budget.
 */
export class BudgetedRetryHandler implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly maxRetries = 3,
    /** Time kept for the retried request itself; a retry that can't get this much is not made. */
    private readonly reserveMs = 100,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error("BudgetedRetryHandler needs a next middleware");
    const deadline = context.middlewareControl?.getMiddlewareOptions(Deadline) as Deadline | undefined;
    for (let attempt = 0; ; attempt++) {
      await this.next.execute(context);
      const response = context.response;
      if (!deadline || !response || !RETRYABLE.has(response.status) || attempt >= this.maxRetries) return;
      const waitMs = retryAfterMs(response.headers.get("Retry-After")) ?? backoffMs(attempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      if (waitMs + this.reserveMs > deadline.remainingMs()) return;
      await response.body?.cancel().catch(() => undefined);
      await sleep(waitMs, deadline.signal);
    }
  }
}

/** The chain's last link, as the client's HTTPMessageHandler, with the fetch it is given. */
export class FetchHandler implements Middleware {
  constructor(private readonly fetchImpl: FetchLike) {}

  async execute(context: Context): Promise<void> {
    context.response = await this.fetchImpl(context.request, context.options);
  }
}

/**
 * The Graph client for `base` (Graph's service root: https://graph.microsoft.com or a national cloud's),
 * with a token for `<origin>/.default` from `credential`: the client's own chain with `retry` in its
 * RetryHandler's place (none: the caller's outbox retries) and a fetch of our choosing as the last link.
 * It attaches the token only to https URLs on Graph's hosts or `base`'s host.
 */
export function graphClient(
  base: URL,
  credential: TokenCredential,
  options: { retry?: Middleware; fetch?: FetchLike } = {},
): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [`${base.origin}/.default`] });
  return Client.initWithMiddleware({
    baseUrl: base.origin,
    customHosts: new Set([base.hostname]),
    middleware: [
      new AuthenticationHandler(authProvider),
      ...(options.retry ? [options.retry] : []),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new FetchHandler(options.fetch ?? ((input, init) => fetch(input, init))),
    ],
  });
}
