/**
 * Item-to-item affinities (README.md, "Next best offer": the product a creative shows). For each
 * SKU, the SKUs most often viewed or put in the cart by the same people — co-views, and
 * co-purchases, since what an order buys goes through the cart — counted over the recent products
 * of the site's visitors seen in the last AFFINITY_DAYS (visitors.recent_skus, kept by
 * collect/apply-events.ts). The cron recomputes them once a day (the first run after midnight UTC:
 * a self-join of every recent visitor's products is too heavy for every 15 minutes), then
 * refreshes the decision rows whose product comes from a match: visitors with an empty cart and
 * recent products (worker/decide/decision-rows.ts, BEST_MATCH).
 */
import { sql } from "drizzle-orm";
import { runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import type { Db } from "../env";
import { MS_PER_DAY } from "../lib/time";

/** The visitors whose products are counted: those seen in the last 30 days (tastes move). */
const AFFINITY_DAYS = 30;
/** Matches kept per SKU: the decision needs the best available one, a few spare for stock-outs. */
const MATCHES_PER_SKU = 10;
/** Decision rows refreshed per batch after a recomputation. */
const REFRESH_PAGE = 500;
/** The cron's interval (wrangler.toml, every 15 minutes): the daily run is the first after midnight. */
const CRON_INTERVAL_MS = 15 * 60 * 1000;

/** True for the cron run that recomputes the affinities: the first of each UTC day. */
export function affinityRunDue(now: number): boolean {
  return now % MS_PER_DAY < CRON_INTERVAL_MS;
}

/**
 * Replaces the site's affinities in one batch (delete and insert: a decision never sees half of
 * them), then refreshes the affected decision rows page by page. Answers how many pairs it kept.
 */
export async function recomputeProductAffinities(db: Db, siteId: number, now: number): Promise<number> {
  const since = now - AFFINITY_DAYS * MS_PER_DAY;
  const [, inserted] = await runBatch(db, [
    sql`delete from product_affinities where site_id = ${siteId}`,
    sql`insert into product_affinities (site_id, sku, other_sku, score)
      select ${siteId}, sku, other_sku, n from (
        select x.value as sku, y.value as other_sku, count(*) as n,
          row_number() over (partition by x.value order by count(*) desc, y.value) as place
        from visitors v, json_each(v.recent_skus) x, json_each(v.recent_skus) y
        where v.site_id = ${siteId} and v.last_seen_at >= ${since} and v.recent_skus <> '[]' and x.value <> y.value
        group by x.value, y.value)
      where place <= ${MATCHES_PER_SKU}`,
  ]);
  let after = 0;
  for (;;) {
    const page = await db.all<{ id: number; cookie_id: string }>(sql`select id, cookie_id from visitors
      where site_id = ${siteId} and id > ${after} and recent_skus <> '[]' and cart_items = 0
      order by id limit ${REFRESH_PAGE}`);
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    await runBatch(db, refreshStatements(siteId, { cookies: page.map((row) => row.cookie_id) }, now));
  }
  return inserted.meta.changes ?? 0;
}
