/**
 * `POST /api/v1/sites/{key}/decision-rows/rebuild` (operator): rebuilds a site's decision rows
 * from their sources (docs/architecture.md, "Decision rows") — after a migration, a restore, or a
 * repair. The answer streams one NDJSON line per step of REBUILD_STEP visitors, so progress shows
 * while it runs; each line carries the cursor (`after`) to resume from if the call is cut off, and
 * a rebuild can run at any time beside the writers: it writes the rows they would write.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { sites } from "../db/schema";
import { apiError } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { rebuildDecisionRows } from "./decision-rows";

export const rebuildRoutes = createRouter();

rebuildRoutes.openapi(
  createRoute({
    operationId: "rebuildDecisionRows",
    method: "post",
    path: "/api/v1/sites/{key}/decision-rows/rebuild",
    tags: ["Sites"],
    summary: "Rebuild a site's decision rows from their sources (operator only), streamed and resumable",
    security: [{ operatorToken: [] }],
    request: {
      params: z.object({
        key: z
          .string()
          .min(1)
          .max(63)
          .openapi({ param: { name: "key", in: "path" } }),
      }),
      query: z.object({
        after: z.coerce
          .number()
          .int()
          .min(0)
          .default(0)
          .openapi({ description: "Resume after this visitor row ID (the `after` of the last line received)" }),
      }),
    },
    responses: {
      200: {
        description:
          'NDJSON: `{"after": ID, "rows": N}` per step, then `{"done": true, "rows": TOTAL}`; a cut-off call ' +
          "resumes with `?after=` of its last line",
        content: { "application/x-ndjson": { schema: z.string() } },
      },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const [site] = await c.var.db
      .select({ id: sites.id })
      .from(sites)
      .where(eq(sites.key, c.req.valid("param").key));
    if (!site) throw apiError(404, "not_found", "No such site");
    const db = c.var.db;
    let after = c.req.valid("query").after;
    let total = 0;
    const encoder = new TextEncoder();
    // One step per pull: memory stays flat and a slow reader slows the rebuild, not the reverse.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const step = await rebuildDecisionRows(db, site.id, after, Date.now());
        if (!step) {
          controller.enqueue(encoder.encode(`${JSON.stringify({ done: true, rows: total })}\n`));
          controller.close();
          return;
        }
        after = step.last;
        total += step.rows;
        controller.enqueue(encoder.encode(`${JSON.stringify({ after, rows: step.rows })}\n`));
      },
    });
    // zod-openapi types every "*json*" media type as a c.json() body; a stream is a plain Response.
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" },
    }) as never;
  },
);
