/** `GET /api/v1/coupons/:code`: customer service's lookup of one code (lookup.ts). */
import { z } from "@hono/zod-openapi";
import { errorResponses, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { lookupCoupon } from "./lookup";
import { COUPON_STATES } from "./state";

export const lookupRoutes = createRouter();

/** One code as the API shows it (codeToJson in lookup.ts): the pool's code list answers these too. */
export const CodeSchema = z
  .object({
    code: z.string(),
    state: z.enum(COUPON_STATES).openapi({
      description: "archived: taken out of use when its holder's codes were merged into one person's; never redeemable",
    }),
    holder_kind: z.enum(["customer", "visitor"]).nullable().openapi({
      description: "customer: held by a CRM customer (across devices); visitor: by an anonymous cookie (never shown)",
    }),
    customer: z.string().nullable(),
    rule_id: z.number().nullable(),
    assigned_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    redeemed_at: z.string().nullable(),
    archived_at: z.string().nullable(),
    order: z.string().nullable(),
  })
  .openapi("PoolCode");

const CouponLookupSchema = CodeSchema.extend({
  pool: z.object({ id: z.number(), name: z.string(), kind: z.enum(["list", "generated"]), discount: z.string() }),
  notes: z.array(
    z.object({
      action: z.enum(["redeem", "rollback"]),
      order: z.string(),
      reason: z.string(),
      by: z.string(),
      at: z.string(),
    }),
  ),
}).openapi("CouponLookup");

lookupRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/coupons/{code}",
    tags: ["Coupons"],
    operationId: "getCoupon",
    summary: "Look up a code: pool, holder kind, assigned / expires / redeemed time, order (never a cookie ID)",
    security: [{ apiKey: [] }],
    request: {
      params: z.object({
        code: z
          .string()
          .min(1)
          .max(64)
          .openapi({ param: { name: "code", in: "path" }, example: "BACK7K2Q9MXC4" }),
      }),
    },
    responses: {
      200: jsonContent(CouponLookupSchema, "The code"),
      ...errorResponses(400, 401, 404),
    },
  }),
  async (c) => c.json(await lookupCoupon(c.var.db, c.var.site.id, c.req.valid("param").code), 200),
);
