/**
 * A purchase event from the tag that carries a coupon redeems it, exactly as the shop backend's
 * API call does (redeemCoupon). Called by the collection path before it writes the profile batch:
 * a redemption is idempotent for its order (a second one answers "already redeemed"), so a retried
 * event batch can safely redeem again, while a profile batch applied twice could not be undone.
 *
 * Costs one extra D1 round trip, and only for a batch that holds a purchase with a coupon.
 */

import { type D1Like, toD1 } from "../db/raw";
import type { Db } from "../env";
import { customerOfCookie } from "../identity/customer-of-cookie";
import type { ShardEnv, ShardSet } from "../shards/routing";
import { type RedeemResult, redeemCoupon } from "./redeem";

type PurchaseLike = { type: string; props?: unknown };
type PurchaseProps = { order?: unknown; value?: unknown; coupon?: unknown };

/** The (code, order, revenue) of every purchase in `events` that names a coupon. */
export function couponPurchases(events: PurchaseLike[]) {
  const out: { code: string; order: string; revenue: number | null }[] = [];
  for (const event of events) {
    if (event.type !== "purchase" || typeof event.props !== "object" || event.props === null) continue;
    const { order, value, coupon } = event.props as PurchaseProps;
    if (typeof coupon !== "string" || coupon.trim() === "" || typeof order !== "string") continue;
    out.push({ code: coupon.trim(), order, revenue: typeof value === "number" ? value : null });
  }
  return out;
}

/**
 * Redeems the coupons of a browser batch's purchases for the visitor `cookieId`: only codes that
 * cookie or its linked customer holds (collect.ts has already refused purchases naming any
 * other code; this is the same rule again at the moment of the write).
 */
export async function redeemPurchaseCoupons(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  cookieId: string,
  events: PurchaseLike[],
  now: number,
): Promise<RedeemResult[]> {
  const results: RedeemResult[] = [];
  const heldByCustomer = verifiedCustomerOf(events);
  for (const purchase of couponPurchases(events)) {
    results.push(
      await redeemCoupon(env, site, purchase.code, purchase.order, now, {
        revenue: purchase.revenue,
        cookieId,
        heldBy: cookieId,
        heldByCustomer,
      }),
    );
  }
  return results;
}

/**
 * The customer of the batch's last identify. Browser batches reach the write path only with
 * verified identifies (collect.ts drops the others), so this customer is the cookie's own.
 */
function verifiedCustomerOf(events: PurchaseLike[]): string | null {
  let customer: string | null = null;
  for (const event of events) {
    const props = event.props as { customer?: unknown } | undefined;
    if (event.type === "identify" && typeof props?.customer === "string") customer = props.customer;
  }
  return customer;
}

/**
 * Which of `codes` the cookie (or the customer it is linked to, or `customerId`) holds: one read,
 * made by /e before it accepts a purchase, so that a purchase naming any other code is reported as
 * rejected in the answer instead of silently not redeeming later in the queue.
 */
export async function codesHeldBy(
  env: ShardEnv,
  db: Db | D1Like,
  site: { id: number; shards: ShardSet },
  cookieId: string | null,
  customerId: string | null,
  codes: string[],
): Promise<Set<string>> {
  if (codes.length === 0 || (cookieId === null && customerId === null)) return new Set();
  // The customer the cookie is linked to lives beside the cookie (docs/architecture.md, "Shards").
  const linked = await customerOfCookie(env, site, cookieId);
  const rows = await toD1(db)
    .prepare(
      `select code from coupons where site_id = ?1 and code in (select value from json_each(?2))
         and holder in ('v:' || ?3, 'c:' || ?5, 'c:' || ?4)`,
    )
    .bind(site.id, JSON.stringify(codes), cookieId, customerId, linked)
    .all<{ code: string }>();
  return new Set(rows.results.map((r) => r.code));
}
