/**
 * `/api/v1/audiences`: CRUD, refresh now, streamed export, and signed export URLs. The export
 * route accepts either the API key or a valid `sig`/`exp` pair from `POST .../export-url`.
 */
import { z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { requireApiKey } from "../auth/api-keys";
import { requireRole } from "../auth/roles";
import { signingSecretOf } from "../auth/signing";
import { audiences, sites } from "../db/schema";
import type { AppEnv, Db } from "../env";
import { apiError } from "../errors";
import { publicBase } from "../lib/base-path";
import { errorResponses, IdParam, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { SECONDS_PER_DAY } from "../lib/time";
import { peopleOfSite } from "../shards/routing";
import { findPartnerByKey, PARTNER_KEY_PATTERN } from "../sync/partners";
import { headSeqs, makeCursor, readCursor } from "./changes";
import {
  changesStream,
  defaultLayout,
  exportStream,
  LAYOUTS,
  layoutMismatch,
  signExportUrl,
  verifyExportSignature,
} from "./export";
import { BUILT_IN_SPACES } from "./id-spaces";
import { AUDIENCE_KINDS } from "./kinds";
import { LookalikeModelSchema, readLookalikeModel } from "./lookalike-model";
import { recomputeLookalikeScores } from "./lookalike-scores";
import { refreshAudience } from "./refresh";
import {
  audienceSizeHistory,
  audienceToJson,
  createAudience,
  deleteAudience,
  getAudience,
  listAudiences,
  updateAudience,
} from "./store";

const AudienceInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(AUDIENCE_KINDS),
    segment_id: z.number().int().positive().nullable().optional(),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description:
          "Per kind: segment {}; new_customers {days=28}; cart_abandoners {hours=24}; dormant {days=180}; " +
          "cluster {cluster}; lookalike {threshold=0.5} or {top}",
        example: { days: 28 },
      }),
  })
  .strict();

export const AudienceSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    kind: z.enum(AUDIENCE_KINDS),
    segment_id: z.number().nullable(),
    params: z.record(z.string(), z.unknown()),
    size: z.number(),
    refreshed_at: z.number().nullable(),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("Audience");

const IdSpace = z
  .string()
  .regex(PARTNER_KEY_PATTERN)
  .default("tw")
  .openapi({
    description:
      "`tw` for tagwerk cookie IDs, a partner key for its user IDs, `email_sha256` (hex SHA-256 of the " +
      "trimmed, lower-cased e-mail: Google Customer Match, Meta) or `uid2_email` (Base64 SHA-256 after UID2 " +
      "normalisation: The Trade Desk)",
    example: "tw",
  });

/** 400 unless the space is one of tagwerk's own or a partner of this site. */
async function checkIdSpace(db: Db, siteId: number, idSpace: string) {
  if (!BUILT_IN_SPACES.has(idSpace) && !(await findPartnerByKey(db, siteId, idSpace))) {
    throw apiError(400, "validation_failed", `id_space: no partner "${idSpace}" in this site`);
  }
}

const EXPORT_PATH = /^\/api\/v1\/audiences\/(\d+)\/export$/;

/** A signed export URL stands in for the API key on that one audience, format and ID space. */
const requireKeyOrSignedExport = createMiddleware<AppEnv>(async function requireKeyOrSignedExport(c, next) {
  const match = c.req.method === "GET" ? c.req.path.match(EXPORT_PATH) : null;
  const sig = c.req.query("sig");
  if (!match || sig === undefined) {
    await requireApiKey(c, next);
    return;
  }
  const [row] = await c.var.db
    .select({ site: sites })
    .from(audiences)
    .innerJoin(sites, eq(sites.id, audiences.siteId))
    .where(eq(audiences.id, Number(match[1])));
  const exp = c.req.query("exp") ?? "";
  const valid =
    row &&
    (await verifyExportSignature(
      signingSecretOf(c.env),
      row.site.id,
      Number(match[1]),
      c.req.query("format") ?? "csv",
      c.req.query("id_space") ?? "tw",
      exp,
      sig,
    ));
  if (!valid) throw apiError(401, "invalid_signature", "The download link is not valid");
  if (Number(exp) < Date.now()) throw apiError(403, "link_expired", "The download link has expired");
  c.set("site", row.site);
  c.set("role", "viewer");
  await next();
});

