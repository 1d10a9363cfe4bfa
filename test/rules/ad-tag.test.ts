/**
 * Third-party ad tags: the tag the API hands out is expanded as each ad server does (GAM turns
 * `%%CLICK_URL_UNESC%%` into its click redirector URL and `%%CACHEBUSTER%%` into a random integer;
 * Xandr the same with `${CLICK_URL}` and `${CACHEBUSTER}`), loaded like the ad server's iframe, and
 * the click followed: network redirector → /c → landing page with the coupon applied.
 */
import { describe, expect, it } from "vitest";
import { call, errorOf } from "../fixtures/api";
import { type BannerJson, bannerSite, fetchWorker, randomCookie } from "../fixtures/banner";

type AdTag = { placement: string; network: string; width: number; height: number; tag: string; macros: unknown };

async function campaign() {
  const site = await bannerSite();
  const creative = await site.creative(
    "html",
    '<a href="{{click_url}}">Your code {{coupon}}</a>',
    "https://shop.example/sale?src=ad",
  );
  const pool = await site.pool();
  await site.codes(pool, ["GIFT-1", "GIFT-2", "GIFT-3"]);
  await site.rule({ creative_id: creative, pool_id: pool, placement: "sidebar" });
  return site;
}

async function tagFor(apiKey: string, network: string, placement = "sidebar") {
  const res = await call(`/api/v1/placements/${placement}/tag?network=${network}`, { key: apiKey });
  return { status: res.status, body: (await res.json()) as AdTag };
}

/** The iframe's src as the browser reads it from the pasted HTML. */
function iframeSrc(html: string): string {
  const match = /<iframe src="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no iframe src in ${html}`);
  return match[1].replaceAll("&amp;", "&");
}

function linkOf(body: string): string {
  const match = /href="([^"]+)"/.exec(body);
  if (!match) throw new Error(`no link in ${body}`);
  return match[1].replaceAll("&amp;", "&");
}

