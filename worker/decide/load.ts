/**
 * Everything one decision needs from D1, in ONE round trip of ONE statement: it resolves the site
 * by key and the visitor's cookie ID in SQL — the cookie ID comes from the request, or from
 * id_links for a partner user ID — so that nothing has to be read before it, and returns one row:
 *   the site (holdout share, coupon parameter, rules version) with today's cap counters, the
 *   coupon assignments of the visitor and its customer and the rules the visitor has converted on
 *   (stop after conversion) — caps and conversions over all cookies of the visitor's customer —
 *   folded in as JSON arrays; and, joined by their unique keys, the visitor, its customer and the
 *   product the creative may show.
 */
import { and, eq, getTableColumns } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { AssignmentRow } from "../coupons";
import { type CompiledCreative, compileCreative } from "../creatives/compile";
import { toD1 } from "../db/raw";
import { creatives, customers, placementFallbacks, products, sites, visitors } from "../db/schema";
import type { Db } from "../env";
import { utcDayNumber } from "../lib/time";

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
function dayOf(now: number): number {
  return utcDayNumber(now);
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
/** `v.id as v_id, v.site_id as v_site_id, …`: a joined table's columns under a prefix of their own. */
function prefixedColumns(table: SQLiteTable, alias: string): string {
  return Object.keys(getTableColumns(table))
    .map((key) => `${alias}.${toSnakeCase(key)} as ${alias}_${toSnakeCase(key)}`)
    .join(", ");
}

/*
 * One statement, because each further statement of a batch costs about as much workerd CPU as a
 * keyed read (bench/RESULTS.md, "Decision path"). The visitor, customer and product are LEFT
 * JOINs on unique indexes (visitors_site_cookie_idx, customers_site_customer_idx,
 * products_site_sku_idx): at most one row each, and the site row always comes back.
 */
const DECISION_SQL = `select s.id, s.key, s.holdout, s.coupon_param, s.rules_version, s.consent_mode, ${ME} as cookie_id,
      (select json_group_array(json_array(rule_id, count)) from cap_counters
        where site_id = ${SITE} and cookie_id = ${ME} and day = ?5) as caps,
      (select json_group_array(json_array(rule_id, count)) from cap_counters
        where site_id = ${SITE} and cookie_id in ${MY_OTHER_COOKIES} and day = ?5) as customer_caps,
      (select json_group_array(json_array(id, pool_id, code, holder, expires_at, redeemed_at)) from coupons
        where pool_id in (select id from coupon_pools where site_id = ${SITE})
          and holder in ('v:' || ${ME}, 'c:' || ${MY_CUSTOMER})) as assignments,
      (select json_group_array(rule_id) from rule_conversions where site_id = ${SITE} and cookie_id = ${ME}) as conversions,
      (select json_group_array(rule_id) from rule_conversions
        where site_id = ${SITE} and cookie_id in ${MY_OTHER_COOKIES}) as customer_conversions,
      ${prefixedColumns(visitors, "v")}, ${prefixedColumns(customers, "c")}, ${prefixedColumns(products, "p")}
    from sites s
    left join visitors v on v.site_id = s.id and v.cookie_id = ${ME}
    left join customers c on c.site_id = s.id and c.customer_id = v.customer_id
    -- The product a creative shows: the last item put in the cart, else the most recently updated
    -- product of the visitor's top interest category. Only the catalogue writes products
    -- (worker/catalogue/); an out-of-stock one is not shown.
    left join products p on p.site_id = s.id and p.available = 1 and p.sku = coalesce(
      json_extract(v.cart, '$[#-1].sku'),
      (select p2.sku from products p2 where p2.site_id = s.id and p2.available = 1 and p2.category = (
         select j.key from json_each(v.interests) j order by j.value desc limit 1)
       order by p2.updated_at desc limit 1))
    where s.key = ?1`;

/** Maps the `alias_`-prefixed columns of a raw D1 row to drizzle's row type of `table` (JSON, booleans). */
function rowMapper<T extends SQLiteTable>(table: T, alias: string) {
  const columns = Object.entries(getTableColumns(table)).map(
    ([key, column]) => [key, `${alias}_${toSnakeCase(key)}`, column] as const,
  );
  const [, idName] = columns[0];
  return (row: Record<string, unknown>): T["$inferSelect"] | null => {
    // The join found no row: its columns, the first (id, never null in a row) too, are null.
    if (row[idName] === null || row[idName] === undefined) return null;
    const out: Record<string, unknown> = {};
    for (const [key, name, column] of columns) {
      const value = row[name];
      out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return out as T["$inferSelect"];
  };
}
const toVisitor = rowMapper(visitors, "v");
const toCustomer = rowMapper(customers, "c");
const toProduct = rowMapper(products, "p");

type SiteRow = {
  id: number;
  key: string;
  holdout: number;
  coupon_param: string;
  rules_version: number;
  consent_mode: "required" | "implied";
  cookie_id: string | null;
  /** JSON arrays, see DECISION_SQL. */
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
  const row = await d1
    .prepare(DECISION_SQL)
    .bind(siteKey, identity.cookieId, identity.partner?.key ?? null, identity.partner?.userId ?? null, dayOf(now))
    .first<SiteRow & Record<string, unknown>>();
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
    visitor: toVisitor(row),
    customer: toCustomer(row),
    caps,
    assignments: assignments.filter((r): r is AssignmentRow => r.holder !== null),
    converted: new Set([...JSON.parse(row.conversions), ...JSON.parse(row.customer_conversions)] as number[]),
    product: toProduct(row),
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
