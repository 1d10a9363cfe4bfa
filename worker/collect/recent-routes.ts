/**
 * `GET /api/v1/events`: the site's most recently received events, newest first — the "is my
 * integration working" check beside `GET /api/v1/rejected-events` (the admin's Install page shows
 * both). Only what identifies the event (type, name, times, cookie, page URL), not its props.
 */
import { z } from "@hono/zod-openapi";
import { and, desc, eq, gte } from "drizzle-orm";
import { events } from "../db/schema";
import { errorResponses } from "../lib/openapi-shared";
import { createRoute } from "../lib/route";
import { createRouter } from "../lib/router";

export const recentEventsRoutes = createRouter();

const RecentEvent = z
  .object({
    id: z.number(),
    received_at: z.number(),
    ts: z.number().openapi({ description: "The event's own time (client or message timestamp)" }),
    type: z.string().openapi({ example: "purchase" }),
    name: z.string().nullable().openapi({ description: "A custom event's name" }),
    cookie_id: z.string(),
    url: z.string().nullable(),
  })
  .openapi("RecentEvent");

recentEventsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/events",
    operationId: "listRecentEvents",
    tags: ["Collect"],
    summary: "The events this site's tag and servers sent most recently, newest first",
    description:
      "At most `limit` events received in the last `hours` (default 24), from `/e`, `POST /api/v1/events` and " +
      "the Segment-compatible `/v1/*`. Refused events are in `GET /api/v1/rejected-events`.",
    security: [{ apiKey: [] }],
    request: {
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(20),
        hours: z.coerce
          .number()
          .int()
          .min(1)
          .max(24 * 30)
          .default(24),
      }),
    },
    responses: {
      200: {
        description: "The newest events",
        content: { "application/json": { schema: z.object({ events: z.array(RecentEvent) }).openapi("RecentEvents") } },
      },
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { limit, hours } = c.req.valid("query");
    const rows = await c.var.db
      .select({
        id: events.id,
        received_at: events.receivedAt,
        ts: events.ts,
        type: events.type,
        name: events.name,
        cookie_id: events.cookieId,
        url: events.url,
      })
      .from(events)
      .where(and(eq(events.siteId, c.var.site.id), gte(events.receivedAt, Date.now() - hours * 3_600_000)))
      .orderBy(desc(events.receivedAt), desc(events.id))
      .limit(limit);
    return c.json({ events: rows }, 200);
  },
);
