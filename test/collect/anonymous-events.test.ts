/**
 * The browser is anonymous (docs/architecture.md, "Trust boundaries"): whatever sequence of events a browser
 * sends through `POST /e` — unsigned or wrongly signed identifies naming real customers, purchases
 * of any value naming real codes, views rewriting products — no `customers` row changes and no
 * code held by another holder is redeemed.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../worker/coupons/claim";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { insertCodes, insertPool } from "../coupons/helpers";
import { bannerSite } from "../fixtures/banner";
import { postEvents, SHOP } from "./post-events";

const CUSTOMERS = ["C-1", "C-2", "C-3"];

describe("random anonymous event sequences", () => {
  it("never change a customers row and never redeem a code held by another holder", async () => {
    const s = await bannerSite({ allowed_origins: [SHOP] });
    const now = Date.now();
    for (const id of CUSTOMERS) {
      await env.DB.prepare(
        "insert into customers (site_id, customer_id, orders, lifetime_revenue, coupons_redeemed, clusters) values (?, ?, 1, 100, 0, '[\"rings\"]')",
      )
        .bind(s.siteId, id)
        .run();
    }
    const pool = await insertPool(s.siteId, { kind: "list" });
    await insertCodes(s.siteId, pool.id, ["K-1", "K-2", "K-3", "K-4"]);
    const victimCookie = newCookieId();
    const held: string[] = [];
    for (const id of CUSTOMERS) {
      const claimed = await claimCoupon(env.DB, env, {
        shards: null,
        visits: 0,
        siteId: s.siteId,
        pool,
        holder: `c:${id}`,
        cookieId: victimCookie,
        customerId: id,
        ruleId: 1,
        now,
      });
      held.push(claimed!.code);
    }
    const snapshot = () =>
      env.DB.prepare("select * from customers where site_id = ? order by customer_id").bind(s.siteId).all();
    const customersBefore = (await snapshot()).results;

    const customer = fc.constantFrom(...CUSTOMERS, "C-unknown");
    const code = fc.constantFrom(...held, "K-4", "NOPE");
    const anEvent = fc.oneof(
      fc.record({ type: fc.constant("identify"), props: fc.record({ customer }) }),
      fc.record({
        type: fc.constant("identify"),
        props: fc.record({ customer, sig: fc.stringMatching(/^[0-9a-f]{64}$/) }),
      }),
      fc.record({
        type: fc.constant("purchase"),
        props: fc.record(
          {
            order: fc.string({ minLength: 1, maxLength: 8 }),
            value: fc.double({ min: 0, max: 1e9, noNaN: true }),
            coupon: code,
          },
          { requiredKeys: ["order", "value"] },
        ),
      }),
      fc.record({
        type: fc.constant("view"),
        props: fc.record({
          sku: fc.constantFrom("R-1", "R-2"),
          name: fc.string({ maxLength: 20 }),
          price: fc.double({ min: 0, max: 1e6, noNaN: true }),
          category: fc.constant("rings"),
        }),
      }),
      fc.record({
        type: fc.constant("cart"),
        props: fc.record({
          action: fc.constantFrom("add", "remove"),
          sku: fc.constant("R-1"),
          qty: fc.integer({ min: 1, max: 3 }),
        }),
      }),
      fc.record({ type: fc.constant("consent"), props: fc.record({ granted: fc.boolean() }) }),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anEvent, { minLength: 1, maxLength: 8 }), fc.boolean(), async (events, known) => {
        runs += 1;
        const batch = { site: s.siteKey, events: events.map((e) => ({ ...e, ts: now, url: `${SHOP}/p` })) };
        const res = await postEvents(batch, known ? { cookie: newCookieId() } : {});
        expect(res.status).toBeLessThan(300);
        expect((await snapshot()).results).toEqual(customersBefore);
        const redeemed = await env.DB.prepare(
          "select count(*) as n from coupons where site_id = ? and redeemed_at is not null",
        )
          .bind(s.siteId)
          .first<{ n: number }>();
        expect(redeemed?.n).toBe(0);
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
    expect(await env.DB.prepare("select count(*) as n from products where site_id = ?").bind(s.siteId).first()).toEqual(
      { n: 0 },
    );
  });
});
