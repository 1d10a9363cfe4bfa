import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite } from "../../fixtures/banner";

const selectOf = (html: string, placement: string) =>
  html.match(new RegExp(`<select id="fallback-${placement}"[\\s\\S]*?</select>`))?.[0] ?? "";

describe("the fallback form on the Rules page", () => {
  it("preselects the current fallback, not the first creative, and says which it is", async () => {
    const s = await bannerSite();
    const first = await s.creative("html", "<p>first</p>");
    const house = await s.creative("html", "<p>house</p>");
    await s.rule({ name: "r", creative_id: first });
    await s.fallback("slot", house);
    const user = await createAdminUser(s.siteKey, "marketer");
    const html = await (await call("/admin/rules", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    const select = selectOf(html, "slot");
    expect(select).toMatch(new RegExp(`<option value="${house}" selected="">`));
    expect(select).not.toMatch(new RegExp(`<option value="${first}" selected`));
    expect(html).toContain(`Now: html creative`);
  });

  it("with no fallback yet, preselects nothing and refuses an unchosen submit, changing nothing", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>only</p>");
    await s.rule({ name: "r", creative_id: creative });
    const user = await createAdminUser(s.siteKey, "marketer");
    const cookie = await sessionCookie(user.email);
    const html = await (await call("/admin/rules", { headers: { Cookie: cookie } })).text();
    expect(selectOf(html, "slot")).toMatch(/<option value="" selected="">— choose a creative —/);
    expect(html).toContain("None set");
    const res = await postForm("/admin/placements/slot/fallback", cookie, { creative_id: "" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Choose the fallback creative first.");
    const row = await env.DB.prepare("select count(*) as n from placement_fallbacks where site_id = ?")
      .bind(s.siteId)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });
});
