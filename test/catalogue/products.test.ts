import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { event, postEvents, SHOP } from "../collect/post-events";
import { call } from "../fixtures/api";
import { bannerJson, bannerSite } from "../fixtures/banner";

const products = (apiKey: string, body: string, type = "text/csv") =>
  call("/api/v1/products", { method: "POST", key: apiKey, headers: { "Content-Type": type }, body });

describe("POST /api/v1/products", () => {
  it("reads a Google Merchant Center feed: id, title, price with currency, link, image_link, product_type, availability", async () => {
    const s = await bannerSite();
    const feed =
      "id,title,description,price,link,image_link,product_type,availability,brand\n" +
      "R-100,Solitaire ring,A diamond,890.00 EUR,https://shop.example/p/R-100,https://shop.example/i/R-100.jpg,rings,in stock,Bijou\n" +
      "R-101,Stacking ring,,149.00 EUR,https://shop.example/p/R-101,,rings,out of stock,Bijou\n";
    const res = await products(s.apiKey, feed);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [], rejected_count: 0 });
    const one = await call("/api/v1/products/R-100", { key: s.apiKey });
    expect(await one.json()).toMatchObject({
      sku: "R-100",
      name: "Solitaire ring",
      price: 890,
      currency: "EUR",
      category: "rings",
      url: "https://shop.example/p/R-100",
      image_url: "https://shop.example/i/R-100.jpg",
      available: true,
    });
    const list = (await (await call("/api/v1/products?limit=1", { key: s.apiKey })).json()) as {
      products: { sku: string; available: boolean }[];
      next: string | null;
    };
    expect(list.products.map((p) => p.sku)).toEqual(["R-100"]);
    const rest = (await (await call(`/api/v1/products?after=${list.next}`, { key: s.apiKey })).json()) as typeof list;
    expect(rest.products).toMatchObject([{ sku: "R-101", available: false }]);
  });

  it("upserts NDJSON by SKU: columns sent change, columns absent stay", async () => {
    const s = await bannerSite();
    await products(
      s.apiKey,
      '{"sku":"N-1","name":"Pearl strand","price":560,"currency":"EUR","category":"necklaces"}\n',
      "application/x-ndjson",
    );
    const res = await products(s.apiKey, '{"sku":"N-1","price":"499.00 EUR"}\n', "application/x-ndjson");
    expect((await res.json()) as object).toMatchObject({ accepted: 1 });
    const one = await (await call("/api/v1/products/N-1", { key: s.apiKey })).json();
    expect(one).toMatchObject({ name: "Pearl strand", price: 499, currency: "EUR", category: "necklaces" });
  });

  it("reports every bad line where it is and writes nothing of it", async () => {
    const s = await bannerSite();
    const res = await products(
      s.apiKey,
      "sku,price,currency,link\nA-1,12.50,EUR,/p/a\n,1,EUR,/p/b\nA-3,1e999,EUR,/p/c\nA-4,5.00 USD,EUR,/p/d\nA-5,5,EUR,javascript:alert(1)\n",
    );
    const body = (await res.json()) as { accepted: number; rejected: { line: number }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.line)).toEqual([3, 4, 5, 6]);
    expect(await env.DB.prepare("select count(*) as n from products where site_id = ?").bind(s.siteId).first()).toEqual(
      { n: 1 },
    );
  });

  it("lists every problem of a product line: a missing SKU, a bad price and a script link at once", async () => {
    const s = await bannerSite();
    const res = await products(s.apiKey, "sku,price,currency,link\n,1e999,EURO,javascript:alert(1)\n");
    const body = (await res.json()) as { rejected: { line: number; problems: string[] }[] };
    expect(body.rejected).toHaveLength(1);
    expect(body.rejected[0].problems).toEqual([
      "missing sku (or id)",
      expect.stringMatching(/^url: /),
      expect.stringMatching(/^price: /),
      expect.stringMatching(/^currency: /),
    ]);
  });

  it("refuses a file with an unknown column", async () => {
    const s = await bannerSite();
    const res = await products(s.apiKey, "sku,nmae\nA-1,x\n");
    expect((await res.json()) as object).toMatchObject({ accepted: 0, rejected: [{ line: 1 }] });
  });

  it("deletes a product (204), then answers 404 for it", async () => {
    const s = await bannerSite();
    await products(s.apiKey, "sku,name\nD-1,Gone soon\n");
    expect((await call("/api/v1/products/D-1", { method: "DELETE", key: s.apiKey })).status).toBe(204);
    expect((await call("/api/v1/products/D-1", { key: s.apiKey })).status).toBe(404);
    expect((await call("/api/v1/products/D-1", { method: "DELETE", key: s.apiKey })).status).toBe(404);
  });

  it("needs the API key", async () => {
    expect((await call("/api/v1/products")).status).toBe(401);
  });
});

describe("the catalogue in creatives", () => {
  it("a view event carrying a name and price changes no product: banners keep the catalogue's text", async () => {
    const s = await bannerSite({ allowed_origins: [SHOP] });
    await products(
      s.apiKey,
      "sku,name,price,category,link,image_link\nR-1,Gold ring,120.00 EUR,rings,/p/R-1,/i/R-1.jpg\n",
    );
    const creative = await s.creative("json", {
      title: "{{product_name}}",
      price: "{{product_price}}",
      url: "{{product_url}}",
      image: "{{product_image}}",
    });
    await s.rule({ creative_id: creative });
    const attacker = newCookieId();
    const res = await postEvents(
      {
        site: s.siteKey,
        events: [
          event("view", { sku: "R-1", category: "rings", name: "FREE GIFT - call +49 000 000 to claim", price: 1 }),
        ],
      },
      { cookie: attacker },
    );
    expect(res.status).toBe(204);
    const row = await env.DB.prepare("select name, price from products where site_id = ? and sku = 'R-1'")
      .bind(s.siteId)
      .first();
    expect(row).toEqual({ name: "Gold ring", price: 120 });
    const victim = newCookieId();
    await postEvents(
      { site: s.siteKey, events: [event("view", { sku: "R-1", category: "rings" })] },
      { cookie: victim },
    );
    const banner = await bannerJson(s.siteKey, "slot", victim);
    expect(banner.creative.body).toEqual({
      title: "Gold ring",
      price: "120.00",
      url: "https://shop.example/p/R-1",
      image: "https://shop.example/i/R-1.jpg",
    });
  });

  it("a view of an unknown SKU creates no product", async () => {
    const s = await bannerSite({ allowed_origins: [SHOP] });
    await postEvents(
      { site: s.siteKey, events: [event("view", { sku: "NEW-1", name: "Invented", price: 1 })] },
      { cookie: newCookieId() },
    );
    expect(await env.DB.prepare("select count(*) as n from products where site_id = ?").bind(s.siteId).first()).toEqual(
      { n: 0 },
    );
  });
});
