/**
 * Reports per rule and per placement for a chosen period, from GET /api/v1/reports/...: the
 * figures, the uplift over the holdout with its 95% interval and a plain-words verdict, and
 * impressions and clicks per day as an SVG chart.
 */
import type { Context } from "hono";
import { MS_PER_DAY as DAY } from "../../worker/lib/time";
import { MAX_DAYS, type Report } from "../../worker/reports/earnings";
import type { AdminEnv } from "../api";
import type { AdminApp } from "../app";
import { LineChart } from "../chart";
import type { Rule } from "../types";
import { Empty, Layout, percent } from "../ui";

/** A real calendar day as `YYYY-MM-DD` (2026-02-30 is not one). */
const isDate = (s: string | undefined): s is string =>
  !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(Date.parse(s)).toISOString().slice(0, 10) === s;

type Period = { fromDate: string; toDate: string; query: string; error?: string };

/**
 * The period as the form shows it (inclusive dates) and as the API takes it (exclusive end).
 * Dates the API would refuse are refused here, with the reason beside the date fields.
 */
function period(c: Context<AdminEnv>): Period {
  const today = new Date().toISOString().slice(0, 10);
  const [from, to] = [c.req.query("from"), c.req.query("to")];
  const bad = (field: string, value: string) => `${field}: “${value.slice(0, 40)}” is not a date (YYYY-MM-DD).`;
  let error: string | undefined;
  if (to && !isDate(to)) error = bad("To", to);
  else if (from && !isDate(from)) error = bad("From", from);
  const toDate = isDate(to) ? to : today;
  const fromDate = isDate(from) ? from : new Date(Date.parse(toDate) - 29 * DAY).toISOString().slice(0, 10);
  const days = (Date.parse(toDate) - Date.parse(fromDate)) / DAY + 1;
  if (!error && days < 1) error = "From must be on or before To.";
  if (!error && days > MAX_DAYS) error = `A report covers at most ${MAX_DAYS} days; this period has ${days}.`;
  const apiTo = new Date(Date.parse(toDate) + DAY).toISOString().slice(0, 10);
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

const money = (x: number) => x.toFixed(2);
const signedPoints = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)} pts`;

function upliftText(r: Report) {
  if (r.uplift == null || !r.ci) return "—";
  return `${signedPoints(r.uplift)} [${signedPoints(r.ci.low)}, ${signedPoints(r.ci.high)}]`;
}

const FigureRow = ({ label, href, r }: { label: string; href: string; r: Report }) => (
  <tr>
    <td>
      <a href={href}>{label}</a>
    </td>
    <td class="num">{r.impressions}</td>
    <td class="num">{r.clicks}</td>
    <td class="num">{percent(r.ctr, 2)}</td>
    <td class="num">{r.coupons_assigned}</td>
    <td class="num">{r.coupons_redeemed}</td>
    <td class="num">{money(r.revenue)}</td>
    <td class="num">{upliftText(r)}</td>
  </tr>
);

const FigureHead = ({ first }: { first: string }) => (
  <thead>
    <tr>
      <th>{first}</th>
      <th class="num">Impressions</th>
      <th class="num">Clicks</th>
      <th class="num">CTR</th>
      <th class="num">Coupons assigned</th>
      <th class="num">Redeemed</th>
      <th class="num">Revenue</th>
      <th class="num">Uplift [95% CI]</th>
    </tr>
  </thead>
);

const Detail = ({ title, r }: { title: string; r: Report }) => (
  <>
    <h1>{title}</h1>
    <div class="grid">
      {(
        [
          ["Impressions", r.impressions],
          ["Clicks", `${r.clicks} (CTR ${percent(r.ctr, 2)})`],
          ["Coupons assigned / redeemed", `${r.coupons_assigned} / ${r.coupons_redeemed}`],
          ["Revenue from coupon orders", money(r.revenue)],
        ] as const
      ).map(([label, value]) => (
        <section class="card">
          <div class="muted">{label}</div>
          <div class="stat">{value}</div>
        </section>
      ))}
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
              <td class="num">{r.exposed.visitors}</td>
              <td class="num">{r.exposed.conversions}</td>
              <td class="num">{percent(r.exposed_rate, 2)}</td>
            </tr>
            <tr>
              <td>Holdout (saw the fallback)</td>
              <td class="num">{r.holdout.visitors}</td>
              <td class="num">{r.holdout.conversions}</td>
              <td class="num">{percent(r.holdout_rate, 2)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <p>
        <strong>Difference:</strong> {upliftText(r)}
      </p>
      <p id="verdict">{r.verdict}</p>
      <p class="muted">
        A conversion is a purchase at or after the visitor's first impression in the period. The interval is a 95%
        Newcombe (Wilson score) interval on the difference of the two rates.
      </p>
    </section>
    <section class="card">
      <h2>Per day</h2>
      <LineChart
        title="Impressions and clicks per day"
        labels={r.daily.map((d) => d.day)}
        series={[
          { label: "impressions", values: r.daily.map((d) => d.impressions), color: "#2a5bd7" },
          { label: "holdout impressions", values: r.daily.map((d) => d.holdout_impressions), color: "#9aa3b2" },
          { label: "clicks", values: r.daily.map((d) => d.clicks), color: "#1b7f3b" },
        ]}
      />
    </section>
  </>
);

/** The share of its placement's impressions the rule won per day and visitor context (README.md, "Next best offer"). */
const ContextShares = ({ r }: { r: Report }) => (
  <section class="card" aria-labelledby="contexts-title">
    <h2 id="contexts-title">Share of the placement's impressions, per day and visitor context</h2>
    {r.contexts.length === 0 ? (
      <Empty>No impressions of this rule in the period.</Empty>
    ) : (
      <div class="table-wrap">
        <table id="context-shares">
          <thead>
            <tr>
              <th>Day</th>
              <th>Context</th>
              <th class="num">Impressions</th>
              <th class="num">Share</th>
            </tr>
          </thead>
          <tbody>
            {r.contexts.map((row) => (
              <tr>
                <td>{row.day}</td>
                <td>{row.context}</td>
                <td class="num">{row.impressions}</td>
                <td class="num">{(row.share * 100).toFixed(1)} %</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);

export function reportPages(app: AdminApp) {
  app.get("/admin/reports", async (c) => {
    const p = period(c);
    if (p.error) return badPeriod(c, "/admin/reports", p);
    const api = c.var.api;
    const { rules } = await api.get<{ rules: Rule[] }>("/api/v1/rules");
    const placements = [...new Set(rules.map((r) => r.placement))].sort();
    const [ruleReports, placementReports] = await Promise.all([
      Promise.all(rules.map((r) => api.get<Report>(`/api/v1/reports/rules/${r.id}?${p.query}`))),
      Promise.all(placements.map((pl) => api.get<Report>(`/api/v1/reports/placements/${pl}?${p.query}`))),
    ]);
    const suffix = `?from=${p.fromDate}&to=${p.toDate}`;
    return c.html(
      <Layout title="Reports" user={c.var.user} active="/admin/reports">
        <h1>Reports</h1>
        <PeriodForm action="/admin/reports" fromDate={p.fromDate} toDate={p.toDate} />
        {rules.length === 0 ? (
          <Empty>
            Nothing to report yet. <a href="/admin/rules">Make a rule</a>; its impressions, clicks and coupons show up
            here.
          </Empty>
        ) : (
          <>
            <h2>Per rule</h2>
            <div class="table-wrap">
              <table>
                <FigureHead first="Rule" />
                <tbody>
                  {rules.map((r, i) => (
                    <FigureRow label={r.name} href={`/admin/reports/rules/${r.id}${suffix}`} r={ruleReports[i]} />
                  ))}
                </tbody>
              </table>
            </div>
            <h2>Per placement</h2>
            <div class="table-wrap">
              <table>
                <FigureHead first="Placement" />
                <tbody>
                  {placements.map((pl, i) => (
                    <FigureRow label={pl} href={`/admin/reports/placements/${pl}${suffix}`} r={placementReports[i]} />
                  ))}
                </tbody>
              </table>
            </div>
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
      c.var.api.get<Report>(`/api/v1/reports/rules/${id}?${p.query}`),
    ]);
    return c.html(
      <Layout title={`Report: ${rule.name}`} user={c.var.user} active="/admin/reports">
        <p>
          <a href="/admin/reports">← All reports</a>
        </p>
        <PeriodForm action={`/admin/reports/rules/${id}`} fromDate={p.fromDate} toDate={p.toDate} />
        <Detail title={`Rule “${rule.name}” on ${rule.placement}`} r={report} />
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
      <Layout title={`Report: ${placement}`} user={c.var.user} active="/admin/reports">
        <p>
          <a href="/admin/reports">← All reports</a>
        </p>
        <PeriodForm action={`/admin/reports/placements/${placement}`} fromDate={p.fromDate} toDate={p.toDate} />
        <Detail title={`Placement ${placement}`} r={report} />
      </Layout>,
    );
  });
}
