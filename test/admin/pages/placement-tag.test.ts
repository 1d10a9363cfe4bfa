import { describe, expect, it } from "vitest";
import { createAdminUser, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite } from "../../fixtures/banner";

const decodeHtml = (html: string) =>
  html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
const tagOf = (html: string) => decodeHtml(html.match(/<textarea id="ad-tag"[^>]*>([\s\S]*?)<\/textarea>/)?.[1] ?? "");

describe("the admin's Get tag page for a placement", () => {
  it("is linked from each placement on the Rules page", async () => {
    const s = await bannerSite();
    await s.rule({ name: "r", creative_id: await s.creative("html", "<p>x</p>") });
    const user = await createAdminUser(s.siteKey, "viewer");
    const html = await (await call("/admin/rules", { headers: { Cookie: await sessionCookie(user.email) } })).text();
    expect(html).toMatch(/href="\/admin\/placements\/slot\/tag"[^>]*>\s*Get tag/);
  });

  it("shows the API's ready-to-paste tag for the network chosen in a plain GET form", async () => {
    const s = await bannerSite();
    await s.rule({ name: "r", creative_id: await s.creative("html", "<p>x</p>") });
    const user = await createAdminUser(s.siteKey, "viewer");
    const session = await sessionCookie(user.email);
    const apiTag = async (network: string) =>
      (
        (await (
          await call(`/api/v1/placements/slot/tag?network=${network}`, { headers: { Cookie: session } })
        ).json()) as {
          tag: string;
        }
      ).tag;

    const gam = await call("/admin/placements/slot/tag", { headers: { Cookie: session } });
    expect(gam.status).toBe(200);
    const gamHtml = await gam.text();
    expect(gamHtml).toMatch(/<form method="get" action="\/admin\/placements\/slot\/tag"/);
    expect(gamHtml).toMatch(/<option value="gam" selected="">/);
    expect(tagOf(gamHtml)).toBe(await apiTag("gam"));
    expect(tagOf(gamHtml)).toContain("%%CLICK_URL_UNESC%%");

    const xandrHtml = await (
      await call("/admin/placements/slot/tag?network=xandr", { headers: { Cookie: session } })
    ).text();
    expect(xandrHtml).toMatch(/<option value="xandr" selected="">/);
    expect(tagOf(xandrHtml)).toBe(await apiTag("xandr"));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro syntax
    expect(tagOf(xandrHtml)).toContain("${CLICK_URL}");

    const generic = tagOf(
      await (await call("/admin/placements/slot/tag?network=generic", { headers: { Cookie: session } })).text(),
    );
    expect(generic).toBe(await apiTag("generic"));
    expect(generic).not.toContain("%%");
  });

  it("explains a placement that serves nothing instead of showing an empty tag", async () => {
    const s = await bannerSite();
    const user = await createAdminUser(s.siteKey, "viewer");
    const res = await call("/admin/placements/nowhere/tag", { headers: { Cookie: await sessionCookie(user.email) } });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain("serves nothing yet");
    expect(html).not.toContain('id="ad-tag"');
  });
});
