/**
 * A second process writing to a SQLite store file: `node --import tsx sqlite-writer.ts <file> <count> <workspace>`
 * creates `count` incidents (half of them with ids another writer also uses) and prints their ids and numbers as JSON.
 */
import { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import { aNewIncident } from "./builders";

async function main(): Promise<void> {
  const [file, count, workspaceId, sharedPrefix] = process.argv.slice(2);
  const store = new SqliteIncidentStore(file!, { busyTimeoutMs: 10_000 });
  const out: { id: string; number: number; created: boolean }[] = [];
  for (let i = 0; i < Number(count); i++) {
    // Every other id is one the other writer creates too: a double submission reaching two processes.
    const id = i % 2 === 0 ? `${sharedPrefix}-${String(i).padStart(4, "0")}` : `${process.pid}-${i}`;
    const { incident, created } = await store.create(aNewIncident({ workspaceId: workspaceId!, id }));
    out.push({ id, number: incident.incidentNumber, created });
  }
  await store.close();
  process.stdout.write(JSON.stringify(out));
}

void main();
