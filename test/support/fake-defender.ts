import { randomUUID } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import { isIP, type AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/identity";
import { TLS_CA_FILE } from "./fake-sentinel";
import { identityCredential, startManagedIdentity } from "./managed-identity";

/**
 * Microsoft Graph's security API as Microsoft Defender answers it on the wire, over https with the
 * test certificate (test/support/tls), plus the local managed-identity endpoint App Service gives an
 * app (IDENTITY_ENDPOINT / IDENTITY_HEADER), as in test/support/fake-sentinel.ts. Only tokens it
 * issued for its own origin are accepted. Sources: Graph beta "Create manualAlert",
 * "entityDefinitionInput", "List alerts_v2" (May 2026); Graph v1.0 "incident", "Update incident",
 * "Create comment for incident".
 *
 * - `POST /beta/security/alerts_v2`: Content-Type application/json (415), `@odata.type`
 *   manualAlert, title, description (<= 5,000), severity (informational|low|medium|high), category,
 *   entityDefinitions (1 to 100; entityType, an entityIdentifier of that type, identifierValue <= 1,000
 *   and well formed for hashes, GUIDs and IP addresses, role impacted|related; at least one
 *   impacted), optional mitreTechniques (T1234 or T1234.001), recommendedActions, linkToIncident (an
 *   existing incident; a merged one is followed to the surviving one), isExcludedFromCorrelation,
 *   sentinelWorkspace; any other property refused. 400 in Graph's shape `{error:{code,message}}`, or
 *   201 with the alert (server-made `id` and `providerAlertId`, `detectionSource: "manual"`,
 *   `serviceSource: "microsoft365Defender"`), which opens an incident or joins the linked one.
 * - `GET /beta|v1.0/security/alerts_v2`: `$filter` only on the documented properties (assignedTo,
 *   classification, determination, createdDateTime, lastUpdateDateTime, severity, serviceSource,
 *   status; `eq` for strings, `gt|ge|lt|le` for times, joined by `and`), anything else 400; newest
 *   first; `$top`; absolute `@odata.nextLink` with `$skiptoken`.
 * - `GET /v1.0/security/incidents/{id}` (404), list with the same `$filter` rules (on
 *   lastUpdateDateTime, createdDateTime, status, severity, classification, determination,
 *   assignedTo), `$top` (at most 50 a page), `@odata.nextLink`; newest change first.
 * - `PATCH /v1.0/security/incidents/{id}`: status (active|resolved|inProgress|redirected), assignedTo,
 *   classification, determination, customTags, resolvingComment; unknown properties or values 400.
 * - `POST /v1.0/security/incidents/{id}/comments`: `{ "@odata.type": alertComment, comment }`, 200
 *   with every comment of the incident.
 * - Merges (`merge`): an incident redirected into another (status redirected, `redirectIncidentId`).
 * Faults on demand: any status (429 with Retry-After, 5xx), a stall, a connection dropped before
 * the request is handled or AFTER it was (the alert is made, the answer lost), 403 naming the
 * missing permission (`revoke`). Every request is recorded.
 */

export const MANUAL_ALERT = "#microsoft.graph.security.manualAlert";
const ALERT_COMMENT = "microsoft.graph.security.alertComment";
const SEVERITIES = ["informational", "low", "medium", "high"];
const ROLES = ["impacted", "related"];
const INCIDENT_STATUSES = ["active", "resolved", "inProgress", "redirected"];
const CLASSIFICATIONS = ["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"];
const DETERMINATIONS = [
  "unknown",
  "apt",
  "malware",
  "securityPersonnel",
  "securityTesting",
  "unwantedSoftware",
  "other",
  "multiStagedAttack",
  "compromisedUser",
  "phishing",
  "maliciousUserActivity",
  "clean",
  "insufficientData",
  "confirmedUserActivity",
  "lineOfBusinessApplication",
];
/** entityDefinitionInput's supported identifiers per entity type. */
export const ENTITY_IDENTIFIERS: Record<string, string[]> = {
  user: ["userPrincipalName", "aadUserId", "sid"],
  device: ["deviceId", "deviceName"],
  file: ["sha256", "sha1"],
  ip: ["address"],
  url: ["url"],
  cloudApplication: ["appId", "name"],
  mailbox: ["mailboxPrimaryAddress"],
  securityGroup: ["distinguishedName", "objectGuid", "sid"],
  azureResource: ["resourceId"],
  amazonResource: ["amazonResourceId"],
  googleCloudResource: ["fullResourceName"],
  oAuthApplication: ["oAuthAppId"],
  emailMessage: ["networkMessageId"],
  emailCluster: ["networkMessageId"],
  process: ["sha1", "sha256"],
  registryKey: ["key"],
  registryValue: ["key", "valueName"],
};
const CREATE_PROPERTIES = new Set([
  "@odata.type",
  "title",
  "description",
  "severity",
  "category",
  "mitreTechniques",
  "recommendedActions",
  "entityDefinitions",
  "linkToIncident",
  "isExcludedFromCorrelation",
  "sentinelWorkspace",
]);
const PATCH_PROPERTIES = new Set(["status", "assignedTo", "classification", "determination", "customTags", "resolvingComment"]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VALUE_RULES: Record<string, RegExp | ((v: string) => boolean)> = {
  sha256: /^[0-9a-f]{64}$/i,
  sha1: /^[0-9a-f]{40}$/i,
  aadUserId: GUID,
  objectGuid: GUID,
  address: (v) => isIP(v) !== 0,
};
const ALERT_FILTERABLE = {
  strings: ["assignedTo", "classification", "determination", "severity", "serviceSource", "status"],
  times: ["createdDateTime", "lastUpdateDateTime"],
};
const INCIDENT_FILTERABLE = {
  strings: ["assignedTo", "classification", "determination", "severity", "status"],
  times: ["createdDateTime", "lastUpdateDateTime"],
};
export const TENANT_ID = "b3cdbae4-eb1d-4b7c-a9e1-8c9f6d8e4f3a";
/** The application permissions, and which of them each operation accepts (least privileged first). */
export const PERMISSIONS = {
  createAlert: ["SecurityAlert.Create.All", "SecurityAlert.ReadWrite.All"],
  readAlerts: ["SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"],
  readIncidents: ["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"],
  writeIncidents: ["SecurityIncident.ReadWrite.All"],
} as const;
const ALL_PERMISSIONS = [...new Set(Object.values(PERMISSIONS).flat())];

export interface StoredAlert {
  id: string;
  providerAlertId: string;
  incidentId: string;
  title: string;
  description: string;
  severity: string;
  category: string;
  status: string;
  classification: string;
  determination: string;
  assignedTo: string | null;
  serviceSource: string;
  detectionSource: string;
  mitreTechniques: string[];
  recommendedActions: string | null;
  entityDefinitions: { entityType: string; entityIdentifier: string; identifierValue: string; role: string }[];
  isExcludedFromCorrelation: boolean;
  sentinelWorkspace: string | null;
  createdDateTime: string;
  lastUpdateDateTime: string;
}

export interface StoredIncident {
  id: string;
  displayName: string;
  description: string;
  severity: string;
  status: string;
  classification: string;
  determination: string;
  assignedTo: string | null;
  customTags: string[];
  resolvingComment: string | null;
  redirectIncidentId: string | null;
  comments: { comment: string; createdByDisplayName: string; createdDateTime: string }[];
  createdDateTime: string;
  lastUpdateDateTime: string;
}

export interface RecordedRequest {
  method: string;
  /** The path, version included: /beta/security/alerts_v2. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** -1: the connection was dropped (before or after the request was handled). */
  status: number;
}

export type Fault =
  | { kind: "status"; status: number; retryAfter?: string; code?: string; message?: string }
  /** The connection is dropped before the request is handled: nothing happens. */
  | { kind: "drop" }
  /** The request is handled (an alert made, an incident changed), then the connection is dropped: the answer is lost. */
  | { kind: "drop-after" }
  /** The answer comes `ms` late (the request is handled then, whether the caller still waits or not). */
  | { kind: "stall"; ms: number };

const FAULT_CODES: Record<number, string> = {
  429: "TooManyRequests",
  500: "InternalServerError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

export interface FakeDefender {
  /** The Graph endpoint (https://127.0.0.1:port), in place of https://graph.microsoft.com. */
  graphEndpoint: string;
  identityEndpoint: string;
  identityHeader: string;
  /** The environment of a bot process for the above (the Defender settings are the next session's to name). */
  env(): Record<string, string>;
  alerts: Map<string, StoredAlert>;
  incidents: Map<string, StoredIncident>;
  requests: RecordedRequest[];
  /** Requests that reached the API (not the identity endpoint), optionally of one method and path pattern. */
  calls(method?: string, pathPattern?: RegExp): RecordedRequest[];
  /** The next `count` API requests (whose `METHOD /path` matches `pattern`, if given) meet `fault`. */
  failNext(count: number, fault: Fault, pattern?: RegExp): void;
  /** Every API request meets `fault` until `heal()`. */
  failAll(fault: Fault): void;
  heal(): void;
  /** A change made by someone in the Defender portal: lastUpdateDateTime moves. */
  editInPortal(id: string, change: Partial<Omit<StoredIncident, "id" | "comments">>): StoredIncident;
  /** Defender merges `fromId` into `intoId`: `fromId` becomes redirected, its alerts move. */
  merge(fromId: string, intoId: string): void;
  /** An alert Defender's own detections made (not manual), with an incident of its own. */
  addDetectedAlert(alert: Partial<StoredAlert>): StoredAlert;
  /** The identity loses an application permission (403 naming it) until `grant`. */
  revoke(permission: string): void;
  grant(permission: string): void;
  tokensIssued(): number;
  /** Gives list pages' nextLinks this origin until called with undefined. */
  nextLinkOrigin(origin: string | undefined): void;
  close(): Promise<void>;
}

function graphError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(
    JSON.stringify({
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString(), "request-id": randomUUID(), "client-request-id": randomUUID() },
      },
    }),
  );
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

class BadRequest extends Error {}

/** Why a manualAlert body is invalid, or undefined. */
export function manualAlertProblem(body: any): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "Empty Payload. JSON content expected.";
  const type = body["@odata.type"];
  if (type !== MANUAL_ALERT && type !== MANUAL_ALERT.slice(1)) {
    return `The '@odata.type' of the request body must be '${MANUAL_ALERT}'.`;
  }
  for (const key of Object.keys(body)) {
    if (!CREATE_PROPERTIES.has(key)) {
      return (
        `The property '${key}' does not exist on type 'microsoft.graph.security.manualAlert' or cannot be set when an ` +
        "alert is created. Make sure to only use property names that are defined by the type."
      );
    }
  }
  if (typeof body.title !== "string" || !body.title.trim()) return "The 'title' field is required.";
  if (typeof body.description !== "string" || !body.description.trim()) return "The 'description' field is required.";
  if (body.description.length > 5000)
    return `The 'description' field exceeds the maximum length of 5000 characters (${body.description.length}).`;
  if (!SEVERITIES.includes(body.severity)) return `Requested value '${String(body.severity)}' was not found for 'severity'.`;
  if (typeof body.category !== "string" || !body.category.trim()) return "The 'category' field is required.";
  if (body.mitreTechniques !== undefined) {
    if (!Array.isArray(body.mitreTechniques)) return "'mitreTechniques' must be a collection of strings.";
    const bad = body.mitreTechniques.find((t: unknown) => typeof t !== "string" || !/^T\d{4}(\.\d{3})?$/.test(t));
    if (bad !== undefined) return `'${String(bad)}' is not a MITRE ATT&CK technique id.`;
  }
  if (body.recommendedActions !== undefined && typeof body.recommendedActions !== "string")
    return "'recommendedActions' must be a string.";
  if (body.isExcludedFromCorrelation !== undefined && typeof body.isExcludedFromCorrelation !== "boolean") {
    return "'isExcludedFromCorrelation' must be a Boolean.";
  }
  if (body.sentinelWorkspace !== undefined && typeof body.sentinelWorkspace !== "string")
    return "'sentinelWorkspace' must be a string.";
  if (body.linkToIncident !== undefined && !/^\d{1,19}$/.test(String(body.linkToIncident))) {
    return `Cannot convert '${String(body.linkToIncident)}' to Edm.Int64 for 'linkToIncident'.`;
  }
  const definitions = body.entityDefinitions;
  if (!Array.isArray(definitions) || definitions.length < 1 || definitions.length > 100) {
    return "'entityDefinitions' must contain 1 to 100 items.";
  }
  for (const [i, d] of definitions.entries()) {
    const at = `entityDefinitions[${i}]`;
    if (typeof d !== "object" || d === null) return `${at} must be an object.`;
    const extra = Object.keys(d).find(
      (k) => !["entityType", "entityIdentifier", "identifierValue", "role", "@odata.type"].includes(k),
    );
    if (extra) return `The property '${extra}' does not exist on type 'microsoft.graph.security.entityDefinitionInput'.`;
    const identifiers = ENTITY_IDENTIFIERS[d.entityType];
    if (!identifiers) return `Requested value '${String(d.entityType)}' was not found for '${at}.entityType'.`;
    if (!identifiers.includes(d.entityIdentifier)) {
      return `'${String(d.entityIdentifier)}' is not a supported identifier for entity type '${d.entityType}' (${identifiers.join(", ")}).`;
    }
    if (typeof d.identifierValue !== "string" || !d.identifierValue.trim()) return `${at}.identifierValue is required.`;
    if (d.identifierValue.length > 1000) return `${at}.identifierValue exceeds the maximum length of 1000 characters.`;
    const rule = VALUE_RULES[d.entityIdentifier];
    if (rule && !(typeof rule === "function" ? rule(d.identifierValue) : rule.test(d.identifierValue))) {
      return `'${d.identifierValue.slice(0, 100)}' is not a valid ${d.entityIdentifier} for entity type '${d.entityType}'.`;
    }
    if (!ROLES.includes(d.role)) return `Requested value '${String(d.role)}' was not found for '${at}.role'.`;
  }
  if (!definitions.some((d: { role: string }) => d.role === "impacted"))
    return "At least one entity must have the role 'impacted'.";
  return undefined;
}

