/**
 * The tag in a real browser against `wrangler dev` (events queue, local D1): a shopping trip on the
 * demo shop lands in the visitor's profile, the cookie is first-party and HttpOnly, and on a site
 * whose consent mode is `required` nothing reaches /e before consent.
 */
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { type RunningShop, startDemoShop } from "../../demo/server";
import {
  archivedEventsOf,
  beaconWith,
  browserAvailable,
  flushTagAndSettle,
  launchChromium,
  newVisitor,
  operatorToken,
  queryD1,
  queryPeople,
  screenshot,
  watchBeacons,
} from "./browser";
import { freePort } from "./global-setup";

/** The queue consumer writes within its batch timeout; D1 is polled until the profile is there. */
const UNTIL_WRITTEN = { timeout: 30_000, interval: 500 };

/** The tw_id cookie the first batch's answer sets, once it is there. */
function twIdOf(context: BrowserContext) {
  return vi.waitFor(async () => {
    const cookie = (await context.cookies()).find((c) => c.name === "tw_id");
    expect(cookie).toBeDefined();
    return cookie!;
  }, UNTIL_WRITTEN);
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
    const context = await newVisitor(browser);
    const page = await context.newPage();
    await Promise.all([beaconWith(page, '"sku":"R-100"'), page.goto(`${shop}/product/R-100`)]);
    // A first visit has no tw_id yet: the first batch's answer sets it. The visitor reads the
    // first product page until then (batches sent before that would each get a fresh ID).
    const twId = await twIdOf(context);
    await Promise.all([beaconWith(page, '"sku":"R-101"'), page.goto(`${shop}/product/R-101`)]);
    await Promise.all([beaconWith(page, '"action":"add"'), page.click("button[data-add]")]);
    await page.goto(`${shop}/checkout`);
    await page.fill("#customer", "C-BROWSER-1");
    await Promise.all([beaconWith(page, '"purchase"'), page.waitForURL(/\/thanks/), page.click("#place-order")]);
    await screenshot(page, "collect-thanks");

    expect(twId.value).toMatch(/^[0-9a-f]{32}$/);
    expect(twId.httpOnly).toBe(true);
    expect(await page.evaluate("document.cookie")).not.toContain("tw_id");
    expect(twId.sameSite).toBe("Lax");
    // First-party: set for the shop's own host (the edge shares it here, on another port).
    expect(twId.domain).toBe(new URL(shop).hostname);
    const after = (await context.cookies()).filter((c) => c.name === "tw_id");
    expect(after.map((c) => c.value)).toEqual([twId.value]);

    const [price] = queryD1<{ price: number }>("select price from products where sku = 'R-101'");
    await vi.waitFor(() => {
      const [visitor] = queryD1<Record<string, unknown>>(
        `select customer_id, visits, pageviews, interests, cart, cart_items, cart_value, last_purchase_at
           from visitors where cookie_id = '${twId.value}'`,
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
    // The raw events, from the R2 archive (worker/archive/archive.ts).
    await vi.waitFor(
      async () =>
        // The page's signed identify, and the shop server's own with its order.
        expect((await archivedEventsOf(twId.value)).filter((e) => e.type === "identify").length).toBeGreaterThanOrEqual(
          1,
        ),
      UNTIL_WRITTEN,
    );
    const events = (await archivedEventsOf(twId.value))
      .filter((e) => e.type !== "page")
      .map((e) => ({ type: e.type, sku: (e.props?.sku as string | undefined) ?? null }));
    // The browser's view, view, cart and purchase, in order; the identifies (the page's signed one
    // and the shop server's) and the server's purchase (POST /api/v1/events from demo/shop.tsx)
    // arrive in between, in whatever order the network delivers them.
    expect(events.filter((e) => e.type === "view" || e.type === "cart")).toEqual([
      { type: "view", sku: "R-100" },
      { type: "view", sku: "R-101" },
      { type: "cart", sku: "R-101" },
    ]);
    const others = events.filter((e) => e.type !== "view" && e.type !== "cart").map((e) => e.type);
    expect(others.filter((type) => type === "purchase")).toHaveLength(2);
    expect(others.filter((type) => type !== "purchase" && type !== "identify")).toEqual([]);
    const [customer] = queryD1("select orders, lifetime_revenue from customers where customer_id = 'C-BROWSER-1'");
    expect(customer).toEqual({ orders: 1, lifetime_revenue: price.price });
    await context.close();
  });

  it("records SPA navigations and fills slots with a frame the creative can resize", async () => {
    const context = await newVisitor(browser);
    const page = await context.newPage();
    await Promise.all([beaconWith(page, '"sku":"R-103"'), page.goto(`${inject("shopUrl")}/product/R-103`)]);
    // A slot the single-page app adds later is filled on its next navigation. This placement has
    // no campaign and no fallback: the edge serves its empty 1×1 creative, which reports that size,
    // so the slot shrinks from the tag's 300×250 default instead of showing a gap.
    await page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div data-tw-slot=\"spa-late\"></div>')");
    await Promise.all([
      beaconWith(page, "/virtual/step-1"),
      page.evaluate("history.pushState({}, '', '/virtual/step-1')"),
    ]);
    await Promise.all([beaconWith(page, "/product/R-103"), page.evaluate("history.back()")]);

    const frame = page.locator('[data-tw-slot="spa-late"] iframe');
    expect(await frame.getAttribute("src")).toBe(`${inject("edgeUrl")}/b/spa-late?site=demo`);
    await expect
      .poll(async () => [await frame.getAttribute("width"), await frame.getAttribute("height")])
      .toEqual(["1", "1"]);
    // The creative (served from the edge origin) reports its size to the page.
    const creative = page.frames().find((f) => f.url().startsWith(`${inject("edgeUrl")}/b/spa-late`));
    await creative!.evaluate("parent.postMessage({ tw: 'size', w: 728, h: 90 }, '*')");
    await expect.poll(() => frame.getAttribute("width")).toBe("728");
    expect(await frame.getAttribute("height")).toBe("90");
    // A page of another origin cannot resize it. A listener added after the tag's runs after it
    // for the same message: once it has seen the message, the tag has handled (and refused) it.
    await page.evaluate(`new Promise((resolve) => {
      addEventListener("message", (e) => e.data && e.data.w === 1 && resolve());
      postMessage({ tw: "size", w: 1, h: 1 }, "*");
    })`);
    expect(await frame.getAttribute("width")).toBe("728");
    await context.close();
  });

  it("lets no other sandboxed frame of the page resize itself through the tag's listener", async () => {
    const context = await newVisitor(browser);
    const page = await context.newPage();
    await Promise.all([beaconWith(page, '"sku":"R-104"'), page.goto(`${inject("shopUrl")}/product/R-104`)]);
    // A frame the tag did not make, sandboxed like /b's document (origin "null"): a third-party
    // widget or an injected ad on the shop's page, asking to cover the page. A listener added after
    // the tag's runs after it for the same message: once it has seen it, the tag has handled it.
    await page.evaluate(`new Promise((resolve) => {
      addEventListener("message", (e) => e.data && e.data.w === 4000 && resolve());
      const hostile = document.createElement("iframe");
      hostile.id = "hostile";
      hostile.width = "10";
      hostile.height = "10";
      hostile.setAttribute("sandbox", "allow-scripts");
      hostile.srcdoc = "<script>parent.postMessage({ tw: 'size', w: 4000, h: 4000 }, '*')</script>";
      document.body.append(hostile);
    })`);
    const hostile = page.locator("#hostile");
    expect([await hostile.getAttribute("width"), await hostile.getAttribute("height")]).toEqual(["10", "10"]);
    // The tag's own frame on the same page still obeys its creative.
    await page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div data-tw-slot=\"hostile-probe\"></div>')");
    await page.evaluate("history.pushState({}, '', '/virtual/fill')");
    const own = page.locator('[data-tw-slot="hostile-probe"] iframe');
    await expect.poll(() => own.getAttribute("width")).toBe("1");
    await context.close();
  });

  it("passes the shop's timestamped identify through, and the edge links the visitor with it", async () => {
    const shop = inject("shopUrl");
    const context = await newVisitor(browser);
    // The demo shop signs `customer + "." + ts` for a signed-in customer (demo/shop.tsx).
    await context.addCookies([{ name: "demo_customer", value: "C-BROWSER-TS", url: shop }]);
    const page = await context.newPage();
    const [request] = await Promise.all([beaconWith(page, '"identify"'), page.goto(`${shop}/product/R-100`)]);
    const batch = JSON.parse(request.postData() ?? "{}") as {
      events: { type: string; props?: Record<string, unknown> }[];
    };
    const identify = batch.events.find((e) => e.type === "identify");
    expect(identify?.props).toEqual({
      customer: "C-BROWSER-TS",
      ts: expect.any(Number),
      sig: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(Math.abs((identify?.props?.ts as number) - Date.now() / 1000)).toBeLessThan(120);
    const twId = (await twIdOf(context)).value;
    await vi.waitFor(() => {
      const [visitor] = queryD1<{ customer_id: string | null }>(
        `select customer_id from visitors where cookie_id = '${twId}'`,
      );
      expect(visitor?.customer_id).toBe("C-BROWSER-TS");
    }, UNTIL_WRITTEN);
    await context.close();
  });

  it("sends nothing under Global Privacy Control or Do-Not-Track", async () => {
    for (const signal of ["globalPrivacyControl", "doNotTrack"]) {
      const context = await newVisitor(browser);
      const value = signal === "doNotTrack" ? "'1'" : "true";
      await context.addInitScript(`Object.defineProperty(Navigator.prototype, '${signal}', { get: () => ${value} })`);
      const page = await context.newPage();
      const beacons = watchBeacons(page);
      await page.goto(`${inject("shopUrl")}/product/R-104`);
      await page.click("button[data-add]");
      await flushTagAndSettle(page);
      expect(beacons).toEqual([]);
      expect(await page.evaluate("typeof window.tw")).toBe("function");
      await context.close();
    }
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
      const context = await newVisitor(browser);
      const page = await context.newPage();
      const beacons = watchBeacons(page);
      await page.goto(`${shop.url}/product/R-102`);
      await page.click("button[data-add]");
      // A flush is due, yet nothing may leave without consent.
      await flushTagAndSettle(page);
      expect(beacons).toEqual([]);
      expect((await context.cookies()).find((c) => c.name === "tw_id")).toBeUndefined();

      await page.evaluate("window.tw('consent', true)");
      await vi.waitFor(() => expect(beacons.length).toBeGreaterThan(0), UNTIL_WRITTEN);
      const batch = JSON.parse(beacons[0]) as { site: string; events: { type: string }[] };
      expect(batch.site).toBe("consent-shop");
      expect(batch.events.map((e) => e.type)).toEqual(["consent", "page", "view", "cart"]);
      const twId = (await twIdOf(context)).value;
      await vi.waitFor(() => {
        const [visitor] = queryPeople<Record<string, unknown>>(
          `select consent, pageviews, cart_items from visitors where cookie_id = '${twId}'`,
        );
        expect(visitor).toEqual({ consent: "granted", pageviews: 1, cart_items: 1 });
      }, UNTIL_WRITTEN);
      await context.close();
    });
  });
});
