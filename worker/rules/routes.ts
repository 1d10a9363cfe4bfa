/** `/api/v1/rules` (list, get, create, update, delete) and `/api/v1/placements/:placement/fallback`. */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import {
  createRule,
  deleteFallback,
  deleteRule,
  FallbackSchema,
  getFallback,
  getRule,
  listRules,
  PlacementSchema,
  RuleInputSchema,
  RulePatchSchema,
  RuleSchema,
  ruleToJson,
  setFallback,
  updateRule,
} from "./store";

export const rulesRoutes = createRouter();

const tags = ["Rules"];
const security = [{ apiKey: [] }];

rulesRoutes.openapi(
  createRoute({
    operationId: "listRules",
    method: "get",
    path: "/api/v1/rules",
    tags,
    security,
    summary: "The site's rules, by placement and priority",
    request: { query: z.object({ placement: PlacementSchema.optional() }) },
    responses: {
      200: jsonContent(z.object({ rules: z.array(RuleSchema) }), "Rules"),
      ...errorResponses(400, 401),
    },
  }),
  async (c) => {
    const rows = await listRules(c.var.db, c.var.site.id, c.req.valid("query").placement);
    return c.json({ rules: rows.map(ruleToJson) }, 200);
  },
);

rulesRoutes.openapi(
  createRoute({
    operationId: "getRule",
    method: "get",
    path: "/api/v1/rules/{id}",
    tags,
    security,
    summary: "One rule",
    request: { params: IdParam },
    responses: { 200: jsonContent(RuleSchema, "The rule"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(ruleToJson(await getRule(c.var.db, c.var.site.id, c.req.valid("param").id)), 200),
);

rulesRoutes.openapi(
  createRoute({
    operationId: "createRule",
    method: "post",
    path: "/api/v1/rules",
    tags,
    security,
    summary: "Create a rule; segment, creative and pool must exist in this site",
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(RuleInputSchema) },
    responses: { 201: jsonContent(RuleSchema, "Created"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(ruleToJson(await createRule(c.var.db, c.var.site.id, c.req.valid("json"))), 201),
);

rulesRoutes.openapi(
  createRoute({
    operationId: "updateRule",
    method: "patch",
    path: "/api/v1/rules/{id}",
    tags,
    security,
    summary: "Change a rule",
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(RulePatchSchema),
    },
    responses: { 200: jsonContent(RuleSchema, "Updated"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const row = await updateRule(c.var.db, c.var.site.id, c.req.valid("param").id, c.req.valid("json"));
    return c.json(ruleToJson(row), 200);
  },
);

rulesRoutes.openapi(
  createRoute({
    operationId: "deleteRule",
    method: "delete",
    path: "/api/v1/rules/{id}",
    tags,
    security,
    summary: "Delete a rule",
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await deleteRule(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

const PlacementParam = z.object({
  placement: PlacementSchema.openapi({ param: { name: "placement", in: "path" } }),
});
const fallbackPath = "/api/v1/placements/{placement}/fallback";

rulesRoutes.openapi(
  createRoute({
    operationId: "getPlacementFallback",
    method: "get",
    path: fallbackPath,
    tags,
    security,
    summary: "The creative served on this placement when no rule matches, in the holdout, or on a fault",
    request: { params: PlacementParam },
    responses: { 200: jsonContent(FallbackSchema, "The fallback"), ...errorResponses(400, 401, 404) },
  }),
  async (c) => c.json(await getFallback(c.var.db, c.var.site.id, c.req.valid("param").placement), 200),
);

rulesRoutes.openapi(
  createRoute({
    operationId: "setPlacementFallback",
    method: "put",
    path: fallbackPath,
    tags,
    security,
    summary: "Set the placement's fallback creative",
    middleware: [requireRole("marketer")] as const,
    request: {
      params: PlacementParam,
      body: jsonBody(z.object({ creative_id: z.number().int().positive() }).strict()),
    },
    responses: { 200: jsonContent(FallbackSchema, "The fallback"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { placement } = c.req.valid("param");
    return c.json(await setFallback(c.var.db, c.var.site.id, placement, c.req.valid("json").creative_id), 200);
  },
);

rulesRoutes.openapi(
  createRoute({
    operationId: "deletePlacementFallback",
    method: "delete",
    path: fallbackPath,
    tags,
    security,
    summary: "Remove the placement's fallback (an empty 1×1 creative is served instead)",
    middleware: [requireRole("marketer")] as const,
    request: { params: PlacementParam },
    responses: { 204: { description: "Removed" }, ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    await deleteFallback(c.var.db, c.var.site.id, c.req.valid("param").placement);
    return c.body(null, 204);
  },
);
