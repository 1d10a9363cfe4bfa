/**
 * The drizzle client: one per request, on `c.var.db`.
 *
 * `drizzle(d1, { schema })` walks the whole schema (extractTablesRelationalConfig) and builds a
 * fresh dialect, with an empty column-name casing cache, on every call: ≈45 µs per client, and a
 * banner builds two (the app's and the decision's D1 session). The schema's relational config and
 * the dialect hold no per-request state, so they are built once per isolate; only the session over
 * this request's binding (or D1 session) is new. This is drizzle()'s own body for D1 (drizzle-orm
 * 0.45, pinned), minus the logger and cache options tagwerk does not use.
 */
import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm";
import { DrizzleD1Database, SQLiteD1Session } from "drizzle-orm/d1";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Db } from "../env";
import * as schema from "./schema";

const relational = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
const schemaConfig = { fullSchema: schema, schema: relational.tables, tableNamesMap: relational.tableNamesMap };
const dialect = new SQLiteAsyncDialect({ casing: "snake_case" });

export function createDb(d1: D1Database): Db {
  const session = new SQLiteD1Session(d1, dialect, schemaConfig, {});
  const db = new DrizzleD1Database("async", dialect, session, schemaConfig) as unknown as Db;
  db.$client = d1;
  return db;
}

export const dbMiddleware = createMiddleware<AppEnv>(async function attachDb(c, next) {
  c.set("db", createDb(c.env.DB));
  await next();
});
