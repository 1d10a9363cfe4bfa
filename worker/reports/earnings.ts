/**
 * What a rule (or a whole placement) earned in a period [from, to):
 *
 * - impressions: impressions that showed the rule's creative (holdout ones are counted apart as
 *   holdout_impressions: those visitors saw the fallback); for a placement, every non-holdout one;
 * - clicks: clicks on those impressions, by click time;
 *   all three from report_counters (docs/architecture.md, "Counters"), whole UTC days;
 * - coupons_assigned / coupons_redeemed: the rule's coupons by assignment / redemption time;
 * - revenue: the order value of redemptions of the rule's coupons (rule_conversions, one per order);
 * - exposed / holdout: distinct cookie IDs whose first exposure to the rule (or its holdout) —
 *   recorded once per person in `exposures` — falls in the period;
 * - conversions: those of them who purchased at or after that first exposure —
 *   the rule's coupon was redeemed for them (rule_conversions) or the visitor's last purchase
 *   (visitors.last_purchase_at, written by the tag's purchase event) is at or after that
 *   impression. The same test applies to both groups, so the holdout is a fair control; a
 *   purchase after `to` still counts (conversions lag impressions).
 * - uplift: exposed rate − holdout rate with a 95% Newcombe (Wilson score) interval (uplift.ts).
 * - contexts: per UTC day and visitor context, the impressions each rule of the scope won and their
 *   share of its placement's (offer_counters: what the learned arbitration reads, README.md "Next best offer").
 *
 * One D1 round trip per report: the statements go out as one batch. Counters are per UTC day, so
 * a period counts impressions and clicks of whole days (the default period is whole days).
 */
import { and, eq } from "drizzle-orm";
import { toD1 } from "../db/raw";
import { rules } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY as DAY_MS, utcDayKey } from "../lib/time";
import { computeUplift, type Uplift } from "./uplift";

export const MAX_DAYS = 366;

export type Scope = { kind: "rule"; ruleId: number } | { kind: "placement"; placement: string };
export type Period = { from: number; to: number };

export type DayPoint = {
  day: string;
  impressions: number;
  holdout_impressions: number;
  clicks: number;
  coupons_assigned: number;
  coupons_redeemed: number;
  revenue: number;
  /** Visitors whose first impression of the period was on this day, per group, and how many of them converted. */
  exposed_visitors: number;
  exposed_conversions: number;
  holdout_visitors: number;
  holdout_conversions: number;
};

export type Report = {
  period: { from: string; to: string };
  impressions: number;
  holdout_impressions: number;
  clicks: number;
  ctr: number | null;
  coupons_assigned: number;
  coupons_redeemed: number;
  revenue: number;
  holdout: { visitors: number; conversions: number };
  exposed: { visitors: number; conversions: number };
} & Uplift & { daily: DayPoint[]; contexts: ContextShare[] };

type ContextShare = { day: string; context: string; rule_id: number; impressions: number; share: number };

/** Defaults to the last 30 whole days up to the end of today (UTC); at most a year. */
export function resolvePeriod(from: string | undefined, to: string | undefined, now = Date.now()): Period {
  const end = to ? Date.parse(to) : Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const start = from ? Date.parse(from) : end - 30 * DAY_MS;
  if (Number.isNaN(start) || Number.isNaN(end)) throw apiError(400, "validation_failed", "from/to: ISO 8601 dates");
  if (end <= start) throw apiError(400, "validation_failed", "to: must be after from");
  if (end - start > MAX_DAYS * DAY_MS)
    throw apiError(400, "validation_failed", `to: at most ${MAX_DAYS} days after from`);
  return { from: start, to: end };
}

/** SQL conditions for the scope, over report_counters (n), exposures (e), coupons and rule_conversions. */
function scopeSql(scope: Scope) {
  if (scope.kind === "rule") {
    return { counter: "n.rule_id = ?4", exposure: "e.rule_id = ?4", rule: "rule_id = ?4", offer: "o.rule_id = ?4" };
  }
  return {
    offer: "o.placement = ?4",
    counter: "n.placement = ?4",
    exposure: "e.placement = ?4",
    rule: "rule_id in (select id from rules where site_id = ?1 and placement = ?4)",
  };
}

type Totals = {
  impressions: number;
  holdout_impressions: number;
  clicks: number;
  coupons_assigned: number;
  coupons_redeemed: number;
  revenue: number;
};

