/**
 * The set of profiles a segment selects from in SQL (DESIGN.md: "a visitor with its linked
 * customer, if any, or a CRM customer that no visitor is linked to yet"), and the queries the
 * audiences, webhooks and the preview run over it.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../env";
import { parseSegment } from "./parser";
import { compileAstToSql } from "./sql";

/**
 * FROM clause exposing `v` (visitors, all columns NULL for a CRM-only customer) and `c` (customers,
 * NULL for a visitor without a CRM record): every visitor of the site with its linked customer,
 * UNION ALL every customer of the site that no visitor links to. The union only carries row IDs so
 * the segment condition runs once, over one pair of aliases (D1's 100-parameter limit counts every
 * repetition of a bound value).
 */
export function PROFILES_FROM(siteId: number): SQL {
  return sql`from (
    select v0.id as vid, v0.customer_id as cid from visitors v0 where v0.site_id = ${siteId}
    union all
    select null, c0.customer_id from customers c0 where c0.site_id = ${siteId}
      and not exists (select 1 from visitors v1 where v1.site_id = c0.site_id and v1.customer_id = c0.customer_id)
  ) p
  left join visitors v on v.id = p.vid
  left join customers c on c.site_id = ${siteId} and c.customer_id = p.cid`;
}

/** Only visitors (cookies) with their linked customer: the shape audience exports page through. */
function visitorsFrom(siteId: number): SQL {
  return sql`from visitors v
  left join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id
  where v.site_id = ${siteId}`;
}

/** The segment's condition as a drizzle `sql` fragment over `v` and `c`; throws SegmentError. */
export function segmentWhere(expression: string, now: number): SQL {
  return compileAstToSql(parseSegment(expression), now);
}

export type SegmentProfileRow = { visitorId: number | null; cookieId: string | null; customerId: string | null };

/**
 * Profiles selected by the expression. Without `afterVisitorId`: every profile, visitors first
 * (by visitor ID), then CRM-only customers. With `afterVisitorId` (0 to start): only visitors whose
 * ID is greater, in ID order — keyset paging for cookie-list exports, which have no use for
 * CRM-only customers. `limit` defaults to 1,000.
 */
export async function selectSegmentProfiles(
  db: Db,
  siteId: number,
  expression: string,
  now: number,
  options: { afterVisitorId?: number; limit?: number } = {},
): Promise<SegmentProfileRow[]> {
  const where = segmentWhere(expression, now);
  const limit = options.limit ?? 1_000;
  const query =
    options.afterVisitorId === undefined
      ? sql`select v.id as visitorId, v.cookie_id as cookieId, coalesce(c.customer_id, v.customer_id) as customerId
          ${PROFILES_FROM(siteId)} where ${where} order by p.vid is null, p.vid, c.id limit ${limit}`
      : sql`select v.id as visitorId, v.cookie_id as cookieId, coalesce(c.customer_id, v.customer_id) as customerId
          ${visitorsFrom(siteId)} and v.id > ${options.afterVisitorId} and ${where} order by v.id limit ${limit}`;
  return db.all<SegmentProfileRow>(query);
}

/** How many cookies (`visitors`) and CRM records (`customers`, linked or not) the expression selects. */
export async function countSegment(
  db: Db,
  siteId: number,
  expression: string,
  now: number,
): Promise<{ visitors: number; customers: number }> {
  const where = segmentWhere(expression, now);
  const [row] = await db.all<{ visitors: number; customers: number }>(
    sql`select count(v.id) as visitors, count(distinct c.id) as customers ${PROFILES_FROM(siteId)} where ${where}`,
  );
  return { visitors: row?.visitors ?? 0, customers: row?.customers ?? 0 };
}
