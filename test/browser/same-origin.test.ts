/**
 * Same-origin serving in Chromium, as `npm run dev` runs it: the demo shop (127.0.0.1) proxies its
 * own `/_tw` to `wrangler dev` (localhost, BASE_PATH=/_tw), as a Workers route `shop.example/_tw/*`
 * does in production. The tag, its tw_id cookie, the banner frame and the click are all of the
 * shop's origin; nothing goes to the edge's own host.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { beaconWith, browserAvailable, clicksSince, launchChromium, newVisitor, queryD1, screenshot } from "./browser";

const UNTIL_WRITTEN = { timeout: 30_000, interval: 500 };

describe.skipIf(!browserAvailable())("the demo shop serving tagwerk under its own /_tw, in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("loads the tag from the shop's origin, keeps tw_id first-party there, and shows and clicks banners through the prefix", async () => {
    const shop = inject("sameOriginShopUrl");
    const edgeHost = new URL(inject("edgeUrl")).host;
    const context = await newVisitor(browser);
    const page = await context.newPage();
    const toEdgeHost: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).host === edgeHost) toEdgeHost.push(r.url());
    });

    await Promise.all([beaconWith(page, '"sku":"R-100"', `${shop}/_tw/e`), page.goto(`${shop}/product/R-100`)]);
    expect(await page.locator("script[data-site]").getAttribute("src")).toBe(`${shop}/_tw/t.js`);
    const cookie = await vi.waitFor(async () => {
      const found = (await context.cookies(shop)).find((c) => c.name === "tw_id");
      expect(found).toBeDefined();
      return found!;
    }, UNTIL_WRITTEN);
    // First-party of the shop's host; the edge's own host holds no cookie of this visitor.
    expect(cookie.domain).toBe("127.0.0.1");
    expect(cookie.httpOnly).toBe(true);
    expect((await context.cookies(inject("edgeUrl"))).filter((c) => c.name === "tw_id")).toEqual([]);
    await vi.waitFor(() => {
      const [visitor] = queryD1<{ interests: string }>(
        `select interests from visitors where cookie_id = '${cookie.value}'`,
      );
      expect(JSON.parse(visitor?.interests ?? "{}")).toEqual({ rings: 1 });
    }, UNTIL_WRITTEN);

    // The home page's banner: framed from /_tw/b, its click URL under /_tw/c of the shop.
    await page.goto(`${shop}/`);
    const frame = page.locator('[data-tw-slot="home-hero"] iframe');
    expect(await frame.getAttribute("src")).toBe(`${shop}/_tw/b/home-hero?site=demo`);
    const link = page.frameLocator('[data-tw-slot="home-hero"] iframe').locator("a").first();
    await expect.poll(() => link.getAttribute("href"), { timeout: 10_000 }).toMatch(new RegExp(`^${shop}/_tw/c/`));
    await screenshot(page, "same-origin-banner");
    // Up to the click (which lands on the seeded landing page, the other demo shop) nothing left
    // for the edge's own host.
    expect(toEdgeHost).toEqual([]);
    // A click row names no cookie (pipeline/impressions.ts): the site's clicks since now are counted.
    const clickedAfter = Date.now();
    const [click] = await Promise.all([
      page.waitForRequest((r) => r.url().startsWith(`${shop}/_tw/c/`)),
      page.waitForURL((url) => !url.pathname.startsWith("/_tw/") && url.href !== `${shop}/`, { timeout: 15_000 }),
      link.click(),
    ]);
    expect(click.url()).toMatch(new RegExp(`^${shop}/_tw/c/`));
    await expect.poll(() => clicksSince("demo", clickedAfter), UNTIL_WRITTEN).toBe(1);
    await context.close();
  });
});