/** A `$filter` as predicates over an item's properties; throws BadRequest for what Graph does not support. */
function parseFilter(
  filter: string,
  allowed: { strings: string[]; times: string[] },
): ((item: Record<string, any>) => boolean)[] {
  return filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*$/.exec(clause);
    if (!m) throw new BadRequest(`Invalid filter clause: '${clause}'.`);
    const [, property, op, raw] = m as unknown as [string, string, string, string];
    if (allowed.strings.includes(property)) {
      const s = /^'((?:[^']|'')*)'$/.exec(raw);
      if (!s || (op !== "eq" && op !== "ne")) throw new BadRequest(`Invalid filter clause: '${clause}'.`);
      const value = s[1]!.replace(/''/g, "'");
      return (item) => (op === "eq") === (item[property] === value);
    }
    if (allowed.times.includes(property)) {
      const at = Date.parse(raw);
      if (!/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(at) || op === "eq" || op === "ne") {
        throw new BadRequest(`Invalid filter clause: '${clause}': a DateTimeOffset comparison (gt, ge, lt, le) is expected.`);
      }
      return (item) => {
        const t = Date.parse(item[property]);
        return op === "gt" ? t > at : op === "ge" ? t >= at : op === "lt" ? t < at : t <= at;
      };
    }
    throw new BadRequest(`Invalid filter clause: the property '${property}' is not supported in $filter.`);
  });
}

