/** The drizzle client: one per request, on `c.var.db`. */
import { drizzle } from "drizzle-orm/d1";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Db } from "../env";
import * as schema from "./schema";

export function createDb(d1: D1Database): Db {
  return drizzle(d1, { schema, casing: "snake_case" });
}

export const dbMiddleware = createMiddleware<AppEnv>(async function attachDb(c, next) {
  c.set("db", createDb(c.env.DB));
  await next();
});
