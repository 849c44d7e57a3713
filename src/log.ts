import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Secrets are redacted wherever they might appear; incident text
 * (titles, descriptions) is never logged at info level.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  /** Told of each error logged (as `err`) at warn or above: src/telemetry.ts records it as an exception. */
  onError?: (error: Error) => void,
): Logger {
  return pino(
    {
      level,
      ...(onError && {
        hooks: {
          logMethod(args, method, level) {
            const first: unknown = args[0];
            if (level >= 40 && first && typeof first === "object" && "err" in first && first.err instanceof Error) {
              onError(first.err);
            }
            return method.apply(this, args);
          },
        },
      }),
      base: { service: "soc-incident-bot" },
      redact: {
        paths: [
          "*.authorization",
          "*.Authorization",
          "headers.authorization",
          "req.headers.authorization",
          "*.MicrosoftAppPassword",
          "*.COSMOS_KEY",
          "*.GRAPH_CLIENT_SECRET",
          "*.password",
          "*.secret",
          "*.key",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
