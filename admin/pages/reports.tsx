/**
 * Reports per rule and per placement for a chosen period: the list from GET /api/v1/dashboard (one
 * call), each one from GET /api/v1/reports/...: cards (the uplift's with its interval bar), the two
 * groups and a plain-words verdict, and per day the cumulative uplift in its 95 % band,
 * conversions, coupons, revenue in the site's currency, impressions and clicks (admin/chart.tsx).
 */
import type { Context } from "hono";
import {
  formatCount,
  formatDay,
  formatInterval,
  formatMoney,
  formatPercent,
  formatPoints,
} from "../../worker/lib/format";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { MAX_DAYS, type Report, type ScopeReport } from "../../worker/reports/earnings";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { Chart, IntervalBar } from "../chart";
import { type Column, DataTable } from "../components";
import type { Rule } from "../types";
import { Empty, Layout } from "../ui";
import type { Dashboard } from "./dashboard-data";
import { dailyCharts, upliftChart } from "./report-charts";

/** A real calendar day as `YYYY-MM-DD` (2026-02-30 is not one). */
const isDate = (s: string | undefined): s is string => !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && formatDay(s) === s;

type Period = { fromDate: string; toDate: string; query: string; error?: string };

/**
 * The period as the form shows it (inclusive dates) and as the API takes it (exclusive end).
 * Dates the API would refuse are refused here, with the reason beside the date fields.
 */
function period(c: Context<AdminEnv>): Period {
  const today = formatDay(Date.now());
  const [from, to] = [c.req.query("from"), c.req.query("to")];
  const bad = (field: string, value: string) => `${field}: “${value.slice(0, 40)}” is not a date (YYYY-MM-DD).`;
  let error: string | undefined;
  if (to && !isDate(to)) error = bad("To", to);
  else if (from && !isDate(from)) error = bad("From", from);
  const toDate = isDate(to) ? to : today;
  const fromDate = isDate(from) ? from : formatDay(Date.parse(toDate) - 29 * DAY);
  const days = (Date.parse(toDate) - Date.parse(fromDate)) / DAY + 1;
  if (!error && days < 1) error = "From must be on or before To.";
  if (!error && days > MAX_DAYS) error = `A report covers at most ${MAX_DAYS} days; this period has ${days}.`;
  const apiTo = formatDay(Date.parse(toDate) + DAY);
  return { fromDate, toDate, query: `from=${fromDate}&to=${apiTo}`, error };
}

const PeriodForm = ({ action, fromDate, toDate, error }: { action: string } & Omit<Period, "query">) => (
  <form method="get" action={action} class="card actions">
    <div class="field">
      <label for="f-from">From</label>
      <input id="f-from" type="date" name="from" value={fromDate} aria-describedby="period-error" />
    </div>
    <div class="field">
      <label for="f-to">To (inclusive)</label>
      <input id="f-to" type="date" name="to" value={toDate} aria-describedby="period-error" />
    </div>
    <button type="submit">Show</button>
    {error && (
      <div class="field-error" id="period-error" role="alert">
        {error}
      </div>
    )}
  </form>
);

/** The reports page with only the period form and why the period was refused (400, nothing queried). */
function badPeriod(c: Context<AdminEnv>, action: string, p: Period) {
  return c.html(
    <Layout title="Reports" user={c.var.user} active="/admin/reports">
      <h1>Reports</h1>
      <PeriodForm action={action} {...p} />
    </Layout>,
    400,
  );
}

type Figures = Omit<Report, "period" | "daily" | "cumulative">;

type FigureRowProps = { label: string; note?: string; href: string; r: Figures };

