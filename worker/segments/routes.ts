/** Segments API: CRUD of saved expressions and the live preview (`POST /api/v1/segments/preview`). */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { peopleOfSite } from "../shards/routing";
import {
  createSegment,
  deleteSegment,
  getSegment,
  listSegments,
  previewSegment,
  type SegmentRow,
  updateSegment,
} from "./store";

const EXAMPLE = 'gender = "f" and days_since_last_order >= 180 and lifetime_revenue > 100 and coupons_redeemed = 0';

export const SegmentSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    expression: z.string().openapi({ example: EXAMPLE }),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("Segment");

const SegmentInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    expression: z.string().trim().min(1).max(4000).openapi({ example: EXAMPLE }),
  })
  .strict();

const PreviewSchema = z
  .object({
    visitors: z.number().openapi({ description: "Cookies among the matches" }),
    customers: z.number().openapi({ description: "CRM records among the matches, linked or not" }),
    sample: z.array(
      z.object({
        cookie_id: z.string().nullable(),
        customer_id: z.string().nullable(),
        visits: z.number().nullable(),
        pageviews: z.number().nullable(),
        cart_items: z.number().nullable(),
        orders: z.number().nullable(),
        clusters: z.array(z.string()).nullable(),
      }),
    ),
  })
  .openapi("SegmentPreview");

function toJson(row: SegmentRow) {
  return {
    id: row.id,
    name: row.name,
    expression: row.expression,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export const segmentsRoutes = createRouter();

segmentsRoutes.openapi(
  createRoute({
    operationId: "listSegments",
    method: "get",
    path: "/api/v1/segments",
    tags: ["Segments"],
    summary: "The site's segments",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(z.object({ segments: z.array(SegmentSchema) }), "Segments"),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ segments: (await listSegments(c.var.db, c.var.site.id)).map(toJson) }, 200),
);

segmentsRoutes.openapi(
  createRoute({
    operationId: "previewSegment",
    method: "post",
    path: "/api/v1/segments/preview",
    tags: ["Segments"],
    summary: "Count and sample the profiles an expression selects now",
    security: [{ apiKey: [] }],
    request: {
      body: jsonBody(z.object({ expression: SegmentInput.shape.expression }).strict()),
    },
    responses: { 200: jsonContent(PreviewSchema, "Preview"), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const { expression } = c.req.valid("json");
    return c.json(await previewSegment(peopleOfSite(c.env, c.var.site), c.var.site.id, expression, Date.now()), 200);
  },
);

segmentsRoutes.openapi(
  createRoute({
    operationId: "createSegment",
    method: "post",
    path: "/api/v1/segments",
    tags: ["Segments"],
    summary: "Create a segment (the expression is checked now)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(SegmentInput) },
    responses: { 201: jsonContent(SegmentSchema, "Created"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const row = await createSegment(c.var.db, c.var.site.id, c.req.valid("json"), Date.now());
    return c.json(toJson(row), 201);
  },
);

segmentsRoutes.openapi(
  createRoute({
    operationId: "getSegment",
    method: "get",
    path: "/api/v1/segments/{id}",
    tags: ["Segments"],
    summary: "One segment",
    security: [{ apiKey: [] }],
    request: { params: IdParam },
    responses: { 200: jsonContent(SegmentSchema, "The segment"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(toJson(await getSegment(c.var.db, c.var.site.id, c.req.valid("param").id)), 200),
);

segmentsRoutes.openapi(
  createRoute({
    operationId: "updateSegment",
    method: "patch",
    path: "/api/v1/segments/{id}",
    tags: ["Segments"],
    summary: "Rename a segment or change its expression",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam, body: jsonBody(patchSchemaOf(SegmentInput)) },
    responses: { 200: jsonContent(SegmentSchema, "Updated"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const row = await updateSegment(c.var.db, c.var.site.id, c.req.valid("param").id, c.req.valid("json"), Date.now());
    return c.json(toJson(row), 200);
  },
);

segmentsRoutes.openapi(
  createRoute({
    operationId: "deleteSegment",
    method: "delete",
    path: "/api/v1/segments/{id}",
    tags: ["Segments"],
    summary: "Delete a segment that no rule, audience or webhook uses",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await deleteSegment(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);
