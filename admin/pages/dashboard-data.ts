/**
 * The dashboard's figures, read through the report API: every placement's report for the chosen
 * period and for the period before it, summed per day; each rule's report for the top-rules
 * table; and the audiences' dated sizes.
 */
import type { Context } from "hono";
import { MS_PER_DAY as DAY_MS } from "../../worker/lib/time";
import type { DayPoint, Report } from "../../worker/reports/earnings";
import { computeUplift } from "../../worker/reports/uplift";
import type { AdminEnv } from "../api";
import type { Audience, Rule } from "../types";

export const PERIODS = [7, 30, 90] as const;

/** A report's figures summed over reports (rules or placements), without its period and days. */
export type Totals = Omit<Report, "period" | "daily" | "contexts">;

type Series = { label: string; values: (number | null)[]; color: string; dash?: boolean };
export type ChartSpec = { id: string; title: string; days: string[]; series: Series[]; unit?: string };

type DayKey = Exclude<keyof DayPoint, "day">;

/** The period of `days` whole UTC days ending with today, and the same length just before it. */
function periodsOf(days: number, now = Date.now()) {
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const from = to - days * DAY_MS;
  return { current: { from, to }, previous: { from: from - days * DAY_MS, to: from } };
}

const iso = (ms: number) => new Date(ms).toISOString();

async function report(c: Context<AdminEnv>, path: string, p: { from: number; to: number }) {
  const result = await c.var.api.call<Report>("GET", `${path}?from=${iso(p.from)}&to=${iso(p.to)}`);
  return result.ok ? result.data : null;
}

/** Sums reports day by day (they share the period, so their daily arrays line up). */
function sumDaily(reports: Report[], days: number): DayPoint[] {
  const base = reports[0]?.daily ?? [];
  return Array.from({ length: days }, (_, i) => {
    const point = { ...(base[i] ?? { day: "" }) } as DayPoint;
    for (const key of Object.keys(point) as (keyof DayPoint)[]) {
      if (key === "day") continue;
      (point as Record<DayKey, number>)[key] = reports.reduce((n, r) => n + ((r.daily[i]?.[key] as number) ?? 0), 0);
    }
    return point;
  });
}

function totalsOf(reports: Report[]): Totals {
  const sum = (pick: (r: Report) => number) => reports.reduce((n, r) => n + pick(r), 0);
  const exposed = { visitors: sum((r) => r.exposed.visitors), conversions: sum((r) => r.exposed.conversions) };
  const holdout = { visitors: sum((r) => r.holdout.visitors), conversions: sum((r) => r.holdout.conversions) };
  const impressions = sum((r) => r.impressions);
  const clicks = sum((r) => r.clicks);
  return {
    impressions,
    holdout_impressions: sum((r) => r.holdout_impressions),
    clicks,
    ctr: impressions ? clicks / impressions : null,
    coupons_assigned: sum((r) => r.coupons_assigned),
    coupons_redeemed: sum((r) => r.coupons_redeemed),
    revenue: Math.round(sum((r) => r.revenue) * 100) / 100,
    exposed,
    holdout,
    ...computeUplift(exposed, holdout),
  };
}

/** Conversion rate of each group over the days so far: where the uplift settles as data comes in. */
function cumulativeRates(daily: DayPoint[]) {
  let ev = 0;
  let ec = 0;
  let hv = 0;
  let hc = 0;
  const exposed: (number | null)[] = [];
  const holdout: (number | null)[] = [];
  for (const d of daily) {
    ev += d.exposed_visitors;
    ec += d.exposed_conversions;
    hv += d.holdout_visitors;
    hc += d.holdout_conversions;
    exposed.push(ev ? Math.round((ec / ev) * 1000) / 10 : null);
    holdout.push(hv ? Math.round((hc / hv) * 1000) / 10 : null);
  }
  return { exposed, holdout };
}

