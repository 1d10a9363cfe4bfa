/**
 * The browser is anonymous (docs/architecture.md, "Trust boundaries"), on a site spread over shards
 * too: what arrives through /e, /b and /c is behaviour of that cookie. A browser that names
 * another person's customer ID without the shop's signature, redeems another person's code, and
 * asks for banners changes no customer, code, product or other visitor on any shard, and writes
 * nothing outside the site's set.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { peopleFor } from "../../worker/shards/routing";
import { event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { importCsv } from "../fixtures/api";
import { bannerJson, bannerSite, randomCookie } from "../fixtures/banner";
import { expectOnlyOnItsShards } from "../isolation/fixtures";

const SET = [1, 3];

describe("an anonymous browser on a site on shards", () => {
  it("changes no customer, code, product or other visitor, and writes nothing outside the set", async () => {
    const site = await bannerSite({ allowed_origins: [SHOP], shards: SET });
    const where = { id: site.siteId, shards: SET };
    expect((await importCsv(site.apiKey, "customer_id,orders,lifetime_revenue\nC-1,2,100")).status).toBe(200);
    expect(
      (await importCsv(site.apiKey, "sku,name,price,category,available\nP-1,Ring,99,rings,true", "/api/v1/products"))
        .status,
    ).toBeLessThan(300);
    const pool = await site.pool();
    await site.codes(pool, ["K-1", "K-2"]);
    await site.rule({ creative_id: await site.creative("html", "<p>{{coupon}}</p>"), pool_id: pool });
    // The owner: a device the shop signed in as C-1, holding C-1's code.
    const owner = randomCookie();
    const signed = await postEvents(
      { site: site.siteKey, events: [event("page"), await signedIdentify(site.apiKey, "C-1")] },
      { cookie: owner },
    );
    expect(signed.status).toBe(204);
    const code = (await bannerJson(site.siteKey, "slot", owner)).coupon?.code;
    expect(code).toBe("K-1");

    const customerRow = () =>
      peopleFor(env, where, "C-1")
        .d1.prepare("select * from customers where site_id = ? and customer_id = 'C-1' and copy = 0")
        .bind(site.siteId)
        .first();
    const ownerRows = () =>
      peopleFor(env, where, owner)
        .d1.prepare(
          `select v.customer_id, v.visits, v.pageviews, v.cart, d.codes, d.customer from visitors v
           join decision_rows d on d.site_id = v.site_id and d.cookie_id = v.cookie_id
           where v.site_id = ? and v.cookie_id = ?`,
        )
        .bind(site.siteId, owner)
        .first();
    const home = () =>
      env.DB.prepare(
        `select (select json_group_array(json_array(code, holder, redeemed_at, order_id)) from coupons where site_id = ?1) as codes,
                (select json_group_array(json_array(sku, price, available)) from products where site_id = ?1) as products`,
      )
        .bind(site.siteId)
        .first();
    const before = { customer: await customerRow(), owner: await ownerRows(), home: await home() };
    expect(before.customer).not.toBeNull();
    expect(before.owner).toMatchObject({ customer_id: "C-1" });

    // The attacker's browser: an unsigned identify as C-1, a purchase with C-1's code, a look at
    // the product, then banners.
    const attacker = randomCookie();
    const res = await postEvents(
      {
        site: site.siteKey,
        events: [
          event("page"),
          event("identify", { customer: "C-1", sig: "0".repeat(64) }),
          event("purchase", { order: "X-1", value: 999, coupon: code }),
          event("view", { sku: "P-1", category: "rings", price: 1 }),
        ],
      },
      { cookie: attacker },
    );
    expect(res.status).toBeLessThan(500);
    const rejected = ((await res.json()) as { rejected: { reason: string }[] }).rejected.map((r) => r.reason);
    expect(rejected).toEqual(["unverified identify", "coupon not held by this visitor"]);
    const banner = await bannerJson(site.siteKey, "slot", attacker);
    expect(banner.coupon?.code).not.toBe(code);

    expect({ customer: await customerRow(), owner: await ownerRows(), home: await home() }).toEqual({
      ...before,
      // The attacker's own banner may take the pool's other code for its own cookie, nothing else.
      home: expect.anything(),
    });
    const codes = JSON.parse(String((await home())?.codes)) as [string, string | null, number | null, string | null][];
    expect(codes.find(([c]) => c === code)).toEqual([code, "c:C-1", null, null]);
    expect(JSON.parse(String((await home())?.products))).toEqual(JSON.parse(String(before.home?.products)));
    const linked = await peopleFor(env, where, attacker)
      .d1.prepare("select customer_id from visitors where site_id = ? and cookie_id = ?")
      .bind(site.siteId, attacker)
      .first<string | null>("customer_id");
    expect(linked).toBeNull();
    expect(await expectOnlyOnItsShards(site.siteId, SET)).toBeGreaterThan(0);
  });
});
