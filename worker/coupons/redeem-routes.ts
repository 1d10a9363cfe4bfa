/**
 * `POST /api/v1/coupons/redeem` and `/rollback`, called by the shop backend. Answers are built
 * as (status, JSON text) pairs rather than thrown, so that an `Idempotency-Key` can store the
 * exact answer — errors included — and replay it on a retry.
 */

import { z } from "@hono/zod-openapi";
import type { Context, TypedResponse } from "hono";
import { requireRole } from "../auth/roles";
import { toD1 } from "../db/raw";
import type { AppEnv } from "../env";
import { errorBody } from "../errors";
import { hasControlCharacters, NO_CONTROL_CHARACTERS } from "../lib/identifiers";
import { errorResponses, jsonBody, jsonContent } from "../lib/openapi-shared";
import { createRouter } from "../lib/router";
import { createRoute } from "../lib/secured-route";
import { refuseWhileHeld } from "../shards/moves";
import { requestFingerprint, runIdempotent, type StoredAnswer } from "./idempotency";
import { addCouponNote, storedCodeCase } from "./lookup";
import { type CouponState, type RedeemResult, type RollbackResult, redeemCoupon, rollbackCoupon } from "./redeem";

const RedeemBody = z
  .object({
    code: z.string().trim().min(1).max(64),
    order: z.string().trim().min(1).max(200).openapi({ description: "The shop's order ID" }),
    revenue: z.number().nonnegative().optional().openapi({ description: "Order value, for the rule's report" }),
    customer: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((value) => !hasControlCharacters(value), NO_CONTROL_CHARACTERS)
      .optional()
      .openapi({
        description: "The CRM customer placing the order: a code held by another customer answers 409 holder_mismatch",
      }),
    reason: z.string().trim().min(3).max(500).optional().openapi({
      description:
        "Why, for a redemption or rollback made by hand (customer service); shown by GET /api/v1/coupons/:code",
    }),
  })
  .strict();

const RollbackBody = RedeemBody.omit({ revenue: true, customer: true });

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

function archivedOn(coupon: CouponState) {
  return coupon.archivedAt === null ? "" : ` since ${new Date(coupon.archivedAt).toISOString()}`;
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
    case "archived":
      return fail(
        410,
        "archived_code",
        `"${code}" is archived${archivedOn(result.coupon)}: its holder's codes were merged into one when the visitor was linked to a customer; the customer's code is the one to redeem`,
      );
    case "unassigned":
      return fail(404, "unassigned_code", `"${code}" was never handed out, so it cannot be redeemed`);
    case "holder_mismatch":
      return fail(409, "holder_mismatch", `"${code}" is held by another customer`);
    case "not_held":
      // Only a browser purchase asks with heldBy; the API never does.
      return fail(409, "holder_mismatch", `"${code}" is not held by this visitor`);
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

/** Customer service's reason, kept with who gave it: the admin user, or an API key. */
function noteFor(c: Context<AppEnv>, action: "redeem" | "rollback", code: string, order: string, reason: string) {
  return addCouponNote(c.var.db, c.var.site.id, code, {
    action,
    order,
    reason,
    actor: c.var.adminUser?.email ?? "api key",
  });
}

export const redeemRoutes = createRouter();

redeemRoutes.openapi(
  createRoute({
    operationId: "redeemCoupon",
    method: "post",
    path: "/api/v1/coupons/redeem",
    tags: ["Coupons"],
    summary: "Redeem a coupon code for an order, exactly once",
    description:
      "404 `unknown_code`, `mistyped_code` (a generated code whose check character fails) or " +
      "`unassigned_code`; 409 `already_redeemed` (also for the same order again: send an " +
      "Idempotency-Key to retry safely); 409 `holder_mismatch` when `customer` is given and the code is " +
      "held by another CRM customer (nothing is redeemed); 410 `expired_code`, or `archived_code` for a code taken out of use when its holder's codes were merged; 422 `idempotency_mismatch` " +
      "when the Idempotency-Key was used before with another body (nothing is changed).",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(RedeemBody),
    },
    responses: {
      200: jsonContent(RedeemedSchema, "Redeemed"),
      ...errorResponses(400, 401, 403, 404, 409, 410, 422),
    },
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const body = c.req.valid("json");
    const { order, revenue, customer, reason } = body;
    // Compared regardless of case: the stored code of what was typed (lookup.ts).
    const code = await storedCodeCase(c.var.db, c.var.site.id, body.code);
    const key = c.req.valid("header")["idempotency-key"];
    const siteId = c.var.site.id;
    const d1 = toD1(c.var.db);
    const now = Date.now();
    const fingerprint = await requestFingerprint(c.req.method, c.req.path, body);
    const answer = await runIdempotent(d1, siteId, key && `redeem:${key}`, fingerprint, now, async () => {
      const result = await redeemCoupon(c.env, c.var.site, code, order, now, { revenue, customer });
      if (result.status === "redeemed" && reason) await noteFor(c, "redeem", code, order, reason);
      return redeemAnswer(result, code, order);
    });
    return send<z.infer<typeof RedeemedSchema>>(answer);
  },
);

redeemRoutes.openapi(
  createRoute({
    operationId: "rollbackCoupon",
    method: "post",
    path: "/api/v1/coupons/rollback",
    tags: ["Coupons"],
    summary: "Undo a redemption (cancelled order): the code becomes usable again",
    description: "404 when the code is unknown; 409 `not_redeemed` or `other_order` when it does not match.",
    security: [{ apiKey: [] }],
    middleware: [requireRole("marketer")] as const,
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(RollbackBody),
    },
    responses: {
      200: jsonContent(RolledBackSchema, "Rolled back"),
      ...errorResponses(400, 401, 403, 404, 409, 422),
    },
  }),
  async (c) => {
    // A move holds the site's person writes for a few seconds (README.md, "Shards").
    refuseWhileHeld(c.var.site);
    const body = c.req.valid("json");
    const { order, reason } = body;
    const code = await storedCodeCase(c.var.db, c.var.site.id, body.code);
    const key = c.req.valid("header")["idempotency-key"];
    const siteId = c.var.site.id;
    const d1 = toD1(c.var.db);
    const now = Date.now();
    const fingerprint = await requestFingerprint(c.req.method, c.req.path, body);
    const answer = await runIdempotent(d1, siteId, key && `rollback:${key}`, fingerprint, now, async () => {
      const result = await rollbackCoupon(c.env, c.var.site, code, order, now);
      if (result.status === "rolled_back" && reason) await noteFor(c, "rollback", code, order, reason);
      return rollbackAnswer(result, code, order, now);
    });
    return send<z.infer<typeof RolledBackSchema>>(answer);
  },
);
