/**
 * The claim gate (worker/coupons/claim-gate.ts) and the guards inside the claim SQL
 * (worker/coupons/claim.ts): an anonymous flood from one address cannot drain a pool, a pool is
 * claimed at a bounded pace, the site decides who may claim at all, an erased person is never
 * written back into coupons — and the pool's owner sees every refused claim.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { couponHolder } from "../../worker/coupons";
import { claimCoupon } from "../../worker/coupons/claim";
import { addressBucket } from "../../worker/coupons/claim-gate";
import { refreshDecisionRows } from "../../worker/decide/decision-rows";
import { utcDayKey } from "../../worker/lib/time";
import { call } from "../fixtures/api";
import { type BannerJson, bannerSite, fetchWorker, insertVisitor, randomCookie } from "../fixtures/banner";
import { insertPool } from "./helpers";

type PoolJson = { refused_claims: { day: string; reason: string; count: number }[] };

/** A site with a rule whose banner shows `CODE:…` or `NO-CODE`, handing out `codes` list codes. */
async function poolSite(codes: number, settings: Record<string, unknown> = {}) {
  const site = await bannerSite(settings);
  const creative = await site.creative("html", "{{#coupon}}CODE:{{coupon}}{{/coupon}}{{^coupon}}NO-CODE{{/coupon}}");
  const pool = await site.pool();
  await site.codes(
    pool,
    Array.from({ length: codes }, (_, i) => `GATE-${i}`),
  );
  const rule = await site.rule({ creative_id: creative, pool_id: pool });
  return { ...site, pool, rule };
}

async function banner(siteKey: string, cookie: string, ip: string): Promise<BannerJson> {
  const res = await fetchWorker(`/b/slot?site=${siteKey}&format=json`, { cookie, headers: { "CF-Connecting-IP": ip } });
  expect(res.status).toBe(200);
  return (await res.json()) as BannerJson;
}

async function refusedToday(apiKey: string, pool: number): Promise<Record<string, number>> {
  const res = await call(`/api/v1/pools/${pool}`, { key: apiKey });
  expect(res.status).toBe(200);
  const today = utcDayKey(Date.now());
  const rows = ((await res.json()) as PoolJson).refused_claims.filter((r) => r.day === today);
  return Object.fromEntries(rows.map((r) => [r.reason, r.count]));
}

async function heldCodes(pool: number): Promise<number> {
  return (await env.DB.prepare("select count(*) as n from coupons where pool_id = ? and holder is not null")
    .bind(pool)
    .first<number>("n"))!;
}

describe("the claim bounds", () => {
  it("100 fresh cookies from one address take at most 10 codes of a 36-code pool; the rest see the banner without a code", async () => {
    const site = await poolSite(36);
    const bodies: BannerJson[] = [];
    // The limiter counts in fixed 60 s windows: a slow run that crosses one may get a second 10.
    const windows = () => Math.floor(Date.now() / 60_000);
    const firstWindow = windows();
    for (let i = 0; i < 100; i++) bodies.push(await banner(site.siteKey, randomCookie(), "198.51.100.7"));
    const bound = 10 * (windows() - firstWindow + 1);
    const coded = bodies.filter((b) => b.coupon);
    expect(coded.length).toBeGreaterThanOrEqual(10);
    expect(coded.length).toBeLessThanOrEqual(bound);
    // A refused claim is the rule's banner without a code, as a dry pool is.
    expect(bodies.every((b) => b.rule === site.rule)).toBe(true);
    expect(bodies.filter((b) => !b.coupon).every((b) => String(b.creative.body).includes("NO-CODE"))).toBe(true);
    expect(await heldCodes(site.pool)).toBe(coded.length);
    expect(await refusedToday(site.apiKey, site.pool)).toEqual({ ip_limit: 100 - coded.length });
    // Another address is not held up by the flood.
    expect((await banner(site.siteKey, randomCookie(), "192.0.2.44")).coupon).not.toBeNull();
  });

  it("counts an IPv6 /64 as one address", async () => {
    const site = await poolSite(36);
    const bodies: BannerJson[] = [];
    for (let i = 1; i <= 14; i++)
      bodies.push(await banner(site.siteKey, randomCookie(), `2001:db8:7:9::${i.toString(16)}`));
    expect(bodies.filter((b) => b.coupon)).toHaveLength(10);
    expect(await refusedToday(site.apiKey, site.pool)).toEqual({ ip_limit: 4 });
    // A PATCH answers the pool as GET does, refused claims included.
    const patched = await call(`/api/v1/pools/${site.pool}`, {
      method: "PATCH",
      key: site.apiKey,
      json: { discount: "5 %" },
    });
    expect(patched.status).toBe(200);
    const get = await call(`/api/v1/pools/${site.pool}`, { key: site.apiKey });
    expect(await patched.json()).toEqual(await get.json());
    expect(addressBucket("2001:db8:7:9:a:b:c:d")).toBe(addressBucket("2001:0db8:7:9::1"));
    expect(addressBucket("2001:db8:7:9::1")).not.toBe(addressBucket("2001:db8:7:a::1"));
    expect(addressBucket("203.0.113.9")).toBe("203.0.113.9");
  });

  it("hands out at most 100 codes a pool per 10 s, whatever the number of addresses", async () => {
    const site = await poolSite(150);
    const bodies = await Promise.all(
      Array.from({ length: 130 }, (_, i) => banner(site.siteKey, randomCookie(), `10.9.${i >> 8}.${i & 255}`)),
    );
    expect(bodies.filter((b) => b.coupon)).toHaveLength(100);
    expect(await refusedToday(site.apiKey, site.pool)).toEqual({ pool_limit: 30 });
  });
});

