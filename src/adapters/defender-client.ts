import type { TokenCredential } from "@azure/identity";
import { GraphError, type Client, type GraphRequest } from "@microsoft/microsoft-graph-client";
import { z } from "zod";
import {
  carriesMarker,
  type DefenderAlert,
  type DefenderApi,
  type DefenderIncident,
  type IncidentPatch,
  type ManualAlert,
} from "../incidents/defender";
import { DefenderError } from "../incidents/errors";
import { azureCredential, type AzureSignIn } from "./azure-credential";
import { retryAfterMs } from "./backoff";
import { graphClient, type FetchLike } from "./graph-middleware";

/**
 * Microsoft Defender's alerts and incidents through Microsoft Graph's security API, with the
 * project's Graph client (@microsoft/microsoft-graph-client) and an @azure/identity credential
 * (managed identity, secret or certificate). Manual alerts are Graph beta (`/beta/security/alerts_v2`,
 * `#microsoft.graph.security.manualAlert`): their shape may change, so it is spoken here only.
 * Incidents are Graph v1.0. No retries of its own: the sink's outbox retries with backoff and honours
 * Retry-After, as the Sentinel mirror does. Failures are DefenderErrors saying what to do.
 */

/** What the adapter needs; the next session maps it from the DEFENDER_* settings. */
export interface DefenderSettings {
  /** Graph's service root, without version: https://graph.microsoft.com, or a national cloud's
   * (https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn). */
  graphEndpoint: string;
  tenantId?: string | undefined;
  /** The app registration's client id (secret, certificate), or a user-assigned managed identity's. */
  clientId?: string | undefined;
  signIn: AzureSignIn;
  authorityHost?: string | undefined;
  requestTimeoutMs: number;
  /** Items asked for per list page (`$top`); Graph may send fewer. */
  pageSize?: number | undefined;
}

export interface DefenderClientOptions {
  /** Replaces the credential the settings describe. */
  credential?: TokenCredential;
  /** The fetch requests go through (a caller's own trust store; tests). */
  fetch?: FetchLike;
}

/** The Graph application permissions each operation needs (least privileged). */
export const DEFENDER_PERMISSIONS = {
  createAlert: "SecurityAlert.Create.All",
  readAlerts: "SecurityAlert.Read.All",
  readIncidents: "SecurityIncident.Read.All",
  writeIncidents: "SecurityIncident.ReadWrite.All",
} as const;

/** Microsoft Graph's application (client) id, the same in every cloud. */
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/**
 * The commands that grant `permission` (a Graph application permission) to the bot's managed
 * identity, given its object (principal) id: Azure CLI, as an admin of the tenant.
 */
export function grantCommands(permission: string, graphEndpoint: string): string {
  const graph = new URL(graphEndpoint).origin;
  return (
    `graphSp=$(az ad sp show --id ${GRAPH_APP_ID} --query id -o tsv); ` +
    `roleId=$(az ad sp show --id ${GRAPH_APP_ID} --query "appRoles[?value=='${permission}'].id" -o tsv); ` +
    `az rest --method POST --uri ${graph}/v1.0/servicePrincipals/<identity object id>/appRoleAssignments ` +
    `--body "{\\"principalId\\":\\"<identity object id>\\",\\"resourceId\\":\\"$graphSp\\",\\"appRoleId\\":\\"$roleId\\"}"`
  );
}

export function createDefenderCredential(settings: DefenderSettings): TokenCredential {
  return azureCredential(settings.signIn, { ...settings, certificateSetting: "DEFENDER_CERTIFICATE_PATH" });
}

const nullable = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

const alertSchema = z.object({
  id: z.string().min(1),
  providerAlertId: nullable(z.string()),
  incidentId: z.union([z.string(), z.number()]).transform(String),
  alertWebUrl: nullable(z.string()),
  incidentWebUrl: nullable(z.string()),
  status: z.string(),
  title: nullable(z.string()).transform((v) => v ?? ""),
  description: nullable(z.string()).transform((v) => v ?? ""),
  detectionSource: nullable(z.string()),
  createdDateTime: z.string(),
});

const incidentSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  displayName: nullable(z.string()).transform((v) => v ?? ""),
  status: z.string(),
  severity: nullable(z.string()).transform((v) => v ?? "unknown"),
  redirectIncidentId: nullable(z.union([z.string(), z.number()]).transform(String)),
  assignedTo: nullable(z.string()),
  classification: nullable(z.string()),
  determination: nullable(z.string()),
  customTags: nullable(z.array(z.string())).transform((v) => v ?? []),
  resolvingComment: nullable(z.string()),
  description: nullable(z.string()),
  incidentWebUrl: nullable(z.string()),
  createdDateTime: nullable(z.string()),
  lastUpdateDateTime: z.string(),
  comments: nullable(
    z.array(z.object({ comment: z.string(), createdByDisplayName: nullable(z.string()), createdDateTime: nullable(z.string()) })),
  ).transform((v) => v ?? []),
});

const pageSchema = z.object({ value: z.array(z.unknown()), "@odata.nextLink": nullable(z.string()) });

/** Defender's own words from a Graph error, kept short. */
function graphMessage(error: GraphError): string {
  return (error.message || error.code || `HTTP ${error.statusCode}`).slice(0, 250);
}

const SIGN_IN_FAILURES = new Set(["CredentialUnavailableError", "AuthenticationError", "AggregateAuthenticationError"]);

type Operation = keyof typeof DEFENDER_PERMISSIONS;

export class DefenderClient implements DefenderApi {
  private readonly client: Client;
  private readonly origin: string;
  private readonly pageSize: number;

  constructor(
    private readonly settings: DefenderSettings,
    options: DefenderClientOptions = {},
  ) {
    const base = new URL(settings.graphEndpoint);
    this.origin = base.origin;
    this.pageSize = settings.pageSize ?? 50;
    const credential = options.credential ?? createDefenderCredential(settings);
    // The client's chain without a RetryHandler: the outbox retries.
    this.client = graphClient(base, credential, options.fetch ? { fetch: options.fetch } : {});
  }

  async createAlert(alert: ManualAlert): Promise<DefenderAlert> {
    const body = { "@odata.type": "#microsoft.graph.security.manualAlert", ...alert };
    const request = this.client.api("/security/alerts_v2").version("beta");
    const answer = await this.send(request, "createAlert", "create the alert", (r) => r.post(body));
    return this.parse(alertSchema, answer, "alert");
  }

  async findAlertByMarker(marker: string, createdSinceUtc: string): Promise<DefenderAlert | undefined> {
    const filter = `createdDateTime ge ${new Date(createdSinceUtc).toISOString()} and serviceSource eq 'microsoft365Defender'`;
    const first = this.client.api("/security/alerts_v2").version("beta").filter(filter).top(this.pageSize);
    for await (const page of this.pages(first, "readAlerts", "look for the alert already made")) {
      for (const item of page) {
        const parsed = alertSchema.safeParse(item);
        if (parsed.success && carriesMarker(parsed.data, marker)) return parsed.data;
      }
    }
    return undefined;
  }

  async getIncident(id: string): Promise<DefenderIncident | undefined> {
    const request = this.client.api(`/security/incidents/${encodeURIComponent(id)}`).version("v1.0");
    try {
      return this.parse(
        incidentSchema,
        await this.send(request, "readIncidents", "read the incident", (r) => r.get()),
        "incident",
      );
    } catch (error) {
      if (error instanceof DefenderError && error.kind === "missing") return undefined;
      throw error;
    }
  }

  async *listIncidentsChangedSince(sinceUtc: string): AsyncIterable<DefenderIncident[]> {
    const filter = `lastUpdateDateTime gt ${new Date(sinceUtc).toISOString()}`;
    const first = this.client.api("/security/incidents").version("v1.0").filter(filter).top(this.pageSize);
    for await (const page of this.pages(first, "readIncidents", "list changed incidents")) {
      const incidents: DefenderIncident[] = [];
      for (const item of page) {
        const parsed = incidentSchema.safeParse(item);
        // An incident in a shape this bot does not read: skipped, as the Sentinel mirror does.
        if (parsed.success) incidents.push(parsed.data);
      }
      yield incidents;
    }
  }

  async patchIncident(id: string, patch: IncidentPatch): Promise<DefenderIncident> {
    const request = this.client.api(`/security/incidents/${encodeURIComponent(id)}`).version("v1.0");
    return this.parse(
      incidentSchema,
      await this.send(request, "writeIncidents", "update the incident", (r) => r.patch(patch)),
      "incident",
    );
  }

