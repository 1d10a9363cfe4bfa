/**
 * Applies one validated event batch to a visitor's profile (DESIGN.md, "Budgets": a batch of 20
 * events costs one D1 round trip). The batch is folded into per-batch deltas here, and every
 * read-modify-write of the profile (visit counting, JSON counters, the cart merge, the linked
 * customer's orders) is done inside SQL, so that all writes go out as one `db.batch`: one round
 * trip, one transaction — a batch is applied completely or not at all.
 *
 * Clock: `now` (the time the batch was received) decides visits, days and purchase times, not
 * the client's `ts`, which a browser can get wrong; the queue path passes the receive time too,
 * so both paths produce the same profile.
 */
import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { redeemPurchaseCoupons } from "../coupons/purchase";
import type { Db, Site } from "../env";
import { utcDayKey } from "../lib/time";
import type { TagEvent } from "./event-schema";

/** A new visit starts after this long without events. */
export const VISIT_GAP_MS = 30 * 60 * 1000;
/** Per-day interest and visit counts are kept this long (segment windows are shorter). */
export const DAY_WINDOW = 90;

export type RejectedRow = { reason: string; payload: string | null; siteKey?: string | null };

type ProductDelta = { sku: string; name?: string; category?: string; price?: number };
type CartDelta = { sku: string; category?: string; price?: number; qty: number };

/** Folds the batch into the deltas the SQL statements apply. */
export function summarizeBatch(events: TagEvent[]) {
  let pageviews = 0;
  let customerId: string | null = null;
  let consent: "granted" | "denied" | null = null;
  let purchases = 0;
  let revenue = 0;
  const couponCodes: string[] = [];
  let cartCleared = false;
  let cartTouched = false;
  const interests: Record<string, number> = {};
  const cart = new Map<string, CartDelta>();
  const products = new Map<string, ProductDelta>();

  const remember = (p: ProductDelta) => {
    const known = products.get(p.sku);
    products.set(p.sku, {
      sku: p.sku,
      name: p.name ?? known?.name,
      category: p.category ?? known?.category,
      price: p.price ?? known?.price,
    });
  };

  for (const event of events) {
    switch (event.type) {
      case "page":
        pageviews += 1;
        break;
      case "view":
        remember(event.props);
        if (event.props.category) interests[event.props.category] = (interests[event.props.category] ?? 0) + 1;
        break;
      case "cart": {
        const p = event.props;
        remember(p);
        cartTouched = true;
        if (p.action === "add" && p.category) interests[p.category] = (interests[p.category] ?? 0) + 1;
        const known = cart.get(p.sku);
        const signed = p.action === "add" ? p.qty : -p.qty;
        cart.set(p.sku, {
          sku: p.sku,
          category: p.category ?? known?.category,
          price: p.price ?? known?.price,
          qty: (known?.qty ?? 0) + signed,
        });
        break;
      }
      case "purchase":
        // A purchase empties the cart: only cart changes after it count.
        purchases += 1;
        revenue += event.props.value;
        if (event.props.coupon) couponCodes.push(event.props.coupon);
        cartCleared = true;
        cartTouched = true;
        cart.clear();
        break;
      case "identify":
        customerId = event.props.customer;
        break;
      case "consent":
        consent = event.props.granted ? "granted" : "denied";
        break;
      case "event":
        break;
    }
  }
  return {
    pageviews,
    customerId,
    consent,
    purchases,
    revenue,
    couponCodes,
    cartCleared,
    cartTouched,
    interests,
    cart: [...cart.values()],
    products: [...products.values()],
  };
}

/**
 * Applies `events` (already validated) for the visitor `cookieId` and writes `rejected` beside
 * them, all in one D1 round trip.
 */
export async function applyEventBatch(
  db: Db,
  site: Pick<Site, "id">,
  cookieId: string,
  events: TagEvent[],
  now: number,
  rejected: RejectedRow[] = [],
): Promise<void> {
  const statements = eventBatchStatements(site.id, cookieId, events, now, rejected);
  if (statements.length === 0) return;
  await redeemPurchaseCoupons(db, site.id, cookieId, events, now);
  await runBatch(db, statements);
}

