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
 * Every figure is read per day and per rule (or placement) and the totals are the days' sums, so a
 * report, the dashboard's aggregate (dashboard.ts) and the daily charts cannot disagree. One D1
 * round trip per report: the statements go out as one batch (for a site on shards, one per database
 * at once: exposures, conversions and visitors are per cookie on the cookie's shard, docs/architecture.md "Shards"). Counters are per UTC day, so a period
 * counts impressions and clicks of whole days (the default period is whole days).
 */
import { and, eq } from "drizzle-orm";
import { type D1Like, toD1 } from "../db/raw";
import { rules } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";
import { MS_PER_DAY as DAY_MS, utcDayKey } from "../lib/time";
import type { PeopleDb } from "../shards/routing";
import { type CumulativePoint, computeUplift, cumulativeUplift, type Uplift } from "./uplift";

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
} & Uplift & {
    daily: DayPoint[];
    /** The uplift and its interval over the visitors first shown the rule up to each day: where it settles. */
    cumulative: CumulativePoint[];
  };

/** A rule's or placement's report: its figures and which rule won each visitor context per day. */
export type ScopeReport = Report & { contexts: ContextShare[] };

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

/** What a report is per: each rule, or each placement (all its rules and its fallback together). */
export type Grouping = "rule" | "placement";

/**
 * The key of each table's rows under a grouping, and the test that a conversion belongs to the
 * exposure's key — over report_counters (n), exposures (e), coupons (c), rule_conversions (rc) and
 * offer_counters (o). `placementOf` is the placement a rule serves now: HOME reads it from `rules`,
 * a PEOPLE shard (which holds no rules) from the site's rule → placement map bound as ?7.
 * Fixed SQL text only: the key's value is always bound (?4).
 */
function keysOf(grouping: Grouping, placementOf: (ruleId: string) => string) {
  return grouping === "rule"
    ? {
        counter: "n.rule_id",
        offer: "o.rule_id",
        exposure: "e.rule_id",
        coupon: "c.rule_id",
        conversion: "rc.rule_id",
        owns: "rc.rule_id = f.key",
      }
    : {
        counter: "n.placement",
        offer: "o.placement",
        exposure: "e.placement",
        // A coupon or a conversion belongs to the placement its rule serves now.
        coupon: placementOf("c.rule_id"),
        conversion: placementOf("rc.rule_id"),
        owns: `${placementOf("rc.rule_id")} = f.key`,
      };
}

const PLACEMENT_IN_HOME = (ruleId: string) => `(select r.placement from rules r where r.id = ${ruleId})`;
const PLACEMENT_ON_SHARD = (ruleId: string) =>
  `(select p.value from json_each(?7) p where p.key = cast(${ruleId} as text))`;

type Key = number | string;
type CounterRow = { key: Key; day: number; impressions: number; holdout_impressions: number; clicks: number };
type GroupRow = { key: Key; day: number; holdout: number; visitors: number; conversions: number };
type DayCount = { key: Key; day: number; n: number };

/** What each part of a report is read from: HOME's counters and coupons, the people's exposures and conversions. */
type Part = "home" | "people";
const HOME_RESULTS = 3;
const PEOPLE_RESULTS = 2;

/**
 * One part's statements for one grouping and period, optionally narrowed to one key. `rulePlacements`
 * (JSON {rule ID: placement}) is given when the people part runs on a PEOPLE shard.
 */
