import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DirectoryDataSet } from "./directory-data";
import { transitiveMembers } from "./directory-data";

/**
 * A local stand-in for the part of Microsoft Graph v1.0 the directory uses, answering the way the
 * documentation describes:
 * - `Authorization: Bearer <token>` required; otherwise 401 InvalidAuthenticationToken.
 * - GET /users, /groups: `$search` ("prop:text" clauses with OR/AND and parentheses, `\"` and `\\`
 *   escapes) only with `ConsistencyLevel: eventual` (else 400 Request_UnsupportedQuery); display
 *   names matched by tokens (spaces, lower-to-upper case changes, letters/digits, symbols) in any
 *   order, other properties by "starts with"; `$select` (unknown properties refused), `$top`
 *   (1-999), server-driven paging with an absolute `@odata.nextLink` carrying `$skiptoken`.
 * - GET /users/{id}, /groups/{id}: 404 Request_ResourceNotFound for unknown ids, 400 for ids that
 *   are not GUIDs.
 * - POST /users/{id}/checkMemberGroups: the given group ids (at most 20) the user is in, transitively.
 * - Errors in Graph's shape: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`.
 * Faults for tests: answer 429/503/504 (with Retry-After) a number of times, or answer late.
 *
 * The client only sends tokens over https, so the fake is addressed as `baseUrl` (an https name)
 * and `fetch` routes that name to this plain-http loopback server.
 */
export interface FakeGraphOptions {
  /** The bearer token accepted. */
  token?: string;
  /** The https origin clients use for it, also used in paging links. */
  baseUrl?: string;
  /** Largest page the server returns whatever `$top` asks (Graph may return fewer than asked). */
  maxPageSize?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path after /v1.0, e.g. /users or /users/{id}/checkMemberGroups. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface Fault {
  status: 429 | 503 | 504;
  /** Retry-After header value (seconds or an HTTP date). */
  retryAfter?: string;
}

interface FaultRule {
  fault: Fault;
  remaining: number;
  match: (request: RecordedRequest) => boolean;
}

type Kind = "users" | "groups";
type Entity = Record<string, string | null>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PROPERTIES: Record<Kind, string[]> = {
  users: ["id", "displayName", "mail", "userPrincipalName", "givenName", "surname", "jobTitle"],
  groups: ["id", "displayName", "mail", "description", "mailEnabled", "securityEnabled"],
};
const DEFAULT_SELECT: Record<Kind, string[]> = {
  users: ["id", "displayName", "mail", "userPrincipalName", "givenName", "surname", "jobTitle"],
  groups: ["id", "displayName", "mail", "description"],
};
/** Properties searched by tokens; the rest by "starts with". */
const TOKENISED = new Set(["displayName", "description"]);

class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeGraph {
  readonly requests: RecordedRequest[] = [];
  readonly token: string;
  readonly baseUrl: string;
  /** Every answer waits this long first (ms); set it high to stall. */
  delayMs = 0;
  private readonly maxPageSize: number;
  private readonly faults: FaultRule[] = [];
  private readonly entities: Record<Kind, Entity[]>;
  private origin = "";
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  private constructor(
    private readonly data: DirectoryDataSet,
    options: FakeGraphOptions,
  ) {
    this.token = options.token ?? `fake-token-${randomUUID()}`;
    this.baseUrl = (options.baseUrl ?? "https://graph.fake.test").replace(/\/$/, "");
    this.maxPageSize = options.maxPageSize ?? 999;
    this.entities = {
      users: data.users.map((u) => ({ ...u, givenName: u.displayName.split(" ")[0] ?? null, surname: null, jobTitle: null })),
      groups: data.groups.map((g) => ({ ...g, description: null, mailEnabled: null, securityEnabled: null })),
    };
  }

