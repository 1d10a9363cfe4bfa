import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTestSite, errorOf, siteIdOf } from "../fixtures/api";
import { archivedEvents, countArchived } from "../fixtures/archive";
import { CHROME_UA, cookieIdOf, countRows, event, postEvents, SHOP, signedIdentify, visitorOf } from "./post-events";

const site = (settings: Record<string, unknown> = {}) => createTestSite({ allowed_origins: [SHOP], ...settings });

describe("POST /e accepts the tag's batches", () => {
  it("accepts every event type as text/plain, sets tw_id and builds the profile", async () => {
    const { siteKey, apiKey } = await site({ cookie_domain: "shop.example" });
    const res = await postEvents({
      site: siteKey,
      events: [
        event("page"),
        event("view", { sku: "R-1", name: "Gold ring", category: "rings", price: 120 }),
        event("view", { sku: "R-2", category: "rings", price: 80 }),
        event("cart", { action: "add", sku: "R-1", category: "rings", price: 120, qty: 1 }),
        await signedIdentify(apiKey, "C-1"),
        event("consent", { granted: true }),
        event("event", { source: "newsletter", step: 2 }, { name: "signup" }),
      ],
    });
    expect(res.status).toBe(204);
    const setCookie = res.headers.get("Set-Cookie") ?? "";
    expect(setCookie).toMatch(/^tw_id=[0-9a-f]{32};/);
    expect(setCookie).toContain("Max-Age=34560000");
    expect(setCookie).toContain("Domain=shop.example");
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("Secure");
    expect(setCookie).toContain("SameSite=Lax");
    const cookieId = cookieIdOf(res)!;
    const visitor = await visitorOf(cookieId);
    expect(visitor).toMatchObject({
      customer_id: "C-1",
      visits: 1,
      pageviews: 1,
      cart_items: 1,
      cart_value: 120,
      consent: "granted",
    });
    expect(JSON.parse(visitor!.interests as string)).toEqual({ rings: 3 });
    expect(JSON.parse(visitor!.cart as string)).toEqual([{ sku: "R-1", category: "rings", price: 120, qty: 1 }]);
    // The raw events are archived in R2, one line each (worker/archive/archive.ts).
    const archived = await archivedEvents(await siteIdOf(siteKey), cookieId);
    expect(archived).toHaveLength(7);
    const custom = archived.find((line) => line.type === "event");
    expect(custom).toMatchObject({ name: "signup", props: { source: "newsletter", step: 2 } });
    // Events name SKUs; the catalogue alone writes products (test/catalogue/products.test.ts).
    expect(await countRows("products", "sku = 'R-1'")).toBe(0);
  });

  it("keeps an existing tw_id cookie and sets none", async () => {
    const { siteKey } = await site();
    const cookie = "0123456789abcdef0123456789abcdef";
    const res = await postEvents({ site: siteKey, events: [event("page")] }, { cookie });
    expect(res.status).toBe(204);
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect((await visitorOf(cookie))?.pageviews).toBe(1);
  });

  it("accepts JSON from a server without an Origin header", async () => {
    const { siteKey } = await site();
    const res = await postEvents(
      { site: siteKey, events: [event("page")] },
      { origin: null, contentType: "application/json" },
    );
    expect(res.status).toBe(204);
    expect(cookieIdOf(res)).not.toBeNull();
  });

  it("answers the site's own origin with credentialed CORS headers", async () => {
    const { siteKey } = await site();
    const res = await postEvents({ site: siteKey, events: [event("page")] });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(SHOP);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
  });
});

