/**
 * The dashboard: what the banners earned in a chosen period beside the period before it —
 * impressions, clicks, CTR, coupons, revenue in the site's currency, the uplift against the
 * holdout with its 95 % interval — as cards and daily charts (admin/chart.tsx), the top rules and
 * the audiences' sizes, all from one call (GET /api/v1/dashboard). A new site gets the next
 * set-up step instead.
 */
import type { FC } from "hono/jsx";
import { formatChange, formatCount, formatMoney, formatPercent, formatPoints } from "../../worker/lib/format";
import type { AdminApp } from "../app";
import { Chart, IntervalBar } from "../chart";
import { Empty, Layout } from "../ui";
import { type Dashboard, loadDashboard, PERIODS } from "./dashboard-data";
import { FigureTable } from "./reports";

type Totals = Dashboard["totals"];

const Kpi: FC<{ label: string; value: string; now: number | null; before: number | null; id: string }> = (p) => (
  <section class="card kpi" id={p.id}>
    <div class="muted">{p.label}</div>
    <div class="stat">{p.value}</div>
    <div class="muted small">{formatChange(p.now, p.before)}</div>
  </section>
);

/** The uplift card carries its interval: the bar shows whether it could be zero. */
const UpliftKpi: FC<{ totals: Totals }> = ({ totals }) => (
  <section class="card kpi" id="kpi-uplift">
    <div class="muted">Uplift vs holdout</div>
    <div class="stat">{formatPoints(totals.uplift)}</div>
    <IntervalBar uplift={totals.uplift} ci={totals.ci} />
  </section>
);

function kpis(t: Totals, p: Totals, currency: string) {
  return [
    {
      id: "kpi-impressions",
      label: "Impressions",
      value: formatCount(t.impressions),
      now: t.impressions,
      before: p.impressions,
    },
    { id: "kpi-clicks", label: "Clicks", value: formatCount(t.clicks), now: t.clicks, before: p.clicks },
    { id: "kpi-ctr", label: "CTR", value: formatPercent(t.ctr, 2), now: t.ctr, before: p.ctr },
    {
      id: "kpi-assigned",
      label: "Coupons assigned",
      value: formatCount(t.coupons_assigned),
      now: t.coupons_assigned,
      before: p.coupons_assigned,
    },
    {
      id: "kpi-redeemed",
      label: "Coupons redeemed",
      value: formatCount(t.coupons_redeemed),
      now: t.coupons_redeemed,
      before: p.coupons_redeemed,
    },
    { id: "kpi-revenue", label: "Revenue", value: formatMoney(t.revenue, currency), now: t.revenue, before: p.revenue },
  ];
}

export function dashboardPage(app: AdminApp) {
  app.get("/admin", async (c) => {
    const asked = Number(c.req.query("days"));
    const days = (PERIODS as readonly number[]).includes(asked) ? asked : 30;
    const d = await loadDashboard(c, days);
    const nothingYet = d.totals.impressions + d.totals.holdout_impressions === 0;
    const ruleCount = d.rules.length;
    return c.html(
      <Layout title="Dashboard" user={c.var.user} active="/admin" charts>
        <h1>Dashboard</h1>
        <form method="get" action="/admin" class="actions period">
          <label for="f-days">Period</label>
          <select id="f-days" name="days">
            {PERIODS.map((n) => (
              <option value={String(n)} selected={n === days}>
                Last {n} days
              </option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Show
          </button>
          <span class="muted">
            {d.placements.length} placement{d.placements.length === 1 ? "" : "s"}, {ruleCount} rules ({d.enabled}{" "}
            enabled) · compared with the {days} days before
          </span>
        </form>
        {ruleCount === 0 ? (
          <Empty>
            <strong>Next step:</strong> write a <a href="/admin/segments">segment</a>, make a{" "}
            <a href="/admin/creatives">creative</a>, then a <a href="/admin/rules">rule</a> that shows it. The figures
            appear here as soon as banners are served.
          </Empty>
        ) : nothingYet ? (
          <Empty>No banner was served in this period yet. Try a longer period, or load a placement's banner.</Empty>
        ) : null}
        <div class="grid kpis">
          {kpis(d.totals, d.previous_totals, d.currency).map((k) => (
            <Kpi {...k} />
          ))}
          <UpliftKpi totals={d.totals} />
        </div>
        <p class="muted" id="verdict">
          {d.totals.verdict}
        </p>
        <div class="charts">
          {d.charts.map((chart) => (
            <Chart chart={chart} />
          ))}
        </div>
        <section class="card">
          <h2>Top rules in this period</h2>
          {d.topRules.length === 0 ? (
            <p class="muted">No rule has figures yet.</p>
          ) : (
            <FigureTable
              id="top-rules"
              first="Rule"
              currency={d.currency}
              rows={d.topRules.map((rule) => ({
                label: rule.name,
                note: rule.placement,
                href: `/admin/reports/rules/${rule.id}`,
                r: rule,
              }))}
            />
          )}
        </section>
      </Layout>,
    );
  });
}
