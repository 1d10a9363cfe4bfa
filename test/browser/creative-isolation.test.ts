/**
 * Creative isolation in a real browser: an SVG creative carrying `onload` and `<script>` — refused
 * by the API, and here planted straight into D1 as a row written before the allow-list existed —
 * runs no script when its /b URL is opened as a page, in the SVG and in the HTML format. The
 * CSP (`script-src 'none'` / nonce, `sandbox`) holds even for markup that got into the database.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { browserAvailable, launchChromium, queryD1, screenshot } from "./browser";

const PLACEMENT = "isolation-probe";
// Each vector marks the document (and asks the network) if it ever runs.
const HOSTILE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250" onload="document.documentElement.setAttribute(\'data-pwned\',\'onload\');fetch(\'/pwned-onload\')">' +
  "<script>document.documentElement.setAttribute('data-pwned','script');fetch('/pwned-script')</script>" +
  '<image href="x" width="1" height="1" onerror="fetch(\'/pwned-onerror\')"/>' +
  '<rect width="300" height="250" fill="#eee"/><text x="10" y="40">harmless text</text></svg>';

describe.skipIf(!browserAvailable())("an SVG creative with onload and script, in Chromium", () => {
  let browser: Browser;
  let visitor: BrowserContext;
  const edge = () => inject("edgeUrl");

  beforeAll(async () => {
    queryD1(`insert into creatives (site_id, name, format, template, width, height, landing_url)
      select id, 'isolation probe', 'svg', '${HOSTILE_SVG.replaceAll("'", "''")}', 300, 250, 'https://shop.example/' from sites where key = 'demo'`);
    queryD1(`insert or replace into placement_fallbacks (site_id, placement, creative_id, updated_at)
      select s.id, '${PLACEMENT}', c.id, 0 from sites s join creatives c on c.site_id = s.id and c.name = 'isolation probe' where s.key = 'demo'`);
    queryD1("update sites set rules_version = rules_version + 1 where key = 'demo'");
    browser = await launchChromium();
    // A person's browser ("HeadlessChrome" is a bot's user agent).
    const probe = await browser.newPage();
    const userAgent = (await probe.evaluate("navigator.userAgent")) as string;
    await probe.close();
    visitor = await browser.newContext({ userAgent: userAgent.replace("HeadlessChrome", "Chrome") });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(format: "svg" | "html"): Promise<{ page: Page; requests: string[]; dialogs: number }> {
    const page = await visitor.newPage();
    const requests: string[] = [];
    const seen = { dialogs: 0 };
    // Chromium reports every script it refuses (CSP or sandbox) on the console: the positive signal
    // that the creative's handlers were reached and blocked, before the absence checks below.
    const refusals: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|sandboxed/.test(m.text())) refusals.push(m.text());
    });
    page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    page.on("dialog", (d) => {
      seen.dialogs++;
      void d.dismiss();
    });
    const res = await page.goto(`${edge()}/b/${PLACEMENT}?site=demo&format=${format}`);
    expect(res?.status()).toBe(200);
    const csp = res?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("sandbox");
    expect(res?.headers()["x-content-type-options"]).toBe("nosniff");
    await expect.poll(() => refusals.length).toBeGreaterThan(0);
    return { page, requests, dialogs: seen.dialogs };
  }

  it("the API refuses it at save time", async () => {
    const res = await fetch(`${edge()}/api/v1/creatives`, {
      method: "POST",
      headers: { Authorization: "Bearer demo-api-key", "Content-Type": "application/json" },
      body: JSON.stringify({
        name: "x",
        format: "svg",
        template: HOSTILE_SVG,
        width: 300,
        height: 250,
        landing_url: "https://shop.example/",
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_template");
  });

  it("does not execute when its /b URL is opened as an SVG page", async () => {
    const { page, requests, dialogs } = await open("svg");
    await expect.poll(() => page.locator("text").first().textContent()).toBe("harmless text");
    expect(await page.evaluate("document.documentElement.getAttribute('data-pwned')")).toBeNull();
    expect(requests.filter((p) => p.startsWith("/pwned"))).toEqual([]);
    expect(dialogs).toBe(0);
    expect(await page.evaluate("document.contentType")).toBe("image/svg+xml");
    await page.close();
  });

  it("does not execute inside the HTML document either, which runs only its own size script from an opaque origin", async () => {
    const { page, requests, dialogs } = await open("html");
    await expect.poll(() => page.locator("text").first().textContent()).toBe("harmless text");
    expect(await page.evaluate("document.documentElement.getAttribute('data-pwned')")).toBeNull();
    expect(requests.filter((p) => p.startsWith("/pwned"))).toEqual([]);
    expect(dialogs).toBe(0);
    // Sandboxed: the document has no access to the edge origin's cookies or storage.
    expect(await page.evaluate("window.origin")).toBe("null");
    await screenshot(page, "creative-isolation-html");
    await page.close();
  });
});