export const audiencesRoutes = createRouter();

audiencesRoutes.openapi(
  createRoute({
    operationId: "listAudiences",
    method: "get",
    path: "/api/v1/audiences",
    tags: ["Audiences"],
    summary: "The site's audiences",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(z.object({ audiences: z.array(AudienceSchema) }), "Audiences"),
      ...errorResponses(401),
    },
  }),
  async (c) => c.json({ audiences: (await listAudiences(c.var.db, c.var.site.id)).map(audienceToJson) }, 200),
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "createAudience",
    method: "post",
    path: "/api/v1/audiences",
    tags: ["Audiences"],
    summary: "Create an audience (members appear at the next refresh)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(AudienceInput) },
    responses: {
      201: jsonContent(AudienceSchema, "Created"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) =>
    c.json(audienceToJson(await createAudience(c.var.db, c.var.site.id, c.req.valid("json"), Date.now())), 201),
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "getAudience",
    method: "get",
    path: "/api/v1/audiences/{id}",
    tags: ["Audiences"],
    summary: "One audience with its dated sizes (last 90 refresh days)",
    security: [{ apiKey: [] }],
    request: { params: IdParam },
    responses: {
      200: jsonContent(
        AudienceSchema.extend({
          sizes: z.array(z.object({ day: z.string(), size: z.number() })),
          model: LookalikeModelSchema.nullable()
            .optional()
            .openapi({ description: "`lookalike` audiences: the site's last training and its held-out quality" }),
        }),
        "The audience",
      ),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const audience = await getAudience(c.var.db, c.var.site.id, c.req.valid("param").id);
    const sizes = await audienceSizeHistory(c.var.db, audience.id);
    if (audience.kind !== "lookalike") return c.json({ ...audienceToJson(audience), sizes }, 200);
    return c.json(
      { ...audienceToJson(audience), sizes, model: await readLookalikeModel(c.var.db, c.var.site.id) },
      200,
    );
  },
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "updateAudience",
    method: "patch",
    path: "/api/v1/audiences/{id}",
    tags: ["Audiences"],
    summary: "Change an audience",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(patchSchemaOf(AudienceInput)),
    },
    responses: {
      200: jsonContent(AudienceSchema, "The audience"),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const updated = await updateAudience(c.var.db, c.var.site.id, id, c.req.valid("json"), Date.now());
    return c.json(audienceToJson(updated), 200);
  },
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "deleteAudience",
    method: "delete",
    path: "/api/v1/audiences/{id}",
    tags: ["Audiences"],
    summary: "Delete an audience and its members",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await deleteAudience(c.var.db, peopleOfSite(c.env, c.var.site), c.var.site.id, c.req.valid("param").id);
    return c.body(null, 204);
  },
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "refreshAudience",
    method: "post",
    path: "/api/v1/audiences/{id}/refresh",
    tags: ["Audiences"],
    summary: "Refresh one audience now, as the cron does",
    description:
      "For a `lookalike` audience the look-alike scores of the site are recomputed first (trained on " +
      "customers won through display or a banner click), as the cron does before it refreshes audiences; " +
      "`GET /api/v1/audiences/{id}` then shows the training's held-out quality, or why it was refused.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: IdParam },
    responses: {
      200: jsonContent(AudienceSchema, "The refreshed audience"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const audience = await getAudience(c.var.db, c.var.site.id, id);
    const now = Date.now();
    // A marketer waiting for a look-alike audience waits for fresh scores, not the last cron's.
    const people = peopleOfSite(c.env, c.var.site);
    if (audience.kind === "lookalike") await recomputeLookalikeScores(c.var.db, people, c.var.site.id, now);
    await refreshAudience(c.var.db, people, audience, now);
    return c.json(audienceToJson(await getAudience(c.var.db, c.var.site.id, id)), 200);
  },
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "exportAudience",
    method: "get",
    path: "/api/v1/audiences/{id}/export",
    tags: ["Audiences"],
    summary: "Stream the member list (or, with `since`, the changes) as CSV in one ID space",
    description:
      "The members as of the last refresh whose consent allows it, in the column layout of the destination: " +
      "`id` (header `id`), `google` (Customer Match, header `Email`), `meta` (header `EMAIL_SHA256`), `ttd` " +
      "(UID2 hashes, one per line, no header). Default: `google` for email_sha256, `ttd` for uid2_email, else " +
      "`id`. With `since` (an `X-Tagwerk-Cursor` of an earlier export of this audience and space): rows `op,id` " +
      "with `op` add or remove, in order; 410 when the cursor is unknown or expired (fetch a full export). Every " +
      "answer carries `X-Tagwerk-Cursor` for the next delta. Authenticated by the API key, or by `exp` and `sig` " +
      "from POST /api/v1/audiences/{id}/export-url (401 when tampered, 403 when expired).",
    security: [{ apiKey: [] }, { signedExportUrl: [] }],
    middleware: [requireKeyOrSignedExport] as const,
    request: {
      params: IdParam,
      query: z.object({
        format: z.enum(["csv"]).default("csv"),
        id_space: IdSpace,
        layout: z.enum(LAYOUTS).optional(),
        since: z.string().max(100).optional().openapi({ description: "A cursor from X-Tagwerk-Cursor" }),
        exp: z.string().optional(),
        sig: z.string().optional(),
      }),
    },
    responses: {
      200: {
        description: "CSV, streamed; `X-Tagwerk-Cursor` names this point for the next `since`",
        headers: { "X-Tagwerk-Cursor": { schema: { type: "string" } } },
        content: { "text/csv": { schema: z.string() } },
      },
      ...errorResponses(400, 401, 403, 404, 410),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { id_space: idSpace, layout = defaultLayout(idSpace), since } = c.req.valid("query");
    const site = c.var.site;
    const db = c.var.db;
    const audience = await getAudience(db, site.id, id);
    await checkIdSpace(db, site.id, idSpace);
    const mismatch = layoutMismatch(layout, idSpace);
    if (mismatch) throw apiError(400, "validation_failed", `layout: ${mismatch}`);
    const secret = signingSecretOf(c.env);
    const now = Date.now();
    const from = since === undefined ? null : await readCursor(secret, site, audience, idSpace, since, now);
    // Every database of the site's set holds the snapshot and change log of its own people.
    const people = peopleOfSite(c.env, site);
    // The heads are read before the first row, so rows written meanwhile come with the next delta.
    const head = await headSeqs(people, audience.id, idSpace);
    const body =
      from === null
        ? exportStream(people, audience.id, idSpace, { layout })
        : changesStream(people, audience.id, idSpace, from.seqs, head);
    const name = `audience-${audience.id}-${idSpace}${from === null ? "" : "-changes"}.csv`;
    // Never below the purge mark (HOME's one log): a space whose rows were all purged still hands out a live cursor.
    const next =
      site.shards === null
        ? [Math.max(head[0] ?? 0, audience.changesPurgedThrough, from?.seqs[0] ?? 0)]
        : head.map((seq, k) => Math.max(seq, from?.seqs[k] ?? 0));
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="${name}"`,
        "Cache-Control": "no-store",
        // Never below the purge mark: a space whose rows were all purged still hands out a live cursor.
        "X-Tagwerk-Cursor": await makeCursor(secret, site, audience.id, idSpace, { seqs: next, at: now }),
      },
    });
  },
);

audiencesRoutes.openapi(
  createRoute({
    operationId: "createAudienceExportUrl",
    method: "post",
    path: "/api/v1/audiences/{id}/export-url",
    tags: ["Audiences"],
    summary: "A signed, expiring export URL a network can fetch without the API key",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: IdParam,
      body: jsonBody(
        z
          .object({
            id_space: IdSpace,
            expires_in: z
              .number()
              .int()
              .min(60)
              .max(7 * SECONDS_PER_DAY)
              .default(SECONDS_PER_DAY),
          })
          .strict(),
        { required: false },
      ),
    },
    responses: {
      201: jsonContent(z.object({ url: z.string(), expires_at: z.number() }), "The URL"),
      ...errorResponses(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json") ?? { id_space: "tw", expires_in: SECONDS_PER_DAY };
    const site = c.var.site;
    const audience = await getAudience(c.var.db, site.id, id);
    await checkIdSpace(c.var.db, site.id, body.id_space);
    const expiresAt = Date.now() + body.expires_in * 1000;
    const origin = publicBase(c);
    const url = await signExportUrl(signingSecretOf(c.env), origin, site.id, audience.id, body.id_space, expiresAt);
    return c.json({ url, expires_at: expiresAt }, 201);
  },
);
