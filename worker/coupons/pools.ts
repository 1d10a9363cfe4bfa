/**
 * Coupon pools: a `list` pool hands out codes the shop uploaded; a `generated` pool makes a code
 * at the edge on each first claim (so it never runs dry and needs no pre-generation endpoint).
 * Every change bumps the site's rules version: the decision path caches pools with the rules.
 */
import { and, eq, sql } from "drizzle-orm";
import { claimRefusals, couponPools, coupons, rules } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY, utcDayKey } from "../lib/time";
import { bumpRulesVersion } from "../sites/store";
import { archivedSql } from "./state";

export type Pool = typeof couponPools.$inferSelect;

/**
 * What the admin UI shows per pool. `free` ("codes left") is null for generated pools;
 * `assigned` counts live, unredeemed assignments; `expired` the unredeemed ones past expiry.
 */
export type PoolCounts = {
  total: number;
  free: number | null;
  assigned: number;
  expired: number;
  redeemed: number;
  archived: number;
};

export type PoolInput = {
  name: string;
  kind: "list" | "generated";
  prefix?: string;
  validDays?: number;
  discount?: string;
};

export async function createPool(db: Db, siteId: number, input: PoolInput): Promise<Pool> {
  const [pool] = await db
    .insert(couponPools)
    .values({
      siteId,
      name: input.name,
      kind: input.kind,
      prefix: input.prefix ?? "",
      validDays: input.validDays ?? 30,
      discount: input.discount ?? "",
    })
    .returning();
  await bumpRulesVersion(db, siteId);
  return pool;
}

export async function getPool(db: Db, siteId: number, poolId: number): Promise<Pool> {
  const [pool] = await db
    .select()
    .from(couponPools)
    .where(and(eq(couponPools.siteId, siteId), eq(couponPools.id, poolId)));
  if (!pool) throw apiError(404, "not_found", `No coupon pool ${poolId} in this site`);
  return pool;
}

export async function listPools(db: Db, siteId: number): Promise<Pool[]> {
  return db.select().from(couponPools).where(eq(couponPools.siteId, siteId)).orderBy(couponPools.id);
}

export async function updatePool(
  db: Db,
  siteId: number,
  poolId: number,
  patch: Partial<Omit<PoolInput, "kind">> & { kind?: PoolInput["kind"] },
): Promise<Pool> {
  const current = await getPool(db, siteId, poolId);
  if (patch.kind !== undefined && patch.kind !== current.kind) {
    throw apiError(409, "kind_immutable", "A pool's kind cannot change; create a new pool instead");
  }
  const columns = Object.fromEntries(
    Object.entries({
      name: patch.name,
      prefix: patch.prefix,
      validDays: patch.validDays,
      discount: patch.discount,
    }).filter(([, value]) => value !== undefined),
  );
  if (Object.keys(columns).length === 0) return current;
  const [updated] = await db
    .update(couponPools)
    .set({ ...columns, updatedAt: Date.now() })
    .where(and(eq(couponPools.siteId, siteId), eq(couponPools.id, poolId)))
    .returning();
  await bumpRulesVersion(db, siteId);
  return updated;
}

/** Deletes the pool and its codes; refused while a rule still hands out its codes. */
export async function deletePool(db: Db, siteId: number, poolId: number): Promise<void> {
  await getPool(db, siteId, poolId);
  const users = await db
    .select({ id: rules.id, name: rules.name })
    .from(rules)
    .where(and(eq(rules.siteId, siteId), eq(rules.poolId, poolId)));
  if (users.length > 0) {
    const names = users.map((r) => `${r.id} "${r.name}"`).join(", ");
    throw apiError(409, "pool_in_use", `Rules still use this pool: ${names}`);
  }
  await db.delete(couponPools).where(and(eq(couponPools.siteId, siteId), eq(couponPools.id, poolId)));
  await bumpRulesVersion(db, siteId);
}

/** Counts for every pool of the site (or one), in one aggregate query. */
export async function poolCounts(db: Db, siteId: number, now: number, poolId?: number) {
  const archived = archivedSql(now);
  const live = sql`${coupons.holder} is not null and ${coupons.redeemedAt} is null and not ${archived}`;
  const rows = await db
    .select({
      poolId: coupons.poolId,
      total: sql<number>`count(*)`,
      free: sql<number>`coalesce(sum(${coupons.holder} is null), 0)`,
      assigned: sql<number>`coalesce(sum(${live} and ${coupons.expiresAt} > ${now}), 0)`,
      expired: sql<number>`coalesce(sum(${live} and ${coupons.expiresAt} <= ${now}), 0)`,
      redeemed: sql<number>`coalesce(sum(${coupons.redeemedAt} is not null), 0)`,
      archived: sql<number>`coalesce(sum(${archived}), 0)`,
    })
    .from(coupons)
    .where(
      poolId === undefined ? eq(coupons.siteId, siteId) : and(eq(coupons.siteId, siteId), eq(coupons.poolId, poolId)),
    )
    .groupBy(coupons.poolId);
  return new Map(rows.map((r) => [r.poolId, r]));
}

export function countsOf(pool: Pool, row: (Omit<PoolCounts, "free"> & { free: number }) | undefined): PoolCounts {
  const counts = row ?? { total: 0, free: 0, assigned: 0, expired: 0, redeemed: 0, archived: 0 };
  return {
    total: counts.total,
    free: pool.kind === "generated" ? null : counts.free,
    assigned: counts.assigned,
    expired: counts.expired,
    redeemed: counts.redeemed,
    archived: counts.archived,
  };
}

/** Claims the gate refused (claim-gate.ts), per UTC day and reason, newest first. */
export type RefusedClaims = { day: string; reason: "ip_limit" | "pool_limit" | "policy"; count: number }[];

/** How many days of refused claims a pool shows its owner. */
const REFUSED_DAYS = 30;

/** Refused claims of every pool of the site (or one) over the last 30 UTC days, in one query. */
export async function refusedClaims(db: Db, siteId: number, now: number, poolId?: number) {
  const since = utcDayKey(now - (REFUSED_DAYS - 1) * MS_PER_DAY);
  const site = and(eq(claimRefusals.siteId, siteId), sql`${claimRefusals.day} >= ${since}`);
  const rows = await db
    .select()
    .from(claimRefusals)
    .where(poolId === undefined ? site : and(site, eq(claimRefusals.poolId, poolId)))
    .orderBy(sql`${claimRefusals.day} desc`, claimRefusals.reason);
  const byPool = new Map<number, RefusedClaims>();
  for (const { poolId: id, day, reason, count } of rows) {
    byPool.set(id, [...(byPool.get(id) ?? []), { day, reason, count }]);
  }
  return byPool;
}

export function poolToJson(pool: Pool, counts: PoolCounts, refused: RefusedClaims = []) {
  return {
    id: pool.id,
    name: pool.name,
    kind: pool.kind,
    prefix: pool.prefix,
    valid_days: pool.validDays,
    discount: pool.discount,
    created_at: pool.createdAt,
    updated_at: pool.updatedAt,
    counts,
    refused_claims: refused,
  };
}

/** One pool as `GET` and `PATCH /api/v1/pools/:pool` answer it: with its counts and refused claims now. */
export async function poolWithCounts(db: Db, siteId: number, pool: Pool, now: number) {
  const [counts, refused] = await Promise.all([
    poolCounts(db, siteId, now, pool.id),
    refusedClaims(db, siteId, now, pool.id),
  ]);
  return poolToJson(pool, countsOf(pool, counts.get(pool.id)), refused.get(pool.id));
}
