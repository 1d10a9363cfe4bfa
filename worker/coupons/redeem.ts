/**
 * Redeeming a coupon exactly once, and undoing it for a cancelled order. Used by the shop
 * backend's API call (`POST /api/v1/coupons/redeem`) and by a purchase event that carries a
 * coupon (worker/collect/): whichever arrives first redeems, the other finds it already redeemed
 * by the same order — so a redemption is counted once, whichever way it came in.
 *
 * One D1 round trip each: a batch (one transaction) whose first statement is the atomic
 * `UPDATE ... WHERE redeemed_at IS NULL RETURNING` — SQLite runs writes one at a time, so of 20
 * simultaneous redeems exactly one changes the row. The customer's coupons_redeemed counter moves
 * only when that UPDATE changed a row: `changes()` inside the next statement still reports the
 * previous statement's count (SQLite sets it when a statement completes). The rule conversion is
 * an idempotent insert keyed on (rule, cookie). The last statements read the coupon's state and
 * the site's generated-pool prefixes, so a failed redeem is classified without another trip.
 */

import { type D1Like, preparedAll, toD1 } from "../db/raw";
import { couponRefreshStatements } from "../decide/decision-rows";
import { contextSql } from "../decide/offers";
import type { Db } from "../env";
import { utcDayNumber } from "../lib/time";
import { classifyMissingCode } from "./code-format";
import { couponStateOf } from "./state";

export type CouponState = {
  id: number;
  poolId: number;
  code: string;
  holder: string | null;
  cookieId: string | null;
  customerId: string | null;
  ruleId: number | null;
  assignedAt: number | null;
  expiresAt: number | null;
  redeemedAt: number | null;
  orderId: string | null;
  archivedAt: number | null;
};

export type RedeemResult =
  | { status: "redeemed"; coupon: CouponState }
  | { status: "already_redeemed"; coupon: CouponState }
  /** Past its expiry (also when parked by a later claim). */
  | { status: "expired"; coupon: CouponState }
  /** Taken out of use by a merge of one person's codes (merge.ts), whatever its expiry says. */
  | { status: "archived"; coupon: CouponState }
  /** A list code that was never handed out: not redeemable (a leaked upload file stays useless). */
  | { status: "unassigned" }
  /** Held by a CRM customer other than the one the call names (`customer`). */
  | { status: "holder_mismatch"; coupon: CouponState }
  /** A browser purchase named a code its cookie (and that cookie's customer) does not hold. */
  | { status: "not_held" }
  | { status: "mistyped" }
  | { status: "unknown" };

export type RollbackResult =
  | { status: "rolled_back"; coupon: CouponState }
  | { status: "not_redeemed"; coupon: CouponState }
  | { status: "other_order"; coupon: CouponState }
  | { status: "mistyped" }
  | { status: "unknown" };

const COUPON_COLUMNS = `id, pool_id, code, holder, cookie_id, customer_id, rule_id, assigned_at, expires_at,
  redeemed_at, order_id, archived_at`;

/**
 * The customer a coupon counts for (?2 site, ?3 code): the one it was claimed for, or else the
 * customer the claiming cookie has been linked to since.
 */
const CUSTOMER_OF_COUPON = `(select coalesce(c.customer_id, v.customer_id) from coupons as c
  left join visitors as v on v.site_id = c.site_id and v.cookie_id = c.cookie_id
  where c.site_id = ?2 and c.code = ?3)`;

type CouponRow = {
  id: number;
  pool_id: number;
  code: string;
  holder: string | null;
  cookie_id: string | null;
  customer_id: string | null;
  rule_id: number | null;
  assigned_at: number | null;
  expires_at: number | null;
  redeemed_at: number | null;
  order_id: string | null;
  archived_at: number | null;
};

function toState(row: CouponRow): CouponState {
  return {
    id: row.id,
    poolId: row.pool_id,
    code: row.code,
    holder: row.holder,
    cookieId: row.cookie_id,
    customerId: row.customer_id,
    ruleId: row.rule_id,
    assignedAt: row.assigned_at,
    expiresAt: row.expires_at,
    redeemedAt: row.redeemed_at,
    orderId: row.order_id,
    archivedAt: row.archived_at,
  };
}

