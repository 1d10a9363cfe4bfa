/**
 * The dashboard's figures in one answer (`GET /api/v1/dashboard`): every placement's report for the
 * period and for the period of the same length before it, summed into the site's totals and days;
 * every rule's figures for the top-rules table; the audiences' sizes. The reports are the very ones
 * `GET /api/v1/reports/...` gives (earnings.ts), read in ONE D1 batch instead of a request per
 * placement and rule (issue 30: the admin fanned out 2 × placements + rules + audiences calls).
 *
 * Totals are over placements: every banner served, fallbacks included; visitors are counted once
 * per placement and group, as each placement's report counts them, and the uplift pools them.
 */
import { and, asc, eq, gte, inArray } from "drizzle-orm";
import { audienceSizes, audiences, rules } from "../db/schema";
import type { Db, Site } from "../env";
import { utcDayKey } from "../lib/time";
import type { PeopleDb } from "../shards/routing";
import { buildReportSets, type DayPoint, emptyReport, type Period, type Report } from "./earnings";
import { computeUplift, cumulativeUplift } from "./uplift";

/** A report's figures without its period and days. */
export type Totals = Omit<Report, "period" | "daily" | "cumulative">;

const totalsOf = ({ period: _p, daily: _d, cumulative: _c, ...totals }: Report): Totals => totals;

type DayKey = Exclude<keyof DayPoint, "day">;

/** Reports of the same period summed: day by day, then the totals from the days as a report has them. */
function sumReports(reports: Report[], period: Period): Report {
  const base = emptyReport(period);
  const daily = base.daily.map((point, i) => {
    const sum = { ...point };
    for (const key of Object.keys(point) as (keyof DayPoint)[]) {
      if (key === "day") continue;
      sum[key as DayKey] = reports.reduce((n, r) => n + r.daily[i][key as DayKey], 0);
    }
    sum.revenue = Math.round(sum.revenue * 100) / 100;
    return sum;
  });
  const total = (pick: (r: Report) => number) => reports.reduce((n, r) => n + pick(r), 0);
  const exposed = { visitors: total((r) => r.exposed.visitors), conversions: total((r) => r.exposed.conversions) };
  const holdout = { visitors: total((r) => r.holdout.visitors), conversions: total((r) => r.holdout.conversions) };
  const impressions = total((r) => r.impressions);
  const clicks = total((r) => r.clicks);
  return {
    period: base.period,
    impressions,
    holdout_impressions: total((r) => r.holdout_impressions),
    clicks,
    ctr: impressions ? clicks / impressions : null,
    coupons_assigned: total((r) => r.coupons_assigned),
    coupons_redeemed: total((r) => r.coupons_redeemed),
    revenue: Math.round(total((r) => r.revenue) * 100) / 100,
    exposed,
    holdout,
    ...computeUplift(exposed, holdout),
    daily,
    cumulative: cumulativeUplift(daily),
  };
}

export async function buildDashboard(db: Db, people: readonly PeopleDb[], site: Site, period: Period) {
  const previous = { from: period.from - (period.to - period.from), to: period.from };
  const [ruleRows, audienceRows, [placementsNow, rulesNow, placementsBefore]] = await Promise.all([
    db
      .select({ id: rules.id, name: rules.name, placement: rules.placement, enabled: rules.enabled })
      .from(rules)
      .where(eq(rules.siteId, site.id))
      .orderBy(asc(rules.placement), asc(rules.priority), asc(rules.id)),
    db
      .select({ id: audiences.id, name: audiences.name })
      .from(audiences)
      .where(eq(audiences.siteId, site.id))
      .orderBy(asc(audiences.id)),
    buildReportSets(db, people, site.id, [
      { grouping: "placement", period },
      { grouping: "rule", period },
      { grouping: "placement", period: previous },
    ]),
  ]);
  const sizes = audienceRows.length
    ? await db
        .select({ audienceId: audienceSizes.audienceId, day: audienceSizes.day, size: audienceSizes.size })
        .from(audienceSizes)
        .where(
          and(
            inArray(
              audienceSizes.audienceId,
              audienceRows.map((a) => a.id),
            ),
            gte(audienceSizes.day, utcDayKey(period.from)),
          ),
        )
        .orderBy(asc(audienceSizes.day))
    : [];
  // Placements with figures in either period, and those rules serve.
  const placements = [
    ...new Set([...ruleRows.map((r) => r.placement), ...placementsNow.keys(), ...placementsBefore.keys()]),
  ].sort();
  const now = sumReports([...placementsNow.values()], period);
  const before = sumReports([...placementsBefore.values()], previous);
  return {
    currency: site.currency,
    period: now.period,
    previous_period: before.period,
    totals: totalsOf(now),
    previous_totals: totalsOf(before),
    daily: now.daily,
    previous_daily: before.daily,
    cumulative: now.cumulative,
    placements: placements.map((placement) => ({
      placement,
      ...totalsOf(placementsNow.get(placement) ?? emptyReport(period)),
    })),
    rules: ruleRows.map((rule) => ({ ...rule, ...totalsOf(rulesNow.get(String(rule.id)) ?? emptyReport(period)) })),
    audiences: audienceRows.map((a) => ({
      ...a,
      sizes: sizes.filter((s) => s.audienceId === a.id).map(({ day, size }) => ({ day, size })),
    })),
  };
}
