/**
 * What an isolate keeps between requests: module state outlives a request in a Workers isolate, so
 * a map at module level is a per-isolate cache, shared by every request the isolate serves and
 * lost when it is evicted. The site caches (sites/site-cache.ts for `/e`, decide/trusted-sites.ts
 * for anonymous banners, the decision path's last known sites for its fallback) are built on this
 * one class, so each says only how long it trusts an entry and how many it keeps: keys come from
 * requests, so every cache is bounded, and the oldest entry goes first.
 */

type Entry<V> = { value: V; until: number };

/** Every cache of the isolate, for clearIsolateCaches(). */
const caches = new Set<IsolateCache<unknown>>();

export class IsolateCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  /** `ttlMs`: how long an entry is trusted (Infinity: until replaced); `maxEntries`: the bound. */
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1_000,
  ) {
    caches.add(this as IsolateCache<unknown>);
  }

  /** The entry if it is younger than the cache's trust period. */
  get(key: string, now = Date.now()): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.until > now ? hit.value : undefined;
  }

  set(key: string, value: V, now = Date.now()) {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  delete(key: string) {
    this.entries.delete(key);
  }

  /** Drops the entries whose value matches, e.g. every key of one site after a write to it. */
  deleteWhere(matches: (value: V) => boolean) {
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  clear() {
    this.entries.clear();
  }
}

/**
 * Empties every cache of the isolate (tests that empty the database between files: a site key
 * seeded again gets a new row ID, which an entry of the emptied database would still name).
 * @internal Exported for tests; the Worker itself does not import it.
 */
export function clearIsolateCaches() {
  for (const cache of caches) cache.clear();
}
