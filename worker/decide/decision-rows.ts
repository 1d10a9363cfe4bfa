/**
 * Decision rows (docs/architecture.md, "Decision rows"): one row per visitor with everything a
 * banner decision reads — the visitor, its linked customer, the product to show, the coupon codes
 * of the visitor and its customer, the rules converted on and today's cap counts (both over every
 * cookie of the customer). `GET /b` reads it by its key and nothing else.
 *
 * The row is derived data with ONE definition: DERIVED below computes it from the sources, and
 * the same SQL serves three callers —
 *   - refreshStatements(): the writers of the sources append it to their own batch (same round
 *     trip, same transaction), naming the cookies and customers they touched;
 *   - rebuildDecisionRows(): the operator's rebuild of a whole site, in visitor-ID ranges;
 *   - rebuiltDecisionRow(): the row as the sources say it should be, for the property test.
 * A writer that forgets to refresh is what test/decide/decision-rows.property.test.ts catches.
 */
import { getTableColumns } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { AssignmentRow } from "../coupons";
import { type BoundStatement, type D1Like, toD1 } from "../db/raw";
import { customers, type decisionRows, products, visitors } from "../db/schema";
import type { Db } from "../env";
import { utcDayNumber } from "../lib/time";

/**
 * `json_object('id', v.id, …)`: a row of `table` as JSON in drizzle's field names, so that
 * JSON.parse gives drizzle's row type back (JSON columns nested, booleans as booleans).
 */
function rowJson(table: SQLiteTable, alias: string): string {
  const fields = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const ref = `${alias}.${toSnakeCase(key)}`;
    if (column.columnType === "SQLiteTextJson") return `'${key}', json(${ref})`;
    if (column.columnType === "SQLiteBoolean") return `'${key}', json(case when ${ref} then 'true' else 'false' end)`;
    return `'${key}', ${ref}`;
  });
  return `json_object(${fields.join(", ")})`;
}

/**
 * The holders row `r` (a visitor or a decision row: both carry cookie_id and customer_id) speaks
 * for: its cookie and, when linked, its customer. Codes and caps are kept per holder on every shard
 * the holder's cookies are on (docs/architecture.md, "Shards"), so a row needs nothing beyond its
 * own shard, and every device of a customer sees the customer's codes, caps and conversions.
 */
const holdersOf = (r: string) => `('v:' || ${r}.cookie_id, 'c:' || ${r}.customer_id)`;

/** The coupon codes of row `r`'s holders, ordered: the `codes` column. */
const codesOf = (
  r: string,
) => `(select json_group_array(json_array(coupon_id, pool_id, code, holder, expires_at, redeemed_at)) from (
    select coupon_id, pool_id, code, holder, expires_at, redeemed_at from person_codes
    where site_id = ${r}.site_id and holder in ${holdersOf(r)} order by coupon_id))`;

/** The rules row `r`'s person converted on — a code of the rule they hold was redeemed: `converted`. */
const convertedOf = (r: string) => `(select json_group_array(rule_id) from (
    select distinct rule_id from person_codes
    where site_id = ${r}.site_id and holder in ${holdersOf(r)} and redeemed_at is not null and rule_id is not null
    order by rule_id))`;

/** Today's (?2) impressions of capped rules of row `r`'s holders: the `caps` column. */
const capsOf = (r: string) => `(select coalesce(json_group_object(rule_id, n), '{}') from (
    select rule_id, sum(count) as n from person_caps
    where site_id = ${r}.site_id and holder in ${holdersOf(r)} and day = ?2
    group by rule_id order by rule_id))`;

/** The visitor's top interest category: views and cart adds, all time; ties by name. */
const TOP_CATEGORY = "(select j.key from json_each(v.interests) j order by j.value desc, j.key limit 1)";

/**
 * The best available item-to-item match for what the visitor viewed or carted (visitors.recent_skus,
 * product_affinities recomputed by the cron: worker/catalogue/affinities.ts) — the products most
 * often viewed or carted by the people who did the same, summed over the visitor's recent
 * products, never one of them, never out of stock; ties by SKU.
 */
const BEST_MATCH = `(select a.other_sku from json_each(v.recent_skus) r
    join product_affinities a on a.site_id = v.site_id and a.sku = r.value
    join products pm on pm.site_id = v.site_id and pm.sku = a.other_sku and pm.available = 1
    where a.other_sku not in (select value from json_each(v.recent_skus))
    group by a.other_sku order by sum(a.score) desc, a.other_sku limit 1)`;

