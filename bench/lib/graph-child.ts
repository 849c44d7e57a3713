import type { AccessToken, TokenCredential } from "@azure/identity";
import { createGraphDirectory } from "../../src/adapters/graph-directory";
import { graphSettings, loadConfig } from "../../src/config";
import type { Directory } from "../../src/incidents/ports";

/** Where the bench's fake Graph listens (in the load generator's process) and how to reach it. */
export interface GraphTarget {
  /** http://127.0.0.1:<port> of the fake (through bench/lib/graph-relay.ts). */
  origin: string;
  /** The https name the client uses for it (the client sends tokens only over https). */
  baseUrl: string;
  token: string;
}

/**
 * The real Graph directory, as the composition root builds it from GRAPH_* settings, with two
 * test hooks: a credential that hands out the fake's token, and a fetch that sends requests for
 * the https base URL to the fake on loopback.
 */
export function graphDirectory(env: Record<string, string>, target: GraphTarget): Directory {
  const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> => Promise.resolve({ token: target.token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const fetchToFake = (input: RequestInfo, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(`${target.baseUrl}/`)) return Promise.reject(new Error(`the bench's fake Graph does not serve ${url}`));
    return fetch(target.origin + url.slice(target.baseUrl.length), init);
  };
  return createGraphDirectory(graphSettings(loadConfig(env)), { credential, fetch: fetchToFake });
}