function reportStatements(
  d1: D1Like,
  siteId: number,
  grouping: Grouping,
  period: Period,
  part: Part,
  only?: Key,
  rulePlacements?: string,
): D1PreparedStatement[] {
  const k = keysOf(grouping, rulePlacements === undefined ? PLACEMENT_IN_HOME : PLACEMENT_ON_SHARD);
  // ?1 site, ?2/?3 the period, ?4 the one key (null: every key), ?5/?6 its first and last-but-one
  // UTC day numbers for the day-keyed counters, ?7 the rule → placement map on a shard. D1 wants as
  // many values as the highest number used.
  const args = [
    siteId,
    period.from,
    period.to,
    only ?? null,
    dayOf(period.from),
    Math.ceil(period.to / DAY_MS),
    rulePlacements ?? null,
  ];
  const narrow = (key: string) => (only === undefined ? "" : ` and ${key} = ?4`);
  const inPeriod = (col: string) => `${col} >= ?2 and ${col} < ?3`;
  // Clicks of a rule are those on its creative; a holdout impression's click is the fallback's.
  const clicks = grouping === "rule" ? "n.holdout = 0" : "true";
  const statements =
    part === "home"
      ? [
          `select ${k.counter} as key, n.day as day,
       sum(case when n.holdout = 0 then n.impressions else 0 end) as impressions,
       sum(case when n.holdout = 1 then n.impressions else 0 end) as holdout_impressions,
       sum(case when ${clicks} then n.clicks else 0 end) as clicks
     from report_counters n where n.site_id = ?1 and n.day >= ?5 and n.day < ?6${narrow(k.counter)}
     group by key, n.day`,
          ...(["assigned_at", "redeemed_at"] as const).map(
            (col) => `select ${k.coupon} as key, c.${col} / ${DAY_MS} as day, count(*) as n from coupons c
       where c.site_id = ?1 and ${inPeriod(`c.${col}`)}${narrow(k.coupon)} group by key, day`,
          ),
        ]
      : [
          // The exposed and holdout groups per day of first exposure (see the module header). A
          // cookie's exposures, conversions and visitor row are on its own shard, so each database
          // counts its own cookies and the shards' counts add up.
          `with firsts as (
       select ${k.exposure} as key, e.cookie_id, e.holdout, min(e.first_ts) as first_ts from exposures e
       where e.site_id = ?1 and ${inPeriod("e.first_ts")}${narrow(k.exposure)}
       group by key, e.cookie_id, e.holdout)
     select f.key as key, f.first_ts / ${DAY_MS} as day, f.holdout as holdout, count(*) as visitors,
       sum(case when exists (select 1 from rule_conversions rc
                             where rc.site_id = ?1 and rc.cookie_id = f.cookie_id and ${k.owns} and rc.ts >= f.first_ts)
                  or exists (select 1 from visitors v
                             where v.site_id = ?1 and v.cookie_id = f.cookie_id and v.last_purchase_at >= f.first_ts)
           then 1 else 0 end) as conversions
     from firsts f group by f.key, day, f.holdout`,
          // Revenue once per order (or per visitor without an order ID), on the day of its first conversion.
          `select key, day, sum(r) as n from (
       select ${k.conversion} as key, min(rc.ts) / ${DAY_MS} as day, max(coalesce(rc.revenue, 0)) as r
       from rule_conversions rc where rc.site_id = ?1 and ${inPeriod("rc.ts")}${narrow(k.conversion)}
       group by key, coalesce(rc.order_id, rc.cookie_id)) group by key, day`,
        ];
  return statements.map((text) => bindUpTo(d1, text, args));
}