  static async start(data: DirectoryDataSet, options: FakeGraphOptions = {}): Promise<FakeGraph> {
    const fake = new FakeGraph(data, options);
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    fake.origin = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** A fetch that sends requests for `baseUrl` to this server, and refuses any other address. */
  readonly fetch = (input: RequestInfo, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(`${this.baseUrl}/`)) return Promise.reject(new Error(`the fake Graph does not serve ${url}`));
    return fetch(this.origin + url.slice(this.baseUrl.length), init);
  };

  /** Answers the next `times` requests matching `match` (default: all) with this fault. */
  fail(fault: Fault, times = 1, match: (request: RecordedRequest) => boolean = () => true): void {
    this.faults.push({ fault, remaining: times, match });
  }

  /** Back to healthy: no faults, no delay. */
  heal(): void {
    this.faults.length = 0;
    this.delayMs = 0;
  }

  /** How many requests were made to paths starting with `prefix` (e.g. "/users", "/groups"). */
  count(prefix: string, method?: string): number {
    return this.requests.filter((r) => (r.path === prefix || r.path.startsWith(`${prefix}/`) || r.path.startsWith(`${prefix}?`)) && (!method || r.method === method)).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const request: RecordedRequest = { method: req.method ?? "GET", path: url.pathname.replace(/^\/v1\.0/, ""), query: url.searchParams, headers: req.headers, body };
    this.requests.push(request);
    const clientRequestId = header(req, "client-request-id") ?? randomUUID();

    if (this.delayMs > 0) {
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), this.delayMs);
        res.once("close", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      if (!waited || res.destroyed) return;
    }

    try {
      const rule = this.faults.find((f) => f.remaining > 0 && f.match(request));
      if (rule) {
        rule.remaining--;
        const { status, retryAfter } = rule.fault;
        const [code, message] = status === 429 ? ["TooManyRequests", "Too many requests."] : status === 503 ? ["serviceNotAvailable", "Service unavailable."] : ["gatewayTimeout", "Gateway timeout."];
        return this.error(res, new GraphHttpError(status, code, message), clientRequestId, retryAfter ? { "Retry-After": retryAfter } : {});
      }
      const authorization = header(req, "authorization");
      if (!authorization) throw new GraphHttpError(401, "InvalidAuthenticationToken", "Access token is empty.");
      if (authorization !== `Bearer ${this.token}`) throw new GraphHttpError(401, "InvalidAuthenticationToken", "Access token validation failure.");
      if (!url.pathname.startsWith("/v1.0/")) throw new GraphHttpError(400, "BadRequest", `Invalid version: ${url.pathname.split("/")[1] ?? ""}`);
      this.json(res, 200, this.route(request, req), clientRequestId);
    } catch (error) {
      if (error instanceof GraphHttpError) this.error(res, error, clientRequestId);
      else this.error(res, new GraphHttpError(500, "generalException", "An unexpected error occurred."), clientRequestId);
    }
  }

  private route(request: RecordedRequest, req: http.IncomingMessage): unknown {
    const segments = request.path.split("/").filter(Boolean);
    const [collection, id, action] = segments;
    if (collection !== "users" && collection !== "groups") throw new GraphHttpError(400, "BadRequest", `Resource not found for the segment '${collection ?? ""}'.`);
    const kind: Kind = collection;
    if (segments.length === 1 && request.method === "GET") return this.list(kind, request, req);
    if (segments.length === 2 && request.method === "GET") return this.single(kind, id!, request.query);
    if (segments.length === 3 && kind === "users" && action === "checkMemberGroups" && request.method === "POST") return this.checkMemberGroups(id!, request.body);
    throw new GraphHttpError(405, "Request_BadRequest", `The request method '${request.method}' is not allowed for this resource.`);
  }

