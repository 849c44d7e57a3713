/**
 * Run as its own Node process by cosmos-store.test.ts: drives the Cosmos store through every kind of
 * fault, then reports. Node's default `--unhandled-rejections=throw` turns any promise the store left
 * dangling into a crash (exit code 1), which jest itself would not notice.
 */
import { openCosmosStore } from "../../src/adapters/cosmos-store";
import { cosmosSettings, loadConfig } from "../../src/config";
import { aNewIncident, labels } from "./builders";
import { startCosmosServer, TEST_COSMOS_KEY } from "./cosmos-server";
import { type Fault, FaultProxy } from "./fault-proxy";

async function main(): Promise<void> {
  const server = await startCosmosServer();
  const proxy = await FaultProxy.start(server.endpoint);
  const config = loadConfig({
    STORE: "cosmos",
    COSMOS_ENDPOINT: proxy.endpoint,
    COSMOS_KEY: TEST_COSMOS_KEY,
    COSMOS_CREATE_IF_MISSING: "true",
    COSMOS_RETRY_BUDGET_MS: "400",
    COSMOS_REQUEST_TIMEOUT_MS: "100",
  });
  const store = await openCosmosStore(cosmosSettings(config), { clientOptions: { connectionPolicy: { enableEndpointDiscovery: false } } });
  const ws = "ws-child";
  const failures: string[] = [];
  const faults: Fault[] = [{ kind: "stall" }, { kind: "drop" }, { kind: "lose-response" }, { kind: "status", status: 503 }, { kind: "status", status: 429, retryAfterMs: 20 }];
  for (const fault of faults) {
    proxy.inject(fault);
    const incident = aNewIncident({ workspaceId: ws, labels: labels("Phishing") });
    const results = await Promise.allSettled([store.create(incident), store.get(ws, incident.id), store.tagUsage(ws, "2026-11-01")]);
    for (const r of results) failures.push(r.status === "rejected" ? (r.reason as Error).name : "fulfilled");
    proxy.clear();
  }
  // Let abandoned attempts finish or fail in the background, where nothing awaits them.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await store.create(aNewIncident({ workspaceId: ws, labels: labels("Phishing") }));
  await store.close();
  await proxy.close();
  await server.close();
  process.stdout.write(JSON.stringify({ failures, createdAfter: after.created }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(2);
});
