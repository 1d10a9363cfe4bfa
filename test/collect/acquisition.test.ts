/**
 * How a visitor first arrived (worker/collect/acquisition.ts), recorded from what really happens:
 * the first landing page sent to `POST /e`, and a banner click through `GET /c`.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCookieId } from "../../worker/lib/visitor-cookie";
import { writeBannerMessages } from "../../worker/pipeline/impressions";
import { call } from "../fixtures/api";
import { bannerJson, bannerSite, fetchWorker } from "../fixtures/banner";
import { event, postEvents, SHOP, visitorOf } from "./post-events";

async function site() {
  const s = await bannerSite({ allowed_origins: [SHOP] });
  const creative = await s.creative("html", '<a href="{{click_url}}">Sale</a>', `${SHOP}/sale`);
  const ruleId = await s.rule({ creative_id: creative });
  return { ...s, ruleId };
}

/** The visitor's first batch: a page view of `url`; answers the visitor's cookie ID. */
async function land(siteKey: string, url: string | null, cookie = newCookieId()) {
  const res = await postEvents({ site: siteKey, events: [event("page", undefined, { url })] }, { cookie });
  expect(res.status).toBe(204);
  return cookie;
}

async function acquisitionOf(cookie: string) {
  return (await visitorOf(cookie))?.acquisition ?? null;
}

/** Follows the visitor's banner's click URL as the browser does, with its cookie. */
async function click(siteKey: string, cookie: string) {
  const banner = await bannerJson(siteKey, "slot", cookie);
  const res = await fetchWorker(new URL(banner.click_url!).pathname, { cookie, redirect: "manual" });
  expect(res.status).toBe(302);
  return res.headers.get("Location")!;
}

describe("acquisition", () => {
  it("is display when the first landing URL's utm_medium is display, banner, cpm or programmatic, in any case", async () => {
    const { siteKey } = await site();
    for (const medium of ["display", "Banner", "CPM", "programmatic"]) {
      const cookie = await land(siteKey, `${SHOP}/rings?utm_source=net&utm_medium=${medium}&utm_campaign=x`);
      expect(await acquisitionOf(cookie), medium).toBe("display");
    }
    for (const url of [`${SHOP}/?utm_medium=cpc`, `${SHOP}/?utm_medium=email`, `${SHOP}/`, null]) {
      expect(await acquisitionOf(await land(siteKey, url)), String(url)).toBe("other");
    }
  });

  it("is never overwritten by later landings, and waits for the first page when a batch has none", async () => {
    const { siteKey } = await site();
    const direct = await land(siteKey, `${SHOP}/`);
    await land(siteKey, `${SHOP}/?utm_medium=display`, direct);
    expect(await acquisitionOf(direct)).toBe("other");

    const goalFirst = newCookieId();
    const res = await postEvents(
      { site: siteKey, events: [event("event", undefined, { name: "newsletter_signup" })] },
      { cookie: goalFirst },
    );
    expect(res.status).toBe(204);
    expect(await acquisitionOf(goalFirst)).toBeNull();
    await land(siteKey, `${SHOP}/?utm_medium=programmatic`, goalFirst);
    await land(siteKey, `${SHOP}/`, goalFirst);
    expect(await acquisitionOf(goalFirst)).toBe("display");
  });

  it("is banner after a click on a tagwerk banner before the first visit, which the landing page keeps", async () => {
    const { siteKey } = await site();
    const cookie = newCookieId();
    const landing = await click(siteKey, cookie);
    // The click alone is no visit: the row it makes waits for the landing page.
    expect(await visitorOf(cookie)).toMatchObject({ acquisition: "banner", visits: 0 });
    await land(siteKey, landing, cookie);
    expect(await visitorOf(cookie)).toMatchObject({ acquisition: "banner", visits: 1, pageviews: 1 });
  });

  it("is banner when the click is written after its landing page (the queue keeps no order), but not for a visitor who came earlier", async () => {
    const { siteKey, siteId, ruleId } = await site();
    const clickedAt = Date.now();
    const cookie = await land(siteKey, `${SHOP}/sale`);
    expect(await acquisitionOf(cookie)).toBe("other");
    // The consumer's own write of the click message that /c sent before the landing page's batch.
    const message = { kind: "click" as const, siteId, ruleId, cookieId: cookie, ts: clickedAt };
    await writeBannerMessages(env, [{ ...message, impressionUid: crypto.randomUUID() }]);
    expect(await acquisitionOf(cookie)).toBe("banner");

    const earlier = await land(siteKey, `${SHOP}/`);
    await click(siteKey, earlier);
    expect(await acquisitionOf(earlier)).toBe("other");
  });

  it("selects visitors by acquisition in the segment preview", async () => {
    const { siteKey, apiKey } = await site();
    await land(siteKey, `${SHOP}/?utm_medium=display`);
    await land(siteKey, `${SHOP}/?utm_medium=display`);
    await land(siteKey, `${SHOP}/`);
    await click(siteKey, newCookieId());
    const count = async (expression: string) => {
      const res = await call("/api/v1/segments/preview", { method: "POST", key: apiKey, json: { expression } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { visitors: number }).visitors;
    };
    expect(await count('acquisition = "display"')).toBe(2);
    expect(await count('acquisition = "other"')).toBe(1);
    expect(await count('acquisition in ("display", "banner")')).toBe(3);
  });
});
