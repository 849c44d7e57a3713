import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type KeyLike } from "jose";

/**
 * A local stand-in for the Bot Framework's token service, so authentication is tested for real:
 * - GET /.well-known/openidconfiguration and /keys: the OpenID metadata and JWKS the bot checks
 *   tokens against, published as login.botframework.com does (RSA keys with `endorsements`);
 * - POST /token: the OAuth 2.0 client-credentials endpoint the bot gets its own token from;
 * - sign(): tokens as the channel signs them, or wrong in one chosen way.
 */

export const ISSUER = "https://api.botframework.com";

export interface TokenOptions {
  /** Claims to add or override (aud, iss, serviceurl, exp, nbf...); `undefined` removes one. */
  claims?: Record<string, unknown>;
  /**
   * Which private key signs: the published channel key (default), a key that is not published but
   * claims the channel key's kid, or the published key endorsed only for another channel.
   */
  key?: "channel" | "rogue" | "webchat";
  /** HS256 signs with the published key's public PEM as the HMAC secret (the algorithm-confusion attack). */
  alg?: "RS256" | "RS384" | "RS512" | "HS256";
  /** Overrides the header's kid. */
  kid?: string;
}

export interface TokenRequest {
  clientId: string;
  clientSecret: string;
  scope: string;
  grantType: string;
}

export interface OpenIdServer {
  url: string;
  metadataUrl: string;
  tokenEndpoint: string;
  /** A token as the channel would send it for this app and serviceUrl. */
  sign(appId: string, serviceUrl: string, options?: TokenOptions): Promise<string>;
  /** An unsigned token (`alg: none`). */
  unsigned(appId: string, serviceUrl: string): string;
  /** Requests made to the token endpoint, and the tokens given out. */
  tokenRequests: TokenRequest[];
  issued: string[];
  /** How many times the metadata and the keys were read. */
  reads: { metadata: number; keys: number };
  close(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

/** Starts the server. Tokens are only handed out for `appId` and `appSecret`. */
export async function startOpenIdServer(appId: string, appSecret: string): Promise<OpenIdServer> {
  const [channel, rogue, webchat] = await Promise.all([newKey(`channel-${randomUUID()}`), newKey("rogue"), newKey(`webchat-${randomUUID()}`)]);
  rogue.kid = channel.kid;
  const jwks = {
    keys: [
      { ...(await exportJWK(channel.publicKey)), kid: channel.kid, use: "sig", kty: "RSA", endorsements: ["msteams"] },
      { ...(await exportJWK(webchat.publicKey)), kid: webchat.kid, use: "sig", kty: "RSA", endorsements: ["webchat"] },
    ],
  };
  const tokenRequests: TokenRequest[] = [];
  const issued: string[] = [];
  const reads = { metadata: 0, keys: 0 };
  let url = "";

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      const path = (req.url ?? "").split("?")[0];
      if (req.method === "GET" && path === "/.well-known/openidconfiguration") {
        reads.metadata++;
        res.end(JSON.stringify({ issuer: ISSUER, authorization_endpoint: `${url}/authorize`, jwks_uri: `${url}/keys`, id_token_signing_alg_values_supported: ["RS256"], token_endpoint_auth_methods_supported: ["private_key_jwt"] }));
        return;
      }
      if (req.method === "GET" && path === "/keys") {
        reads.keys++;
        res.end(JSON.stringify(jwks));
        return;
      }
      if (req.method === "POST" && path === "/token") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        const request = {
          clientId: form.get("client_id") ?? "",
          clientSecret: form.get("client_secret") ?? "",
          scope: form.get("scope") ?? "",
          grantType: form.get("grant_type") ?? "",
        };
        tokenRequests.push(request);
        if (request.grantType !== "client_credentials" || request.clientId !== appId || request.clientSecret !== appSecret) {
          res.statusCode = 401;
          res.end(JSON.stringify({ error: "invalid_client" }));
          return;
        }
        const token = `bot-to-channel-${randomUUID()}`;
        issued.push(token);
        res.end(JSON.stringify({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: "not_found" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    metadataUrl: `${url}/.well-known/openidconfiguration`,
    tokenEndpoint: `${url}/token`,
    tokenRequests,
    issued,
    reads,
    async sign(forApp, serviceUrl, options = {}) {
      const key = options.key === "rogue" ? rogue : options.key === "webchat" ? webchat : channel;
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = { iss: ISSUER, aud: forApp, serviceurl: serviceUrl, nbf: now - 60, exp: now + 3600, ...options.claims };
      for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
      const secret = options.alg === "HS256" ? new TextEncoder().encode(await exportSPKI(key.publicKey)) : key.privateKey;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? key.kid, typ: "JWT" })
        .sign(secret);
    },
    unsigned(forApp, serviceUrl) {
      const now = Math.floor(Date.now() / 1000);
      return new UnsecuredJWT({ iss: ISSUER, aud: forApp, serviceurl: serviceUrl, nbf: now - 60, exp: now + 3600 }).encode();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
