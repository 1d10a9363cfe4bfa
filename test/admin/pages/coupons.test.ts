import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { claimCoupon } from "../../../worker/coupons/claim";
import { createSiteWithId, insertCodes, insertPool } from "../../coupons/helpers";
import { createAdminUser, postForm, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";

async function heldCode() {
  const site = await createSiteWithId();
  const pool = await insertPool(site.siteId, { kind: "list", name: "Service pool" });
  await insertCodes(site.siteId, pool.id, ["CS-1"]);
  const cookieId = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  await claimCoupon(env.DB, env, {
    shards: null,
    visits: 0,
    siteId: site.siteId,
    pool,
    holder: `v:${cookieId}`,
    cookieId,
    customerId: null,
    ruleId: null,
    now: Date.now(),
  });
  const user = await createAdminUser(site.siteKey, "marketer");
  return { ...site, cookieId, user, session: await sessionCookie(user.email) };
}

describe("the admin's coupon code page (customer service)", () => {
  it("looks a code up without showing the cookie, redeems it by hand with a reason and rolls it back", async () => {
    const s = await heldCode();
    const page = await call("/admin/coupons?code=CS-1", { headers: { Cookie: s.session } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Service pool");
    expect(html).toContain("an anonymous visitor");
    expect(html).not.toContain(s.cookieId);

    const redeemed = await postForm("/admin/coupons/CS-1/redeem", s.session, {
      order: "O-55",
      revenue: "89,90",
      reason: "checkout refused the code",
    });
    expect(redeemed.status).toBe(303);
    const after = await (await call("/admin/coupons?code=CS-1", { headers: { Cookie: s.session } })).text();
    expect(after).toContain("O-55");
    expect(after).toContain(`redeem for order O-55 by ${s.user.email}: checkout refused the code`);
    expect(after).toContain("Roll back the redemption");

    // A roll-back asks first (admin/confirm.tsx) and keeps the typed order and reason for the confirmed post.
    const asked = await postForm("/admin/coupons/CS-1/rollback", s.session, {
      order: "O-55",
      reason: "order cancelled",
    });
    expect(asked.status).toBe(200);
    const question = await asked.text();
    expect(question).toContain("Yes, roll back");
    expect(question).toContain('<input type="hidden" name="order" value="O-55"/>');
    const held = await env.DB.prepare("select redeemed_at from coupons where code = 'CS-1' and site_id = ?")
      .bind(s.siteId)
      .first<{ redeemed_at: number | null }>();
    expect(held?.redeemed_at).not.toBeNull();

    const rolled = await postForm("/admin/coupons/CS-1/rollback", s.session, {
      order: "O-55",
      reason: "order cancelled",
      confirmed: "1",
    });
    expect(rolled.status).toBe(303);
    const row = await env.DB.prepare("select redeemed_at from coupons where code = 'CS-1' and site_id = ?")
      .bind(s.siteId)
      .first<{ redeemed_at: number | null }>();
    expect(row?.redeemed_at).toBeNull();
  });

  it("keeps the input and puts the error next to the field it is about", async () => {
    const s = await heldCode();
    await postForm("/admin/coupons/CS-1/redeem", s.session, { order: "O-1", reason: "first time" });
    const wrong = await postForm("/admin/coupons/CS-1/rollback", s.session, {
      order: "O-2",
      reason: "cancelled",
      confirmed: "1",
    });
    expect(wrong.status).toBe(400);
    const html = await wrong.text();
    expect(html).toMatch(/id="f-order" name="order" value="O-2"/);
    expect(html).toMatch(/id="order-error"[^>]*>&quot;CS-1&quot; was redeemed by another order/);
    expect(html).toContain('value="cancelled"');

    const unknown = await call("/admin/coupons?code=NOPE-1", { headers: { Cookie: s.session } });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toMatch(/id="lookup-error"[^>]*>No coupon &quot;NOPE-1&quot;/);
  });
});
