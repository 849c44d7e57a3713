import {
  CallerIdConstants,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  type Activity,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from "botbuilder";
import {
  AuthenticationError,
  ConnectorFactory,
  type AuthenticateRequestResult,
  type ClaimsIdentity,
  type ConnectorClient,
  type UserTokenClient,
} from "botframework-connector";
import { BoundedCache } from "../adapters/graph-cache";

/**
 * Where Bot Framework tokens are checked and obtained, when not the public cloud's. For tests (a
 * local OpenID server and token endpoint) and for private or sovereign clouds. Unset: botbuilder's
 * built-in public-cloud values, exactly as without this module.
 */
export interface AuthOverrides {
  /** OpenID metadata document whose jwks_uri lists the keys that sign the channel's tokens. */
  openIdMetadataUrl?: string;
  /** The `iss` every token from the channel must carry. */
  tokenIssuer?: string;
  /** OAuth 2.0 token endpoint the bot gets its own token from (client credentials), instead of MSAL. */
  tokenEndpoint?: string;
}

/** botbuilder's public-cloud values (its AuthenticationConstants, which the botbuilder package does not export). */
const PUBLIC_CLOUD = {
  ToChannelFromBotLoginUrl: "https://login.microsoftonline.com/botframework.com",
  ToChannelFromBotOAuthScope: "https://api.botframework.com",
  ToBotFromChannelTokenIssuer: "https://api.botframework.com",
  OAuthUrl: "https://api.botframework.com",
  ToBotFromChannelOpenIdMetadataUrl: "https://login.botframework.com/v1/.well-known/openidconfiguration",
  ToBotFromEmulatorOpenIdMetadataUrl: "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
  CallerId: CallerIdConstants.PublicAzureChannel,
} as const;

/**
 * The authentication CloudAdapter uses. With an app id, every request needs a Bot Framework token:
 * signed by a key of the OpenID metadata (RS256/384/512, endorsed for the activity's channel),
 * issued by the channel, for this app id (aud), unexpired, and naming the activity's serviceUrl.
 */
export function createAuthentication(
  settings: ConfigurationBotFrameworkAuthenticationOptions,
  overrides: AuthOverrides = {},
): ConfigurationBotFrameworkAuthentication {
  const { openIdMetadataUrl, tokenIssuer, tokenEndpoint } = overrides;
  // Given any one endpoint, botbuilder drops all of its built-in ones: so pass the full set.
  const endpoints =
    openIdMetadataUrl || tokenIssuer
      ? {
          ...PUBLIC_CLOUD,
          ...(openIdMetadataUrl && { ToBotFromChannelOpenIdMetadataUrl: openIdMetadataUrl }),
          ...(tokenIssuer && { ToBotFromChannelTokenIssuer: tokenIssuer }),
        }
      : {};
  const credentials = tokenEndpoint ? new TokenEndpointCredentialsFactory(settings, tokenEndpoint) : undefined;
  return new StrictAuthentication({ ...settings, ...endpoints }, credentials);
}

/**
 * botbuilder's authentication with two changes.
 * - botbuilder turns only its own AuthenticationError into 401: a token with a bad signature, a
 *   malformed one or one not yet valid fails inside jsonwebtoken and would be answered 500 (which the
 *   channel retries). Those are the caller's fault: 401. Anything else (the OpenID metadata can't be
 *   fetched) stays a 500: the bot can't check tokens right now.
 * - Outbound clients are reused (see `reusing`).
 */
class StrictAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly clients = new BoundedCache<string, Promise<ConnectorClient>>(CLIENTS_KEPT, Date.now);
  private readonly userTokenClients = new BoundedCache<string, Promise<UserTokenClient>>(CLIENTS_KEPT, Date.now);

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      const result = await super.authenticateRequest(activity, authHeader);
      const { connectorFactory, claimsIdentity } = result;
      return connectorFactory ? { ...result, connectorFactory: this.reusing(appIdOf(claimsIdentity), connectorFactory) } : result;
    } catch (error) {
      if (error instanceof Error && !(error instanceof AuthenticationError) && JWT_ERRORS.has(error.name)) {
        throw new AuthenticationError(`Unauthorized. The token is not valid: ${error.message}.`, 401);
      }
      throw error;
    }
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(appIdOf(claimsIdentity), super.createConnectorFactory(claimsIdentity));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return kept(this.userTokenClients, appIdOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
  }

  /**
   * botbuilder builds a new Bot Connector client (an HTTP pipeline, with credentials) and a new user token
   * client on every activity: over a third of a typeahead's CPU and a sixth of a create's (measured side by
   * side). One per app id, service URL and audience is kept instead. A client holds no per-turn state: each
   * request is signed by its credentials, which renew their own token.
   */
  private reusing(appId: string, inner: ConnectorFactory): ConnectorFactory {
    const clients = this.clients;
    return new (class extends ConnectorFactory {
      create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
        return kept(clients, JSON.stringify([appId, serviceUrl, audience ?? null]), () => inner.create(serviceUrl, audience));
      }
    })();
  }
}

