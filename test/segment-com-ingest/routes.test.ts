import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../worker/coupons/claim";
import { createDb } from "../../worker/db/client";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { ingestSegmentMessages } from "../../worker/segment-com-ingest/routes";
import { countRows, visitorOf } from "../collect/post-events";
import { insertCodes, insertPool } from "../coupons/helpers";
import { basicAuth, call, createTestSite, errorOf } from "../fixtures/api";
import { FaultyD1 } from "../fixtures/faulty-d1";
import { customerRow } from "../fixtures/rows";

async function site() {
  const { siteKey, apiKey } = await createTestSite();
  const row = await env.DB.prepare("select id from sites where key = ?").bind(siteKey).first<{ id: number }>();
  return { apiKey, id: row!.id, key: siteKey, consentMode: "implied" as const };
}

function send(path: string, apiKey: string, body: unknown, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { Authorization: basicAuth(apiKey), "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

async function heldCode(siteId: number, customer: string) {
  const pool = await insertPool(siteId, { kind: "list" });
  await insertCodes(siteId, pool.id, [`SEG-${customer}`]);
  await claimCoupon(env.DB, env, {
    shards: null,
    visits: 0,
    siteId,
    pool,
    holder: `c:${customer}`,
    cookieId: null,
    customerId: customer,
    ruleId: null,
    now: Date.now(),
  });
  return `SEG-${customer}`;
}

const ts = "2026-01-01T10:00:00.000Z";

describe("Segment-compatible ingestion /v1/*", () => {
  it("answers 200 {success: true} and records an identify, a product view, a cart add and an order with its coupon", async () => {
    const s = await site();
    const cookie = newCookieId();
    // The CRM import made the customer (a customer row first created by this order counts no coupon yet:
    // the shared redemption path only moves coupons_redeemed of an existing row).
    await env.DB.prepare(
      "insert into customers (site_id, customer_id, orders, lifetime_revenue) values (?, 'C-1', 2, 100)",
    )
      .bind(s.id)
      .run();
    const code = await heldCode(s.id, "C-1");
    const ids = { anonymousId: cookie, userId: "C-1", timestamp: ts };
    const res = await send("/v1/batch", s.apiKey, {
      batch: [
        { ...ids, type: "identify", messageId: "m-1", traits: { email: "person@example.com" } },
        {
          ...ids,
          type: "track",
          event: "Product Viewed",
          messageId: "m-2",
          properties: { product_id: "R-1", category: "rings", price: 40 },
        },
        {
          ...ids,
          type: "track",
          event: "Product Added",
          messageId: "m-3",
          properties: { product_id: "R-1", price: 40, quantity: 2 },
        },
        {
          ...ids,
          type: "track",
          event: "Order Completed",
          messageId: "m-4",
          properties: {
            order_id: "O-1",
            revenue: 80,
            currency: "EUR",
            coupon: code,
            products: [{ product_id: "R-1", quantity: 2 }],
          },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    const visitor = await visitorOf(cookie);
    expect(visitor).toMatchObject({ customer_id: "C-1" });
    expect(JSON.parse(String(visitor?.interests))).toMatchObject({ rings: expect.any(Number) });
    expect(visitor?.last_purchase_at).not.toBeNull();
    expect(await customerRow(s.id, "C-1")).toMatchObject({ orders: 3, lifetime_revenue: 180, coupons_redeemed: 1 });
    const coupon = await env.DB.prepare("select redeemed_at, order_id from coupons where code = ?").bind(code).first();
    expect(coupon?.redeemed_at).not.toBeNull();
  });

  it("changes nothing twice when the same batch (same messageIds) is sent again", async () => {
    const s = await site();
    const cookie = newCookieId();
    const batch = {
      batch: [
        { type: "page", anonymousId: cookie, messageId: "p-1", properties: { url: "https://shop.example/" } },
        {
          type: "track",
          event: "Order Completed",
          userId: "C-2",
          anonymousId: cookie,
          messageId: "o-1",
          properties: { order_id: "O-9", total: 50 },
        },
      ],
    };
    expect((await send("/v1/batch", s.apiKey, batch)).status).toBe(200);
    expect((await send("/v1/batch", s.apiKey, batch)).status).toBe(200);
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
    expect(await customerRow(s.id, "C-2")).toMatchObject({ orders: 1, lifetime_revenue: 50 });
    expect(await countRows("segment_messages", "site_id = ?", s.id)).toBe(2);
  });

  it("keeps messageIds per site: another site's identical messageId is not a duplicate", async () => {
    const a = await site();
    const b = await site();
    const cookieA = newCookieId();
    const cookieB = newCookieId();
    await send("/v1/page", a.apiKey, { anonymousId: cookieA, messageId: "same" });
    await send("/v1/page", b.apiKey, { anonymousId: cookieB, messageId: "same" });
    expect((await visitorOf(cookieA))?.pageviews).toBe(1);
    expect((await visitorOf(cookieB))?.pageviews).toBe(1);
  });

  it("takes the message type from /v1/track, /v1/identify and /v1/page", async () => {
    const s = await site();
    const cookie = newCookieId();
    await send("/v1/identify", s.apiKey, { anonymousId: cookie, userId: "C-3", messageId: "i-1" });
    await send("/v1/track", s.apiKey, {
      anonymousId: cookie,
      event: "Wishlist Shared",
      messageId: "t-1",
      properties: { list: "x" },
    });
    await send("/v1/page", s.apiKey, { anonymousId: cookie, messageId: "p-1" });
    const visitor = await visitorOf(cookie);
    expect(visitor).toMatchObject({ customer_id: "C-3", pageviews: 1 });
    expect(JSON.parse(String(visitor?.event_counts))).toMatchObject({ "Wishlist Shared": 1 });
  });

  it("takes a single message posted to /v1/batch, as webhook destinations send them", async () => {
    const s = await site();
    const cookie = newCookieId();
    const res = await send("/v1/batch", s.apiKey, { type: "page", anonymousId: cookie, messageId: "w-1" });
    expect(res.status).toBe(200);
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
  });

  it("accepts a gzip body without a JSON content type, as RudderStack's Node client sends it", async () => {
    const s = await site();
    const cookie = newCookieId();
    const res = await call("/v1/batch", {
      method: "POST",
      headers: {
        Authorization: basicAuth(s.apiKey),
        "Content-Encoding": "gzip",
        "Content-Type": "application/octet-stream",
      },
      body: await gzip(JSON.stringify({ batch: [{ type: "page", anonymousId: cookie, messageId: "g-1" }] })),
    });
    expect(res.status).toBe(200);
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
  });

  it("answers 200 but records refused messages with their reason, without personal data", async () => {
    const s = await site();
    const res = await send("/v1/batch", s.apiKey, {
      batch: [
        { type: "group", userId: "C-4", messageId: "x-1", traits: { email: "person@example.com" } },
        {
          type: "track",
          event: "Order Completed",
          userId: "C-4",
          messageId: "x-2",
          properties: { order_id: "O-1", revenue: "lots" },
        },
      ],
    });
    expect(res.status).toBe(200);
    const rows = await env.DB.prepare(
      "select source, reason, payload from rejected_events where site_id = ? order by id",
    )
      .bind(s.id)
      .all<{ source: string; reason: string; payload: string }>();
    expect(rows.results.map((r) => [r.source, r.reason])).toEqual([
      ["server", expect.stringContaining("props.value")],
      ["segment", "type: group is not supported (track, identify, page)"],
    ]);
    expect(rows.results.map((r) => r.payload).join(" ")).not.toContain("person@example.com");
    expect(await customerRow(s.id, "C-4")).toBeNull();
  });

  it("refuses a missing or unknown write key with 401 and a Basic challenge", async () => {
    const none = await call("/v1/batch", { method: "POST", json: { batch: [] } });
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toContain("Basic");
    const wrong = await send("/v1/batch", "tw_not-a-key", { batch: [] });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("unauthorized");
  });

  it("refuses a body larger than Segment's 500 KB batch limit with 413", async () => {
    const s = await site();
    const res = await send("/v1/batch", s.apiKey, { batch: [{ type: "page", padding: "x".repeat(600 * 1024) }] });
    expect(res.status).toBe(413);
  });

  it("refuses a gzip body that inflates beyond 500 KB with 413 (a small upload cannot become a huge one)", async () => {
    const s = await site();
    const body = await gzip(JSON.stringify({ batch: [{ type: "page", padding: "x".repeat(2 * 1024 * 1024) }] }));
    expect(body.byteLength).toBeLessThan(10_000);
    const res = await call("/v1/batch", {
      method: "POST",
      headers: { Authorization: basicAuth(s.apiKey), "Content-Encoding": "gzip" },
      body,
    });
    expect(res.status).toBe(413);
  });

  it("lets only an accepted message claim its messageId: the corrected resend of a refused one is applied, once", async () => {
    const s = await site();
    const cookie = newCookieId();
    const view = (properties: Record<string, unknown>) => ({
      type: "track",
      event: "Product Viewed",
      anonymousId: cookie,
      messageId: "r-1",
      properties,
    });
    // Refused by ingestion (no sku), then by the mapping (a screen), each under the ID of its fix.
    await send("/v1/batch", s.apiKey, { batch: [view({ category: "rings" }), { type: "screen", messageId: "r-2" }] });
    expect(await countRows("rejected_events", "site_id = ?", s.id)).toBe(2);
    expect(await countRows("segment_messages", "site_id = ?", s.id)).toBe(0);
    await send("/v1/batch", s.apiKey, {
      batch: [view({ sku: "R-1", category: "rings" }), { type: "page", anonymousId: cookie, messageId: "r-2" }],
    });
    expect(await visitorOf(cookie)).toMatchObject({ interests: '{"rings":1}', pageviews: 1 });
    // Now claimed: the same messages again change nothing.
    await send("/v1/batch", s.apiKey, {
      batch: [view({ sku: "R-1", category: "rings" }), { type: "page", anonymousId: cookie, messageId: "r-2" }],
    });
    expect(await visitorOf(cookie)).toMatchObject({ interests: '{"rings":1}', pageviews: 1 });
  });

  it("releases the messageIds when the writes fail, so that the client's retry is ingested", async () => {
    const s = await site();
    const cookie = newCookieId();
    const message = { type: "page", anonymousId: cookie, messageId: "f-1" };
    // The subject reads (single statements, HOME's and each shard's) pass, the write batch fails.
    const faulty = new FaultyD1(env.DB).failAfter(0, "batch");
    await expect(
      ingestSegmentMessages({ ...env, DB: faulty.db }, createDb(faulty.db), env.ARCHIVE, { ...s, shards: null }, [
        message,
      ]),
    ).rejects.toThrow(/injected failure/);
    expect(await countRows("segment_messages", "site_id = ?", s.id)).toBe(0);
    await ingestSegmentMessages(env, createDb(env.DB), env.ARCHIVE, { ...s, shards: null }, [message]);
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
  });
});
