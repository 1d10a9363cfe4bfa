/**
 * `POST /api/v1/coupons/redeem` and `/rollback`, called by the shop backend. Answers are built
 * as (status, JSON text) pairs rather than thrown, so that an `Idempotency-Key` can store the
 * exact answer — errors included — and replay it on a retry.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import { requireApiKey } from "../auth/api-keys";
import { requireRole } from "../auth/roles";
import { errorBody } from "../errors";
import { errorResponses } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { toD1 } from "./claim";
import { runIdempotent, type StoredAnswer } from "./idempotency";
import { type CouponState, type RedeemResult, type RollbackResult, redeemCoupon, rollbackCoupon } from "./redeem";

const RedeemBody = z
  .object({
    code: z.string().trim().min(1).max(64),
    order: z.string().trim().min(1).max(200).openapi({ description: "The shop's order ID" }),
    revenue: z.number().nonnegative().optional().openapi({ description: "Order value, for the rule's report" }),
  })
  .strict();

const RollbackBody = RedeemBody.omit({ revenue: true });

const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: "A retried call with the same key answers exactly as the first did" }),
});

const RedeemedSchema = z
  .object({
    code: z.string(),
    order: z.string(),
    redeemed_at: z.number(),
    expires_at: z.number().nullable(),
    pool_id: z.number(),
    rule_id: z.number().nullable(),
  })
  .openapi("RedeemedCoupon");

const RolledBackSchema = z
  .object({ code: z.string(), order: z.string(), rolled_back_at: z.number(), expires_at: z.number().nullable() })
  .openapi("RolledBackCoupon");

function fail(status: number, code: string, message: string): StoredAnswer {
  return { status, body: JSON.stringify(errorBody(status, message, code)) };
}

function ok(body: unknown): StoredAnswer {
  return { status: 200, body: JSON.stringify(body) };
}

function notFound(result: { status: "mistyped" | "unknown" }, code: string): StoredAnswer {
  return result.status === "mistyped"
    ? fail(404, "mistyped_code", `"${code}" looks mistyped: its check character does not match; check it again`)
    : fail(404, "unknown_code", `No coupon "${code}" in this site`);
}

function expiry(coupon: CouponState) {
  return coupon.expiresAt === null ? "" : ` on ${new Date(coupon.expiresAt).toISOString()}`;
}

function redeemAnswer(result: RedeemResult, code: string, order: string): StoredAnswer {
  switch (result.status) {
    case "redeemed":
      return ok({
        code: result.coupon.code,
        order,
        redeemed_at: result.coupon.redeemedAt,
        expires_at: result.coupon.expiresAt,
        pool_id: result.coupon.poolId,
        rule_id: result.coupon.ruleId,
      });
    case "already_redeemed": {
      const by = result.coupon.orderId === order ? "by this order" : "by another order";
      return fail(409, "already_redeemed", `"${code}" was redeemed already ${by}`);
    }
    case "expired":
      return fail(410, "expired_code", `"${code}" expired${expiry(result.coupon)}`);
    case "unassigned":
      return fail(404, "unassigned_code", `"${code}" was never handed out, so it cannot be redeemed`);
    default:
      return notFound(result, code);
  }
}

function rollbackAnswer(result: RollbackResult, code: string, order: string, now: number): StoredAnswer {
  switch (result.status) {
    case "rolled_back":
      return ok({ code: result.coupon.code, order, rolled_back_at: now, expires_at: result.coupon.expiresAt });
    case "not_redeemed":
      return fail(409, "not_redeemed", `"${code}" is not redeemed`);
    case "other_order":
      return fail(409, "other_order", `"${code}" was redeemed by another order`);
    default:
      return notFound(result, code);
  }
}

/**
 * The stored JSON text goes out byte for byte, so a replay is identical to the first answer. Its
 * shape is one of the route's documented responses; the cast tells zod-openapi's typed handler so
 * (it cannot see through a stored string).
 */
function send<T>(answer: StoredAnswer & { replayed: boolean }) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (answer.replayed) headers["Idempotent-Replayed"] = "true";
  return new Response(answer.body, { status: answer.status, headers }) as unknown as TypedResponse<T, 200, "json">;
}

export const redeemRoutes = createRouter();

redeemRoutes.use("/api/v1/coupons/*", requireApiKey);

redeemRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/coupons/redeem",
    tags: ["Coupons"],
    summary: "Redeem a coupon code for an order, exactly once",
    description:
      "404 `unknown_code`, `mistyped_code` (a generated code whose check character fails) or " +
      "`unassigned_code`; 409 `already_redeemed` (also for the same order again: send an " +
      "Idempotency-Key to retry safely); 410 `expired_code`.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      headers: IdempotencyHeader,
      body: { required: true, content: { "application/json": { schema: RedeemBody } } },
    },
    responses: {
      200: { description: "Redeemed", content: { "application/json": { schema: RedeemedSchema } } },
      ...errorResponses(400, 401, 403, 404, 409, 410),
    },
  }),
  async (c) => {
    const { code, order, revenue } = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const siteId = c.var.site.id;
    const d1 = toD1(c.var.db);
    const now = Date.now();
    const answer = await runIdempotent(d1, siteId, key && `redeem:${key}`, now, async () =>
      redeemAnswer(await redeemCoupon(d1, siteId, code, order, now, { revenue }), code, order),
    );
    return send<z.infer<typeof RedeemedSchema>>(answer);
  },
);

redeemRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/coupons/rollback",
    tags: ["Coupons"],
    summary: "Undo a redemption (cancelled order): the code becomes usable again",
    description: "404 when the code is unknown; 409 `not_redeemed` or `other_order` when it does not match.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      headers: IdempotencyHeader,
      body: { required: true, content: { "application/json": { schema: RollbackBody } } },
    },
    responses: {
      200: { description: "Rolled back", content: { "application/json": { schema: RolledBackSchema } } },
      ...errorResponses(400, 401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { code, order } = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const siteId = c.var.site.id;
    const d1 = toD1(c.var.db);
    const now = Date.now();
    const answer = await runIdempotent(d1, siteId, key && `rollback:${key}`, now, async () =>
      rollbackAnswer(await rollbackCoupon(d1, siteId, code, order, now), code, order, now),
    );
    return send<z.infer<typeof RolledBackSchema>>(answer);
  },
);