/*
 * The derived columns of one visitor `v` (with its customer `c` and product `p` joined below).
 * ?1 is the site ID, ?2 today's UTC day number. Arrays are built from ordered subqueries, so the
 * same sources always give the same text.
 */
const DERIVED = `v.site_id, v.cookie_id, v.customer_id,
  ${rowJson(visitors, "v")} as visitor,
  case when c.id is null then null else ${rowJson(customers, "c")} end as customer,
  case when p.id is null then null else ${rowJson(products, "p")} end as product,
  -- The SKU a creative wants to show, in the catalogue or not yet: a catalogue change to it refreshes the row.
  coalesce(json_extract(v.cart, '$[#-1].sku'), p.sku) as product_sku,
  ${TOP_CATEGORY} as top_category,
  ${codesOf("v")} as codes,
  ${convertedOf("v")} as converted,
  ?2 as caps_day,
  ${capsOf("v")} as caps
  from visitors v
  left join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id
  -- The product a creative shows: the last item put in the cart, else the best item-to-item match
  -- for what the visitor viewed, else the most recently updated available product of the top
  -- interest category (the index products_site_category_idx gives it without sorting the category:
  -- no tie-breaker beyond updated_at). Only the catalogue writes products.
  left join products p on p.site_id = v.site_id and p.available = 1 and p.sku = coalesce(
    json_extract(v.cart, '$[#-1].sku'),
    ${BEST_MATCH},
    (select p2.sku from products p2 where p2.site_id = v.site_id and p2.available = 1
       and p2.category = ${TOP_CATEGORY} order by p2.updated_at desc limit 1))`;

const COLUMNS =
  "site_id, cookie_id, customer_id, visitor, customer, product, product_sku, top_category, codes, converted, caps_day, caps";
const UPSERT = `insert into decision_rows (${COLUMNS}) select ${DERIVED}`;
const ON_CONFLICT = `on conflict (site_id, cookie_id) do update set ${COLUMNS.split(", ")
  .slice(2)
  .map((c) => `${c} = excluded.${c}`)
  .join(", ")}`;

/** Who a write touched: cookie IDs, and CRM customers (all of whose cookies are refreshed). */
export type Touched = { cookies?: readonly string[]; customers?: readonly string[] };

/**
 * The statements that bring the decision rows of the touched people up to date: an upsert of every
 * visitor among them (or linked to a touched customer, or sharing a customer with a touched
 * cookie — caps, codes and conversions are customer-wide), and a delete of rows whose visitor is
 * gone (erasure, retention). Append them to the batch that wrote the sources.
 */
export function refreshStatements(siteId: number, touched: Touched, now: number): BoundStatement[] {
  const cookies = JSON.stringify(touched.cookies ?? []);
  const customerIds = JSON.stringify(touched.customers ?? []);
  if (cookies === "[]" && customerIds === "[]") return [];
  return refreshBy(
    siteId,
    "(select value from json_each(?3))",
    "(select value from json_each(?4))",
    [cookies, customerIds],
    now,
  );
}

/**
 * What a claim changes: only the `codes` of the claimer's decision row and of its customer's
 * other cookies, computed by the same fragment the whole row is (codesOf). An update of one
 * column costs a fifth of the whole row's refresh in SQL and writes no index entry, and the
 * property test holds it to the rebuilt row like every other writer.
 */
export function codesRefreshStatements(siteId: number, touched: Touched, now: number): BoundStatement[] {
  return columnRefresh(
    siteId,
    touched,
    `codes = ${codesOf("decision_rows")}, converted = ${convertedOf("decision_rows")}`,
    now,
  );
}

/** What counted impressions change: today's `caps` of the person's decision rows (capsOf). */
export function capsRefreshStatements(siteId: number, touched: Touched, now: number): BoundStatement[] {
  return columnRefresh(siteId, touched, `caps_day = ?2, caps = ${capsOf("decision_rows")}`, now);
}

/**
 * `set` on the decision rows of the touched cookies, of the touched customers and of the other
 * cookies of the touched cookies' customers: the people whose customer-wide columns one write
 * changes. Each part searches its own index (decision_rows carries the customer ID).
 */