/** The statement with as many of `args` as its highest parameter number (D1 wants exactly those). */
function bindUpTo(d1: D1Like, text: string, args: unknown[]): D1PreparedStatement {
  const highest = Math.max(...[...text.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
  return d1.prepare(text).bind(...args.slice(0, highest));
}

/** A report's rows, each part's as its databases answered them. */
type ReportRows = { home: D1Result[]; people: D1Result[][] };

/**
 * Runs the HOME part of each request in HOME and the people part on every database of the site's
 * set: a site in HOME keeps ONE batch (one round trip) for both, a site on shards asks HOME and its
 * shards at once. `extra` goes first in HOME's batch.
 */
async function runReports(
  db: Db,
  people: readonly PeopleDb[],
  siteId: number,
  requests: { grouping: Grouping; period: Period; only?: Key }[],
  extra: D1PreparedStatement[] = [],
): Promise<{ extra: D1Result[]; rows: ReportRows[] }> {
  const d1 = toD1(db);
  const home = requests.flatMap((r) => reportStatements(d1, siteId, r.grouping, r.period, "home", r.only));
  const split = (results: D1Result[], size: number) => requests.map((_, i) => results.slice(i * size, (i + 1) * size));
  if (people.length === 1 && people[0]?.shard === null) {
    const own = requests.flatMap((r) => reportStatements(d1, siteId, r.grouping, r.period, "people", r.only));
    const results = await d1.batch([...extra, ...home, ...own]);
    const homeRows = split(results.slice(extra.length, extra.length + home.length), HOME_RESULTS);
    const peopleRows = split(results.slice(extra.length + home.length), PEOPLE_RESULTS);
    return {
      extra: results.slice(0, extra.length),
      rows: homeRows.map((h, i) => ({ home: h, people: [peopleRows[i] ?? []] })),
    };
  }
  const placements = await rulePlacements(db, siteId);
  const [homeResults, ...shardResults] = await Promise.all([
    d1.batch([...extra, ...home]),
    ...people.map(({ d1: shard }) =>
      shard.batch(
        requests.flatMap((r) => reportStatements(shard, siteId, r.grouping, r.period, "people", r.only, placements)),
      ),
    ),
  ]);
  const homeRows = split((homeResults ?? []).slice(extra.length), HOME_RESULTS);
  const perShard = shardResults.map((results) => split(results, PEOPLE_RESULTS));
  return {
    extra: (homeResults ?? []).slice(0, extra.length),
    rows: homeRows.map((h, i) => ({ home: h, people: perShard.map((shard) => shard[i] ?? []) })),
  };
}

/** The site's rules and the placement each serves now, as JSON for a shard's statements (?7). */
async function rulePlacements(db: Db, siteId: number): Promise<string> {
  const rows = await db
    .select({ id: rules.id, placement: rules.placement })
    .from(rules)
    .where(eq(rules.siteId, siteId));
  return JSON.stringify(Object.fromEntries(rows.map((r) => [String(r.id), r.placement])));
}

/**
 * Per UTC day and visitor context, the impressions each rule of one key won and their share of its
 * placement's in that context (offer_counters: what the learned arbitration reads, README.md "Next best offer").
 */
function contextStatement(d1: D1Like, siteId: number, grouping: Grouping, period: Period, key: Key) {
  // Same numbering as reportStatements (the day numbers stand for the period here).
  const args = [siteId, period.from, period.to, key, dayOf(period.from), Math.ceil(period.to / DAY_MS)];
  return bindUpTo(
    d1,
    `select o.day as day, o.context as context, o.rule_id as rule_id, sum(o.impressions) as impressions,
       (select sum(t.impressions) from offer_counters t
        where t.site_id = ?1 and t.placement = o.placement and t.context = o.context and t.day = o.day) as total
     from offer_counters o where o.site_id = ?1 and o.day >= ?5 and o.day < ?6 and ${keysOf(grouping, PLACEMENT_IN_HOME).offer} = ?4
     group by o.day, o.context, o.rule_id, o.placement having sum(o.impressions) > 0
     order by o.day, o.context, o.rule_id`,
    args,
  );
}

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Rows of several databases with the same key summed: each shard counts its own cookies. */
function summed<T extends { key: Key; day: number }>(
  rows: T[],
  idOf: (row: T) => string,
  add: (into: T, row: T) => void,
): T[] {
  const byId = new Map<string, T>();
  for (const row of rows) {
    const id = `${row.key}\n${row.day}\n${idOf(row)}`;
    const seen = byId.get(id);
    if (seen) add(seen, row);
    else byId.set(id, { ...row });
  }
  return [...byId.values()];
}

/** The answers for one grouping, as a report per key. */
function assembleReports(period: Period, { home, people }: ReportRows): Map<string, Report> {
  const [counters, assigned, redeemed] = home.map((r) => r.results) as [CounterRow[], DayCount[], DayCount[]];
  const groups = summed(
    people.flatMap((shard) => (shard[0]?.results ?? []) as GroupRow[]),
    (r) => String(r.holdout),
    (into, r) => {
      into.visitors += r.visitors;
      into.conversions += r.conversions;
    },
  );
  const revenue = summed(
    people.flatMap((shard) => (shard[1]?.results ?? []) as DayCount[]),
    () => "",
    (into, r) => {
      into.n += r.n;
    },
  );
  const keys = new Set<string>();
  const byKey = <T extends { key: Key }>(rows: T[]) => {
    const map = new Map<string, T[]>();
    for (const row of rows) {
      keys.add(String(row.key));
      map.set(String(row.key), [...(map.get(String(row.key)) ?? []), row]);
    }
    return map;
  };
  const [c, g, a, d, v] = [byKey(counters), byKey(groups), byKey(assigned), byKey(redeemed), byKey(revenue)];
  const reports = new Map<string, Report>();
  for (const key of keys) {
    reports.set(
      key,
      reportOf(period, {
        counters: c.get(key) ?? [],
        groups: g.get(key) ?? [],
        assigned: a.get(key) ?? [],
        redeemed: d.get(key) ?? [],
        revenue: v.get(key) ?? [],
      }),
    );
  }
  return reports;
}

/**
 * Several groupings and periods at once (the dashboard): ONE batch for a site in HOME; for a site
 * on shards one batch in HOME and one per shard, concurrently.
 */
export async function buildReportSets(
  db: Db,
  people: readonly PeopleDb[],
  siteId: number,
  sets: { grouping: Grouping; period: Period }[],
) {
  const { rows } = await runReports(db, people, siteId, sets);
  return sets.map((s, i) => assembleReports(s.period, rows[i] as ReportRows));
}

export async function buildReport(
  db: Db,
  people: readonly PeopleDb[],
  siteId: number,
  scope: Scope,
  period: Period,
): Promise<ScopeReport> {
  if (scope.kind === "rule") {
    const [rule] = await db
      .select({ id: rules.id })
      .from(rules)
      .where(and(eq(rules.siteId, siteId), eq(rules.id, scope.ruleId)));
    if (!rule) throw apiError(404, "not_found", `No rule ${scope.ruleId} in this site`);
  }
  const d1 = toD1(db);
  const key = scope.kind === "rule" ? scope.ruleId : scope.placement;
  const grouping: Grouping = scope.kind;
  const {
    extra: [contexts],
    rows: [rows],
  } = await runReports(
    db,
    people,
    siteId,
    [{ grouping, period, only: key }],
    [contextStatement(d1, siteId, grouping, period, key)],
  );
  const report = assembleReports(period, rows as ReportRows).get(String(key)) ?? emptyReport(period);
  return {
    ...report,
    contexts: (
      (contexts?.results ?? []) as {
        day: number;
        context: string;
        rule_id: number;
        impressions: number;
        total: number;
      }[]
    ).map((row) => ({
      day: utcDayKey(row.day * DAY_MS),
      context: row.context,
      rule_id: row.rule_id,
      impressions: row.impressions,
      share: row.total > 0 ? row.impressions / row.total : 0,
    })),
  };
}

/** A rule or placement without a single figure in the period: zeros on every day. */
export function emptyReport(period: Period): Report {
  return reportOf(period, { counters: [], groups: [], assigned: [], redeemed: [], revenue: [] });
}

/** One key's rows as its report: a point per UTC day of the period (zeros included, so charts have no gaps) and their sums. */
function reportOf(
  period: Period,
  rows: { counters: CounterRow[]; groups: GroupRow[]; assigned: DayCount[]; redeemed: DayCount[]; revenue: DayCount[] },
): Report {
  const byDay = new Map(rows.counters.map((r) => [r.day, r]));
  const counts = (list: DayCount[]) => new Map(list.map((r) => [r.day, r.n]));
  const [assigned, redeemed, revenue] = [counts(rows.assigned), counts(rows.redeemed), counts(rows.revenue)];
  const group = (day: number, holdout: number) => rows.groups.find((r) => r.day === day && r.holdout === holdout);
  const daily: DayPoint[] = [];
  let revenueTotal = 0;
  for (let day = dayOf(period.from); day * DAY_MS < period.to; day++) {
    const row = byDay.get(day);
    const exposed = group(day, 0);
    const held = group(day, 1);
    revenueTotal += revenue.get(day) ?? 0;
    daily.push({
      day: utcDayKey(day * DAY_MS),
      impressions: row?.impressions ?? 0,
      holdout_impressions: row?.holdout_impressions ?? 0,
      clicks: row?.clicks ?? 0,
      coupons_assigned: assigned.get(day) ?? 0,
      coupons_redeemed: redeemed.get(day) ?? 0,
      revenue: round2(revenue.get(day) ?? 0),
      exposed_visitors: exposed?.visitors ?? 0,
      exposed_conversions: exposed?.conversions ?? 0,
      holdout_visitors: held?.visitors ?? 0,
      holdout_conversions: held?.conversions ?? 0,
    });
  }
  const sum = (key: Exclude<keyof DayPoint, "day">) => daily.reduce((n, d) => n + d[key], 0);
  const impressions = sum("impressions");
  const clicks = sum("clicks");
  const exposed = { visitors: sum("exposed_visitors"), conversions: sum("exposed_conversions") };
  const holdout = { visitors: sum("holdout_visitors"), conversions: sum("holdout_conversions") };
  return {
    period: { from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() },
    impressions,
    holdout_impressions: sum("holdout_impressions"),
    clicks,
    ctr: impressions ? clicks / impressions : null,
    coupons_assigned: sum("coupons_assigned"),
    coupons_redeemed: sum("coupons_redeemed"),
    revenue: round2(revenueTotal),
    holdout,
    exposed,
    ...computeUplift(exposed, holdout),
    daily,
    cumulative: cumulativeUplift(daily),
  };
}
