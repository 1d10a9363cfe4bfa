/**
 * Partner IDs are not authenticated: anyone who knows a partner user ID can put it in `/b?p=&puid=`
 * (they travel in URLs and bid requests). The rule (README, "Partner IDs"): such a request gets the
 * rule's targeting, never a personal code; the visitor's own cookie or a signed token does.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintVisitorToken } from "../../worker/auth/jwt";
import { bannerJson, bannerSite, insertCustomer, insertVisitor, randomCookie } from "../fixtures/banner";

describe("a banner asked for by partner ID", () => {
  it("shows the rule the visitor's profile matches but no personal code, while the cookie and a signed token do", async () => {
    const s = await bannerSite();
    const creative = await s.creative("json", { code: "{{coupon}}" });
    const pool = await s.pool();
    await s.codes(pool, ["P-ONE", "P-TWO"]);
    const rule = await s.rule({ creative_id: creative, pool_id: pool, segment_id: await s.segment("customer") });
    const cookie = randomCookie();
    await insertCustomer(s.siteId, "C-1", {});
    await insertVisitor(s.siteId, cookie, { customerId: "C-1" });
    await env.DB.prepare(
      "insert into id_links (site_id, partner_key, partner_user_id, cookie_id, updated_at) values (?, 'net', 'PUID-1', ?, 1)",
    )
      .bind(s.siteId, cookie)
      .run();

    const byPartner = await bannerJson(s.siteKey, "slot", undefined, "&p=net&puid=PUID-1");
    expect(byPartner.rule).toBe(rule);
    expect(byPartner.coupon).toBeNull();
    expect(byPartner.creative.body).toEqual({ code: "" });
    expect(
      await env.DB.prepare("select count(*) as n from coupons where holder is not null and pool_id = ?")
        .bind(pool)
        .first(),
    ).toEqual({ n: 0 });

    const own = await bannerJson(s.siteKey, "slot", cookie);
    expect(own.coupon?.code).toMatch(/^P-/);
    const token = await mintVisitorToken(env.SIGNING_SECRET, s.siteKey, cookie, Date.now());
    const byToken = await bannerJson(s.siteKey, "slot", undefined, `&t=${token}`);
    expect(byToken.coupon?.code).toBe(own.coupon?.code);
  });
});
