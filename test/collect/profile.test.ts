import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyEventBatch } from "../../worker/collect/apply-events";
import type { TagEvent } from "../../worker/collect/event-schema";
import { createDb } from "../../worker/db/client";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { createTestSite } from "../fixtures/api";
import { visitorOf } from "./post-events";

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

async function siteId() {
  const { siteKey } = await createTestSite();
  const row = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
  return { id: row!.id };
}

const at = (type: TagEvent["type"], props?: unknown, extra: Record<string, unknown> = {}) =>
  ({ type, ts: T0, url: "https://shop.example/", ref: null, ...(props ? { props } : {}), ...extra }) as TagEvent;

const apply = (site: { id: number }, cookieId: string, events: TagEvent[], now: number) =>
  applyEventBatch(env, { ...site, shards: null }, cookieId, events, now);
/** A trusted batch (the shop's server, worker/server-events/): the only kind that adds orders. */
const applyTrusted = (site: { id: number }, cookieId: string, events: TagEvent[], now: number) =>
  applyEventBatch(env, { ...site, shards: null }, cookieId, events, now, [], { trusted: true });

describe("visits", () => {
  it("counts a new visit only after 30 minutes without events", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await apply(site, cookie, [at("page")], T0);
    await apply(site, cookie, [at("page")], T0 + 29 * MIN);
    expect(await visitorOf(cookie)).toMatchObject({ visits: 1, pageviews: 2, last_seen_at: T0 + 29 * MIN });
    await apply(site, cookie, [at("page")], T0 + 58 * MIN);
    expect((await visitorOf(cookie))?.visits).toBe(1);
    await apply(site, cookie, [at("page")], T0 + 58 * MIN + 30 * MIN + 1);
    const visitor = await visitorOf(cookie);
    expect(visitor).toMatchObject({ visits: 2, pageviews: 4, first_seen_at: T0 });
    expect(JSON.parse(visitor!.visit_days as string)).toEqual({ "2026-03-01": 2 });
  });

  it("keeps per-day visits and interests for 90 days only", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await apply(site, cookie, [at("view", { sku: "R-1", category: "rings" })], T0);
    await apply(site, cookie, [at("view", { sku: "E-1", category: "earrings" })], T0 + 10 * DAY);
    let visitor = await visitorOf(cookie);
    expect(JSON.parse(visitor!.interest_days as string)).toEqual({
      rings: { "2026-03-01": 1 },
      earrings: { "2026-03-11": 1 },
    });
    await apply(site, cookie, [at("view", { sku: "R-2", category: "rings" })], T0 + 95 * DAY);
    visitor = await visitorOf(cookie);
    expect(JSON.parse(visitor!.interest_days as string)).toEqual({
      rings: { "2026-06-04": 1 },
      earrings: { "2026-03-11": 1 },
    });
    expect(JSON.parse(visitor!.visit_days as string)).toEqual({ "2026-03-11": 1, "2026-06-04": 1 });
    expect(JSON.parse(visitor!.interests as string)).toEqual({ rings: 2, earrings: 1 });
    expect(visitor!.visits).toBe(3);
  });
});

describe("cart", () => {
  it("adds, changes and removes items, and a purchase empties the cart", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await apply(
      site,
      cookie,
      [
        at("cart", { action: "add", sku: "R-1", category: "rings", price: 100, qty: 1 }),
        at("cart", { action: "add", sku: "E-1", category: "earrings", price: 40, qty: 2 }),
      ],
      T0,
    );
    await apply(
      site,
      cookie,
      [
        at("cart", { action: "add", sku: "R-1", price: 90, qty: 1 }),
        at("cart", { action: "remove", sku: "E-1", qty: 1 }),
      ],
      T0 + MIN,
    );
    let visitor = await visitorOf(cookie);
    expect(JSON.parse(visitor!.cart as string)).toEqual([
      { sku: "R-1", category: "rings", price: 90, qty: 2 },
      { sku: "E-1", category: "earrings", price: 40, qty: 1 },
    ]);
    expect(visitor).toMatchObject({ cart_items: 3, cart_value: 220, cart_updated_at: T0 + MIN });
    expect(JSON.parse(visitor!.interests as string)).toEqual({ rings: 1, earrings: 1 });

    await apply(site, cookie, [at("cart", { action: "remove", sku: "E-1", qty: 5 })], T0 + 2 * MIN);
    expect((await visitorOf(cookie))?.cart_items).toBe(2);

    await apply(site, cookie, [at("purchase", { order: "O-1", value: 180, currency: "EUR" })], T0 + 3 * MIN);
    visitor = await visitorOf(cookie);
    expect(JSON.parse(visitor!.cart as string)).toEqual([]);
    expect(visitor).toMatchObject({ cart_items: 0, cart_value: 0, last_purchase_at: T0 + 3 * MIN, customer_id: null });
  });
});

