/** `POST /api/v1/events`: the shop's server-side events, trusted (ingest.ts says what that means). */

import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { EventsResultSchema } from "../collect/event-schema";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { refuseWhileHeld } from "../shards/moves";
import { ingestServerEvents, MAX_SERVER_EVENTS } from "./ingest";

export const serverEventsRoutes = createRouter();

const ServerEventsBody = z
  .object({
    events: z
      .array(
        z.record(z.string(), z.unknown()).openapi({
          description:
            "`{type, ts, cookie_id?, customer?, url?, ref?, name?, props}`: the types and props of `POST /e`, " +
            "with at least one of cookie_id (a tw_id) and customer (a CRM customer ID)",
          example: { type: "purchase", ts: 1767225600000, customer: "C-1", props: { order: "O-1", value: 99 } },
        }),
      )
      .min(1)
      .max(MAX_SERVER_EVENTS),
  })
  .strict();

serverEventsRoutes.openapi(
  createRoute({
    operationId: "ingestServerEvents",
    method: "post",
    path: "/api/v1/events",
    tags: ["Collect"],
    summary: "Record server-side events (trusted: links customers, updates their orders and revenue)",
    description:
      "Each event is validated on its own, as on `POST /e`: 204 when all were accepted, 202 with the rejected " +
      "ones and their reasons otherwise. An identify needs no signature here; a purchase adds an order to the " +
      "customer's CRM figures and redeems its coupon unless another customer holds it.",
    // An ingest-only key may send events here (worker/auth/api-keys.ts).
    security: [{ apiKey: ["ingest"] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(ServerEventsBody) },
    responses: {
      204: { description: "Every event accepted" },
      202: jsonContent(EventsResultSchema.openapi("ServerEventsResult"), "Some events rejected"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const result = await ingestServerEvents(c.env, c.env.ARCHIVE, c.var.site, c.req.valid("json").events);
    if (result.rejected.length > 0) return c.json(result, 202);
    return c.body(null, 204);
  },
);
