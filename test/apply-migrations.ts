// Setup file: runs before every workers test file. It applies the real migrations
// (migrations/*.sql, read by vitest.config.ts into TEST_MIGRATIONS) to the runtime's D1 (those
// already applied are skipped), empties every table (files share a runtime, vitest.config.ts)
// and waits after each test for the work its requests left behind.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { clearRuleSetCache } from "../worker/decide/rule-set";
import { clearIsolateCaches } from "../worker/lib/isolate-cache";
import { shardBindings } from "../worker/shards/routing";
import { settleBackgroundWork } from "./fixtures/api";

// HOME gets migrations/, every PEOPLE shard migrations/people/ (worker/shards/routing.ts).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (const shard of shardBindings(env)) await applyD1Migrations(shard, env.TEST_PEOPLE_MIGRATIONS);

// Test files share a workerd and its D1 (vitest.config.ts, `isolate: false`); each still starts
// from empty databases, as it would in fresh ones. sqlite_sequence stays, so a row ID is never
// given out twice: the Worker's per-isolate caches (sites, rule sets) are keyed by row IDs.
async function empty(db: D1Database) {
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
}
await Promise.all([env.DB, ...shardBindings(env)].map(empty));

// The isolate's caches outlive the emptied tables: a site key seeded again by this file gets a new
// row ID, so the site and rule caches of the previous file must go too.
clearIsolateCaches();
clearRuleSetCache();

// Work a test's requests left behind finishes inside that test (test/fixtures/api.ts, `call`).
afterEach(settleBackgroundWork);
