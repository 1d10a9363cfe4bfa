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

const SITE_CACHE_MS = 10_000;
const MAX_ENTRIES = 1_000;
const cache = new Map<string, { site: Site; until: number }>();

export async function cachedSiteByKey(db: Db, key: string, now = Date.now()): Promise<Site | undefined> {
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.site;
  const [site] = await db.select().from(sites).where(eq(sites.key, key)).limit(1);
  if (site) {
    // Bounded: keys come from requests; the oldest entry goes first.
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(key, { site, until: now + SITE_CACHE_MS });
  } else cache.delete(key);
  return site;
}

export function forgetCachedSite(key: string) {
  cache.delete(key);
}
