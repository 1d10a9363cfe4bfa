import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintVisitorToken } from "../../worker/auth/jwt";
import { mintClickToken } from "../../worker/clicks/tokens";
import { MS_PER_DAY } from "../../worker/lib/time";
import { errorOf } from "../fixtures/api";
import { bannerJson, bannerSite, fetchWorker, randomCookie } from "../fixtures/banner";

async function siteWithCouponRule(settings: Record<string, unknown> = {}) {
  const site = await bannerSite(settings);
  const creative = await site.creative(
    "html",
    '<a href="{{click_url}}">{{coupon}}</a>',
    "https://shop.example/sale?src=banner",
  );
  const pool = await site.pool();
  await site.codes(pool, ["SALE-1", "SALE-2"]);
  const ruleId = await site.rule({ creative_id: creative, pool_id: pool });
  return { ...site, ruleId };
}

const clickPath = (clickUrl: string) => new URL(clickUrl).pathname;

describe("clicks", () => {
  it("redirects 302 to the landing URL with the coupon in the site's coupon parameter, and records the click once", async () => {
    const site = await siteWithCouponRule({ coupon_param: "voucher" });
    const json = await bannerJson(site.siteKey, "slot", randomCookie());
    expect(json.coupon?.code).toBe("SALE-1");
    const res = await fetchWorker(clickPath(json.click_url!), { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("https://shop.example/sale?src=banner&voucher=SALE-1");
    expect((await fetchWorker(clickPath(json.click_url!), { redirect: "manual" })).status).toBe(302);
    const clicks = await env.DB.prepare("select impression_uid, rule_id from clicks where impression_uid = ?")
      .bind(json.impression)
      .all();
    expect(clicks.results).toEqual([{ impression_uid: json.impression, rule_id: site.ruleId }]);
  });

  it("carries the personal code sealed: the click macro's URL never shows it, /c still applies it", async () => {
    const site = await siteWithCouponRule();
    const macro = "https://adclick.network.example/pcs/click?xai=AKAOj&adurl=";
    const json = await bannerJson(site.siteKey, "slot", randomCookie(), `&click=${encodeURIComponent(macro)}`);
    expect(json.coupon?.code).toBe("SALE-1");
    // What the network's redirector sees and logs: its macro, then our click URL with the token.
    expect(json.click_url!.startsWith(macro)).toBe(true);
    const ours = decodeURIComponent(json.click_url!.slice(macro.length));
    const token = clickPath(ours).slice("/c/".length);
    const payload = atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"));
    for (const seen of [json.click_url!, ours, token, payload]) expect(seen).not.toContain("SALE-1");
    expect((JSON.parse(payload) as { cp: string }).cp).toMatch(/^~[A-Za-z0-9_-]{40,}$/);
    // Two tokens for the same code do not show that they are the same code.
    const again = await mintClickToken(env.SIGNING_SECRET, {
      site: site.siteKey,
      siteId: site.siteId,
      impression: "1".repeat(32),
      ruleId: site.ruleId,
      landingUrl: "https://shop.example/sale?src=banner",
      coupon: "SALE-1",
      couponParam: "coupon",
    });
    const sealedAgain = (JSON.parse(atob(again.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))) as { cp: string })
      .cp;
    expect(sealedAgain).not.toBe((JSON.parse(payload) as { cp: string }).cp);
    const res = await fetchWorker(clickPath(ours), { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("https://shop.example/sale?src=banner&coupon=SALE-1");
  });

  it("answers 400 to a tampered token and never redirects", async () => {
    const site = await siteWithCouponRule();
    const json = await bannerJson(site.siteKey, "slot", randomCookie());
    const token = clickPath(json.click_url!).slice("/c/".length);
    // PAYLOAD.MAC (worker/clicks/tokens.ts): a changed payload no longer matches its MAC.
    const [payload, mac] = token.split(".");
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims).toMatchObject({ imp: json.impression, l: "https://shop.example/sale?src=banner" });
    const forged = btoa(JSON.stringify({ ...claims, l: "https://evil.example/" }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    for (const bad of [`${forged}.${mac}`, `${token.slice(0, -2)}xx`, `${token}.${mac}`, "not-a-token"]) {
      const res = await fetchWorker(`/c/${bad}`, { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(res.headers.get("Location")).toBeNull();
      expect((await errorOf(res)).code).toBe("invalid_token");
    }
  });

  it("answers 400 to an expired token and to one signed for another site", async () => {
    const site = await siteWithCouponRule();
    const claims = {
      site: site.siteKey,
      siteId: site.siteId,
      impression: "0".repeat(32),
      ruleId: site.ruleId,
      landingUrl: "https://shop.example/",
      coupon: null,
      couponParam: "coupon",
    };
    const old = await mintClickToken(env.SIGNING_SECRET, claims, Date.now() - 2 * MS_PER_DAY);
    expect((await fetchWorker(`/c/${old}`, { redirect: "manual" })).status).toBe(400);
    // Just inside and just past the day a token lives.
    const dayAgo = Date.now() - 86_400_000;
    expect(
      (
        await fetchWorker(`/c/${await mintClickToken(env.SIGNING_SECRET, claims, dayAgo + 5_000)}`, {
          redirect: "manual",
        })
      ).status,
    ).toBe(302);
    expect(
      (
        await fetchWorker(`/c/${await mintClickToken(env.SIGNING_SECRET, claims, dayAgo - 5_000)}`, {
          redirect: "manual",
        })
      ).status,
    ).toBe(400);
    const other = await siteWithCouponRule();
    // A payload naming another site, carrying the MAC of this site's token.
    const crossSite = await mintClickToken(env.SIGNING_SECRET, {
      ...claims,
      site: other.siteKey,
      siteId: other.siteId,
    });
    const [payload] = crossSite.split(".");
    const [, mac] = (await mintClickToken(env.SIGNING_SECRET, claims)).split(".");
    expect((await fetchWorker(`/c/${payload}.${mac}`, { redirect: "manual" })).status).toBe(400);
    // Signed with another deployment's secret.
    const foreign = await mintClickToken("another-deployment-secret-0123456789", claims);
    expect((await fetchWorker(`/c/${foreign}`, { redirect: "manual" })).status).toBe(400);
    // A visitor token (a JWT of the same deployment) is no click token.
    const visitorToken = await mintVisitorToken(env.SIGNING_SECRET, site.siteKey, randomCookie());
    expect((await fetchWorker(`/c/${visitorToken}`, { redirect: "manual" })).status).toBe(400);
    const fresh = await mintClickToken(env.SIGNING_SECRET, claims);
    expect((await fetchWorker(`/c/${fresh}`, { redirect: "manual" })).status).toBe(302);
  });
});
