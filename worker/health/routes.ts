/** `/healthz`: the Worker answers and its database is reachable. */
import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { logError } from "../lib/log";
import { jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";

export const healthRoutes = createRouter();

healthRoutes.openapi(
  createRoute({
    operationId: "getHealth",
    // Public: load balancers and monitors call it.
    security: [],
    method: "get",
    path: "/healthz",
    tags: ["Health"],
    summary: "Liveness and database reachability",
    responses: {
      200: jsonContent(z.object({ ok: z.literal(true), db: z.literal("ok") }), "Healthy"),
      503: jsonContent(z.object({ ok: z.literal(false), db: z.string() }), "The database does not answer"),
    },
  }),
  async (c) => {
    try {
      await c.var.db.run(sql`select 1`);
      return c.json({ ok: true as const, db: "ok" as const }, 200);
    } catch (err) {
      logError("health.database_unreachable", { requestId: c.var.requestId, error: err });
      return c.json({ ok: false as const, db: "unreachable" }, 503);
    }
  },
);