function stateAndPrefixes(d1: D1Like, siteId: number, code: string) {
  return [
    d1.prepare(`select ${COUPON_COLUMNS} from coupons where site_id = ?1 and code = ?2`).bind(siteId, code),
    d1.prepare("select prefix from coupon_pools where site_id = ?1 and kind = 'generated'").bind(siteId),
  ];
}

function missing(code: string, prefixRows: unknown[]): { status: "mistyped" | "unknown" } {
  const prefixes = (prefixRows as { prefix: string }[]).map((r) => r.prefix).sort((a, b) => b.length - a.length);
  return { status: classifyMissingCode(code, prefixes) };
}

/**
 * Redeems `code` for `orderId`. `revenue` goes into the rule conversion; `cookieId` (the cookie
 * of the purchase event) also marks that visitor converted when it differs from the claimer's.
 *
 * Who may redeem what (docs/architecture.md, "Trust boundaries"): `heldBy` (a browser purchase) redeems only
 * a code held by that cookie or by the customer it is linked to; `customer` (the shop's backend
 * naming its customer) refuses a code held by another CRM customer. Both are conditions of the
 * atomic UPDATE itself, so nothing else is ever redeemed, not even in a race.
 */
export async function redeemCoupon(
  db: Db | D1Like,
  siteId: number,
  code: string,
  orderId: string,
  now: number,
  options: {
    revenue?: number | null;
    cookieId?: string | null;
    heldBy?: string | null;
    /** With heldBy: the customer a verified identify of the same batch names (not linked yet). */
    heldByCustomer?: string | null;
    customer?: string | null;
  } = {},
): Promise<RedeemResult> {
  const d1 = toD1(db);
  const revenue = options.revenue ?? null;
  const heldBy = options.heldBy ?? null;
  const customer = options.customer ?? null;
  const heldByCustomer = heldBy === null ? null : (options.heldByCustomer ?? null);
  const statements = [
    d1
      .prepare(
        `update coupons set redeemed_at = ?1, order_id = ?2
         where site_id = ?3 and code = ?4 and redeemed_at is null and holder is not null and expires_at > ?1
           and (?5 is null or holder in ('v:' || ?5,
             'c:' || (select customer_id from visitors where site_id = ?3 and cookie_id = ?5), 'c:' || ?7))
           and (?6 is null or holder not like 'c:%' or holder = 'c:' || ?6)
           and substr(holder, 1, 2) <> 'x:'
         returning ${COUPON_COLUMNS}`,
      )
      .bind(now, orderId, siteId, code, heldBy, customer, heldByCustomer),
    d1
      .prepare(
        `update customers set coupons_redeemed = coalesce(coupons_redeemed, 0) + 1, updated_at = ?1
         where changes() = 1 and site_id = ?2 and customer_id = ${CUSTOMER_OF_COUPON}`,
      )
      .bind(now, siteId, code),
    conversionInsert(d1, siteId, code, orderId, revenue, null),
    offerRedemption(d1, siteId, code, revenue, now),
  ];
  if (options.cookieId) statements.push(conversionInsert(d1, siteId, code, orderId, revenue, options.cookieId));
  statements.push(...preparedAll(d1, couponRefreshStatements(siteId, code, options.cookieId ?? null, now)));
  statements.push(
    d1.prepare("select customer_id from visitors where site_id = ?1 and cookie_id = ?2").bind(siteId, heldBy ?? ""),
  );
  statements.push(...stateAndPrefixes(d1, siteId, code));

  const results = await d1.batch(statements);
  const updated = results[0].results as CouponRow[];
  if (updated.length > 0) return { status: "redeemed", coupon: toState(updated[0]) };
  const row = (results[results.length - 2].results as CouponRow[])[0];
  // A browser learns nothing about codes it does not hold: unknown, someone else's, never handed
  // out — all the same answer, so guessing codes through purchase events tells nothing.
  if (heldBy !== null) {
    const linked = (results[results.length - 3].results as { customer_id: string | null }[])[0]?.customer_id;
    const own = [`v:${heldBy}`, ...[linked, heldByCustomer].filter(Boolean).map((id) => `c:${id}`)];
    if (!row || row.holder === null || !own.includes(row.holder)) return { status: "not_held" };
  }
  if (!row) return missing(code, results[results.length - 1].results);
  const coupon = toState(row);
  if (customer !== null && coupon.holder?.startsWith("c:") && coupon.holder !== `c:${customer}`) {
    return { status: "holder_mismatch", coupon };
  }
  if (coupon.redeemedAt !== null) return { status: "already_redeemed", coupon };
  if (coupon.holder === null) return { status: "unassigned" };
  if (couponStateOf(coupon, now) === "archived") return { status: "archived", coupon };
  return { status: "expired", coupon };
}

