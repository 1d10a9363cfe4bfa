import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyEventBatch, type TagEvent } from "../../worker/collect";
import { claimCoupon } from "../../worker/coupons";
import { createDb } from "../../worker/db/client";
import { call } from "../fixtures/api";
import { createSiteWithId, insertCodes, insertPool } from "./helpers";

// The API route redeems at the real clock, so claims are made around it.
const NOW = Date.now();

function purchase(order: string, coupon: string, value = 99) {
  return {
    type: "purchase",
    ts: NOW,
    url: "https://shop.example/thanks",
    ref: null,
    props: { order, value, coupon },
  } as TagEvent;
}

/** A customer C-1 linked to `cookie`, holding a claimed code of rule 31. */
async function customerWithCode() {
  const site = await createSiteWithId();
  const cookie = `cookie-${crypto.randomUUID()}`;
  await env.DB.batch([
    env.DB.prepare("insert into customers (site_id, customer_id, coupons_redeemed) values (?, 'C-1', 0)").bind(
      site.siteId,
    ),
    env.DB.prepare(
      "insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at) values (?, ?, 'C-1', ?, ?)",
    ).bind(site.siteId, cookie, NOW, NOW),
  ]);
  const pool = await insertPool(site.siteId, { kind: "list" });
  await insertCodes(site.siteId, pool.id, ["TW-1"]);
  await claimCoupon(env.DB, {
    siteId: site.siteId,
    pool,
    holder: "c:C-1",
    cookieId: cookie,
    customerId: "C-1",
    ruleId: 31,
    now: NOW,
  });
  const counted = async () =>
    (await env.DB.prepare("select coupons_redeemed as n from customers where site_id = ?")
      .bind(site.siteId)
      .first<{ n: number }>())!.n;
  return { ...site, cookie, counted };
}

describe("a purchase event carrying a coupon", () => {
  it("redeems the code for its order, marks the rule converted and counts it once for the customer", async () => {
    const { siteId, cookie, counted, apiKey } = await customerWithCode();
    await applyEventBatch(createDb(env.DB), { id: siteId }, cookie, [purchase("O-1", "TW-1", 120)], NOW);
    const coupon = await env.DB.prepare("select redeemed_at, order_id from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: NOW, order_id: "O-1" });
    const conversion = await env.DB.prepare(
      "select cookie_id, order_id, revenue from rule_conversions where rule_id = 31",
    ).first();
    expect(conversion).toEqual({ cookie_id: cookie, order_id: "O-1", revenue: 120 });
    expect(await counted()).toBe(1);

    // The shop backend reports the same redemption afterwards: refused, and not counted again.
    const res = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: apiKey,
      json: { code: "TW-1", order: "O-1" },
    });
    expect(res.status).toBe(409);
    expect(await counted()).toBe(1);
  });

  it("counts once when the API redeemed first and the purchase event follows", async () => {
    const { siteId, cookie, counted, apiKey } = await customerWithCode();
    const res = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: apiKey,
      json: { code: "TW-1", order: "O-1" },
    });
    expect(res.status).toBe(200);
    await applyEventBatch(createDb(env.DB), { id: siteId }, cookie, [purchase("O-1", "TW-1")], NOW + 1000);
    expect(await counted()).toBe(1);
    const customer = await env.DB.prepare("select orders from customers where site_id = ?").bind(siteId).first();
    expect(customer).toEqual({ orders: 1 });
  });

  it("still counts a coupon that is not a tagwerk code, and redeems nothing for it", async () => {
    const { siteId, cookie, counted } = await customerWithCode();
    await applyEventBatch(createDb(env.DB), { id: siteId }, cookie, [purchase("O-2", "NEWSLETTER10")], NOW);
    expect(await counted()).toBe(1);
    const coupon = await env.DB.prepare("select redeemed_at from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: null });
  });

  it("a retried event batch redeems once and leaves the code with the first order", async () => {
    const { siteId, cookie, counted } = await customerWithCode();
    const db = createDb(env.DB);
    await applyEventBatch(db, { id: siteId }, cookie, [purchase("O-3", "TW-1")], NOW);
    await applyEventBatch(db, { id: siteId }, cookie, [purchase("O-3", "TW-1")], NOW + 5);
    expect(await counted()).toBe(1);
    const coupon = await env.DB.prepare("select redeemed_at, order_id from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: NOW, order_id: "O-3" });
  });
});
