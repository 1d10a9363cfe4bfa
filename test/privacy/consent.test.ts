/**
 * Consent on the decision path: a visitor whose stored consent is "denied" is treated as an
 * anonymous browser by /b — no profile (so no segment matches), no coupon, no cookie ID on the
 * impression.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countRows } from "../collect/post-events";
import { bannerJson, bannerSite, insertVisitor, randomCookie } from "../decide/helpers";

describe("consent on /b", () => {
  it("does not personalise for a visitor who refused consent: no segment matches, no code, no cookie ID recorded", async () => {
    const site = await bannerSite();
    const personal = await site.creative("html", "<p>PERSONAL {{coupon}}</p>");
    const fallback = await site.creative("html", "<p>FALLBACK</p>");
    const pool = await site.pool();
    await site.codes(pool, ["C-ONE", "C-TWO"]);
    const returning = await site.segment("visits >= 1");
    const rule = await site.rule({ creative_id: personal, pool_id: pool, segment_id: returning });
    await site.fallback("slot", fallback);
    const denied = randomCookie();
    const granted = randomCookie();
    await insertVisitor(site.siteId, denied);
    await insertVisitor(site.siteId, granted);
    await env.DB.prepare("update visitors set consent = 'denied' where cookie_id = ?").bind(denied).run();
    await env.DB.prepare("update visitors set consent = 'granted' where cookie_id = ?").bind(granted).run();

    const refused = await bannerJson(site.siteKey, "slot", denied);
    expect(refused.rule).toBeNull();
    expect(refused.coupon).toBeNull();
    expect(String(refused.creative.body)).toContain("FALLBACK");
    expect(await countRows("coupons", "pool_id = ? and cookie_id = ?", pool, denied)).toBe(0);
    expect(await countRows("impressions", "site_id = ? and cookie_id = ?", site.siteId, denied)).toBe(0);

    const control = await bannerJson(site.siteKey, "slot", granted);
    expect(control.rule).toBe(rule);
    expect(control.coupon?.code).toMatch(/^C-/);
  });
});
