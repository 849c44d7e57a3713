/**
 * Unexpected failures the domain names. Expected outcomes (an invalid form) are values, not errors.
 * Adapters wrap the vendor error as `cause`; only the Teams layer turns these into words for people.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class DirectoryUnavailableError extends Error {
  override readonly name = "DirectoryUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
