/**
 * The set of profiles a segment selects from in SQL (docs/architecture.md, "Segments: one language,
 * two back ends": a visitor with its linked customer, or a CRM customer that no visitor is linked
 * to yet), the segment's SQL condition over it, and the preview's count.
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
export function profilesFrom(siteId: number): SQL {
  return sql`from (
    select v0.id as vid, v0.customer_id as cid from visitors v0 where v0.site_id = ${siteId}
    union all
    select null, c0.customer_id from customers c0 where c0.site_id = ${siteId}
      and not exists (select 1 from visitors v1 where v1.site_id = c0.site_id and v1.customer_id = c0.customer_id)
  ) p
  left join visitors v on v.id = p.vid
  left join customers c on c.site_id = ${siteId} and c.customer_id = p.cid`;
}

/** The segment's condition as a drizzle `sql` fragment over `v` and `c`; throws SegmentError. */
export function segmentWhere(expression: string, now: number): SQL {
  return compileAstToSql(parseSegment(expression), now);
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
    sql`select count(v.id) as visitors, count(distinct c.id) as customers ${profilesFrom(siteId)} where ${where}`,
  );
  return { visitors: row?.visitors ?? 0, customers: row?.customers ?? 0 };
}