function columnRefresh(siteId: number, touched: Touched, set: string, now: number): BoundStatement[] {
  const cookies = JSON.stringify(touched.cookies ?? []);
  const customerIds = JSON.stringify(touched.customers ?? []);
  if (cookies === "[]" && customerIds === "[]") return [];
  const named = "(select value from json_each(?3))";
  return [
    {
      text: `update decision_rows set ${set} where rowid in (
          select rowid from decision_rows where site_id = ?1 and cookie_id in ${named}
          union select rowid from decision_rows where site_id = ?1 and customer_id in (
            select value from json_each(?4)
            union select customer_id from decision_rows where site_id = ?1 and cookie_id in ${named}))`,
      params: [siteId, utcDayNumber(now), cookies, customerIds],
    },
  ];
}

/** The other cookies of the customer `cookieId` is linked to (before that cookie is erased). */
export function siblingRefreshStatements(siteId: number, cookieId: string, now: number): BoundStatement[] {
  const siblings = `(select cookie_id from visitors where site_id = ?1 and cookie_id <> ?3 and customer_id =
    (select customer_id from visitors where site_id = ?1 and cookie_id = ?3))`;
  return refreshBy(siteId, siblings, "(select null where ?3 is null)", [cookieId], now);
}

/** `cookies` and `customers`: SQL sets over ?3… (`params`); ?1 is the site, ?2 today's day number. */
function refreshBy(
  siteId: number,
  cookies: string,
  customerIds: string,
  params: unknown[],
  now: number,
): BoundStatement[] {
  const all = [siteId, utcDayNumber(now), ...params];
  // No `customer_id is not null` here: `in` never matches a null anyway, and that term made SQLite
  // search the customer index for every linked visitor of the site instead of the named cookies.
  const theirCustomers = `(${customerIds.slice(1, -1)} union
    select customer_id from visitors where site_id = ?1 and cookie_id in ${cookies})`;
  return [
    {
      // By row ID, so that each half searches its own index (an OR of the two would scan the site).
      text: `${UPSERT} where v.id in (select id from visitors where site_id = ?1 and cookie_id in ${cookies}
          union select id from visitors where site_id = ?1 and customer_id in ${theirCustomers}) ${ON_CONFLICT}`,
      params: all,
    },
    {
      // `?2 = ?2`: D1 wants exactly as many values as the highest parameter number, and the upsert
      // above shares this statement's parameters (the day is ?2).
      text: `delete from decision_rows where ?2 = ?2 and rowid in (
          select rowid from decision_rows where site_id = ?1 and cookie_id in ${cookies}
          union select rowid from decision_rows where site_id = ?1 and customer_id in ${customerIds})
        and not exists (select 1 from visitors where visitors.site_id = ?1 and visitors.cookie_id = decision_rows.cookie_id)`,
      params: all,
    },
  ];
}

/**
 * After a catalogue change to `skus` (upserted or deleted): the rows showing one of them, the
 * rows whose top interest category is one of theirs now (a product there may now be the newest),
 * and the rows of visitors whose recent products have one of them as a match (it may now be the
 * best available one). Runs after the change, in its batch; a scan of the site's rows, as rare as
 * catalogue imports.
 */
export function catalogueRefreshStatement(siteId: number, skus: readonly string[], now: number): BoundStatement {
  const changed = "(select value from json_each(?3))";
  return {
    text: `${UPSERT} where v.site_id = ?1 and v.cookie_id in (
        select cookie_id from decision_rows where site_id = ?1 and (product_sku in ${changed}
          or top_category in (select category from products where site_id = ?1 and sku in ${changed}))
        union
        select v3.cookie_id from visitors v3, json_each(v3.recent_skus) r3
          join product_affinities a3 on a3.site_id = ?1 and a3.sku = r3.value
        where v3.site_id = ?1 and a3.other_sku in ${changed})
      ${ON_CONFLICT}`,
    params: [siteId, utcDayNumber(now), JSON.stringify(skus)],
  };
}

/** Runs the refresh on its own (for writers whose batch is already sent). */
export async function refreshDecisionRows(db: Db | D1Like, siteId: number, touched: Touched, now: number) {
  const statements = refreshStatements(siteId, touched, now);
  if (statements.length === 0) return;
  const d1 = toD1(db);
  await d1.batch(statements.map((s) => d1.prepare(s.text).bind(...s.params)));
}

/** How many visitors one rebuild step refreshes: one statement, well inside D1's time limits. */
const REBUILD_STEP = 500;

/**
 * Rebuilds the decision rows of visitors with `id > after`, at most `limit` of them, in one
 * statement; answers the last visitor ID done (the cursor to resume from) or null when no visitor
 * is left. The rebuild writes the same rows the writers maintain, so it can run at any time.
 */
