import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../worker/coupons/claim";
import { createDb } from "../../worker/db/client";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { ingestServerEvents } from "../../worker/server-events/ingest";
import { countRows, visitorOf } from "../collect/post-events";
import { insertCodes, insertPool } from "../coupons/helpers";
import { call, createTestSite } from "../fixtures/api";
import { customerRow } from "../fixtures/rows";

const TS = 1_767_225_600_000;

async function site() {
  const { siteKey, apiKey } = await createTestSite();
  const row = await env.DB.prepare("select id, key from sites where key = ?")
    .bind(siteKey)
    .first<{ id: number; key: string }>();
  return { siteKey, apiKey, id: row!.id, key: row!.key, consentMode: "implied" as const };
}

function post(apiKey: string, events: unknown[]) {
  return call("/api/v1/events", { method: "POST", key: apiKey, json: { events } });
}

describe("POST /api/v1/events (trusted server-side events)", () => {
  it("links a cookie to a customer by an identify without any signature", async () => {
    const { apiKey } = await site();
    const cookie = newCookieId();
    const res = await post(apiKey, [{ type: "identify", ts: TS, cookie_id: cookie, props: { customer: "C-1" } }]);
    expect(res.status).toBe(204);
    expect((await visitorOf(cookie))?.customer_id).toBe("C-1");
  });

  it("adds a purchase to the customer's orders, revenue and first/last order time", async () => {
    const s = await site();
    await env.DB.prepare(
      "insert into customers (site_id, customer_id, orders, lifetime_revenue, first_order_at, last_order_at) values (?, 'C-2', 2, 100, 1000, 2000)",
    )
      .bind(s.id)
      .run();
    const before = Date.now();
    const res = await post(s.apiKey, [
      { type: "purchase", ts: TS, customer: "C-2", props: { order: "O-1", value: 50.5, currency: "EUR" } },
    ]);
    expect(res.status).toBe(204);
    const row = (await customerRow(s.id, "C-2")) as Record<string, number>;
    expect(row).toMatchObject({ orders: 3, lifetime_revenue: 150.5, first_order_at: 1000 });
    expect(row.last_order_at).toBeGreaterThanOrEqual(before);
  });

  it("creates the customer on a first order, and records the purchase on the cookie it names", async () => {
    const s = await site();
    const cookie = newCookieId();
    const res = await post(s.apiKey, [
      { type: "purchase", ts: TS, cookie_id: cookie, customer: "C-new", props: { order: "O-1", value: 20 } },
    ]);
    expect(res.status).toBe(204);
    expect(await customerRow(s.id, "C-new")).toMatchObject({ orders: 1, lifetime_revenue: 20 });
    const visitor = await visitorOf(cookie);
    expect(visitor).toMatchObject({ customer_id: "C-new" });
    expect(visitor?.last_purchase_at).not.toBeNull();
  });

  it("puts behaviour of a customer-only event on the customer's latest visitor, and rejects it when there is none", async () => {
    const s = await site();
    const cookie = newCookieId();
    await post(s.apiKey, [{ type: "identify", ts: TS, cookie_id: cookie, props: { customer: "C-3" } }]);
    const res = await post(s.apiKey, [
      { type: "view", ts: TS, customer: "C-3", props: { sku: "R-1", category: "rings" } },
      { type: "view", ts: TS, customer: "C-nobody", props: { sku: "R-1", category: "rings" } },
    ]);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 1,
      rejected: [{ index: 1, reason: "no visitor known for this customer: send cookie_id" }],
    });
    expect(JSON.parse((await visitorOf(cookie))!.interests as string)).toEqual({ rings: 1 });
  });

  it("rejects an event naming neither a cookie nor a customer, and a malformed one, keeping the good ones", async () => {
    const s = await site();
    const cookie = newCookieId();
    const res = await post(s.apiKey, [
      { type: "page", ts: TS },
      { type: "page", ts: TS, cookie_id: "not-a-cookie" },
      { type: "page", ts: TS, cookie_id: cookie },
      { type: "identify", ts: TS, customer: "C-9", props: { customer: "C-9" } },
    ]);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.index)).toEqual([0, 1, 3]);
    expect(await countRows("rejected_events", "site_id = ? and source = 'server'", s.id)).toBe(3);
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
  });

  it("redeems a purchase's code for its holder, and refuses a code another customer holds", async () => {
    const s = await site();
    const pool = await insertPool(s.id, { kind: "list" });
    await insertCodes(s.id, pool.id, ["MINE-1", "THEIRS-1"]);
    const now = Date.now();
    await env.DB.prepare("insert into customers (site_id, customer_id, coupons_redeemed) values (?, 'C-4', 0)")
      .bind(s.id)
      .run();
    for (const customer of ["C-4", "C-5"]) {
      await claimCoupon(env.DB, env, {
        shards: null,
        visits: 0,
        siteId: s.id,
        pool,
        holder: `c:${customer}`,
        cookieId: null,
        customerId: customer,
        ruleId: null,
        now,
      });
    }
    const codeOf = async (holder: string) =>
      (await env.DB.prepare("select code, redeemed_at from coupons where holder = ?").bind(holder).first()) as {
        code: string;
        redeemed_at: number | null;
      };
    const mine = (await codeOf("c:C-4")).code;
    const theirs = (await codeOf("c:C-5")).code;
    const res = await post(s.apiKey, [
      { type: "purchase", ts: TS, customer: "C-4", props: { order: "O-1", value: 10, coupon: mine } },
      { type: "purchase", ts: TS, customer: "C-4", props: { order: "O-2", value: 10, coupon: theirs } },
    ]);
    expect(await res.json()).toEqual({
      accepted: 1,
      rejected: [{ index: 1, reason: "coupon held by another customer" }],
    });
    expect((await codeOf("c:C-4")).redeemed_at).not.toBeNull();
    expect((await codeOf("c:C-5")).redeemed_at).toBeNull();
    expect(await customerRow(s.id, "C-4")).toMatchObject({ orders: 1, coupons_redeemed: 1 });
  });

  it("answers 401 without the API key", async () => {
    const res = await call("/api/v1/events", { method: "POST", json: { events: [{ type: "page", ts: TS }] } });
    expect(res.status).toBe(401);
  });
});

describe("ingestServerEvents (the function the Segment-compatible ingestion calls)", () => {
  it("answers {accepted, rejected} and never recreates an erased customer", async () => {
    const s = await site();
    await env.DB.prepare("insert into erasures (site_id, kind, subject, erased_at) values (?, 'customer', 'C-gone', 1)")
      .bind(s.id)
      .run();
    const result = await ingestServerEvents(env, env.ARCHIVE, { ...s, shards: null }, [
      { type: "purchase", ts: TS, customer: "C-gone", props: { order: "O-1", value: 5 } },
      { type: "purchase", ts: TS, customer: "C-here", props: { order: "O-2", value: 5 } },
    ]);
    expect(result).toEqual({ accepted: 1, rejected: [{ index: 0, reason: "erased" }] });
    expect(await customerRow(s.id, "C-gone")).toBeNull();
    expect(await customerRow(s.id, "C-here")).toMatchObject({ orders: 1 });
  });
});
