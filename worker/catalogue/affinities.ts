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
import { type BoundStatement, runBatch } from "../db/raw";
import { refreshStatements } from "../decide/decision-rows";
import { MS_PER_DAY } from "../lib/time";
import { type PeopleDb, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

/** The visitors whose products are counted: those seen in the last 30 days (tastes move). */
const AFFINITY_DAYS = 30;
/** Matches kept per SKU: the decision needs the best available one, a few spare for stock-outs. */
const MATCHES_PER_SKU = 10;
/**
 * Candidates per SKU each database answers: the matches are the best sums over the shards, and a
 * pair among the best overall is among a shard's best few unless it is rare there (the shards
 * hold random samples of the cookies: the hash). Exact for one database, whose top 10 is its answer.
 */
const CANDIDATES_PER_SKU = 3 * MATCHES_PER_SKU;
/** Pairs per insert statement: one bound JSON array, well within D1's 2 MB for a value. */
const PAIRS_PER_STATEMENT = 5_000;
/** Decision rows refreshed per batch after a recomputation. */
const REFRESH_PAGE = 500;
/** The cron's interval (wrangler.toml, every 15 minutes): the daily run is the first after midnight. */
const CRON_INTERVAL_MS = 15 * 60 * 1000;

/** True for the cron run that recomputes the affinities: the first of each UTC day. */
export function affinityRunDue(now: number): boolean {
  return now % MS_PER_DAY < CRON_INTERVAL_MS;
}

type Pair = { sku: string; other_sku: string; n: number };

/** One database's co-view counts: each SKU's best candidates among its own visitors' products. */
async function coViews(people: PeopleDb, siteId: number, since: number): Promise<Pair[]> {
  return people.db.all<Pair>(sql`select sku, other_sku, n from (
      select x.value as sku, y.value as other_sku, count(*) as n,
        row_number() over (partition by x.value order by count(*) desc, y.value) as place
      from visitors v, json_each(v.recent_skus) x, json_each(v.recent_skus) y
      where v.site_id = ${siteId} and v.last_seen_at >= ${since} and v.recent_skus <> '[]' and x.value <> y.value
      group by x.value, y.value)
    where place <= ${CANDIDATES_PER_SKU}`);
}

/** The sums over the databases, each SKU's best MATCHES_PER_SKU, ties broken by SKU (as one database does). */
function bestMatches(answers: Pair[][]): Array<[string, string, number]> {
  const sums = new Map<string, Map<string, number>>();
  for (const pairs of answers) {
    for (const { sku, other_sku, n } of pairs) {
      const others = sums.get(sku) ?? new Map<string, number>();
      others.set(other_sku, (others.get(other_sku) ?? 0) + n);
      sums.set(sku, others);
    }
  }
  const kept: Array<[string, string, number]> = [];
  for (const [sku, others] of sums) {
    const best = [...others].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
    for (const [other, n] of best.slice(0, MATCHES_PER_SKU)) kept.push([sku, other, n]);
  }
  return kept;
}

/** The statements that replace the site's affinities with `pairs`: one batch, never half of them. */
function replaceStatements(siteId: number, pairs: Array<[string, string, number]>): BoundStatement[] {
  const statements: BoundStatement[] = [
    { text: "delete from product_affinities where site_id = ?1", params: [siteId] },
  ];
  for (let i = 0; i < pairs.length; i += PAIRS_PER_STATEMENT) {
    statements.push({
      text: `insert into product_affinities (site_id, sku, other_sku, score)
        select ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') from json_each(?2)`,
      params: [siteId, JSON.stringify(pairs.slice(i, i + PAIRS_PER_STATEMENT))],
    });
  }
  return statements;
}

/** Refreshes, page by page, the decision rows whose product comes from a match on one database. */
async function refreshMatched(people: PeopleDb, siteId: number, now: number): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await people.db.all<{ id: number; cookie_id: string }>(sql`select id, cookie_id from visitors
      where site_id = ${siteId} and id > ${after} and recent_skus <> '[]' and cart_items = 0
      order by id limit ${REFRESH_PAGE}`);
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    await runBatch(people.d1, refreshStatements(siteId, { cookies: page.map((row) => row.cookie_id) }, now));
  }
}

/**
 * Counts co-views on every database of the site's set, replaces HOME's affinities and every
 * shard's copy (one batch each: a decision never sees half of them), then refreshes the affected
 * decision rows on each. Answers how many pairs it kept.
 */
export async function recomputeProductAffinities(
  env: ShardEnv,
  site: { id: number; shards: ShardSet },
  now: number,
): Promise<number> {
  const since = now - AFFINITY_DAYS * MS_PER_DAY;
  const people = peopleOfSite(env, site);
  const pairs = bestMatches(await Promise.all(people.map((p) => coViews(p, site.id, since))));
  const statements = replaceStatements(site.id, pairs);
  // HOME's catalogue is the shop's; on a site in HOME it is also the only copy.
  await runBatch(env.DB, statements);
  if (site.shards !== null) await Promise.all(people.map((p) => runBatch(p.d1, statements)));
  for (const p of people) await refreshMatched(p, site.id, now);
  return pairs.length;
}