export async function rebuildDecisionRows(
  db: Db | D1Like,
  siteId: number,
  after: number,
  now: number,
  limit = REBUILD_STEP,
): Promise<{ last: number; rows: number } | null> {
  const d1 = toD1(db);
  const range = await d1
    .prepare(
      `select max(id) as last, count(*) as rows from (
        select id from visitors where site_id = ?1 and id > ?2 order by id limit ?3)`,
    )
    .bind(siteId, after, limit)
    .first<{ last: number | null; rows: number }>();
  if (!range || range.last === null) return null;
  const step = rangeRefreshStatement(siteId, after, range.last, now);
  await d1
    .prepare(step.text)
    .bind(...step.params)
    .run();
  return { last: range.last, rows: range.rows };
}

/** Refreshes the rows of the site's visitors with `after < id <= last` (rebuild steps, look-alike score pages). */
export function rangeRefreshStatement(siteId: number, after: number, last: number, now: number): BoundStatement {
  return {
    text: `${UPSERT} where v.site_id = ?1 and v.id > ?3 and v.id <= ?4 ${ON_CONFLICT}`,
    params: [siteId, utcDayNumber(now), after, last],
  };
}

/** The stored decision row as D1 returns it. */
export type StoredDecisionRow = Omit<typeof decisionRows.$inferSelect, "siteId" | "cookieId"> & { cookieId: string };

const SELECT_ROW = `select cookie_id as cookieId, customer_id as customerId, visitor, customer, product,
  product_sku as productSku, top_category as topCategory, codes, converted, caps_day as capsDay, caps
  from decision_rows`;

/**
 * The decision's one read (docs/architecture.md, "Decision path" step 2): the row of the cookie
 * ID, or of the cookie a partner user ID is synced to (id_links, resolved in the same statement).
 */
export async function readDecisionRow(
  db: Db | D1Like,
  siteId: number,
  who: { cookieId: string } | { partner: string; userId: string },
): Promise<StoredDecisionRow | null> {
  const d1 = toD1(db);
  if ("cookieId" in who) {
    return d1.prepare(`${SELECT_ROW} where site_id = ?1 and cookie_id = ?2`).bind(siteId, who.cookieId).first();
  }
  return d1
    .prepare(
      `${SELECT_ROW} where site_id = ?1 and cookie_id = (
        select cookie_id from id_links where site_id = ?1 and partner_key = ?2 and partner_user_id = ?3)`,
    )
    .bind(siteId, who.partner, who.userId)
    .first();
}

/**
 * The row the sources say the cookie should have now (null without a visitor): the rebuild's answer.
 * @internal Exported for tests; the Worker itself does not import it.
 */
export async function rebuiltDecisionRow(
  db: Db | D1Like,
  siteId: number,
  cookieId: string,
  now: number,
): Promise<StoredDecisionRow | null> {
  return toD1(db)
    .prepare(
      `select cookie_id as cookieId, customer_id as customerId, visitor, customer, product, product_sku as productSku,
        top_category as topCategory, codes, converted, caps_day as capsDay, caps
      from (select ${DERIVED} where v.site_id = ?1 and v.cookie_id = ?3)`,
    )
    .bind(siteId, utcDayNumber(now), cookieId)
    .first();
}

/** What the decision uses of a row, parsed once. */
export type ParsedDecisionRow = {
  cookieId: string;
  visitor: typeof visitors.$inferSelect;
  customer: typeof customers.$inferSelect | null;
  product: typeof products.$inferSelect | null;
  assignments: AssignmentRow[];
  converted: Set<number>;
  /** Today's impressions per rule (empty when the row counted another day). */
  caps: Map<number, number>;
};

type CodeTuple = [number, number, string, string, number | null, number | null];

export function parseDecisionRow(row: StoredDecisionRow, now: number): ParsedDecisionRow {
  const caps = new Map<number, number>();
  if (row.capsDay === utcDayNumber(now)) {
    for (const [rule, n] of Object.entries(JSON.parse(row.caps) as Record<string, number>)) caps.set(Number(rule), n);
  }
  return {
    cookieId: row.cookieId,
    visitor: JSON.parse(row.visitor),
    customer: row.customer === null ? null : JSON.parse(row.customer),
    product: row.product === null ? null : JSON.parse(row.product),
    assignments: (JSON.parse(row.codes) as CodeTuple[]).map(([id, pool_id, code, holder, expires_at, redeemed_at]) => ({
      id,
      pool_id,
      code,
      holder,
      expires_at,
      redeemed_at,
    })),
    converted: new Set(JSON.parse(row.converted) as number[]),
    caps,
  };
}
