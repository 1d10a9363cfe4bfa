/**
 * The one module that knows where a person's rows live (docs/architecture.md, "Shards"). HOME is
 * the `DB` binding; the PEOPLE shards are `PEOPLE_0` … `PEOPLE_{N-1}`, and no other code names
 * them (test/shards/routing.test.ts checks the sources). A site's people live on the shards of its
 * set (`sites.shards`); a site whose set is null was created before shards and keeps its people in
 * HOME until the operator moves them.
 *
 * A row's shard is a stable hash of its key within the set — the cookie ID for everything keyed by
 * a cookie, the customer ID for a customer's own rows — so a request finds it with no lookup.
 */
import { createDb } from "../db/client";
import type { Db } from "../env";

/** The bindings this module reads: HOME; the PEOPLE_k are looked up by name (binding()). */
export type ShardEnv = { DB: D1Database };

/**
 * The name of shard `k`'s binding in wrangler.toml: the one place that spells it.
 * @internal Exported for the bench, which labels its per-binding D1 counts by it.
 */
export function shardBindingName(k: number): string {
  return `PEOPLE_${k}`;
}

/** The binding of shard `k`, if the deployment declares it (wrangler.toml). */
function binding(env: ShardEnv, k: number): D1Database | undefined {
  return (env as unknown as Record<string, D1Database | undefined>)[shardBindingName(k)];
}

/** Where a site's people live: the indexes of its PEOPLE shards, or null for HOME. */
export type ShardSet = readonly number[] | null;

/** One database a site's people live in: a PEOPLE shard by index, or HOME (`shard` null). */
export type PeopleDb = { shard: number | null; d1: D1Database; db: Db };

/**
 * Every PEOPLE shard the deployment has, by index: PEOPLE_0 up to the first missing one. Adding a
 * shard is adding the next binding (README.md, "Shards").
 */
export function shardBindings(env: ShardEnv): D1Database[] {
  const found: D1Database[] = [];
  for (let k = 0; ; k++) {
    const d1 = binding(env, k);
    if (!d1) return found;
    found.push(d1);
  }
}

/** The shard binding `k`, or an error naming it: a set that names a shard the deployment lacks. */
function shardBinding(env: ShardEnv, k: number): D1Database {
  const d1 = binding(env, k);
  if (!d1) throw new Error(`PEOPLE_${k} is not bound: the site's shard set names a shard this deployment lacks`);
  return d1;
}

/**
 * FNV-1a (32 bits) of the key's UTF-16 code units. Hand-written because it must be synchronous,
 * allocation-free and identical forever in every isolate (a row's shard may never change for the
 * same key and set); WebCrypto's digests are asynchronous and cost more than the whole lookup.
 * Cookie IDs are random hex, so any mixing hash spreads them evenly; customer IDs are the shop's.
 */
function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard (an index of the deployment's PEOPLE_k) that holds the rows keyed by `key` in `set`. */
export function shardOf(set: readonly number[], key: string): number {
  if (set.length === 0) throw new Error("an empty shard set holds nothing");
  return set[fnv1a(key) % set.length] as number;
}

function home(env: ShardEnv): PeopleDb {
  return { shard: null, d1: env.DB, db: createDb(env.DB) };
}

function shard(env: ShardEnv, k: number): PeopleDb {
  const d1 = shardBinding(env, k);
  return { shard: k, d1, db: createDb(d1) };
}

/** The database holding the rows keyed by `key` (a cookie ID or a customer ID) of a site. */
export function peopleFor(env: ShardEnv, site: { shards: ShardSet }, key: string): PeopleDb {
  return site.shards === null ? home(env) : shard(env, shardOf(site.shards, key));
}

/** Every database of the site's set, in set order: what a read of many people asks and merges. */
export function peopleOfSite(env: ShardEnv, site: { shards: ShardSet }): PeopleDb[] {
  return site.shards === null ? [home(env)] : site.shards.map((k) => shard(env, k));
}

/** `keys` grouped by the database that holds them: one batch per shard instead of one per key. */
export function groupByShard<T>(
  env: ShardEnv,
  site: { shards: ShardSet },
  items: readonly T[],
  keyOf: (item: T) => string,
): Array<{ people: PeopleDb; items: T[] }> {
  if (site.shards === null) return items.length === 0 ? [] : [{ people: home(env), items: [...items] }];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const k = shardOf(site.shards, keyOf(item));
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups].map(([k, grouped]) => ({ people: shard(env, k), items: grouped }));
}

/** Bytes each shard of the deployment holds now (D1's `meta.size_after` of a read that writes nothing). */
export async function shardSizes(env: ShardEnv): Promise<number[]> {
  return Promise.all(
    shardBindings(env).map(async (d1) => {
      const result = await d1.prepare("select 1").run();
      return Number(result.meta.size_after ?? 0);
    }),
  );
}

/** Where a new site goes unless the operator says otherwise: the least-full shard, first on ties. */
export async function leastFullShard(env: ShardEnv): Promise<number> {
  const sizes = await shardSizes(env);
  if (sizes.length === 0) throw new Error("no PEOPLE shard is bound (wrangler.toml: PEOPLE_0 …)");
  return sizes.indexOf(Math.min(...sizes));
}