describe("POST /e in the API document and for preflights", () => {
  it("is listed in the OpenAPI document", async () => {
    const doc = (await (await call("/api/v1/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/e");
  });

  it("answers a preflight naming its site only for that site's origins", async () => {
    const { siteKey } = await site();
    const preflight = (origin: string) =>
      call(`/e?site=${siteKey}`, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "content-type",
        },
      });
    const own = await preflight(SHOP);
    expect(own.status).toBe(204);
    expect(own.headers.get("Access-Control-Allow-Origin")).toBe(SHOP);
    expect(own.headers.get("Access-Control-Allow-Methods")).toBe("POST");
    const foreign = await preflight("https://evil.example");
    expect(foreign.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("POST /e refuses bad input and keeps it in rejected_events", () => {
  it("lists invalid events with their index in a 202 and applies the valid ones", async () => {
    const { siteKey } = await site();
    const raw = `{"site":"${siteKey}","events":[
      {"type":"page","ts":1},
      {"type":"view","ts":1,"props":{"sku":"R-1","price":"cheap"}},
      {"type":"view","ts":1,"props":{"sku":"R-1","price":1e999}},
      {"type":"teleport","ts":1},
      {"type":"identify","ts":1,"props":{"customer":"${"x".repeat(300)}"}},
      {"type":"cart","ts":1,"props":{"action":"add","sku":"R-9","qty":1.5}}
    ]}`;
    const res = await postEvents(null, { raw });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: { index: number; reason: string }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5]);
    expect(body.rejected[0].reason).toContain("props.price");
    expect(body.rejected[2].reason).toContain("type");
    const cookieId = cookieIdOf(res)!;
    expect(await countArchived(await siteIdOf(siteKey), cookieId)).toBe(1);
    expect(await countRows("rejected_events", "site_key = ?", siteKey)).toBe(5);
    const stored = await env.DB.prepare("select reason, payload from rejected_events where site_key = ? order by id")
      .bind(siteKey)
      .all<{ reason: string; payload: string }>();
    expect(stored.results[0].reason).toMatch(/^event 1: props\.price/);
    expect(stored.results[0].payload).toContain("cheap");
  });

  it("answers 400 for malformed JSON and keeps the body", async () => {
    const before = await countRows("rejected_events", "reason = 'malformed JSON'");
    const res = await postEvents(null, { raw: '{"site":"x","events":[' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await countRows("rejected_events", "reason = 'malformed JSON'")).toBe(before + 1);
  });

  it("answers 413 for a body over 32 KB and writes nothing else", async () => {
    const { siteKey } = await site();
    const before = await countRows("rejected_events", "reason like 'body over%'");
    const big = event("page", undefined, { url: "x".repeat(2000) });
    const res = await postEvents({ site: siteKey, events: Array.from({ length: 20 }, () => big) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("payload_too_large");
    expect(await countRows("rejected_events", "reason like 'body over%'")).toBe(before + 1);
    expect(await countArchived(await siteIdOf(siteKey))).toBe(0);
  });

  it("answers 400 for more than 50 events and applies none of them", async () => {
    const { siteKey } = await site();
    const res = await postEvents({ site: siteKey, events: Array.from({ length: 51 }, () => event("page")) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("at most 50 events");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await countRows("rejected_events", "site_key = ?", siteKey)).toBe(1);
    expect(await countRows("visitors v join sites s on s.id = v.site_id", "s.key = ?", siteKey)).toBe(0);
  });

  it("answers 400 for an unknown site", async () => {
    const res = await postEvents({ site: "no-such-shop", events: [event("page")] });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("unknown_site");
    expect(await countRows("rejected_events", "site_key = 'no-such-shop' and reason = 'unknown site'")).toBe(1);
  });

  it("refuses a browser request from a foreign origin with 403", async () => {
    const { siteKey } = await site();
    const res = await postEvents({ site: siteKey, events: [event("page")] }, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("origin_not_allowed");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await countRows("rejected_events", "site_key = ? and reason like '%evil.example%'", siteKey)).toBe(1);
    expect(await countRows("visitors v join sites s on s.id = v.site_id", "s.key = ?", siteKey)).toBe(0);
  });

  it("counts bots and stores no visitor for them", async () => {
    const { siteKey } = await site();
    const ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const first = await postEvents({ site: siteKey, events: [event("page")] }, { userAgent: ua });
    const second = await postEvents({ site: siteKey, events: [event("page")] }, { userAgent: ua });
    expect(first.status).toBe(204);
    expect(second.status).toBe(204);
    expect(first.headers.get("Set-Cookie")).toBeNull();
    const hits = await env.DB.prepare(
      "select b.hits from bot_counts b join sites s on s.id = b.site_id where s.key = ?",
    )
      .bind(siteKey)
      .first<{ hits: number }>();
    expect(hits?.hits).toBe(2);
    expect(await countRows("visitors v join sites s on s.id = v.site_id", "s.key = ?", siteKey)).toBe(0);
    expect(await countRows("events e join sites s on s.id = e.site_id", "s.key = ?", siteKey)).toBe(0);
  });
});

describe("consent is enforced on the server too", () => {
  it("refuses events without consent on a required site and sets no cookie", async () => {
    const { siteKey } = await site({ consent_mode: "required" });
    const res = await postEvents({ site: siteKey, events: [event("page"), event("view", { sku: "R-1" })] });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, reason: "consent required" },
        { index: 1, reason: "consent required" },
      ],
    });
    expect(res.headers.get("Set-Cookie")).toBeNull();
    const stored = await env.DB.prepare("select payload from rejected_events where site_key = ?").bind(siteKey).all();
    expect(stored.results).toEqual([{ payload: null }, { payload: null }]);
  });

  it("applies events from the consent on, and stores a later denial", async () => {
    const { siteKey } = await site({ consent_mode: "required" });
    const res = await postEvents({ site: siteKey, events: [event("consent", { granted: true }), event("page")] });
    expect(res.status).toBe(204);
    const cookieId = cookieIdOf(res)!;
    expect(await visitorOf(cookieId)).toMatchObject({ consent: "granted", pageviews: 1 });
    const denied = await postEvents(
      { site: siteKey, events: [event("consent", { granted: false }), event("page")] },
      { cookie: cookieId, userAgent: CHROME_UA },
    );
    expect(denied.status).toBe(202);
    expect(((await denied.json()) as { rejected: unknown[] }).rejected).toEqual([
      { index: 1, reason: "consent denied" },
    ]);
    expect(await visitorOf(cookieId)).toMatchObject({ consent: "denied", pageviews: 1 });
  });
});
