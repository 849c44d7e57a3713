import { execFileSync } from "node:child_process";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createHttpServer, createHttpsServer } from "@vercel/cosmosdb-server";

/** The in-memory server accepts any key; this has the shape of a real one. */
export const TEST_COSMOS_KEY = Buffer.from("cosmosdb-server accepts any key in tests").toString("base64");

export interface CosmosTestServer {
  /** http://127.0.0.1:<port>, or https:// with `ca`. */
  endpoint: string;
  /** With https: the self-signed certificate (PEM) to trust. */
  ca?: string;
  close(): Promise<void>;
}

/**
 * Starts `@vercel/cosmosdb-server` in this process on an ephemeral port (memory only). Plain HTTP by
 * default; `https: true` makes a fresh self-signed certificate with openssl (the package's own expired
 * in 2021), which Microsoft Entra ID auth needs: the SDK sends bearer tokens over https only.
 */
export async function startCosmosServer(options: { https?: boolean } = {}): Promise<CosmosTestServer> {
  let ca: string | undefined;
  let server;
  if (options.https) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cosmos-cert-"));
    const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
    ], { stdio: "ignore" });
    ca = fs.readFileSync(cert, "utf8");
    server = createHttpsServer({ key: fs.readFileSync(key), cert: ca, keepAlive: true });
    fs.rmSync(dir, { recursive: true, force: true });
  } else {
    // keepAlive: the server otherwise closes every connection, and reconnecting dominates test time.
    server = createHttpServer({ keepAlive: true });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${options.https ? "https" : "http"}://127.0.0.1:${port}`,
    ...(ca && { ca }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
