/**
 * `POST /api/v1/sites/{key}/decision-rows/rebuild` (operator): rebuilds a site's decision rows
 * from their sources (docs/architecture.md, "Decision rows") — after a migration, a restore, or a
 * repair. The answer streams one NDJSON line per step of REBUILD_STEP visitors, so progress shows
 * while it runs; each line carries the cursor (`after`) to resume from if the call is cut off, and
 * a rebuild can run at any time beside the writers: it writes the rows they would write.
 *
 * A site on shards (docs/architecture.md, "Shards") is rebuilt one database of its set after the
 * other, in set order; each row runs the one derivation on its own shard. Its lines name the shard
 * as well (`{"shard": K, "after": ID, "rows": N}`), and a cut-off call resumes with
 * `?shard=K&after=ID`: the shards before K are done, K from after ID, the ones after it whole.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { sites } from "../db/schema";
import { apiError } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { peopleOfSite } from "../shards/routing";
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
        shard: z.coerce.number().int().min(0).optional().openapi({
          description: "A site on shards: resume on this shard (the `shard` of the last line received), after `after`",
        }),
      }),
    },
    responses: {
      200: {
        description:
          'NDJSON: `{"after": ID, "rows": N}` per step (with `"shard": K` for a site on shards), then ' +
          '`{"done": true, "rows": TOTAL}`; a cut-off call resumes with `?after=` (and `?shard=`) of its last line',
        content: { "application/x-ndjson": { schema: z.string() } },
      },
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const [site] = await c.var.db
      .select({ id: sites.id, shards: sites.shards })
      .from(sites)
      .where(eq(sites.key, c.req.valid("param").key));
    if (!site) throw apiError(404, "not_found", "No such site");
    const query = c.req.valid("query");
    const databases = peopleOfSite(c.env, site);
    let index = 0;
    if (query.shard !== undefined) {
      index = databases.findIndex((people) => people.shard === query.shard);
      if (index < 0) throw apiError(400, "bad_request", `Shard ${query.shard} is not in the site's set`);
    }
    let after = query.after;
    let total = 0;
    const encoder = new TextEncoder();
    const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
    // One step per pull: memory stays flat and a slow reader slows the rebuild, not the reverse.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const people = databases[index];
          if (!people) {
            controller.enqueue(line({ done: true, rows: total }));
            controller.close();
            return;
          }
          const step = await rebuildDecisionRows(people.d1, site.id, after, Date.now());
          if (!step) {
            // This database is done: the next one from its first visitor.
            index += 1;
            after = 0;
            continue;
          }
          after = step.last;
          total += step.rows;
          const shard = site.shards === null ? {} : { shard: people.shard };
          controller.enqueue(line({ ...shard, after, rows: step.rows }));
          return;
        }
      },
    });
    // zod-openapi types every "*json*" media type as a c.json() body; a stream is a plain Response.
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" },
    }) as never;
  },
);
