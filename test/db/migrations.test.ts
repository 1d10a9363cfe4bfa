/**
 * Migrations renamed after they shipped (migrations/0001_decision_path_indexes.sql, once named
 * after a ticket): wrangler tracks applied migrations by file name, so a database that ran the old
 * name runs the renamed file again. That second run must change nothing and fail nothing.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const RENAMED = "0001_decision_path_indexes.sql";

async function indexes() {
  const { results } = await env.DB.prepare(
    "select name, tbl_name, sql from sqlite_master where type = 'index' and sql is not null order by name",
  ).all<{ name: string; tbl_name: string; sql: string }>();
  return results;
}

describe("a migration renamed after it was applied", () => {
  it("applies again over a database that already has it, leaving its indexes as they were", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name === RENAMED);
    expect(migration?.queries.length).toBe(2);
    const before = await indexes();
    expect(before.map((i) => i.name)).toEqual(
      expect.arrayContaining(["products_site_category_idx", "rule_conversions_site_cookie_idx"]),
    );
    // As wrangler would under the new name: the whole file in one batch, on a database that has it.
    await env.DB.batch(migration!.queries.map((query) => env.DB.prepare(query)));
    expect(await indexes()).toEqual(before);
  });
});
