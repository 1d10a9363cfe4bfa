/**
 * One customer is one person (docs/architecture.md, "Decision path", step 5: one code per holder per
 * pool): when cookies are linked to a CRM customer — a verified identify, a links import —
 * the codes their devices claimed while anonymous (`v:COOKIE`) merge into the customer's (`c:ID`).
 *
 * Per pool and customer, among the codes of the customer and of every cookie linked to it:
 * - a redeemed code wins over live ones (the person has used this pool's offer; a holder whose
 *   code was redeemed gets no second code), the customer's own first;
 * - otherwise the oldest live code wins (the one the person saw first), whoever held it — the
 *   customer's own code too gives way to an older one of a cookie (README.md, "Coupons");
 * - every other live code is archived: its holder becomes `x:ID:HOLDER`, as for an expired code, and
 *   `archived_at` is set, so it keeps its history (rule, assignment, impressions), reads `archived`
 *   everywhere (state.ts) and cannot be redeemed (redeem answers 410 `archived_code`). It is not
 *   released back to the pool: it has been shown on a screen, and a code once shown must never
 *   reach a second person;
 * - the winner moves to `c:CUSTOMER`, so every device of the person shows it from then on.
 * Other redeemed codes stay where they are: they are history, not holdings.
 *
 * The statements go into the caller's batch (the link's own transaction): no extra round trip.
 * Each reaches coupons through the unique (pool_id, holder) index, one lookup per pool × holder.
 */
import { type SQL, sql } from "drizzle-orm";

/**
 * The customers' holders and their cookies' holders, with the customer each belongs to. The
 * cookies are the caller's: they live on the PEOPLE shards (docs/architecture.md, "Shards"),
 * which this HOME statement cannot read (identity/link.ts asks each shard of the set).
 */
function holders(people: PersonCookies): SQL {
  const ids = JSON.stringify(Object.keys(people));
  const cookies = JSON.stringify(Object.entries(people).flatMap(([customer, list]) => list.map((c) => [c, customer])));
  return sql`holders(holder, customer) as (
    select 'c:' || j.value, j.value from json_each(${ids}) j
    union all
    select 'v:' || json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]') from json_each(${cookies}) k)`;
}

/** Customer ID → the cookie IDs linked to it. */
export type PersonCookies = Record<string, string[]>;

function ranked(siteId: number, now: number): SQL {
  return sql`ranked(id, rank, redeemed_at, holder, customer) as (
    select k.id, row_number() over (partition by k.pool_id, h.customer
        order by k.redeemed_at is null, (k.redeemed_at is not null and k.holder = 'c:' || h.customer) desc,
          k.assigned_at, k.id),
      k.redeemed_at, k.holder, h.customer
    from holders h join coupons k on k.holder = h.holder
      and k.pool_id in (select id from coupon_pools where site_id = ${siteId})
    where k.redeemed_at is not null or k.expires_at > ${now})`;
}

/** The statements that merge the coupon holdings of `customerIds` with their linked cookies'. */
export function mergeHoldingsStatements(siteId: number, people: PersonCookies, now: number): SQL[] {
  if (Object.keys(people).length === 0) return [];
  const head = sql`with ${holders(people)}, ${ranked(siteId, now)}`;
  return [
    // The holders' expired, unredeemed codes are archived first (as a claim would), so none of
    // them blocks the customer's slot in the unique (pool, holder) index.
    sql`with ${holders(people)} update coupons set holder = 'x:' || id || ':' || holder
      where pool_id in (select id from coupon_pools where site_id = ${siteId})
        and holder in (select holder from holders) and redeemed_at is null and expires_at <= ${now}`,
    sql`${head} update coupons set holder = 'x:' || id || ':' || holder, archived_at = ${now}
      where id in (select id from ranked where rank > 1 and redeemed_at is null)`,
    sql`${head} update coupons set holder = 'c:' || (select customer from ranked r where r.id = coupons.id),
        customer_id = (select customer from ranked r where r.id = coupons.id)
      where id in (select id from ranked where rank = 1 and holder <> 'c:' || customer)`,
  ];
}
