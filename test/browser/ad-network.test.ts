/**
 * An ad network's page on another origin (127.0.0.1, while the edge and the shop are on localhost)
 * frames the `home-hero` creative with its click macro. Known to the network only by its own user ID
 * (a cookie sync stored in id_links), the visitor gets the targeted banner but no personal code: a
 * partner ID is no proof of identity (SECURITY.md). Passed as a visitor token the shop's backend
 * minted (`t=`), it gets its code; the click goes through the network's redirector, then /c, and
 * lands on the demo shop with the personal coupon applied.
 */
import { createServer, type Server } from "node:http";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { browserAvailable, clicksSince, launchChromium, queryD1, rebuildDecisionRows, screenshot } from "./browser";
import { freePort } from "./global-setup";

// With the seeded rule IDs this cookie is outside the demo site's 10 % holdout of the cart rule (deterministic).
const COOKIE = "ad0000000000000000000000000000ad";
const PARTNER_UID = "NET-USER-7";

describe.skipIf(!browserAvailable())("a banner on an ad network's page, in Chromium", () => {
  let browser: Browser;
  let network: Server;
  let networkUrl: string;
  let token: string;
  const networkClicks: string[] = [];

  beforeAll(async () => {
    const now = Date.now();
    // A cart abandoner (cart two hours old) whom the network knows by its own user ID.
    queryD1(`insert or ignore into visitors (site_id, cookie_id, first_seen_at, last_seen_at, visits, pageviews, cart, cart_items, cart_updated_at)
      select id, '${COOKIE}', ${now}, ${now}, 1, 3, '[{"sku":"E-201","qty":1}]', 1, ${now - 2 * 3_600_000} from sites where key = 'demo'`);
    queryD1(`insert or ignore into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at)
      select id, 'adnet', '${PARTNER_UID}', '${COOKIE}', ${now} from sites where key = 'demo'`);
    await rebuildDecisionRows("demo");

    const minted = await fetch(`${inject("edgeUrl")}/api/v1/visitor-tokens`, {
      method: "POST",
      headers: { Authorization: "Bearer demo-api-key", "Content-Type": "application/json" },
      body: JSON.stringify({ cookie_id: COOKIE }),
    });
    expect(minted.status).toBe(201);
    token = ((await minted.json()) as { token: string }).token;

    const port = await freePort();
    networkUrl = `http://127.0.0.1:${port}`;
    const edge = inject("edgeUrl");
    network = createServer((req, res) => {
      const url = new URL(req.url ?? "/", networkUrl);
      if (url.pathname === "/click") {
        // The network's click redirector: counts, then forwards to the advertiser's click URL.
        const target = url.searchParams.get("u") ?? "";
        networkClicks.push(target);
        res.writeHead(302, { Location: target }).end();
        return;
      }
      const macro = `${networkUrl}/click?u=`;
      const who = url.pathname === "/token" ? `t=${encodeURIComponent(token)}` : `p=adnet&puid=${PARTNER_UID}`;
      const src = `${edge}/b/home-hero?site=demo&${who}&click=${encodeURIComponent(macro)}`;
      res
        .writeHead(200, { "Content-Type": "text/html; charset=utf-8" })
        .end(
          `<!doctype html><title>News of the day</title><h1>News of the day</h1><iframe id="ad" src="${src}" width="300" height="250" style="border:0"></iframe>`,
        );
    });
    await new Promise<void>((resolve) => network.listen(port, "127.0.0.1", resolve));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => network?.close(resolve));
  });

  it("shows a visitor known only by its partner ID the cart reminder, without a personal code", async () => {
    const page = await browser.newPage();
    await page.goto(`${networkUrl}/`);
    const link = page.frameLocator("#ad").locator("a");
    await expect.poll(() => link.textContent(), { timeout: 10_000 }).toContain("Your cart is waiting");
    const text = (await link.textContent()) ?? "";
    expect(text).not.toContain("personal code");
    expect(text).toContain("Free shipping");
    await page.close();
  });

  it("shows the cart reminder with a personal code to a visitor token and the click lands on the shop with the coupon applied", async () => {
    const started = Date.now();
    const page = await browser.newPage();
    await page.goto(`${networkUrl}/token`);
    const frame = page.frameLocator("#ad");
    const link = frame.locator("a");
    await expect.poll(() => link.textContent(), { timeout: 10_000 }).toContain("Your cart is waiting");
    const text = (await link.textContent()) ?? "";
    const code = /personal code (CART\w+)/.exec(text)?.[1];
    expect(code).toBeTruthy();
    expect(text).toContain("Hoop earrings, gold");
    await screenshot(page, "ad-network-banner");

    await Promise.all([page.waitForURL(`${inject("shopUrl")}/cart**`, { timeout: 15_000 }), link.click()]);
    const landed = new URL(page.url());
    expect(landed.origin).toBe(inject("shopUrl"));
    expect(landed.searchParams.get("coupon")).toBe(code);
    await expect.poll(() => page.locator("#coupon-note").textContent()).toBe(`Coupon ${code} applied`);
    expect(networkClicks).toHaveLength(1);
    expect(networkClicks[0]).toMatch(new RegExp(`^${inject("edgeUrl")}/c/`));
    await screenshot(page, "ad-network-landing");

    // The click reaches D1 through the events queue (without a cookie: the network's frame has none).
    await expect.poll(() => clicksSince("demo", started), { timeout: 15_000, interval: 500 }).toBe(1);
    await page.close();
  });
});