describe("the site's claim policy", () => {
  it("is a site setting, read and changed through /api/v1/site", async () => {
    const site = await bannerSite();
    const before = (await (await call("/api/v1/site", { key: site.apiKey })).json()) as Record<string, unknown>;
    expect(before).toMatchObject({ claim_policy: "any", claim_min_visits: 2 });
    const res = await call("/api/v1/site", {
      method: "PATCH",
      key: site.apiKey,
      json: { claim_policy: "visited", claim_min_visits: 3 },
    });
    expect(await res.json()).toMatchObject({ claim_policy: "visited", claim_min_visits: 3 });
    const bad = await call("/api/v1/site", { method: "PATCH", key: site.apiKey, json: { claim_policy: "everyone" } });
    expect(bad.status).toBe(400);
  });

  it("claim_policy customers: an anonymous cookie claims nothing (counted as policy), a linked customer gets a code", async () => {
    const site = await poolSite(5, { claim_policy: "customers" });
    const anonymous = randomCookie();
    await insertVisitor(site.siteId, anonymous);
    const refused = await banner(site.siteKey, anonymous, "192.0.2.10");
    expect(refused.rule).toBe(site.rule);
    expect(refused.coupon).toBeNull();
    const linked = randomCookie();
    await insertVisitor(site.siteId, linked, { customerId: "C-GATE-1" });
    expect((await banner(site.siteKey, linked, "192.0.2.10")).coupon).not.toBeNull();
    expect(await heldCodes(site.pool)).toBe(1);
    expect(await refusedToday(site.apiKey, site.pool)).toEqual({ policy: 1 });
  });

  it("claim_policy visited: a cookie with fewer visits than claim_min_visits claims nothing, one with enough does", async () => {
    const site = await poolSite(5, { claim_policy: "visited", claim_min_visits: 3 });
    const fresh = randomCookie();
    expect((await banner(site.siteKey, fresh, "192.0.2.11")).coupon).toBeNull();
    const regular = randomCookie();
    await insertVisitor(site.siteId, regular);
    await env.DB.prepare("update visitors set visits = 3 where cookie_id = ?").bind(regular).run();
    // Written past the writers: the decision row (whose visits the claim goes by) is made as a writer would.
    await refreshDecisionRows(env.DB, site.siteId, { cookies: [regular] }, Date.now());
    expect((await banner(site.siteKey, regular, "192.0.2.11")).coupon).not.toBeNull();
    expect(await refusedToday(site.apiKey, site.pool)).toEqual({ policy: 1 });
  });
});

describe("an erased person", () => {
  it("is not written back into coupons by a banner's claim after the erasure", async () => {
    const site = await poolSite(5);
    const cookie = randomCookie();
    await insertVisitor(site.siteId, cookie);
    expect((await call(`/api/v1/visitors/${cookie}`, { method: "DELETE", key: site.apiKey })).status).toBe(204);
    // The browser still sends its old cookie.
    const after = await banner(site.siteKey, cookie, "192.0.2.12");
    expect(after.coupon).toBeNull();
    const rows = await env.DB.prepare("select count(*) as n from coupons where cookie_id = ? or holder = ?")
      .bind(cookie, `v:${cookie}`)
      .first<number>("n");
    expect(rows).toBe(0);
  });

  it("claims nothing for an erased customer or cookie, in the claim SQL itself", async () => {
    const site = await bannerSite();
    for (const kind of ["list", "generated"] as const) {
      const pool = await insertPool(site.siteId, { kind });
      if (kind === "list") await site.codes(pool.id, ["ERASED-1", "ERASED-2"]);
      const cookieId = randomCookie();
      await env.DB.batch(
        [
          env.DB.prepare(
            "insert into erasures (site_id, kind, subject, erased_at) values (?, 'customer', 'C-ERASED', 1)",
          ).bind(site.siteId),
          env.DB.prepare(
            "insert or ignore into erasures (site_id, kind, subject, erased_at) values (?, 'cookie', ?, 1)",
          ).bind(site.siteId, cookieId),
        ].slice(kind === "list" ? 0 : 1),
      );
      const base = { siteId: site.siteId, pool, ruleId: null, now: Date.now() };
      const asCustomer = await claimCoupon(env.DB, env, {
        shards: null,
        visits: 0,
        ...base,
        holder: couponHolder({ customerId: "C-ERASED" }),
        cookieId: randomCookie(),
        customerId: "C-ERASED",
      });
      const asCookie = await claimCoupon(env.DB, env, {
        shards: null,
        visits: 0,
        ...base,
        holder: couponHolder({ cookieId }),
        cookieId,
        customerId: null,
      });
      expect([asCustomer, asCookie]).toEqual([null, null]);
      expect(await heldCodes(pool.id)).toBe(0);
    }
  });
});
