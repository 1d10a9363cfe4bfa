/**
 * `GET /api/v1/events`: the site's most recently received events, newest first — the "is my
 * integration working" check beside `GET /api/v1/rejected-events` (the admin's Install page shows
 * both). Only what identifies the event (type, name, times, cookie, page URL), not its props.
 * Raw events live in the R2 archive (docs/architecture.md, "Raw event archive"): the answer reads the
 * site's newest objects there, at most a bounded number of them.
 */
import { z } from "@hono/zod-openapi";
import { readRecentEvents } from "../archive/archive";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";

export const recentEventsRoutes = createRouter();

const RecentEvent = z
  .object({
    id: z.string().openapi({ description: "The event's place in the archive (object and line)" }),
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
      200: jsonContent(z.object({ events: z.array(RecentEvent) }).openapi("RecentEvents"), "The newest events"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const { limit, hours } = c.req.valid("query");
    const lines = await readRecentEvents(c.env.ARCHIVE, c.var.site.id, Date.now() - hours * 3_600_000, limit);
    const rows = lines.map(({ id, received_at, ts, type, name, cookie_id, url }) => ({
      id,
      received_at,
      ts,
      type,
      name,
      cookie_id,
      url,
    }));
    return c.json({ events: rows }, 200);
  },
);
