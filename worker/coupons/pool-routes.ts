/** `/api/v1/pools`: coupon pools, their counts, and uploading a list pool's codes. */
import { z } from "@hono/zod-openapi";
import { requireRole } from "../auth/roles";
import { toD1 } from "../db/raw";
import { apiError } from "../errors";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { patchSchemaOf } from "../lib/patch-schema";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { CodeSchema } from "./lookup-routes";
import { CODES_PAGE_SIZE, handedOutCodes, poolCodesCsv, sampleCode } from "./pool-codes";
import {
  countsOf,
  createPool,
  deletePool,
  getPool,
  listPools,
  poolCounts,
  poolToJson,
  poolWithCounts,
  refusedClaims,
  updatePool,
} from "./pools";
import { MAX_UPLOAD_LINES, UploadError, uploadCodes } from "./upload";

const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

const PoolBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(["list", "generated"]).openapi({
      description: "`list`: codes uploaded by the shop; `generated`: made at the edge on each first claim",
    }),
    prefix: z
      .string()
      .regex(/^[A-Z0-9_-]{0,16}$/, "upper-case letters, digits, - and _ (at most 16)")
      .default("")
      .openapi({ description: "Put before generated codes, e.g. SPRING-", example: "SPRING-" }),
    valid_days: z.number().int().min(1).max(3650).default(30).openapi({
      description: "A code expires this many days after it was assigned",
    }),
    discount: z.string().max(100).default("").openapi({ description: "Shown in creatives as {{discount}}" }),
  })
  .strict();

const CountsSchema = z
  .object({
    total: z.number(),
    free: z.number().nullable().openapi({ description: "Codes left to hand out; null for generated pools" }),
    assigned: z.number(),
    expired: z.number(),
    redeemed: z.number(),
    archived: z.number().openapi({ description: "Live codes taken out of use by a merge of one person's codes" }),
  })
  .openapi("PoolCounts");

export const PoolSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    kind: z.enum(["list", "generated"]),
    prefix: z.string(),
    valid_days: z.number(),
    discount: z.string(),
    created_at: z.number(),
    updated_at: z.number(),
    counts: CountsSchema,
    refused_claims: z
      .array(
        z.object({
          day: z.string().openapi({ example: "2026-05-04" }),
          reason: z.enum(["ip_limit", "pool_limit", "policy"]),
          count: z.number(),
        }),
      )
      .openapi({
        description:
          "Claims refused over the last 30 UTC days, newest first: `ip_limit` (one address claiming too fast), " +
          '`pool_limit` (the pool claimed too fast), `policy` (the site\'s claim_policy). README, "Coupon claims"',
      }),
  })
  .openapi("CouponPool");

const PoolParam = z.object({
  pool: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "pool", in: "path" }, example: 1 }),
});

const UploadResultSchema = z
  .object({
    accepted: z.number(),
    rejected: z.array(z.object({ line: z.number(), reason: z.string() })),
  })
  .openapi("CodeUploadResult");

export const poolRoutes = createRouter();

