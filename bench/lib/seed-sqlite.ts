import type Database from "better-sqlite3";
import type { SqliteIncidentStore } from "../../src/adapters/sqlite-store";
import type { IncidentStore } from "../../src/incidents/ports";

/**
 * The store's own create, committed every `every` creates instead of after each one: the store's
 * IMMEDIATE transaction nests inside an open one as a savepoint (better-sqlite3), so every
 * statement still runs as in the bot; only the commits are grouped (100,000 one by one take
 * minutes on a busy machine, grouped about ten seconds). Reaches into the store's private
 * connection; when that is not there, creates are committed one by one.
 */
export function batchedCreates(store: SqliteIncidentStore, every = 2000): { store: Pick<IncidentStore, "create">; finish(): void } {
  const db = (store as unknown as { db?: Database.Database }).db;
  if (!db || typeof db.exec !== "function") return { store, finish: () => undefined };
  let pending = 0;
  db.exec("BEGIN IMMEDIATE");
  return {
    store: {
      create: async (incident) => {
        const outcome = await store.create(incident);
        if (++pending >= every) {
          db.exec("COMMIT");
          db.exec("BEGIN IMMEDIATE");
          pending = 0;
        }
        return outcome;
      },
    },
    finish: () => {
      if (db.inTransaction) db.exec("COMMIT");
      db.pragma("wal_checkpoint(TRUNCATE)");
    },
  };
}
