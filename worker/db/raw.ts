/**
 * Raw D1, for what drizzle's query builder cannot say or batch: the hand-written SQL of the hot
 * paths (the decision read, coupon claims, impressions — one round trip each, see
 * docs/architecture.md, "Decision path") and batches of `sql` fragments (INSERT ... SELECT over
 * CTEs, multi-row upserts). Every raw statement binds its values; nothing is spliced into SQL text.
 */
import { is, SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "../env";

/** Anything that prepares and batches D1 statements: the binding, a Sessions API session. */
export type D1Like = Pick<D1Database, "prepare" | "batch">;

/** SQL text with `?` placeholders built only from fixed column names, and its bound values. */
export type BoundStatement = { text: string; params: unknown[] };

/** The raw D1 client behind a drizzle client (drizzle() keeps it as `$client`), or `db` itself. */
export function toD1(db: Db | D1Like): D1Like {
  return "$client" in db ? db.$client : db;
}

/** The client's own casing (db/client.ts), so a column named in a fragment renders the same. */
const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

function prepare(d1: D1Like, statement: SQL | BoundStatement): D1PreparedStatement {
  if (is(statement, SQL)) {
    const query = dialect.sqlToQuery(statement);
    return d1.prepare(query.sql).bind(...query.params);
  }
  return d1.prepare(statement.text).bind(...statement.params);
}

/** Hand-built statements prepared for a batch that also holds other prepared statements. */
export function preparedAll(d1: D1Like, statements: readonly BoundStatement[]): D1PreparedStatement[] {
  return statements.map((statement) => prepare(d1, statement));
}

/**
 * Runs the statements as ONE D1 batch: one round trip, one transaction (all or nothing). drizzle's
 * own `db.batch` takes query builders only, not `sql` fragments or hand-built statements.
 */
export async function runBatch(db: Db | D1Like, statements: readonly (SQL | BoundStatement)[]): Promise<D1Result[]> {
  const d1 = toD1(db);
  return d1.batch(statements.map((statement) => prepare(d1, statement)));
}
