/**
 * Applies one validated event batch to a visitor's profile (docs/architecture.md, "Budgets and where they are measured": a batch of 20
 * events costs one D1 round trip). The batch is folded into per-batch deltas here, and every
 * read-modify-write of the profile (visit counting, JSON counters, the cart merge, the linked
 * customer's orders) is done inside SQL, so that all writes go out as one `db.batch`: one round
 * trip, one transaction — a batch is applied completely or not at all.
 *
 * Clock: `now` (the time the batch was received) decides visits, days and purchase times, not
 * the client's `ts`, which a browser can get wrong; the queue path passes the receive time too,
 * so both paths produce the same profile.
 *
 * Trust (docs/architecture.md, "Trust boundaries"): a batch from the browser is behaviour of its own cookie.
 * Its identify events arrive here only after their signature was checked (batch.ts), and its
 * purchases never touch a CRM customer's figures. Only a trusted batch (`trusted: true`, from
 * worker/server-events/) adds orders and revenue to the customer. No batch writes a product:
 * the catalogue comes from `POST /api/v1/products` alone, events name SKUs.
 *
 * Erasure is final: every write is guarded by "this cookie is not in `erasures`" in the same
 * statement, so a batch queued before an erasure does not bring the visitor back.
 */

import { type SQL, sql } from "drizzle-orm";
import { archiveErasureGuard } from "../archive/archive";
import { redeemPurchaseCoupons } from "../coupons/purchase";
import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { customerOfCookie } from "../identity/customer-of-cookie";
import { linkCookies } from "../identity/link";
import { DAY_HISTORY, MS_PER_DAY, utcDayKey } from "../lib/time";
import { type PeopleDb, peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";
import { type Acquisition, acquisitionOfLanding } from "./acquisition";
import type { TagEvent } from "./event-schema";

/** A new visit starts after this long without events. */
const VISIT_GAP_MS = 30 * 60 * 1000;
/** Per-day interest, visit, event and purchase counts are kept this long (segment windows are not longer). */
const DAY_WINDOW = DAY_HISTORY;

/** One rejected_events row; `payload` is already scrubbed (scrub.ts). */
export type RejectedRow = {
  reason: string;
  payload: string | null;
  siteKey?: string | null;
  cookieId?: string | null;
  customerRef?: string | null;
};

type CartDelta = { sku: string; category?: string; price?: number; qty: number };

/** How many recently viewed or carted products a visitor keeps (visitors.recent_skus). */
const RECENT_SKUS = 12;

/** Folds the batch into the deltas the SQL statements apply. */
function summarizeBatch(events: TagEvent[]) {
  let pageviews = 0;
  let customerId: string | null = null;
  let consent: "granted" | "denied" | null = null;
  let purchases = 0;
  let revenue = 0;
  const couponCodes: string[] = [];
  let cartCleared = false;
  let cartTouched = false;
  const interests: Record<string, number> = {};
  // A Map, not an object: event names are free text from the browser ("__proto__" included).
  const customEvents = new Map<string, number>();
  let acquisition: Acquisition | null = null;
  const cart = new Map<string, CartDelta>();
  // Viewed and carted SKUs in order, the last occurrence of each counting (visitors.recent_skus).
  const recent: string[] = [];
  const touchProduct = (sku: string | undefined) => {
    if (!sku) return;
    const at = recent.indexOf(sku);
    if (at >= 0) recent.splice(at, 1);
    recent.push(sku);
  };

  for (const event of events) {
    switch (event.type) {
      case "page":
        pageviews += 1;
        // Only the batch's first page can be the visitor's landing page; the SQL keeps an earlier one.
        acquisition ??= acquisitionOfLanding(event.url);
        break;
      case "view":
        if (event.props.category) interests[event.props.category] = (interests[event.props.category] ?? 0) + 1;
        touchProduct(event.props.sku);
        break;
      case "cart": {
        const p = event.props;
        cartTouched = true;
        if (p.action === "add" && p.category) interests[p.category] = (interests[p.category] ?? 0) + 1;
        if (p.action === "add") touchProduct(p.sku);
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
        customEvents.set(event.name, (customEvents.get(event.name) ?? 0) + 1);
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
    events: Object.fromEntries(customEvents),
    acquisition,
    cart: [...cart.values()],
    recent: recent.slice(-RECENT_SKUS),
  };
}

/** The writes of one batch: the person's, on the cookie's database, and HOME's (its rejections). */
export type BatchWrites = { people: (SQL | BoundStatement)[]; home: (SQL | BoundStatement)[] };

/**
 * Applies `events` (already validated) for the visitor `cookieId` and writes `rejected` beside
 * them: one D1 round trip for the cookie's database (docs/architecture.md, "Shards"), in parallel
 * with one to HOME when the batch has rejections; one in all for a site whose people are in HOME.
 * A verified identify and a trusted batch's orders then reach the customer (afterBatch()).
 */
export async function applyEventBatch(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  cookieId: string,
  events: TagEvent[],
  now: number,
  rejected: RejectedRow[] = [],
  trust: BatchTrust = {},
): Promise<void> {
  const writes = eventBatchStatements(site.id, cookieId, events, now, rejected, trust);
  if (writes.people.length === 0 && writes.home.length === 0) return;
  // A browser batch redeems only codes its own cookie (or the customer it is linked to) holds.
  if (!trust.trusted) await redeemPurchaseCoupons(env, site, cookieId, events, now);
  const people = peopleFor(env, site, cookieId);
  await writeBatch(env, people, writes);
  await afterBatch(env, site, cookieId, events, now, trust);
}

/** The person's writes and HOME's, as one batch when they are the same database. */
export async function writeBatch(env: ShardEnv, people: PeopleDb, writes: BatchWrites): Promise<void> {
  if (people.shard === null) {
    const all = [...writes.people, ...writes.home];
    if (all.length > 0) await runBatch(env.DB, all);
    return;
  }
  await Promise.all([
    writes.people.length > 0 ? runBatch(people.d1, writes.people) : undefined,
    writes.home.length > 0 ? runBatch(env.DB, writes.home) : undefined,
  ]);
}

/**
 * What a batch changes beyond its cookie's database, after its own batch: a verified identify
 * links the cookie to the customer (identity/link.ts: the customer's row beside the cookie, their
 * coupon codes merged into one person's); a trusted batch (the shop's server) adds its purchases
 * to the customer's orders, on the customer's shard. A batch with neither costs nothing here.
 */
export async function afterBatch(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  cookieId: string,
  events: TagEvent[],
  now: number,
  trust: BatchTrust = {},
): Promise<void> {
  if (events.length === 0) return;
  const s = summarizeBatch(events);
  // A verified identify links as a links import does; the shop's server naming the customer of a
  // cookie (a trusted batch) only puts the customer's row beside it, as before shards it merged no codes.
  if (s.customerId) await linkCookies(env, site, [{ cookieId, customerId: s.customerId }], now);
  else if (trust.customerId) {
    await linkCookies(env, site, [{ cookieId, customerId: trust.customerId }], now, { mergeCodes: false });
  }
  if (s.purchases > 0 && trust.trusted) {
    await addCustomerOrders(
      env,
      site,
      trust.customerId ?? s.customerId,
      cookieId,
      s.purchases,
      s.revenue,
      s.couponCodes,
      now,
    );
  }
}

/** True when the batch writes beyond its cookie's database (afterBatch() has work). */
export function reachesBeyondCookie(events: TagEvent[], trust: BatchTrust = {}): boolean {
  return (
    Boolean(trust.customerId) ||
    events.some((e) => e.type === "identify" || (trust.trusted === true && e.type === "purchase"))
  );
}

/**
 * `trusted`: the batch comes from the shop's server (API key), so its purchases are the customer's
 * orders. `customerId`: the CRM customer a trusted batch names for this cookie (it links them).
 */
export type BatchTrust = { trusted?: boolean; customerId?: string | null };

/**
 * The D1 writes of one batch (profile, rejections), for applyEventBatch or a larger batch. The raw
 * events themselves go to the R2 archive first (worker/archive/archive.ts), by the caller.
 */
export function eventBatchStatements(
  siteId: number,
  cookieId: string,
  events: TagEvent[],
  now: number,
  rejected: RejectedRow[] = [],
  trust: BatchTrust = {},
  /** Refresh the touched decision rows here; a caller that batches many calls refreshes them once. */
  refresh = true,
): BatchWrites {
  const writes: BatchWrites = { people: [], home: [] };
  if (events.length > 0) {
    const summary = summarizeBatch(events);
    writes.people.push(...profileStatements(siteId, cookieId, summary, now, trust));
    // Last in the batch: the decision row of this cookie sees every write above
    // (docs/architecture.md, "Decision rows").
    if (refresh) writes.people.push(...refreshStatements(siteId, { cookies: [cookieId] }, now));
  }
  if (rejected.length > 0) writes.home.push(rejectedStatement(siteId, "collect", rejected, now));
  return writes;
}

/** True (1) unless `cookieId` was erased: the guard every write of a queued message carries. */
function notErasedCookie(siteId: number, cookieId: SQL | string): SQL {
  return sql`not exists (select 1 from erasures where site_id = ${siteId} and kind = 'cookie' and subject = ${cookieId})`;
}

function notErasedCustomer(siteId: number, customerId: SQL | string): SQL {
  return sql`not exists (select 1 from erasures where site_id = ${siteId} and kind = 'customer' and subject = ${customerId})`;
}

/** The old row's JSON {key: count} column plus this batch's counts (`delta`, a JSON object). */
function mergedCounts(column: SQL, delta: string): SQL {
  return sql`(
    select json_group_object(k, n) from (
      select k, sum(n) as n from (
        select key as k, value as n from json_each(${column})
        union all
        select key, value from json_each(${delta})
      ) group by k
    )
  )`;
}

/** The old row's JSON {key: {day: count}} column without days before `cutoff`, plus `delta` counted on `day`. */
function mergedKeyDays(column: SQL, delta: string, day: string, cutoff: string): SQL {
  return sql`(
    select json_group_object(k, json(days)) from (
      select k, json_group_object(d, n) as days from (
        select k, d, sum(n) as n from (
          select c.key as k, e.key as d, e.value as n
            from json_each(${column}) as c, json_each(c.value) as e where e.key >= ${cutoff}
          union all
          select key, ${day}, value from json_each(${delta})
        ) group by k, d
      ) group by k
    )
  )`;
}

/** The old row's JSON {day: count} column without days before `cutoff`, plus `add` (SQL) on `day`. */
function mergedDays(column: SQL, day: string, add: SQL, cutoff: string): SQL {
  return sql`(
    select json_group_object(d, n) from (
      select d, sum(n) as n from (
        select key as d, value as n from json_each(${column}) where key >= ${cutoff}
        union all
        select ${day}, ${add} where ${add} > 0
      ) group by d
    )
  )`;
}

/**
 * The old row's recent SKUs followed by this batch's (`batch`, a JSON array), each SKU once at its
 * latest place, the last RECENT_SKUS of them, oldest first.
 */
function mergedRecent(column: SQL, batch: string): SQL {
  return sql`(
    select json_group_array(sku) from (
      select sku from (
        select sku, max(pos) as pos from (
          select value as sku, key as pos from json_each(${column})
          union all
          select value, 1000 + key from json_each(${batch})
        ) group by sku order by pos desc limit ${RECENT_SKUS}
      ) order by pos
    )
  )`;
}

/** {key: {day: n}} for this batch's {key: n}. */
function onDay(counts: Record<string, number>, day: string): string {
  return JSON.stringify(Object.fromEntries(Object.entries(counts).map(([key, n]) => [key, { [day]: n }])));
}

function profileStatements(
  siteId: number,
  cookieId: string,
  s: ReturnType<typeof summarizeBatch>,
  now: number,
  trust: BatchTrust,
): SQL[] {
  const customerId = trust.customerId ?? s.customerId;
  const day = utcDayKey(now);
  const cutoff = utcDayKey(now - (DAY_WINDOW - 1) * MS_PER_DAY);
  const interests = JSON.stringify(s.interests);
  const customEvents = JSON.stringify(s.events);
  const purchaseDays = JSON.stringify(s.purchases > 0 ? { [day]: s.purchases } : {});
  const purchaseAt = s.purchases > 0 ? now : null;
  const recent = JSON.stringify(s.recent);
  const statements: SQL[] = [];
  // A row with no visit yet was made by a CRM link import or a banner click, not by a visit:
  // this batch is its first visit (and its first and last seen), whatever the gap.
  const newVisit = sql`(visitors.visits = 0 or excluded.last_seen_at - visitors.last_seen_at > ${VISIT_GAP_MS})`;

  // The visitor: created on its first batch, otherwise updated from its own old values (every
  // SET expression of an upsert reads the row as it was before this statement).
  statements.push(sql`
    insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at, visits, pageviews,
      interests, interest_days, visit_days, event_counts, event_days, purchase_days, last_purchase_at, consent,
      acquisition, recent_skus)
    select ${siteId}, ${cookieId}, (select ${customerId} where ${notErasedCustomer(siteId, sql`${customerId}`)}),
      ${now}, ${now}, 1, ${s.pageviews}, ${interests}, ${onDay(s.interests, day)}, json_object(${day}, 1),
      ${customEvents}, ${onDay(s.events, day)}, ${purchaseDays}, ${purchaseAt}, ${s.consent}, ${s.acquisition},
      ${recent}
    where ${notErasedCookie(siteId, cookieId)}
    on conflict (site_id, cookie_id) do update set
      customer_id = coalesce(excluded.customer_id, visitors.customer_id),
      first_seen_at = case when visitors.visits = 0 then excluded.first_seen_at else visitors.first_seen_at end,
      last_seen_at = case when visitors.visits = 0 then excluded.last_seen_at
        else max(visitors.last_seen_at, excluded.last_seen_at) end,
      visits = visitors.visits + ${newVisit},
      visit_days = ${mergedDays(sql`visitors.visit_days`, day, newVisit, cutoff)},
      pageviews = visitors.pageviews + excluded.pageviews,
      interests = ${mergedCounts(sql`visitors.interests`, interests)},
      interest_days = ${mergedKeyDays(sql`visitors.interest_days`, interests, day, cutoff)},
      event_counts = ${mergedCounts(sql`visitors.event_counts`, customEvents)},
      event_days = ${mergedKeyDays(sql`visitors.event_days`, customEvents, day, cutoff)},
      purchase_days = ${mergedDays(sql`visitors.purchase_days`, day, sql`${s.purchases}`, cutoff)},
      last_purchase_at = coalesce(excluded.last_purchase_at, visitors.last_purchase_at),
      consent = coalesce(excluded.consent, visitors.consent),
      acquisition = coalesce(visitors.acquisition, excluded.acquisition),
      recent_skus = ${s.recent.length > 0 ? mergedRecent(sql`visitors.recent_skus`, recent) : sql`visitors.recent_skus`}
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

  // Raw events are not D1 rows: the caller wrote them to the R2 archive before this batch
  // (worker/archive/archive.ts); this asks for a sweep of them if the cookie was erased meanwhile.
  statements.push(archiveErasureGuard(siteId, cookieId, now));
  return statements;
}

/**
 * Adds `orders` orders worth `revenue` to the customer `customerId` — or, when null, to the one
 * `cookieId` is linked to — on the customer's own shard, creating the row on its first order, and
 * to the copies of it that other shards keep (`copies_on`), refreshing the decision rows of its
 * cookies there (docs/architecture.md, "Shards"). `codes`: the coupon codes of the purchases;
 * tagwerk's own are counted by their redemption (worker/coupons/), only the shop's other ones here.
 * An erased customer gets nothing.
 */
export async function addCustomerOrders(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  customerId: string | null,
  cookieId: string | null,
  orders: number,
  revenue: number,
  codes: readonly string[],
  now: number,
): Promise<void> {
  const customer = customerId ?? (await customerOfCookie(env, site, cookieId));
  if (customer === null) return;
  const other =
    codes.length === 0
      ? 0
      : ((
          await env.DB.prepare(
            `select count(*) as n from json_each(?2) where value not in (select code from coupons where site_id = ?1)`,
          )
            .bind(site.id, JSON.stringify(codes))
            .first<{ n: number }>()
        )?.n ?? 0);
  const home = peopleFor(env, site, customer);
  const [upserted] = await runBatch(home.d1, [
    sql`
    insert into customers (site_id, customer_id, orders, lifetime_revenue, first_order_at, last_order_at,
      coupons_redeemed, updated_at)
    select ${site.id}, ${customer}, ${orders}, ${revenue}, ${now}, ${now}, ${other}, ${now}
      where ${notErasedCustomer(site.id, customer)}
    on conflict (site_id, customer_id) do update set
      orders = coalesce(customers.orders, 0) + excluded.orders,
      lifetime_revenue = coalesce(customers.lifetime_revenue, 0) + excluded.lifetime_revenue,
      first_order_at = coalesce(customers.first_order_at, excluded.first_order_at),
      last_order_at = max(coalesce(customers.last_order_at, 0), excluded.last_order_at),
      coupons_redeemed = coalesce(customers.coupons_redeemed, 0) + excluded.coupons_redeemed,
      updated_at = excluded.updated_at
    returning orders, lifetime_revenue, first_order_at, last_order_at, coupons_redeemed, copies_on
  `,
    ...refreshStatements(site.id, { customers: [customer] }, now),
  ]);
  const row = (upserted?.results as Record<string, unknown>[] | undefined)?.[0];
  if (!row) return;
  const copiesOn = JSON.parse(String(row.copies_on ?? "[]")) as number[];
  await Promise.all(
    peopleOfSite(env, site)
      .filter((people) => people.shard !== null && copiesOn.includes(people.shard))
      .map((people) =>
        runBatch(people.d1, [
          sql`update customers set orders = ${row.orders}, lifetime_revenue = ${row.lifetime_revenue},
            first_order_at = ${row.first_order_at}, last_order_at = ${row.last_order_at},
            coupons_redeemed = ${row.coupons_redeemed}, updated_at = ${now}
            where site_id = ${site.id} and customer_id = ${customer} and copy = 1`,
          ...refreshStatements(site.id, { customers: [customer] }, now),
        ]),
      ),
  );
}

export function rejectedStatement(siteId: number | null, source: string, rows: RejectedRow[], now: number): SQL {
  return sql`
    insert into rejected_events (site_id, site_key, source, reason, payload, received_at, cookie_id, customer_ref)
    select ${siteId}, json_extract(value, '$.siteKey'), ${source}, json_extract(value, '$.reason'),
      json_extract(value, '$.payload'), ${now}, json_extract(value, '$.cookieId'), json_extract(value, '$.customerRef')
      from json_each(${JSON.stringify(rows)})
  `;
}

/** Keeps a text (an origin in a reason) bounded. Payloads go through scrub.ts instead. */
export function truncatePayload(value: unknown, max = 2000): string | null {
  if (value === undefined) return null;
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
