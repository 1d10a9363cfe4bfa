/**
 * The charts of a report's days, shared by the dashboard and the rule and placement reports, so the
 * same figure is drawn the same way on both: impressions and clicks, CTR, conversions, coupons,
 * revenue (in the site's currency) and the cumulative uplift with its 95 % band.
 */

import type { Unit } from "../../worker/lib/format";
import type { DayPoint } from "../../worker/reports/earnings";
import type { CumulativePoint } from "../../worker/reports/uplift";
import type { ChartSeries, ChartSpec } from "../chart";

export type ChartKind = "impressions" | "ctr" | "conversions" | "coupons" | "revenue";

type Previous = { label: string; daily: DayPoint[] };

type DayKey = Exclude<keyof DayPoint, "day">;

const col = (daily: DayPoint[], key: DayKey) => daily.map((d) => d[key]);
const ctr = (daily: DayPoint[]) => daily.map((d) => (d.impressions ? d.clicks / d.impressions : null));
/** The period's click-through rate: all clicks over all impressions, not a sum of the days' rates. */
function periodCtr(daily: DayPoint[]) {
  const impressions = daily.reduce((n, d) => n + d.impressions, 0);
  return impressions ? daily.reduce((n, d) => n + d.clicks, 0) / impressions : null;
}

/** The previous period's values as a dashed series beside the current one, when there is one. */
function withPrevious(
  previous: Previous | undefined,
  label: string,
  values: (daily: DayPoint[]) => (number | null)[],
  color: string,
): ChartSeries[] {
  if (!previous) return [];
  return [{ label: `${label}, ${previous.label}`, values: values(previous.daily), color, dash: true, summary: "sum" }];
}

export function dailyCharts(
  daily: DayPoint[],
  currency: string,
  { kinds, previous }: { kinds: ChartKind[]; previous?: Previous },
): ChartSpec[] {
  const days = daily.map((d) => d.day);
  const chart = (id: string, title: string, unit: Unit, series: ChartSeries[]): ChartSpec => ({
    id,
    title,
    unit,
    currency,
    days,
    series,
  });
  const sum = (label: string, key: DayKey, color: string): ChartSeries => ({
    label,
    values: col(daily, key),
    color,
    summary: "sum",
  });
  const make: Record<ChartKind, () => ChartSpec> = {
    impressions: () =>
      chart("chart-impressions", "Impressions and clicks per day", "count", [
        sum("Impressions", "impressions", "#2a5bd7"),
        ...withPrevious(previous, "Impressions", (d) => col(d, "impressions"), "#9db3ea"),
        sum("Holdout impressions", "holdout_impressions", "#9aa3b2"),
        sum("Clicks", "clicks", "#d7582a"),
      ]),
    ctr: () =>
      chart("chart-ctr", "Click-through rate per day", "percent", [
        { label: "CTR", values: ctr(daily), color: "#2a5bd7", summary: { period: periodCtr(daily) } },
        ...withPrevious(previous, "CTR", ctr, "#9db3ea").map((s) => ({
          ...s,
          summary: { period: periodCtr(previous?.daily ?? []) },
        })),
      ]),
    conversions: () =>
      chart("chart-conversions", "Conversions per day of first impression", "count", [
        sum("Shown the banner", "exposed_conversions", "#2a5bd7"),
        sum("Holdout", "holdout_conversions", "#b3261e"),
      ]),
    coupons: () =>
      chart("chart-coupons", "Coupons assigned and redeemed per day", "count", [
        sum("Assigned", "coupons_assigned", "#7a4cc2"),
        sum("Redeemed", "coupons_redeemed", "#1b7f3b"),
        ...withPrevious(previous, "Redeemed", (d) => col(d, "coupons_redeemed"), "#8cc49d"),
      ]),
    revenue: () =>
      chart("chart-revenue", `Revenue of redeemed codes per day (${currency})`, "money", [
        sum("Revenue", "revenue", "#1b7f3b"),
        ...withPrevious(previous, "Revenue", (d) => col(d, "revenue"), "#8cc49d"),
      ]),
  };
  return kinds.map((kind) => make[kind]());
}

/** The uplift over everyone so far, day by day, inside its 95 % band, against the no-effect line. */
export function upliftChart(cumulative: CumulativePoint[], id = "chart-uplift"): ChartSpec {
  return {
    id,
    title: "Uplift so far, with its 95 % interval (percentage points)",
    unit: "points",
    currency: null,
    days: cumulative.map((p) => p.day),
    series: [
      { label: "Uplift", values: cumulative.map((p) => p.uplift), color: "#2a5bd7", summary: "last" },
      { label: "No effect", values: cumulative.map(() => 0), color: "#9aa3b2", dash: true, summary: "last" },
    ],
    band: {
      label: "95 % interval",
      low: cumulative.map((p) => p.low),
      high: cumulative.map((p) => p.high),
      color: "rgba(42, 91, 215, 0.18)",
    },
  };
}
