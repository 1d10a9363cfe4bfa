import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { beaconWith, browserAvailable, launchChromium, newVisitor, queryD1, screenshot } from "./browser";

describe.skipIf(!browserAvailable())("the demo shop and the API reference in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("serves category, product, cart and checkout pages that embed the tag from the edge", async () => {
    // A person's browser: headless Chromium's own user agent is a bot, which gets no cookie.
    const visitor = await newVisitor(browser);
    const page = await visitor.newPage();
    await page.goto(`${inject("shopUrl")}/category/rings`);
    expect(await page.locator("h1").textContent()).toBe("Rings");
    const tagSrc = await page.locator("script[data-site]").getAttribute("src");
    expect(tagSrc).toBe(`${inject("edgeUrl")}/t.js`);
    await screenshot(page, "demo-category");
    await page.click("text=Solitaire ring, white gold");
    expect(await page.locator("h1").textContent()).toBe("Solitaire ring, white gold");
    const cartSent = beaconWith(page, '"cart"');
    await page.click("button[data-add]");
    expect(await page.locator("#cart-count").textContent()).toBe("1");
    await cartSent;
    // The cart slot's banner shows the cart item with its picture from the catalogue (image_link)
    // once the events queue has stored the cart (its consumer batches for up to a second).
    const banner = page.frameLocator('[data-tw-slot="cart"] iframe').locator("img");
    await expect
      .poll(
        async () => {
          await page.goto(`${inject("shopUrl")}/cart`);
          return banner.getAttribute("src", { timeout: 3_000 }).catch(() => null);
        },
        { timeout: 20_000 },
      )
      .toBe(`${inject("shopUrl")}/images/R-100.svg`);
    expect(await page.locator("#cart-items li").count()).toBe(1);
    await expect
      .poll(() => banner.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    await screenshot(page, "demo-cart-banner");
    await page.goto(`${inject("shopUrl")}/checkout?coupon=WELCOME10`);
    expect(await page.locator("#coupon").inputValue()).toBe("WELCOME10");
    await screenshot(page, "demo-checkout");
    await visitor.close();
  });

  it("renders the API reference at /docs", async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${inject("edgeUrl")}/docs`);
    expect(res?.status()).toBe(200);
    expect(await page.locator("h1").textContent()).toContain("tagwerk API");
    expect(await page.getByText("/api/v1/site", { exact: true }).count()).toBeGreaterThan(0);
    await screenshot(page, "api-docs");
    await page.close();
  });

  it("the seeded demo site is in the local D1 the worker serves", () => {
    const [site] = queryD1<{ key: string; customers: number }>(
      // Other browser tests add customers through purchases; the seeded ones are C-00001…C-00300.
      "select s.key, (select count(*) from customers c where c.site_id = s.id and c.customer_id glob 'C-[0-9][0-9][0-9][0-9][0-9]') as customers from sites s where s.key = 'demo'",
    );
    expect(site).toEqual({ key: "demo", customers: 300 });
  });
});
