import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import zlib from "node:zlib";

/**
 * Application Insights' ingestion endpoint as the Azure Monitor exporter talks to it (POST {IngestionEndpoint}/v2.1/track,
 * a JSON array of envelopes, gzip or not), over https with the test certificate (test/support/tls; the exporter sends its
 * Microsoft Entra token over https only), answering each batch as accepted. Every request is kept as the bytes that
 * arrived, decoded: what the bot would have sent to Azure Monitor.
 */

const TLS = {
  cert: fs.readFileSync(path.resolve(__dirname, "tls", "test-server.crt")),
  key: fs.readFileSync(path.resolve(__dirname, "tls", "test-server.key")),
};

export interface Envelope {
  name: string;
  tags?: Record<string, string>;
  data: { baseType: string; baseData: Record<string, any> };
}

export interface IngestionPost {
  path: string;
  authorization: string | undefined;
  /** The body as sent (gunzipped when it was compressed). */
  text: string;
}

export interface FakeAppInsights {
  /** For APPLICATIONINSIGHTS_CONNECTION_STRING. */
  connectionString: string;
  posts: IngestionPost[];
  /** Every envelope received, in order. */
  envelopes(): Envelope[];
  close(): Promise<void>;
}

export async function startFakeAppInsights(): Promise<FakeAppInsights> {
  const posts: IngestionPost[] = [];
  const server = https.createServer(TLS, (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
      const text = body.toString("utf8");
      posts.push({ path: req.url ?? "", authorization: req.headers.authorization, text });
      let count = 0;
      try {
        const parsed: unknown = JSON.parse(text);
        count = Array.isArray(parsed) ? parsed.length : 1;
      } catch {
        count = text.split("\n").filter(Boolean).length;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ itemsReceived: count, itemsAccepted: count, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    connectionString: `InstrumentationKey=3f1c9a2e-7b4d-4e8f-9a6b-2c5d8e1f0a47;IngestionEndpoint=${origin}`,
    posts,
    envelopes: () =>
      posts.flatMap((p) => {
        try {
          const parsed: unknown = JSON.parse(p.text);
          return (Array.isArray(parsed) ? parsed : [parsed]) as Envelope[];
        } catch {
          return p.text
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Envelope);
        }
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
