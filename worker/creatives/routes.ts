/** `/api/v1/creatives`: list, get, create, update, delete. */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import {
  CreativeInputSchema,
  CreativeSchema,
  createCreative,
  creativeToJson,
  deleteCreative,
  getCreative,
  listCreatives,
  updateCreative,
} from "./store";

export const creativesRoutes = createRouter();

const tags = ["Creatives"];
const security = [{ apiKey: [] }];

creativesRoutes.openapi(
  createRoute({
    operationId: "listCreatives",
    method: "get",
    path: "/api/v1/creatives",
    tags,
    security,
    summary: "The site's creatives",
    responses: {
      200: jsonContent(z.object({ creatives: z.array(CreativeSchema) }), "Creatives"),
      ...errorResponses(401),
    },
  }),
  async (c) => {
    const rows = await listCreatives(c.var.db, c.var.site.id);
    return c.json({ creatives: rows.map(creativeToJson) }, 200);
  },
);

creativesRoutes.openapi(
  createRoute({
    operationId: "getCreative",
    method: "get",
    path: "/api/v1/creatives/{id}",
    tags,
    security,
    summary: "One creative",
    request: { params: IdParam },
    responses: { 200: jsonContent(CreativeSchema, "The creative"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(creativeToJson(await getCreative(c.var.db, c.var.site.id, c.req.valid("param").id)), 200),
);

creativesRoutes.openapi(
  createRoute({
    operationId: "createCreative",
    method: "post",
    path: "/api/v1/creatives",
    tags,
    security,
    summary: "Create a creative; its template is checked for unknown variables and unsafe positions",
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(CreativeInputSchema) },
    responses: { 201: jsonContent(CreativeSchema, "Created"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => c.json(creativeToJson(await createCreative(c.var.db, c.var.site.id, c.req.valid("json"))), 201),
);

creativesRoutes.openapi(
  createRoute({
    operationId: "updateCreative",
    method: "patch",
    path: "/api/v1/creatives/{id}",
    tags,
    security,
    summary: "Change a creative",
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(patchSchemaOf(CreativeInputSchema)),
    },
    responses: { 200: jsonContent(CreativeSchema, "Updated"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const row = await updateCreative(c.var.db, c.var.site.id, c.req.valid("param").id, c.req.valid("json"));
    return c.json(creativeToJson(row), 200);
  },
);

creativesRoutes.openapi(
  createRoute({
    operationId: "deleteCreative",
    method: "delete",
    path: "/api/v1/creatives/{id}",
    tags,
    security,
    summary: "Delete a creative that no rule or fallback uses",
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await deleteCreative(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);
