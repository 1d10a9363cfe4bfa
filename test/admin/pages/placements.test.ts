import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAdminUser, postForm, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";
import { bannerSite, fetchWorker } from "../../fixtures/banner";

async function site() {
  const s = await bannerSite();
  const creative = await s.creative("html", "<p>House</p>");
  const first = await s.rule({ name: "Comeback", placement: "home-hero", creative_id: creative, priority: 10 });
  const second = await s.rule({ name: "Watches", placement: "home-hero", creative_id: creative, priority: 20 });
  await s.fallback("cart", creative);
  const user = await createAdminUser(s.siteKey, "marketer");
  return { s, first, second, cookie: await sessionCookie(user.email) };
}

describe("the Placements pages", () => {
  it("list a fallback-only placement beside the rules' ones, and the Install page has a slot for each", async () => {
    const { cookie } = await site();
    const list = await (await call("/admin/placements", { headers: { Cookie: cookie } })).text();
    expect(list).toContain('href="/admin/placements/cart"');
    expect(list).toContain('href="/admin/placements/home-hero"');
    const install = await (await call("/admin/install", { headers: { Cookie: cookie } })).text();
    expect(install).toContain("data-tw-slot=&quot;cart&quot; data-w=&quot;300&quot; data-h=&quot;250&quot;");
    expect(install).toContain("data-tw-slot=&quot;home-hero&quot;");
  });

  it("list a placement only /b has seen, marked as not set up, and open its page to give it a fallback", async () => {
    const { s, cookie } = await site();
    await fetchWorker(`/b/product-side?site=${s.siteKey}&format=json`);
    const list = await (await call("/admin/placements", { headers: { Cookie: cookie } })).text();
    expect(list).toMatch(/href="\/admin\/placements\/product-side"[\s\S]*?seen by \/b, not set up yet/);
    const page = await call("/admin/placements/product-side", { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="/admin/placements/product-side/fallback"');
  });

  it("show rules in order, the slot snippet, three ad-server tags with copy buttons and a preview", async () => {
    const { cookie } = await site();
    const res = await call("/admin/placements/home-hero", { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.indexOf("Comeback</a>")).toBeLessThan(html.indexOf("Watches</a>"));
    expect(html).toContain('id="slot-snippet"');
    expect(html).toContain("%%CLICK_URL_UNESC%%");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Xandr's macro, not a JS template
    expect(html).toContain("${CLICK_URL}");
    for (const network of ["gam", "xandr", "generic"]) expect(html).toContain(`data-copy="tag-${network}"`);
    expect(html).toMatch(
      /<iframe id="tag-preview"[^>]*src="\/admin\/explain\/frame\?placement=home-hero&amp;who=0{32}"/,
    );
    expect((await call("/admin/placements/nowhere", { headers: { Cookie: cookie } })).status).toBe(404);
  });

  it("move down is one reorder; a page older than the rules is refused and nothing moves", async () => {
    const { s, first, second, cookie } = await site();
    const moved = await postForm("/admin/placements/home-hero/move", cookie, {
      rule_id: String(first),
      direction: "down",
      order: `${first},${second}`,
    });
    expect(moved.status).toBe(303);
    expect(moved.headers.get("Location")).toBe("/admin/placements/home-hero?done=saved");
    const priorities = async () =>
      (
        await env.DB.prepare("select id, priority from rules where site_id = ? order by priority")
          .bind(s.siteId)
          .all<{ id: number; priority: number }>()
      ).results.map((r) => r.id);
    expect(await priorities()).toEqual([second, first]);

    const stale = await postForm("/admin/placements/home-hero/move", cookie, {
      rule_id: String(first),
      direction: "up",
      order: `${second},${first},424242`,
    });
    expect(stale.status).toBe(400);
    expect(await stale.text()).toContain("reload and try again");
    expect(await priorities()).toEqual([second, first]);
  });

  it("sets the fallback from the placement page and returns there", async () => {
    const { s, cookie } = await site();
    const other = await s.creative("html", "<p>Other</p>");
    const res = await postForm("/admin/placements/home-hero/fallback", cookie, {
      creative_id: String(other),
      from: "placement",
    });
    expect(res.headers.get("Location")).toBe("/admin/placements/home-hero?done=saved");
    const html = await (await call("/admin/placements/home-hero", { headers: { Cookie: cookie } })).text();
    expect(html).toMatch(/<option value="\d+" selected="">html creative<\/option>/);
  });

  it("set the next best offer with its objective, and show what each rule learned per context", async () => {
    const { s, first, cookie } = await site();
    const saved = await postForm("/admin/placements/home-hero/arbitration", cookie, {
      arbitration: "best",
      objective: "redemptions",
    });
    expect(saved.status).toBe(303);
    const setting = await env.DB.prepare("select arbitration, objective from placement_settings where site_id = ?")
      .bind(s.siteId)
      .first();
    expect(setting).toEqual({ arbitration: "best", objective: "redemptions" });
    await env.DB.prepare(
      "insert into offer_counters (site_id, placement, rule_id, context, day, impressions, clicks, redemptions) values (?, 'home-hero', ?, 'watches', ?, 40, 3, 2)",
    )
      .bind(s.siteId, first, Math.floor(Date.now() / 86_400_000))
      .run();
    const html = await (await call("/admin/placements/home-hero", { headers: { Cookie: cookie } })).text();
    expect(html).toMatch(/<option value="best" selected/);
    expect(html).toMatch(/<option value="redemptions" selected/);
    expect(html).toContain('id="learned-offers"');
    expect(html).toContain("<td>watches</td>");
    // A value the API refuses comes back as the page with its message, and changes nothing.
    const refused = await postForm("/admin/placements/home-hero/arbitration", cookie, {
      arbitration: "random",
      objective: "clicks",
    });
    expect(refused.status).toBe(400);
    expect(
      await env.DB.prepare("select arbitration from placement_settings where site_id = ?")
        .bind(s.siteId)
        .first("arbitration"),
    ).toBe("best");
  });
});
