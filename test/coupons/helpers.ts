/** Rows for coupon tests, made directly in D1 (pools through the API are tested in pools.test.ts). */
import { env } from "cloudflare:workers";
import { createTestSite, siteIdOf } from "../fixtures/api";

export async function createSiteWithId() {
  const site = await createTestSite();
  return { ...site, siteId: await siteIdOf(site.siteKey) };
}

export async function insertPool(
  siteId: number,
  pool: { kind: "list" | "generated"; prefix?: string; validDays?: number; name?: string },
) {
  const row = await env.DB.prepare(
    "insert into coupon_pools (site_id, name, kind, prefix, valid_days, discount) values (?, ?, ?, ?, ?, '10 %') returning id",
  )
    .bind(siteId, pool.name ?? "pool", pool.kind, pool.prefix ?? "", pool.validDays ?? 30)
    .first<{ id: number }>();
  return { id: row!.id, kind: pool.kind, prefix: pool.prefix ?? "", validDays: pool.validDays ?? 30 };
}

export async function insertCodes(siteId: number, poolId: number, codes: string[]) {
  await env.DB.batch(
    codes.map((code) =>
      env.DB.prepare("insert into coupons (site_id, pool_id, code) values (?, ?, ?)").bind(siteId, poolId, code),
    ),
  );
}