  async addComment(incidentId: string, comment: string): Promise<void> {
    const request = this.client.api(`/security/incidents/${encodeURIComponent(incidentId)}/comments`).version("v1.0");
    const body = { "@odata.type": "microsoft.graph.security.alertComment", comment };
    await this.send(request, "writeIncidents", "add a comment", (r) => r.post(body));
  }

  /** Each page's items, following `@odata.nextLink` on Graph's own host only (the token goes nowhere else). */
  private async *pages(first: GraphRequest, operation: Operation, what: string): AsyncIterable<unknown[]> {
    let request: GraphRequest | undefined = first;
    while (request) {
      const page: z.infer<typeof pageSchema> = this.parse(
        pageSchema,
        await this.send(request, operation, what, (r) => r.get()),
        `${what} page`,
      );
      yield page.value;
      const next: string | undefined = page["@odata.nextLink"];
      if (next && new URL(next).origin !== this.origin) {
        throw new DefenderError("retry", `Defender's next page is on another host (${new URL(next).host}); not followed.`);
      }
      request = next ? this.client.api(next) : undefined;
    }
  }

  private parse<T extends z.ZodTypeAny>(schema: T, answer: unknown, what: string): z.infer<T> {
    const parsed = schema.safeParse(answer);
    if (!parsed.success)
      throw new DefenderError("retry", `Defender sent an ${what} this bot can't read.`, { cause: parsed.error });
    return parsed.data as z.infer<T>;
  }

  /** One request within the timeout; any failure becomes a DefenderError saying what to do. */
  private async send(
    request: GraphRequest,
    operation: Operation,
    what: string,
    call: (request: GraphRequest) => Promise<unknown>,
  ): Promise<unknown> {
    const signal = AbortSignal.timeout(this.settings.requestTimeoutMs);
    try {
      return await call(request.option("signal", signal));
    } catch (error) {
      throw this.failure(error, operation, what, signal.aborted);
    }
  }

  private failure(error: unknown, operation: Operation, what: string, timedOut: boolean): DefenderError {
    // A create whose answer never came may have made the alert all the same.
    const maybeMade = operation === "createAlert" ? " The alert may have been made: look for it before creating it again." : "";
    if (!(error instanceof GraphError) || error.statusCode <= 0) {
      const name = error instanceof GraphError ? (error.code ?? "") : ((error as Error)?.name ?? "");
      if (SIGN_IN_FAILURES.has(name)) {
        return new DefenderError("retry", `The bot could not sign in to Microsoft Graph for Defender (${name}).`, {
          cause: error,
        });
      }
      const why =
        timedOut || name === "TimeoutError" ? `no answer within ${this.settings.requestTimeoutMs} ms` : "the connection failed";
      return new DefenderError("retry", `Defender could not be reached to ${what} (${why}).${maybeMade}`, { cause: error });
    }
    const status = error.statusCode;
    if (status === 400) return new DefenderError("rejected", graphMessage(error), { status, cause: error });
    if (status === 404)
      return new DefenderError("missing", `Defender has no such incident (HTTP 404): ${graphMessage(error)}`, {
        status,
        cause: error,
      });
    if (status === 403) {
      const permission = DEFENDER_PERMISSIONS[operation];
      return new DefenderError(
        "forbidden",
        `Microsoft Graph refused the bot's identity (HTTP 403) to ${what}: grant it the application permission ${permission} ` +
          `(with admin consent). For a managed identity: ${grantCommands(permission, this.settings.graphEndpoint)}`,
        { status, permission, cause: error },
      );
    }
    if (status === 401) {
      return new DefenderError("retry", `Microsoft Graph did not accept the bot's token (HTTP 401): ${graphMessage(error)}`, {
        status,
        cause: error,
      });
    }
    return new DefenderError(
      "retry",
      `Defender answered HTTP ${status} to ${what}: ${graphMessage(error)}${status >= 500 ? maybeMade : ""}`,
      {
        status,
        cause: error,
        retryAfterMs: retryAfterMs(error.headers?.get("retry-after") ?? null),
      },
    );
  }
}
