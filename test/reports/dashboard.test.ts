/**
 * GET /api/v1/dashboard on the demo's seeded history (scripts/seed/history.ts: banners through
 * decide(), impressions and clicks through the queue consumer's writer, purchases through /e's
 * write path, redemptions through redeemCoupon): its rules and placements equal their own
 * reports, its totals and days are the placements' sums, and the totals equal the counters in D1.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Dashboard } from "../../admin/pages/dashboard-data";
import { seedCampaigns } from "../../scripts/seed/campaigns";
import { DEMO, seedDemo } from "../../scripts/seed/demo";
import { seedHistory } from "../../scripts/seed/history";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import type { Report } from "../../worker/reports/earnings";
import { call, createTestSite } from "../fixtures/api";

const to = Math.floor(Date.now() / DAY) * DAY + DAY;
const from = to - 30 * DAY;
const query = (f: number, t: number) => `from=${new Date(f).toISOString()}&to=${new Date(t).toISOString()}`;

async function get<T>(path: string, key: string = DEMO.apiKey): Promise<T> {
  const res = await call(path, { key });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** The figures a report and a dashboard row share. */
const figures = (r: Omit<Report, "period" | "daily" | "cumulative">) => ({
  impressions: r.impressions,
  holdout_impressions: r.holdout_impressions,
  clicks: r.clicks,
  ctr: r.ctr,
  coupons_assigned: r.coupons_assigned,
  coupons_redeemed: r.coupons_redeemed,
  revenue: r.revenue,
  exposed: r.exposed,
  holdout: r.holdout,
  exposed_rate: r.exposed_rate,
  holdout_rate: r.holdout_rate,
  uplift: r.uplift,
  ci: r.ci,
  verdict: r.verdict,
});

let d: Dashboard;

beforeAll(async () => {
  await seedDemo(env.DB, { shopOrigins: ["https://shop.example"] });
  await seedCampaigns(env.DB, { shopUrl: "https://shop.example" });
  await seedHistory(env.DB);
  d = await get<Dashboard>(`/api/v1/dashboard?${query(from, to)}`);
}, 120_000);

describe("GET /api/v1/dashboard on the seeded history", () => {
  it("has real figures: banners, clicks, codes, revenue in the site's currency, both groups", () => {
    expect(d.currency).toBe("EUR");
    expect(d.totals.impressions).toBeGreaterThan(300);
    expect(d.totals.clicks).toBeGreaterThan(10);
    expect(d.totals.coupons_redeemed).toBeGreaterThan(0);
    expect(d.totals.revenue).toBeGreaterThan(0);
    expect(d.totals.exposed.conversions).toBeGreaterThan(0);
    expect(d.totals.holdout.visitors).toBeGreaterThan(0);
    expect(d.daily).toHaveLength(30);
    expect(d.previous_daily).toHaveLength(30);
    expect(d.rules.some((r) => r.revenue > 0)).toBe(true);
    expect(d.audiences.length).toBeGreaterThan(0);
    expect(d.audiences.every((a) => a.sizes.length > 0)).toBe(true);
  });

  it("gives each rule exactly the figures of its own report", async () => {
    expect(d.rules.length).toBeGreaterThan(1);
    for (const rule of d.rules) {
      const report = await get<Report>(`/api/v1/reports/rules/${rule.id}?${query(from, to)}`);
      expect(figures(rule), `rule ${rule.id}`).toEqual(figures(report));
    }
  });

  it("gives each placement its report's figures, and totals and days that are the placements' sums", async () => {
    const reports = await Promise.all(
      d.placements.map((p) => get<Report>(`/api/v1/reports/placements/${p.placement}?${query(from, to)}`)),
    );
    d.placements.forEach((p, i) => {
      expect(figures(p), p.placement).toEqual(figures(reports[i]));
    });
    const sum = (pick: (r: Report) => number) => reports.reduce((n, r) => n + pick(r), 0);
    expect(d.totals.impressions).toBe(sum((r) => r.impressions));
    expect(d.totals.clicks).toBe(sum((r) => r.clicks));
    expect(d.totals.coupons_redeemed).toBe(sum((r) => r.coupons_redeemed));
    expect(d.totals.revenue).toBeCloseTo(
      sum((r) => r.revenue),
      2,
    );
    expect(d.totals.exposed.visitors).toBe(sum((r) => r.exposed.visitors));
    expect(d.totals.holdout.conversions).toBe(sum((r) => r.holdout.conversions));
    d.daily.forEach((day, i) => {
      expect(day.impressions, day.day).toBe(sum((r) => r.daily[i].impressions));
      expect(day.revenue, day.day).toBeCloseTo(
        sum((r) => r.daily[i].revenue),
        2,
      );
    });
  });

  it("counts what the counters in D1 hold, for the period and for the one before it", async () => {
    const counted = async (f: number, t: number) =>
      await env.DB.prepare(
        `select coalesce(sum(case when n.holdout = 0 then n.impressions else 0 end), 0) as impressions,
                coalesce(sum(n.clicks), 0) as clicks
         from report_counters n join sites s on s.id = n.site_id
         where s.key = ?1 and n.day >= ?2 and n.day < ?3`,
      )
        .bind(DEMO.siteKey, f / DAY, t / DAY)
        .first<{ impressions: number; clicks: number }>();
    expect(await counted(from, to)).toEqual({ impressions: d.totals.impressions, clicks: d.totals.clicks });
    const before = await counted(from - 30 * DAY, from);
    expect(d.previous_totals.impressions).toBe(before?.impressions);
    expect(d.previous_period).toEqual({
      from: new Date(from - 30 * DAY).toISOString(),
      to: new Date(from).toISOString(),
    });
  });

  it("ends the cumulative uplift on the period's uplift and its interval", () => {
    const last = d.cumulative.at(-1);
    expect(last?.uplift).toBe(d.totals.uplift);
    expect(last?.low).toBe(d.totals.ci?.low);
    expect(last?.high).toBe(d.totals.ci?.high);
    // The band exists on most days and narrows as visitors come in.
    const widths = d.cumulative.filter((p) => p.low != null).map((p) => (p.high as number) - (p.low as number));
    expect(widths.length).toBeGreaterThan(20);
    expect(widths.at(-1)).toBeLessThan(widths[0]);
  });

  it("answers another site's key with that site's figures only, and refuses a backwards period", async () => {
    const other = await createTestSite();
    const theirs = await get<Dashboard>(`/api/v1/dashboard?${query(from, to)}`, other.apiKey);
    expect(theirs.totals.impressions).toBe(0);
    expect(theirs.rules).toEqual([]);
    expect((await call(`/api/v1/dashboard?${query(to, from)}`, { key: DEMO.apiKey })).status).toBe(400);
    expect((await call("/api/v1/dashboard")).status).toBe(401);
  });

  it("shows revenue in the currency the site sets, and refuses one that is not ISO 4217", async () => {
    const other = await createTestSite();
    const patch = (currency: string) =>
      call("/api/v1/site", { method: "PATCH", key: other.apiKey, json: { currency } });
    expect((await patch("USD")).status).toBe(200);
    expect((await get<Dashboard>("/api/v1/dashboard", other.apiKey)).currency).toBe("USD");
    for (const bad of ["usd", "XYZ", "EURO"]) {
      const res = await patch(bad);
      expect(res.status, bad).toBe(400);
      expect(JSON.stringify(await res.json())).toContain("ISO 4217");
    }
    expect((await get<{ currency: string }>("/api/v1/site", other.apiKey)).currency).toBe("USD");
  });
});
