import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Secrets are redacted wherever they might appear; incident text
 * (titles, descriptions) is never logged at info level.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
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
