import type { Agent } from "node:https";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/identity";
import { z } from "zod";
import { SentinelError } from "../incidents/errors";
import { azureCredential, type AzureSignIn } from "./azure-credential";
import { retryAfterMs } from "./backoff";
import type { Classification, ClassificationReason, MirroredFields, Owner } from "../incidents/model";
import { SEVERITIES, STATUSES } from "../incidents/model";
import type { OutgoingIncident, RemoteIncident, RemoteTask, SentinelApi, UnreadValues } from "../incidents/mirror";

/**
 * Microsoft Sentinel's REST API (Microsoft.SecurityInsights incidents, comments, tasks) through the
 * Azure core REST pipeline: @azure/identity for the token (managed identity, secret or certificate),
 * bearerTokenAuthenticationPolicy to attach it (https only, so the token never travels in clear),
 * and no retries of its own: the mirror's outbox retries with backoff and honours Retry-After.
 */

/** How the bot signs in to Azure Resource Manager for Sentinel. */
export type SentinelSignIn = AzureSignIn;

/** What the sync needs; `sentinelSettings` in config.ts maps it from the SENTINEL_* settings. */
export interface SentinelSettings {
  /** https://management.azure.com (or a sovereign cloud's), without a trailing slash. */
  armEndpoint: string;
  apiVersion: string;
  subscriptionId: string;
  resourceGroup: string;
  /** The Log Analytics workspace's resource name. */
  workspace: string;
  tenantId?: string | undefined;
  /** The app registration's client id (secret, certificate), or a user-assigned managed identity's. */
  clientId?: string | undefined;
  signIn: SentinelSignIn;
  authorityHost?: string | undefined;
  requestTimeoutMs: number;
}

export interface SentinelClientOptions {
  /** Replaces the credential the settings describe (a caller's own). */
  credential?: TokenCredential;
  /** The https agent requests go through (a caller's own trust store, e.g. a private CA). */
  agent?: Agent;
}

/** The workspace's ARM resource id: what the role is granted on. */
export function workspaceScope(settings: Pick<SentinelSettings, "subscriptionId" | "resourceGroup" | "workspace">): string {
  return (
    `/subscriptions/${settings.subscriptionId}/resourceGroups/${settings.resourceGroup}` +
    `/providers/Microsoft.OperationalInsights/workspaces/${settings.workspace}`
  );
}

/** The @azure/identity credential the settings describe. Errors name the setting to fix. */
export function createSentinelCredential(settings: SentinelSettings): TokenCredential {
  return azureCredential(settings.signIn, { ...settings, certificateSetting: "SENTINEL_CERTIFICATE_PATH" });
}

const nullable = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

const incidentResource = z.object({
  name: z.string().min(1),
  etag: z.string().min(1),
  properties: z.object({
    title: z.string(),
    description: nullable(z.string()),
    // Sentinel's enums are extensible: a value this bot does not know yet is read, not refused (`remoteOf`).
    severity: z.string(),
    status: z.string(),
    classification: nullable(z.string()),
    classificationReason: nullable(z.string()),
    classificationComment: nullable(z.string()),
    owner: nullable(
      z.object({
        objectId: nullable(z.string()),
        email: nullable(z.string()),
        userPrincipalName: nullable(z.string()),
        assignedTo: nullable(z.string()),
        ownerType: nullable(z.string()),
      }),
    ),
    labels: nullable(z.array(z.object({ labelName: z.string(), labelType: nullable(z.string()) }))),
    incidentNumber: nullable(z.number()),
    incidentUrl: nullable(z.string()),
    lastModifiedTimeUtc: nullable(z.string()),
  }),
});
type IncidentResource = z.infer<typeof incidentResource>;

const incidentList = z.object({ value: z.array(z.unknown()), nextLink: nullable(z.string()) });

