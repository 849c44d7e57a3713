import autocannon from "autocannon";

/** One measured load: autocannon sends the requests; latencies are kept at full precision. */
export interface LoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:3978 */
  url: string;
  path?: string;
  connections: number;
  /** The run stops after this long... */
  durationSec: number;
  /** ...or after this many requests, whichever comes first. */
  maxRequests: number;
  /** A fresh body for every request (autocannon's setupRequest hook). */
  body: () => string;
}

export interface LoadResult {
  connections: number;
  /** Answered with 2xx. */
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** 2xx answers per second over the whole run. */
  rps: number;
  /** Latencies in ms (2xx only), from autocannon's own hrtime per request. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/**
 * autocannon's own percentiles are whole milliseconds (its histogram truncates), too coarse for
 * sub-millisecond floors; so each response's time, which autocannon measures with hrtime, is kept here.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        maxOverallRequests: Math.max(options.maxRequests, options.connections),
        timeout: 10,
        requests: [
          {
            method: "POST",
            path: options.path ?? "/api/messages",
            headers: { "content-type": "application/json" },
            setupRequest: (request) => ({ ...request, body: options.body() }),
          },
        ],
      },
      (error) => {
        if (error) {
          reject(error);
          return;
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        latencies.sort((a, b) => a - b);
        const sum = latencies.reduce((s, v) => s + v, 0);
        resolve({
          connections: options.connections,
          ok: latencies.length,
          non2xx,
          errors,
          seconds: round(seconds, 3),
          rps: round(latencies.length / seconds, 1),
          p50: round(percentile(latencies, 50), 3),
          p90: round(percentile(latencies, 90), 3),
          p99: round(percentile(latencies, 99), 3),
          mean: round(latencies.length ? sum / latencies.length : NaN, 3),
          max: round(latencies.length ? latencies[latencies.length - 1]! : NaN, 3),
        });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else non2xx++;
    });
    instance.on("reqError", () => {
      errors++;
    });
  });
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Median of several runs' values (the machine is shared and noisy). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
