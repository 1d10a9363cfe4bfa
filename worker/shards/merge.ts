/**
 * Merging what the databases of a site's set answer (docs/architecture.md, "Shards": whatever reads
 * many people asks every shard of the set and merges). A read that must keep an order — an export
 * sorted by ID, the distinct customers a segment counts — reads each shard in keyset pages, sorted,
 * and merges the k streams: memory holds one page per shard whatever the site's size, which is what
 * a Worker's 128 MB allows (the exports' flat-memory promise, README.md "Cookie sync, audiences and
 * webhooks").
 */

/** Rows of one database, page by page: `next(after)` answers the rows after key `after`, sorted. */
export async function* keysetPages<T, K>(
  first: K,
  next: (after: K, limit: number) => Promise<T[]>,
  keyOf: (row: T) => K,
  pageSize = 1_000,
): AsyncGenerator<T> {
  let after = first;
  for (;;) {
    const rows = await next(after, pageSize);
    yield* rows;
    if (rows.length < pageSize) return;
    after = keyOf(rows[rows.length - 1] as T);
  }
}

/**
 * The k sorted streams as one sorted stream (ties: the earlier stream first). A linear scan of the
 * heads, not a heap: k is a site's shard count, a handful.
 */
export async function* mergeSorted<T>(streams: AsyncIterable<T>[], compare: (a: T, b: T) => number): AsyncGenerator<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const heads = await Promise.all(iterators.map((it) => it.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i] as IteratorResult<T>;
      if (head.done) continue;
      if (best < 0 || compare(head.value, (heads[best] as IteratorYieldResult<T>).value) < 0) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorYieldResult<T>).value;
    heads[best] = await (iterators[best] as AsyncIterator<T>).next();
  }
}

/** The sorted stream without repeats of an equal neighbour (what `select distinct` gives in one database). */
export async function* distinctSorted<T>(sorted: AsyncIterable<T>, equal: (a: T, b: T) => boolean): AsyncGenerator<T> {
  let last: { value: T } | null = null;
  for await (const value of sorted) {
    if (last && equal(last.value, value)) continue;
    last = { value };
    yield value;
  }
}

/** Compares strings as SQLite's BINARY collation orders them, for the ASCII IDs merged here (cookie IDs, hashes, CRM IDs). */
export function byBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first `limit` of several bounded lists merged by `compare`: each list needs only its own first `limit`. */
export function topOf<T>(lists: T[][], compare: (a: T, b: T) => number, limit: number): T[] {
  return lists.flat().sort(compare).slice(0, limit);
}
