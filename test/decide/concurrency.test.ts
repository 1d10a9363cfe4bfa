import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE } from "../fixtures/api";
import { type BannerJson, bannerSite, randomCookie } from "../fixtures/banner";

describe("one-time codes under concurrency", () => {
  it("gives 50 of 100 simultaneous first visitors the pool's 50 codes, all distinct, the others the no-coupon variant", async () => {
    const site = await bannerSite();
    const creative = await site.creative(
      "html",
      '<a href="{{click_url}}">{{#coupon}}CODE:{{coupon}}{{/coupon}}{{^coupon}}NO-COUPON{{/coupon}}</a>',
    );
    const pool = await site.pool();
    await site.codes(
      pool,
      Array.from({ length: 50 }, (_, i) => `CODE-${String(i).padStart(3, "0")}`),
    );
    await site.rule({ creative_id: creative, pool_id: pool });

    // 100 people, each from an address of their own (one address claims at most 10 codes a minute:
    // worker/coupons/claim-gate.ts).
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        exports.default.fetch(
          new Request(`${BASE}/b/slot?site=${site.siteKey}&format=json`, {
            headers: { Cookie: `tw_id=${randomCookie()}`, "CF-Connecting-IP": `10.50.0.${i}` },
          }),
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as BannerJson[];
    const codes = bodies.filter((b) => b.coupon).map((b) => b.coupon!.code);
    expect(codes).toHaveLength(50);
    expect(new Set(codes).size).toBe(50);
    for (const body of bodies) {
      expect(body.creative.body).toContain(body.coupon ? `CODE:${body.coupon.code}` : "NO-COUPON");
    }
    const holders = await env.DB.prepare(
      "select count(distinct holder) as n from coupons where pool_id = ? and holder is not null",
    )
      .bind(pool)
      .first<number>("n");
    expect(holders).toBe(50);
  });
});
