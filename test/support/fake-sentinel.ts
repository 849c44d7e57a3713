import { randomUUID } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { TokenCredential } from "@azure/identity";
import { identityCredential, startManagedIdentity } from "./managed-identity";

/**
 * Microsoft Sentinel's REST API (Microsoft.SecurityInsights 2025-09-01: incidents, comments, tasks) as
 * it behaves on the wire, over https with the test certificate (test/support/tls), plus the local
 * managed-identity endpoint Azure App Service gives an app (IDENTITY_ENDPOINT / IDENTITY_HEADER), over
 * http on this machine as App Service's is. Only tokens it issued for its own origin are accepted.
 *
 * Faithful to: bearer token required (401), api-version required (400), bodies checked against the
 * 2025-09-01 definitions (400 with ARM's error shape; read-only properties, a label's type included,
 * refused), Sentinel's own values kept as written (its enums are extensible: `editInPortal` may set a
 * value the bot does not know), 201 on create / 200 on update, an etag on every
 * resource, a stale etag -> 409 "Newer version of resource ... exists", `$filter` on
 * properties/lastModifiedTimeUtc with `gt`, `$orderby` asc/desc, `$top` (max 1000) and absolute
 * `nextLink`s. Faults on demand: any status (429 with Retry-After, 503), slow answers, dropped
 * connections, answers lost after the request was carried out. Every request is recorded.
 */

export const TLS_CA_FILE = path.resolve(__dirname, "tls", "test-server.crt");
const TLS = { cert: fs.readFileSync(TLS_CA_FILE), key: fs.readFileSync(path.resolve(__dirname, "tls", "test-server.key")) };
export const API_VERSION = "2025-09-01";
const API_VERSIONS = new Set(["2025-09-01", "2024-09-01", "2023-02-01", "2021-04-01"]);
const SEVERITIES = ["High", "Medium", "Low", "Informational"];
const STATUSES = ["New", "Active", "Closed"];
const CLASSIFICATIONS = ["Undetermined", "TruePositive", "BenignPositive", "FalsePositive"];
const REASONS = ["SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData"];
const TASK_STATUSES = ["New", "Completed"];

export interface StoredIncident {
  name: string;
  etag: string;
  properties: Record<string, any> & {
    title: string;
    severity: string;
    status: string;
    incidentNumber: number;
    lastModifiedTimeUtc: string;
  };
  comments: Map<string, { etag: string; message: string; createdTimeUtc: string }>;
  tasks: Map<string, { etag: string; title: string; description?: string; status: string }>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  status: number;
  at: number;
}

type Fault =
  | { kind: "status"; status: number; retryAfter?: string; message?: string }
  | { kind: "drop" }
  /** The request is carried out, then the connection is dropped: the answer is lost. */
  | { kind: "lose-answer" }
  | { kind: "stall"; ms: number };

