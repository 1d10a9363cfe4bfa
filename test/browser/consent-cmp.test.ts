/**
 * The CMP-aware tag (/tc.js, `data-consent="cmp"`) in Chromium against `wrangler dev`, driven by
 * software we did not write: the IAB's own TCF stub and CMP API (@iabtechlabtcf/stub, /cmpapi)
 * with TC strings encoded by @iabtechlabtcf/core, and Google's documented `gtag('consent', …)`
 * calls. Nothing may leave the browser before the CMP answers; a withdrawal stops sending and the
 * server stores the denial.
 */
import { createServer, type Server } from "node:http";
import { build } from "esbuild";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { ROOT } from "../../scripts/local-worker";
import {
  archivedEventsOf,
  beaconWith,
  browserAvailable,
  createSite,
  flushTagAndSettle,
  launchChromium,
  newVisitor,
  queryPeople,
  screenshot,
  watchBeacons,
} from "./browser";
import { freePort } from "./global-setup";

const UNTIL_WRITTEN = { timeout: 30_000, interval: 500 };
const SITE = "cmp-shop";

/**
 * The IAB packages bundled for the page: the stub is installed at once (as a CMP's inline stub is),
 * `window.iab.start()` loads the CMP later, `window.iab.tcString([purposes])` encodes a TC string.
 */
async function iabBundle(): Promise<string> {
  const result = await build({
    stdin: {
      resolveDir: ROOT,
      contents: `
        import installStub from "@iabtechlabtcf/stub";
        import { CmpApi } from "@iabtechlabtcf/cmpapi";
        import { GVL, TCModel, TCString } from "@iabtechlabtcf/core";
        installStub();
        const purposes = {};
        for (let id = 1; id <= 11; id++) purposes[id] = { id, name: "Purpose " + id, description: "", illustrations: [] };
        // A minimal Global Vendor List: encoding needs one, and this page asks for no vendors.
        const gvl = new GVL({ gvlSpecificationVersion: 3, vendorListVersion: 100, tcfPolicyVersion: 5,
          lastUpdated: "2026-01-01T00:00:00Z", purposes, specialPurposes: {}, features: {}, specialFeatures: {},
          vendors: {}, stacks: {}, dataCategories: {} });
        window.iab = {
          start() { window.iab.api = new CmpApi(10, 1, true); },
          tcString(consented) {
            const model = new TCModel(gvl);
            model.cmpId = 10;
            model.cmpVersion = 1;
            model.isServiceSpecific = true;
            model.purposeConsents.set(consented);
            return TCString.encode(model);
          },
        };`,
    },
    bundle: true,
    format: "iife",
    target: "es2020",
    write: false,
  });
  return result.outputFiles[0].text;
}

/**
 * The shop's pages, served from a real local port: a page that playwright fulfils itself counts as
 * a public address to Chromium, whose Local Network Access checks then refuse the tag on loopback.
 */
const pages = new Map<string, string>();
let shopOrigin = "";
const shopServer: Server = createServer((req, res) => {
  const body = pages.get(req.url ?? "");
  res.writeHead(body ? 200 : 404, { "Content-Type": "text/html; charset=utf-8" });
  res.end(body ?? "not found");
});

/** A shop page with `head` (the CMP's scripts) before the CMP-aware tag. */
async function openShopPage(context: BrowserContext, name: string, head: string): Promise<Page> {
  pages.set(
    `/${name}`,
    `<!doctype html><html><head><title>${name}</title>${head}
    <script>window.tw=window.tw||function(){(tw.q=tw.q||[]).push(arguments)}</script>
    <script async src="${inject("edgeUrl")}/tc.js" data-site="${SITE}" data-consent="cmp"></script>
    </head><body><h1>${name}</h1></body></html>`,
  );
  const page = await context.newPage();
  await page.goto(`${shopOrigin}/${name}`);
  await page.waitForFunction("typeof window.tw === 'function' && !window.tw.q");
  return page;
}

async function twId(context: BrowserContext): Promise<string> {
  return vi.waitFor(async () => {
    const cookie = (await context.cookies()).find((c) => c.name === "tw_id");
    expect(cookie).toBeDefined();
    return cookie!.value;
  }, UNTIL_WRITTEN);
}

function storedConsent(cookieId: string) {
  return queryPeople<{ consent: string | null }>(`select consent from visitors where cookie_id = '${cookieId}'`)[0]
    ?.consent;
}

