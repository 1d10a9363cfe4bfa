/**
 * The dashboard: what the banners earned in a chosen period beside the period before it —
 * impressions, clicks, CTR, coupons, revenue, uplift against the holdout — as figures and as daily
 * charts (uPlot, drawn by /admin/assets/dashboard.js from each chart's data-chart attribute; every chart also has its
 * numbers in a table for screen readers and for a browser without script), the top rules and the
 * audiences' sizes. A new site gets the next set-up step instead.
 */
import type { FC } from "hono/jsx";
import type { AdminApp } from "../app";
import { formatPercent as percent } from "../format";
import { Empty, Layout } from "../ui";
import { type ChartSpec, loadDashboard, PERIODS, type Totals } from "./dashboard-data";

const money = (n: number) => n.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** "+12 %" against the previous period; nothing when there is nothing to compare with. */
function change(now: number | null, before: number | null): string {
  if (now == null || before == null || before === 0) return "";
  const d = ((now - before) / before) * 100;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(0)} % vs previous`;
}

const Kpi: FC<{ label: string; value: string; now: number | null; before: number | null; id: string }> = (p) => (
  <section class="card kpi" id={p.id}>
    <div class="muted">{p.label}</div>
    <div class="stat">{p.value}</div>
    <div class="muted small">{change(p.now, p.before)}</div>
  </section>
);

const Chart: FC<{ chart: ChartSpec }> = ({ chart }) => (
  <figure class="card chart-card">
    <figcaption>
      <strong>{chart.title}</strong>
    </figcaption>
    <div
      class="chart"
      id={chart.id}
      data-chart={JSON.stringify({ days: chart.days, series: chart.series })}
      role="img"
      aria-label={chart.title}
    />
    <details>
      <summary>Numbers</summary>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Day</th>
              {chart.series.map((s) => (
                <th class="num">{s.label}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {chart.days.map((day, i) => (
              <tr>
                <td>{day}</td>
                {chart.series.map((s) => (
                  <td class="num">{s.values[i] ?? "—"}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  </figure>
);

function kpis(t: Totals, p: Totals) {
  const upliftText = t.uplift == null ? "—" : `${t.uplift >= 0 ? "+" : ""}${(t.uplift * 100).toFixed(1)} pts`;
  return [
    {
      id: "kpi-impressions",
      label: "Impressions",
      value: t.impressions.toLocaleString("en"),
      now: t.impressions,
      before: p.impressions,
    },
    { id: "kpi-clicks", label: "Clicks", value: t.clicks.toLocaleString("en"), now: t.clicks, before: p.clicks },
    { id: "kpi-ctr", label: "CTR", value: percent(t.ctr, 2), now: t.ctr, before: p.ctr },
    {
      id: "kpi-assigned",
      label: "Coupons assigned",
      value: String(t.coupons_assigned),
      now: t.coupons_assigned,
      before: p.coupons_assigned,
    },
    {
      id: "kpi-redeemed",
      label: "Coupons redeemed",
      value: String(t.coupons_redeemed),
      now: t.coupons_redeemed,
      before: p.coupons_redeemed,
    },
    { id: "kpi-revenue", label: "Revenue", value: money(t.revenue), now: t.revenue, before: p.revenue },
    { id: "kpi-uplift", label: "Uplift vs holdout", value: upliftText, now: null, before: null },
  ];
}

export function dashboardPage(app: AdminApp) {
  app.get("/admin", async (c) => {
    const asked = Number(c.req.query("days"));
    const days = (PERIODS as readonly number[]).includes(asked) ? asked : 30;
    const d = await loadDashboard(c, days);
    const nothingYet = d.totals.impressions + d.totals.holdout_impressions === 0;
    return c.html(
      <Layout
        title="Dashboard"
        user={c.var.user}
        active="/admin"
        scripts={["uplot.js", "dashboard.js"]}
        styles={["uplot.css"]}
      >
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
            {d.placements.length} placement{d.placements.length === 1 ? "" : "s"}, {d.ruleCount} rules ({d.enabled}{" "}
            enabled) · compared with the {days} days before
          </span>
        </form>
        {d.ruleCount === 0 ? (
          <Empty>
            <strong>Next step:</strong> write a <a href="/admin/segments">segment</a>, make a{" "}
            <a href="/admin/creatives">creative</a>, then a <a href="/admin/rules">rule</a> that shows it. The figures
            appear here as soon as banners are served.
          </Empty>
        ) : nothingYet ? (
          <Empty>No banner was served in this period yet. Try a longer period, or load a placement's banner.</Empty>
        ) : null}
        <div class="grid kpis">
          {kpis(d.totals, d.previous).map((k) => (
            <Kpi {...k} />
          ))}
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
            <div class="table-wrap">
              <table id="top-rules">
                <thead>
                  <tr>
                    <th>Rule</th>
                    <th class="num">Impressions</th>
                    <th class="num">Clicks</th>
                    <th class="num">CTR</th>
                    <th class="num">Redeemed</th>
                    <th class="num">Revenue</th>
                    <th class="num">Uplift</th>
                  </tr>
                </thead>
                <tbody>
                  {d.topRules.map(({ rule, report }) => (
                    <tr>
                      <td>
                        <a href={`/admin/reports/rules/${rule.id}`}>{rule.name}</a>{" "}
                        <span class="muted">{rule.placement}</span>
                      </td>
                      <td class="num">{report.impressions}</td>
                      <td class="num">{report.clicks}</td>
                      <td class="num">{percent(report.ctr)}</td>
                      <td class="num">{report.coupons_redeemed}</td>
                      <td class="num">{money(report.revenue)}</td>
                      <td class="num">{report.uplift == null ? "—" : `${(report.uplift * 100).toFixed(1)} pts`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </Layout>,
    );
  });
}
