/** Sites on shard sets, and where their rows are, for the tests of the writers (docs/architecture.md, "Shards"). */
import { env } from "cloudflare:workers";
import { shardBindings } from "../../worker/shards/routing";
import { createTestSite, siteIdOf } from "../fixtures/api";

export const randomCookie = () =>
  [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A site on `set`, as the operator would place it. */
export async function shardedSite(set: number[], settings: Record<string, unknown> = {}) {
  const site = await createTestSite(settings);
  const siteId = await siteIdOf(site.siteKey);
  await env.DB.prepare("update sites set shards = ?2 where id = ?1").bind(siteId, JSON.stringify(set)).run();
  return { ...site, siteId, set };
}

/** Rows of `table` of the site on each shard of the deployment (index → count), and in HOME. */
export async function countsByDatabase(table: string, siteId: number) {
  const count = async (d1: D1Database) =>
    (await d1.prepare(`select count(*) as n from ${table} where site_id = ?`).bind(siteId).first<{ n: number }>())?.n ??
    0;
  return {
    home: await count(env.DB),
    shards: await Promise.all(shardBindings(env).map(count)),
  };
}
