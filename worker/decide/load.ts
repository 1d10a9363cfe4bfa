/**
 * Everything one decision needs from D1, in ONE round trip: a single `db.batch([...])` (the D1
 * batch API) of statements that each resolve the site by key and the visitor's cookie ID in SQL —
 * the cookie ID comes from the request, or from id_links for a partner user ID — so that nothing
 * has to be read before the batch:
 *   the site (holdout share, coupon parameter, rules version), the visitor ⋈ customer, today's cap
 *   counters, the coupon assignments of the visitor and its customer, the rules the visitor has
 *   converted on (stop after conversion), and the product the creative may show.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AssignmentRow } from "../coupons";
import { type CompiledCreative, compileCreative } from "../creatives/compile";
import {
  capCounters,
  couponPools,
  coupons,
  creatives,
  customers,
  placementFallbacks,
  products,
  ruleConversions,
  sites,
  visitors,
} from "../db/schema";
import type { Db } from "../env";

export type Identity = {
  /** From the tw_id cookie or a verified visitor token. */
  cookieId: string | null;
  /** A partner user ID to resolve through id_links when there is no cookie ID. */
  partner: { key: string; userId: string } | null;
};

export type DecisionSite = {
  id: number;
  key: string;
  holdout: number;
  couponParam: string;
  rulesVersion: number;
  cookieId: string | null;
};

export type DecisionState = {
  site: DecisionSite | null;
  /** The visitor's cookie ID as resolved (request, token or id_links); null when anonymous. */
  cookieId: string | null;
  visitor: typeof visitors.$inferSelect | null;
  customer: typeof customers.$inferSelect | null;
  /** Today's impressions per rule. */
  caps: Map<number, number>;
  assignments: AssignmentRow[];
  /** Rules this visitor converted on. */
  converted: Set<number>;
  product: typeof products.$inferSelect | null;
};

/** UTC day number: frequency caps count per visitor, rule and UTC day. */
export function dayOf(now: number): number {
  return Math.floor(now / 86_400_000);
}

export async function loadDecisionState(
  db: Db,
  siteKey: string,
  identity: Identity,
  now: number,
): Promise<DecisionState> {
  const siteId = sql`(select id from ${sites} where ${sites.key} = ${siteKey})`;
  const me = sql`coalesce(${identity.cookieId}, (select cookie_id from id_links where site_id = ${siteId} and partner_key = ${identity.partner?.key ?? null} and partner_user_id = ${identity.partner?.userId ?? null}))`;
  const myVisitor = sql`(select customer_id from ${visitors} where ${visitors.siteId} = ${siteId} and ${visitors.cookieId} = ${me})`;

  // visitor ⋈ customer as two single-table statements: drizzle maps a D1 batch's rows by column
  // name, and the two tables share names (id, site_id, ...).
  const [siteRows, visitorRows, customerRows, capRows, assignmentRows, conversionRows, productRows] = await db.batch([
    db
      .select({
        id: sites.id,
        key: sites.key,
        holdout: sites.holdout,
        couponParam: sites.couponParam,
        rulesVersion: sites.rulesVersion,
        cookieId: sql<string | null>`${me}`,
      })
      .from(sites)
      .where(eq(sites.key, siteKey)),
    db
      .select()
      .from(visitors)
      .where(and(eq(visitors.siteId, siteId), eq(visitors.cookieId, me)))
      .limit(1),
    db
      .select()
      .from(customers)
      .where(and(eq(customers.siteId, siteId), eq(customers.customerId, myVisitor)))
      .limit(1),
    db
      .select({ ruleId: capCounters.ruleId, count: capCounters.count })
      .from(capCounters)
      .where(and(eq(capCounters.siteId, siteId), eq(capCounters.cookieId, me), eq(capCounters.day, dayOf(now)))),
    db
      .select({
        id: coupons.id,
        pool_id: coupons.poolId,
        code: coupons.code,
        holder: coupons.holder,
        expires_at: coupons.expiresAt,
        redeemed_at: coupons.redeemedAt,
      })
      .from(coupons)
      .where(
        and(
          inArray(
            coupons.poolId,
            db.select({ id: couponPools.id }).from(couponPools).where(eq(couponPools.siteId, siteId)),
          ),
          sql`${coupons.holder} in ('v:' || ${me}, 'c:' || ${myVisitor})`,
        ),
      ),
    db
      .select({ ruleId: ruleConversions.ruleId })
      .from(ruleConversions)
      .where(and(eq(ruleConversions.siteId, siteId), eq(ruleConversions.cookieId, me))),
    // The product a creative shows: the last item put in the cart, else the most recently updated
    // product of the visitor's top interest category.
    db
      .select()
      .from(products)
      .where(
        and(
          eq(products.siteId, siteId),
          sql`${products.sku} = coalesce(
            (select json_extract(cart, '$[#-1].sku') from ${visitors} where ${visitors.siteId} = ${siteId} and ${visitors.cookieId} = ${me}),
            (select p2.sku from products p2 where p2.site_id = ${siteId} and p2.category = (
               select j.key from visitors v, json_each(v.interests) j
               where v.site_id = ${siteId} and v.cookie_id = ${me} order by j.value desc limit 1)
             order by p2.updated_at desc limit 1))`,
        ),
      )
      .limit(1),
  ]);

  const site = siteRows[0] ?? null;
  return {
    site,
    cookieId: site?.cookieId ?? null,
    visitor: visitorRows[0] ?? null,
    customer: customerRows[0] ?? null,
    caps: new Map(capRows.map((r) => [r.ruleId, r.count])),
    assignments: assignmentRows.filter((r): r is AssignmentRow => r.holder !== null),
    converted: new Set(conversionRows.map((r) => r.ruleId)),
    product: productRows[0] ?? null,
  };
}

/** A decision state without a visitor: what the fallback after a fault is rendered with. */
export function emptyState(): DecisionState {
  return {
    site: null,
    cookieId: null,
    visitor: null,
    customer: null,
    caps: new Map(),
    assignments: [],
    converted: new Set(),
    product: null,
  };
}

/** The site and the placement's fallback creative, read on their own (after a fault). */
export async function loadFallback(
  db: Db,
  siteKey: string,
  placement: string,
): Promise<{ site: DecisionSite; creative: CompiledCreative } | null> {
  const [row] = await db
    .select({
      site: {
        id: sites.id,
        key: sites.key,
        holdout: sites.holdout,
        couponParam: sites.couponParam,
        rulesVersion: sites.rulesVersion,
      },
      creative: creatives,
    })
    .from(sites)
    .innerJoin(
      placementFallbacks,
      and(eq(placementFallbacks.siteId, sites.id), eq(placementFallbacks.placement, placement)),
    )
    .innerJoin(creatives, eq(creatives.id, placementFallbacks.creativeId))
    .where(eq(sites.key, siteKey));
  return row ? { site: { ...row.site, cookieId: null }, creative: compileCreative(row.creative) } : null;
}
