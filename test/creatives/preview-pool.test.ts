import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie } from "../fixtures/admin";
import { call } from "../fixtures/api";
import { bannerSite } from "../fixtures/banner";

const TEMPLATE = "<p>{{#coupon}}{{discount}} off until {{expires}}{{/coupon}}{{^coupon}}No code today{{/coupon}}</p>";
const preview = (apiKey: string, extra: Record<string, unknown>) =>
  call("/api/v1/creatives/preview", {
    method: "POST",
    key: apiKey,
    json: { format: "html", template: TEMPLATE, width: 300, height: 250, ...extra },
  });
const bodyOf = async (res: Response) => ((await res.json()) as { body: string }).body;

describe("the creative preview per pool and with or without a coupon", () => {
  it("shows the chosen pool's real discount and validity, the sample otherwise, and the no-coupon variant", async () => {
    const s = await bannerSite();
    const pool = await s.pool("25 EUR");
    const withPool = await bodyOf(await preview(s.apiKey, { pool_id: pool }));
    expect(withPool).toContain("25 EUR off until 20");
    expect(await bodyOf(await preview(s.apiKey, {}))).toContain("10 % off");
    expect(await bodyOf(await preview(s.apiKey, { pool_id: pool, coupon: false }))).toBe("<p>No code today</p>");
  });

  it("refuses another site's pool, naming the field", async () => {
    const [a, b] = [await bannerSite(), await bannerSite()];
    const res = await preview(a.apiKey, { pool_id: await b.pool() });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("pool_id: no pool");
  });

  it("the admin's preview frame passes the pool and the variant on", async () => {
    const s = await bannerSite();
    const pool = await s.pool("15 %");
    const user = await createAdminUser(s.siteKey, "marketer");
    const cookie = await sessionCookie(user.email);
    const form = { format: "html", template: TEMPLATE, width: "300", height: "250", landing_url: "" };
    const html = await (
      await postForm("/admin/creatives/preview-frame", cookie, { ...form, pool_id: String(pool), coupon: "1" })
    ).text();
    expect(html).toContain("15 % off");
    const without = await (
      await postForm("/admin/creatives/preview-frame", cookie, { ...form, pool_id: String(pool), coupon: "0" })
    ).text();
    expect(without).toContain("No code today");
    const page = await (await call("/admin/creatives", { headers: { Cookie: cookie } })).text();
    expect(page).toContain(`<option value="${pool}">pool: 15 % for 30 days</option>`);
  });
});
