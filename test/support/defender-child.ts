import { DefenderClient } from "../../src/adapters/defender-client";

/**
 * The Defender adapter as a bot process runs it: global fetch (trusting NODE_EXTRA_CA_CERTS) and
 * ManagedIdentityCredential reading IDENTITY_ENDPOINT / IDENTITY_HEADER, nothing replaced. Makes the
 * manual alert given as JSON in DEFENDER_CHILD_ALERT and prints Defender's answer (or the failure) as JSON.
 */
async function main(): Promise<void> {
  const client = new DefenderClient({
    graphEndpoint: process.env.DEFENDER_CHILD_GRAPH_ENDPOINT ?? "",
    signIn: { kind: "managed-identity" },
    requestTimeoutMs: 10_000,
  });
  try {
    const alert = await client.createAlert(JSON.parse(process.env.DEFENDER_CHILD_ALERT ?? "{}"));
    const incident = await client.getIncident(alert.incidentId);
    process.stdout.write(JSON.stringify({ alert, incident }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: (error as Error).message }));
  }
}

void main();
