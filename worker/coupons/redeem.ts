/**
 * Redeeming a coupon exactly once, and undoing it for a cancelled order. Used by the shop
 * backend's API call (`POST /api/v1/coupons/redeem`) and by a purchase event that carries a
 * coupon (worker/collect/): whichever arrives first redeems, the other finds it already redeemed
 * by the same order — so a redemption is counted once, whichever way it came in.
 *
 * The redemption itself is ONE batch in HOME (one transaction), whose first statement is the
 * atomic `UPDATE ... WHERE redeemed_at IS NULL RETURNING` — SQLite runs writes one at a time, so
 * of 20 simultaneous redeems exactly one changes the row; the last statements read the coupon's
 * state, the holder's codes and the site's generated-pool prefixes, so a failed redeem is
 * classified without another trip.
 *
 * What it means for the people involved is written where they live (docs/architecture.md,
 * "Shards"), after HOME's transaction and idempotently (`outcomes()`): the holder's code copies and
 * decision rows, the customer's coupons_redeemed (on the customer's shard and its copies), the rule
 * conversion (keyed on (rule, cookie), beside the cookie's exposures) and the offer counter of the
 * claimer's context (HOME). Each counter moves under a ledger entry named by the redemption
 * (applied_messages), so when a write after the redemption fails, the caller's retry — which finds
 * the code redeemed by the same order — writes what is missing and counts nothing twice.
 */

