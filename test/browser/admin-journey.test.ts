/**
 * The marketer's whole journey through /admin in Chromium, against wrangler dev with the seeded
 * demo site: log in, write the dormant-women segment and see its count, make a creative and see
 * its preview, make a rule with a coupon pool, load /b/ for a matching visitor and see the banner
 * with a code, and see that impression in the report. Plus: a viewer cannot change anything, a
 * logged-out request goes to login, a forged cross-site form post is refused.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { browserAvailable, countedImpressions, launchChromium, queryD1, screenshot } from "./browser";

const SEGMENT = 'gender = "f" and days_since_last_order >= 180 and lifetime_revenue > 100 and coupons_redeemed = 0';
const PLACEMENT = "admin-journey";

async function logIn(context: BrowserContext, email: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${inject("edgeUrl")}/admin/login`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${inject("edgeUrl")}/admin`);
  return page;
}

describe.skipIf(!browserAvailable())("the admin UI in Chromium", () => {
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let ruleId = 0;
  const edge = () => inject("edgeUrl");

  beforeAll(async () => {
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("sends a logged-out visitor to the login form", async () => {
    const anonymous = await browser.newPage();
    await anonymous.goto(`${edge()}/admin/rules`);
    expect(new URL(anonymous.url()).pathname).toBe("/admin/login");
    await screenshot(anonymous, "admin-login");
    await anonymous.close();
  });

  it("logs in and shows the dashboard with charts of the seeded 30 days", async () => {
    page = await logIn(admin, "admin@example.com", "tagwerk-demo");
    expect(await page.locator("h1").textContent()).toBe("Dashboard");
    // uPlot drew every chart (one canvas each), and the seeded history shows in figures and series.
    await expect.poll(() => page.locator("html").getAttribute("data-charts")).toMatch(/^[1-9]/);
    expect(await page.locator(".chart canvas").count()).toBe(
      Number(await page.locator("html").getAttribute("data-charts")),
    );
    const impressions = Number((await page.locator("#kpi-impressions .stat").textContent())?.replace(/,/g, ""));
    expect(impressions).toBeGreaterThan(300);
    const chart = JSON.parse((await page.locator("#chart-impressions").getAttribute("data-chart")) ?? "{}") as {
      days: string[];
      series: { values: number[] }[];
    };
    expect(chart.days).toHaveLength(30);
    expect(chart.series[0].values.filter((v) => v > 0).length).toBeGreaterThanOrEqual(28);
    expect(await page.locator("#top-rules tbody tr").count()).toBeGreaterThan(0);
    await screenshot(page, "admin-dashboard");
    // A one-day period must not render blank: the chart still draws its point.
    await page.goto(`${edge()}/admin?days=7`);
    await expect.poll(() => page.locator("html").getAttribute("data-charts")).toMatch(/^[1-9]/);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const phonePage = await logIn(phone, "admin@example.com", "tagwerk-demo");
    await screenshot(phonePage, "admin-dashboard-phone");
    await phone.close();
  });

  it("writes the segment, shows syntax errors inline and the live count", async () => {
    await page.goto(`${edge()}/admin/segments`);
    await page.getByLabel("Name").fill("Dormant women, good customers, no coupon yet");
    const expression = page.locator("#expression");
    await expression.fill('gender = "f" and');
    await expect.poll(() => page.locator("#expression-error").textContent()).not.toBe("");
    await expression.fill(SEGMENT);
    await expect.poll(() => page.locator("#segment-count").textContent(), { timeout: 15_000 }).toMatch(/^\d+ visitors/);
    const visitors = Number((await page.locator("#segment-count").textContent())?.split(" ")[0]);
    expect(visitors).toBeGreaterThan(0);
    expect(await page.locator("#expression-error").textContent()).toBe("");
    await page.getByRole("button", { name: "Create segment" }).click();
    await page.waitForURL(/\/admin\/segments\/\d+/);
    await expect.poll(() => page.locator("#segment-count").textContent()).toContain(`${visitors} visitors`);
    await screenshot(page, "admin-segments");
  });

  it("creates a generated coupon pool", async () => {
    await page.goto(`${edge()}/admin/pools`);
    await page.getByLabel("Name").fill("Comeback 10 %");
    await page.getByLabel("Kind").selectOption("generated");
    await page.getByLabel("Prefix").fill("COMEBACK-");
    await page.getByLabel("Discount").fill("10 %");
    await page.getByRole("button", { name: "Create pool" }).click();
    await page.waitForURL(/done=created/);
    expect(await page.locator("table").textContent()).toContain("Comeback 10 %");
    await screenshot(page, "admin-pools");
  });

  it("makes a creative and shows its live preview at its real size", async () => {
    await page.goto(`${edge()}/admin/creatives`);
    await page.getByLabel("Name").fill("Comeback banner");
    await page.getByLabel("Landing URL").fill(`${inject("shopUrl")}/category/rings`);
    const frame = page.frameLocator("#preview-frame");
    await expect.poll(() => frame.locator("body").textContent(), { timeout: 15_000 }).toContain("SAMPLE-7K2Q");
    expect(await page.locator("#preview-frame").getAttribute("width")).toBe("300");
    expect(await page.locator("#preview-frame").getAttribute("height")).toBe("250");
    await page.getByRole("button", { name: "Create creative" }).click();
    await page.waitForURL(/\/admin\/creatives\/\d+/);
    await expect.poll(() => frame.locator("body").textContent(), { timeout: 15_000 }).toContain("SAMPLE-7K2Q");
    // Not an assertion: lets the sandboxed frame paint before the screenshot.
    await page.waitForTimeout(500);
    await screenshot(page, "admin-creatives");
  });

  it("makes a rule with the segment, the creative and the coupon pool", async () => {
    await page.goto(`${edge()}/admin/rules`);
    const form = page.locator("#rule-form");
    await form.getByLabel("Name").fill("Win back dormant women");
    await form.getByLabel("Placement").fill(PLACEMENT);
    await form.getByLabel("Segment").selectOption({ label: "Dormant women, good customers, no coupon yet" });
    await form.getByLabel("Creative").selectOption({ label: "Comeback banner (300×250)" });
    await form.getByLabel("Coupon pool").selectOption({ label: "Comeback 10 %" });
    await form.getByLabel("Priority").fill("1");
    await form.getByLabel("Holdout (%)").fill("0");
    await form.getByRole("button", { name: "Create rule" }).click();
    await page.waitForURL(/done=created/);
    expect(await page.locator("body").textContent()).toContain("Win back dormant women");
    const [rule] = queryD1<{ id: number }>(`select id from rules where placement = '${PLACEMENT}'`);
    ruleId = rule.id;
    await screenshot(page, "admin-rules");
  });

  it("serves the banner with a code to a matching visitor, and the report shows the impression", async () => {
    const now = Date.now();
    const [visitor] = queryD1<{ cookie_id: string }>(
      `select v.cookie_id from visitors v join customers c on c.site_id = v.site_id and c.customer_id = v.customer_id
       join sites s on s.id = v.site_id
       where s.key = 'demo' and c.gender = 'f' and c.last_order_at <= ${now - 180 * DAY}
         and c.lifetime_revenue > 100 and c.coupons_redeemed = 0 limit 1`,
    );
    expect(visitor?.cookie_id).toMatch(/^[0-9a-f]{32}$/);
    const shopper = await browser.newContext();
    await shopper.addCookies([{ name: "tw_id", value: visitor.cookie_id, url: edge() }]);
    const banner = await shopper.newPage();
    await banner.goto(`${edge()}/b/${PLACEMENT}?site=demo`);
    const text = (await banner.locator("body").textContent()) ?? "";
    expect(text).toMatch(/COMEBACK-[0-9A-Z]{10}/);
    await screenshot(banner, "admin-journey-banner");
    await shopper.close();

    await expect
      .poll(
        async () => {
          await page.goto(`${edge()}/admin/reports/rules/${ruleId}`);
          return Number(await page.locator(".stat").first().textContent());
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBeGreaterThanOrEqual(1);
    expect(await page.locator("#verdict").textContent()).toMatch(/\w/);
    await screenshot(page, "admin-report");
    await page.goto(`${edge()}/admin/reports`);
    expect(await page.locator("table").first().textContent()).toContain("Win back dormant women");
    await screenshot(page, "admin-reports");
  });

  it("explains why a visitor gets the rule, recording nothing", async () => {
    // A visitor the rule was shown to (its first exposure, outside the holdout).
    const [visitor] = queryD1<{ cookie_id: string }>(
      `select e.cookie_id from exposures e join sites s on s.id = e.site_id
       where s.key = 'demo' and e.rule_id = ${ruleId} and e.holdout = 0 limit 1`,
    );
    const before = countedImpressions();
    await page.goto(`${edge()}/admin/explain`);
    await page.getByLabel("Placement").fill(PLACEMENT);
    await page.getByLabel("Cookie ID or customer ID").fill(visitor.cookie_id);
    await page.getByRole("button", { name: "Explain" }).click();
    await page.waitForURL(/\/admin\/explain\?/);
    const row = page.locator("#explain-rules tr", { hasText: "Win back dormant women" });
    expect(await row.textContent()).toContain("matched: this rule is shown");
    expect(await page.locator("#explain-outcome").textContent()).toContain("sees the chosen rule's creative");
    const code = (await page.locator("#explain-coupon a").textContent()) ?? "";
    expect(code).toMatch(/^COMEBACK-/);
    await expect
      .poll(() => page.frameLocator("#explain-frame").locator("body").textContent(), { timeout: 15_000 })
      .toContain(code);
    // Not an assertion: lets the sandboxed frame paint before the screenshot.
    await page.waitForTimeout(500);
    await screenshot(page, "admin-explain");
    expect(countedImpressions()).toBe(before);

    // Customer service looks the code up: pool, holder kind, no cookie ID.
    await page.locator("#explain-coupon a").click();
    await page.waitForURL(/\/admin\/coupons\?code=/);
    const facts = (await page.locator("#coupon-facts").textContent()) ?? "";
    expect(facts).toContain("Comeback 10 %");
    expect(facts).toContain("a CRM customer");
    expect(await page.locator("body").textContent()).not.toContain(visitor.cookie_id);
    await screenshot(page, "admin-coupons");
  });

  it("sets the placement's fallback and reads it back; saving again changes nothing", async () => {
    await page.goto(`${edge()}/admin/rules`);
    const select = page.locator(`#fallback-${PLACEMENT}`);
    expect(await select.inputValue()).toBe("");
    await select.selectOption({ label: "Comeback banner" });
    await page.locator("form", { has: select }).getByRole("button", { name: "Set fallback" }).click();
    await page.waitForURL(/done=saved/);
    const chosen = await page.locator(`#fallback-${PLACEMENT}`).inputValue();
    expect(chosen).not.toBe("");
    expect(await page.locator(`#fallback-${PLACEMENT}-now`).textContent()).toContain("Comeback banner");
    // The home-hero placement shows the seeded house banner, not the first creative.
    expect(await page.locator("#fallback-home-hero-now").textContent()).toContain("House banner");
    await page
      .locator("form", { has: page.locator("#fallback-home-hero") })
      .getByRole("button", { name: "Set fallback" })
      .click();
    await page.waitForURL(/done=saved/);
    const [row] = queryD1<{ name: string }>(
      `select c.name from placement_fallbacks f join creatives c on c.id = f.creative_id where f.placement = 'home-hero'`,
    );
    expect(row.name).toBe("House banner");
  });

  it("shows audiences, partners and webhooks, site settings and users", async () => {
    for (const [path, name] of [
      ["/admin/audiences", "admin-audiences"],
      ["/admin/partners", "admin-partners"],
      ["/admin/settings", "admin-settings"],
      ["/admin/users", "admin-users"],
    ]) {
      const res = await page.goto(`${edge()}${path}`);
      expect(res?.status(), path).toBe(200);
      await screenshot(page, name);
    }
  });

  it("a viewer cannot change anything", async () => {
    await page.goto(`${edge()}/admin/users`);
    const email = `viewer-${Date.now()}@example.com`;
    const form = page.locator("form", { has: page.getByRole("button", { name: "Add user" }) });
    await form.getByLabel("E-mail").fill(email);
    await form.getByLabel("Initial password").fill("viewer-password-1");
    await form.getByLabel("Role").selectOption("viewer");
    await form.getByRole("button", { name: "Add user" }).click();
    await page.waitForURL(/done=created/);

    const viewerContext = await browser.newContext();
    const viewer = await logIn(viewerContext, email, "viewer-password-1");
    await viewer.goto(`${edge()}/admin/segments`);
    expect(await viewer.getByRole("button", { name: "Create segment" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Delete" }).count()).toBe(0);
    await viewer.goto(`${edge()}/admin/rules`);
    expect(await viewer.getByRole("button", { name: /Disable|Enable|Create rule/ }).count()).toBe(0);
    expect(await viewer.locator("body").textContent()).toContain("Win back dormant women");
    // Even a hand-made request with the viewer's session is refused by the API.
    const res = await viewer.request.post(`${edge()}/api/v1/segments`, {
      data: { name: "x", expression: "visits > 1" },
      headers: { Origin: edge() },
    });
    expect(res.status()).toBe(403);
    await viewerContext.close();
  });

  it("refuses a forged cross-site form post", async () => {
    const before = queryD1<{ n: number }>("select count(*) as n from segments")[0].n;
    const attacker = await admin.newPage();
    await attacker.goto(`${inject("shopUrl")}/`);
    const [response] = await Promise.all([
      attacker.waitForNavigation(),
      attacker.evaluate(`(() => {
        const f = document.createElement("form");
        f.method = "POST";
        f.action = ${JSON.stringify(`${edge()}/admin/segments`)};
        for (const [k, v] of [["name", "forged"], ["expression", "visits > 0"]]) {
          const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i);
        }
        document.body.appendChild(f);
        f.submit();
      })()`),
    ]);
    expect(response?.status()).toBe(403);
    expect(queryD1<{ n: number }>("select count(*) as n from segments")[0].n).toBe(before);
    await attacker.close();
  });
});