/** The figures of a rule (or placement), one column each, the uplift with its interval. */
const figureColumns = (first: string, currency: string): Column<FigureRowProps>[] => [
  {
    header: first,
    cell: ({ label, note, href }) => (
      <>
        <a href={href}>{label}</a> {note && <span class="muted">{note}</span>}
      </>
    ),
  },
  { header: "Impressions", num: true, cell: ({ r }) => formatCount(r.impressions) },
  { header: "Clicks", num: true, cell: ({ r }) => formatCount(r.clicks) },
  { header: "CTR", num: true, cell: ({ r }) => formatPercent(r.ctr, 2) },
  { header: "Conversions", num: true, cell: ({ r }) => formatCount(r.exposed.conversions) },
  { header: "Redeemed", num: true, cell: ({ r }) => formatCount(r.coupons_redeemed) },
  { header: "Revenue", num: true, cell: ({ r }) => formatMoney(r.revenue, currency) },
  {
    header: "Uplift [95 % interval]",
    num: true,
    cell: ({ r }) => (
      <>
        {formatPoints(r.uplift)} <span class="muted small">{formatInterval(r.ci)}</span>
      </>
    ),
  },
];

/** Each rule's (or placement's) figures in one row (also the dashboard's top rules). */
export const FigureTable = ({
  id,
  first,
  rows,
  currency,
}: {
  id: string;
  first: string;
  rows: FigureRowProps[];
  currency: string;
}) => <DataTable id={id} columns={figureColumns(first, currency)} rows={rows} />;

const Card = ({ id, label, value, note }: { id: string; label: string; value: string; note?: string }) => (
  <section class="card kpi" id={id}>
    <div class="muted">{label}</div>
    <div class="stat">{value}</div>
    {note && <div class="muted small">{note}</div>}
  </section>
);

