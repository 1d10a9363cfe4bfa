/**
 * The shard set and consent mode of sites by ID, for the consumers: a queue message names its site
 * by ID, and where its people are (worker/shards/routing.ts) is decided when it is written, not
 * when it was sent — a message retried across a move lands where the site is now. Kept per isolate
 * for SITE_SET_CACHE_MS, as the other site caches (sites/site-cache.ts) keep theirs; a move waits
 * that long between its phases so every isolate sees each one (shards/moves.ts).
 */
import { IsolateCache } from "../lib/isolate-cache";
import type { ShardEnv, ShardSet } from "./routing";

/** @internal Exported for tests; the Worker itself does not import it. */
export const SITE_SET_CACHE_MS = 10_000;

export type SitePlacement = { id: number; shards: ShardSet; consentMode: "required" | "implied" };

const cache = new IsolateCache<SitePlacement>(SITE_SET_CACHE_MS);

/** The sites among `siteIds` that exist, by ID: from the isolate, else one HOME read for the rest. */
export async function sitePlacements(
  env: ShardEnv,
  siteIds: Iterable<number>,
  now = Date.now(),
): Promise<Map<number, SitePlacement>> {
  const found = new Map<number, SitePlacement>();
  const missing: number[] = [];
  for (const id of new Set(siteIds)) {
    const hit = cache.get(String(id), now);
    if (hit) found.set(id, hit);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const { results } = await env.DB.prepare(
    `select id, shards, consent_mode as consentMode from sites where id in (select value from json_each(?1))`,
  )
    .bind(JSON.stringify(missing))
    .all<{ id: number; shards: string | null; consentMode: "required" | "implied" }>();
  for (const row of results) {
    const site = { ...row, shards: row.shards === null ? null : (JSON.parse(row.shards) as number[]) };
    cache.set(String(row.id), site, now);
    found.set(row.id, site);
  }
  return found;
}