const CLASSIFICATIONS: readonly Classification[] = ["Undetermined", "TruePositive", "BenignPositive", "FalsePositive"];
const REASONS: readonly ClassificationReason[] = [
  "SuspiciousActivity",
  "SuspiciousButExpected",
  "IncorrectAlertLogic",
  "InaccurateData",
];

/** `value` when it is one of `known`, else undefined. */
function oneOf<T extends string>(known: readonly T[], value: string): T | undefined {
  return (known as readonly string[]).includes(value) ? (value as T) : undefined;
}

/**
 * The incident as the mirror reads it. A severity, status, classification or reason this bot does not
 * know yet is kept as Sentinel spells it in `unread`, and `fields` holds a stand-in for it (Medium,
 * New, no classification) that the mirror replaces with its own value before using them. A label's
 * type is not read: tags are compared by name.
 */
function remoteOf(resource: IncidentResource): RemoteIncident {
  const p = resource.properties;
  const unread: UnreadValues = {};
  const severity = oneOf(SEVERITIES, p.severity);
  if (!severity) unread.severity = p.severity;
  const status = oneOf(STATUSES, p.status);
  if (!status) unread.status = p.status;
  const classification = p.classification ? oneOf(CLASSIFICATIONS, p.classification) : undefined;
  if (p.classification && !classification) unread.classification = p.classification;
  const reason = p.classificationReason ? oneOf(REASONS, p.classificationReason) : undefined;
  if (p.classificationReason && !reason) unread.classificationReason = p.classificationReason;
  const owner: Owner | undefined = p.owner?.objectId
    ? {
        objectId: p.owner.objectId.toLowerCase(),
        ownerType: p.owner.ownerType === "Group" ? "Group" : "User",
        assignedTo: p.owner.assignedTo ?? p.owner.email ?? p.owner.userPrincipalName ?? p.owner.objectId,
        ...(p.owner.email && { email: p.owner.email }),
        ...(p.owner.userPrincipalName && { userPrincipalName: p.owner.userPrincipalName }),
      }
    : undefined;
  const fields: MirroredFields = {
    title: p.title,
    description: p.description ?? "",
    severity: severity ?? "Medium",
    status: status ?? "New",
    ...(classification && { classification }),
    ...(reason && { classificationReason: reason }),
    ...(p.classificationComment && { classificationComment: p.classificationComment }),
    ...(owner && { owner }),
    labels: (p.labels ?? []).map((l) => ({
      labelName: l.labelName,
      labelType: l.labelType === "AutoAssigned" ? ("AutoAssigned" as const) : ("User" as const),
    })),
  };
  return {
    id: resource.name,
    etag: resource.etag,
    fields,
    ...(Object.keys(unread).length && { unread }),
    incidentNumber: p.incidentNumber,
    incidentUrl: p.incidentUrl,
    lastModifiedTimeUtc: p.lastModifiedTimeUtc ?? "",
  };
}

function bodyOf(incident: OutgoingIncident, etag: string | undefined): unknown {
  const owner = incident.owner;
  return {
    ...(etag && { etag }),
    properties: {
      title: incident.title,
      description: incident.description,
      severity: incident.severity,
      status: incident.status,
      ...(incident.classification && { classification: incident.classification }),
      ...(incident.classificationReason && { classificationReason: incident.classificationReason }),
      ...(incident.classificationComment && { classificationComment: incident.classificationComment }),
      owner: owner
        ? {
            objectId: owner.objectId,
            assignedTo: owner.assignedTo,
            ownerType: owner.ownerType,
            ...(owner.email && { email: owner.email }),
            ...(owner.userPrincipalName && { userPrincipalName: owner.userPrincipalName }),
          }
        : {},
      // labelType is read-only (2025-09-01): never sent.
      labels: incident.labels.map((l) => ({ labelName: l.labelName })),
      ...(incident.firstActivityTimeUtc && { firstActivityTimeUtc: incident.firstActivityTimeUtc }),
      ...(incident.lastActivityTimeUtc && { lastActivityTimeUtc: incident.lastActivityTimeUtc }),
    },
  };
}