export async function startFakeDefender(options: { now?: () => Date; maxPageSize?: number } = {}): Promise<FakeDefender> {
  const now = options.now ?? (() => new Date());
  const granted = new Set<string>(ALL_PERMISSIONS);
  const alerts = new Map<string, StoredAlert>();
  const incidents = new Map<string, StoredIncident>();
  const requests: RecordedRequest[] = [];
  const faults: { fault: Fault; pattern?: RegExp | undefined }[] = [];
  let always: Fault | undefined;
  let origin = "";
  let nextOrigin: string | undefined;
  let nextIncident = 1000;
  let alertSeq = 0;
  const stamp = () => now().toISOString();
  const incidentUrl = (id: string) => `https://security.microsoft.com/incidents/${id}?tid=${TENANT_ID}`;
  const alertUrl = (id: string) => `https://security.microsoft.com/alerts/${id}?tid=${TENANT_ID}`;

  const alertView = (a: StoredAlert) => ({
    "@odata.type": "#microsoft.graph.security.alert",
    ...a,
    tenantId: TENANT_ID,
    alertWebUrl: alertUrl(a.id),
    incidentWebUrl: incidentUrl(a.incidentId),
    productName: "Microsoft Defender XDR",
    evidence: [],
    comments: [],
  });
  const incidentView = (i: StoredIncident) => ({
    "@odata.type": "#microsoft.graph.security.incident",
    ...i,
    tenantId: TENANT_ID,
    incidentWebUrl: incidentUrl(i.id),
    systemTags: [],
  });

  function newIncident(from: Pick<StoredAlert, "title" | "description" | "severity">): StoredIncident {
    const id = String(nextIncident++);
    const incident: StoredIncident = {
      id,
      displayName: from.title,
      description: from.description,
      severity: from.severity,
      status: "active",
      classification: "unknown",
      determination: "unknown",
      assignedTo: null,
      customTags: [],
      resolvingComment: null,
      redirectIncidentId: null,
      comments: [],
      createdDateTime: stamp(),
      lastUpdateDateTime: stamp(),
    };
    incidents.set(id, incident);
    return incident;
  }

  function newAlertId(): string {
    alertSeq++;
    return `da${String(638_700_000_000_000_000n + BigInt(alertSeq))}_${-(100_000_000 + alertSeq)}`;
  }

  /** A merged incident's surviving one. */
  function surviving(incident: StoredIncident): StoredIncident {
    let current = incident;
    for (let hops = 0; current.redirectIncidentId && hops < 10; hops++)
      current = incidents.get(current.redirectIncidentId) ?? current;
    return current;
  }

  const identity = await startManagedIdentity({ resource: () => origin, tokenPrefix: "fake-graph-token-", now });

  const api = https.createServer(
    { cert: fs.readFileSync(TLS_CA_FILE), key: fs.readFileSync(TLS_CA_FILE.replace(/\.crt$/, ".key")) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void handle(req, res, Buffer.concat(chunks).toString("utf8"));
      });
    },
  );

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const method = req.method ?? "";
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      status: 0,
    };
    requests.push(record);
    const index = faults.findIndex((f) => !f.pattern || f.pattern.test(`${method} ${url.pathname}`));
    const fault = index >= 0 ? faults.splice(index, 1)[0]!.fault : always;
    if (fault?.kind === "drop") {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "stall") await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === "status") {
      record.status = fault.status;
      return graphError(
        res,
        fault.status,
        fault.code ?? FAULT_CODES[fault.status] ?? "Error",
        fault.message ?? "Injected fault.",
        {
          ...(fault.retryAfter !== undefined && { "retry-after": fault.retryAfter }),
        },
      );
    }
    // The answer goes to a sink that drops it once the request is handled: nothing reaches the caller.
    const target: http.ServerResponse =
      fault?.kind === "drop-after"
        ? Object.assign(Object.create(res) as http.ServerResponse, {
            writeHead: () => target,
            end: () => {
              req.socket.destroy();
              return target;
            },
          })
        : res;
    const status = answer(req, url, method, body, target);
    record.status = fault?.kind === "drop-after" ? -1 : status;
  }

  function answer(req: http.IncomingMessage, url: URL, method: string, body: any, res: http.ServerResponse): number {
    const auth = req.headers.authorization ?? "";
    if (!identity.accepts(auth)) {
      graphError(
        res,
        401,
        "InvalidAuthenticationToken",
        auth ? "Access token validation failure. Invalid audience." : "Access token is empty.",
      );
      return 401;
    }
    const m = /^\/(v1\.0|beta)\/security\/(alerts_v2|incidents)(?:\/([^/]+))?(?:\/(comments))?$/.exec(url.pathname);
    if (!m || (m[2] === "incidents" && m[1] !== "v1.0")) {
      graphError(res, 400, "BadRequest", `Resource not found for the segment '${url.pathname.split("/").pop()}'.`);
      return 400;
    }
    const [, version, collection, rawId, sub] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    const operation =
      collection === "alerts_v2"
        ? method === "POST"
          ? "createAlert"
          : "readAlerts"
        : method === "GET"
          ? "readIncidents"
          : "writeIncidents";
    const accepted: readonly string[] = PERMISSIONS[operation];
    if (!accepted.some((p) => granted.has(p))) {
      graphError(
        res,
        403,
        "Forbidden",
        `Missing application roles. API required roles: ${accepted.join(",")}. Application roles: ${[...granted].join(",")}.`,
      );
      return 403;
    }
    try {
      if (collection === "alerts_v2") {
        if (method === "POST" && id === undefined && version === "beta") return createAlert(req, body, res);
        if (method === "GET" && id === undefined)
          return list(url, res, [...alerts.values()], ALERT_FILTERABLE, alertView, 2000, "createdDateTime");
        if (method === "GET" && id !== undefined && !sub) {
          const alert = alerts.get(id);
          if (!alert) return notFound(res, `Alert ${id}`);
          json(res, 200, alertView(alert));
          return 200;
        }
      } else {
        if (method === "GET" && id === undefined)
          return list(url, res, [...incidents.values()], INCIDENT_FILTERABLE, incidentView, 50, "lastUpdateDateTime");
        const incident = id === undefined ? undefined : incidents.get(id);
        if (id !== undefined && !sub && (method === "GET" || method === "PATCH")) {
          if (!incident) return notFound(res, `Incident ${id}`);
          if (method === "PATCH") patch(incident, body);
          json(res, 200, incidentView(incident));
          return 200;
        }
        if (id !== undefined && sub === "comments" && method === "POST") {
          if (!incident) return notFound(res, `Incident ${id}`);
          if (body?.["@odata.type"] !== undefined && String(body["@odata.type"]).replace(/^#/, "") !== ALERT_COMMENT) {
            throw new BadRequest(`The '@odata.type' must be '${ALERT_COMMENT}'.`);
          }
          if (typeof body?.comment !== "string" || !body.comment.trim()) throw new BadRequest("The 'comment' field is required.");
          incident.comments.push({ comment: body.comment, createdByDisplayName: "SOC Incident Bot", createdDateTime: stamp() });
          incident.lastUpdateDateTime = stamp();
          json(res, 200, {
            "@odata.context": `${origin}/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)`,
            value: incident.comments,
          });
          return 200;
        }
      }
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      graphError(res, 400, "BadRequest", error.message);
      return 400;
    }
    graphError(res, 405, "Request_BadRequest", `The HTTP method '${method}' is not allowed for ${url.pathname}.`);
    return 405;
  }

  function createAlert(req: http.IncomingMessage, body: any, res: http.ServerResponse): number {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      graphError(
        res,
        415,
        "UnsupportedMediaType",
        "A supported MIME type could not be found that matches the content type of the request.",
      );
      return 415;
    }
    const problem = manualAlertProblem(body);
    if (problem) {
      graphError(res, 400, "BadRequest", problem);
      return 400;
    }
    let incident: StoredIncident | undefined;
    if (body.linkToIncident !== undefined) {
      const linked = incidents.get(String(body.linkToIncident));
      if (!linked) {
        graphError(
          res,
          400,
          "BadRequest",
          `Incident ${String(body.linkToIncident)} doesn't exist; 'linkToIncident' must name an existing incident.`,
        );
        return 400;
      }
      incident = surviving(linked);
    }
    const id = newAlertId();
    const alert: StoredAlert = {
      id,
      providerAlertId: `manual_${id.split("_")[0]}`,
      incidentId: "",
      title: body.title,
      description: body.description,
      severity: body.severity,
      category: body.category,
      status: "new",
      classification: "unknown",
      determination: "unknown",
      assignedTo: null,
      serviceSource: "microsoft365Defender",
      detectionSource: "manual",
      mitreTechniques: body.mitreTechniques ?? [],
      recommendedActions: body.recommendedActions ?? null,
      entityDefinitions: body.entityDefinitions.map((d: StoredAlert["entityDefinitions"][number]) => ({
        entityType: d.entityType,
        entityIdentifier: d.entityIdentifier,
        identifierValue: d.identifierValue,
        role: d.role,
      })),
      isExcludedFromCorrelation: body.isExcludedFromCorrelation ?? false,
      sentinelWorkspace: body.sentinelWorkspace ?? null,
      createdDateTime: stamp(),
      lastUpdateDateTime: stamp(),
    };
    if (incident) incident.lastUpdateDateTime = stamp();
    else incident = newIncident(alert);
    alert.incidentId = incident.id;
    alerts.set(id, alert);
    json(res, 201, alertView(alert));
    return 201;
  }

  function patch(incident: StoredIncident, body: any): void {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new BadRequest("Empty Payload. JSON content expected.");
    for (const key of Object.keys(body)) {
      if (!PATCH_PROPERTIES.has(key))
        throw new BadRequest(
          `The property '${key}' does not exist on type 'microsoft.graph.security.incident' or cannot be updated.`,
        );
    }
    const oneOf = (key: string, values: string[]) => {
      if (body[key] !== undefined && !values.includes(body[key]))
        throw new BadRequest(`Requested value '${String(body[key])}' was not found for '${key}'.`);
    };
    oneOf("status", INCIDENT_STATUSES);
    oneOf("classification", CLASSIFICATIONS);
    oneOf("determination", DETERMINATIONS);
    if (body.assignedTo !== undefined && body.assignedTo !== null && typeof body.assignedTo !== "string")
      throw new BadRequest("'assignedTo' must be a string.");
    if (body.resolvingComment !== undefined && body.resolvingComment !== null && typeof body.resolvingComment !== "string") {
      throw new BadRequest("'resolvingComment' must be a string.");
    }
    if (
      body.customTags !== undefined &&
      (!Array.isArray(body.customTags) || body.customTags.some((t: unknown) => typeof t !== "string"))
    ) {
      throw new BadRequest("'customTags' must be a collection of strings.");
    }
    Object.assign(incident, body, { lastUpdateDateTime: stamp() });
  }

  function list<T extends { lastUpdateDateTime: string; createdDateTime: string }>(
    url: URL,
    res: http.ServerResponse,
    all: T[],
    filterable: { strings: string[]; times: string[] },
    view: (item: T) => unknown,
    pageMax: number,
    newest: "createdDateTime" | "lastUpdateDateTime",
  ): number {
    const filter = url.searchParams.get("$filter");
    let items = all;
    if (filter) {
      const predicates = parseFilter(filter, filterable);
      items = items.filter((item) => predicates.every((p) => p(item as Record<string, any>)));
    }
    // Newest first, as Graph lists them.
    items = [...items].sort((a, b) => b[newest].localeCompare(a[newest]));
    const topRaw = url.searchParams.get("$top");
    if (topRaw !== null && !/^\d+$/.test(topRaw)) throw new BadRequest(`Invalid value '${topRaw}' for $top.`);
    const top = Math.min(Number(topRaw ?? pageMax) || pageMax, pageMax, options.maxPageSize ?? pageMax);
    const skip = Number(url.searchParams.get("$skiptoken") ?? "0") || 0;
    const page = items.slice(skip, skip + top);
    const next = new URL(url.toString());
    next.searchParams.set("$skiptoken", String(skip + top));
    if (nextOrigin) next.href = `${nextOrigin}${next.pathname}${next.search}`;
    json(res, 200, { value: page.map(view), ...(skip + top < items.length && { "@odata.nextLink": next.toString() }) });
    return 200;
  }

  function notFound(res: http.ServerResponse, what: string): number {
    graphError(res, 404, "NotFound", `${what} was not found.`);
    return 404;
  }

  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  origin = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const { endpoint: identityEndpoint, header: identityHeader } = identity;

  return {
    graphEndpoint: origin,
    identityEndpoint,
    identityHeader,
    env: () => ({ IDENTITY_ENDPOINT: identityEndpoint, IDENTITY_HEADER: identityHeader, NODE_EXTRA_CA_CERTS: TLS_CA_FILE }),
    alerts,
    incidents,
    requests,
    calls: (method, pattern) => requests.filter((r) => (!method || r.method === method) && (!pattern || pattern.test(r.path))),
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
      const incident = incidents.get(id);
      if (!incident) throw new Error(`no incident ${id} in the fake Defender`);
      Object.assign(incident, change, { lastUpdateDateTime: stamp() });
      return incident;
    },
    merge: (fromId, intoId) => {
      const from = incidents.get(fromId);
      const into = incidents.get(intoId);
      if (!from || !into || from === into) throw new Error(`cannot merge ${fromId} into ${intoId}`);
      from.status = "redirected";
      from.redirectIncidentId = intoId;
      from.lastUpdateDateTime = stamp();
      into.lastUpdateDateTime = stamp();
      for (const alert of alerts.values()) if (alert.incidentId === fromId) alert.incidentId = intoId;
    },
    addDetectedAlert: (partial) => {
      const id = newAlertId();
      const alert: StoredAlert = {
        id,
        providerAlertId: id,
        incidentId: "",
        title: "Suspicious execution of hidden file",
        description: "A hidden file has been launched.",
        severity: "low",
        category: "DefenseEvasion",
        status: "new",
        classification: "unknown",
        determination: "unknown",
        assignedTo: null,
        serviceSource: "microsoftDefenderForEndpoint",
        detectionSource: "antivirus",
        mitreTechniques: [],
        recommendedActions: null,
        entityDefinitions: [],
        isExcludedFromCorrelation: false,
        sentinelWorkspace: null,
        createdDateTime: stamp(),
        lastUpdateDateTime: stamp(),
        ...partial,
      };
      alert.incidentId ||= newIncident(alert).id;
      alerts.set(id, alert);
      return alert;
    },
    revoke: (permission) => {
      granted.delete(permission);
    },
    grant: (permission) => {
      granted.add(permission);
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

/** The abort's reason as an Error of this realm (a DOMException from another one is not `instanceof Error` here), keeping its name. */
function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as { name?: unknown; message?: unknown } | undefined;
  const error = new Error(typeof reason?.message === "string" ? reason.message : "aborted");
  if (typeof reason?.name === "string") error.name = reason.name;
  return error;
}

