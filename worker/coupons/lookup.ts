/**
 * Customer service's view of one code (`GET /api/v1/coupons/:code`): its pool, what kind of holder
 * has it, when it was assigned, expires and was redeemed, for which order, and the manual actions
 * taken on it. Never the holder's cookie ID: a cookie ID is a pseudonymous key to a browser's
 * whole profile, and customer service needs none of it.
 */
import { and, asc, eq } from "drizzle-orm";
import { type D1Like, toD1 } from "../db/raw";
import { couponNotes, couponPools, coupons } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { classifyMissingCode } from "./code-format";
import { type CouponStateName, couponStateOf } from "./state";

export type CouponLookup = {
  code: string;
  pool: { id: number; name: string; kind: "list" | "generated"; discount: string };
  state: CouponStateName;
  /** customer: held by a CRM customer (across devices); visitor: by an anonymous cookie. */
  holder_kind: "customer" | "visitor" | null;
  customer: string | null;
  rule_id: number | null;
  assigned_at: string | null;
  expires_at: string | null;
  redeemed_at: string | null;
  archived_at: string | null;
  order: string | null;
  notes: { action: "redeem" | "rollback"; order: string; reason: string; by: string; at: string }[];
};

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

type CouponRow = typeof coupons.$inferSelect;

/** One code as every view shows it (the lookup, a pool's page and its export): never a cookie ID. */
export function codeToJson(coupon: CouponRow, now: number) {
  const holder = coupon.holder;
  // An expired code parked by the next claim (claim.ts), or an archived one (merge.ts): `x:ID:HOLDER`.
  const holderOf = holder?.startsWith("x:") ? holder.slice(holder.indexOf(":", 2) + 1) : holder;
  return {
    code: coupon.code,
    state: couponStateOf(coupon, now),
    archived_at: iso(coupon.archivedAt),
    holder_kind: holderOf?.startsWith("c:")
      ? ("customer" as const)
      : holderOf?.startsWith("v:")
        ? ("visitor" as const)
        : null,
    customer: holderOf?.startsWith("c:") ? holderOf.slice(2) : coupon.customerId,
    rule_id: coupon.ruleId,
    assigned_at: iso(coupon.assignedAt),
    expires_at: iso(coupon.expiresAt),
    redeemed_at: iso(coupon.redeemedAt),
    order: coupon.orderId,
  };
}

/**
 * The code as the site stores it, for a code typed in any case (customer service reads codes
 * off screens and phones; generated codes are upper-case): the typed code itself when it exists,
 * else its upper- or lower-case form when exactly that one exists, else the typed code (which
 * then reports unknown or mistyped). Keyed lookups of at most three codes.
 */
export async function storedCodeCase(db: Db | D1Like, siteId: number, code: string): Promise<string> {
  const forms = [...new Set([code, code.toUpperCase(), code.toLowerCase()])];
  if (forms.length === 1) return code;
  const { results } = await toD1(db)
    .prepare("select code from coupons where site_id = ?1 and code in (select value from json_each(?2))")
    .bind(siteId, JSON.stringify(forms))
    .all<{ code: string }>();
  const found = results.map((r) => r.code);
  if (found.includes(code)) return code;
  return found.length === 1 ? found[0] : code;
}

export async function lookupCoupon(db: Db, siteId: number, typed: string, now = Date.now()): Promise<CouponLookup> {
  const code = await storedCodeCase(db, siteId, typed);
  const [row] = await db
    .select({ coupon: coupons, pool: couponPools })
    .from(coupons)
    .innerJoin(couponPools, eq(couponPools.id, coupons.poolId))
    .where(and(eq(coupons.siteId, siteId), eq(coupons.code, code)));
  if (!row) {
    const generated = await db
      .select({ prefix: couponPools.prefix })
      .from(couponPools)
      .where(and(eq(couponPools.siteId, siteId), eq(couponPools.kind, "generated")));
    const missing = classifyMissingCode(
      code,
      generated.map((p) => p.prefix),
    );
    if (missing === "mistyped") {
      throw apiError(404, "mistyped_code", `"${code}" looks mistyped: its check character does not match`);
    }
    throw apiError(404, "unknown_code", `No coupon "${code}" in this site`);
  }
  const { coupon, pool } = row;
  const notes = await db
    .select()
    .from(couponNotes)
    .where(eq(couponNotes.couponId, coupon.id))
    .orderBy(asc(couponNotes.createdAt), asc(couponNotes.id));
  return {
    ...codeToJson(coupon, now),
    pool: { id: pool.id, name: pool.name, kind: pool.kind, discount: pool.discount },
    notes: notes.map((n) => ({
      action: n.action,
      order: n.orderId,
      reason: n.reason,
      by: n.actor,
      at: iso(n.createdAt) ?? "",
    })),
  };
}

/** Records customer service's reason for a manual redeem or rollback (after it succeeded). */
export async function addCouponNote(
  db: Db,
  siteId: number,
  code: string,
  note: { action: "redeem" | "rollback"; order: string; reason: string; actor: string },
) {
  const [coupon] = await db
    .select({ id: coupons.id })
    .from(coupons)
    .where(and(eq(coupons.siteId, siteId), eq(coupons.code, code)));
  if (!coupon) return;
  await db.insert(couponNotes).values({
    siteId,
    couponId: coupon.id,
    action: note.action,
    orderId: note.order,
    reason: note.reason,
    actor: note.actor,
  });
}
