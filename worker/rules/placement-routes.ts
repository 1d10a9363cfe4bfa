/**
 * `GET /api/v1/placements`, `GET|PATCH /api/v1/placements/:placement` (arbitration, objective and
 * the learned state: README.md, "Next best offer") and `PUT /api/v1/placements/:placement/order`
 * (worker/rules/placements.ts).
 */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import {
  listPlacements,
  orderPlacementRules,
  PlacementDetailSchema,
  PlacementSettingPatchSchema,
  PlacementSummarySchema,
  placementDetail,
  setPlacementArbitration,
} from "./placements";
import { PlacementSchema } from "./store";

export const placementRoutes = createRouter();

const tags = ["Rules"];
const security = [{ apiKey: [] }];
const PlacementsSchema = z.object({ placements: z.array(PlacementSummarySchema) });
const PlacementParam = z.object({
  placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }),
});

placementRoutes.openapi(
  createRoute({
    operationId: "listPlacements",
    method: "get",
    path: "/api/v1/placements",
    tags,
    security,
    summary: "Every placement of the site (named by a rule or given a fallback): size, fallback, rules in order",
    responses: {
      200: jsonContent(PlacementsSchema, "Placements"),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ placements: await listPlacements(c.var.db, c.var.site.id) }, 200),
);

placementRoutes.openapi(
  createRoute({
    operationId: "orderPlacementRules",
    method: "put",
    path: "/api/v1/placements/{placement}/order",
    tags,
    security,
    summary: "Reorder a placement's rules in one atomic write (priorities 10, 20, … in the order given)",
    middleware: [requireRole("marketer")] as const,
    request: {
      params: z.object({ placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }) }),
      body: jsonBody(
        z
          .object({
            rule_ids: z
              .array(z.number().int().positive())
              .min(1)
              .max(1000)
              .openapi({ description: "Every rule of the placement, first tried first" }),
          })
          .strict(),
      ),
    },
    responses: {
      200: jsonContent(PlacementSummarySchema, "The placement, reordered"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { placement } = c.req.valid("param");
    await orderPlacementRules(c.var.db, c.var.site.id, placement, c.req.valid("json").rule_ids);
    const placements = await listPlacements(c.var.db, c.var.site.id);
    const reordered = placements.find((p) => p.placement === placement);
    if (!reordered) throw new Error(`placement ${placement} vanished after its reorder`);
    return c.json(reordered, 200);
  },
);

placementRoutes.openapi(
  createRoute({
    operationId: "getPlacement",
    method: "get",
    path: "/api/v1/placements/{placement}",
    tags,
    security,
    summary: "One placement: its rules, arbitration and objective, and what each rule earned per visitor context",
    request: { params: PlacementParam },
    responses: {
      200: jsonContent(PlacementDetailSchema, "The placement"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => c.json(await placementDetail(c.var.db, c.var.site.id, c.req.valid("param").placement, Date.now()), 200),
);

placementRoutes.openapi(
  createRoute({
    operationId: "setPlacementArbitration",
    method: "patch",
    path: "/api/v1/placements/{placement}",
    tags,
    security,
    summary:
      "Set how the placement picks among matching rules: by priority, or the best offer for the visitor's context",
    middleware: [requireRole("marketer")] as const,
    request: {
      params: PlacementParam,
      body: jsonBody(PlacementSettingPatchSchema),
    },
    responses: {
      200: jsonContent(PlacementDetailSchema, "The placement as set"),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { placement } = c.req.valid("param");
    await setPlacementArbitration(c.var.db, c.var.site.id, placement, c.req.valid("json"));
    return c.json(await placementDetail(c.var.db, c.var.site.id, placement, Date.now()), 200);
  },
);