/** Clients kept: a bot talks to a handful of service URLs (one per Teams cloud and region it serves). */
const CLIENTS_KEPT = 32;

/** The app id botbuilder builds clients for (its getAppId: the token's audience, else its appid claim), as a key. */
function appIdOf(identity: ClaimsIdentity): string {
  return JSON.stringify(identity.getClaimValue("aud") ?? identity.getClaimValue("appid") ?? null);
}

/**
 * The value kept for `key`, else `make`'s, kept (the oldest dropped first when full). A failed one is not
 * kept, so the next turn tries again.
 */
function kept<T>(cache: BoundedCache<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = cache.get(key, Infinity);
  if (known) return known;
  const value = make();
  cache.set(key, value);
  value.catch(() => cache.forget(key, value));
  return value;
}

/** jsonwebtoken's error names: bad signature or algorithm, malformed, expired, not yet valid. */
const JWT_ERRORS = new Set(["JsonWebTokenError", "TokenExpiredError", "NotBeforeError"]);

type CredentialsFactory = NonNullable<ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1]>;
type Credentials = Awaited<ReturnType<CredentialsFactory["createCredentials"]>>;
type WebResource = Parameters<Credentials["signRequest"]>[0];

const TOKEN_TIMEOUT_MS = 10_000;

/**
 * The bot's own token from a plain OAuth 2.0 client-credentials request. botbuilder's MSAL client
 * insists on https and on Microsoft's instance discovery, so it can't use a local or private
 * endpoint. App id checks stay botbuilder's.
 */
class TokenEndpointCredentialsFactory implements CredentialsFactory {
  private readonly inner: ConfigurationServiceClientCredentialFactory;
  private readonly appId: string;
  private readonly secret: string;
  private readonly tokens = new Map<string, Promise<{ token: string; renewAt: number }>>();

  constructor(
    settings: ConfigurationBotFrameworkAuthenticationOptions,
    private readonly endpoint: string,
  ) {
    this.inner = new ConfigurationServiceClientCredentialFactory(settings);
    this.appId = String(settings.MicrosoftAppId ?? "");
    this.secret = String(settings.MicrosoftAppPassword ?? "");
  }

  // Never serialise the secret (botbuilder's own factories do the same).
  toJSON(): object {
    return { name: "TokenEndpointCredentialsFactory", appId: this.appId, endpoint: this.endpoint };
  }

  isValidAppId(appId: string): Promise<boolean> {
    return this.inner.isValidAppId(appId);
  }

  isAuthenticationDisabled(): Promise<boolean> {
    return this.inner.isAuthenticationDisabled();
  }

  async createCredentials(appId: string, audience: string | undefined): Promise<Credentials> {
    if (!(await this.isValidAppId(appId))) throw new Error("Invalid appId.");
    const scope = `${audience || PUBLIC_CLOUD.ToChannelFromBotOAuthScope}/.default`;
    return {
      signRequest: async (request: WebResource) => {
        request.headers.set("authorization", `Bearer ${await this.token(scope)}`);
        return request;
      },
    };
  }

  private async token(scope: string): Promise<string> {
    let pending = this.tokens.get(scope);
    if (pending) {
      const current = await pending.catch(() => undefined);
      if (current && current.renewAt > Date.now()) return current.token;
      if (this.tokens.get(scope) === pending) this.tokens.delete(scope);
      pending = this.tokens.get(scope);
    }
    if (!pending) {
      pending = this.request(scope);
      this.tokens.set(scope, pending);
      // A failed request is not kept: the next send asks again.
      pending.catch(() => {
        if (this.tokens.get(scope) === pending) this.tokens.delete(scope);
      });
    }
    return (await pending).token;
  }

  private async request(scope: string): Promise<{ token: string; renewAt: number }> {
    const res = await fetch(this.endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: this.appId, client_secret: this.secret, scope }),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`The bot's token endpoint (BOT_TOKEN_ENDPOINT) answered ${res.status}.`);
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== "string" || !body.access_token) {
      throw new Error("The bot's token endpoint (BOT_TOKEN_ENDPOINT) answered without an access_token.");
    }
    const lifetimeS = typeof body.expires_in === "number" ? body.expires_in : Number(body.expires_in) || 3600;
    // Renewed 5 minutes before it expires (or half-way, for short-lived tokens), as botbuilder does.
    const renewInS = lifetimeS > 600 ? lifetimeS - 300 : lifetimeS / 2;
    return { token: body.access_token, renewAt: Date.now() + renewInS * 1000 };
  }
}
