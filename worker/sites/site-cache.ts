/**
 * Sites by key, kept per isolate for a few seconds. Every `POST /e` needs its site (allowed
 * origins, consent mode) before it can accept a batch; reading it from D1 each time made a batch of
 * events cost two round trips where the budget is one (bench/RESULTS.md, "Ingestion"). A settings
 * change reaches every isolate within SITE_CACHE_MS; updateSite() drops the entry of its own isolate
 * at once. Unknown keys are not cached, so a new site works on its first request.
 */
import { eq } from "drizzle-orm";
import { sites } from "../db/schema";
import type { Db, Site } from "../env";
import { IsolateCache } from "../lib/isolate-cache";

const SITE_CACHE_MS = 10_000;
const cache = new IsolateCache<Site>(SITE_CACHE_MS);

export async function cachedSiteByKey(db: Db, key: string, now = Date.now()): Promise<Site | undefined> {
  const hit = cache.get(key, now);
  if (hit) return hit;
  const [site] = await db.select().from(sites).where(eq(sites.key, key)).limit(1);
  if (site) cache.set(key, site, now);
  else cache.delete(key);
  return site;
}

export function forgetCachedSite(key: string) {
  cache.delete(key);
}