import type { D1Like } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { contextSql } from "../decide/offers";
import { customerOfCookie } from "../identity/customer-of-cookie";
import { utcDayNumber } from "../lib/time";
import { peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";
import { classifyMissingCode } from "./code-format";
import { type CodeCopy, writePersonCodes } from "./person-codes";
import { couponStateOf } from "./state";

type Site = { id: number; shards: ShardSet };

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

/** The coupon's state, the site's generated-pool prefixes and the codes of the coupon's holder. */
function stateAndPrefixes(d1: D1Like, siteId: number, code: string) {
  return [
    d1.prepare(`select ${COUPON_COLUMNS} from coupons where site_id = ?1 and code = ?2`).bind(siteId, code),
    d1.prepare("select prefix from coupon_pools where site_id = ?1 and kind = 'generated'").bind(siteId),
    d1
      .prepare(
        `select holder, id as couponId, pool_id as poolId, rule_id as ruleId, code, expires_at as expiresAt,
           redeemed_at as redeemedAt
         from coupons where pool_id in (select id from coupon_pools where site_id = ?1)
           and holder = (select holder from coupons where site_id = ?1 and code = ?2)
           and (holder like 'v:%' or holder like 'c:%')
         order by id`,
      )
      .bind(siteId, code),
  ];
}

/** The statements refreshing the decision rows of a customer's cookies on one database. */
function refreshOf(d1: D1Like, siteId: number, customer: string, now: number): D1PreparedStatement[] {
  return refreshStatements(siteId, { customers: [customer] }, now).map((s) => d1.prepare(s.text).bind(...s.params));
}

/** What a ledger entry of a redemption guards: each counter has its own, so none blocks another. */
const LEDGER_KIND = { customer: 0, offer: 1, rollback: 2 } as const;

/** A number naming one write of a coupon's redemption (or rollback) in applied_messages. */
function ledgerId(couponId: number, at: number, kind: keyof typeof LEDGER_KIND): number {
  // Queue message IDs are positive; these are negative, unique per coupon, time and kind, and
  // within 2^53 (coupon IDs below 2 million, times within 10^9 ms of each other's residue).
  return -((couponId % 2_000_000) * 4_000_000_000 + (at % 1_000_000_000) * 4 + LEDGER_KIND[kind]);
}

/**
 * What a redemption (`sign` 1) or its rollback (-1) means for the people involved, each write on
 * the database its rows live on, all of them idempotent: the holder's code copies and rows, the
 * customer's coupons_redeemed, the rule conversions of the claimer's and the purchase's cookies,
 * and the redemption in the offer counters of the claimer's context.
 */
async function outcomes(
  env: ShardEnv,
  site: Site,
  coupon: CouponState,
  holderCodes: CodeCopy[],
  sign: 1 | -1,
  at: number,
  now: number,
  options: { revenue: number | null; cookieId: string | null; orderId: string },
): Promise<void> {
  const ledger = ledgerId(coupon.id, at, sign === -1 ? "rollback" : "customer");
  const claimer = coupon.cookieId ? peopleFor(env, site, coupon.cookieId) : null;
  // The customer the coupon counts for: the one it was claimed for, else the one its claiming
  // cookie has been linked to since (read on that cookie's shard).
  const customer = coupon.customerId ?? (await customerOfCookie(env, site, coupon.cookieId));
  const work: Promise<unknown>[] = [];
  if (coupon.holder) work.push(writePersonCodes(env, site, [coupon.holder], holderCodes, now));
  if (customer !== null) {
    // The customer's own row and its copies (on whichever shards of the set hold one), under one
    // ledger entry per database; their decision rows show the new figure.
    for (const people of peopleOfSite(env, site)) {
      const d1 = people.d1;
      work.push(
        d1.batch([
          d1
            .prepare(
              `update customers set coupons_redeemed = max(coalesce(coupons_redeemed, 0) + ?1, 0), updated_at = ?2
               where site_id = ?3 and customer_id = ?4 and not exists (select 1 from applied_messages where id = ?5)`,
            )
            .bind(sign, now, site.id, customer, ledger),
          d1
            .prepare("insert into applied_messages (id, applied_at) values (?1, ?2) on conflict do nothing")
            .bind(ledger, now),
          ...refreshOf(d1, site.id, customer, now),
        ]),
      );
    }
  }
  const cookies = [...new Set([coupon.cookieId, options.cookieId].filter((c): c is string => c !== null))];
  for (const cookie of cookies) {
    const d1 = peopleFor(env, site, cookie).d1;
    work.push(
      sign === 1
        ? d1
            .prepare(
              `insert into rule_conversions (site_id, rule_id, cookie_id, order_id, revenue, ts)
               select ?1, ?2, ?3, ?4, ?5, ?6 where ?2 is not null on conflict do nothing`,
            )
            .bind(site.id, coupon.ruleId, cookie, options.orderId, options.revenue, at)
            .run()
        : d1
            .prepare("delete from rule_conversions where site_id = ?1 and order_id = ?2 and rule_id = ?3")
            .bind(site.id, options.orderId, coupon.ruleId)
            .run(),
    );
  }
  if (sign === 1 && coupon.ruleId !== null) {
    work.push(offerRedemption(env, site, coupon, claimer, ledgerId(coupon.id, at, "offer"), options.revenue, now));
  }
  await Promise.all(work);
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
  env: ShardEnv,
  site: Site,
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
  const d1 = env.DB;
  const revenue = options.revenue ?? null;
  const heldBy = options.heldBy ?? null;
  const customer = options.customer ?? null;
  const heldByCustomer = heldBy === null ? null : (options.heldByCustomer ?? null);
  // The customer heldBy's cookie is linked to, from that cookie's shard: a HOME statement cannot read it.
  const linked = await customerOfCookie(env, site, heldBy);
  const results = await d1.batch([
    d1
      .prepare(
        `update coupons set redeemed_at = ?1, order_id = ?2
         where site_id = ?3 and code = ?4 and redeemed_at is null and holder is not null and expires_at > ?1
           and (?5 is null or holder in ('v:' || ?5, 'c:' || ?8, 'c:' || ?7))
           and (?6 is null or holder not like 'c:%' or holder = 'c:' || ?6)
           and substr(holder, 1, 2) <> 'x:'
         returning ${COUPON_COLUMNS}`,
      )
      .bind(now, orderId, site.id, code, heldBy, customer, heldByCustomer, linked),
    ...stateAndPrefixes(d1, site.id, code),
  ]);
  const updated = results[0].results as CouponRow[];
  const holderCodes = results[3].results as CodeCopy[];
  const follow = { revenue, cookieId: options.cookieId ?? null, orderId };
  if (updated.length > 0) {
    const coupon = toState(updated[0]);
    await outcomes(env, site, coupon, holderCodes, 1, now, now, follow);
    return { status: "redeemed", coupon };
  }
  const row = (results[1].results as CouponRow[])[0];
  // A browser learns nothing about codes it does not hold: unknown, someone else's, never handed
  // out — all the same answer, so guessing codes through purchase events tells nothing.
  if (heldBy !== null) {
    const own = [`v:${heldBy}`, ...[linked, heldByCustomer].filter(Boolean).map((id) => `c:${id}`)];
    if (!row || row.holder === null || !own.includes(row.holder)) return { status: "not_held" };
  }
  if (!row) return missing(code, results[2].results);
  const coupon = toState(row);
  if (customer !== null && coupon.holder?.startsWith("c:") && coupon.holder !== `c:${customer}`) {
    return { status: "holder_mismatch", coupon };
  }
  if (coupon.redeemedAt !== null) {
    // The same order again (a retry): what the first call may not have finished is written now.
    if (coupon.orderId === orderId) await outcomes(env, site, coupon, holderCodes, 1, coupon.redeemedAt, now, follow);
    return { status: "already_redeemed", coupon };
  }
  if (coupon.holder === null) return { status: "unassigned" };
  if (couponStateOf(coupon, now) === "archived") return { status: "archived", coupon };
  return { status: "expired", coupon };
}

/**
 * The redemption as an outcome of the rule that handed the code out, in its claimer's context
 * (decide/offers.ts: what `redemptions` and `revenue` placements learn from), read from the
 * claimer's decision row on its shard; counted once per redemption (the ledger entry in HOME).
 */
async function offerRedemption(
  env: ShardEnv,
  site: Site,
  coupon: CouponState,
  claimer: { d1: D1Like } | null,
  ledger: number,
  revenue: number | null,
  now: number,
) {
  const context = claimer
    ? ((
        await claimer.d1
          .prepare(`select ${contextSql("d")} as context from (select 1) left join decision_rows d
             on d.site_id = ?1 and d.cookie_id = ?2`)
          .bind(site.id, coupon.cookieId)
          .first<{ context: string }>()
      )?.context ?? "unknown")
    : "unknown";
  const d1 = env.DB;
  await d1.batch([
    d1
      .prepare(
        `insert into offer_counters (site_id, placement, rule_id, context, day, impressions, clicks, redemptions, revenue)
         select ?1, r.placement, r.id, ?3, ?4, 0, 0, 1, coalesce(?5, 0) from rules r
         where r.site_id = ?1 and r.id = ?2 and not exists (select 1 from applied_messages where id = ?6)
         on conflict do update set redemptions = redemptions + 1, revenue = revenue + excluded.revenue`,
      )
      .bind(site.id, coupon.ruleId, context, utcDayNumber(now), revenue, ledger),
    d1
      .prepare("insert into applied_messages (id, applied_at) values (?1, ?2) on conflict do nothing")
      .bind(ledger, now),
  ]);
}

/** Undoes the redemption of `code` by `orderId` (a cancelled order); the code is usable again. */
export async function rollbackCoupon(
  env: ShardEnv,
  site: Site,
  code: string,
  orderId: string,
  now: number,
): Promise<RollbackResult> {
  const d1 = env.DB;
  const results = await d1.batch([
    d1
      .prepare(
        `update coupons set redeemed_at = null, order_id = null
         where site_id = ?1 and code = ?2 and order_id = ?3 and redeemed_at is not null
         returning ${COUPON_COLUMNS}`,
      )
      .bind(site.id, code, orderId),
    ...stateAndPrefixes(d1, site.id, code),
  ]);
  const updated = results[0].results as CouponRow[];
  if (updated.length > 0) {
    const before = updated[0];
    const coupon = toState(before);
    await outcomes(env, site, coupon, results[3].results as CodeCopy[], -1, now, now, {
      revenue: null,
      cookieId: null,
      orderId,
    });
    return { status: "rolled_back", coupon };
  }
  const row = (results[1].results as CouponRow[])[0];
  if (!row) return missing(code, results[2].results);
  const coupon = toState(row);
  return coupon.redeemedAt === null ? { status: "not_redeemed", coupon } : { status: "other_order", coupon };
}
