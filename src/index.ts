import "dotenv/config";
import { ConfigError, loadConfig, telemetrySettings } from "./config";
import type { Telemetry } from "./telemetry";

/**
 * `npm start`: run the bot until SIGTERM/SIGINT, then stop cleanly: refuse new requests at once,
 * let those in flight finish (at most SHUTDOWN_TIMEOUT_MS), close the store, exit 0. A second
 * signal, or the deadline, exits at once with 1: every create is one SQLite transaction, so even
 * then nothing is half-written; a request cut short was not confirmed, and Teams resends it.
 */
async function main(): Promise<void> {
  // Application Insights first, when it is set up: its instrumentations must see http, undici, restify and the Azure SDK
  // load. Without a connection string none of it is loaded.
  const settings = telemetrySettings(loadConfig(process.env));
  const telemetry: Telemetry | undefined = settings ? (await import("./telemetry")).startTelemetry(settings) : undefined;
  const { startApp } = await import("./app");
  const app = await startApp(
    process.env,
    undefined,
    telemetry ? { measures: telemetry.measures, onError: (error) => telemetry.exception(error) } : {},
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now, without waiting for requests in flight\n`);
      process.exit(1);
    }
    stopping = true;
    const deadlineMs = app.config.SHUTDOWN_TIMEOUT_MS;
    // Stops listening before it returns, so this line means new connections are refused. Then what telemetry holds is sent.
    const closing = app
      .close()
      .then(() =>
        telemetry?.shutdown().catch((error: unknown) => process.stderr.write(`telemetry not sent at stop: ${String(error)}\n`)),
      );
    process.stderr.write(
      `${signal}: no longer accepting requests; finishing those in flight (at most ${deadlineMs} ms), then closing the store\n`,
    );
    setTimeout(() => {
      process.stderr.write(`requests still in flight after ${deadlineMs} ms: exiting anyway\n`);
      process.exit(1);
    }, deadlineMs).unref();
    closing.then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else
    process.stderr.write(`The bot could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