export async function buildReport(db: Db, siteId: number, scope: Scope, period: Period): Promise<Report> {
  if (scope.kind === "rule") {
    const [rule] = await db
      .select({ id: rules.id })
      .from(rules)
      .where(and(eq(rules.siteId, siteId), eq(rules.id, scope.ruleId)));
    if (!rule) throw apiError(404, "not_found", `No rule ${scope.ruleId} in this site`);
  }
  const s = scopeSql(scope);
  const d1 = toD1(db);
  // ?5/?6: the period's first and last-but-one UTC day numbers, for the day-keyed counters.
  const args = [
    siteId,
    period.from,
    period.to,
    scope.kind === "rule" ? scope.ruleId : scope.placement,
    Math.floor(period.from / DAY_MS),
    Math.ceil(period.to / DAY_MS),
  ];
  // D1 wants exactly as many values as a statement's highest parameter number.
  const upTo4 = args.slice(0, 4);
  const inPeriod = (col: string) => `${col} >= ?2 and ${col} < ?3`;
  const inDays = "n.site_id = ?1 and n.day >= ?5 and n.day < ?6";
  // Clicks of a rule are those on its creative; a holdout impression's click is the fallback's.
  const ruleClicks = scope.kind === "rule" ? "n.holdout = 0 and " : "";
  // The exposed and holdout groups (see the module header), in total or per day of first exposure.
  const groupsSql = (groupBy: string, extra = "") => `with firsts as (
      select e.cookie_id, e.holdout, min(e.first_ts) as first_ts from exposures e
      where e.site_id = ?1 and ${inPeriod("e.first_ts")} and ${s.exposure}
      group by e.cookie_id, e.holdout)
    select f.holdout as holdout, ${extra ? `${extra}, ` : ""}count(*) as visitors,
      sum(case when exists (select 1 from rule_conversions rc
                            where rc.site_id = ?1 and rc.cookie_id = f.cookie_id and rc.${s.rule} and rc.ts >= f.first_ts)
                 or exists (select 1 from visitors v
                            where v.site_id = ?1 and v.cookie_id = f.cookie_id and v.last_purchase_at >= f.first_ts)
          then 1 else 0 end) as conversions
    from firsts f group by ${groupBy}`;
  const [totals, groups, groupDays, assignedDays, redeemedDays, revenueDays, counterDays, contextDays] = await d1.batch(
    [
      d1
        .prepare(
          `select
          (select coalesce(sum(n.impressions), 0) from report_counters n where ${inDays} and n.holdout = 0 and ${s.counter}) as impressions,
          (select coalesce(sum(n.impressions), 0) from report_counters n where ${inDays} and n.holdout = 1 and ${s.counter}) as holdout_impressions,
          (select coalesce(sum(n.clicks), 0) from report_counters n where ${inDays} and ${ruleClicks}${s.counter}) as clicks,
          (select count(*) from coupons c where c.site_id = ?1 and ${inPeriod("c.assigned_at")} and c.${s.rule}) as coupons_assigned,
          (select count(*) from coupons c where c.site_id = ?1 and ${inPeriod("c.redeemed_at")} and c.${s.rule}) as coupons_redeemed,
          (select coalesce(sum(r), 0) from (
            select max(coalesce(rc.revenue, 0)) as r from rule_conversions rc
            where rc.site_id = ?1 and ${inPeriod("rc.ts")} and rc.${s.rule}
            group by coalesce(rc.order_id, rc.cookie_id))) as revenue`,
        )
        .bind(...args),
      d1.prepare(groupsSql("f.holdout")).bind(...upTo4),
      d1.prepare(groupsSql(`f.holdout, f.first_ts / ${DAY_MS}`, `f.first_ts / ${DAY_MS} as day`)).bind(...upTo4),
      d1
        .prepare(
          `select c.assigned_at / ${DAY_MS} as day, count(*) as n from coupons c
        where c.site_id = ?1 and ${inPeriod("c.assigned_at")} and c.${s.rule} group by day`,
        )
        .bind(...upTo4),
      d1
        .prepare(
          `select c.redeemed_at / ${DAY_MS} as day, count(*) as n from coupons c
        where c.site_id = ?1 and ${inPeriod("c.redeemed_at")} and c.${s.rule} group by day`,
        )
        .bind(...upTo4),
      d1
        .prepare(
          `select day, coalesce(sum(r), 0) as n from (
          select min(rc.ts) / ${DAY_MS} as day, max(coalesce(rc.revenue, 0)) as r from rule_conversions rc
          where rc.site_id = ?1 and ${inPeriod("rc.ts")} and rc.${s.rule}
          group by coalesce(rc.order_id, rc.cookie_id)) group by day`,
        )
        .bind(...upTo4),
      d1
        .prepare(
          `select n.day as day, sum(case when n.holdout = 0 then n.impressions else 0 end) as impressions,
          sum(case when n.holdout = 1 then n.impressions else 0 end) as holdout_impressions,
          sum(case when ${ruleClicks}true then n.clicks else 0 end) as clicks
        from report_counters n where ${inDays} and ${s.counter} group by n.day`,
        )
        .bind(...args),
      d1
        .prepare(
          `select o.day as day, o.context as context, o.rule_id as rule_id, sum(o.impressions) as impressions,
          (select sum(t.impressions) from offer_counters t
           where t.site_id = ?1 and t.placement = o.placement and t.context = o.context and t.day = o.day) as total
        from offer_counters o where o.site_id = ?1 and o.day >= ?5 and o.day < ?6 and ${s.offer} and ?2 = ?2 and ?3 = ?3
        group by o.day, o.context, o.rule_id, o.placement having sum(o.impressions) > 0
        order by o.day, o.context, o.rule_id`,
        )
        .bind(...args),
    ],
  );
  const t = (totals.results[0] ?? {}) as Totals;
  const group = (holdout: 0 | 1) => {
    const row = (groups.results as { holdout: number; visitors: number; conversions: number }[]).find(
      (r) => r.holdout === holdout,
    );
    return { visitors: row?.visitors ?? 0, conversions: row?.conversions ?? 0 };
  };
  const exposed = group(0);
  const holdout = group(1);
  return {
    period: { from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() },
    impressions: t.impressions ?? 0,
    holdout_impressions: t.holdout_impressions ?? 0,
    clicks: t.clicks ?? 0,
    ctr: t.impressions ? t.clicks / t.impressions : null,
    coupons_assigned: t.coupons_assigned ?? 0,
    coupons_redeemed: t.coupons_redeemed ?? 0,
    revenue: Math.round((t.revenue ?? 0) * 100) / 100,
    holdout,
    exposed,
    ...computeUplift(exposed, holdout),
    daily: dailySeries(period, {
      days: counterDays.results as { day: number; impressions: number; holdout_impressions: number; clicks: number }[],
      assigned: assignedDays.results as DayCount[],
      redeemed: redeemedDays.results as DayCount[],
      revenue: revenueDays.results as DayCount[],
      groups: groupDays.results as { day: number; holdout: number; visitors: number; conversions: number }[],
    }),
    contexts: (
      contextDays.results as { day: number; context: string; rule_id: number; impressions: number; total: number }[]
    ).map((row) => ({
      day: utcDayKey(row.day * DAY_MS),
      context: row.context,
      rule_id: row.rule_id,
      impressions: row.impressions,
      share: row.total > 0 ? row.impressions / row.total : 0,
    })),
  };
}

