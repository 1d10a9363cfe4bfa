/**
 * A purchase event from the tag that carries a coupon redeems it, exactly as the shop backend's
 * API call does (redeemCoupon). Called by the collection path before it writes the profile batch:
 * a redemption is idempotent for its order (a second one answers "already redeemed"), so a retried
 * event batch can safely redeem again, while a profile batch applied twice could not be undone.
 *
 * Costs one extra D1 round trip, and only for a batch that holds a purchase with a coupon.
 */
import type { Db } from "../env";
import type { D1Like } from "./claim";
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
 * Redeems the coupons of the batch's purchases for the visitor `cookieId`. A coupon that is not a
 * tagwerk code of the site (a newsletter code, a typo) is simply not redeemed: the purchase itself
 * is still recorded by the caller.
 */
export async function redeemPurchaseCoupons(
  db: Db | D1Like,
  siteId: number,
  cookieId: string,
  events: PurchaseLike[],
  now: number,
): Promise<RedeemResult[]> {
  const results: RedeemResult[] = [];
  for (const purchase of couponPurchases(events)) {
    results.push(
      await redeemCoupon(db, siteId, purchase.code, purchase.order, now, { revenue: purchase.revenue, cookieId }),
    );
  }
  return results;
}