  private list(kind: Kind, request: RecordedRequest, req: http.IncomingMessage): unknown {
    const { query } = request;
    const select = parseSelect(kind, query.get("$select"));
    const top = parseTop(query.get("$top"));
    let items = this.entities[kind];
    const search = query.get("$search");
    if (search !== null) {
      if (header(req, "consistencylevel")?.toLowerCase() !== "eventual") {
        throw new GraphHttpError(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
      }
      const matches = parseSearch(kind, search);
      items = items.filter(matches);
    }
    const skip = decodeSkipToken(query.get("$skiptoken"));
    const pageSize = Math.min(top ?? 100, this.maxPageSize);
    const page = items.slice(skip, skip + pageSize);
    const result: Record<string, unknown> = {
      "@odata.context": `${this.baseUrl}/v1.0/$metadata#${kind}(${select.join(",")})`,
      value: page.map((item) => project(item, select)),
    };
    if (skip + pageSize < items.length) {
      const params = [...query.entries()].filter(([k]) => k !== "$skiptoken").map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
      params.push(`$skiptoken=${Buffer.from(`offset:${skip + pageSize}`).toString("base64url")}`);
      result["@odata.nextLink"] = `${this.baseUrl}/v1.0/${kind}?${params.join("&")}`;
    }
    return result;
  }

  private single(kind: Kind, id: string, query: URLSearchParams): unknown {
    const select = parseSelect(kind, query.get("$select"));
    const item = this.find(kind, id);
    return { "@odata.context": `${this.baseUrl}/v1.0/$metadata#${kind}(${select.join(",")})/$entity`, ...project(item, select) };
  }

  private checkMemberGroups(userId: string, body: unknown): unknown {
    this.find("users", userId);
    const groupIds = (body as { groupIds?: unknown } | undefined)?.groupIds;
    if (!Array.isArray(groupIds) || !groupIds.every((g) => typeof g === "string")) {
      throw new GraphHttpError(400, "Request_BadRequest", "The request body must contain groupIds, a collection of strings.");
    }
    if (groupIds.length > 20) throw new GraphHttpError(400, "Request_BadRequest", "Too many groupIds: at most 20 may be checked per request.");
    const user = userId.toLowerCase();
    return {
      "@odata.context": `${this.baseUrl}/v1.0/$metadata#Collection(Edm.String)`,
      value: groupIds.filter((g) => transitiveMembers(this.data, g.toLowerCase()).has(user)),
    };
  }

  private find(kind: Kind, id: string): Entity {
    if (!GUID.test(id)) throw new GraphHttpError(400, "Request_BadRequest", `Invalid object identifier '${id}'.`);
    const item = this.entities[kind].find((e) => e.id?.toLowerCase() === id.toLowerCase());
    if (!item) throw new GraphHttpError(404, "Request_ResourceNotFound", `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    return item;
  }

  private json(res: http.ServerResponse, status: number, body: unknown, clientRequestId: string, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    res.writeHead(status, {
      "Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
      "request-id": clientRequestId,
      "client-request-id": clientRequestId,
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  private error(res: http.ServerResponse, error: GraphHttpError, clientRequestId: string, headers: Record<string, string> = {}): void {
    const innerError = { date: new Date().toISOString().slice(0, 19), "request-id": clientRequestId, "client-request-id": clientRequestId };
    this.json(res, error.status, { error: { code: error.code, message: error.message, innerError } }, clientRequestId, headers);
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseSelect(kind: Kind, value: string | null): string[] {
  if (value === null) return DEFAULT_SELECT[kind];
  const properties = value.split(",").map((p) => p.trim()).filter(Boolean);
  for (const p of properties) {
    if (!PROPERTIES[kind].includes(p)) {
      throw new GraphHttpError(400, "Request_BadRequest", `Could not find a property named '${p}' on type 'microsoft.graph.${kind === "users" ? "user" : "group"}'.`);
    }
  }
  return properties;
}

function parseTop(value: string | null): number | undefined {
  if (value === null) return undefined;
  const top = Number(value);
  if (!/^\d+$/.test(value) || top < 1 || top > 999) throw new GraphHttpError(400, "Request_BadRequest", `Invalid page size specified: '${value}'. Must be between 1 and 999 inclusive.`);
  return top;
}

function decodeSkipToken(value: string | null): number {
  if (value === null) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(value, "base64url").toString("utf8"));
  if (!match) throw new GraphHttpError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.");
  return Number(match[1]);
}

function project(item: Entity, select: string[]): Entity {
  return Object.fromEntries(select.map((p) => [p, item[p] ?? null]));
}

/** Graph's tokens: split on spaces, symbols, letter/digit changes and lower-to-upper case changes. */
export function graphTokens(value: string, joinSymbolSeparated = true): string[] {
  const tokens = new Set<string>();
  for (const chunk of value.split(/\s+/).filter(Boolean)) {
    const separated = chunk
      .replace(/(\p{Ll})(\p{Lu})/gu, "$1 $2")
      .replace(/(\p{L})(\p{N})/gu, "$1 $2")
      .replace(/(\p{N})(\p{L})/gu, "$1 $2");
    for (const piece of separated.split(/[^\p{L}\p{N}]+/u)) if (piece) tokens.add(piece.toLowerCase());
    // Words joined only by symbols also count as one: "hello-world" is found by "helloworld".
    const joined = chunk.replace(/[^\p{L}\p{N}]+/gu, "").toLowerCase();
    if (joined && joinSymbolSeparated) tokens.add(joined);
  }
  return [...tokens];
}

type Matcher = (item: Entity) => boolean;

/** Parses a $search expression: clauses "prop:text", AND binding tighter than OR, parentheses. */
function parseSearch(kind: Kind, expression: string): Matcher {
  let pos = 0;
  const syntax = (what: string): never => {
    throw new GraphHttpError(400, "Request_UnsupportedQuery", `Syntax error: ${what} at position ${pos} in '${expression}'.`);
  };
  const skipSpaces = () => {
    while (expression[pos] === " ") pos++;
  };
  const keyword = (word: "AND" | "OR"): boolean => {
    skipSpaces();
    if (expression.startsWith(`${word} `, pos) || expression.startsWith(`${word}"`, pos) || expression.startsWith(`${word}(`, pos)) {
      pos += word.length;
      return true;
    }
    return false;
  };
  const clause = (): Matcher => {
    skipSpaces();
    if (expression[pos] === "(") {
      pos++;
      const inner = or();
      skipSpaces();
      if (expression[pos] !== ")") syntax("')' expected");
      pos++;
      return inner;
    }
    if (expression[pos] !== '"') syntax("'\"' expected");
    pos++;
    let text = "";
    for (;;) {
      const c = expression[pos++];
      if (c === undefined) syntax("unterminated clause");
      if (c === '"') break;
      if (c === "\\") {
        const next = expression[pos++];
        if (next !== '"' && next !== "\\") syntax("only \\\" and \\\\ may be escaped");
        text += next;
      } else text += c;
    }
    const colon = text.indexOf(":");
    if (colon <= 0) syntax("a clause must be \"property:text\"");
    const property = text.slice(0, colon);
    const value = text.slice(colon + 1);
    if (!PROPERTIES[kind].includes(property) || property === "id") {
      throw new GraphHttpError(400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified for property '${property}' of resource '${kind === "users" ? "User" : "Group"}'.`);
    }
    if (TOKENISED.has(property)) {
      const wanted = graphTokens(value, false);
      return (item) => {
        const have = graphTokens(item[property] ?? "");
        return wanted.length > 0 && wanted.every((w) => have.some((h) => h.startsWith(w)));
      };
    }
    const prefix = value.toLowerCase();
    return (item) => (item[property] ?? "").toLowerCase().startsWith(prefix) && item[property] !== null;
  };
  const and = (): Matcher => {
    let left = clause();
    while (keyword("AND")) {
      const l = left;
      const r = clause();
      left = (item) => l(item) && r(item);
    }
    return left;
  };
  const or = (): Matcher => {
    let left = and();
    while (keyword("OR")) {
      const l = left;
      const r = and();
      left = (item) => l(item) || r(item);
    }
    return left;
  };
  const matcher = or();
  skipSpaces();
  if (pos < expression.length) syntax(`unexpected '${expression[pos] ?? ""}'`);
  return matcher;
}
