/**
 * Everything one decision needs from D1, in ONE round trip: a single `db.batch([...])` (the D1
 * batch API) of statements that each resolve the site by key and the visitor's cookie ID in SQL —
 * the cookie ID comes from the request, or from id_links for a partner user ID — so that nothing
 * has to be read before the batch:
 *   the site (holdout share, coupon parameter, rules version) with today's cap counters, the
 *   coupon assignments of the visitor and its customer and the rules the visitor has converted on
 *   (stop after conversion) — caps and conversions over all cookies of the visitor's customer; the visitor; its customer; and the product the creative may show.
 */
import { and, eq, getTableColumns } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { AssignmentRow } from "../coupons";
import { type CompiledCreative, compileCreative } from "../creatives/compile";
import { toD1 } from "../db/raw";
import { creatives, customers, placementFallbacks, products, sites, visitors } from "../db/schema";
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
  consentMode: "required" | "implied";
};

export type DecisionState = {
  site: DecisionSite | null;
  /** The visitor's cookie ID as resolved (request, token or id_links); null when anonymous. */
  cookieId: string | null;
  visitor: typeof visitors.$inferSelect | null;
  customer: typeof customers.$inferSelect | null;
  /** Today's impressions per rule, over every cookie of the visitor's customer. */
  caps: Map<number, number>;
  assignments: AssignmentRow[];
  /** Rules this visitor (or any cookie of its customer) converted on. */
  converted: Set<number>;
  product: typeof products.$inferSelect | null;
};

/** UTC day number: frequency caps count per visitor, rule and UTC day. */
export function dayOf(now: number): number {
  return Math.floor(now / 86_400_000);
}

/*
 * The batch's SQL is written out once, here, and sent as raw D1 statements: building the same seven
 * statements with drizzle's query builder on every banner cost about as much workerd CPU as the
 * rest of the decision together (bench/RESULTS.md, "Decision path"). Parameters: ?1 the site key,
 * ?2 the cookie ID (or null), ?3/?4 the partner key and user ID (or null), ?5 today's day number.
 */
const SITE = "(select id from sites where key = ?1)";
const ME = `coalesce(?2, (select cookie_id from id_links where site_id = ${SITE} and partner_key = ?3 and partner_user_id = ?4))`;
const MY_CUSTOMER = `(select customer_id from visitors where site_id = ${SITE} and cookie_id = ${ME})`;
// One customer is one person: caps and stop-after-conversion count the visitor's other cookies too,
// those linked to the same customer (an index range on visitors_site_customer_idx; none when not
// linked). Separate columns, merged in JS: a GROUP BY or a constant row here would cost a sort or
// a scan on every banner.
const MY_OTHER_COOKIES = `(select cookie_id from visitors where site_id = ${SITE} and customer_id = ${MY_CUSTOMER} and cookie_id <> ${ME})`;
const DECISION_SQL = {
  // The site with the visitor's small per-cookie sets folded in as JSON arrays — today's cap
  // counters, coupon assignments (of the cookie and of its customer), converted rules — because
  // each further statement of a batch costs about as much workerd CPU as a keyed read
  // (bench/RESULTS.md); the site row always exists, a visitor row need not.
  site: `select id, key, holdout, coupon_param, rules_version, consent_mode, ${ME} as cookie_id,
      (select json_group_array(json_array(rule_id, count)) from cap_counters
        where site_id = ${SITE} and cookie_id = ${ME} and day = ?5) as caps,
      (select json_group_array(json_array(rule_id, count)) from cap_counters
        where site_id = ${SITE} and cookie_id in ${MY_OTHER_COOKIES} and day = ?5) as customer_caps,
      (select json_group_array(json_array(id, pool_id, code, holder, expires_at, redeemed_at)) from coupons
        where pool_id in (select id from coupon_pools where site_id = ${SITE})
          and holder in ('v:' || ${ME}, 'c:' || ${MY_CUSTOMER})) as assignments,
      (select json_group_array(rule_id) from rule_conversions where site_id = ${SITE} and cookie_id = ${ME}) as conversions,
      (select json_group_array(rule_id) from rule_conversions
        where site_id = ${SITE} and cookie_id in ${MY_OTHER_COOKIES}) as customer_conversions
    from sites where key = ?1`,
  // visitor and customer as two single-table statements: each row maps by its own column names.
  visitor: `select * from visitors where site_id = ${SITE} and cookie_id = ${ME} limit 1`,
  customer: `select * from customers where site_id = ${SITE} and customer_id = ${MY_CUSTOMER} limit 1`,
  // The product a creative shows: the last item put in the cart, else the most recently updated
  // product of the visitor's top interest category.
  // Only the catalogue writes products (worker/catalogue/); an out-of-stock one is not shown.
  product: `select * from products where site_id = ${SITE} and available = 1 and sku = coalesce(
      (select json_extract(cart, '$[#-1].sku') from visitors where site_id = ${SITE} and cookie_id = ${ME}),
      (select p2.sku from products p2 where p2.site_id = ${SITE} and p2.available = 1 and p2.category = (
         select j.key from visitors v, json_each(v.interests) j
         where v.site_id = ${SITE} and v.cookie_id = ${ME} order by j.value desc limit 1)
       order by p2.updated_at desc limit 1))
    limit 1`,
} as const;

