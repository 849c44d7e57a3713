import Database from "better-sqlite3";
import { createLogger, type Logger } from "../../src/log";
import type { OpenIdServer } from "./openid";
import { TENANT } from "./teams";

/** The bot's app registration in the auth tests. */
export const APP_ID = "6a3f0c57-3b1d-4c2e-9f80-00000000b07a";
export const APP_SECRET = "Zq8~app-password-that-must-never-be-logged";

/** The settings that turn authentication on, against the local OpenID server and token endpoint. */
export function authEnv(idp: OpenIdServer): Record<string, string> {
  return {
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: APP_SECRET,
    MicrosoftAppType: "SingleTenant",
    MicrosoftAppTenantId: TENANT,
    BOT_OPENID_METADATA_URL: idp.metadataUrl,
    BOT_TOKEN_ENDPOINT: idp.tokenEndpoint,
    // The fake Bot Connector runs on this machine.
    TRUSTED_SERVICE_URLS: "http://127.0.0.1:",
  };
}

export interface HttpAnswer {
  status: number;
  /** Parsed JSON, or the text when it is not JSON. */
  body: any;
  text: string;
}

/** POSTs raw bytes to /api/messages with exactly these headers. */
export async function postRaw(botUrl: string, body: string | Uint8Array, headers: Record<string, string> = { "content-type": "application/json" }): Promise<HttpAnswer> {
  const res = await fetch(`${botUrl}/api/messages`, { method: "POST", headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, text };
}

/** POSTs an activity as the Bot Connector does, with a bearer token when given. */
export function postActivity(botUrl: string, activity: unknown, token?: string): Promise<HttpAnswer> {
  return postRaw(botUrl, JSON.stringify(activity), { "content-type": "application/json", ...(token !== undefined && { authorization: `Bearer ${token}` }) });
}

/** Whether the bot still answers its health check. */
export async function healthy(botUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${botUrl}/healthz`);
    return res.status === 200 && ((await res.json()) as { status?: string }).status === "ok";
  } catch {
    return false;
  }
}

export interface Stored {
  incidents: number;
  /** Every incident's number, ascending. */
  numbers: number[];
  /** The workspace's last number handed out (0 when none). */
  lastNumber: number;
  /** Sum of the per-day tag counts. */
  tagUses: number;
}

/** What the SQLite file holds, read through a connection of its own (as a restarted bot would). */
export function storedIn(file: string): Stored {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const numbers = db.prepare<[], { n: number }>("SELECT incident_number AS n FROM incidents ORDER BY incident_number").all().map((r) => r.n);
    const lastNumber = db.prepare<[], { n: number | null }>("SELECT max(last_number) AS n FROM counters").get()?.n ?? 0;
    const tagUses = db.prepare<[], { n: number | null }>("SELECT sum(count) AS n FROM tag_usage").get()?.n ?? 0;
    return { incidents: numbers.length, numbers, lastNumber, tagUses };
  } finally {
    db.close();
  }
}

/**
 * Whether tag usage is exactly what the stored incidents' labels (restricted ones' excepted) add up to, per workspace, UTC day
 * and tag: the proof that no create was half-written (an incident without its tag counts, or the
 * other way round). Returns the differences, empty when consistent.
 */
export function tagUsageMismatches(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const expected = new Map<string, number>();
    for (const row of db.prepare<[], { workspace_id: string; doc: string }>("SELECT workspace_id, doc FROM incidents").iterate()) {
      const incident = JSON.parse(row.doc) as { createdTimeUtc: string; labels: { labelName: string }[]; restricted?: boolean };
      // A restricted incident's tags are never counted (countedTags, src/incidents/tags.ts).
      if (incident.restricted) continue;
      const day = incident.createdTimeUtc.slice(0, 10);
      for (const { labelName } of incident.labels) {
        const key = `${row.workspace_id}|${day}|${labelName.toLowerCase()}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    const actual = new Map<string, number>();
    for (const r of db.prepare<[], { workspace_id: string; day: string; tag_key: string; count: number }>("SELECT workspace_id, day, tag_key, count FROM tag_usage").iterate()) {
      actual.set(`${r.workspace_id}|${r.day}|${r.tag_key}`, r.count);
    }
    const problems: string[] = [];
    for (const key of new Set([...expected.keys(), ...actual.keys()])) {
      if ((expected.get(key) ?? 0) !== (actual.get(key) ?? 0)) problems.push(`${key}: incidents say ${expected.get(key) ?? 0}, tag_usage says ${actual.get(key) ?? 0}`);
    }
    return problems;
  } finally {
    db.close();
  }
}

/** A logger whose JSON lines are kept in memory, as startApp's second argument. */
export function captureLogs(level = "info"): { logger: Logger; text(): string; lines(): Record<string, any>[] } {
  const chunks: string[] = [];
  const logger = createLogger(level, { write: (s: string) => void chunks.push(s) });
  return {
    logger,
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

/** The activity as if it came from another Microsoft Entra tenant. */
export function fromTenant<T extends object>(activity: T, tenantId: string | undefined, conversationTenantId: string | undefined = tenantId): T {
  const a = structuredClone(activity) as any;
  a.channelData = { ...(a.channelData ?? {}), tenant: tenantId === undefined ? undefined : { id: tenantId } };
  if (a.conversation) a.conversation = { ...a.conversation, tenantId: conversationTenantId };
  return a as T;
}
