import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyEventBatch } from "../../worker/collect/apply-events";
import type { TagEvent } from "../../worker/collect/event-schema";
import { claimCoupon } from "../../worker/coupons/claim";
import { createDb } from "../../worker/db/client";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { event, postEvents, SHOP, signedIdentify } from "../collect/post-events";
import { call, createTestSite, errorOf, siteIdOf } from "../fixtures/api";
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
  await claimCoupon(env.DB, env, {
    shards: null,
    visits: 0,
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
    await applyEventBatch(env, { id: siteId, shards: null }, cookie, [purchase("O-1", "TW-1", 120)], NOW);
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
    await applyEventBatch(env, { id: siteId, shards: null }, cookie, [purchase("O-1", "TW-1")], NOW + 1000);
    expect(await counted()).toBe(1);
    // A browser purchase is behaviour of its cookie: the customer's orders come from the shop.
    const customer = await env.DB.prepare("select orders from customers where site_id = ?").bind(siteId).first();
    expect(customer).toEqual({ orders: null });
  });

  it("from the browser, counts no other coupon into the customer's figures and redeems nothing for it", async () => {
    const { siteId, cookie, counted } = await customerWithCode();
    await applyEventBatch(env, { id: siteId, shards: null }, cookie, [purchase("O-2", "NEWSLETTER10")], NOW);
    expect(await counted()).toBe(0);
    const coupon = await env.DB.prepare("select redeemed_at from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: null });
  });

  it("a retried event batch redeems once and leaves the code with the first order", async () => {
    const { siteId, cookie, counted } = await customerWithCode();
    const db = createDb(env.DB);
    await applyEventBatch(env, { id: siteId, shards: null }, cookie, [purchase("O-3", "TW-1")], NOW);
    await applyEventBatch(env, { id: siteId, shards: null }, cookie, [purchase("O-3", "TW-1")], NOW + 5);
    expect(await counted()).toBe(1);
    const coupon = await env.DB.prepare("select redeemed_at, order_id from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: NOW, order_id: "O-3" });
  });
});

describe("a purchase from the browser (POST /e)", () => {
  /** Two visitors with a code each: the victim's linked to customer C-1, the attacker anonymous. */
  async function twoHolders() {
    const { siteKey, apiKey } = await createTestSite({ allowed_origins: [SHOP] });
    const siteId = await siteIdOf(siteKey);
    const pool = await insertPool(siteId, { kind: "list" });
    await insertCodes(siteId, pool.id, ["VICTIM-1", "MINE-1", "SPARE-1"]);
    const victim = newCookieId();
    const attacker = newCookieId();
    await env.DB.prepare(
      "insert into visitors (site_id, cookie_id, customer_id, first_seen_at, last_seen_at) values (?, ?, 'C-1', ?, ?)",
    )
      .bind(siteId, victim, NOW, NOW)
      .run();
    const claim = (holder: string, cookieId: string, customerId: string | null) =>
      claimCoupon(env.DB, env, {
        shards: null,
        visits: 0,
        siteId,
        pool,
        holder,
        cookieId,
        customerId,
        ruleId: 7,
        now: NOW,
      });
    const victimCode = (await claim("c:C-1", victim, "C-1"))!.code;
    const attackerCode = (await claim(`v:${attacker}`, attacker, null))!.code;
    const redeemed = async (code: string) =>
      (await env.DB.prepare("select redeemed_at from coupons where code = ? and site_id = ?").bind(code, siteId).first<{
        redeemed_at: number | null;
      }>())!.redeemed_at;
    return { siteKey, apiKey, siteId, victim, attacker, victimCode, attackerCode, redeemed };
  }

  it("naming another holder's code is rejected, redeems nothing, and the holder's checkout still redeems it", async () => {
    const s = await twoHolders();
    const res = await postEvents(
      { site: s.siteKey, events: [event("purchase", { order: "EVIL-1", value: 1, coupon: s.victimCode })] },
      { cookie: s.attacker },
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [{ index: 0, reason: "coupon not held by this visitor" }],
    });
    expect(await s.redeemed(s.victimCode)).toBeNull();
    const checkout = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: s.apiKey,
      json: { code: s.victimCode, order: "REAL-1", customer: "C-1" },
    });
    expect(checkout.status).toBe(200);
  });

  it("answers a guessed code exactly as another holder's code: nothing tells them apart", async () => {
    const s = await twoHolders();
    const answers = [];
    for (const code of [s.victimCode, "NOSUCHCODE", "SPARE-1"]) {
      const res = await postEvents(
        { site: s.siteKey, events: [event("purchase", { order: `G-${code}`, value: 1, coupon: code })] },
        { cookie: s.attacker },
      );
      answers.push([res.status, await res.text()]);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(await s.redeemed("SPARE-1")).toBeNull();
  });

  it("redeems the visitor's own code, and a verified customer's code from any of its cookies", async () => {
    const s = await twoHolders();
    const own = await postEvents(
      { site: s.siteKey, events: [event("purchase", { order: "O-7", value: 50, coupon: s.attackerCode })] },
      { cookie: s.attacker },
    );
    expect(own.status).toBe(204);
    expect(await s.redeemed(s.attackerCode)).not.toBeNull();
    // Another device of C-1: its signed identify makes C-1's code its own in the same batch.
    const device = newCookieId();
    const res = await postEvents(
      {
        site: s.siteKey,
        events: [
          await signedIdentify(s.apiKey, "C-1"),
          event("purchase", { order: "O-8", value: 50, coupon: s.victimCode }),
        ],
      },
      { cookie: device },
    );
    expect(res.status).toBe(204);
    expect(await s.redeemed(s.victimCode)).not.toBeNull();
  });
});

describe("POST /api/v1/coupons/redeem with customer", () => {
  it("answers 409 holder_mismatch for a code held by another customer and redeems nothing", async () => {
    const { siteId, apiKey } = await customerWithCode();
    const res = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: apiKey,
      json: { code: "TW-1", order: "O-1", customer: "C-2" },
    });
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("holder_mismatch");
    const coupon = await env.DB.prepare("select redeemed_at from coupons where site_id = ? and code = 'TW-1'")
      .bind(siteId)
      .first();
    expect(coupon).toEqual({ redeemed_at: null });
    const right = await call("/api/v1/coupons/redeem", {
      method: "POST",
      key: apiKey,
      json: { code: "TW-1", order: "O-1", customer: "C-1" },
    });
    expect(right.status).toBe(200);
  });
});
