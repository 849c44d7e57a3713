import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { AccessToken, TokenCredential } from "@azure/identity";

/**
 * The managed-identity endpoint Azure App Service gives an app (IDENTITY_ENDPOINT / IDENTITY_HEADER), over
 * http on this machine as App Service's is: GET ?resource=...&api-version=2019-08-01 with header
 * X-IDENTITY-HEADER. It issues tokens for one resource only (a test server's origin), and the test server
 * accepts only tokens it issued. Shared by the Sentinel and Defender test servers.
 */
export interface ManagedIdentityEndpoint {
  endpoint: string;
  header: string;
  /** Whether an Authorization header carries a bearer token this endpoint issued. */
  accepts(authorization: string): boolean;
  issued(): number;
  closeAllConnections(): void;
  close(): Promise<void>;
}

export async function startManagedIdentity(options: {
  /** The one resource it issues tokens for (read at each request: the server's origin is known after it listens). */
  resource: () => string;
  /** How its tokens start ("fake-arm-token-"), so a log tells whose they are. */
  tokenPrefix: string;
  now: () => Date;
}): Promise<ManagedIdentityEndpoint> {
  const header = randomUUID();
  const tokens = new Set<string>();
  let issued = 0;
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.headers["x-identity-header"] !== header) return json(res, 401, { error: "missing or wrong X-IDENTITY-HEADER" });
    const resource = url.searchParams.get("resource") ?? "";
    if (resource.replace(/\/$/, "") !== options.resource()) return json(res, 400, { error: `unknown resource ${resource}` });
    const token = `${options.tokenPrefix}${randomUUID()}`;
    tokens.add(token);
    issued++;
    const expiresOn = Math.floor(options.now().getTime() / 1000) + 3600;
    json(res, 200, {
      access_token: token,
      expires_on: String(expiresOn),
      resource,
      token_type: "Bearer",
      client_id: url.searchParams.get("client_id") ?? "system",
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`,
    header,
    accepts: (authorization) => authorization.startsWith("Bearer ") && tokens.has(authorization.slice(7)),
    issued: () => issued,
    closeAllConnections: () => server.closeAllConnections(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A credential that asks such an endpoint for a token for `resource`, as ManagedIdentityCredential does
 * (which reads IDENTITY_ENDPOINT from process.env: a bot started in this process with its own environment
 * does not change it). `onRequest` counts the requests.
 */
export function identityCredential(
  identity: { identityEndpoint: string; identityHeader: string },
  resource: string,
  onRequest: () => void = () => undefined,
): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      onRequest();
      const url = new URL(identity.identityEndpoint);
      url.searchParams.set("resource", resource);
      url.searchParams.set("api-version", "2019-08-01");
      const response = await fetch(url, { headers: { "X-IDENTITY-HEADER": identity.identityHeader } });
      if (!response.ok) throw new Error(`identity endpoint: HTTP ${response.status}`);
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
}
