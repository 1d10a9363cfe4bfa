/**
 * The drizzle client: one per request, on `c.var.db`.
 *
 * Built by drizzle's public `drizzle()` without the schema: given the schema, drizzle() walks every
 * table into a relational-query config and a `db.query.<table>` builder per table on every call
 * (≈150 µs measured on this machine, and a banner builds two clients: the app's and the decision's
 * D1 session); without it, ≈1 µs. tagwerk uses the SQL-like builder only (`db.select()`,
 * `db.insert()`, ...), which needs the tables it is given, not the schema — so `db.query` does not
 * exist, and the `Db` type (env.ts) says so.
 */
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Db } from "../env";

export function createDb(d1: D1Database | D1DatabaseSession): Db {
  // drizzle's D1 driver calls only prepare() and batch(), which a Sessions API session has too.
  return drizzle(d1 as D1Database, { casing: "snake_case" });
}

export const dbMiddleware = createMiddleware<AppEnv>(async function attachDb(c, next) {
  c.set("db", createDb(c.env.DB));
  await next();
});
