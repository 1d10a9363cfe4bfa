/**
 * The results pages on the demo's seeded history: the rule report's cards and charts (conversions,
 * coupons, revenue in the site's currency, the cumulative uplift in its band), the dashboard's
 * uplift card with its interval, and the currency set on the settings page.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ChartSpec } from "../../../admin/chart-spec";
import { seedCampaigns } from "../../../scripts/seed/campaigns";
import { DEMO, seedDemo } from "../../../scripts/seed/demo";
import { seedHistory } from "../../../scripts/seed/history";
import { postForm, sessionCookie } from "../../fixtures/admin";
import { call } from "../../fixtures/api";

let cookie: string;

beforeAll(async () => {
  await seedDemo(env.DB, { shopOrigins: ["https://shop.example"] });
  await seedCampaigns(env.DB, { shopUrl: "https://shop.example" });
  await seedHistory(env.DB);
  cookie = await sessionCookie(DEMO.adminEmail, DEMO.adminPassword);
}, 120_000);

const page = async (path: string) => {
  const res = await call(path, { headers: { Cookie: cookie } });
  expect(res.status, path).toBe(200);
  return res.text();
};

/** The chart specs a page hands to the chart script, by id. */
function chartsOf(html: string): Map<string, ChartSpec> {
  const unescapeHtml = (s: string) =>
    s
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&amp;", "&");
  return new Map(
    [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => {
      const spec = JSON.parse(unescapeHtml(m[1])) as ChartSpec;
      return [spec.id, spec];
    }),
  );
}

/** The demo rule with the most revenue in the last 30 days. */
async function richestRule() {
  const res = await call("/api/v1/dashboard", { key: DEMO.apiKey });
  const d = (await res.json()) as { rules: { id: number; revenue: number; coupons_redeemed: number }[] };
  return d.rules.sort((a, b) => b.revenue - a.revenue)[0];
}

describe("a rule's results page", () => {
  it("charts conversions, coupons, revenue and the cumulative uplift with its 95 % band", async () => {
    const rule = await richestRule();
    expect(rule.revenue).toBeGreaterThan(0);
    const html = await page(`/admin/reports/rules/${rule.id}`);
    expect(html).toContain('src="/admin/assets/charts.js"');
    const charts = chartsOf(html);
    expect([...charts.keys()].sort()).toEqual(
      ["chart-conversions", "chart-coupons", "chart-impressions", "chart-revenue", "chart-uplift"].sort(),
    );
    const revenue = charts.get("chart-revenue");
    expect(revenue?.unit).toBe("money");
    expect(revenue?.currency).toBe("EUR");
    const daySum = (revenue?.series[0].values ?? []).reduce<number>((n, v) => n + (v ?? 0), 0);
    expect(daySum).toBeCloseTo(rule.revenue, 2);
    const redeemed = charts.get("chart-coupons")?.series.find((s) => s.label === "Redeemed");
    expect(redeemed?.values.reduce<number>((n, v) => n + (v ?? 0), 0)).toBe(rule.coupons_redeemed);
    const uplift = charts.get("chart-uplift");
    expect(uplift?.band?.low.some((v) => v != null)).toBe(true);
    expect(uplift?.band?.low.every((v, i) => v == null || v <= (uplift.band?.high[i] ?? -1))).toBe(true);
    // Cards: revenue in the site's currency, the uplift with its interval bar.
    const revenueCard = html.slice(html.indexOf('id="kpi-revenue"'), html.indexOf('id="kpi-uplift"'));
    expect(revenueCard).toMatch(/€[\d,]+\.\d\d/);
    const upliftCard = html.slice(
      html.indexOf('id="kpi-uplift"'),
      html.indexOf("</section>", html.indexOf('id="kpi-uplift"')),
    );
    expect(upliftCard).toMatch(/95 % interval \[[−+]?\d+\.\d\d, [−+]?\d+\.\d\d\] pts/);
  });

  it("shows revenue in the currency the admin sets on the settings page", async () => {
    const rule = await richestRule();
    const settings = await page("/admin/settings");
    expect(settings).toContain('<option value="EUR" selected="">EUR — Euro</option>');
    const site = (await (await call("/api/v1/site", { key: DEMO.apiKey })).json()) as Record<string, unknown>;
    const form = {
      name: String(site.name),
      allowed_origins: (site.allowed_origins as string[]).join(" "),
      cookie_domain: "",
      consent_mode: String(site.consent_mode),
      holdout: String(Number(site.holdout) * 100),
      retention_days: String(site.retention_days),
      coupon_param: String(site.coupon_param),
    };
    const refused = await postForm("/admin/settings", cookie, { ...form, currency: "XYZ" });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("ISO 4217");
    const saved = await postForm("/admin/settings", cookie, { ...form, currency: "USD" });
    expect(saved.status).toBe(303);
    const html = await page(`/admin/reports/rules/${rule.id}`);
    expect(chartsOf(html).get("chart-revenue")?.currency).toBe("USD");
    expect(html.slice(html.indexOf('id="kpi-revenue"'))).toMatch(/^[^€]*?\$[\d,]+\.\d\d/);
    expect((await postForm("/admin/settings", cookie, { ...form, currency: "EUR" })).status).toBe(303);
  });
});

describe("the dashboard", () => {
  it("puts the uplift's interval on its card and charts the cumulative uplift in its band", async () => {
    const html = await page("/admin");
    const card = html.slice(
      html.indexOf('id="kpi-uplift"'),
      html.indexOf("</section>", html.indexOf('id="kpi-uplift"')),
    );
    expect(card).toContain('class="interval-bar"');
    expect(card).toMatch(/95 % interval \[/);
    const charts = chartsOf(html);
    expect(charts.get("chart-uplift")?.band).toBeDefined();
    expect(charts.get("chart-revenue")?.currency).toBe("EUR");
    // The CTR legend shows the period's rate (all clicks over all impressions), as the CTR card does.
    const ctrCard = html.match(/id="kpi-ctr"[\s\S]*?class="stat">([^<]+)</)?.[1];
    const ctrLegend = html.match(/data-legend-for="chart-ctr"[\s\S]*?<output data-summary="([^"]+)"/)?.[1];
    expect(ctrCard).toMatch(/^\d+\.\d\d %$/);
    expect(ctrLegend).toBe(ctrCard);
    expect(html).toMatch(/id="kpi-revenue"[\s\S]*?€[\d,]+\.\d\d/);
  });

  it("lists every rule's results on the reports page from the same figures", async () => {
    const rule = await richestRule();
    const html = await page("/admin/reports");
    expect(html).toContain(`href="/admin/reports/rules/${rule.id}?from=`);
    expect(html).toMatch(/id="rule-reports"[\s\S]*?€[\d,]+\.\d\d/);
  });
});
