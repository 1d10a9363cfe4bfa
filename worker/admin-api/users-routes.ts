/** `/api/v1/users`: the admin UI's users of the calling site. Admins only (API keys act as admin). */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import {
  createUser,
  deleteUser,
  listUsers,
  UserInputSchema,
  UserPatchSchema,
  UserSchema,
  updateUser,
  userToJson,
} from "./users";

export const usersRoutes = createRouter();

usersRoutes.openapi(
  createRoute({
    operationId: "listUsers",
    method: "get",
    path: "/api/v1/users",
    tags: ["Users"],
    summary: "The site's admin UI users",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    responses: {
      200: jsonContent(z.object({ users: z.array(UserSchema) }), "Users"),
      ...errorResponses(401, 403),
    },
  }),
  async (c) => c.json({ users: (await listUsers(c.var.db, c.var.site.id)).map(userToJson) }, 200),
);

usersRoutes.openapi(
  createRoute({
    operationId: "createUser",
    method: "post",
    path: "/api/v1/users",
    tags: ["Users"],
    summary: "Create a user who can log in to /admin",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: { body: jsonBody(UserInputSchema) },
    responses: {
      201: jsonContent(UserSchema, "Created"),
      ...errorResponses(400, 401, 403, 409),
    },
  }),
  async (c) => c.json(userToJson(await createUser(c.var.db, c.var.site.id, c.req.valid("json"))), 201),
);

usersRoutes.openapi(
  createRoute({
    operationId: "updateUser",
    method: "patch",
    path: "/api/v1/users/{id}",
    tags: ["Users"],
    summary: "Change a user's role or password (not your own role)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      params: IdParam,
      body: jsonBody(UserPatchSchema),
    },
    responses: {
      200: jsonContent(UserSchema, "The user"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const row = await updateUser(
      c.var.db,
      c.var.site.id,
      c.req.valid("param").id,
      c.req.valid("json"),
      c.var.adminUser?.id,
    );
    return c.json(userToJson(row), 200);
  },
);

usersRoutes.openapi(
  createRoute({
    operationId: "deleteUser",
    method: "delete",
    path: "/api/v1/users/{id}",
    tags: ["Users"],
    summary: "Delete a user (not yourself, not the last admin)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await deleteUser(c.var.db, c.var.site.id, c.req.valid("param").id, c.var.adminUser?.id);
    return c.body(null, 204);
  },
);
