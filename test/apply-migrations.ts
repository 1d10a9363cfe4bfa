// Setup file: runs before every workers test file. It applies the real migrations
// (migrations/*.sql, read by vitest.config.ts into TEST_MIGRATIONS) to the runtime's D1, empties
// every table (files share a runtime, vitest.config.ts) and waits after each test for the work
// its requests left behind.
//
// Written against plain `env.DB` rather than cloudflare:test's applyD1Migrations on purpose:
// importing `cloudflare:test` loads the whole test-helper module graph (≈4.5 s on a 2-core CI
// machine, measured, for each fresh runtime), while the migrations themselves take ≈0.15 s.
// It keeps applyD1Migrations' contract: the same `d1_migrations` table, already applied names
// skipped, each migration applied atomically with its name (one D1 batch).
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { settleBackgroundWork } from "./fixtures/api";

const db = env.DB;
await db
  .prepare(
    "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
  )
  .run();
const applied = new Set(
  (await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((row) => row.name),
);
for (const migration of env.TEST_MIGRATIONS) {
  if (applied.has(migration.name)) continue;
  await db.batch([
    ...migration.queries.map((query) => db.prepare(query)),
    db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(migration.name),
  ]);
}

// Test files share a workerd and its D1 (vitest.config.ts, `isolate: false`); each still starts
// from an empty database, as it would in a fresh one. sqlite_sequence stays, so a row ID is never
// given out twice: the Worker's per-isolate caches (sites, rule sets) are keyed by row IDs.
const tables = (
  await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('d1_migrations', 'sqlite_sequence') AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
    )
    .all<{ name: string }>()
).results.map((row) => row.name);
await db.batch([
  // Foreign keys are checked when the batch's transaction commits, so the order of deletes is free.
  db.prepare("PRAGMA defer_foreign_keys = on"),
  ...tables.map((name) => db.prepare(`DELETE FROM "${name}"`)),
]);

// Work a test's requests left behind finishes inside that test (test/fixtures/api.ts, `call`).
afterEach(settleBackgroundWork);