poolRoutes.openapi(
  createRoute({
    operationId: "listPools",
    method: "get",
    path: "/api/v1/pools",
    tags: ["Coupons"],
    summary: "The site's coupon pools with their counts",
    security: [{ apiKey: [] }],
    responses: {
      200: jsonContent(z.object({ pools: z.array(PoolSchema) }), "Pools"),
      ...errorResponses(401),
    },
  }),
  async (c) => {
    const siteId = c.var.site.id;
    const now = Date.now();
    const [pools, counts, refused] = await Promise.all([
      listPools(c.var.db, siteId),
      poolCounts(c.var.db, siteId, now),
      refusedClaims(c.var.db, siteId, now),
    ]);
    return c.json({ pools: pools.map((p) => poolToJson(p, countsOf(p, counts.get(p.id)), refused.get(p.id))) }, 200);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "createPool",
    method: "post",
    path: "/api/v1/pools",
    tags: ["Coupons"],
    summary: "Create a coupon pool",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { body: jsonBody(PoolBody) },
    responses: {
      201: jsonContent(PoolSchema, "Created"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const pool = await createPool(c.var.db, c.var.site.id, { ...body, validDays: body.valid_days });
    return c.json(poolToJson(pool, countsOf(pool, undefined)), 201);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "getPool",
    method: "get",
    path: "/api/v1/pools/{pool}",
    tags: ["Coupons"],
    summary: "One pool with its counts (codes left, assigned, expired, redeemed)",
    security: [{ apiKey: [] }],
    request: { params: PoolParam },
    responses: {
      200: jsonContent(PoolSchema, "The pool"),
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const pool = await getPool(c.var.db, c.var.site.id, c.req.valid("param").pool);
    return c.json(await poolWithCounts(c.var.db, c.var.site.id, pool, Date.now()), 200);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "updatePool",
    method: "patch",
    path: "/api/v1/pools/{pool}",
    tags: ["Coupons"],
    summary: "Change a pool (its kind cannot change)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: PoolParam,
      body: jsonBody(patchSchemaOf(PoolBody)),
    },
    responses: {
      200: jsonContent(PoolSchema, "The updated pool"),
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { pool: poolId } = c.req.valid("param");
    const body = c.req.valid("json");
    const siteId = c.var.site.id;
    const pool = await updatePool(c.var.db, siteId, poolId, { ...body, validDays: body.valid_days });
    return c.json(await poolWithCounts(c.var.db, siteId, pool, Date.now()), 200);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "deletePool",
    method: "delete",
    path: "/api/v1/pools/{pool}",
    tags: ["Coupons"],
    summary: "Delete a pool and its codes (409 while a rule uses it)",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: { params: PoolParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await deletePool(c.var.db, c.var.site.id, c.req.valid("param").pool);
    return c.body(null, 204);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "uploadPoolCodes",
    method: "post",
    path: "/api/v1/pools/{pool}/codes",
    tags: ["Coupons"],
    summary: "Upload pre-made codes to a list pool",
    description:
      "CSV (`text/csv`: a `code` column, or one column without header) or `text/plain` (one code per " +
      `line); at most ${MAX_UPLOAD_LINES} codes. Codes: A-Z a-z 0-9 - _, at most 64 characters, unique ` +
      "in the site. Every refused line is reported with its number and reason. Generated pools make " +
      "their codes on claim and take no uploads.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      params: PoolParam,
      body: {
        required: true,
        content: { "text/csv": { schema: z.string() }, "text/plain": { schema: z.string() } },
      },
    },
    responses: {
      200: jsonContent(UploadResultSchema, "What was accepted"),
      ...errorResponses(400, 401, 403, 404, 413, 415),
    },
  }),
  async (c) => {
    const { pool: poolId } = c.req.valid("param");
    const siteId = c.var.site.id;
    const pool = await getPool(c.var.db, siteId, poolId);
    if (pool.kind !== "list") {
      throw apiError(400, "not_a_list_pool", "Generated pools make their codes on claim; upload to a list pool");
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const format = type === "text/csv" ? "csv" : type === "text/plain" ? "text" : null;
    if (!format) throw apiError(415, "unsupported_media_type", "Send text/csv or text/plain");
    if (Number(c.req.header("content-length") ?? 0) > MAX_UPLOAD_BYTES) {
      throw apiError(413, "payload_too_large", `At most ${MAX_UPLOAD_BYTES} bytes per upload`);
    }
    const text = await c.req.text();
    if (text.length > MAX_UPLOAD_BYTES) {
      throw apiError(413, "payload_too_large", `At most ${MAX_UPLOAD_BYTES} bytes per upload`);
    }
    try {
      return c.json(await uploadCodes(toD1(c.var.db), siteId, poolId, text, format), 200);
    } catch (err) {
      if (err instanceof UploadError) throw apiError(400, "invalid_upload", err.message);
      throw err;
    }
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "listPoolCodes",
    method: "get",
    path: "/api/v1/pools/{pool}/codes",
    tags: ["Coupons"],
    summary: "The pool's handed-out codes, newest first, a page at a time, with a sample code",
    description:
      "Codes that were assigned (also expired, redeemed or archived ones), newest first. `next` is the `before` " +
      "of the following page (null on the last). `sample`: what the pool hands out — for a generated pool a code " +
      "made as a claim makes one (not stored, not redeemable), for a list pool its next free code (null when none " +
      "is left). Never a cookie ID.",
    security: [{ apiKey: [] }],
    request: {
      params: PoolParam,
      query: z.object({
        before: z.coerce.number().int().positive().optional().openapi({ description: "`next` of the previous page" }),
        limit: z.coerce.number().int().min(1).max(500).default(CODES_PAGE_SIZE),
      }),
    },
    responses: {
      200: jsonContent(
        z
          .object({ sample: z.string().nullable(), codes: z.array(CodeSchema), next: z.number().nullable() })
          .openapi("PoolCodesPage"),
        "One page of codes",
      ),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => {
    const { pool: poolId } = c.req.valid("param");
    const { before, limit } = c.req.valid("query");
    const pool = await getPool(c.var.db, c.var.site.id, poolId);
    const [page, sample] = await Promise.all([
      handedOutCodes(c.var.db, c.var.site.id, pool.id, Date.now(), { before, limit }),
      sampleCode(c.var.db, pool),
    ]);
    return c.json({ sample, ...page }, 200);
  },
);

poolRoutes.openapi(
  createRoute({
    operationId: "exportPoolCodes",
    method: "get",
    path: "/api/v1/pools/{pool}/export",
    tags: ["Coupons"],
    summary: "Every code of the pool as CSV (free ones too), streamed",
    description:
      "Columns: code, state, holder_kind, customer, rule_id, assigned_at, expires_at, redeemed_at, archived_at, " +
      "order — in upload and claim order. Cells that a spreadsheet would read as a formula are quoted (OWASP).",
    security: [{ apiKey: [] }],
    request: { params: PoolParam },
    responses: {
      200: { description: "CSV, streamed", content: { "text/csv": { schema: z.string() } } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const pool = await getPool(c.var.db, c.var.site.id, c.req.valid("param").pool);
    return new Response(poolCodesCsv(c.var.db, c.var.site.id, pool.id, Date.now()), {
      status: 200,
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="pool-${pool.id}-codes.csv"`,
        "Cache-Control": "no-store",
      },
    });
  },
);
