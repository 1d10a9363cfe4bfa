import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_PLACEMENT, seedCampaigns } from "../../scripts/seed/campaigns";
import { DEMO, seedDemo } from "../../scripts/seed/demo";
import { HISTORY_DAYS, seedHistory } from "../../scripts/seed/history";
import { call } from "../fixtures/api";

type Report = {
  impressions: number;
  holdout_impressions: number;
  clicks: number;
  coupons_assigned: number;
  coupons_redeemed: number;
  revenue: number;
  exposed: { visitors: number; conversions: number };
  holdout: { visitors: number; conversions: number };
  daily: { day: string; impressions: number }[];
};

let first: Awaited<ReturnType<typeof seedHistory>>;

beforeAll(async () => {
  await seedDemo(env.DB, { shopOrigins: ["https://shop.example"] });
  await seedCampaigns(env.DB, { shopUrl: "https://shop.example" });
  first = await seedHistory(env.DB);
}, 120_000);

describe("the demo's 30 days of history", () => {
  it("gives the placement report real figures on every day: impressions, holdout, clicks, codes, revenue", async () => {
    const res = await call(`/api/v1/reports/placements/${DEMO_PLACEMENT}`, { key: DEMO.apiKey });
    const report = (await res.json()) as Report;
    expect(first.impressions).toBeGreaterThan(HISTORY_DAYS * 14);
    expect(report.impressions).toBeGreaterThan(300);
    expect(report.holdout_impressions).toBeGreaterThan(10);
    expect(report.clicks).toBeGreaterThan(10);
    expect(report.coupons_assigned).toBeGreaterThan(5);
    expect(report.coupons_redeemed).toBeGreaterThan(0);
    expect(report.revenue).toBeGreaterThan(0);
    expect(report.exposed.conversions).toBeGreaterThan(0);
    expect(report.holdout.visitors).toBeGreaterThan(0);
    const busyDays = report.daily.filter((d) => d.impressions > 0).length;
    expect(busyDays).toBeGreaterThanOrEqual(HISTORY_DAYS - 1);
  });

  it("records a size per day for the demo audiences", async () => {
    const rows = await env.DB.prepare(
      "select a.name, count(s.day) as days from audiences a join audience_sizes s on s.audience_id = a.id group by a.id",
    ).all<{ name: string; days: number }>();
    expect(rows.results.length).toBe(3);
    for (const row of rows.results) expect(row.days).toBe(HISTORY_DAYS);
  });

  it("seeding again adds nothing", async () => {
    const counted = "select sum(impressions) as n from report_counters";
    const before = await env.DB.prepare(counted).first<{ n: number }>();
    expect(before?.n).toBeGreaterThan(0);
    expect(await seedHistory(env.DB)).toMatchObject({ skipped: true });
    const after = await env.DB.prepare(counted).first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });
});