/** The writes of one batch (profile, events, rejections), for applyEventBatch or a larger batch. */
export function eventBatchStatements(
  siteId: number,
  cookieId: string,
  events: TagEvent[],
  now: number,
  rejected: RejectedRow[] = [],
): SQL[] {
  const statements: SQL[] = [];
  if (events.length > 0) statements.push(...profileStatements(siteId, cookieId, events, now));
  if (rejected.length > 0) statements.push(rejectedStatement(siteId, "collect", rejected, now));
  return statements;
}

const dialect = new SQLiteAsyncDialect();

/**
 * One round trip for all statements (the ingest budget), run by D1 as one transaction. Raw D1
 * prepared statements: drizzle's own batch takes only its query builders, not `sql` statements.
 */
export async function runBatch(db: Db, statements: SQL[]): Promise<void> {
  const d1 = db.$client;
  await d1.batch(
    statements.map((statement) => {
      const query = dialect.sqlToQuery(statement);
      return d1.prepare(query.sql).bind(...query.params);
    }),
  );
}

function profileStatements(siteId: number, cookieId: string, events: TagEvent[], now: number): SQL[] {
  const s = summarizeBatch(events);
  const day = utcDayKey(now);
  const cutoff = utcDayKey(now - (DAY_WINDOW - 1) * 86_400_000);
  const interests = JSON.stringify(s.interests);
  const freshInterestDays = JSON.stringify(
    Object.fromEntries(Object.entries(s.interests).map(([category, n]) => [category, { [day]: n }])),
  );
  const purchaseAt = s.purchases > 0 ? now : null;
  const statements: SQL[] = [];

  // The visitor: created on its first batch, otherwise updated from its own old values (every
  // SET expression of an upsert reads the row as it was before this statement).
  statements.push(sql`
    insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits, pageviews,
      interests, interest_days, visit_days, last_purchase_at, consent)
    values (${siteId}, ${cookieId}, ${s.customerId}, ${now}, ${now}, 1, ${s.pageviews},
      ${interests}, ${freshInterestDays}, json_object(${day}, 1), ${purchaseAt}, ${s.consent})
    on conflict (site_id, cookie_id) do update set
      customer_id = coalesce(excluded.customer_id, visitors.customer_id),
      last_seen_at = max(visitors.last_seen_at, excluded.last_seen_at),
      visits = visitors.visits + (excluded.last_seen_at - visitors.last_seen_at > ${VISIT_GAP_MS}),
      visit_days = (
        select json_group_object(d, n) from (
          select d, sum(n) as n from (
            select key as d, value as n from json_each(visitors.visit_days) where key >= ${cutoff}
            union all
            select ${day}, 1 where excluded.last_seen_at - visitors.last_seen_at > ${VISIT_GAP_MS}
          ) group by d
        )
      ),
      pageviews = visitors.pageviews + excluded.pageviews,
      interests = (
        select json_group_object(k, n) from (
          select k, sum(n) as n from (
            select key as k, value as n from json_each(visitors.interests)
            union all
            select key, value from json_each(${interests})
          ) group by k
        )
      ),
      interest_days = (
        select json_group_object(cat, json(days)) from (
          select cat, json_group_object(d, n) as days from (
            select cat, d, sum(n) as n from (
              select c.key as cat, e.key as d, e.value as n
                from json_each(visitors.interest_days) as c, json_each(c.value) as e where e.key >= ${cutoff}
              union all
              select key, ${day}, value from json_each(${interests})
            ) group by cat, d
          ) group by cat
        )
      ),
      last_purchase_at = coalesce(excluded.last_purchase_at, visitors.last_purchase_at),
      consent = coalesce(excluded.consent, visitors.consent)
  `);

  if (s.cartTouched) {
    // Existing items (unless a purchase emptied the cart) merged with this batch's net changes
    // per SKU; the newest category and price win; json_patch drops null members.
    statements.push(sql`
      update visitors set cart_updated_at = ${now}, cart = (
        select json_group_array(json_patch('{}', json_object('sku', sku, 'category', category, 'price', price, 'qty', qty)))
        from (
          select sku,
            coalesce(max(case when src = 1 then category end), max(category)) as category,
            coalesce(max(case when src = 1 then price end), max(price)) as price,
            sum(qty) as qty, min(pos) as pos
          from (
            select json_extract(value, '$.sku') as sku, json_extract(value, '$.category') as category,
              json_extract(value, '$.price') as price, json_extract(value, '$.qty') as qty, 0 as src, key as pos
              from json_each(visitors.cart) where ${s.cartCleared ? 0 : 1}
            union all
            select json_extract(value, '$.sku'), json_extract(value, '$.category'), json_extract(value, '$.price'),
              json_extract(value, '$.qty'), 1, 1000 + key
              from json_each(${JSON.stringify(s.cart)})
          ) group by sku having sum(qty) > 0 order by pos
        )
      )
      where site_id = ${siteId} and cookie_id = ${cookieId}
    `);
    statements.push(sql`
      update visitors set
        cart_items = coalesce((select sum(json_extract(value, '$.qty')) from json_each(cart)), 0),
        cart_value = coalesce((select sum(json_extract(value, '$.qty') * coalesce(json_extract(value, '$.price'), 0))
          from json_each(cart)), 0)
      where site_id = ${siteId} and cookie_id = ${cookieId}
    `);
  }

  if (s.purchases > 0) {
    // tagwerk's own codes are counted by their redemption (worker/coupons/), once per code
    // whether the API or this event redeemed it; here only the shop's other coupons count.
    const otherCoupons = sql`(select count(*) from json_each(${JSON.stringify(s.couponCodes)})
      where value not in (select code from coupons where site_id = ${siteId}))`;
    // The customer the visitor is linked to (by this batch's identify or an earlier link).
    statements.push(sql`
      insert into customers (site_id, customer_id, orders, lifetime_revenue, first_order_at, last_order_at,
        coupons_redeemed, updated_at)
      select ${siteId}, v.customer_id, ${s.purchases}, ${s.revenue}, ${now}, ${now}, ${otherCoupons}, ${now}
        from visitors as v where v.site_id = ${siteId} and v.cookie_id = ${cookieId} and v.customer_id is not null
      on conflict (site_id, customer_id) do update set
        orders = coalesce(customers.orders, 0) + excluded.orders,
        lifetime_revenue = coalesce(customers.lifetime_revenue, 0) + excluded.lifetime_revenue,
        first_order_at = coalesce(customers.first_order_at, excluded.first_order_at),
        last_order_at = max(coalesce(customers.last_order_at, 0), excluded.last_order_at),
        coupons_redeemed = coalesce(customers.coupons_redeemed, 0) + excluded.coupons_redeemed,
        updated_at = excluded.updated_at
    `);
  }

  if (s.products.length > 0) {
    statements.push(sql`
      insert into products (site_id, sku, name, category, price, updated_at)
      select ${siteId}, json_extract(value, '$.sku'), json_extract(value, '$.name'), json_extract(value, '$.category'),
        json_extract(value, '$.price'), ${now}
        from json_each(${JSON.stringify(s.products)}) where true
      on conflict (site_id, sku) do update set
        name = coalesce(excluded.name, products.name),
        category = coalesce(excluded.category, products.category),
        price = coalesce(excluded.price, products.price),
        updated_at = excluded.updated_at
    `);
  }

  // Raw events, one statement whatever the batch size: D1 allows 100 bound parameters per
  // statement, so the rows travel as one JSON parameter.
  statements.push(sql`
    insert into events (site_id, cookie_id, type, name, ts, received_at, url, ref, props)
    select ${siteId}, ${cookieId}, json_extract(value, '$.type'), json_extract(value, '$.name'),
      json_extract(value, '$.ts'), ${now}, json_extract(value, '$.url'), json_extract(value, '$.ref'),
      json_extract(value, '$.props')
      from json_each(${JSON.stringify(events)})
  `);
  return statements;
}

export function rejectedStatement(siteId: number | null, source: string, rows: RejectedRow[], now: number): SQL {
  return sql`
    insert into rejected_events (site_id, site_key, source, reason, payload, received_at)
    select ${siteId}, json_extract(value, '$.siteKey'), ${source}, json_extract(value, '$.reason'),
      json_extract(value, '$.payload'), ${now}
      from json_each(${JSON.stringify(rows)})
  `;
}

/** Keeps an offending input bounded in rejected_events. */
export function truncatePayload(value: unknown, max = 2000): string | null {
  if (value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