const Detail = ({ title, r, currency }: { title: string; r: Report; currency: string }) => (
  <>
    <h1>{title}</h1>
    <div class="grid kpis">
      <Card id="kpi-impressions" label="Impressions" value={formatCount(r.impressions)} />
      <Card id="kpi-clicks" label="Clicks" value={formatCount(r.clicks)} note={`CTR ${formatPercent(r.ctr, 2)}`} />
      <Card
        id="kpi-conversions"
        label="Conversions"
        value={formatCount(r.exposed.conversions)}
        note={`of ${formatCount(r.exposed.visitors)} shown the banner; holdout ${formatCount(r.holdout.conversions)} of ${formatCount(r.holdout.visitors)}`}
      />
      <Card
        id="kpi-redeemed"
        label="Coupons redeemed"
        value={formatCount(r.coupons_redeemed)}
        note={`${formatCount(r.coupons_assigned)} assigned`}
      />
      <Card id="kpi-revenue" label="Revenue from coupon orders" value={formatMoney(r.revenue, currency)} />
      <section class="card kpi" id="kpi-uplift">
        <div class="muted">Uplift vs holdout</div>
        <div class="stat">{formatPoints(r.uplift)}</div>
        <IntervalBar uplift={r.uplift} ci={r.ci} />
      </section>
    </div>
    <section class="card">
      <h2>Uplift over the holdout</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Group</th>
              <th class="num">Visitors</th>
              <th class="num">Conversions</th>
              <th class="num">Rate</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>Exposed (saw the banner)</td>
              <td class="num">{formatCount(r.exposed.visitors)}</td>
              <td class="num">{formatCount(r.exposed.conversions)}</td>
              <td class="num">{formatPercent(r.exposed_rate, 2)}</td>
            </tr>
            <tr>
              <td>Holdout (saw the fallback)</td>
              <td class="num">{formatCount(r.holdout.visitors)}</td>
              <td class="num">{formatCount(r.holdout.conversions)}</td>
              <td class="num">{formatPercent(r.holdout_rate, 2)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <p>
        <strong>Difference:</strong> {formatPoints(r.uplift)} {r.ci && <>(95 % interval {formatInterval(r.ci)})</>}
      </p>
      <p id="verdict">{r.verdict}</p>
      <p class="muted">
        A conversion is a purchase at or after the visitor's first impression in the period. The interval is a 95 %
        Newcombe (Wilson score) interval on the difference of the two rates; the uplift chart shows it over everyone who
        joined a group up to each day.
      </p>
    </section>
    <div class="charts">
      {[
        upliftChart(r.cumulative),
        ...dailyCharts(r.daily, currency, { kinds: ["conversions", "coupons", "revenue", "impressions"] }),
      ].map((chart) => (
        <Chart chart={chart} />
      ))}
    </div>
  </>
);

type ContextShare = ScopeReport["contexts"][number];

const contextColumns: Column<ContextShare>[] = [
  { header: "Day", nowrap: true, cell: (row) => row.day },
  { header: "Context", cell: (row) => row.context },
  { header: "Impressions", num: true, cell: (row) => formatCount(row.impressions) },
  { header: "Share", num: true, cell: (row) => formatPercent(row.share) },
];

/** The share of its placement's impressions the rule won per day and visitor context (README.md, "Next best offer"). */
const ContextShares = ({ r }: { r: ScopeReport }) => (
  <section class="card" aria-labelledby="contexts-title">
    <h2 id="contexts-title">Share of the placement's impressions, per day and visitor context</h2>
    <DataTable
      id="context-shares"
      columns={contextColumns}
      rows={r.contexts}
      empty="No impressions of this rule in the period."
    />
  </section>
);

export function reportPages(app: AdminApp) {
  app.get("/admin/reports", async (c) => {
    const p = period(c);
    if (p.error) return badPeriod(c, "/admin/reports", p);
    // Every rule's and placement's figures in one call, as the dashboard reads them.
    const d = await c.var.api.get<Dashboard>(`/api/v1/dashboard?${p.query}`);
    const suffix = `?from=${p.fromDate}&to=${p.toDate}`;
    return c.html(
      <Layout title="Reports" user={c.var.user} active="/admin/reports">
        <h1>Reports</h1>
        <PeriodForm action="/admin/reports" fromDate={p.fromDate} toDate={p.toDate} />
        {d.rules.length === 0 ? (
          <Empty>
            Nothing to report yet. <a href="/admin/rules">Make a rule</a>; its impressions, clicks and coupons show up
            here.
          </Empty>
        ) : (
          <>
            <h2>Per rule</h2>
            <FigureTable
              id="rule-reports"
              first="Rule"
              currency={d.currency}
              rows={d.rules.map((r) => ({ label: r.name, href: `/admin/reports/rules/${r.id}${suffix}`, r }))}
            />
            <h2>Per placement</h2>
            <FigureTable
              id="placement-reports"
              first="Placement"
              currency={d.currency}
              rows={d.placements.map((r) => ({
                label: r.placement,
                href: `/admin/reports/placements/${r.placement}${suffix}`,
                r,
              }))}
            />
          </>
        )}
      </Layout>,
    );
  });

  app.get("/admin/reports/rules/:id{[0-9]+}", async (c) => {
    const p = period(c);
    const id = c.req.param("id");
    if (p.error) return badPeriod(c, `/admin/reports/rules/${id}`, p);
    const [rule, report] = await Promise.all([
      c.var.api.get<Rule>(`/api/v1/rules/${id}`),
      c.var.api.get<ScopeReport>(`/api/v1/reports/rules/${id}?${p.query}`),
    ]);
    return c.html(
      <Layout title={`Report: ${rule.name}`} user={c.var.user} active="/admin/reports" charts>
        <p>
          <a href="/admin/reports">← All reports</a>
        </p>
        <PeriodForm action={`/admin/reports/rules/${id}`} fromDate={p.fromDate} toDate={p.toDate} />
        <Detail title={`Rule “${rule.name}” on ${rule.placement}`} r={report} currency={c.var.site.currency} />
        <ContextShares r={report} />
      </Layout>,
    );
  });

  app.get("/admin/reports/placements/:placement{[A-Za-z0-9_-]+}", async (c) => {
    const p = period(c);
    const placement = c.req.param("placement");
    if (p.error) return badPeriod(c, `/admin/reports/placements/${placement}`, p);
    const report = await c.var.api.get<Report>(`/api/v1/reports/placements/${placement}?${p.query}`);
    return c.html(
      <Layout title={`Report: ${placement}`} user={c.var.user} active="/admin/reports" charts>
        <p>
          <a href="/admin/reports">← All reports</a>
        </p>
        <PeriodForm action={`/admin/reports/placements/${placement}`} fromDate={p.fromDate} toDate={p.toDate} />
        <Detail title={`Placement ${placement}`} r={report} currency={c.var.site.currency} />
      </Layout>,
    );
  });
}
