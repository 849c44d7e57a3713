import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./child";
import { TEST_SUBMISSION_SECRET } from "../../test/support/teams";

/** A scratch directory for one scenario's database files; removed by the returned function. */
export function scratchDir(name: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The bot's environment as `npm start` would have it in local mode, logging at info (the default).
 * Per-person rate limits are set to their highest: the bench sends from a handful of people, far
 * faster than people type; the limiter still runs on every request.
 */
export function botEnv(sqlitePath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LOG_LEVEL: "info",
    RATE_LIMIT_CREATES_PER_MINUTE: "10000",
    RATE_LIMIT_SEARCHES_PER_MINUTE: "100000",
    RATE_LIMIT_ACTIONS_PER_MINUTE: "100000",
    // The forms the bench sends carry tokens made with the tests' secret (test/support/teams.ts).
    SUBMISSION_SECRET: TEST_SUBMISSION_SECRET,
    SQLITE_PATH: sqlitePath,
    DIRECTORY_FILE: path.join(ROOT, "data", "directory.json"),
    WORKSPACE_ID: "bench",
    ...extra,
  };
}

export const WORKSPACE_ID = "bench";

/** POSTs one activity; for checks before a measured run. */
export async function post(url: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/messages`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
