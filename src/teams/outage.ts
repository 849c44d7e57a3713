import { DirectoryUnavailableError, IncidentTooLargeError, StoreUnavailableError } from "../incidents/errors";
import type { Logger } from "../log";

/** Words for a person when an incident can't hold more (the store's limit or the bot's bound): said, never a 500. */
export const TOO_LARGE =
  "This incident holds as much as one incident can, so nothing was saved. Ask a SOC analyst to record it another way " +
  "(in Microsoft Sentinel, or on a new incident that refers to this one).";

/** Words for a person when a dependency is down; undefined for errors that are bugs. */
export function unavailableBanner(error: unknown): string | undefined {
  if (error instanceof StoreUnavailableError) {
    return (
      "The incident store is not answering, so nothing was saved. Everything you typed is still here: send it again " +
      "in a moment."
    );
  }
  if (error instanceof IncidentTooLargeError) return TOO_LARGE;
  if (error instanceof DirectoryUnavailableError) {
    return "The directory is not answering, so nothing was saved. Everything you typed is still here: try again in a moment.";
  }
  return undefined;
}

/**
 * The one answer to "a dependency is down": runs `work`; when the store or the directory does not
 * answer, logs it and returns `instead(banner)`: the form back as typed with the banner (the
 * default `answered`), or an empty answer for a search. Any other error is a bug and goes on up.
 */
export async function whenDown<T>(
  log: Logger,
  during: string,
  work: () => Promise<T>,
  instead: (banner: string) => T | Promise<T>,
  answered = "form returned with values kept",
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const banner = unavailableBanner(error);
    if (!banner) throw error;
    const what = error instanceof IncidentTooLargeError ? "incident too large" : "dependency unavailable";
    log.warn({ err: error }, `${what} during ${during}; ${answered}`);
    return instead(banner);
  }
}
