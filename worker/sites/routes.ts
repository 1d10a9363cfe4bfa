/**
 * The calling key's own site (`/api/v1/site`), its API keys, and site creation by the operator
 * (`POST /api/v1/sites`).
 */

import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { leastFullShard } from "../shards/routing";
import { boundShardSet, ShardSetSchema } from "../shards/shard-sets";
import { SITE_KEY_PATTERN, SiteSchema, SiteSettingsSchema, siteToJson } from "./site-settings";
import { createSite, listApiKeys, revokeApiKey, rotateApiKeys, updateSite } from "./store";

const KeyScopeSchema = z.enum(["admin", "ingest"]).openapi({
  description: "admin: the whole API; ingest: may only send events (POST /api/v1/events, /v1/*), 403 elsewhere",
});

const CreatedKeySchema = z
  .object({
    api_key: z.string().openapi({ description: "Shown once; store it now", example: "tw_Jm3..." }),
    prefix: z.string(),
    scope: KeyScopeSchema,
  })
  .openapi("CreatedApiKey");

const ApiKeySchema = z
  .object({
    id: z.number(),
    prefix: z.string(),
    scope: KeyScopeSchema,
    created_at: z.number(),
    revoked_at: z.number().nullable(),
  })
  .openapi("ApiKey");

export const sitesRoutes = createRouter();

sitesRoutes.openapi(
  createRoute({
    operationId: "createSite",
    method: "post",
    path: "/api/v1/sites",
    tags: ["Sites"],
    summary: "Create a site (operator only) and return its first API key",
    security: [{ operatorToken: [] }],
    request: {
      body: jsonBody(
        SiteSettingsSchema.partial()
          .extend({
            key: z.string().regex(SITE_KEY_PATTERN, "lower-case letters, digits and - (2-63)"),
            name: z.string().trim().min(1).max(200),
            shards: ShardSetSchema.optional().openapi({
              description:
                "The PEOPLE shards (their indexes in wrangler.toml, from 0) the site's people live on " +
                '(README, "Shards"). Default: the one that holds the fewest bytes now',
            }),
          })
          .strict(),
      ),
    },
    responses: {
      201: jsonContent(
        SiteSchema.extend({ api_key: z.string(), shards: z.array(z.number().int()).nullable() }),
        "Created",
      ),
      ...errorResponses(400, 401, 409, 422),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const shards = body.shards ? boundShardSet(c.env, body.shards) : [await leastFullShard(c.env)];
    const { site, apiKey } = await createSite(c.var.db, { ...body, shards });
    return c.json({ ...siteToJson(site), shards: site.shards, api_key: apiKey.key }, 201);
  },
);

sitesRoutes.openapi(
  createRoute({
    operationId: "getSite",
    method: "get",
    path: "/api/v1/site",
    tags: ["Sites"],
    summary: "The calling key's own site",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(SiteSchema, "The site"),
      ...errorResponses(401),
    },
  }),
  (c) => c.json(siteToJson(c.var.site), 200),
);

sitesRoutes.openapi(
  createRoute({
    operationId: "updateSite",
    method: "patch",
    path: "/api/v1/site",
    tags: ["Sites"],
    summary: "Change the site's settings",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      body: jsonBody(patchSchemaOf(SiteSettingsSchema)),
    },
    responses: {
      200: jsonContent(SiteSchema, "The updated site"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const updated = await updateSite(c.var.db, c.var.site, c.req.valid("json"));
    return c.json(siteToJson(updated), 200);
  },
);

sitesRoutes.openapi(
  createRoute({
    operationId: "listSiteKeys",
    method: "get",
    path: "/api/v1/site/keys",
    tags: ["Sites"],
    summary: "The site's API keys (prefixes only)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    responses: {
      200: jsonContent(z.object({ keys: z.array(ApiKeySchema) }), "Keys"),
      ...errorResponses(401, 403),
    },
  }),
  async (c) => {
    const keys = await listApiKeys(c.var.db, c.var.site.id);
    return c.json(
      {
        keys: keys.map((k) => ({
          id: k.id,
          prefix: k.prefix,
          scope: k.scope,
          created_at: k.createdAt,
          revoked_at: k.revokedAt,
        })),
      },
      200,
    );
  },
);

sitesRoutes.openapi(
  createRoute({
    operationId: "createSiteKey",
    method: "post",
    path: "/api/v1/site/keys",
    tags: ["Sites"],
    summary: "Issue an API key (admin or ingest-only), optionally revoking the others of its scope",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: {
      body: jsonBody(
        z
          .object({
            scope: KeyScopeSchema.default("admin"),
            revoke_others: z.boolean().default(false).openapi({
              description: "Revoke the site's other live keys of the same scope (a rotation)",
            }),
          })
          .strict(),
        { required: false },
      ),
    },
    responses: {
      201: jsonContent(CreatedKeySchema.extend({ revoked: z.number() }), "The new key, shown once"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    // Never revokes unless asked (README.md, "API reference"): a key in use must not die by default.
    const body = c.req.valid("json") ?? {};
    const scope = body.scope ?? "admin";
    const { fresh, revoked } = await rotateApiKeys(c.var.db, c.var.site.id, scope, body.revoke_others ?? false);
    return c.json({ api_key: fresh.key, prefix: fresh.prefix, scope: fresh.scope, revoked }, 201);
  },
);

sitesRoutes.openapi(
  createRoute({
    operationId: "revokeSiteKey",
    method: "delete",
    path: "/api/v1/site/keys/{id}",
    tags: ["Sites"],
    summary: "Revoke one API key",
    security: [{ apiKey: [] }],
    middleware: [requireRole("admin")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await revokeApiKey(c.var.db, c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);