type DayCount = { day: number; n: number };

/** One point per UTC day of the period, zeros included, so charts have no gaps. */
function dailySeries(
  period: Period,
  rows: {
    days: { day: number; impressions: number; holdout_impressions: number; clicks: number }[];
    assigned: DayCount[];
    redeemed: DayCount[];
    revenue: DayCount[];
    groups: { day: number; holdout: number; visitors: number; conversions: number }[];
  },
): DayPoint[] {
  const byDay = new Map(rows.days.map((r) => [r.day, r]));
  const counts = (list: DayCount[]) => new Map(list.map((r) => [r.day, r.n]));
  const [assigned, redeemed, revenue] = [counts(rows.assigned), counts(rows.redeemed), counts(rows.revenue)];
  const group = (day: number, holdout: number) => rows.groups.find((g) => g.day === day && g.holdout === holdout);
  const points: DayPoint[] = [];
  for (let day = Math.floor(period.from / DAY_MS); day * DAY_MS < period.to; day++) {
    const row = byDay.get(day);
    const exposed = group(day, 0);
    const held = group(day, 1);
    points.push({
      day: utcDayKey(day * DAY_MS),
      impressions: row?.impressions ?? 0,
      holdout_impressions: row?.holdout_impressions ?? 0,
      clicks: row?.clicks ?? 0,
      coupons_assigned: assigned.get(day) ?? 0,
      coupons_redeemed: redeemed.get(day) ?? 0,
      revenue: Math.round((revenue.get(day) ?? 0) * 100) / 100,
      exposed_visitors: exposed?.visitors ?? 0,
      exposed_conversions: exposed?.conversions ?? 0,
      holdout_visitors: held?.visitors ?? 0,
      holdout_conversions: held?.conversions ?? 0,
    });
  }
  return points;
}