/** The fetch the Graph client's last middleware calls, as the adapter's `fetch` option takes it. */
export type FetchLike = (input: RequestInfo, init?: RequestInit) => Promise<Response>;

/**
 * How a client in this process reaches the test server: a fetch over node:https that trusts the
 * test certificate (global fetch trusts only what the process started with: a child process uses
 * `env()`'s NODE_EXTRA_CA_CERTS instead), and a credential that asks the fake's managed-identity
 * endpoint for a token as ManagedIdentityCredential does.
 */
export function inProcessGraph(fake: FakeDefender): {
  fetch: FetchLike;
  credential: TokenCredential;
  tokenRequests: () => number;
} {
  const ca = fs.readFileSync(TLS_CA_FILE);
  let tokenRequests = 0;
  const fetchImpl: FetchLike = (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const headers = new Headers(init?.headers ?? (typeof input === "object" && "headers" in input ? input.headers : undefined));
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));
      const outgoing: Record<string, string> = {};
      headers.forEach((value, key) => (outgoing[key] = value));
      const request = https.request(url, { method: init?.method ?? "GET", headers: outgoing, ca }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("error", (e) => reject(new TypeError("fetch failed", { cause: e })));
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(response.headers))
            if (v !== undefined) responseHeaders.set(k, [v].flat().join(", "));
          resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
      });
      const onAbort = () => {
        request.destroy();
        reject(abortError(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("error", (e) => reject(new TypeError("fetch failed", { cause: e })));
      request.on("close", () => signal?.removeEventListener("abort", onAbort));
      if (init?.body !== undefined && init.body !== null) request.write(init.body as string);
      request.end();
    });
  return {
    fetch: fetchImpl,
    tokenRequests: () => tokenRequests,
    credential: identityCredential(fake, fake.graphEndpoint, () => tokenRequests++),
  };
}
