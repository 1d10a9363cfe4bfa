/**
 * A code's state, the same wherever it is shown (lookup, admin, pool counts, redeem answers):
 * `free` (never handed out), `assigned` (held and redeemable), `expired` (held past its expiry),
 * `redeemed`, and `archived` — a live code taken out of use when its holder's codes were merged
 * into one person's (worker/coupons/merge.ts): no longer anyone's and never redeemable, however
 * far its expiry date lies ahead (README.md, "Coupons").
 */
import { type SQL, sql } from "drizzle-orm";

export const COUPON_STATES = ["free", "assigned", "expired", "redeemed", "archived"] as const;
export type CouponStateName = (typeof COUPON_STATES)[number];

type StateColumns = {
  holder: string | null;
  redeemedAt: number | null;
  expiresAt: number | null;
  archivedAt: number | null;
};

/**
 * Archived: marked by a merge, or (codes archived before `archived_at` existed) parked as `x:…`
 * while still within its validity — an expired code parked by a later claim stays `expired`.
 */
export function couponStateOf(row: StateColumns, now: number): CouponStateName {
  if (row.redeemedAt != null) return "redeemed";
  if (row.holder == null) return "free";
  if (row.archivedAt != null || (row.holder.startsWith("x:") && row.expiresAt != null && row.expiresAt > now)) {
    return "archived";
  }
  if (row.expiresAt != null && row.expiresAt <= now) return "expired";
  return "assigned";
}

/** The same test in SQL over the `coupons` columns, for counts. */
export function archivedSql(now: number): SQL {
  return sql`(redeemed_at is null and holder is not null and (archived_at is not null
    or (substr(holder, 1, 2) = 'x:' and expires_at > ${now})))`;
}
