/**
 * Consent on the decision path: a visitor whose stored consent is "denied" is treated as an
 * anonymous browser by /b — no profile (so no segment matches), no coupon, no cookie ID on the
 * impression.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mayPersonalise, personalisableSql } from "../../worker/privacy/consent";
import { countRows } from "../collect/post-events";
import { bannerJson, bannerSite, fetchWorker, insertVisitor, randomCookie } from "../fixtures/banner";

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
    await insertVisitor(site.siteId, denied, { consent: "denied" });
    await insertVisitor(site.siteId, granted, { consent: "granted" });

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

describe("consent on a consent_mode: required site", () => {
  it("treats a visitor who never granted consent (made by a links import) as anonymous on /b, /c, caps and impressions", async () => {
    const site = await bannerSite({ consent_mode: "required" });
    const personal = await site.creative("html", '<a href="{{click_url}}">PERSONAL {{coupon}}</a>');
    const pool = await site.pool();
    await site.codes(pool, ["R-ONE", "R-TWO"]);
    const rule = await site.rule({
      creative_id: personal,
      pool_id: pool,
      segment_id: await site.segment("customer"),
      cap_per_day: 5,
    });
    const neverAsked = randomCookie();
    const consented = randomCookie();
    await insertVisitor(site.siteId, neverAsked, { customerId: "C-1" });
    await insertVisitor(site.siteId, consented, { customerId: "C-2", consent: "granted" });

    const banner = await bannerJson(site.siteKey, "slot", neverAsked);
    expect(banner.rule).toBeNull();
    expect(banner.coupon).toBeNull();
    expect(await countRows("coupons", "pool_id = ? and holder is not null", pool)).toBe(0);
    expect(await countRows("impressions", "site_id = ? and cookie_id = ?", site.siteId, neverAsked)).toBe(0);

    const control = await bannerJson(site.siteKey, "slot", consented);
    expect(control.rule).toBe(rule);
    expect(control.coupon?.code).toMatch(/^R-/);
    // Counted for its customer: every device of the person shares the cap.
    expect(await countRows("person_caps", "holder = ?", "c:C-2")).toBe(1);

    // A click carried by the never-consented browser is counted without its cookie ID.
    const token = new URL(control.click_url!).pathname;
    const click = await fetchWorker(token, { cookie: neverAsked });
    expect(click.status).toBe(302);
    expect(await countRows("clicks", "site_id = ?", site.siteId)).toBe(1);
    expect(await countRows("clicks", "cookie_id = ?", neverAsked)).toBe(0);
  });

  it("answers the same in TypeScript and in the SQL the writers use, for every mode and consent", async () => {
    for (const mode of ["required", "implied"] as const) {
      const site = await bannerSite({ consent_mode: mode });
      for (const consent of ["granted", "denied", null] as const) {
        const cookie = randomCookie();
        await insertVisitor(site.siteId, cookie);
        await env.DB.prepare("update visitors set consent = ? where cookie_id = ?").bind(consent, cookie).run();
        const row = await env.DB.prepare(`select ${personalisableSql("?1", "?2", "?3")} as ok`)
          .bind(site.siteId, cookie, mode)
          .first<{ ok: number }>();
        expect(Boolean(row?.ok), `${mode} / ${consent}`).toBe(mayPersonalise(mode, consent));
      }
    }
  });
});
