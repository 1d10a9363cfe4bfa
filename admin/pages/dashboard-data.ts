/**
 * The dashboard's figures from ONE call, GET /api/v1/dashboard (worker/reports/dashboard.ts): the
 * totals and days of the chosen period and the one before it, every rule's figures and the
 * audiences' sizes — and the charts drawn from them.
 */
import type { Context } from "hono";
import { MS_PER_DAY as DAY_MS } from "../../worker/lib/time";
import type { buildDashboard } from "../../worker/reports/dashboard";
import type { AdminEnv } from "../api";
import type { ChartSpec } from "../chart";
import { dailyCharts, upliftChart } from "./report-charts";

export const PERIODS = [7, 30, 90] as const;

export type Dashboard = Awaited<ReturnType<typeof buildDashboard>>;

const AUDIENCE_COLORS = ["#2a5bd7", "#d7582a", "#1b7f3b", "#7a4cc2", "#b3261e", "#5b6475"];

/** The period of `days` whole UTC days ending with today. */
function periodOf(days: number, now = Date.now()) {
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  return { from: new Date(to - days * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

export async function loadDashboard(c: Context<AdminEnv>, days: number) {
  const { from, to } = periodOf(days);
  const d = await c.var.api.get<Dashboard>(`/api/v1/dashboard?from=${from}&to=${to}`);
  const previous = { label: `previous ${days} days`, daily: d.previous_daily };
  const charts: ChartSpec[] = [
    ...dailyCharts(d.daily, d.currency, { previous, kinds: ["impressions", "ctr", "coupons", "revenue"] }),
    upliftChart(d.cumulative, "chart-uplift"),
  ];
  const audiences = d.audiences.filter((a) => a.sizes.length > 0).slice(0, AUDIENCE_COLORS.length);
  if (audiences.length > 0) {
    const sizeDays = [...new Set(audiences.flatMap((a) => a.sizes.map((s) => s.day)))].sort();
    charts.push({
      id: "chart-audiences",
      title: "Audience sizes (people) by day",
      unit: "count",
      currency: d.currency,
      days: sizeDays,
      series: audiences.map((a, i) => ({
        label: a.name,
        values: sizeDays.map((day) => a.sizes.find((s) => s.day === day)?.size ?? null),
        color: AUDIENCE_COLORS[i],
        summary: "last",
      })),
    });
  }
  const topRules = [...d.rules]
    .filter((r) => r.impressions + r.holdout_impressions > 0)
    .sort((a, b) => b.revenue - a.revenue || b.clicks - a.clicks)
    .slice(0, 5);
  return { ...d, charts, topRules, enabled: d.rules.filter((r) => r.enabled).length };
}