/** Maps a raw D1 row of `table` to drizzle's row type: snake_case names, JSON and boolean columns. */
function rowMapper<T extends SQLiteTable>(table: T) {
  const columns = Object.entries(getTableColumns(table)).map(
    ([key, column]) => [key, toSnakeCase(key), column] as const,
  );
  return (row: Record<string, unknown> | undefined): T["$inferSelect"] | null => {
    if (!row) return null;
    const out: Record<string, unknown> = {};
    for (const [key, name, column] of columns) {
      const value = row[name];
      out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return out as T["$inferSelect"];
  };
}
const toVisitor = rowMapper(visitors);
const toCustomer = rowMapper(customers);
const toProduct = rowMapper(products);

type SiteRow = {
  id: number;
  key: string;
  holdout: number;
  coupon_param: string;
  rules_version: number;
  consent_mode: "required" | "implied";
  cookie_id: string | null;
  /** JSON arrays, see DECISION_SQL.site. */
  caps: string;
  customer_caps: string;
  assignments: string;
  conversions: string;
  customer_conversions: string;
};
type AssignmentTuple = [number, number, string, string | null, number | null, number | null];

export async function loadDecisionState(
  db: Db,
  siteKey: string,
  identity: Identity,
  now: number,
): Promise<DecisionState> {
  const d1 = toD1(db);
  const ids = [siteKey, identity.cookieId, identity.partner?.key ?? null, identity.partner?.userId ?? null];
  const [siteRows, visitorRows, customerRows, productRows] = await d1.batch([
    d1.prepare(DECISION_SQL.site).bind(...ids, dayOf(now)),
    d1.prepare(DECISION_SQL.visitor).bind(...ids),
    d1.prepare(DECISION_SQL.customer).bind(...ids),
    d1.prepare(DECISION_SQL.product).bind(...ids),
  ]);
  const row = (siteRows.results as SiteRow[])[0];
  if (!row) return emptyState();
  const caps = new Map<number, number>();
  for (const [ruleId, count] of [...JSON.parse(row.caps), ...JSON.parse(row.customer_caps)] as [number, number][]) {
    caps.set(ruleId, (caps.get(ruleId) ?? 0) + count);
  }
  const assignments = (JSON.parse(row.assignments) as AssignmentTuple[]).map(
    ([id, pool_id, code, holder, expires_at, redeemed_at]) => ({ id, pool_id, code, holder, expires_at, redeemed_at }),
  );
  const site: DecisionSite = {
    id: row.id,
    key: row.key,
    holdout: row.holdout,
    couponParam: row.coupon_param,
    rulesVersion: row.rules_version,
    consentMode: row.consent_mode,
  };
  return {
    site,
    cookieId: row.cookie_id,
    visitor: toVisitor(visitorRows.results[0] as Record<string, unknown> | undefined),
    customer: toCustomer(customerRows.results[0] as Record<string, unknown> | undefined),
    caps,
    assignments: assignments.filter((r): r is AssignmentRow => r.holder !== null),
    converted: new Set([...JSON.parse(row.conversions), ...JSON.parse(row.customer_conversions)] as number[]),
    product: toProduct(productRows.results[0] as Record<string, unknown> | undefined),
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
        consentMode: sites.consentMode,
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
  return row ? { site: row.site, creative: compileCreative(row.creative) } : null;
}
