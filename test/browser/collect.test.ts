/**
 * The tag in a real browser against `wrangler dev` (events queue, local D1): a shopping trip on the
 * demo shop lands in the visitor's profile, the cookie is first-party and HttpOnly, and on a site
 * whose consent mode is `required` nothing reaches /e before consent.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { type RunningShop, startDemoShop } from "../../demo/server";
import { ROOT } from "../../scripts/local-worker";
import { browserAvailable, launchChromium, queryD1, screenshot } from "./browser";
import { freePort } from "./global-setup";

/** The queue consumer writes within its batch timeout; D1 is polled until the profile is there. */
const UNTIL_WRITTEN = { timeout: 30_000, interval: 500 };

function operatorToken(): string {
  const vars = readFileSync(join(ROOT, ".dev.vars"), "utf8");
  return /^OPERATOR_TOKEN="?([^"\n]+)"?/m.exec(vars)?.[1] ?? "";
}

/** Every request the page sends to the edge's /e. */
function watchBeacons(page: Page) {
  const sent: string[] = [];
  page.on("request", (request) => {
    if (request.url().startsWith(`${inject("edgeUrl")}/e`)) sent.push(request.postData() ?? "");
  });
  return sent;
}

describe.skipIf(!browserAvailable())("the tag in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("records two ring views, a cart add and a purchase into the visitor's profile", async () => {
    const shop = inject("shopUrl");
    const context = await browser.newContext();
    const page = await context.newPage();
    const beacons = watchBeacons(page);
    await page.goto(`${shop}/product/R-100`);
    await page.goto(`${shop}/product/R-101`);
    await page.click("button[data-add]");
    await page.goto(`${shop}/checkout`);
    await page.fill("#customer", "C-BROWSER-1");
    await Promise.all([page.waitForURL(/\/thanks/), page.click("#checkout button[type=submit], #checkout button")]);
    await screenshot(page, "collect-thanks");
    // The thanks page's own page view is flushed when the page is hidden.
    await page.close({ runBeforeUnload: true });

    const cookies = await context.cookies();
    const twId = cookies.find((c) => c.name === "tw_id");
    expect(twId).toBeDefined();
    expect(twId!.value).toMatch(/^[0-9a-f]{32}$/);
    expect(twId!.httpOnly).toBe(true);
    expect(twId!.sameSite).toBe("Lax");
    // First-party: set for the shop's own host (the edge shares it here, on another port).
    expect(twId!.domain).toBe(new URL(shop).hostname);
    expect(beacons.length).toBeGreaterThan(0);

    const [price] = queryD1<{ price: number }>("select price from products where sku = 'R-101'");
    await vi.waitFor(() => {
      const [visitor] = queryD1<Record<string, unknown>>(
        `select customer_id, visits, pageviews, interests, cart, cart_items, cart_value, last_purchase_at
           from visitors where cookie_id = '${twId!.value}'`,
      );
      expect(visitor).toMatchObject({
        customer_id: "C-BROWSER-1",
        visits: 1,
        pageviews: 4,
        cart: "[]",
        cart_items: 0,
        cart_value: 0,
      });
      expect(JSON.parse(visitor.interests as string)).toEqual({ rings: 3 });
      expect(visitor.last_purchase_at).toEqual(expect.any(Number));
    }, UNTIL_WRITTEN);
    const events = queryD1<{ type: string; sku: string | null }>(
      `select type, json_extract(props, '$.sku') as sku from events where cookie_id = '${twId!.value}' and type != 'page' order by id`,
    );
    expect(events).toEqual([
      { type: "view", sku: "R-100" },
      { type: "view", sku: "R-101" },
      { type: "cart", sku: "R-101" },
      { type: "identify", sku: null },
      { type: "purchase", sku: null },
    ]);
    const [customer] = queryD1("select orders, lifetime_revenue from customers where customer_id = 'C-BROWSER-1'");
    expect(customer).toEqual({ orders: 1, lifetime_revenue: price.price });
    await context.close();
  });

  describe("on a site whose consent mode is required", () => {
    let shop: RunningShop;
    beforeAll(async () => {
      const port = await freePort();
      const url = `http://localhost:${port}`;
      const res = await fetch(`${inject("edgeUrl")}/api/v1/sites`, {
        method: "POST",
        headers: { Authorization: `Bearer ${operatorToken()}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          key: "consent-shop",
          name: "Consent shop",
          allowed_origins: [url],
          consent_mode: "required",
        }),
      });
      expect(res.status).toBe(201);
      shop = await startDemoShop(port, { edgeUrl: inject("edgeUrl"), siteKey: "consent-shop", consent: "required" });
    });
    afterAll(async () => {
      await shop?.close();
    });

    it("sends nothing before consent, and the kept events after it", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const beacons = watchBeacons(page);
      await page.goto(`${shop.url}/product/R-102`);
      await page.click("button[data-add]");
      // Hidden and shown again: a flush is due, yet nothing may leave without consent.
      await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
      await page.waitForTimeout(1_500);
      expect(beacons).toEqual([]);
      expect((await context.cookies()).find((c) => c.name === "tw_id")).toBeUndefined();

      await page.evaluate(() => (window as unknown as { tw: (...a: unknown[]) => void }).tw("consent", true));
      await vi.waitFor(() => expect(beacons.length).toBeGreaterThan(0), UNTIL_WRITTEN);
      const batch = JSON.parse(beacons[0]) as { site: string; events: { type: string }[] };
      expect(batch.site).toBe("consent-shop");
      expect(batch.events.map((e) => e.type)).toEqual(["consent", "page", "view", "cart"]);
      const twId = await vi.waitFor(async () => {
        const cookie = (await context.cookies()).find((c) => c.name === "tw_id");
        expect(cookie).toBeDefined();
        return cookie!.value;
      }, UNTIL_WRITTEN);
      await vi.waitFor(() => {
        const [visitor] = queryD1<Record<string, unknown>>(
          `select consent, pageviews, cart_items from visitors where cookie_id = '${twId}'`,
        );
        expect(visitor).toEqual({ consent: "granted", pageviews: 1, cart_items: 1 });
      }, UNTIL_WRITTEN);
      await context.close();
    });
  });
});
