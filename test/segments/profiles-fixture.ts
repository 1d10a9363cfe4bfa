/** Writes visitors and customers straight into D1 and reads them back as the profiles the edge sees. */
import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { createDb } from "../../worker/db/client";
import { customers, sites, visitors } from "../../worker/db/schema";
import type { Db } from "../../worker/env";
import { buildProfile, type Profile, segmentWhere } from "../../worker/segments";
import { profilesFrom } from "../../worker/segments/query";
import { peopleOfSite } from "../../worker/shards/routing";

export type CustomerInput = Omit<typeof customers.$inferInsert, "siteId">;
export type VisitorInput = Omit<typeof visitors.$inferInsert, "siteId">;

export const db = createDb(env.DB);

/** The one database a site without a shard set reads people from (HOME), for countSegment. */
export const home = peopleOfSite(env, { shards: null });

export async function insertSite(key = `seg-${crypto.randomUUID().slice(0, 8)}`): Promise<number> {
  const [site] = await db.insert(sites).values({ key, name: key }).returning({ id: sites.id });
  return site.id;
}

/** Inserts row by row (D1 allows 100 bound parameters per statement). JSON round trip: fast-check
 *  builds null-prototype objects, which drizzle does not take for JSON columns. */
export async function insertProfiles(siteId: number, customerRows: CustomerInput[], visitorRows: VisitorInput[]) {
  const plain = <T>(row: T): T => JSON.parse(JSON.stringify(row));
  for (const row of customerRows) await db.insert(customers).values({ ...plain(row), siteId });
  for (const row of visitorRows) await db.insert(visitors).values({ ...plain(row), siteId });
}

/** Every profile of the site, keyed as the SQL side reports them: `v:<visitor id>` or `c:<customer id>`. */
export async function loadProfiles(siteId: number): Promise<Map<string, Profile>> {
  const customerRows = await db.select().from(customers).where(eq(customers.siteId, siteId));
  const visitorRows = await db.select().from(visitors).where(eq(visitors.siteId, siteId));
  const byId = new Map(customerRows.map((c) => [c.customerId, c]));
  const linked = new Set<string>();
  const profiles = new Map<string, Profile>();
  for (const v of visitorRows) {
    const customer = v.customerId ? (byId.get(v.customerId) ?? null) : null;
    if (v.customerId) linked.add(v.customerId);
    profiles.set(`v:${v.id}`, buildProfile(v, customer));
  }
  for (const c of customerRows) {
    if (!linked.has(c.customerId)) profiles.set(`c:${c.customerId}`, buildProfile(null, c));
  }
  return profiles;
}

export function profileKey(row: { visitorId: number | null; customerId: string | null }): string {
  return row.visitorId !== null ? `v:${row.visitorId}` : `c:${row.customerId}`;
}

export type SelectedProfile = { visitorId: number | null; cookieId: string | null; customerId: string | null };

/**
 * Every profile the SQL back end selects: the compiled condition (segmentWhere, what audiences,
 * webhooks and the preview run) over the set of profiles the preview and its count query
 * (profilesFrom), listed in full so a test can compare it with the edge evaluator. Visitors first,
 * by ID, then CRM-only customers.
 */
export async function selectProfiles(
  database: Db,
  siteId: number,
  expression: string,
  now: number,
): Promise<SelectedProfile[]> {
  return database.all<SelectedProfile>(
    sql`select v.id as visitorId, v.cookie_id as cookieId, coalesce(c.customer_id, v.customer_id) as customerId
      ${profilesFrom(siteId)} where ${segmentWhere(expression, now)} order by p.vid is null, p.vid, c.id`,
  );
}
