/**
 * The copies of a person's codes beside their decision rows (docs/architecture.md, "Shards").
 *
 * A code is global to its pool and lives in HOME (`coupons`), where it is claimed, redeemed and
 * rolled back atomically. A decision row must not leave its own shard, so each shard keeps the
 * codes of the holders whose cookies are there (`person_codes`): a cookie's (`v:COOKIE`) on the
 * cookie's shard, a customer's (`c:CUSTOMER`) on every shard of the site's set, since any of them
 * may hold one of the customer's cookies. Whatever changes the codes of some holders in HOME calls
 * ends its HOME batch with holderCodesStatement() and hands the answer to writePersonCodes() (or,
 * for a site whose people are in HOME, appends copyInHomeStatements() to that batch), which replaces those holders' copies and refreshes the `codes` and
 * `converted` of their rows. A site whose people are in HOME keeps its copies in HOME, by the same
 * code.
 *
 * The copy is written after HOME's transaction, not in it (no transaction spans two databases):
 * until it lands, a decision row shows the codes from before. That never hands out a second
 * code — HOME's unique (pool, holder) index does — a claim in between finds the holder's code in
 * HOME and answers it again.
 */
import { type D1Like, preparedAll } from "../db/raw";
import { codesRefreshStatements } from "../decide/decision-rows";
import { type PeopleDb, peopleFor, peopleOfSite, type ShardEnv, type ShardSet } from "../shards/routing";

/** One code as a holder's copy carries it. */
export type CodeCopy = {
  holder: string;
  couponId: number;
  poolId: number;
  ruleId: number | null;
  code: string;
  expiresAt: number | null;
  redeemedAt: number | null;
};

type Site = { id: number; shards: ShardSet };

/** Only a cookie's and a customer's codes are held; archived (`x:`) and erased ones are nobody's. */
function personHolders(holders: readonly string[]): string[] {
  return [...new Set(holders.filter((h) => h.startsWith("v:") || h.startsWith("c:")))];
}

/**
 * The codes of the holders in ?2 of site ?1, through the unique (pool_id, holder) index: one
 * lookup per pool and holder. `site_id = ?1 and holder in (…)` scans the site's codes instead
 * (200,000 in the bench: 100 ms of SQL per first claim).
 */
const HOLDERS_CODES = `pool_id in (select id from coupon_pools where site_id = ?1)
  and holder in (select value from json_each(?2))`;

/** HOME: what `coupons` says the holders hold now, in the order the decision row lists them. */
export function holderCodesStatement(d1: D1Like, siteId: number, holders: readonly string[]): D1PreparedStatement {
  return d1
    .prepare(
      `select holder, id as couponId, pool_id as poolId, rule_id as ruleId, code, expires_at as expiresAt,
         redeemed_at as redeemedAt
       from coupons where ${HOLDERS_CODES} order by id`,
    )
    .bind(siteId, JSON.stringify(personHolders(holders)));
}

/** The databases each holder's copies belong on, with the holders and codes for each. */
function placements(env: ShardEnv, site: Site, holders: string[], codes: readonly CodeCopy[]) {
  const byDatabase = new Map<D1Database, { people: PeopleDb; holders: string[]; codes: CodeCopy[] }>();
  const add = (people: PeopleDb, holder: string) => {
    const entry = byDatabase.get(people.d1) ?? { people, holders: [], codes: [] };
    entry.holders.push(holder);
    entry.codes.push(...codes.filter((c) => c.holder === holder));
    byDatabase.set(people.d1, entry);
  };
  for (const holder of holders) {
    if (holder.startsWith("v:")) add(peopleFor(env, site, holder.slice(2)), holder);
    else for (const people of peopleOfSite(env, site)) add(people, holder);
  }
  return [...byDatabase.values()];
}

/**
 * Replaces the holders' copies with `codes` (what holderCodesStatement() answered) on every
 * database they belong on, and refreshes their decision rows' codes there: one batch per database.
 */
export async function writePersonCodes(
  env: ShardEnv,
  site: Site,
  holders: readonly string[],
  codes: readonly CodeCopy[],
  now: number,
): Promise<void> {
  const named = personHolders(holders);
  if (named.length === 0) return;
  await Promise.all(
    placements(env, site, named, codes).map(({ people, holders: here, codes: theirs }) => {
      const d1 = people.d1;
      const cookies = here.filter((h) => h.startsWith("v:")).map((h) => h.slice(2));
      const customers = here.filter((h) => h.startsWith("c:")).map((h) => h.slice(2));
      return d1.batch([
        d1
          .prepare("delete from person_codes where site_id = ?1 and holder in (select value from json_each(?2))")
          .bind(site.id, JSON.stringify(here)),
        d1
          .prepare(
            `insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)
             select ?1, json_extract(value, '$.holder'), json_extract(value, '$.couponId'),
               json_extract(value, '$.poolId'), json_extract(value, '$.ruleId'), json_extract(value, '$.code'),
               json_extract(value, '$.expiresAt'), json_extract(value, '$.redeemedAt')
             from json_each(?2)`,
          )
          .bind(site.id, JSON.stringify(theirs)),
        ...preparedAll(d1, codesRefreshStatements(site.id, { cookies, customers }, now)),
      ]);
    }),
  );
}

/**
 * For a site whose people are in HOME: the same copies written from `coupons` in the statement's
 * own database, so that a HOME batch that changed codes (a claim) brings the copies and the rows
 * along in its transaction, with no round trip of its own.
 */
export function copyInHomeStatements(d1: D1Like, siteId: number, holders: readonly string[], now: number) {
  const named = personHolders(holders);
  if (named.length === 0) return [];
  const list = JSON.stringify(named);
  return [
    d1
      .prepare("delete from person_codes where site_id = ?1 and holder in (select value from json_each(?2))")
      .bind(siteId, list),
    d1
      .prepare(
        `insert into person_codes (site_id, holder, coupon_id, pool_id, rule_id, code, expires_at, redeemed_at)
         select site_id, holder, id, pool_id, rule_id, code, expires_at, redeemed_at from coupons
         where ${HOLDERS_CODES}`,
      )
      .bind(siteId, list),
    ...preparedAll(
      d1,
      codesRefreshStatements(
        siteId,
        {
          cookies: named.filter((h) => h.startsWith("v:")).map((h) => h.slice(2)),
          customers: named.filter((h) => h.startsWith("c:")).map((h) => h.slice(2)),
        },
        now,
      ),
    ),
  ];
}
