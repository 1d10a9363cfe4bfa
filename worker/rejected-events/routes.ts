/** `GET /api/v1/rejected-events`: what the shop sent that tagwerk refused, so it can fix it. */
import { z } from "@hono/zod-openapi";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { listRejectedEvents } from "./list";

export const rejectedEventsRoutes = createRouter();

const RejectedEventSchema = z
  .object({
    id: z.number(),
    received_at: z.number(),
    source: z.string().openapi({
      description:
        "Where it was refused: `collect` (/e), `queue`, `server` (POST /api/v1/events and mapped `/v1/*` messages) or `segment` (a `/v1/*` message that does not map)",
    }),
    reason: z.string().openapi({ example: "event 2: props.sku: Invalid input: expected string, received undefined" }),
    payload: z.unknown().openapi({
      description:
        "The refused input, scrubbed: personal fields '[removed]', identifiers '[id]', at most 2,000 characters; null when only the reason is kept (consent)",
    }),
  })
  .openapi("RejectedEvent");

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a UTC day, YYYY-MM-DD")
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    "not a calendar day",
  );

rejectedEventsRoutes.openapi(
  createRoute({
    operationId: "listRejectedEvents",
    method: "get",
    path: "/api/v1/rejected-events",
    tags: ["Collect"],
    summary: "What this site sent that was refused, newest first",
    description:
      "Filtered by UTC `day` and by `reason` (a prefix of the reason text), paginated with `cursor` (from " +
      "`next_cursor`). With `day`, `counts` says per reason how many rows were kept and how many refusals beyond " +
      "the flood bound were only counted.",
    security: [{ apiKey: [] }],
    request: {
      query: z.object({
        day: day.optional().openapi({ example: "2026-12-01" }),
        reason: z.string().min(1).max(200).optional().openapi({ example: "event 0: " }),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        cursor: z
          .string()
          .regex(/^[1-9]\d{0,15}$/, "a cursor from next_cursor")
          .optional(),
      }),
    },
    responses: {
      200: jsonContent(
        z
          .object({
            rejected_events: z.array(RejectedEventSchema),
            next_cursor: z.string().nullable(),
            counts: z.array(z.object({ reason: z.string(), kept: z.number(), refused: z.number() })),
          })
          .openapi("RejectedEvents"),
        "A page of rejected events",
      ),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const result = await listRejectedEvents(c.var.db, c.var.site.id, {
      day: q.day,
      reason: q.reason,
      limit: q.limit,
      cursor: q.cursor === undefined ? undefined : Number(q.cursor),
    });
    return c.json(result, 200);
  },
);
