/**
 * Seeds the same people into a site on a shard set and into a twin in HOME (shards null), writing
 * every row where docs/architecture.md ("Shards") puts it, through the routing module: a cookie's
 * rows on the cookie's shard, a customer's own row on the customer's shard and a copy on each other
 * shard holding one of its cookies (noted in `copies_on`). The twin is the oracle: a fan-out read of
 * the sharded site must answer what the same read of the twin answers.
 */
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { createDb } from "../../worker/db/client";
import { customers, visitors } from "../../worker/db/schema";
import { peopleFor, peopleOfSite, type ShardSet, shardBindings } from "../../worker/shards/routing";
import { createTestSite, siteIdOf } from "../fixtures/api";

/** The one database of every site without a shard set: HOME. */
export const HOME_PEOPLE = peopleOfSite(env, { shards: null });

export type SiteOnSet = { id: number; key: string; apiKey: string; shards: ShardSet };

/** A site made through the API, then put on `shards` (before any request caches it). */
export async function siteOn(shards: ShardSet, settings: Record<string, unknown> = {}): Promise<SiteOnSet> {
  const { siteKey, apiKey } = await createTestSite(settings);
  const id = await siteIdOf(siteKey);
  await env.DB.prepare("update sites set shards = ? where id = ?")
    .bind(shards === null ? null : JSON.stringify(shards), id)
    .run();
  return { id, key: siteKey, apiKey, shards };
}

export type CustomerSeed = Omit<typeof customers.$inferInsert, "siteId" | "copy" | "copiesOn">;
export type VisitorSeed = Omit<typeof visitors.$inferInsert, "siteId">;

/** Writes the customers and visitors where the site's set puts them (HOME when it has none). */
export async function seedPeople(site: SiteOnSet, customerRows: CustomerSeed[], visitorRows: VisitorSeed[]) {
  for (const row of customerRows) {
    await peopleFor(env, site, row.customerId)
      .db.insert(customers)
      .values({ ...row, siteId: site.id });
  }
  await seedVisitors(site, customerRows, visitorRows);
}

/** Writes visitors on their shards, with a copy of their customer (one of `customerRows`) beside each. */
export async function seedVisitors(site: SiteOnSet, customerRows: CustomerSeed[], visitorRows: VisitorSeed[]) {
  for (const row of visitorRows) {
    const people = peopleFor(env, site, row.cookieId);
    await people.db.insert(visitors).values({ ...row, siteId: site.id });
    const owner = row.customerId ? customerRows.find((c) => c.customerId === row.customerId) : undefined;
    if (!owner || people.shard === null) continue;
    const home = peopleFor(env, site, owner.customerId);
    if (home.shard === people.shard) continue;
    // The link writer's copy on the cookie's shard, and the note on the customer's own row.
    await people.db
      .insert(customers)
      .values({ ...owner, siteId: site.id, copy: true })
      .onConflictDoNothing();
    await home.db.run(
      sql`update customers set copies_on = (select json_group_array(value) from (
            select value from json_each(copies_on) union select ${people.shard} order by 1))
          where site_id = ${site.id} and customer_id = ${owner.customerId}`,
    );
  }
}

/** How many rows of the site each PEOPLE shard holds in `table` (to show the data is spread). */
export async function rowsPerShard(table: "visitors" | "customers", siteId: number): Promise<number[]> {
  return Promise.all(
    shardBindings(env).map(async (d1) => {
      const row = await d1
        .prepare(`select count(*) as n from ${table} where site_id = ?`)
        .bind(siteId)
        .first<{ n: number }>();
      return row?.n ?? 0;
    }),
  );
}

/** A row of `site` written straight onto shard `k`, whatever the site's set says: a decoy a read must never see. */
export function shardDb(k: number) {
  const d1 = shardBindings(env)[k];
  if (!d1) throw new Error(`the deployment has no shard ${k}`);
  return createDb(d1);
}

/** Cookie IDs (32 hex characters) that differ in their last characters, so they spread over shards. */
export function cookieOf(n: number): string {
  return n.toString(16).padStart(32, "0");
}
