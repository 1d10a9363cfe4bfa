/**
 * Saved segments (`/api/v1/segments`): an expression is parsed before it is stored, so a rule,
 * audience or webhook never refers to one that does not compile. Every change bumps the site's
 * rules version, the key of the decision path's per-isolate cache of compiled segments.
 */
import { and, eq, sql } from "drizzle-orm";
import { audiences, rules, segments, webhooks } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { byBinary, topOf } from "../shards/merge";
import type { PeopleDb } from "../shards/routing";
import { bumpRulesVersion } from "../sites/store";
import { parseSegment, SegmentError } from "./parser";
import { countSegment, profilesFrom, segmentWhere } from "./query";

export type SegmentRow = typeof segments.$inferSelect;

/** Parses the expression; answers 400 with the parser's message when it is invalid. */
function assertValidExpression(expression: string, check: (e: string) => unknown = parseSegment) {
  try {
    check(expression);
  } catch (err) {
    if (err instanceof SegmentError) throw apiError(400, "invalid_expression", err.message);
    throw err;
  }
}

export async function listSegments(db: Db, siteId: number) {
  return db.select().from(segments).where(eq(segments.siteId, siteId)).orderBy(segments.id);
}

export async function getSegment(db: Db, siteId: number, id: number): Promise<SegmentRow> {
  const [row] = await db
    .select()
    .from(segments)
    .where(and(eq(segments.siteId, siteId), eq(segments.id, id)));
  if (!row) throw apiError(404, "not_found", `No segment ${id} in this site`);
  return row;
}

export async function createSegment(db: Db, siteId: number, input: { name: string; expression: string }, now: number) {
  assertValidExpression(input.expression);
  const [row] = await db
    .insert(segments)
    .values({ siteId, name: input.name, expression: input.expression, createdAt: now, updatedAt: now })
    .returning();
  await bumpRulesVersion(db, siteId);
  return row;
}

export async function updateSegment(
  db: Db,
  siteId: number,
  id: number,
  patch: { name?: string; expression?: string },
  now: number,
) {
  if (patch.expression !== undefined) assertValidExpression(patch.expression);
  const [row] = await db
    .update(segments)
    .set({ ...patch, updatedAt: now })
    .where(and(eq(segments.siteId, siteId), eq(segments.id, id)))
    .returning();
  if (!row) throw apiError(404, "not_found", `No segment ${id} in this site`);
  await bumpRulesVersion(db, siteId);
  return row;
}

/** Refuses (409) while a rule, audience or webhook uses the segment, naming which. */
export async function deleteSegment(db: Db, siteId: number, id: number) {
  await getSegment(db, siteId, id);
  const [usage] = await db.all<{ rules: number; audiences: number; webhooks: number }>(
    sql`select
      (select count(*) from ${rules} where ${rules.segmentId} = ${id}) as rules,
      (select count(*) from ${audiences} where ${audiences.segmentId} = ${id}) as audiences,
      (select count(*) from ${webhooks} where ${webhooks.segmentId} = ${id}) as webhooks`,
  );
  const users = Object.entries(usage ?? {})
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${count === 1 ? kind.slice(0, -1) : kind}`);
  if (users.length) throw apiError(409, "segment_in_use", `Segment ${id} is used by ${users.join(", ")}`);
  await db.delete(segments).where(and(eq(segments.siteId, siteId), eq(segments.id, id)));
  await bumpRulesVersion(db, siteId);
}

type PreviewSample = {
  cookie_id: string | null;
  customer_id: string | null;
  visits: number | null;
  pageviews: number | null;
  cart_items: number | null;
  orders: number | null;
  clusters: string[] | null;
};

/** Profiles a preview shows: the newest cookies first, then customers without one, oldest first. */
const SAMPLE_SIZE = 10;

type SampleRow = Omit<PreviewSample, "clusters"> & {
  clusters: string | null;
  /** Sort keys, comparable across databases (row IDs are per database): creation time, then ID. */
  visitor_at: number | null;
  customer_at: number | null;
};

/** The preview's order: visitors (newest first, then cookie ID descending), then CRM-only customers (oldest first). */
function sampleOrder(a: SampleRow, b: SampleRow): number {
  if ((a.visitor_at === null) !== (b.visitor_at === null)) return a.visitor_at === null ? 1 : -1;
  if (a.visitor_at !== null && b.visitor_at !== null) {
    return b.visitor_at - a.visitor_at || byBinary(b.cookie_id ?? "", a.cookie_id ?? "");
  }
  return (a.customer_at ?? 0) - (b.customer_at ?? 0) || byBinary(a.customer_id ?? "", b.customer_id ?? "");
}

/**
 * The admin UI's live count: cookies and CRM records the expression selects now, and up to ten of
 * them with a few non-personal fields (never the e-mail hash). Request-context fields are refused.
 * Every database of the site's set gives its first ten in the preview's order; the merge keeps ten.
 */
export async function previewSegment(people: readonly PeopleDb[], siteId: number, expression: string, now: number) {
  assertValidExpression(expression, (e) => segmentWhere(e, now));
  const where = segmentWhere(expression, now);
  const counts = await countSegment(people, siteId, expression, now);
  const lists = await Promise.all(
    people.map(({ db }) =>
      db.all<SampleRow>(
        sql`select v.cookie_id, coalesce(c.customer_id, v.customer_id) as customer_id, v.visits, v.pageviews,
          v.cart_items, c.orders, c.clusters, v.created_at as visitor_at, c.created_at as customer_at
        ${profilesFrom(siteId)} where (${where})
        order by p.vid is null, v.created_at desc, v.cookie_id desc, c.created_at, c.customer_id limit ${SAMPLE_SIZE}`,
      ),
    ),
  );
  const sample: PreviewSample[] = topOf(lists, sampleOrder, SAMPLE_SIZE).map(
    ({ visitor_at: _v, customer_at: _c, ...r }) => ({
      ...r,
      clusters: r.clusters === null ? null : JSON.parse(r.clusters),
    }),
  );
  return { ...counts, sample };
}