/**
 * The conversion of the coupon's rule for a cookie (the claimer's, or the purchase event's when
 * given), written only while the coupon stands redeemed by this order; the unique
 * (rule_id, cookie_id) index keeps the first conversion.
 */
function conversionInsert(
  d1: D1Like,
  siteId: number,
  code: string,
  orderId: string,
  revenue: number | null,
  cookieId: string | null,
) {
  return d1
    .prepare(
      `insert into rule_conversions (site_id, rule_id, cookie_id, order_id, revenue, ts)
       select site_id, rule_id, coalesce(?5, cookie_id), order_id, ?4, redeemed_at from coupons
       where site_id = ?1 and code = ?2 and order_id = ?3 and redeemed_at is not null
         and rule_id is not null and coalesce(?5, cookie_id) is not null
       on conflict do nothing`,
    )
    .bind(siteId, code, orderId, revenue, cookieId);
}

/**
 * The redemption as an outcome of the rule that handed the code out, in its claimer's context
 * (decide/offers.ts: what `redemptions` and `revenue` placements learn from). Right after the
 * claimer's conversion: changes() is 1 only when that conversion was new, so a person's
 * redemptions teach a rule once, as its conversion counts once.
 */
function offerRedemption(d1: D1Like, siteId: number, code: string, revenue: number | null, now: number) {
  return d1
    .prepare(
      `insert into offer_counters (site_id, placement, rule_id, context, day, impressions, clicks, redemptions, revenue)
       select c.site_id, r.placement, c.rule_id, ${contextSql("d")}, ?4, 0, 0, 1, coalesce(?3, 0)
       from coupons c join rules r on r.site_id = c.site_id and r.id = c.rule_id
         left join decision_rows d on d.site_id = c.site_id and d.cookie_id = c.cookie_id
       where changes() = 1 and c.site_id = ?1 and c.code = ?2
       on conflict do update set redemptions = redemptions + 1, revenue = revenue + excluded.revenue`,
    )
    .bind(siteId, code, revenue, utcDayNumber(now));
}

/** Undoes the redemption of `code` by `orderId` (a cancelled order); the code is usable again. */
export async function rollbackCoupon(
  db: Db | D1Like,
  siteId: number,
  code: string,
  orderId: string,
  now: number,
): Promise<RollbackResult> {
  const d1 = toD1(db);
  const results = await d1.batch([
    d1
      .prepare(
        `update coupons set redeemed_at = null, order_id = null
         where site_id = ?1 and code = ?2 and order_id = ?3 and redeemed_at is not null
         returning ${COUPON_COLUMNS}`,
      )
      .bind(siteId, code, orderId),
    d1
      .prepare(
        `update customers set coupons_redeemed = max(coalesce(coupons_redeemed, 0) - 1, 0), updated_at = ?1
         where changes() = 1 and site_id = ?2 and customer_id = ${CUSTOMER_OF_COUPON}`,
      )
      .bind(now, siteId, code),
    d1
      .prepare(
        `delete from rule_conversions
         where site_id = ?1 and order_id = ?3
           and rule_id = (select rule_id from coupons where site_id = ?1 and code = ?2 and redeemed_at is null)`,
      )
      .bind(siteId, code, orderId),
    ...stateAndPrefixes(d1, siteId, code),
    ...preparedAll(d1, couponRefreshStatements(siteId, code, null, now)),
  ]);
  const updated = results[0].results as CouponRow[];
  if (updated.length > 0) return { status: "rolled_back", coupon: toState(updated[0]) };
  const row = (results[3].results as CouponRow[])[0];
  if (!row) return missing(code, results[4].results);
  const coupon = toState(row);
  return coupon.redeemedAt === null ? { status: "not_redeemed", coupon } : { status: "other_order", coupon };
}
