import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createSiteWithId, insertCodes, insertPool } from "../../coupons/helpers";
import { createAdminUser, postForm, sessionCookie, siteWithSessions } from "../../fixtures/admin";
import { call, importCsv } from "../../fixtures/api";
import { bannerSite } from "../../fixtures/banner";

describe("nothing to guess in the admin", () => {
  it("a code typed in lower case is found in upper case, and the page says so precisely", async () => {
    const site = await createSiteWithId();
    const pool = await insertPool(site.siteId, { kind: "list", name: "Service pool" });
    await insertCodes(site.siteId, pool.id, ["SPRING-7KQ"]);
    const user = await createAdminUser(site.siteKey, "viewer");
    const cookie = await sessionCookie(user.email);
    const res = await call("/admin/coupons?code=spring-7kq", { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("There is no code “spring-7kq”, but there is “SPRING-7KQ”, the same in upper case");
    expect(html).toContain("<code>SPRING-7KQ</code>");
    expect(html).not.toContain('id="lookup-error"');
  });

  it("sets the CRM ads-consent default from the settings page, and a form without the box keeps it", async () => {
    const s = await siteWithSessions();
    const form = {
      name: "Shop",
      allowed_origins: "https://shop.example",
      consent_mode: "implied",
      holdout: "5",
      retention_days: "90",
      coupon_param: "coupon",
    };
    const stored = async () =>
      (
        await env.DB.prepare("select crm_ads_consent_default as d from sites where id = ?")
          .bind(s.users.admin.siteId)
          .first<{ d: number }>()
      )?.d;
    const page = await (await call("/admin/settings", { headers: { Cookie: s.cookies.admin } })).text();
    expect(page).toContain('name="crm_ads_consent_default"');
    const on = { ...form, has_crm_ads_consent_default: "1", crm_ads_consent_default: "1" };
    expect((await postForm("/admin/settings", s.cookies.admin, on)).status).toBe(303);
    expect(await stored()).toBe(1);
    // A form that does not carry the box (an older page) leaves the setting as it is.
    expect((await postForm("/admin/settings", s.cookies.admin, form)).status).toBe(303);
    expect(await stored()).toBe(1);
    // The box unticked on the page: off.
    expect(
      (await postForm("/admin/settings", s.cookies.admin, { ...form, has_crm_ads_consent_default: "1" })).status,
    ).toBe(303);
    expect(await stored()).toBe(0);
  });

  it("holdouts are typed as percent: 20 is stored as 0.2 and shown as 20 again", async () => {
    const s = await siteWithSessions();
    const res = await postForm("/admin/settings", s.cookies.admin, {
      name: "Shop",
      allowed_origins: "https://shop.example",
      consent_mode: "implied",
      holdout: "20",
      retention_days: "90",
      coupon_param: "coupon",
    });
    expect(res.status).toBe(303);
    const row = await env.DB.prepare("select holdout from sites where id = ?")
      .bind(s.users.admin.siteId)
      .first<{ holdout: number }>();
    expect(row?.holdout).toBeCloseTo(0.2);
    const page = await (await call("/admin/settings", { headers: { Cookie: s.cookies.admin } })).text();
    expect(page).toMatch(/name="holdout" type="number" value="20"/);
  });

  it("a rule's holdout of 15 % is stored as 0.15", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>x</p>");
    const user = await createAdminUser(s.siteKey, "marketer");
    const res = await postForm("/admin/rules", await sessionCookie(user.email), {
      name: "Percent",
      placement: "home-hero",
      creative_id: String(creative),
      priority: "100",
      holdout: "15",
      enabled: "1",
    });
    expect(res.status).toBe(303);
    const row = await env.DB.prepare("select holdout from rules where site_id = ?")
      .bind(s.siteId)
      .first<{ holdout: number }>();
    expect(row?.holdout).toBeCloseTo(0.15);
  });

  it("each partner has its /sync pixel to copy", async () => {
    const s = await bannerSite();
    await call("/api/v1/partners", { method: "POST", key: s.apiKey, json: { key: "adnet", name: "Ad network" } });
    const user = await createAdminUser(s.siteKey, "marketer");
    const html = await (await call("/admin/partners", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    expect(html).toContain(`/sync?site=${s.siteKey}&amp;p=adnet&amp;puid=PARTNER_USER_ID`);
    expect(html).toContain('data-copy="sync-adnet"');
  });
});

describe("the editors say everything", () => {
  it("the segment editor marks the error's column, suggests the field and offers every field, acquisition too", async () => {
    const s = await bannerSite();
    const user = await createAdminUser(s.siteKey, "marketer");
    const res = await postForm("/admin/segments", await sessionCookie(user.email), {
      name: "Typo",
      expression: "orders > 1 and vists > 2",
    });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("did you mean visits?");
    expect(html).toContain(
      '<pre class="marked-expression" id="expression-marked">orders &gt; 1 and <mark>vists</mark> &gt; 2</pre>',
    );
    expect(html).toContain('data-insert="acquisition"');
    expect(html).toContain('data-insert="lookalike_score"');
  });

  it("a saved segment's page shows its sample profiles, each linked to explain on the site's first placement", async () => {
    const s = await bannerSite();
    const creative = await s.creative("html", "<p>x</p>");
    await s.rule({ name: "r", placement: "home-hero", creative_id: creative });
    expect((await importCsv(s.apiKey, "customer_id,orders\nC-7,3\nC-8,0\n")).status).toBe(200);
    const segment = await s.segment("orders > 1");
    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (
      await call(`/admin/segments/${segment}`, { headers: { Cookie: await sessionCookie(user.email) } })
    ).text();
    const sample = html.match(/<div class="table-wrap" id="segment-sample"[^>]*>([\s\S]*?)<\/table>/);
    expect(sample?.[0]).toContain('data-placement="home-hero"');
    expect(sample?.[1]).toContain('<a href="/admin/explain?who=C-7&amp;placement=home-hero">Explain</a>');
    expect(sample?.[1]).not.toContain("C-8");
  });

  it("the segment editor's script is bundled TypeScript that completes fields from the parser's list", async () => {
    const js = await (await call("/admin/assets/segment-editor.js")).text();
    // The field list comes from worker/segments/fields.ts through the bundle, acquisition included.
    expect(js).toContain('"acquisition"');
    expect(js).toContain("field-suggestions");
    expect(js).toContain("/api/v1/segments/preview");
  });

  it("the creative editor's hint names every template variable", async () => {
    const s = await bannerSite();
    const user = await createAdminUser(s.siteKey, "marketer");
    const html = await (
      await call("/admin/creatives", { headers: { Cookie: await sessionCookie(user.email) } })
    ).text();
    for (const name of ["product_sku", "product_category", "product_url", "product_image", "cluster"]) {
      expect(html).toContain(`{{${name}}}`);
    }
  });
});