describe.skipIf(!browserAvailable())("consent from the page's CMP (/tc.js, data-consent=cmp)", () => {
  let browser: Browser;
  let bundle: string;
  beforeAll(async () => {
    browser = await launchChromium();
    bundle = await iabBundle();
    const port = await freePort();
    await new Promise<void>((resolve) => shopServer.listen(port, "127.0.0.1", resolve));
    shopOrigin = `http://localhost:${port}`;
    await createSite({ key: SITE, name: "CMP shop", allowed_origins: [shopOrigin], consent_mode: "required" });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => shopServer.close(resolve));
  });

  it("IAB TCF: nothing before the CMP answers or without consent, then sending, then a withdrawal the server stores", async () => {
    const context = await newVisitor(browser);
    const page = await openShopPage(context, "tcf", `<script>${bundle}</script>`);
    const beacons = watchBeacons(page);
    await page.evaluate("tw('view', { sku: 'R-100', category: 'rings', price: 10 })");
    // Only the stub is in the page: the tag's addEventListener waits in its queue.
    await flushTagAndSettle(page);
    expect(beacons).toEqual([]);

    // The CMP loads and answers with a TC string without purposes 1 and 4.
    await page.evaluate("iab.start(); iab.api.update(iab.tcString([2, 3]), false)");
    expect(await page.evaluate("new Promise((r) => __tcfapi('ping', 2, (p) => r(p.cmpStatus)))")).toBe("loaded");
    await flushTagAndSettle(page);
    expect(beacons).toEqual([]);

    // The visitor consents: the held events leave, consent first.
    const [granted] = await Promise.all([
      beaconWith(page, '"granted":true'),
      page.evaluate("iab.api.update(iab.tcString([1, 2, 3, 4]), false)"),
    ]);
    const batch = JSON.parse(granted.postData()!) as { events: { type: string }[] };
    expect(batch.events.map((e) => e.type)).toEqual(["consent", "page", "view"]);
    const cookieId = await twId(context);
    await vi.waitFor(() => expect(storedConsent(cookieId)).toBe("granted"), UNTIL_WRITTEN);
    await Promise.all([beaconWith(page, '"R-101"'), page.evaluate("tw('view', { sku: 'R-101', category: 'rings' })")]);

    // Withdrawn in the CMP: the denial reaches the server, then nothing more is sent.
    await Promise.all([
      beaconWith(page, '"granted":false'),
      page.evaluate("iab.api.update(iab.tcString([1, 2, 3]), false)"),
    ]);
    const sentBefore = beacons.length;
    await page.evaluate("tw('view', { sku: 'R-102', category: 'rings' })");
    await flushTagAndSettle(page);
    expect(beacons.length).toBe(sentBefore);
    expect(beacons.join()).not.toContain("R-102");
    await vi.waitFor(() => expect(storedConsent(cookieId)).toBe("denied"), UNTIL_WRITTEN);
    const views = (await archivedEventsOf(cookieId)).filter((e) => e.type === "view");
    expect(views.map((e) => e.props?.sku)).toEqual(["R-100", "R-101"]);
    await screenshot(page, "consent-tcf");
    await context.close();
  });

  it("IAB TCF: a CMP that says the GDPR does not apply counts as consent", async () => {
    const context = await newVisitor(browser);
    const page = await openShopPage(context, "tcf-no-gdpr", `<script>${bundle}</script>`);
    const [sent] = await Promise.all([
      beaconWith(page, '"granted":true'),
      page.evaluate("iab.start(); iab.api.update(null)"),
    ]);
    expect(sent.postData()).toContain('"type":"page"');
    await context.close();
  });

  const GTAG = "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}";
  const DENIED = "{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',analytics_storage:'denied'}";
  const GRANTED = "{ad_storage:'granted',ad_user_data:'granted',ad_personalization:'granted'}";

  it("Google Consent Mode v2: the default denies, an update grants, a GTM-style array update withdraws", async () => {
    const context = await newVisitor(browser);
    const page = await openShopPage(context, "gcm", `<script>${GTAG}gtag('consent','default',${DENIED});</script>`);
    const beacons = watchBeacons(page);
    await page.evaluate("tw('view', { sku: 'R-103', category: 'rings' })");
    await flushTagAndSettle(page);
    expect(beacons).toEqual([]);
    // Two of three signals are not enough.
    await page.evaluate("gtag('consent', 'update', { ad_storage: 'granted', ad_user_data: 'granted' })");
    await flushTagAndSettle(page);
    expect(beacons).toEqual([]);

    const [granted] = await Promise.all([
      beaconWith(page, '"granted":true'),
      page.evaluate("gtag('consent', 'update', { ad_personalization: 'granted' })"),
    ]);
    expect(granted.postData()).toContain('"R-103"');
    const cookieId = await twId(context);
    await Promise.all([
      beaconWith(page, '"granted":false'),
      page.evaluate("dataLayer.push(['consent', 'update', { ad_user_data: 'denied' }])"),
    ]);
    await vi.waitFor(() => expect(storedConsent(cookieId)).toBe("denied"), UNTIL_WRITTEN);
    const sentBefore = beacons.length;
    await page.evaluate("tw('view', { sku: 'R-104', category: 'rings' })");
    await flushTagAndSettle(page);
    expect(beacons.length).toBe(sentBefore);
    await context.close();
  });

  it("Google Consent Mode v2: a grant pushed before the tag loaded is read at load", async () => {
    const context = await newVisitor(browser);
    const [sent] = await Promise.all([
      context.waitForEvent("request", (r) => r.url() === `${inject("edgeUrl")}/e`),
      openShopPage(
        context,
        "gcm-early",
        `<script>${GTAG}gtag('consent','default',${DENIED});gtag('consent','update',${GRANTED});</script>`,
      ),
    ]);
    expect(sent.postData()).toContain('"granted":true');
    await context.close();
  });
});