export async function loadDashboard(c: Context<AdminEnv>, days: number) {
  const api = c.var.api;
  const { current, previous } = periodsOf(days);
  const [rules, audiences] = await Promise.all([
    api.call<{ rules: Rule[] }>("GET", "/api/v1/rules"),
    api.call<{ audiences: Audience[] }>("GET", "/api/v1/audiences"),
  ]);
  const ruleList = rules.ok ? rules.data.rules : [];
  const placements = [...new Set(ruleList.map((r) => r.placement))].sort();
  const placementPath = (p: string) => `/api/v1/reports/placements/${encodeURIComponent(p)}`;
  const [now, before, byRule, sizes] = await Promise.all([
    Promise.all(placements.map((p) => report(c, placementPath(p), current))),
    Promise.all(placements.map((p) => report(c, placementPath(p), previous))),
    Promise.all(
      ruleList.map(async (r) => ({ rule: r, report: await report(c, `/api/v1/reports/rules/${r.id}`, current) })),
    ),
    Promise.all(
      (audiences.ok ? audiences.data.audiences : []).slice(0, 6).map(async (a) => {
        const one = await api.call<{ sizes: { day: string; size: number }[] }>("GET", `/api/v1/audiences/${a.id}`);
        return { audience: a, sizes: one.ok ? one.data.sizes : [] };
      }),
    ),
  ]);
  const reports = now.filter((r): r is Report => r !== null);
  const previousReports = before.filter((r): r is Report => r !== null);
  const daily = sumDaily(reports, days);
  const prevDaily = sumDaily(previousReports, days);
  const dayKeys = Array.from({ length: days }, (_, i) =>
    new Date(current.from + i * DAY_MS).toISOString().slice(0, 10),
  );
  const col = (list: DayPoint[], key: DayKey) => list.map((d) => (d[key] as number) ?? 0);
  const ctr = (list: DayPoint[]) =>
    list.map((d) => (d.impressions ? Math.round((d.clicks / d.impressions) * 1000) / 10 : null));
  const rates = cumulativeRates(daily);
  const charts: ChartSpec[] = [
    {
      id: "chart-impressions",
      title: "Impressions and clicks per day",
      days: dayKeys,
      series: [
        { label: "Impressions", values: col(daily, "impressions"), color: "#2a5bd7" },
        {
          label: `Impressions, previous ${days} days`,
          values: col(prevDaily, "impressions"),
          color: "#9db3ea",
          dash: true,
        },
        { label: "Clicks", values: col(daily, "clicks"), color: "#d7582a" },
      ],
    },
    {
      id: "chart-ctr",
      title: "Click-through rate per day (%)",
      unit: "%",
      days: dayKeys,
      series: [
        { label: "CTR", values: ctr(daily), color: "#2a5bd7" },
        { label: `CTR, previous ${days} days`, values: ctr(prevDaily), color: "#9db3ea", dash: true },
      ],
    },
    {
      id: "chart-coupons",
      title: "Coupons assigned and redeemed per day",
      days: dayKeys,
      series: [
        { label: "Assigned", values: col(daily, "coupons_assigned"), color: "#7a4cc2" },
        { label: "Redeemed", values: col(daily, "coupons_redeemed"), color: "#1b7f3b" },
        {
          label: `Redeemed, previous ${days} days`,
          values: col(prevDaily, "coupons_redeemed"),
          color: "#8cc49d",
          dash: true,
        },
      ],
    },
    {
      id: "chart-revenue",
      title: "Revenue of redeemed codes per day",
      days: dayKeys,
      series: [
        { label: "Revenue", values: col(daily, "revenue"), color: "#1b7f3b" },
        { label: `Revenue, previous ${days} days`, values: col(prevDaily, "revenue"), color: "#8cc49d", dash: true },
      ],
    },
    {
      id: "chart-uplift",
      title: "Conversion rate so far: shown the banner vs holdout (%)",
      unit: "%",
      days: dayKeys,
      series: [
        { label: "Exposed", values: rates.exposed, color: "#2a5bd7" },
        { label: "Holdout", values: rates.holdout, color: "#b3261e" },
      ],
    },
  ];
  if (sizes.length > 0) {
    const sizeDays = [...new Set(sizes.flatMap((s) => s.sizes.map((x) => x.day)))]
      .sort()
      .filter((d) => d >= dayKeys[0]);
    charts.push({
      id: "chart-audiences",
      title: "Audience sizes (visitors) by day",
      days: sizeDays,
      series: sizes.map((s, i) => ({
        label: s.audience.name,
        values: sizeDays.map((d) => s.sizes.find((x) => x.day === d)?.size ?? null),
        color: ["#2a5bd7", "#d7582a", "#1b7f3b", "#7a4cc2", "#b3261e", "#5b6475"][i],
      })),
    });
  }
  const topRules = byRule
    .filter((r): r is { rule: Rule; report: Report } => r.report !== null)
    .sort((a, b) => b.report.revenue - a.report.revenue || b.report.clicks - a.report.clicks)
    .slice(0, 5);
  return {
    placements,
    totals: totalsOf(reports),
    previous: totalsOf(previousReports),
    charts,
    topRules,
    ruleCount: ruleList.length,
    enabled: ruleList.filter((r) => r.enabled).length,
  };
}