/** Loads the expanded tag's iframe, clicks the banner's link through the network's redirector. */
async function serveAndClick(src: string, redirector: { host: string; destinationOf: (url: URL) => string }) {
  const banner = await fetchWorker(src.replace(/^https?:\/\/[^/]+/, ""), { cookie: randomCookie() });
  expect(banner.status).toBe(200);
  expect(banner.headers.get("content-type")).toContain("text/html");
  const link = new URL(linkOf(await banner.text()));
  expect(link.host).toBe(redirector.host);
  // The network counts the click and redirects to the advertiser's click URL it was given.
  const ours = new URL(redirector.destinationOf(link));
  expect(ours.pathname).toMatch(/^\/c\//);
  const click = await fetchWorker(ours.pathname, { redirect: "manual" });
  expect(click.status).toBe(302);
  return click.headers.get("Location");
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax, not a JS template
const XANDR_CLICK = "${CLICK_URL}";
// biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax, not a JS template
const XANDR_CACHEBUSTER = "${CACHEBUSTER}";
const randomInteger = () => String(Math.floor(Math.random() * 2 ** 32));

describe("GET /api/v1/placements/:placement/tag", () => {
  it("gives GAM an iframe with %%CLICK_URL_UNESC%% and %%CACHEBUSTER%% whose click lands with the coupon", async () => {
    const site = await campaign();
    const { status, body } = await tagFor(site.apiKey, "gam");
    expect(status).toBe(200);
    expect(body).toMatchObject({ placement: "sidebar", network: "gam", width: 300, height: 250 });
    expect(body.tag).toContain('width="300" height="250"');
    expect(body.tag).toContain('ord=%%CACHEBUSTER%%&amp;click=%%CLICK_URL_UNESC%%"');

    // GAM's expansion: its click redirector (own query, `adurl=` last) and a random integer.
    const gamClick =
      "https://adclick.g.doubleclick.net/pcs/click?xai=AKAOjsvQ&sai=AMfl-YT&sig=Cg0ArKJSzA&format=svg&adurl=";
    const expanded = body.tag.replace("%%CLICK_URL_UNESC%%", gamClick).replace("%%CACHEBUSTER%%", randomInteger());
    const landing = await serveAndClick(iframeSrc(expanded), {
      host: "adclick.g.doubleclick.net",
      destinationOf: (url) => url.searchParams.get("adurl") ?? "",
    });
    expect(landing).toMatch(/^https:\/\/shop\.example\/sale\?src=ad&coupon=GIFT-\d$/);
  });

  it("gives Xandr an iframe with its CLICK_URL and CACHEBUSTER macros whose click lands with the coupon", async () => {
    const site = await campaign();
    const { body } = await tagFor(site.apiKey, "xandr");
    expect(body.tag).toContain(`ord=${XANDR_CACHEBUSTER}&amp;click=${XANDR_CLICK}"`);
    const xandrClick = "https://nym1-ib.adnxs.com/click?AAAAAAAA4D8AAAAAAADgPw&cnd=%21Cg0AAAA&site=x/clickenc=";
    const expanded = body.tag.replace(XANDR_CLICK, xandrClick).replace(XANDR_CACHEBUSTER, randomInteger());
    const landing = await serveAndClick(iframeSrc(expanded), {
      host: "nym1-ib.adnxs.com",
      destinationOf: (url) => decodeURIComponent(url.href.split("/clickenc=")[1] ?? ""),
    });
    expect(landing).toMatch(/^https:\/\/shop\.example\/sale\?src=ad&coupon=GIFT-\d$/);
  });

  it("gives a generic tag without macros, 404 for a placement that serves nothing and 400 for an unknown network", async () => {
    const site = await campaign();
    const generic = await tagFor(site.apiKey, "generic");
    expect(generic.body.macros).toBeNull();
    expect(iframeSrc(generic.body.tag)).toBe(`https://tagwerk.test/b/sidebar?site=${site.siteKey}`);
    expect((await tagFor(site.apiKey, "gam", "nowhere")).status).toBe(404);
    const bad = await call("/api/v1/placements/sidebar/tag?network=dfp", { key: site.apiKey });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe("validation_failed");
    expect((await call("/api/v1/placements/sidebar/tag?network=gam")).status).toBe(401);
  });

  it("takes the fallback creative's size when the placement has one", async () => {
    const site = await campaign();
    const res = await call("/api/v1/creatives", {
      method: "POST",
      key: site.apiKey,
      json: {
        name: "Sky",
        format: "html",
        template: "<p>House ad</p>",
        width: 160,
        height: 600,
        landing_url: "https://shop.example/",
      },
    });
    await site.fallback("sidebar", ((await res.json()) as { id: number }).id);
    expect((await tagFor(site.apiKey, "gam")).body).toMatchObject({ width: 160, height: 600 });
  });
});

describe("/b and cache-busters", () => {
  it("ignores ord, cb and cachebuster: the same visitor gets the same rule and code", async () => {
    const site = await campaign();
    const cookie = randomCookie();
    const answers: BannerJson[] = [];
    for (const extra of ["", "&ord=123", "&cb=456", "&cachebuster=789&ord=1"]) {
      const res = await fetchWorker(`/b/sidebar?site=${site.siteKey}&format=json${extra}`, { cookie });
      expect(res.status).toBe(200);
      answers.push((await res.json()) as BannerJson);
    }
    expect(new Set(answers.map((a) => a.rule)).size).toBe(1);
    expect(answers[0].rule).not.toBeNull();
    expect(new Set(answers.map((a) => a.coupon?.code)).size).toBe(1);
  });

  it("still takes an escaped click macro as one parameter, wherever it stands", async () => {
    const site = await campaign();
    const prefix = "https://net.example/click?u=";
    const res = await fetchWorker(`/b/sidebar?click=${encodeURIComponent(prefix)}&site=${site.siteKey}&format=json`, {
      cookie: randomCookie(),
    });
    const json = (await res.json()) as BannerJson;
    expect(json.click_url?.startsWith(prefix)).toBe(true);
  });
});
