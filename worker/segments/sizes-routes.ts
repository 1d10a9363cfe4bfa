/** `GET /api/v1/segments/sizes`: every segment's size per day (recorded by the cron), for trends. */
import { z } from "@hono/zod-openapi";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { segmentSizeHistory } from "./sizes";

export const segmentSizesRoutes = createRouter();

const SizeDay = z.object({ day: z.string(), visitors: z.number().int(), customers: z.number().int() });

segmentSizesRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/segments/sizes",
    operationId: "listSegmentSizes",
    tags: ["Segments"],
    summary: "Each segment's size per UTC day over the last 30 days (counted by the cron every 15 minutes)",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(
        z.object({ sizes: z.record(z.string(), z.array(SizeDay)) }).openapi("SegmentSizes"),
        "Sizes by segment ID, oldest day first",
      ),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ sizes: await segmentSizeHistory(c.var.db, c.var.site.id, Date.now()) }, 200),
);
