import { describe, expect, it } from "vitest";
import { createAdminUser, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite, insertVisitor, randomCookie } from "../../fixtures/banner";

describe("the admin's Explain page", () => {
  it("shows every rule with why, the outcome, and frames the creative the visitor sees", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>hello rings</p>");
    const never = await s.segment("visits > 1000");
    const skipped = await s.rule({ name: "Big fans only", priority: 1, creative_id: creative, segment_id: never });
    const shown = await s.rule({ name: "Everyone", priority: 2, creative_id: creative });
    const cookie = randomCookie();
    await insertVisitor(s.siteId, cookie);
    const user = await createAdminUser(s.siteKey, "viewer");
    const session = await sessionCookie(user.email);

    const page = await call(`/admin/explain?placement=slot&who=${cookie}`, { headers: { Cookie: session } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Big fans only");
    expect(html).toContain("segment false");
    expect(html).toMatch(/Everyone<\/a> <span class="badge on">chosen/);
    expect(html).toContain("sees the chosen rule&#39;s creative");
    expect(skipped).toBeLessThan(shown);

    const frame = await call(`/admin/explain/frame?placement=slot&who=${cookie}`, { headers: { Cookie: session } });
    expect(frame.status).toBe(200);
    expect(frame.headers.get("Content-Security-Policy")).toContain("sandbox");
    expect(await frame.text()).toContain("<p>hello rings</p>");
  });

  it("keeps the input and shows the error next to the field for an unknown customer", async () => {
    const s = await bannerSite();
    await s.rule({ name: "Everyone", creative_id: await s.creative("html", "<p>x</p>") });
    const user = await createAdminUser(s.siteKey, "marketer");
    const page = await call("/admin/explain?placement=slot&who=C-NOT-THERE", {
      headers: { Cookie: await sessionCookie(user.email) },
    });
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain('value="C-NOT-THERE"');
    expect(html).toMatch(/id="who-error"[^>]*>No customer &quot;C-NOT-THERE&quot;/);
  });
});
