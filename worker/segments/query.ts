/**
 * The set of profiles a segment selects from in SQL (docs/architecture.md, "Segments: one language,
 * two back ends": a visitor with its linked customer, or a CRM customer that no visitor is linked
 * to yet), the segment's SQL condition over it, and the preview's count — over every database of
 * the site's set (docs/architecture.md, "Shards"), merged.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../env";
import { byBinary, distinctSorted, keysetPages, mergeSorted } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";
import { parseSegment } from "./parser";
import { compileAstToSql } from "./sql";

/**
 * A customer row that is the only one of its customer in the set: not a copy, and no copy on
 * another shard (so every cookie linked to it is on this database). Always true in HOME.
 */
export const SOLE_CUSTOMER_ROW = (alias: string) =>
  sql`(not ${sql.raw(alias)}.copy and json_array_length(${sql.raw(alias)}.copies_on) = 0)`;

/**
 * FROM clause exposing `v` (visitors, all columns NULL for a CRM-only customer) and `c` (customers,
 * NULL for a visitor without a CRM record): every visitor of the site with its linked customer,
 * UNION ALL every customer of the site that no visitor links to. The union only carries row IDs so
 * the segment condition runs once, over one pair of aliases (D1's 100-parameter limit counts every
 * repetition of a bound value). On a shard, a cookie's customer is the customer's own row or its
 * copy, whichever this shard holds; a customer "without a visitor" must be its own row with no
 * copies elsewhere, or it would be counted here and through its cookies on another shard.
 */
export function profilesFrom(siteId: number): SQL {
  return sql`from (
    select v0.id as vid, v0.customer_id as cid from visitors v0 where v0.site_id = ${siteId}
    union all
    select null, c0.customer_id from customers c0 where c0.site_id = ${siteId} and ${SOLE_CUSTOMER_ROW("c0")}
      and not exists (select 1 from visitors v1 where v1.site_id = c0.site_id and v1.customer_id = c0.customer_id)
  ) p
  left join visitors v on v.id = p.vid
  left join customers c on c.site_id = ${siteId} and c.customer_id = p.cid`;
}

/** The segment's condition as a drizzle `sql` fragment over `v` and `c`; throws SegmentError. */
export function segmentWhere(expression: string, now: number): SQL {
  return compileAstToSql(parseSegment(expression), now);
}

/** Distinct customer IDs per page when a customer's rows are on several shards. */
const CUSTOMER_PAGE = 1_000;

/**
 * How many cookies (`visitors`) and CRM records (`customers`, linked or not) the expression selects,
 * over every database of the site's set. A cookie is on one shard, so cookies add up. A customer
 * whose cookies are on several shards may match on each: its rows there (own row or copies) are
 * listed by customer ID from every shard, sorted, and merged without repeats — memory holds one
 * page per shard. A customer with one row in the set is counted where it is.
 */
export async function countSegment(
  people: readonly PeopleDb[],
  siteId: number,
  expression: string,
  now: number,
): Promise<{ visitors: number; customers: number }> {
  const where = segmentWhere(expression, now);
  const from = profilesFrom(siteId);
  const counts = await Promise.all(
    people.map(async ({ db }) => {
      const [row] = await db.all<{ visitors: number; customers: number }>(
        people.length === 1
          ? sql`select count(v.id) as visitors, count(distinct c.id) as customers ${from} where (${where})`
          : sql`select count(v.id) as visitors,
              count(distinct case when ${SOLE_CUSTOMER_ROW("c")} then c.id end) as customers ${from} where (${where})`,
      );
      return { visitors: row?.visitors ?? 0, customers: row?.customers ?? 0 };
    }),
  );
  let shared = 0;
  if (people.length > 1) {
    const streams = people.map(({ db }) => sharedCustomers(db, from, where));
    for await (const _ of distinctSorted(mergeSorted(streams, byBinary), (a, b) => a === b)) shared++;
  }
  return {
    visitors: counts.reduce((n, c) => n + c.visitors, 0),
    customers: counts.reduce((n, c) => n + c.customers, 0) + shared,
  };
}

/** The IDs of matching customers that have rows on other shards too, sorted, page by page. */
function sharedCustomers(db: Db, from: SQL, where: SQL): AsyncGenerator<string> {
  return keysetPages(
    "",
    async (after, limit) =>
      (
        await db.all<{ id: string }>(
          sql`select distinct c.customer_id as id ${from}
            where (${where}) and c.id is not null and not ${SOLE_CUSTOMER_ROW("c")} and c.customer_id > ${after}
            order by c.customer_id limit ${limit}`,
        )
      ).map((r) => r.id),
    (id) => id,
    CUSTOMER_PAGE,
  );
}