const FAULT_CODES: Record<number, string> = { 400: "BadRequest", 429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable" };

export interface FakeSentinel {
  /** The ARM endpoint (https://127.0.0.1:port). */
  armEndpoint: string;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER, as App Service sets them. */
  identityEndpoint: string;
  identityHeader: string;
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  /** The bot's environment for all of the above (plus NODE_EXTRA_CA_CERTS for a child process). */
  env(): Record<string, string>;
  incidents: Map<string, StoredIncident>;
  requests: RecordedRequest[];
  /** Requests that reached the API (not the identity endpoint), optionally of one method and path pattern. */
  calls(method?: string, pathPattern?: RegExp): RecordedRequest[];
  /** The next `count` API requests (matching `pathPattern`, if given) meet `fault`. */
  failNext(count: number, fault: Fault, pathPattern?: RegExp): void;
  /** Every API request meets `fault` until `heal()`. */
  failAll(fault: Fault): void;
  heal(): void;
  /** A change made by someone in the Sentinel portal: new etag and lastModifiedTimeUtc. */
  editInPortal(id: string, change: Record<string, unknown>): StoredIncident;
  /** Refuses (403) the identity until `grant()`: the role is missing. */
  revokeRole(): void;
  grant(): void;
  tokensIssued(): number;
  /** Gives list pages' nextLinks this origin (e.g. another host) until called with undefined. */
  nextLinkOrigin(origin: string | undefined): void;
  close(): Promise<void>;
}

function armError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

/** Why a PUT incident body is invalid under the 2025-09-01 definitions, or undefined. */
function incidentProblem(body: any): string | undefined {
  if (typeof body !== "object" || body === null || typeof body.properties !== "object" || body.properties === null) {
    return "The request body must have 'properties'.";
  }
  const p = body.properties;
  if (typeof p.title !== "string" || !p.title.trim()) return "Required property 'title' not found in JSON.";
  if (!SEVERITIES.includes(p.severity)) return `Error converting value "${p.severity}" to type 'IncidentSeverity'. Path 'properties.severity'.`;
  if (!STATUSES.includes(p.status)) return `Error converting value "${p.status}" to type 'IncidentStatus'. Path 'properties.status'.`;
  if (p.description !== undefined && typeof p.description !== "string") return "'description' must be a string.";
  if (p.classification !== undefined && !CLASSIFICATIONS.includes(p.classification)) return "Invalid 'classification'.";
  if (p.classificationReason !== undefined && !REASONS.includes(p.classificationReason)) return "Invalid 'classificationReason'.";
  const closing = [p.classification, p.classificationReason, p.classificationComment].some((v) => v !== undefined);
  if (closing && p.status !== "Closed") return "Classification can be set only when the incident status is Closed.";
  if (p.status === "Closed" && p.classification === undefined) return "Classification is required when closing an incident.";
  if (p.classificationReason !== undefined && p.classification === "Undetermined") return "Undetermined takes no classification reason.";
  if (p.labels !== undefined) {
    if (!Array.isArray(p.labels)) return "'labels' must be an array.";
    for (const l of p.labels) {
      if (typeof l?.labelName !== "string" || !l.labelName) return "Each label needs a 'labelName'.";
      // Read-only in the 2025-09-01 definitions: Sentinel sets it ("User" for a label written through the API).
      if (l.labelType !== undefined) return "'labels[].labelType' is read-only.";
    }
  }
  if (p.owner !== undefined) {
    if (typeof p.owner !== "object" || p.owner === null) return "'owner' must be an object.";
    if (p.owner.objectId !== undefined && !/^[0-9a-f-]{36}$/i.test(p.owner.objectId)) return "'owner.objectId' must be a GUID.";
  }
  for (const key of ["incidentNumber", "incidentUrl", "createdTimeUtc", "lastModifiedTimeUtc"]) {
    if (p[key] !== undefined) return `'${key}' is read-only.`;
  }
  return undefined;
}

export async function startFakeSentinel(
  options: { subscriptionId?: string; resourceGroup?: string; workspace?: string; now?: () => Date } = {},
): Promise<FakeSentinel> {
  const subscriptionId = options.subscriptionId ?? "00000000-0000-4000-8000-0000000000aa";
  const resourceGroup = options.resourceGroup ?? "soc-rg";
  const workspace = options.workspace ?? "soc-workspace";
  const now = options.now ?? (() => new Date());
  let roleRevoked = false;
  let nextNumber = 1;
  const incidents = new Map<string, StoredIncident>();
  const requests: RecordedRequest[] = [];
  const faults: { fault: Fault; pattern?: RegExp | undefined }[] = [];
  let always: Fault | undefined;
  let origin = "";
  let nextOrigin: string | undefined;
  const prefix = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${workspace}/providers/Microsoft.SecurityInsights/incidents`;
  const resourceId = (name: string) => `${prefix}/${name}`;
  const newEtag = () => `"${randomUUID()}"`;

  const view = (i: StoredIncident) => ({
    id: resourceId(i.name),
    name: i.name,
    type: "Microsoft.SecurityInsights/Incidents",
    etag: i.etag,
    properties: { ...i.properties, additionalData: { commentsCount: i.comments.size, alertsCount: 0 } },
  });


  const identity = await startManagedIdentity({ resource: () => origin, tokenPrefix: "fake-arm-token-", now });

  const api = https.createServer(TLS, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8"));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const query = Object.fromEntries(url.searchParams.entries());
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const record: RecordedRequest = { method: req.method ?? "", path: url.pathname, query, body, status: 0, at: Date.now() };
    requests.push(record);
    const done = (status: number) => {
      record.status = status;
    };
    const index = faults.findIndex((f) => !f.pattern || f.pattern.test(`${req.method} ${url.pathname}`));
    const fault = index >= 0 ? faults.splice(index, 1)[0]!.fault : always;
    if (fault?.kind === "drop") {
      done(-1);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "stall") await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === "status") {
      done(fault.status);
      return armError(res, fault.status, FAULT_CODES[fault.status] ?? "Error", fault.message ?? "Injected fault.", {
        ...(fault.retryAfter !== undefined && { "retry-after": fault.retryAfter }),
      });
    }
    const auth = req.headers.authorization ?? "";
    if (!identity.accepts(auth)) {
      done(401);
      return armError(res, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.");
    }
    if (!url.searchParams.get("api-version")) {
      done(400);
      return armError(res, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
    }
    if (!API_VERSIONS.has(url.searchParams.get("api-version")!)) {
      done(400);
      return armError(res, 400, "InvalidApiVersionParameter", `The api-version '${url.searchParams.get("api-version")}' is invalid.`);
    }
    if (!url.pathname.startsWith(prefix)) {
      done(404);
      return armError(res, 404, "ResourceNotFound", "The Resource 'Microsoft.OperationalInsights/workspaces' was not found.");
    }
    if (roleRevoked) {
      done(403);
      return armError(res, 403, "AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/write'.");
    }
    const rest = url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    if (fault?.kind === "lose-answer") {
      const lost = { writeHead: () => lost, end: () => lost } as unknown as http.ServerResponse;
      route(req.method ?? "", rest, url, body, lost);
      done(-1);
      req.socket.destroy();
      return;
    }
    const status = route(req.method ?? "", rest, url, body, res);
    done(status);
  }

  function route(method: string, rest: string[], url: URL, body: any, res: http.ServerResponse): number {
    if (rest.length === 0 && method === "GET") return list(url, res);
    const [id, sub, subId] = rest;
    const incident = id ? incidents.get(id.toLowerCase()) : undefined;
    if (rest.length === 1 && method === "GET") {
      if (!incident) return notFound(res, id!);
      json(res, 200, view(incident));
      return 200;
    }
    if (rest.length === 1 && method === "PUT") {
      const problem = incidentProblem(body);
      if (problem) {
        armError(res, 400, "BadRequest", problem);
        return 400;
      }
      if (incident && body.etag !== undefined && body.etag !== incident.etag) {
        armError(res, 409, "Conflict", `Newer version of resource '${id}' exists. Data was not saved`);
        return 409;
      }
      if (!incident && body.etag !== undefined) {
        armError(res, 404, "NotFound", `Incident '${id}' was not found; an etag was given for a new resource.`);
        return 404;
      }
      const stamp = now().toISOString();
      const properties = {
        ...body.properties,
        ...(Array.isArray(body.properties.labels) && {
          labels: body.properties.labels.map((l: { labelName: string }) => ({ labelName: l.labelName, labelType: "User" })),
        }),
        incidentNumber: incident?.properties.incidentNumber ?? nextNumber++,
        incidentUrl: `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${resourceId(id!.toLowerCase())}`,
        createdTimeUtc: incident?.properties.createdTimeUtc ?? stamp,
        lastModifiedTimeUtc: stamp,
        providerName: "Azure Sentinel",
      };
      const stored: StoredIncident = {
        name: id!.toLowerCase(),
        etag: newEtag(),
        properties,
        comments: incident?.comments ?? new Map(),
        tasks: incident?.tasks ?? new Map(),
      };
      incidents.set(stored.name, stored);
      json(res, incident ? 200 : 201, view(stored));
      return incident ? 200 : 201;
    }
    if (rest.length === 3 && method === "PUT" && (sub === "comments" || sub === "tasks")) {
      if (!incident) return notFound(res, id!);
      if (sub === "comments") {
        if (typeof body?.properties?.message !== "string" || !body.properties.message) {
          armError(res, 400, "BadRequest", "Required property 'message' not found in JSON.");
          return 400;
        }
        if (body.properties.message.length > 30_000) {
          armError(res, 400, "BadRequest", "The comment is longer than 30000 characters.");
          return 400;
        }
        const existed = incident.comments.get(subId!);
        incident.comments.set(subId!, {
          etag: newEtag(),
          message: body.properties.message,
          createdTimeUtc: existed?.createdTimeUtc ?? now().toISOString(),
        });
        json(res, existed ? 200 : 201, { name: subId, etag: incident.comments.get(subId!)!.etag, properties: { message: body.properties.message } });
        return existed ? 200 : 201;
      }
      const p = body?.properties;
      if (typeof p?.title !== "string" || !p.title || !TASK_STATUSES.includes(p.status)) {
        armError(res, 400, "BadRequest", "A task needs 'title' and 'status' (New or Completed).");
        return 400;
      }
      const existed = incident.tasks.get(subId!);
      incident.tasks.set(subId!, { etag: newEtag(), title: p.title, description: p.description, status: p.status });
      json(res, existed ? 200 : 201, { name: subId, etag: incident.tasks.get(subId!)!.etag, properties: p });
      return existed ? 200 : 201;
    }
    armError(res, 405, "MethodNotAllowed", `${method} is not supported here.`);
    return 405;
  }

  function notFound(res: http.ServerResponse, id: string): number {
    armError(res, 404, "NotFound", `Incident '${id}' was not found.`);
    return 404;
  }

  function list(url: URL, res: http.ServerResponse): number {
    let items = [...incidents.values()];
    const filter = url.searchParams.get("$filter");
    if (filter) {
      const m = /^properties\/lastModifiedTimeUtc (gt|ge) (\S+)$/.exec(filter);
      if (!m) {
        armError(res, 400, "BadRequest", `The $filter '${filter}' is not supported.`);
        return 400;
      }
      const since = Date.parse(m[2]!);
      if (Number.isNaN(since)) {
        armError(res, 400, "BadRequest", `'${m[2]}' is not a date.`);
        return 400;
      }
      items = items.filter((i) => (m[1] === "gt" ? Date.parse(i.properties.lastModifiedTimeUtc) > since : Date.parse(i.properties.lastModifiedTimeUtc) >= since));
    }
    const order = url.searchParams.get("$orderby") ?? "";
    const sign = /desc$/.test(order) ? -1 : 1;
    if (order && !/^properties\/lastModifiedTimeUtc( asc| desc)?$/.test(order)) {
      armError(res, 400, "BadRequest", `The $orderby '${order}' is not supported.`);
      return 400;
    }
    items.sort((a, b) => sign * a.properties.lastModifiedTimeUtc.localeCompare(b.properties.lastModifiedTimeUtc) || a.name.localeCompare(b.name));
    const top = Math.min(1000, Number(url.searchParams.get("$top") ?? "50") || 50);
    const skip = Number(url.searchParams.get("$skipToken") ?? "0") || 0;
    const page = items.slice(skip, skip + top);
    const next = new URL(url.toString());
    next.searchParams.set("$skipToken", String(skip + top));
    if (nextOrigin) next.href = `${nextOrigin}${next.pathname}${next.search}`;
    json(res, 200, {
      value: page.map(view),
      ...(skip + top < items.length && { nextLink: next.toString() }),
    });
    return 200;
  }

  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  origin = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const { endpoint: identityEndpoint, header: identityHeader } = identity;

  return {
    armEndpoint: origin,
    identityEndpoint,
    identityHeader,
    subscriptionId,
    resourceGroup,
    workspace,
    env: () => ({
      SENTINEL_SUBSCRIPTION_ID: subscriptionId,
      SENTINEL_RESOURCE_GROUP: resourceGroup,
      SENTINEL_WORKSPACE_NAME: workspace,
      SENTINEL_ARM_ENDPOINT: origin,
      IDENTITY_ENDPOINT: identityEndpoint,
      IDENTITY_HEADER: identityHeader,
      NODE_EXTRA_CA_CERTS: TLS_CA_FILE,
    }),
    incidents,
    requests,
    calls: (method, pattern) =>
      requests.filter((r) => r.path.startsWith(prefix) && (!method || r.method === method) && (!pattern || pattern.test(r.path))),
    failNext: (count, fault, pattern) => {
      for (let i = 0; i < count; i++) faults.push({ fault, pattern });
    },
    failAll: (fault) => {
      always = fault;
    },
    heal: () => {
      always = undefined;
      faults.length = 0;
    },
    editInPortal: (id, change) => {
      const incident = incidents.get(id.toLowerCase());
      if (!incident) throw new Error(`no incident ${id} in the fake Sentinel`);
      incident.properties = { ...incident.properties, ...change, lastModifiedTimeUtc: now().toISOString() };
      for (const [key, value] of Object.entries(change)) if (value === undefined) delete incident.properties[key];
      incident.etag = newEtag();
      return incident;
    },
    revokeRole: () => {
      roleRevoked = true;
    },
    grant: () => {
      roleRevoked = false;
    },
    tokensIssued: () => identity.issued(),
    nextLinkOrigin: (value) => {
      nextOrigin = value;
    },
    close: async () => {
      api.closeAllConnections();
      identity.closeAllConnections();
      await Promise.all([new Promise((r) => api.close(r)), identity.close()]);
    },
  };
}

/**
 * How a bot in this process reaches the test server: an https agent that trusts its certificate, and a
 * credential that asks its App Service-style identity endpoint for a token as ManagedIdentityCredential
 * does (ManagedIdentityCredential itself reads IDENTITY_ENDPOINT from process.env, which a bot started
 * in-process with its own environment does not change). A child process uses `env()` instead.
 */
export function inProcessClient(fake: FakeSentinel): { agent: https.Agent; credential: TokenCredential } {
  return {
    agent: new https.Agent({ ca: fs.readFileSync(TLS_CA_FILE) }),
    credential: identityCredential(fake, fake.armEndpoint),
  };
}