describe("identify and purchase", () => {
  it("a trusted batch links the cookie and updates the customer's orders, revenue, order times and coupons", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await env.DB.prepare(
      "insert into customers (site_id, customer_id, orders, lifetime_revenue, first_order_at, last_order_at) values (?, 'C-7', 2, 300, ?, ?)",
    )
      .bind(site.id, T0 - 400 * DAY, T0 - 200 * DAY)
      .run();
    await applyTrusted(site, cookie, [at("identify", { customer: "C-7" })], T0);
    await applyTrusted(site, cookie, [at("purchase", { order: "O-2", value: 120.5, coupon: "SAVE10" })], T0 + MIN);
    await applyTrusted(site, cookie, [at("purchase", { order: "O-3", value: 10 })], T0 + 2 * MIN);
    const customer = await env.DB.prepare(
      "select orders, lifetime_revenue, first_order_at, last_order_at, coupons_redeemed from customers where site_id = ? and customer_id = 'C-7'",
    )
      .bind(site.id)
      .first();
    expect(customer).toEqual({
      orders: 4,
      lifetime_revenue: 430.5,
      first_order_at: T0 - 400 * DAY,
      last_order_at: T0 + 2 * MIN,
      coupons_redeemed: 1,
    });
    expect((await visitorOf(cookie))?.customer_id).toBe("C-7");
  });

  it("a trusted batch creates the customer on a first purchase after identify in the same batch", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await applyTrusted(
      site,
      cookie,
      [at("identify", { customer: "C-new" }), at("purchase", { order: "O-1", value: 50, coupon: "WELCOME" })],
      T0,
    );
    const customer = await env.DB.prepare(
      "select orders, lifetime_revenue, first_order_at, last_order_at, coupons_redeemed from customers where site_id = ? and customer_id = 'C-new'",
    )
      .bind(site.id)
      .first();
    expect(customer).toEqual({
      orders: 1,
      lifetime_revenue: 50,
      first_order_at: T0,
      last_order_at: T0,
      coupons_redeemed: 1,
    });
  });

  it("a browser batch records the purchase for its cookie and leaves the linked customer's figures alone", async () => {
    const site = await siteId();
    const cookie = newCookieId();
    await env.DB.prepare(
      "insert into customers (site_id, customer_id, orders, lifetime_revenue) values (?, 'C-8', 2, 300)",
    )
      .bind(site.id)
      .run();
    await apply(site, cookie, [at("identify", { customer: "C-8" })], T0);
    await apply(site, cookie, [at("purchase", { order: "O-4", value: 1_000_000_000 })], T0 + MIN);
    const customer = await env.DB.prepare(
      "select orders, lifetime_revenue from customers where customer_id = 'C-8'",
    ).first();
    expect(customer).toEqual({ orders: 2, lifetime_revenue: 300 });
    expect((await visitorOf(cookie))?.last_purchase_at).toBe(T0 + MIN);
  });

  it("leaves customers alone when an anonymous visitor buys", async () => {
    const site = await siteId();
    await apply(site, newCookieId(), [at("purchase", { order: "O-9", value: 99 })], T0);
    const n = await env.DB.prepare("select count(*) as n from customers where site_id = ?")
      .bind(site.id)
      .first<{ n: number }>();
    expect(n?.n).toBe(0);
  });
});

describe("atomicity", () => {
  it("writes nothing of a batch when one of its statements fails", async () => {
    const cookie = newCookieId();
    // A site that does not exist violates the visitors' foreign key: the whole batch rolls back,
    // including the rejected_events row that travels in it.
    await expect(
      applyEventBatch(env, { id: 987_654, shards: null }, cookie, [at("page")], T0, [
        { reason: "rolled back", payload: null },
      ]),
    ).rejects.toThrow();
    const events = await env.DB.prepare("select count(*) as n from events where cookie_id = ?")
      .bind(cookie)
      .first<{ n: number }>();
    const rejected = await env.DB.prepare(
      "select count(*) as n from rejected_events where reason = 'rolled back'",
    ).first<{ n: number }>();
    expect(events?.n).toBe(0);
    expect(rejected?.n).toBe(0);
  });
});