/** Sentinel's own words from an ARM error body, kept short. */
function armMessage(response: PipelineResponse): string {
  try {
    const parsed = JSON.parse(response.bodyAsText ?? "") as { error?: { code?: unknown; message?: unknown } };
    const message = typeof parsed.error?.message === "string" ? parsed.error.message : "";
    const code = typeof parsed.error?.code === "string" ? parsed.error.code : "";
    return (message || code || `HTTP ${response.status}`).slice(0, 250);
  } catch {
    return `HTTP ${response.status}`;
  }
}

export class SentinelClient implements SentinelApi {
  private readonly pipeline: Pipeline;
  private readonly http: HttpClient;
  private readonly base: string;
  private readonly origin: string;

  constructor(
    private readonly settings: SentinelSettings,
    private readonly options: SentinelClientOptions = {},
  ) {
    this.origin = new URL(settings.armEndpoint).origin;
    this.base = `${this.origin}${workspaceScope(settings)}/providers/Microsoft.SecurityInsights/incidents`;
    // No retries here: the outbox retries with its own backoff and claim (src/incidents/mirror.ts).
    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: "soc-incident-bot" },
    });
    this.pipeline.addPolicy(
      bearerTokenAuthenticationPolicy({
        credential: options.credential ?? createSentinelCredential(settings),
        scopes: `${this.origin}/.default`,
      }),
    );
    this.http = createDefaultHttpClient();
  }

  async getIncident(id: string): Promise<RemoteIncident | undefined> {
    const response = await this.send("GET", this.url(`/${encodeURIComponent(id)}`), undefined, "read the incident");
    if (response.status === 404) return undefined;
    return remoteOf(this.parse(incidentResource, response, "incident"));
  }

  async putIncident(id: string, incident: OutgoingIncident, etag: string | undefined): Promise<RemoteIncident> {
    const response = await this.send("PUT", this.url(`/${encodeURIComponent(id)}`), bodyOf(incident, etag), "write the incident");
    if (response.status === 404) throw this.missing();
    return remoteOf(this.parse(incidentResource, response, "incident"));
  }

  async putComment(incidentId: string, commentId: string, message: string): Promise<void> {
    const path = `/${encodeURIComponent(incidentId)}/comments/${encodeURIComponent(commentId)}`;
    const response = await this.send("PUT", this.url(path), { properties: { message } }, "write a comment");
    if (response.status === 404)
      throw new SentinelError("retry", "Sentinel does not have the incident of this comment yet.", { status: 404 });
  }

  async putTask(incidentId: string, task: RemoteTask): Promise<void> {
    const path = `/${encodeURIComponent(incidentId)}/tasks/${encodeURIComponent(task.id)}`;
    const body = { properties: { title: task.title, description: task.description, status: task.status } };
    const response = await this.send("PUT", this.url(path), body, "write a task");
    if (response.status === 404)
      throw new SentinelError("retry", "Sentinel does not have the incident of this task yet.", { status: 404 });
  }

  async *changedSince(sinceUtc: string): AsyncIterable<RemoteIncident[]> {
    const query = new URLSearchParams({
      "api-version": this.settings.apiVersion,
      $filter: `properties/lastModifiedTimeUtc gt ${sinceUtc}`,
      $orderby: "properties/lastModifiedTimeUtc asc",
      $top: "100",
    });
    let next: string | undefined = `${this.base}?${query.toString()}`;
    while (next) {
      const response = await this.send("GET", next, undefined, "list changed incidents");
      if (response.status === 404) throw this.missing();
      const page = this.parse(incidentList, response, "incident list");
      const incidents: RemoteIncident[] = [];
      for (const item of page.value) {
        const parsed = incidentResource.safeParse(item);
        // An incident Sentinel has in a shape this bot does not mirror (not one of ours): skipped.
        if (parsed.success) incidents.push(remoteOf(parsed.data));
      }
      yield incidents;
      next = page.nextLink;
      // The token goes to Azure Resource Manager only: a next link elsewhere is not followed.
      if (next && new URL(next).origin !== this.origin) {
        throw new SentinelError("retry", `Sentinel's next page is on another host (${new URL(next).host}); not followed.`);
      }
    }
  }

  private url(path: string): string {
    return `${this.base}${path}?api-version=${encodeURIComponent(this.settings.apiVersion)}`;
  }

  private parse<T extends z.ZodTypeAny>(schema: T, response: PipelineResponse, what: string): z.infer<T> {
    try {
      return schema.parse(JSON.parse(response.bodyAsText ?? "")) as z.infer<T>;
    } catch (error) {
      throw new SentinelError("retry", `Sentinel sent an ${what} this bot can't read.`, {
        cause: error,
        status: response.status,
      });
    }
  }

  private missing(): SentinelError {
    return new SentinelError(
      "missing",
      `There is no Sentinel workspace ${this.settings.workspace} in resource group ${this.settings.resourceGroup} ` +
        `of subscription ${this.settings.subscriptionId} (HTTP 404): check SENTINEL_SUBSCRIPTION_ID, ` +
        "SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME.",
      { status: 404 },
    );
  }

  /** One request; anything but success or 404 becomes a SentinelError saying what to do. */
  private async send(method: "GET" | "PUT", url: string, body: unknown, what: string): Promise<PipelineResponse> {
    const request = createPipelineRequest({
      url,
      method,
      headers: createHttpHeaders({
        accept: "application/json",
        ...(body !== undefined && { "content-type": "application/json" }),
      }),
      ...(body !== undefined && { body: JSON.stringify(body) }),
      timeout: this.settings.requestTimeoutMs,
    });
    // Set on the request: createPipelineRequest does not copy an `agent` option (the caller's trust store was dropped).
    if (this.options.agent) request.agent = this.options.agent;
    let response: PipelineResponse;
    try {
      response = await this.pipeline.sendRequest(this.http, request);
    } catch (error) {
      const name = (error as Error)?.name ?? "";
      if (name === "CredentialUnavailableError" || name === "AuthenticationError" || name === "AggregateAuthenticationError") {
        throw new SentinelError(
          "retry",
          `The bot could not sign in to Azure for Sentinel: ${(error as Error).message.slice(0, 200)}`,
          {
            cause: error,
          },
        );
      }
      const why = name === "AbortError" ? `no answer within ${this.settings.requestTimeoutMs} ms` : "the connection failed";
      throw new SentinelError("retry", `Sentinel could not be reached to ${what} (${why}).`, { cause: error });
    }
    const status = response.status;
    if ((status >= 200 && status < 300) || status === 404) return response;
    if (status === 409) throw new SentinelError("conflict", armMessage(response), { status });
    if (status === 400) throw new SentinelError("rejected", armMessage(response), { status });
    if (status === 403) {
      const scope = workspaceScope(this.settings);
      throw new SentinelError(
        "forbidden",
        `Sentinel refused the bot's identity (HTTP 403): give it the "Microsoft Sentinel Responder" role on workspace ` +
          `${this.settings.workspace} (Azure portal > the workspace > Access control (IAM) > Add role assignment), or run ` +
          'az role assignment create --assignee <the identity\'s client id> --role "Microsoft Sentinel Responder" ' +
          `--scope ${scope}`,
        { status },
      );
    }
    if (status === 401) {
      throw new SentinelError("retry", `Sentinel did not accept the bot's token (HTTP 401): ${armMessage(response)}`, { status });
    }
    throw new SentinelError("retry", `Sentinel answered HTTP ${status} to ${what}: ${armMessage(response)}`, {
      status,
      retryAfterMs: retryAfterMs(response.headers.get("retry-after") ?? null),
    });
  }
}
